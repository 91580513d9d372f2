//! `regula bench answer`: what answering costs with sentences chosen by closeness in meaning as
//! well as by the question's words, vs the same pipeline choosing by words only (the baseline),
//! on the same index and questions, in one process. Generation is off in both: this is the
//! answer stage (retrieve, decide, choose and quote sentences), not the model.

use std::time::Instant;

use serde::Serialize;

use super::Latencies;
use crate::rag::{AskRequest, Rag};

#[derive(Debug, Serialize)]
pub struct Row {
    pub answerer: String,
    pub questions: usize,
    pub runs: usize,
    pub questions_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Questions answered (not refused) in the last run.
    pub answered: usize,
}

/// Each answerer over the same questions, `runs` times, alternating so neither gets a warmer
/// machine; one question at a time.
pub async fn run(
    answerers: &[(&str, &Rag)],
    questions: &[String],
    runs: usize,
) -> anyhow::Result<Vec<Row>> {
    let mut latencies = vec![Latencies::default(); answerers.len()];
    let mut answered = vec![0usize; answerers.len()];
    for _ in 0..runs.max(1) {
        for (i, (_, rag)) in answerers.iter().enumerate() {
            answered[i] = 0;
            for q in questions {
                let start = Instant::now();
                let a = rag
                    .ask(
                        AskRequest {
                            question: q.clone(),
                            groups: None,
                            history: vec![],
                        },
                        None,
                    )
                    .await?;
                latencies[i].record(start);
                answered[i] += usize::from(!a.abstained);
            }
        }
    }
    Ok(answerers
        .iter()
        .enumerate()
        .map(|(i, (name, _))| Row {
            answerer: name.to_string(),
            questions: questions.len(),
            runs: runs.max(1),
            questions_per_s: latencies[i].per_second(),
            p50_ms: latencies[i].percentile_ms(50.0),
            p95_ms: latencies[i].percentile_ms(95.0),
            p99_ms: latencies[i].percentile_ms(99.0),
            answered: answered[i],
        })
        .collect())
}

pub fn print(rows: &[Row]) {
    println!(
        "| sentences chosen by | questions × runs | questions/s | p50 | p95 | p99 | answered |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} × {} | {:.1} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            r.answerer,
            r.questions,
            r.runs,
            r.questions_per_s,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.answered
        );
    }
}
