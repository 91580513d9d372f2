//! Readers for each document format. Each turns bytes into text the chunker understands:
//! PDF pages, or Markdown for the structured formats.

pub mod blocks;
pub mod docx;
mod flow;
pub mod html;
pub mod hwpx;
pub mod pdf;
pub mod text;
mod xml;
pub mod zipped;
