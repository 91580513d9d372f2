//! Structure-aware chunking: headings (Markdown `#`, Korean 제N장/제N절/제N조, English
//! Article/Section/§) build a section path; paragraphs, list items and Korean clauses (①②…) are
//! kept whole where the token budget allows; table rows keep their header.

use std::sync::LazyLock;

use regex::Regex;

use super::extract::Page;

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub ordinal: usize,
    /// `Title > Heading > Subheading`.
    pub section: String,
    pub page: Option<u32>,
    pub text: String,
}

/// Rough model-token count: Latin words ~1.3 tokens, Hangul syllables ~0.6 (the budget is a target,
/// not a hard limit of the embedding model, which truncates on its own).
pub fn approx_tokens(text: &str) -> usize {
    let mut tokens = 0.0f32;
    for word in text.split_whitespace() {
        let hangul = word
            .chars()
            .filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c))
            .count();
        if hangul > 0 {
            tokens += hangul as f32 * 0.6 + (word.chars().count() - hangul) as f32 * 0.3;
        } else {
            tokens += 1.3;
        }
    }
    tokens.ceil() as usize
}

static MD_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(#{1,6})\s+(.+?)\s*#*\s*$").expect("regex"));
static KO_CHAPTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^제\s*\d+\s*편|^제\s*\d+\s*장").expect("regex"));
static KO_SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^제\s*\d+\s*절").expect("regex"));
/// `제17조(근로조건의 명시) body…` — the heading is the article number and its title.
static KO_ARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(제\s*\d+\s*조(?:의\s*\d+)?\s*(?:[(（][^)）]{1,60}[)）])?)\s*(.*)$")
        .expect("regex")
});
static EN_STRUCT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^((?:ARTICLE|Article|SECTION|Section)\s+\d+(?:\.\d+)*|§\s*\d+(?:\.\d+)*)\b[.:]?\s*(.{0,80})$")
        .expect("regex")
});
/// A line that starts a new block: list items, numbered items, Korean clause markers.
static ITEM_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-*+]\s|\d+[.)]\s|\d+\\\.\s?|\*\*[①-⑳]\*\*|[①-⑳]|[가-하]\.\s)")
        .expect("regex")
});
static TABLE_ROW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\|.*\|\s*$").expect("regex"));
static TABLE_SEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$").expect("regex")
});
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"!?\[([^\]]*)\]\([^)]*\)").expect("regex"));
static HTML_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"</?[a-zA-Z][^>]*>").expect("regex"));
static SENTENCE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[.!?。]\s+|다\.\s*|\n").expect("regex"));

/// Inline Markdown to plain text: links keep their text, emphasis and escapes go.
pub fn clean_inline(line: &str) -> String {
    let s = LINK.replace_all(line, "$1");
    let s = HTML_TAG.replace_all(&s, "");
    s.replace("**", "")
        .replace("__", "")
        .replace(['\\', '`'], "")
}

struct Block {
    path: Vec<String>,
    page: Option<u32>,
    text: String,
}

#[derive(Default)]
struct Builder {
    stack: Vec<(usize, String)>,
    blocks: Vec<Block>,
    current: Vec<String>,
    table_header: Option<Vec<String>>,
    page: Option<u32>,
}

impl Builder {
    fn path(&self) -> Vec<String> {
        self.stack.iter().map(|(_, t)| t.clone()).collect()
    }

    fn flush(&mut self) {
        let text = self.current.join(" ").trim().to_string();
        self.current.clear();
        if !text.is_empty() {
            self.blocks.push(Block {
                path: self.path(),
                page: self.page,
                text,
            });
        }
    }

    fn heading(&mut self, level: usize, title: String) {
        self.flush();
        self.table_header = None;
        while self.stack.last().is_some_and(|(l, _)| *l >= level) {
            self.stack.pop();
        }
        self.stack.push((level, title));
    }

    fn table_row(&mut self, line: &str) {
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| clean_inline(c.trim()))
            .collect();
        match &self.table_header {
            None => {
                self.flush();
                self.table_header = Some(cells);
            }
            Some(header) => {
                // Each row becomes one block that repeats the header: "Header: value; …".
                let row = header
                    .iter()
                    .zip(cells.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| {
                        if h.is_empty() {
                            v.clone()
                        } else {
                            format!("{h}: {v}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                self.current.push(row);
                self.flush();
            }
        }
    }

    fn line(&mut self, raw: &str) {
        let line = raw.trim_end();
        if TABLE_ROW.is_match(line) {
            if !TABLE_SEP.is_match(line) {
                self.table_row(line);
            }
            return;
        }
        self.table_header = None;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            self.flush();
            return;
        }
        if let Some(c) = MD_HEADING.captures(trimmed) {
            let level = c[1].len();
            let title = clean_inline(&c[2]).trim().to_string();
            // A `#####` heading that is a Korean article keeps its article level.
            self.heading(level.max(1), title);
            return;
        }
        // An amendment sentence in the addenda ("제5장제2절의 제목 … 한다.") is not a heading.
        let sentence = trimmed.ends_with('.') || trimmed.ends_with("다");
        if KO_CHAPTER.is_match(trimmed) && trimmed.chars().count() <= 40 && !sentence {
            self.heading(2, clean_inline(trimmed));
            return;
        }
        if KO_SECTION.is_match(trimmed) && trimmed.chars().count() <= 40 && !sentence {
            self.heading(3, clean_inline(trimmed));
            return;
        }
        if let Some(c) = KO_ARTICLE.captures(trimmed) {
            let head = clean_inline(c[1].trim());
            let body = c.get(2).map_or("", |m| m.as_str()).trim().to_string();
            // "제17조에 따른…" in running text is a reference, not a heading: require a title
            // in parentheses or nothing else on the line.
            if head.contains('(') || head.contains('（') || body.is_empty() {
                self.heading(5, head);
                if !body.is_empty() {
                    self.current.push(clean_inline(&body));
                }
                return;
            }
        }
        if let Some(c) = EN_STRUCT.captures(trimmed) {
            self.heading(4, clean_inline(trimmed));
            let _ = c;
            return;
        }
        if ITEM_START.is_match(line) {
            self.flush();
        }
        self.current.push(clean_inline(trimmed));
    }
}

/// Split `pages` of a document titled `title` into chunks of about `max_tokens`.
pub fn chunk(title: &str, pages: &[Page], max_tokens: usize) -> Vec<Chunk> {
    let mut b = Builder::default();
    let mut in_fence = false;
    for page in pages {
        b.flush();
        b.page = page.number;
        // Links may wrap across lines: resolve them before splitting.
        let text = LINK.replace_all(&page.text, "$1");
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                b.flush();
                continue;
            }
            if in_fence {
                b.current.push(line.trim().to_string());
                continue;
            }
            b.line(line);
        }
    }
    b.flush();
    pack(title, b.blocks, max_tokens)
}

fn section_string(title: &str, path: &[String]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if !title.is_empty() {
        parts.push(title);
    }
    for p in path {
        if parts.last() != Some(&p.as_str()) && !(parts.len() == 1 && p == title) {
            parts.push(p);
        }
    }
    parts.join(" > ")
}

/// Merge consecutive blocks of one section (and page) up to the budget; split oversized blocks at
/// sentence ends.
fn pack(title: &str, blocks: Vec<Block>, max_tokens: usize) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut cur: Option<(Vec<String>, Option<u32>, String, usize)> = None;
    let emit = |chunks: &mut Vec<Chunk>, path: &[String], page: Option<u32>, text: String| {
        let text = text.trim().to_string();
        if !text.is_empty() {
            chunks.push(Chunk {
                ordinal: chunks.len(),
                section: section_string(title, path),
                page,
                text,
            });
        }
    };
    for block in blocks {
        for piece in split_oversized(&block.text, max_tokens) {
            let n = approx_tokens(&piece);
            match cur.as_mut() {
                Some((path, page, text, tokens))
                    if *path == block.path && *page == block.page && *tokens + n <= max_tokens =>
                {
                    text.push('\n');
                    text.push_str(&piece);
                    *tokens += n;
                }
                _ => {
                    if let Some((path, page, text, _)) = cur.take() {
                        emit(&mut chunks, &path, page, text);
                    }
                    cur = Some((block.path.clone(), block.page, piece, n));
                }
            }
        }
    }
    if let Some((path, page, text, _)) = cur.take() {
        emit(&mut chunks, &path, page, text);
    }
    chunks
}

fn split_oversized(text: &str, max_tokens: usize) -> Vec<String> {
    if approx_tokens(text) <= max_tokens {
        return vec![text.to_string()];
    }
    let mut sentences = Vec::new();
    let mut last = 0;
    for m in SENTENCE_END.find_iter(text) {
        sentences.push(&text[last..m.end()]);
        last = m.end();
    }
    if last < text.len() {
        sentences.push(&text[last..]);
    }
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for s in sentences {
        for piece in split_words(s, max_tokens) {
            if !cur.is_empty() && approx_tokens(&cur) + approx_tokens(&piece) > max_tokens {
                out.push(std::mem::take(&mut cur).trim().to_string());
            }
            cur.push_str(&piece);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Last resort for a sentence over budget: cut between words.
fn split_words(sentence: &str, max_tokens: usize) -> Vec<String> {
    if approx_tokens(sentence) <= max_tokens {
        return vec![sentence.to_string()];
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for w in sentence.split_inclusive(char::is_whitespace) {
        if !cur.is_empty() && approx_tokens(&cur) + approx_tokens(w) > max_tokens {
            out.push(std::mem::take(&mut cur));
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> Vec<Page> {
        vec![Page {
            number: None,
            text: text.to_string(),
        }]
    }

    #[test]
    fn markdown_headings_build_section_paths() {
        let md = "Intro text.\n\n## Leave\n\nGeneral.\n\n### Sick leave\n\nYou get 13 days.\n\n## Travel\n\nBook early.";
        let c = chunk("Handbook", &page(md), 200);
        let sections: Vec<&str> = c.iter().map(|c| c.section.as_str()).collect();
        assert_eq!(
            sections,
            vec![
                "Handbook",
                "Handbook > Leave",
                "Handbook > Leave > Sick leave",
                "Handbook > Travel"
            ]
        );
        assert_eq!(c[2].text, "You get 13 days.");
    }

    #[test]
    fn korean_statute_articles_and_clauses() {
        let md = "# 근로기준법\n\n## 제4장 근로시간과 휴식\n\n##### 제60조 (연차 유급휴가)\n\n**①** 사용자는 1년간 80퍼센트 이상 출근한 근로자에게 15일의 유급휴가를 주어야 한다.\n\n**②** 사용자는 계속하여 근로한 기간이 1년 미만인 근로자에게 1개월 개근 시 1일의 유급휴가를 주어야 한다.\n\n##### 제61조 (연차 유급휴가의 사용 촉진)\n\n내용.";
        let c = chunk("근로기준법", &page(md), 220);
        assert_eq!(
            c[0].section,
            "근로기준법 > 제4장 근로시간과 휴식 > 제60조 (연차 유급휴가)"
        );
        assert!(c[0].text.starts_with("① 사용자는"));
        assert!(
            c[0].text.contains("\n② 사용자는"),
            "clauses stay separate lines: {}",
            c[0].text
        );
        assert_eq!(
            c[1].section,
            "근로기준법 > 제4장 근로시간과 휴식 > 제61조 (연차 유급휴가의 사용 촉진)"
        );
    }

    #[test]
    fn plain_text_korean_structure_is_recognised() {
        let txt = "제1장 총칙\n제1조(목적) 이 규칙은 회사의 복무를 정한다.\n제2조(적용) 모든 직원에게 적용한다.";
        let c = chunk("취업규칙", &page(txt), 200);
        assert_eq!(c[0].section, "취업규칙 > 제1장 총칙 > 제1조(목적)");
        assert_eq!(c[0].text, "이 규칙은 회사의 복무를 정한다.");
        assert_eq!(c[1].section, "취업규칙 > 제1장 총칙 > 제2조(적용)");
    }

    #[test]
    fn references_in_running_text_are_not_headings() {
        let txt = "제17조에 따라 서면으로 명시하여야 한다.";
        let c = chunk("t", &page(txt), 200);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].section, "t");
    }

    #[test]
    fn english_articles_and_tables() {
        let txt = "Article 12. Overtime\nOvertime is paid at 1.5x.\n\n| Grade | Days |\n|---|---|\n| A | 10 |\n| B | 12 |";
        let c = chunk("Rules", &page(txt), 200);
        assert_eq!(c[0].section, "Rules > Article 12. Overtime");
        assert!(c[0].text.contains("Grade: A; Days: 10"));
        assert!(c[0].text.contains("Grade: B; Days: 12"));
    }

    #[test]
    fn budget_is_respected_and_pages_kept() {
        let long = "This is a sentence about leave policy. ".repeat(60);
        let pages = vec![
            Page {
                number: Some(1),
                text: long.clone(),
            },
            Page {
                number: Some(2),
                text: "Second page.".into(),
            },
        ];
        let c = chunk("Doc", &pages, 50);
        assert!(c.len() > 3);
        assert!(c.iter().all(|c| approx_tokens(&c.text) <= 50), "{c:?}");
        assert_eq!(c.last().unwrap().page, Some(2));
        assert!(c.iter().enumerate().all(|(i, c)| c.ordinal == i));
    }

    #[test]
    fn real_corpora_chunk_cleanly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample");
        let act =
            std::fs::read_to_string(root.join("ko-labor-law/labor-standards-act.md")).unwrap();
        let e =
            crate::ingest::extract::extract("labor-standards-act.md", act.as_bytes(), 100).unwrap();
        let c = chunk(e.title.as_deref().unwrap_or(""), &e.pages, 220);
        let art17 = c
            .iter()
            .find(|c| c.section.ends_with("제17조 (근로조건의 명시)"))
            .expect("제17조 chunk");
        assert!(
            art17.section.starts_with("근로기준법 > 제2장"),
            "{}",
            art17.section
        );
        assert!(art17.text.contains("임금"));
        let bb =
            std::fs::read_to_string(root.join(
                "en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md",
            ))
            .unwrap();
        let e = crate::ingest::extract::extract("bug-bounty.md", bb.as_bytes(), 100).unwrap();
        let c = chunk(e.title.as_deref().unwrap_or(""), &e.pages, 220);
        assert!(c
            .iter()
            .any(|c| c.section == "TTS Bug Bounty Program > How it works"));
        assert!(c
            .iter()
            .all(|c| !c.text.contains("{%") && !c.text.contains("](")));
    }
}
