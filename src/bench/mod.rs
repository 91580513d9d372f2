//! `regula bench`: performance measured against a baseline in the same process, printed as a
//! table. Never a timed assertion in a test.

pub mod answer;
pub mod embed;
pub mod generate;
pub mod ingest;
pub mod questions;
pub mod search;

pub use crate::eval::metrics::percentile;

use std::path::Path;

use crate::index::{ChunkPayload, Hit};
use crate::ingest::{chunk, extract};
use crate::llm::ChatMessage;
use crate::rag::prompt::{Lang, Prompts};

/// How long each call of one contender took: its rate over the time it was busy, and its
/// percentiles (what `bench answer` and `bench questions` report for each of their contenders).
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    secs: Vec<f64>,
}

impl Latencies {
    pub fn record(&mut self, started: std::time::Instant) {
        self.secs.push(started.elapsed().as_secs_f64());
    }

    pub fn calls(&self) -> usize {
        self.secs.len()
    }

    /// Calls per second of busy time.
    pub fn per_second(&self) -> f64 {
        self.secs.len() as f64 / self.secs.iter().sum::<f64>().max(f64::EPSILON)
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.secs, p) * 1e3
    }

    pub fn percentile_us(&self, p: f64) -> f64 {
        percentile(&self.secs, p) * 1e6
    }
}

/// A fresh folder under the system temp dir for one benchmark's data (the caller removes it).
pub(crate) fn scratch_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("regula-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A realistic grounded prompt: the answer template with the first passages of a real document.
pub fn rag_messages(
    prompts: &Prompts,
    document: &Path,
    passages: usize,
) -> anyhow::Result<Vec<ChatMessage>> {
    let bytes = std::fs::read(document)?;
    let name = document
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let e = extract::extract(&name, &bytes, 100)?;
    let title = e.title.clone().unwrap_or_else(|| name.clone());
    let hits: Vec<Hit> = chunk::chunk(&title, &e.pages, 220)
        .into_iter()
        .take(passages)
        .map(|c| Hit {
            payload: ChunkPayload {
                chunk_id: String::new(),
                document_id: String::new(),
                version_id: String::new(),
                groups: vec![],
                title: title.clone(),
                source: name.clone(),
                section: c.section,
                page: c.page,
                ordinal: c.ordinal,
                text: c.text,
                full_names: vec![],
            },
            score: 1.0,
            dense_similarity: 1.0,
        })
        .collect();
    Ok(prompts.answer_messages(Lang::En, "How much annual leave do I get?", &hits))
}
