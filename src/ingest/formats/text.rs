//! Bytes to text for the text formats (Markdown, plain text, HTML): UTF-8 and UTF-16 with a BOM,
//! a charset an HTML page declares, plain UTF-8, and — since Korean companies' older files often
//! are — EUC-KR/CP949. Anything else (binary garbage with a text name) is refused.

use encoding_rs::{Encoding, EUC_KR, UTF_8};

use crate::ingest::IngestError;

pub fn decode(bytes: &[u8], declared: Option<&str>) -> Result<String, IngestError> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        if !had_errors {
            return Ok(text.into_owned());
        }
    }
    if bytes.contains(&0) {
        return Err(not_text());
    }
    if let Some(encoding) = declared.and_then(|l| Encoding::for_label(l.trim().as_bytes())) {
        if encoding != UTF_8 {
            let (text, _, had_errors) = encoding.decode(bytes);
            if !had_errors {
                return Ok(text.into_owned());
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, _, had_errors) = EUC_KR.decode(bytes);
    let hangul = text
        .chars()
        .filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c))
        .count();
    if !had_errors && hangul > 0 {
        return Ok(text.into_owned());
    }
    Err(not_text())
}

fn not_text() -> IngestError {
    IngestError::Malformed(
        "the file is binary or in an unknown text encoding, although its name says text".into(),
    )
}

/// The charset an HTML page declares in its first bytes (`<meta charset=…>` or `content=…charset=…`).
pub fn html_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(decode("연차휴가".as_bytes(), None).unwrap(), "연차휴가");
        let (euc, _, _) = EUC_KR.encode("제60조(연차 유급휴가)");
        assert_eq!(decode(&euc, None).unwrap(), "제60조(연차 유급휴가)");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("leave".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&utf16, None).unwrap(), "leave");
        assert!(decode(&[0xff, 0x00, 0x12, 0x80], None).is_err());
        assert_eq!(
            html_charset(
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=euc-kr\">"
            )
            .as_deref(),
            Some("euc-kr")
        );
    }
}
