//! Test doubles for the fast tier: a small deterministic embedder and generator behind the same
//! traits as the real models, chosen only by the tests' own constructor (`start_app` when
//! `REGULA_TEST_MODELS=doubles`), never by production configuration. They make HTTP, rights and
//! ingest-queue tests start in seconds; what the real models do stays covered by the default
//! (real-model) tier, which CI runs.

use std::collections::HashSet;

use regula::embed::{EmbedError, Embedder};
use regula::llm::{ChatMessage, GenEvent, GenOptions, GenStats, GenStream, Generator, LlmError};

const DIM: usize = 256;

/// The cosine from which the decision answers with this embedder: a question sharing a content
/// word with a passage reaches it; one sharing none does not.
pub const GATE_MIN_DENSE: f32 = 0.12;

/// A decision model for this embedder (`retrieval.decision_model`): English answers from
/// `GATE_MIN_DENSE` on; Korean (which the double reads no better than the real English-only
/// model) from more than half the question's concepts met, as the built-in model's floor.
pub fn decision_model() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "regula-doubles-decision-{}.json",
        std::process::id()
    ));
    // Answer from `from` on: probability 1/2 exactly there, steep on either side.
    let threshold_on = |feature: &str, from: f32| {
        serde_json::json!({
            "features": [feature], "mean": [0.0], "scale": [1.0],
            "weights": [40.0], "bias": -40.0 * from, "threshold": 0.5
        })
    };
    let model = serde_json::json!({
        "en": threshold_on("dense", GATE_MIN_DENSE),
        "ko": threshold_on("concept_coverage", 0.51),
    });
    std::fs::write(&path, model.to_string()).expect("the doubles' decision model is written");
    path
}

/// Words too common to tell texts apart (the doubles ignore them, as the real models learn to).
const STOP: &[&str] = &[
    "what", "when", "where", "which", "who", "whom", "whose", "does", "have", "there", "about",
    "with", "that", "this", "from", "your", "they", "their", "will", "would", "could", "should",
    "into", "than", "then", "them", "been", "were",
];

fn content_word(w: &str) -> bool {
    w.chars().count() > 3 && !STOP.contains(&w)
}

/// Feature hashing of lowercase words and character trigrams into 256 dimensions, normalised:
/// texts sharing words land near each other, and the same text always on the same vector.
pub struct HashingEmbedder;

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl HashingEmbedder {
    fn embed(text: &str) -> Vec<f32> {
        let mut v = vec![0f32; DIM];
        let lower = text.to_lowercase();
        // Short words (articles, pronouns) would pull every text together.
        for word in lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| content_word(w))
        {
            let h = fnv(word.as_bytes());
            v[(h % DIM as u64) as usize] += if h & 1 == 0 { 1.0 } else { -1.0 };
            let chars: Vec<char> = word.chars().collect();
            for gram in chars.windows(3) {
                let h = fnv(gram.iter().collect::<String>().as_bytes());
                v[(h % DIM as u64) as usize] += if h & 1 == 0 { 0.3 } else { -0.3 };
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.into_iter().map(|x| x / norm).collect()
    }
}

impl Embedder for HashingEmbedder {
    fn model_id(&self) -> &str {
        "test-hashing-256"
    }
    fn dimension(&self) -> usize {
        DIM
    }
    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| Self::embed(t)).collect())
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(Self::embed(text))
    }
}

/// Answers with the sentence of the numbered passages that shares the most words with the
/// question, cited (`… [n]`), streamed word by word; "The documents do not cover this." when no
/// sentence shares a word. It reads the prompt the real pipeline builds, so passages, citations
/// and verification all run for real.
pub struct QuotingGenerator;

fn words(text: &str) -> HashSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| content_word(w))
        .map(str::to_string)
        .collect()
}

/// `(n, text)` of each passage in the user message (`[n] title …` then a `"""` fence).
fn passages(prompt: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = prompt.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(n) = line
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .and_then(|(n, _)| n.parse::<usize>().ok())
        else {
            continue;
        };
        if lines.peek().map(|l| l.trim()) != Some("\"\"\"") {
            continue;
        }
        lines.next();
        let mut text = String::new();
        for l in lines.by_ref() {
            if l.trim() == "\"\"\"" {
                break;
            }
            text.push_str(l);
            text.push('\n');
        }
        out.push((n, text));
    }
    out
}

pub fn answer(messages: &[ChatMessage]) -> String {
    let prompt = messages.last().map_or("", |m| m.content.as_str());
    let question = prompt
        .lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("Question: ")
                .or_else(|| l.strip_prefix("질문: "))
        })
        .unwrap_or("");
    let asked = words(question);
    let mut best: Option<(usize, usize, String)> = None;
    for (n, text) in passages(prompt) {
        for sentence in text.split_inclusive(['.', '\n']) {
            let sentence = sentence.trim();
            let shared = words(sentence).intersection(&asked).count();
            if shared > 0 && best.as_ref().is_none_or(|b| shared > b.0) {
                best = Some((shared, n, sentence.trim_end_matches('.').to_string()));
            }
        }
    }
    match best {
        Some((_, n, sentence)) => format!("{sentence} [{n}]."),
        None => "The documents do not cover this.".to_string(),
    }
}

impl Generator for QuotingGenerator {
    fn name(&self) -> &str {
        "test-quoting"
    }

    fn generate(
        &self,
        messages: Vec<ChatMessage>,
        options: GenOptions,
    ) -> Result<GenStream, LlmError> {
        let text = answer(&messages);
        let pieces: Vec<String> = text
            .split_inclusive(' ')
            .take(options.max_tokens.max(1) as usize)
            .map(str::to_string)
            .collect();
        let (tx, rx) = tokio::sync::mpsc::channel(pieces.len() + 1);
        let generated_tokens = pieces.len();
        for piece in pieces {
            let _ = tx.try_send(GenEvent::Token(piece));
        }
        let _ = tx.try_send(GenEvent::Done(GenStats {
            prompt_tokens: 0,
            generated_tokens,
            stop: "eos".into(),
        }));
        Ok(rx)
    }

    fn load(&self) -> usize {
        0
    }
}
