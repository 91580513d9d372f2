//! `regula eval qa` (answer quality on a JSON-lines question set) and `regula eval beir`
//! (retrieval quality on a BEIR-format folder).

pub mod collections;
pub mod feedback;
pub mod fit;
pub mod metrics;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::SearchMode;
use crate::ingest::{IngestError, Ingestor};
use crate::rag::decision::Features;
use crate::rag::prompt::Lang;
use crate::rag::{AnswerMode, AskRequest, Rag, RagError};
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
    /// Set on lines `regula eval feedback` could not settle; such a line must be edited first.
    #[serde(default)]
    pub review: Option<String>,
}

pub fn read_qa(path: &Path) -> Result<Vec<QaCase>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    let mut cases = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(path, format!("line {}: {e}", i + 1)))?;
        if let Some(why) = value.get("review").and_then(|r| r.as_str()) {
            return Err(bad(
                path,
                format!(
                    "line {}: still marked for review ({why}); edit it and remove `review`",
                    i + 1
                ),
            ));
        }
        let case: QaCase =
            serde_json::from_value(value).map_err(|e| bad(path, format!("line {}: {e}", i + 1)))?;
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
    /// The document collection (one deployment) the question was asked of.
    pub collection: String,
    /// What the decision looked at (for fitting it: `regula eval fit`).
    pub features: Features,
    /// How the answer was made (`None` when only retrieval was run).
    pub mode: Option<AnswerMode>,
}

impl CaseResult {
    /// The label the decision is fitted to: the passages given to the answer hold it.
    pub fn should_answer(&self, context_passages: usize) -> bool {
        self.answerable && self.hit_rank.is_some_and(|r| r <= context_passages)
    }
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
    pub cases: Vec<CaseResult>,
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

/// Ask every question of one collection: retrieval, the decision's features and, when `answer`
/// is set, the full answer pipeline (without it, only whether the decision would answer).
pub async fn run_qa(
    rag: &Rag,
    cases: &[QaCase],
    collection: &str,
    answer: bool,
) -> Result<Vec<CaseResult>, EvalError> {
    let mut results = Vec::new();
    for case in cases {
        let started = std::time::Instant::now();
        let (hits, features) = rag
            .retrieve_assessed(&case.question, rag.retrieval.top_k.max(5))
            .await?;
        let hit_rank = case.expected.as_ref().and_then(|e| {
            hits.iter()
                .take(5)
                .position(|h| matches(e, &h.payload.source, &h.payload.section))
                .map(|i| i + 1)
        });
        let (abstained, cited_expected, facts_found, latency_ms, mode) = if answer {
            let a = rag
                .ask(
                    AskRequest {
                        question: case.question.clone(),
                        groups: None,
                        history: vec![],
                    },
                    None,
                )
                .await?;
            let cited = case.expected.as_ref().is_some_and(|e| {
                !a.abstained
                    && a.citations
                        .iter()
                        .any(|c| matches(e, &c.source, &c.section))
            });
            let lower = a.answer.to_lowercase();
            let found = case
                .facts
                .iter()
                .filter(|f| lower.contains(&f.to_lowercase()))
                .count();
            (a.abstained, cited, found, a.timings_ms.total, Some(a.mode))
        } else {
            let answers = rag.decides(Lang::of(&case.question), &hits, &features);
            let cited = answers && hit_rank.is_some_and(|r| r <= rag.retrieval.context_passages);
            let ms = started.elapsed().as_millis() as u64;
            (!answers, cited, 0, ms, None)
        };
        results.push(CaseResult {
            id: case.id.clone(),
            answerable: case.answerable,
            abstained,
            hit_rank,
            cited_expected,
            facts_found,
            facts_total: case.facts.len(),
            latency_ms,
            korean: crate::lexical::is_korean(&case.question),
            collection: collection.to_string(),
            features,
            mode,
        });
    }
    Ok(results)
}

impl QaReport {
    /// The questions answered wrongly: refused or cited elsewhere when answerable, answered
    /// when not.
    pub fn missed(&self) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| {
                if c.answerable {
                    c.abstained || !c.cited_expected
                } else {
                    !c.abstained
                }
            })
            .map(|c| c.id.as_str())
            .collect()
    }
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
            collection: "c".into(),
            features: Features::default(),
            mode: None,
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
