//! PDF text per page through pdf-extract (its panics contained), with the running headers and
//! footers that repeat on most pages removed so they do not pollute every chunk.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ingest::extract::Page;
use crate::ingest::IngestError;

/// How many lines at the top and at the bottom of a page can be a running header or footer.
const EDGE_LINES: usize = 3;

pub fn pages(bytes: &[u8], max_pages: usize) -> Result<Vec<Page>, IngestError> {
    // pdf-extract panics on some malformed files: contain it so one file cannot take down a worker.
    let result = catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem_by_pages(bytes)
    }));
    let encrypted = bytes.windows(8).any(|w| w == b"/Encrypt");
    let encrypted_error = || {
        IngestError::Malformed(
            "the PDF is encrypted and its text cannot be read; upload an unprotected copy".into(),
        )
    };
    let texts = match result {
        // A wrong key "decrypts" to noise without text.
        Ok(Ok(pages)) if encrypted && pages.iter().all(|p| p.trim().is_empty()) => {
            return Err(encrypted_error())
        }
        Ok(Ok(pages)) => pages,
        Ok(Err(_)) if encrypted => return Err(encrypted_error()),
        Ok(Err(e)) => return Err(IngestError::Malformed(format!("unreadable PDF: {e}"))),
        Err(_) => {
            return Err(IngestError::Malformed(
                "unreadable PDF: the parser failed on this file".into(),
            ))
        }
    };
    if texts.len() > max_pages {
        return Err(IngestError::TooLarge(format!(
            "{} pages, the limit is {max_pages}",
            texts.len()
        )));
    }
    let mut pages: Vec<Page> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Page {
            number: Some(i as u32 + 1),
            text,
        })
        .collect();
    strip_running_lines(&mut pages);
    Ok(pages)
}

/// A line's identity across pages: page numbers and dates differ, the words do not.
fn line_key(line: &str) -> String {
    line.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// The first and last few non-empty lines of a page, by line index.
fn edge_lines(text: &str) -> Vec<usize> {
    let filled: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i)
        .collect();
    let mut out: Vec<usize> = filled.iter().take(EDGE_LINES).copied().collect();
    out.extend(filled.iter().rev().take(EDGE_LINES));
    out.sort_unstable();
    out.dedup();
    out
}

/// Remove lines that sit at the top or bottom of at least half the pages (and of three or more).
pub fn strip_running_lines(pages: &mut [Page]) {
    if pages.len() < 3 {
        return;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for page in pages.iter() {
        let lines: Vec<&str> = page.text.lines().collect();
        let mut keys: Vec<String> = edge_lines(&page.text)
            .into_iter()
            .map(|i| line_key(lines[i]))
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
    }
    let needed = (pages.len() / 2).max(3);
    for page in pages.iter_mut() {
        let lines: Vec<&str> = page.text.lines().collect();
        let drop: Vec<usize> = edge_lines(&page.text)
            .into_iter()
            .filter(|&i| seen.get(&line_key(lines[i])).copied().unwrap_or(0) >= needed)
            .collect();
        if drop.is_empty() {
            continue;
        }
        page.text = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_headers_and_footers_go() {
        let bodies = [
            "Annual leave is 25 days.",
            "Sick leave needs a note.",
            "Travel is booked centrally.",
            "Expenses are paid monthly.",
        ];
        let mut pages: Vec<Page> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| Page {
                number: Some(i as u32 + 1),
                text: format!("ACME Corp — Internal\n\n{body}\n\nPage {} of 4\n", i + 1),
            })
            .collect();
        strip_running_lines(&mut pages);
        for (p, body) in pages.iter().zip(bodies) {
            assert!(!p.text.contains("ACME"), "{}", p.text);
            assert!(!p.text.contains("of 4"), "{}", p.text);
            assert!(p.text.contains(body));
        }
    }

    #[test]
    fn two_pages_are_left_alone() {
        let mut pages = vec![
            Page {
                number: Some(1),
                text: "Same\nA".into(),
            },
            Page {
                number: Some(2),
                text: "Same\nB".into(),
            },
        ];
        strip_running_lines(&mut pages);
        assert!(pages[0].text.contains("Same"));
    }
}
