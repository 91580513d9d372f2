//! A reranking stage: a cross-encoder reads the question and each candidate passage together and
//! scores their relevance, which orders candidates better than comparing separate vectors. Off
//! unless a cross-encoder ONNX model is configured (`rerank.model`); none ships with Regula.

use std::path::Path;
use std::sync::Mutex;

use fastembed::{RerankInitOptionsUserDefined, TextRerank, UserDefinedRerankingModel};

use super::fastembed_impl::{ort_environment, read_file, read_tokenizer_files};
use super::EmbedError;

pub trait Reranker: Send + Sync {
    fn name(&self) -> &str;
    /// One relevance score per passage, in the passages' order (higher is more relevant).
    /// Blocking: call from a blocking thread.
    fn scores(&self, query: &str, passages: &[String]) -> Result<Vec<f32>, EmbedError>;
}

/// A cross-encoder (e.g. bge-reranker, ms-marco-MiniLM) through fastembed and ONNX Runtime.
pub struct CrossEncoder {
    name: String,
    model: Mutex<TextRerank>,
}

impl CrossEncoder {
    /// `dir` holds `model.onnx` and the tokenizer files, as an embedding model's folder does.
    pub fn load(dir: &Path, ort_lib: &Path, max_length: usize) -> Result<Self, EmbedError> {
        let onnx = read_file(dir, "model.onnx")?;
        let tokenizer = read_tokenizer_files(dir)?;
        let options = RerankInitOptionsUserDefined::default()
            .with_environment(ort_environment(ort_lib)?)
            .with_max_length(max_length);
        let model = TextRerank::try_new_from_user_defined(
            UserDefinedRerankingModel::new(onnx, tokenizer),
            options,
        )
        .map_err(|e| EmbedError::Failed(format!("reranker: {e}")))?;
        Ok(Self {
            name: dir
                .file_name()
                .map_or_else(|| "reranker".into(), |n| n.to_string_lossy().to_string()),
            model: Mutex::new(model),
        })
    }
}

impl Reranker for CrossEncoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn scores(&self, query: &str, passages: &[String]) -> Result<Vec<f32>, EmbedError> {
        let mut model = self
            .model
            .lock()
            .map_err(|_| EmbedError::Failed("reranker lock poisoned".into()))?;
        let docs: Vec<&str> = passages.iter().map(String::as_str).collect();
        let results = model
            .rerank(query, docs, false, None)
            .map_err(|e| EmbedError::Failed(format!("reranker: {e}")))?;
        let mut scores = vec![f32::MIN; passages.len()];
        for r in results {
            if let Some(s) = scores.get_mut(r.index) {
                *s = r.score;
            }
        }
        Ok(scores)
    }
}

/// Order `items` by `scores`, best first (stable for equal scores).
pub fn order_by<T>(items: Vec<T>, scores: &[f32]) -> Vec<T> {
    let mut paired: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    paired.sort_by(|(a, _), (b, _)| {
        let (sa, sb) = (
            scores.get(*a).copied().unwrap_or(f32::MIN),
            scores.get(*b).copied().unwrap_or(f32::MIN),
        );
        sb.total_cmp(&sa)
    });
    paired.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_ordered_by_score() {
        assert_eq!(
            order_by(vec!["a", "b", "c"], &[0.1, 0.9, 0.5]),
            vec!["b", "c", "a"]
        );
        assert_eq!(order_by(vec!["a", "b"], &[0.5, 0.5]), vec!["a", "b"]);
    }

    #[test]
    fn a_missing_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        match CrossEncoder::load(dir.path(), Path::new("/nonexistent/libonnxruntime.so"), 512) {
            Err(EmbedError::MissingFile { path }) => assert!(path.ends_with("model.onnx")),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("loaded a model from an empty folder"),
        }
    }
}
