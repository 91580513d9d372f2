//! Turn a file's bytes into text pages. The format is decided by content first (a PDF, a DOCX or
//! an HWPX is what its bytes say, whatever its name), then by extension for the text formats.

use regex::Regex;
use std::sync::LazyLock as Lazy;

use super::formats::{docx, html, hwpx, pdf, text, zipped::Zipped};
use super::IngestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Text,
    Pdf,
    Docx,
    Hwpx,
    Html,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Hwpx => "hwpx",
            Format::Html => "html",
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

const SUPPORTED: &str = ".pdf, .docx, .hwpx, .html, .md, .txt";

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body")
}

pub fn detect(name: &str, bytes: &[u8]) -> Result<Format, IngestError> {
    let ext = extension(name);
    // The PDF header may come after some junk, within the first KiB.
    if bytes[..bytes.len().min(1024)]
        .windows(5)
        .any(|w| w == b"%PDF-")
    {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let mut zip = Zipped::open(bytes, "archive")?;
        if docx::is_docx(&zip) {
            return Ok(Format::Docx);
        }
        if hwpx::is_hwpx(&mut zip) {
            return Ok(Format::Hwpx);
        }
        return Err(IngestError::UnsupportedType(format!(
            "a zip archive that is neither DOCX nor HWPX (supported: {SUPPORTED})"
        )));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(IngestError::UnsupportedType(
            "a legacy binary Office/Hangul file (.doc/.hwp/.xls); save it as DOCX, HWPX or PDF"
                .into(),
        ));
    }
    match ext.as_str() {
        "pdf" => Err(IngestError::Malformed(
            "the file is named .pdf but is not a PDF (no %PDF- header)".into(),
        )),
        "docx" | "hwpx" => Err(IngestError::Malformed(format!(
            "the file is named .{ext} but is not a zip package (truncated or renamed?)"
        ))),
        "html" | "htm" | "xhtml" => Ok(Format::Html),
        "md" | "markdown" => Ok(Format::Markdown),
        "txt" | "text" => Ok(if looks_like_html(bytes) {
            Format::Html
        } else {
            Format::Text
        }),
        _ if looks_like_html(bytes) => Ok(Format::Html),
        "" => Err(IngestError::UnsupportedType(format!(
            "(no extension; supported: {SUPPORTED})"
        ))),
        _ => Err(IngestError::UnsupportedType(format!(
            ".{ext} (supported: {SUPPORTED})"
        ))),
    }
}

fn single_page(format: Format, title: Option<String>, text: String) -> Extracted {
    Extracted {
        format,
        title,
        pages: vec![Page { number: None, text }],
    }
}

pub fn extract(name: &str, bytes: &[u8], max_pages: usize) -> Result<Extracted, IngestError> {
    let format = detect(name, bytes)?;
    let extracted = match format {
        Format::Pdf => Extracted {
            format,
            title: None,
            pages: pdf::pages(bytes, max_pages)?,
        },
        Format::Docx => {
            let d = docx::read(&mut Zipped::open(bytes, "DOCX")?)?;
            single_page(format, d.title, d.markdown)
        }
        Format::Hwpx => {
            let h = hwpx::read(&mut Zipped::open(bytes, "HWPX")?)?;
            single_page(format, h.title, h.markdown)
        }
        Format::Html => {
            html::check_nesting(bytes)?;
            let decoded = text::decode(bytes, text::html_charset(bytes).as_deref())?;
            let page = html::read(&decoded);
            single_page(format, page.title, page.markdown)
        }
        Format::Markdown => extract_markdown(&text::decode(bytes, None)?),
        Format::Text => {
            let decoded = text::decode(bytes, None)?;
            single_page(format, text_title(&decoded), decoded)
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
            extract("x.md", &[0xff, 0x00, 0x12], 10),
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
