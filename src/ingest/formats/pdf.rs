//! PDF text per page through pdf-extract (its panics contained), with the running headers and
//! footers that repeat on most pages removed so they do not pollute every chunk.

use std::collections::HashMap;

use crate::ingest::extract::Page;
use crate::ingest::IngestError;

/// How many lines at the top and at the bottom of a page can be a running header or footer.
const EDGE_LINES: usize = 3;

/// Most a PDF's compressed streams may inflate to, all together, unless the file itself is large
/// (then sixteen times its size): the same kind of cap as a zip's, so a decompression bomb is
/// refused with a reason instead of exhausting memory inside the parser.
const MAX_INFLATED: u64 = 256 << 20;

/// Inflate every Flate-compressed stream of the file, counting, never keeping, the output.
/// (Streams encoded twice, e.g. ASCIIHex over Flate, are not unwrapped here.)
fn check_inflation(bytes: &[u8]) -> Result<(), IngestError> {
    use std::io::Read;
    let cap = MAX_INFLATED.max(16 * bytes.len() as u64);
    let mut total = 0u64;
    let mut at = 0usize;
    let mut buf = vec![0u8; 64 << 10];
    while let Some(pos) = find(&bytes[at..], b"stream") {
        let keyword = at + pos;
        at = keyword + 6;
        // `endstream` ends one; only a `stream` keyword followed by an end of line begins one.
        if keyword >= 3 && &bytes[keyword - 3..keyword] == b"end" {
            continue;
        }
        let mut data = at;
        if bytes.get(data) == Some(&b'\r') {
            data += 1;
        }
        if bytes.get(data) != Some(&b'\n') {
            continue;
        }
        data += 1;
        let end = find(&bytes[data..], b"endstream").map_or(bytes.len(), |p| data + p);
        at = end;
        // Every stream is tried, whatever its dictionary declares (no dictionary parsing to
        // fool): data that is not zlib fails on its first bytes and counts nothing.
        let mut inflater = flate2::read::ZlibDecoder::new(&bytes[data..end]);
        loop {
            match inflater.read(&mut buf) {
                Ok(0) | Err(_) => break, // the end, or a damaged stream the parser will judge
                Ok(n) => {
                    total += n as u64;
                    if total > cap {
                        return Err(IngestError::TooLarge(format!(
                            "the PDF's compressed streams expand to more than {} MB (a decompression bomb?)",
                            cap >> 20
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn pages(bytes: &[u8], max_pages: usize) -> Result<Vec<Page>, IngestError> {
    check_inflation(bytes)?;
    // pdf-extract panics on some malformed files: contained, so one file cannot take down a
    // worker, and reported as the file's reason in one line.
    let result =
        crate::ingest::contained::catch(|| pdf_extract::extract_text_from_mem_by_pages(bytes));
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
        Err(reason) => {
            return Err(IngestError::Malformed(format!(
                "unreadable PDF: the parser failed on this file ({reason})"
            )))
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

    /// A one-page PDF whose content stream is `inflated` bytes of spaces, Flate-compressed.
    fn pdf_with_stream(inflated: usize) -> Vec<u8> {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let block = vec![b' '; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(block.len());
            z.write_all(&block[..n]).unwrap();
            left -= n;
        }
        z.write_all(b"BT /F1 12 Tf 72 720 Td (Bomb test) Tj ET")
            .unwrap();
        let stream = z.finish().unwrap();
        let mut out = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>\nendobj\n".to_vec();
        out.extend_from_slice(
            format!(
                "4 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
                stream.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&stream);
        out.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
        out
    }

    #[test]
    fn a_flate_bomb_is_refused_before_the_parser_inflates_it() {
        let bomb = pdf_with_stream((MAX_INFLATED + (1 << 20)) as usize);
        assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
        match pages(&bomb, 100) {
            Err(IngestError::TooLarge(m)) => assert!(m.contains("decompression bomb"), "{m}"),
            other => panic!("{:?}", other.map(|p| p.len())),
        }
        // An ordinary compressed stream passes the check.
        assert!(check_inflation(&pdf_with_stream(10_000)).is_ok());
    }

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
