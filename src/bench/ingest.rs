//! `regula bench ingest`: the real ingest path (extract → chunk → embed → index → activate) on
//! real files, at several fractions of the corpus, each into a fresh data dir: pages/s and
//! chunks/s, and where the time goes, so a company can see how ingest cost grows with its corpus.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::app::{App, Parts};
use crate::config::Settings;
use crate::ingest::{IngestError, Ingestor};

#[derive(Debug, Serialize)]
pub struct IngestRow {
    pub fraction: f64,
    pub files: usize,
    pub pages: usize,
    pub chunks: usize,
    pub seconds: f64,
    pub pages_per_s: f64,
    pub chunks_per_s: f64,
    /// Seconds summed over files, per stage.
    pub extract_s: f64,
    pub chunk_s: f64,
    pub embed_s: f64,
    pub index_s: f64,
    /// The ANN index build after the batch.
    pub optimize_s: f64,
}

/// Ingest the first `fraction` of the files (in their sorted order) for each fraction.
pub async fn run(
    settings: &Settings,
    paths: &[PathBuf],
    fractions: &[f64],
) -> anyhow::Result<Vec<IngestRow>> {
    let files = Ingestor::collect_files(paths)?;
    anyhow::ensure!(!files.is_empty(), "no files under {paths:?}");
    let mut rows = Vec::new();
    for &fraction in fractions {
        let take = ((files.len() as f64 * fraction).ceil() as usize).clamp(1, files.len());
        let dir = super::scratch_dir()?;
        let mut s = settings.clone();
        s.data_dir = dir.clone();
        s.database.url = None;
        s.index.qdrant_url = None;
        s.ingest.originals_dir = None;
        let app = App::build(s, Parts::Retrieval).await?;
        let mut row = IngestRow {
            fraction,
            files: 0,
            pages: 0,
            chunks: 0,
            seconds: 0.0,
            pages_per_s: 0.0,
            chunks_per_s: 0.0,
            extract_s: 0.0,
            chunk_s: 0.0,
            embed_s: 0.0,
            index_s: 0.0,
            optimize_s: 0.0,
        };
        let started = Instant::now();
        for (path, source) in &files[..take] {
            let bytes = std::fs::read(path)?;
            match app
                .ingestor
                .ingest_bytes(source, bytes, vec!["everyone".into()], None)
                .await
            {
                Ok(r) => {
                    row.files += 1;
                    row.pages += r.pages;
                    row.chunks += r.chunks;
                    row.extract_s += r.timings_ms.extract as f64 / 1000.0;
                    row.chunk_s += r.timings_ms.chunk as f64 / 1000.0;
                    row.embed_s += r.timings_ms.embed as f64 / 1000.0;
                    row.index_s += r.timings_ms.index as f64 / 1000.0;
                }
                // Redirect stubs and the like: nothing to index, not a failure of the bench.
                Err(IngestError::Empty) => {}
                Err(e) => anyhow::bail!("{source}: {e}"),
            }
        }
        let t = Instant::now();
        let index = app.index.clone();
        tokio::task::spawn_blocking(move || {
            index.optimize()?;
            index.flush()
        })
        .await??;
        row.optimize_s = t.elapsed().as_secs_f64();
        row.seconds = started.elapsed().as_secs_f64();
        row.pages_per_s = row.pages as f64 / row.seconds;
        row.chunks_per_s = row.chunks as f64 / row.seconds;
        drop(app);
        let _ = std::fs::remove_dir_all(&dir);
        rows.push(row);
    }
    Ok(rows)
}

pub fn print(rows: &[IngestRow]) {
    println!("| share of corpus | files | pages | chunks | seconds | pages/s | chunks/s | extract s | chunk s | embed s | index s | ANN build s |");
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in rows {
        println!(
            "| {:.0}% | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} |",
            r.fraction * 100.0,
            r.files,
            r.pages,
            r.chunks,
            r.seconds,
            r.pages_per_s,
            r.chunks_per_s,
            r.extract_s,
            r.chunk_s,
            r.embed_s,
            r.index_s,
            r.optimize_s
        );
    }
}
