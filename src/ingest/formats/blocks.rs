//! The common shape the structured formats (DOCX, HWPX, HTML) are reduced to: headings,
//! paragraphs, list items and tables, written out as Markdown so one chunker handles them all.

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(usize, String),
    Paragraph(String),
    Item(String),
    /// Rows of cells; the first row is the header.
    Table(Vec<Vec<String>>),
}

/// Collapse runs of whitespace (including newlines inside a cell or paragraph) to one space.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Markdown the chunker understands: `#` headings, `- ` items, pipe tables.
pub fn to_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let text = squash(text);
                if !text.is_empty() {
                    out.push_str(&"#".repeat((*level).clamp(1, 6)));
                    out.push(' ');
                    out.push_str(&text);
                    out.push_str("\n\n");
                }
            }
            Block::Paragraph(text) => {
                let text = text.trim();
                if !text.is_empty() {
                    out.push_str(text);
                    out.push_str("\n\n");
                }
            }
            Block::Item(text) => {
                let text = squash(text);
                if !text.is_empty() {
                    out.push_str("- ");
                    out.push_str(&text);
                    out.push_str("\n\n");
                }
            }
            Block::Table(rows) => table(&mut out, rows),
        }
    }
    out
}

fn table(out: &mut String, rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| squash(c).replace('|', "/")).collect())
        .filter(|r: &Vec<String>| r.iter().any(|c| !c.is_empty()))
        .collect();
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return;
    }
    // A one-column "table" is a layout box, not data: its cells are paragraphs.
    if width == 1 {
        for r in &rows {
            out.push_str(&r[0]);
            out.push_str("\n\n");
        }
        return;
    }
    for (i, r) in rows.iter().enumerate() {
        let mut cells = r.clone();
        cells.resize(width, String::new());
        out.push_str("| ");
        out.push_str(&cells.join(" | "));
        out.push_str(" |\n");
        if i == 0 {
            out.push('|');
            out.push_str(&" --- |".repeat(width));
            out.push('\n');
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_markdown() {
        let md = to_markdown(&[
            Block::Heading(1, "Leave  policy".into()),
            Block::Paragraph("Staff get leave.".into()),
            Block::Item("Annual\nleave".into()),
            Block::Table(vec![
                vec!["Type".into(), "Days".into()],
                vec!["Sick | paid".into(), "10".into()],
            ]),
        ]);
        assert_eq!(
            md,
            "# Leave policy\n\nStaff get leave.\n\n- Annual leave\n\n| Type | Days |\n| --- | --- |\n| Sick / paid | 10 |\n\n"
        );
    }
}
