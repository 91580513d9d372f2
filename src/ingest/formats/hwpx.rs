//! HWPX (Hangul Word Processor's zip+XML format, KS X 6101/OWPML): the body paragraphs of
//! `Contents/section*.xml` in order, tables cell by cell, outline styles ("개요 N") as headings;
//! the title from `Contents/content.hpf`.

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::blocks::{to_markdown, Block};
use super::flow::Flow;
use super::xml::{attr, first_text, malformed};
use super::zipped::Zipped;
use crate::ingest::IngestError;

pub struct Hwpx {
    pub title: Option<String>,
    pub markdown: String,
}

pub fn is_hwpx(zip: &mut Zipped) -> bool {
    let mimetype = zip.text("mimetype").ok().flatten().unwrap_or_default();
    mimetype.trim() == "application/hwp+zip" || zip.has("Contents/section0.xml")
}

/// The body sections in reading order: section0, section1, … (numeric, not lexical, order).
fn sections(zip: &Zipped) -> Vec<String> {
    let mut found: Vec<(u32, String)> = zip
        .names()
        .into_iter()
        .filter_map(|n| {
            let number = n
                .strip_prefix("Contents/section")?
                .strip_suffix(".xml")?
                .parse::<u32>()
                .ok()?;
            Some((number, n))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

pub fn read(zip: &mut Zipped) -> Result<Hwpx, IngestError> {
    let names = sections(zip);
    if names.is_empty() {
        return Err(IngestError::Malformed(
            "an HWPX without Contents/section0.xml".into(),
        ));
    }
    let levels = match zip.text("Contents/header.xml")? {
        Some(header) => outline_styles(&header),
        None => HashMap::new(),
    };
    let title = zip
        .text("Contents/content.hpf")?
        .and_then(|hpf| first_text(&hpf, b"title"));
    let mut blocks = Vec::new();
    for name in names {
        let xml = zip.text(&name)?.unwrap_or_default();
        blocks.extend(section_blocks(&name, &xml, &levels)?);
    }
    let title = title.or_else(|| Flow::first_heading(&blocks));
    Ok(Hwpx {
        title,
        markdown: to_markdown(&blocks),
    })
}

/// Heading level of a style: "개요 2" / "Outline 2" → 2, "제목" / "Title" → 1.
fn level_of_style(name: &str) -> Option<usize> {
    let name = name.trim();
    if name == "제목" || name.eq_ignore_ascii_case("title") {
        return Some(1);
    }
    let rest = name
        .strip_prefix("개요")
        .or_else(|| name.strip_prefix("Outline"))?;
    rest.trim()
        .parse::<usize>()
        .ok()
        .filter(|l| (1..=6).contains(l))
}

/// style id → heading level, from `Contents/header.xml`'s `<hh:style>` list.
fn outline_styles(xml: &str) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    let mut reader = Reader::from_str(xml);
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"style" => {
                let level = attr(&e, b"name")
                    .as_deref()
                    .and_then(level_of_style)
                    .or_else(|| attr(&e, b"engName").as_deref().and_then(level_of_style));
                if let (Some(id), Some(level)) = (attr(&e, b"id"), level) {
                    map.insert(id, level);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    map
}

fn section_blocks(
    part: &str,
    xml: &str,
    levels: &HashMap<String, usize>,
) -> Result<Vec<Block>, IngestError> {
    let mut reader = Reader::from_str(xml);
    let mut flow = Flow::default();
    let mut in_text = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| malformed(part, e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    b"p" if !empty => {
                        flow.open_para();
                        let level = attr(e, b"styleIDRef").and_then(|s| levels.get(&s).copied());
                        if let Some(p) = flow.para() {
                            p.level = level;
                        }
                    }
                    b"t" if !empty => in_text += 1,
                    b"tab" if in_text > 0 => flow.text(" "),
                    b"lineBreak" if in_text > 0 => flow.text("\n"),
                    other => flow.start_element(other, empty),
                }
            }
            Event::Text(t) if in_text > 0 => {
                flow.text(&t.unescape().map_err(|e| malformed(part, e))?)
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = in_text.saturating_sub(1),
                other => flow.end_element(other),
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(flow.finish())
}
