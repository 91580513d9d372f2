//! `regula eval qa` (answer quality on a JSON-lines question set) and `regula eval beir`
//! (retrieval quality on a BEIR-format folder).

pub mod metrics;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::SearchMode;
use crate::ingest::{IngestError, Ingestor};
use crate::rag::{AskRequest, Rag, RagError};
use metrics::{dedup_keep_order, mrr_at_k, ndcg_at_k, percentile, recall_at_k};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {reason}")]
    BadFile { path: String, reason: String },
    #[error(transparent)]
    Rag(#[from] RagError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

fn bad(path: &Path, reason: impl ToString) -> EvalError {
    EvalError::BadFile {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Expected {
    /// Substring of the expected document's source path.
    pub source: String,
    /// Optional substring of the expected section path.
    pub section: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct QaCase {
    pub id: String,
    pub question: String,
    pub answerable: bool,
    pub expected: Option<Expected>,
    #[serde(default)]
    pub facts: Vec<String>,
}

pub fn read_qa(path: &Path) -> Result<Vec<QaCase>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    let mut cases = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: QaCase =
            serde_json::from_str(line).map_err(|e| bad(path, format!("line {}: {e}", i + 1)))?;
        if case.answerable && case.expected.is_none() {
            return Err(bad(
                path,
                format!("line {}: an answerable case needs `expected`", i + 1),
            ));
        }
        cases.push(case);
    }
    Ok(cases)
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub answerable: bool,
    pub abstained: bool,
    pub hit_rank: Option<usize>,
    pub cited_expected: bool,
    pub facts_found: usize,
    pub facts_total: usize,
    pub latency_ms: u64,
    pub korean: bool,
    /// The gate's inputs for this question (for calibrating its thresholds).
    pub dense: f32,
    pub coverage: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct QaReport {
    pub questions: usize,
    pub answerable: usize,
    pub unanswerable: usize,
    pub hit_at_1: f64,
    pub hit_at_5: f64,
    pub citation_accuracy: f64,
    pub abstention_precision: f64,
    pub abstention_recall: f64,
    pub fact_recall: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    /// The gate threshold that best separates answerable from unanswerable questions on this set.
    pub calibration: Vec<Calibration>,
    pub cases: Vec<CaseResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// `retrieval.gate_min_coverage_korean` or `retrieval.gate_min_dense`.
    pub setting: &'static str,
    pub threshold: f32,
    pub abstention_precision: f64,
    pub abstention_recall: f64,
    pub f1: f64,
    pub questions: usize,
}

/// Sweep one gate input: abstain below `t`; keep the threshold with the best F1 of abstention
/// (ties: the lower threshold, which answers more).
fn calibrate(
    setting: &'static str,
    cases: &[&CaseResult],
    signal: impl Fn(&CaseResult) -> f32,
) -> Option<Calibration> {
    let unanswerable = cases.iter().filter(|c| !c.answerable).count();
    if cases.is_empty() || unanswerable == 0 || unanswerable == cases.len() {
        return None;
    }
    let mut best: Option<Calibration> = None;
    for step in 0..=40 {
        let t = step as f32 * 0.025;
        let abstained: Vec<&&CaseResult> = cases.iter().filter(|c| signal(c) < t).collect();
        let correct = abstained.iter().filter(|c| !c.answerable).count();
        let precision = ratio(correct, abstained.len());
        let recall = ratio(correct, unanswerable);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        if best.as_ref().is_none_or(|b| f1 > b.f1 + 1e-9) {
            best = Some(Calibration {
                setting,
                threshold: t,
                abstention_precision: precision,
                abstention_recall: recall,
                f1,
                questions: cases.len(),
            });
        }
    }
    best
}

fn matches(expected: &Expected, source: &str, section: &str) -> bool {
    source.contains(&expected.source)
        && expected
            .section
            .as_deref()
            .is_none_or(|s| section.contains(s))
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Ask every question (retrieval and the full answer pipeline) and score the results.
pub async fn run_qa(rag: &Rag, cases: &[QaCase]) -> Result<QaReport, EvalError> {
    let mut results = Vec::new();
    for case in cases {
        let hits = rag
            .retrieve(
                &case.question,
                None,
                rag.retrieval.top_k.max(5),
                SearchMode::Hybrid,
            )
            .await?;
        let confidence = rag.confidence(&case.question, &hits);
        let answer = rag
            .ask(
                AskRequest {
                    question: case.question.clone(),
                    groups: None,
                    history: vec![],
                },
                None,
            )
            .await?;
        let (hit_rank, cited_expected) = match &case.expected {
            Some(e) => (
                hits.iter()
                    .take(5)
                    .position(|h| matches(e, &h.payload.source, &h.payload.section))
                    .map(|i| i + 1),
                !answer.abstained
                    && answer
                        .citations
                        .iter()
                        .any(|c| matches(e, &c.source, &c.section)),
            ),
            None => (None, false),
        };
        let lower = answer.answer.to_lowercase();
        let facts_found = case
            .facts
            .iter()
            .filter(|f| lower.contains(&f.to_lowercase()))
            .count();
        results.push(CaseResult {
            id: case.id.clone(),
            answerable: case.answerable,
            abstained: answer.abstained,
            hit_rank,
            cited_expected,
            facts_found,
            facts_total: case.facts.len(),
            latency_ms: answer.timings_ms.total,
            korean: crate::lexical::is_korean(&case.question),
            dense: confidence.dense,
            coverage: confidence.coverage,
        });
    }
    Ok(score_qa(results))
}

pub fn score_qa(cases: Vec<CaseResult>) -> QaReport {
    let answerable: Vec<&CaseResult> = cases.iter().filter(|c| c.answerable).collect();
    let unanswerable = cases.len() - answerable.len();
    let abstained = cases.iter().filter(|c| c.abstained).count();
    let correct_abstentions = cases
        .iter()
        .filter(|c| c.abstained && !c.answerable)
        .count();
    let hit = |k: usize| {
        answerable
            .iter()
            .filter(|c| c.hit_rank.is_some_and(|r| r <= k))
            .count()
    };
    let latencies: Vec<f64> = cases.iter().map(|c| c.latency_ms as f64).collect();
    let korean: Vec<&CaseResult> = cases.iter().filter(|c| c.korean).collect();
    let english: Vec<&CaseResult> = cases.iter().filter(|c| !c.korean).collect();
    let calibration = [
        calibrate("retrieval.gate_min_coverage_korean", &korean, |c| {
            c.coverage
        }),
        calibrate("retrieval.gate_min_dense", &english, |c| c.dense),
    ]
    .into_iter()
    .flatten()
    .collect();
    QaReport {
        questions: cases.len(),
        answerable: answerable.len(),
        unanswerable,
        hit_at_1: ratio(hit(1), answerable.len()),
        hit_at_5: ratio(hit(5), answerable.len()),
        citation_accuracy: ratio(
            answerable.iter().filter(|c| c.cited_expected).count(),
            answerable.len(),
        ),
        abstention_precision: ratio(correct_abstentions, abstained),
        abstention_recall: ratio(correct_abstentions, unanswerable),
        fact_recall: ratio(
            answerable.iter().map(|c| c.facts_found).sum(),
            answerable.iter().map(|c| c.facts_total).sum(),
        ),
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        calibration,
        cases,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BeirModeReport {
    pub mode: SearchMode,
    pub ndcg_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub search_p50_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BeirReport {
    pub documents: usize,
    pub queries: usize,
    pub ingest_seconds: f64,
    pub modes: Vec<BeirModeReport>,
}

#[derive(Deserialize)]
struct BeirDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct BeirQuery {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

fn jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| bad(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// `qrels/test.tsv`: query-id, corpus-id, score (a header line is skipped).
fn read_qrels(path: &Path) -> Result<HashMap<String, HashMap<String, u32>>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    let mut out: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for line in text.lines().skip_while(|l| l.starts_with("query")) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let score = cols[2].trim().parse::<u32>().map_err(|e| bad(path, e))?;
        out.entry(cols[0].to_string())
            .or_default()
            .insert(cols[1].to_string(), score);
    }
    Ok(out)
}

const BEIR_PREFIX: &str = "beir/";

/// Ingest the corpus (documents already indexed with the same content are skipped), then run every
/// judged query in each retrieval mode.
pub async fn run_beir(
    rag: &Rag,
    ingestor: &Ingestor,
    dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<BeirReport, EvalError> {
    let docs: Vec<BeirDoc> = jsonl(&dir.join("corpus.jsonl"))?;
    let queries: Vec<BeirQuery> = jsonl(&dir.join("queries.jsonl"))?;
    let qrels = read_qrels(&dir.join("qrels").join("test.tsv"))?;
    let started = std::time::Instant::now();
    for (i, d) in docs.iter().enumerate() {
        let body = format!("{}\n\n{}", d.title, d.text);
        let source = format!("{BEIR_PREFIX}{}.txt", d.id);
        match ingestor
            .ingest_bytes(&source, body.into_bytes(), vec![], None)
            .await
        {
            Ok(_) | Err(IngestError::Empty) => {}
            Err(e) => return Err(e.into()),
        }
        if i % 250 == 0 {
            progress(&format!("ingested {i}/{} documents", docs.len()));
        }
    }
    let ingest_seconds = started.elapsed().as_secs_f64();
    let judged: Vec<&BeirQuery> = queries
        .iter()
        .filter(|q| qrels.contains_key(&q.id))
        .collect();
    let mut modes = Vec::new();
    for mode in [SearchMode::Dense, SearchMode::Sparse, SearchMode::Hybrid] {
        let (mut ndcg, mut recall, mut mrr, mut times) = (0.0, 0.0, 0.0, Vec::new());
        for q in &judged {
            let t = std::time::Instant::now();
            let hits = rag.retrieve(&q.text, None, 100, mode).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            let ranking = dedup_keep_order(hits.iter().map(|h| {
                h.payload
                    .source
                    .trim_start_matches(BEIR_PREFIX)
                    .trim_end_matches(".txt")
                    .to_string()
            }));
            let rel = &qrels[&q.id];
            ndcg += ndcg_at_k(&ranking, rel, 10);
            recall += recall_at_k(&ranking, rel, 100);
            mrr += mrr_at_k(&ranking, rel, 10);
        }
        let n = judged.len().max(1) as f64;
        modes.push(BeirModeReport {
            mode,
            ndcg_at_10: ndcg / n,
            recall_at_100: recall / n,
            mrr_at_10: mrr / n,
            search_p50_ms: percentile(&times, 50.0),
        });
    }
    Ok(BeirReport {
        documents: docs.len(),
        queries: judged.len(),
        ingest_seconds,
        modes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(
        answerable: bool,
        abstained: bool,
        hit: Option<usize>,
        cited: bool,
        facts: (usize, usize),
        ms: u64,
    ) -> CaseResult {
        CaseResult {
            id: "x".into(),
            answerable,
            abstained,
            hit_rank: hit,
            cited_expected: cited,
            facts_found: facts.0,
            facts_total: facts.1,
            latency_ms: ms,
            korean: false,
            dense: if answerable { 0.6 } else { 0.3 },
            coverage: 0.0,
        }
    }

    #[test]
    fn qa_scores_match_hand_computation() {
        let r = score_qa(vec![
            case(true, false, Some(1), true, (2, 2), 100),
            case(true, false, Some(3), false, (0, 1), 200),
            case(true, true, None, false, (0, 1), 300),
            case(false, true, None, false, (0, 0), 10),
            case(false, false, None, false, (0, 0), 20),
        ]);
        assert_eq!((r.answerable, r.unanswerable), (3, 2));
        assert!((r.hit_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.hit_at_5 - 2.0 / 3.0).abs() < 1e-9);
        assert!((r.citation_accuracy - 1.0 / 3.0).abs() < 1e-9);
        // Abstained on cases 3 and 4; only 4 was unanswerable.
        assert_eq!(r.abstention_precision, 0.5);
        assert_eq!(r.abstention_recall, 0.5);
        assert_eq!(r.fact_recall, 0.5);
        assert_eq!(r.latency_p50_ms, 100.0);
        assert_eq!(r.latency_p95_ms, 300.0);
        // Answerable cases have dense 0.6, unanswerable 0.3: a threshold in between separates them.
        let c = &r.calibration[0];
        assert_eq!(c.setting, "retrieval.gate_min_dense");
        assert!(c.threshold > 0.3 && c.threshold <= 0.6, "{c:?}");
        assert_eq!((c.abstention_precision, c.abstention_recall), (1.0, 1.0));
    }

    #[test]
    fn expected_matching_uses_substrings() {
        let e = Expected {
            source: "tech-policies/bug-bounty.md".into(),
            section: Some("How it works".into()),
        };
        assert!(matches(
            &e,
            "en-18f-handbook/x/tech-policies/bug-bounty.md",
            "TTS > How it works"
        ));
        assert!(!matches(
            &e,
            "en-18f-handbook/x/tech-policies/bug-bounty.md",
            "TTS"
        ));
    }

    #[test]
    fn repository_dev_sets_are_well_formed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval");
        for (file, min, min_ko) in [("en.jsonl", 40, 0), ("ko.jsonl", 25, 25)] {
            let cases = read_qa(&dir.join(file)).unwrap();
            assert!(cases.len() >= min, "{file}: {} questions", cases.len());
            let unanswerable = cases.iter().filter(|c| !c.answerable).count();
            assert!(
                unanswerable * 4 >= cases.len(),
                "{file}: a quarter unanswerable"
            );
            let korean = cases
                .iter()
                .filter(|c| crate::lexical::is_korean(&c.question))
                .count();
            assert!(korean >= min_ko, "{file}: Korean questions");
        }
    }
}
