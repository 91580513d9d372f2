//! The document flow shared by the zip+XML word-processor formats (DOCX, HWPX): paragraphs that
//! may sit inside table cells, tables that may nest. Readers translate their XML events into
//! these calls; the result is a list of blocks.

use super::blocks::Block;

/// A heading longer than this is a styled paragraph, not a heading.
const MAX_HEADING_CHARS: usize = 120;

#[derive(Default)]
pub struct Para {
    pub text: String,
    /// Heading level from the paragraph's style or outline level.
    pub level: Option<usize>,
    pub numbered: bool,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: String,
}

#[derive(Default)]
pub struct Flow {
    paras: Vec<Para>,
    tables: Vec<Table>,
    pub blocks: Vec<Block>,
}

impl Flow {
    pub fn open_para(&mut self) {
        self.paras.push(Para::default());
    }

    pub fn para(&mut self) -> Option<&mut Para> {
        self.paras.last_mut()
    }

    pub fn text(&mut self, s: &str) {
        if let Some(p) = self.paras.last_mut() {
            p.text.push_str(s);
        }
    }

    pub fn close_para(&mut self) {
        let Some(p) = self.paras.pop() else { return };
        let text = p.text.trim().to_string();
        if text.is_empty() {
            return;
        }
        if let Some(t) = self.tables.last_mut() {
            if !t.cell.is_empty() {
                t.cell.push(' ');
            }
            t.cell.push_str(&text);
            return;
        }
        let heading = p
            .level
            .filter(|_| text.chars().count() <= MAX_HEADING_CHARS && !text.contains('\n'));
        self.blocks.push(match heading {
            Some(l) => Block::Heading(l.clamp(1, 6), text),
            None if p.numbered => Block::Item(text),
            None => Block::Paragraph(text),
        });
    }

    pub fn open_table(&mut self) {
        // Text written before the table in the paragraph that holds it comes first.
        if self.tables.is_empty() {
            if let Some(p) = self.paras.last_mut() {
                let text = std::mem::take(&mut p.text);
                if !text.trim().is_empty() {
                    self.blocks.push(Block::Paragraph(text.trim().to_string()));
                }
            }
        }
        self.tables.push(Table::default());
    }

    pub fn open_row(&mut self) {
        if let Some(t) = self.tables.last_mut() {
            t.row.clear();
        }
    }

    pub fn close_cell(&mut self) {
        if let Some(t) = self.tables.last_mut() {
            let cell = std::mem::take(&mut t.cell);
            t.row.push(cell.trim().to_string());
        }
    }

    pub fn close_row(&mut self) {
        if let Some(t) = self.tables.last_mut() {
            let row = std::mem::take(&mut t.row);
            t.rows.push(row);
        }
    }

    pub fn close_table(&mut self) {
        let Some(t) = self.tables.pop() else { return };
        match self.tables.last_mut() {
            // A table inside a cell: its text joins the outer cell.
            Some(outer) => {
                for r in t.rows {
                    outer.cell.push_str(&r.join(" "));
                    outer.cell.push(' ');
                }
            }
            None => self.blocks.push(Block::Table(t.rows)),
        }
    }

    /// Table elements both word-processor formats name alike (`tbl`, `tr` under any namespace
    /// prefix); anything else is the caller's.
    pub fn start_element(&mut self, local: &[u8], empty: bool) {
        match local {
            b"tbl" if !empty => self.open_table(),
            b"tr" => self.open_row(),
            _ => {}
        }
    }

    /// End of a paragraph (`p`), cell (`tc`), row (`tr`) or table (`tbl`), in either format.
    pub fn end_element(&mut self, local: &[u8]) {
        match local {
            b"p" => self.close_para(),
            b"tc" => self.close_cell(),
            b"tr" => self.close_row(),
            b"tbl" => self.close_table(),
            _ => {}
        }
    }

    /// Close anything a truncated file left open.
    pub fn finish(mut self) -> Vec<Block> {
        while !self.paras.is_empty() {
            self.close_para();
        }
        while !self.tables.is_empty() {
            self.close_table();
        }
        self.blocks
    }

    pub fn first_heading(blocks: &[Block]) -> Option<String> {
        blocks.iter().find_map(|b| match b {
            Block::Heading(1, t) => Some(t.clone()),
            _ => None,
        })
    }
}
