//! Reading entries of a zip container (DOCX, HWPX) without trusting what it declares: the total
//! number of bytes inflated is capped, so a zip bomb fails with a clear error instead of
//! exhausting memory.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::ingest::IngestError;

/// Most a document's XML may expand to, all entries together.
const MAX_EXPANDED: u64 = 256 << 20;
const MAX_ENTRIES: usize = 10_000;

pub struct Zipped<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    budget: u64,
}

impl<'a> Zipped<'a> {
    pub fn open(bytes: &'a [u8], what: &str) -> Result<Self, IngestError> {
        let archive = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| IngestError::Malformed(format!("unreadable {what} (zip): {e}")))?;
        if archive.len() > MAX_ENTRIES {
            return Err(IngestError::Malformed(format!(
                "the {what} has {} parts; more than {MAX_ENTRIES} is not a document",
                archive.len()
            )));
        }
        Ok(Self {
            archive,
            budget: MAX_EXPANDED,
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.archive.file_names().map(str::to_string).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// The entry as UTF-8 text, `None` when absent.
    pub fn text(&mut self, name: &str) -> Result<Option<String>, IngestError> {
        let Some(index) = self.archive.index_for_name(name) else {
            return Ok(None);
        };
        let entry = self
            .archive
            .by_index(index)
            .map_err(|e| IngestError::Malformed(format!("{name}: {e}")))?;
        let mut out = Vec::new();
        // Read one byte past the budget to tell "exactly at the limit" from "over it".
        entry
            .take(self.budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| IngestError::Malformed(format!("{name}: {e}")))?;
        if out.len() as u64 > self.budget {
            return Err(IngestError::TooLarge(format!(
                "the archive expands to more than {} MB (a zip bomb?)",
                MAX_EXPANDED >> 20
            )));
        }
        self.budget -= out.len() as u64;
        String::from_utf8(out)
            .map(Some)
            .map_err(|_| IngestError::Malformed(format!("{name} is not UTF-8 XML")))
    }
}
