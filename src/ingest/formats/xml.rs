//! Small helpers over quick-xml shared by the DOCX and HWPX readers.

use quick_xml::events::BytesStart;

use crate::ingest::IngestError;

/// The value of the attribute whose local name (namespace prefix ignored) is `local`.
pub fn attr(e: &BytesStart, local: &[u8]) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local)
            .then(|| a.unescape_value().ok().map(|v| v.into_owned()))
            .flatten()
    })
}

pub fn malformed(part: &str, e: impl std::fmt::Display) -> IngestError {
    IngestError::Malformed(format!("{part}: {e}"))
}

/// The text of the first element named `local` (e.g. `dc:title`), trimmed; `None` when empty.
pub fn first_text(xml: &str, local: &[u8]) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut out = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == local => inside = true,
            Event::End(e) if e.local_name().as_ref() == local => break,
            Event::Text(t) if inside => out.push_str(&t.unescape().ok()?),
            Event::Eof => break,
            _ => {}
        }
    }
    let out = out.trim().to_string();
    (!out.is_empty()).then_some(out)
}
