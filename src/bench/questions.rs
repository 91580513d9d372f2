//! `regula bench questions`: what reading a question costs, with the Korean tagger vs the same
//! analyzer without it (the baseline), on real question files, in one process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::Latencies;

use crate::eval::read_qa;
use crate::lexical::Analyzer;
use crate::morphology::KoreanTagger;

#[derive(Debug, Serialize)]
pub struct Row {
    pub reader: &'static str,
    pub questions: usize,
    pub runs: usize,
    pub questions_per_s: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    /// Concepts per question (what the decision's coverage is a share of).
    pub concepts_per_question: f64,
}

/// The questions of these QA files (the format `eval qa` reads).
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for path in paths {
        out.extend(read_qa(path)?.into_iter().map(|case| case.question));
    }
    anyhow::ensure!(!out.is_empty(), "no questions in {paths:?}");
    Ok(out)
}

/// Both readers over the same questions, `runs` times each, alternating so neither gets a
/// warmer machine.
pub fn run(questions: &[String], tagger: Arc<KoreanTagger>, runs: usize) -> Vec<Row> {
    let readers = [
        ("without MeCab (baseline)", Analyzer::default()),
        ("with MeCab", Analyzer::default().with_korean(Some(tagger))),
    ];
    let mut latencies = vec![Latencies::default(); readers.len()];
    let mut concepts = vec![0usize; readers.len()];
    for _ in 0..runs.max(1) {
        for (i, (_, analyzer)) in readers.iter().enumerate() {
            for q in questions {
                let start = Instant::now();
                let n = analyzer.concepts(q).len();
                latencies[i].record(start);
                concepts[i] += n;
            }
        }
    }
    readers
        .iter()
        .enumerate()
        .map(|(i, (name, _))| Row {
            reader: name,
            questions: questions.len(),
            runs: runs.max(1),
            questions_per_s: latencies[i].per_second(),
            p50_us: latencies[i].percentile_us(50.0),
            p95_us: latencies[i].percentile_us(95.0),
            p99_us: latencies[i].percentile_us(99.0),
            concepts_per_question: concepts[i] as f64 / latencies[i].calls() as f64,
        })
        .collect()
}

pub fn print(rows: &[Row]) {
    println!(
        "| reader | questions × runs | questions/s | p50 | p95 | p99 | concepts per question |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} × {} | {:.0} | {:.0} µs | {:.0} µs | {:.0} µs | {:.2} |",
            r.reader,
            r.questions,
            r.runs,
            r.questions_per_s,
            r.p50_us,
            r.p95_us,
            r.p99_us,
            r.concepts_per_question
        );
    }
}
