//! DOCX (Office Open XML): paragraphs with their heading styles, numbered and bulleted lists, and
//! tables, from `word/document.xml`; the title from `docProps/core.xml`.

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::blocks::{to_markdown, Block};
use super::flow::Flow;
use super::xml::{attr, first_text, malformed};
use super::zipped::Zipped;
use crate::ingest::IngestError;

pub struct Docx {
    pub title: Option<String>,
    pub markdown: String,
}

pub fn is_docx(zip: &Zipped) -> bool {
    zip.has("word/document.xml")
}

pub fn read(zip: &mut Zipped) -> Result<Docx, IngestError> {
    let document = zip
        .text("word/document.xml")?
        .ok_or_else(|| IngestError::Malformed("a DOCX without word/document.xml".into()))?;
    let levels = match zip.text("word/styles.xml")? {
        Some(styles) => heading_styles(&styles),
        None => HashMap::new(),
    };
    let title = zip
        .text("docProps/core.xml")?
        .and_then(|core| first_text(&core, b"title"));
    let blocks = blocks(&document, &levels)?;
    let title = title.or_else(|| Flow::first_heading(&blocks));
    Ok(Docx {
        title,
        markdown: to_markdown(&blocks),
    })
}

/// Heading level of a style name: "heading 2" → 2, "Title" → 1.
fn level_of_name(name: &str) -> Option<usize> {
    let name = name.trim().to_lowercase();
    if name == "title" {
        return Some(1);
    }
    let rest = name.strip_prefix("heading")?.trim();
    rest.parse::<usize>().ok().filter(|l| (1..=6).contains(l))
}

/// styleId → heading level, from `word/styles.xml`.
fn heading_styles(xml: &str) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    let mut reader = Reader::from_str(xml);
    let mut current: Option<String> = None;
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(e) if e.local_name().as_ref() == b"style" => {
                current = attr(&e, b"styleId");
            }
            Event::Empty(e) if e.local_name().as_ref() == b"name" => {
                if let (Some(id), Some(level)) = (
                    current.as_ref(),
                    attr(&e, b"val").as_deref().and_then(level_of_name),
                ) {
                    map.insert(id.clone(), level);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    map
}

fn blocks(xml: &str, levels: &HashMap<String, usize>) -> Result<Vec<Block>, IngestError> {
    let mut reader = Reader::from_str(xml);
    let mut flow = Flow::default();
    let mut in_text = false;
    // `mc:Fallback` repeats its `mc:Choice` for older readers (a text box as VML): read once.
    let mut fallback = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed("word/document.xml", e))?;
        match &event {
            Event::Start(e) if e.local_name().as_ref() == b"Fallback" => {
                fallback += 1;
                continue;
            }
            Event::End(e) if e.local_name().as_ref() == b"Fallback" => {
                fallback = fallback.saturating_sub(1);
                continue;
            }
            Event::Eof => {}
            _ if fallback > 0 => continue,
            _ => {}
        }
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    // A self-closing <w:p/> is an empty paragraph: nothing to open.
                    b"p" if !empty => flow.open_para(),
                    b"t" if !empty => in_text = true,
                    b"pStyle" => {
                        let level = attr(e, b"val")
                            .and_then(|s| levels.get(&s).copied().or_else(|| level_of_name(&s)));
                        if let (Some(p), Some(l)) = (flow.para(), level) {
                            p.level = Some(l);
                        }
                    }
                    b"outlineLvl" => {
                        let level = attr(e, b"val")
                            .and_then(|v| v.parse::<usize>().ok())
                            .map(|l| l + 1)
                            .filter(|l| *l <= 6);
                        if let Some(p) = flow.para() {
                            p.level = p.level.or(level);
                        }
                    }
                    b"numPr" => {
                        if let Some(p) = flow.para() {
                            p.numbered = true;
                        }
                    }
                    b"tab" => flow.text(" "),
                    b"br" | b"cr" => flow.text("\n"),
                    other => flow.start_element(other, empty),
                }
            }
            Event::Text(t) if in_text => flow.text(
                &t.unescape()
                    .map_err(|e| malformed("word/document.xml", e))?,
            ),
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                other => flow.end_element(other),
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(flow.finish())
}
