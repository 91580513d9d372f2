//! Short forms a document defines for a longer name. Korean statutes and company rules name a
//! thing in full once and by a short form afterwards — `노사협의회(이하 "협의회"라 한다)` — so
//! every later article says 협의회 while an employee asks about the 노사협의회. Matched word for
//! word, the question then finds the one article that defines the term (the full name is rare
//! there, so it weighs most) instead of the article that answers it. A passage that uses a short
//! form is matched as if it also named the full one (`full_names`), on the sparse side at index
//! time and in the answer's concept coverage.

/// One definition: the full name (its last word: `근로자를 대표하는 위원` → 위원) and the short form
/// the document uses for it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Definition {
    full: String,
    short: String,
}

/// The short forms one document defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefinedTerms(Vec<Definition>);

/// At most this many full names are added to one passage (a passage naming a dozen defined
/// terms is a definitions list; it needs no help).
const MAX_PER_PASSAGE: usize = 5;

impl DefinedTerms {
    /// The definitions in a document's `texts` (its chunks, in any order).
    pub fn find<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut found: Vec<Definition> = Vec::new();
        for text in texts {
            for d in definitions_in(text) {
                if !found.contains(&d) {
                    found.push(d);
                }
            }
        }
        DefinedTerms(found)
    }

    /// The full names `text` refers to by a short form without naming them itself.
    pub fn full_names(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.0 {
            if out.len() == MAX_PER_PASSAGE {
                break;
            }
            if text.contains(&d.short) && !text.contains(&d.full) && !out.contains(&d.full) {
                out.push(d.full.clone());
            }
        }
        out
    }
}

/// Definitions written `FULL(이하 "SHORT"라 한다)`, with the variants statutes use: 이라 한다,
/// 라고 한다, a scope between 이하 and the quote (이하 이 조에서), curly quotes.
fn definitions_in(text: &str) -> Vec<Definition> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut consumed = 0;
    while let Some(at) = rest.find("(이하") {
        let open = consumed + at;
        let after = &text[open + "(이하".len()..];
        consumed = open + "(이하".len();
        rest = &text[consumed..];
        let Some(short) = quoted_short_form(after) else {
            continue;
        };
        let Some(full) = word_before(&text[..open]) else {
            continue;
        };
        // A short form that contains the full name (위원 → 근로자위원) or equals it needs nothing;
        // one syllable (법, 영) is too common to stand for anything. Only the full name's last
        // word is read, so a short form sharing none of its syllable pairs names a whole phrase
        // ("…의 수집ㆍ이용(이하 \"자료제공등\"이라 한다)"), not an abbreviation of that word.
        if short.chars().count() < 2 || short.contains(full) || !shares_a_syllable_pair(short, full)
        {
            continue;
        }
        out.push(Definition {
            full: full.to_string(),
            short: short.to_string(),
        });
    }
    out
}

/// Whether two words share a pair of adjacent syllables (협의회 and 노사협의회 share 협의, 의회).
fn shares_a_syllable_pair(a: &str, b: &str) -> bool {
    let pairs = |w: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = w.chars().collect();
        chars.windows(2).map(|p| (p[0], p[1])).collect()
    };
    let of_b = pairs(b);
    pairs(a).iter().any(|p| of_b.contains(p))
}

/// The short form in `after` (the text following "(이하"), when it is quoted within a few
/// characters and followed by "(이)라 한다" or "(이)라고 한다".
fn quoted_short_form(after: &str) -> Option<&str> {
    let (quote_at, open_len) = after
        .char_indices()
        .take(12)
        .find(|(_, c)| matches!(c, '"' | '“'))
        .map(|(i, c)| (i, c.len_utf8()))?;
    let inner = &after[quote_at + open_len..];
    let end = inner.find(['"', '”'])?;
    let short = inner[..end].trim();
    let tail = inner[end..]
        .trim_start_matches(['"', '”'])
        .trim_start_matches('이')
        .trim_start();
    let defines = ["라 한다", "라고 한다", "라 함", "라 칭한다"]
        .iter()
        .any(|w| tail.starts_with(w));
    (defines && !short.is_empty() && short.chars().all(|c| c.is_alphanumeric())).then_some(short)
}

/// The word right before a definition's parenthesis: only letters and digits (a law's title
/// in 「」 or a phrase ending in another parenthesis is no name).
fn word_before(before: &str) -> Option<&str> {
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric())
        .last()
        .map(|(i, _)| i)?;
    let word = &before[start..];
    (word.chars().count() >= 2 && word.chars().any(crate::lexical::is_hangul)).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statutes_short_forms_are_found() {
        let terms = DefinedTerms::find([
            "① 노사협의회(이하 \"협의회\"라 한다)는 사업장 단위로 설치하여야 한다.",
            "② 근로자를 대표하는 위원(이하 \"근로자위원\"이라 한다)은 투표로 선출한다.",
            "「근로자참여 및 협력증진에 관한 법률」(이하 \"법\"이라 한다)",
            "고용노동부에 최저임금위원회(이하 이 조에서 “위원회”라 한다)를 둔다.",
        ]);
        assert_eq!(
            terms,
            DefinedTerms(vec![
                Definition {
                    full: "노사협의회".into(),
                    short: "협의회".into()
                },
                Definition {
                    full: "최저임금위원회".into(),
                    short: "위원회".into()
                },
            ])
        );
    }

    #[test]
    fn a_passage_using_the_short_form_names_the_full_one() {
        let terms = DefinedTerms::find(["노사협의회(이하 \"협의회\"라 한다)는 설치하여야 한다."]);
        assert_eq!(
            terms.full_names("협의회는 3개월마다 정기적으로 회의를 개최하여야 한다."),
            vec!["노사협의회".to_string()]
        );
        assert!(terms
            .full_names("노사협의회는 근로자와 사용자가 구성한다.")
            .is_empty());
        assert!(terms.full_names("위원의 임기는 3년으로 한다.").is_empty());
    }

    #[test]
    fn parentheses_that_define_nothing_are_left_alone() {
        for text in [
            "1년 이하(이하의 경우 포함)",
            "상시 30명 미만(이하 같다)의 근로자",
            "(이하 \"협의회\"라 한다)",
            "징계(이하 \"징계 등\"이라 한다)",
            "개인정보의 수집ㆍ이용(이하 \"자료제공등\"이라 한다)",
        ] {
            assert_eq!(
                DefinedTerms::find([text]),
                DefinedTerms::default(),
                "{text}"
            );
        }
    }
}
