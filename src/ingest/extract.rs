//! Turn a file's bytes into text pages. The format is decided by content first (a PDF is a PDF
//! whatever its name), then by extension for the text formats.

use std::panic::{catch_unwind, AssertUnwindSafe};

use regex::Regex;
use std::sync::LazyLock as Lazy;

use super::IngestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Text,
    Pdf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Pdf => "pdf",
        }
    }
}

/// One page of extracted text; `number` is set for paginated formats.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub number: Option<u32>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Extracted {
    pub format: Format,
    pub title: Option<String>,
    pub pages: Vec<Page>,
}

pub fn detect(name: &str, bytes: &[u8]) -> Result<Format, IngestError> {
    if bytes.starts_with(b"%PDF-") {
        return Ok(Format::Pdf);
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let textual = match ext.as_str() {
        "md" | "markdown" => Some(Format::Markdown),
        "txt" | "text" => Some(Format::Text),
        "pdf" => {
            return Err(IngestError::Malformed(
                "the file is named .pdf but is not a PDF (no %PDF- header)".into(),
            ))
        }
        _ => None,
    };
    let Some(format) = textual else {
        return Err(IngestError::UnsupportedType(if ext.is_empty() {
            "(no extension)".into()
        } else {
            ext
        }));
    };
    if bytes.contains(&0) || std::str::from_utf8(bytes).is_err() {
        return Err(IngestError::Malformed(
            "the file is binary or not UTF-8 text, although its name says text".into(),
        ));
    }
    Ok(format)
}

pub fn extract(name: &str, bytes: &[u8], max_pages: usize) -> Result<Extracted, IngestError> {
    let format = detect(name, bytes)?;
    let extracted = match format {
        Format::Pdf => extract_pdf(bytes, max_pages)?,
        Format::Markdown => extract_markdown(std::str::from_utf8(bytes).unwrap_or_default()),
        Format::Text => {
            let text = std::str::from_utf8(bytes).unwrap_or_default();
            Extracted {
                format,
                title: text_title(text),
                pages: vec![Page {
                    number: None,
                    text: text.to_string(),
                }],
            }
        }
    };
    if extracted.pages.iter().all(|p| p.text.trim().is_empty()) {
        return Err(IngestError::Empty);
    }
    Ok(extracted)
}

static FRONT_MATTER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?s)\A\u{feff}?---\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\z)").expect("regex")
});
static TEMPLATE_TAG: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?s)\{%.*?%\}|\{\{.*?\}\}").expect("regex"));
static HTML_COMMENT: Lazy<Regex> = Lazy::new(|| Regex::new(r"(?s)<!--.*?-->").expect("regex"));

fn extract_markdown(text: &str) -> Extracted {
    let (title, body) = match FRONT_MATTER.captures(text) {
        Some(c) => {
            let fm = c.get(1).map_or("", |m| m.as_str());
            let end = c.get(0).map_or(0, |m| m.end());
            (front_matter_title(fm), &text[end..])
        }
        None => (None, text),
    };
    let body = HTML_COMMENT.replace_all(body, "");
    let body = TEMPLATE_TAG.replace_all(&body, "");
    let title = title.or_else(|| first_heading(&body));
    Extracted {
        format: Format::Markdown,
        title,
        pages: vec![Page {
            number: None,
            text: body.into_owned(),
        }],
    }
}

/// `title:` (or the Korean statutes' `제목:`) at the top level of YAML front matter.
fn front_matter_title(fm: &str) -> Option<String> {
    fm.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key == "title" || key == "제목" {
            let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!v.is_empty()).then(|| v.to_string())
        } else {
            None
        }
    })
}

/// A plain-text document's title: a short first line set apart by a blank line.
fn text_title(text: &str) -> Option<String> {
    let mut lines = text.trim_start().lines();
    let first = lines.next()?.trim();
    let blank_after = lines.next().is_some_and(|l| l.trim().is_empty());
    (blank_after && !first.is_empty() && first.chars().count() <= 200).then(|| first.to_string())
}

fn first_heading(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn extract_pdf(bytes: &[u8], max_pages: usize) -> Result<Extracted, IngestError> {
    // pdf-extract panics on some malformed files: contain it so one file cannot take down a worker.
    let result = catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem_by_pages(bytes)
    }));
    let pages = match result {
        Ok(Ok(pages)) => pages,
        Ok(Err(e)) => return Err(IngestError::Malformed(format!("unreadable PDF: {e}"))),
        Err(_) => {
            return Err(IngestError::Malformed(
                "unreadable PDF: the parser failed on this file".into(),
            ))
        }
    };
    if pages.len() > max_pages {
        return Err(IngestError::TooLarge(format!(
            "{} pages, the limit is {max_pages}",
            pages.len()
        )));
    }
    let pages = pages
        .into_iter()
        .enumerate()
        .map(|(i, text)| Page {
            number: Some(i as u32 + 1),
            text,
        })
        .collect();
    Ok(Extracted {
        format: Format::Pdf,
        title: None,
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_front_matter_and_template_tags() {
        let md = "---\ntitle: TTS Bug Bounty Program\nredirect_from:\n  - /x/\n---\n\nSee {% page \"/a/\" %} now.\n<!-- hidden -->\n## How it works\n";
        let e = extract("bug-bounty.md", md.as_bytes(), 10).unwrap();
        assert_eq!(e.title.as_deref(), Some("TTS Bug Bounty Program"));
        assert!(!e.pages[0].text.contains("{%"));
        assert!(!e.pages[0].text.contains("hidden"));
        assert!(e.pages[0].text.contains("## How it works"));
    }

    #[test]
    fn korean_front_matter_title() {
        let md = "---\n제목: 근로기준법\n법령ID: '001872'\n---\n\n# 근로기준법\n";
        assert_eq!(
            extract("a.md", md.as_bytes(), 10).unwrap().title.as_deref(),
            Some("근로기준법")
        );
    }

    #[test]
    fn bad_inputs_get_clear_errors() {
        assert!(matches!(
            detect("x.exe", b"MZ"),
            Err(IngestError::UnsupportedType(_))
        ));
        assert!(matches!(
            detect("x.pdf", b"hello"),
            Err(IngestError::Malformed(_))
        ));
        assert!(matches!(
            detect("x.md", &[0xff, 0x00, 0x12]),
            Err(IngestError::Malformed(_))
        ));
        assert!(matches!(
            extract("x.md", b"  \n\n", 10),
            Err(IngestError::Empty)
        ));
        assert!(matches!(
            extract("x.pdf", b"%PDF-1.7\ngarbage garbage", 10),
            Err(IngestError::Malformed(_))
        ));
        assert_eq!(
            detect("notes.txt", "안녕하세요".as_bytes()).unwrap(),
            Format::Text
        );
        assert_eq!(detect("renamed.txt", b"%PDF-1.4").unwrap(), Format::Pdf);
    }
}
