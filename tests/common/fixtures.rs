//! Real files of each format, written by the tests: DOCX and HWPX packages (zip + XML as Word and
//! Hangul write them), HTML pages, and broken files of every kind.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

pub fn zip_of(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in parts {
        w.start_file(*name, SimpleFileOptions::default())
            .expect("zip entry");
        w.write_all(body.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A DOCX paragraph: `style` is a styleId ("Heading1"), `numbered` adds list numbering.
pub enum W<'a> {
    P(&'a str),
    H(u8, &'a str),
    Item(&'a str),
    Table(&'a [&'a [&'a str]]),
    /// Body XML as Word writes it (hyperlinks, text boxes, nested tables …).
    Raw(&'a str),
}

pub fn docx(title: &str, body: &[W]) -> Vec<u8> {
    let para = |style: Option<String>, numbered: bool, text: &str| {
        let mut ppr = String::new();
        if let Some(s) = style {
            ppr.push_str(&format!("<w:pStyle w:val=\"{s}\"/>"));
        }
        if numbered {
            ppr.push_str("<w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr>");
        }
        format!(
            "<w:p><w:pPr>{ppr}</w:pPr><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            esc(text)
        )
    };
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
    );
    for b in body {
        match b {
            W::P(t) => xml.push_str(&para(None, false, t)),
            W::H(l, t) => xml.push_str(&para(Some(format!("Heading{l}")), false, t)),
            W::Item(t) => xml.push_str(&para(Some("ListParagraph".into()), true, t)),
            W::Raw(body) => xml.push_str(body),
            W::Table(rows) => {
                xml.push_str("<w:tbl><w:tblPr/>");
                for r in rows.iter() {
                    xml.push_str("<w:tr>");
                    for c in r.iter() {
                        xml.push_str(&format!("<w:tc><w:tcPr/>{}</w:tc>", para(None, false, c)));
                    }
                    xml.push_str("</w:tr>");
                }
                xml.push_str("</w:tbl>");
            }
        }
    }
    xml.push_str("<w:sectPr/></w:body></w:document>");
    let styles = r#"<?xml version="1.0" encoding="UTF-8"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style><w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/></w:style></w:styles>"#;
    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{}</dc:title></cp:coreProperties>"#,
        esc(title)
    );
    zip_of(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#,
        ),
        ("word/document.xml", &xml),
        ("word/styles.xml", styles),
        ("docProps/core.xml", &core),
    ])
}

/// An HWPX paragraph or table; `heading` paragraphs use the "개요 1" style.
pub enum H<'a> {
    P(&'a str),
    Heading(&'a str),
    Table(&'a [&'a [&'a str]]),
    /// Section XML as Hangul writes it (drawing objects with text …).
    Raw(&'a str),
}

fn hwpx_section(body: &[H]) -> String {
    let p = |style: &str, text: &str| {
        format!(
            r#"<hp:p id="0" paraPrIDRef="0" styleIDRef="{style}"><hp:run charPrIDRef="0"><hp:t>{}</hp:t></hp:run><hp:linesegarray><hp:lineseg textpos="0"/></hp:linesegarray></hp:p>"#,
            esc(text)
        )
    };
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph">"#,
    );
    for b in body {
        match b {
            H::P(t) => xml.push_str(&p("0", t)),
            H::Heading(t) => xml.push_str(&p("2", t)),
            H::Raw(body) => xml.push_str(body),
            H::Table(rows) => {
                xml.push_str(r#"<hp:p id="0" paraPrIDRef="0" styleIDRef="0"><hp:run charPrIDRef="0"><hp:tbl rowCnt="2" colCnt="2">"#);
                for r in rows.iter() {
                    xml.push_str("<hp:tr>");
                    for c in r.iter() {
                        xml.push_str(&format!(
                            "<hp:tc><hp:subList>{}</hp:subList></hp:tc>",
                            p("0", c)
                        ));
                    }
                    xml.push_str("</hp:tr>");
                }
                xml.push_str("</hp:tbl></hp:run></hp:p>");
            }
        }
    }
    xml.push_str("</hs:sec>");
    xml
}

pub fn hwpx(title: &str, sections: &[&[H]]) -> Vec<u8> {
    let header = r#"<?xml version="1.0" encoding="UTF-8"?><hh:head xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head"><hh:refList><hh:styles itemCnt="3"><hh:style id="0" type="PARA" name="바탕글" engName="Normal"/><hh:style id="1" type="PARA" name="본문" engName="Body"/><hh:style id="2" type="PARA" name="개요 1" engName="Outline 1"/></hh:styles></hh:refList></hh:head>"#;
    let hpf = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/"><opf:metadata><opf:title>{}</opf:title></opf:metadata></opf:package>"#,
        esc(title)
    );
    let sections: Vec<(String, String)> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("Contents/section{i}.xml"), hwpx_section(s)))
        .collect();
    let mut parts: Vec<(&str, &str)> = vec![
        ("mimetype", "application/hwp+zip"),
        ("Contents/header.xml", header),
        ("Contents/content.hpf", &hpf),
    ];
    for (name, xml) in &sections {
        parts.push((name, xml));
    }
    zip_of(&parts)
}

/// A DOCX whose document.xml inflates to more than 256 MiB: a zip bomb.
pub fn zip_bomb_docx() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("word/document.xml", SimpleFileOptions::default())
        .expect("zip entry");
    w.write_all(b"<w:document><w:body><w:p><w:r><w:t>")
        .expect("write");
    let block = vec![b'a'; 1 << 20];
    for _ in 0..260 {
        w.write_all(&block).expect("write");
    }
    w.write_all(b"</w:t></w:r></w:p></w:body></w:document>")
        .expect("write");
    w.finish().expect("zip finish").into_inner()
}
