//! Text embeddings: the `Embedder` trait and its fastembed (ONNX Runtime) implementation.

mod fastembed_impl;
pub mod rerank;

pub use fastembed_impl::FastEmbedder;
pub use rerank::{CrossEncoder, Reranker};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model file missing: {path} (run `scripts/fetch-models.sh` to fetch it)")]
    MissingFile { path: String },
    #[error("cannot load ONNX Runtime from {path}: {reason} (run `scripts/fetch-models.sh`)")]
    Runtime { path: String, reason: String },
    #[error("embedding failed: {0}")]
    Failed(String),
}

/// Dense sentence embeddings, L2-normalised.
pub trait Embedder: Send + Sync {
    /// A stable name of the model, recorded in the index so two models' vectors never mix.
    fn model_id(&self) -> &str;
    fn dimension(&self) -> usize;
    /// Embed passages (documents). Blocking: call from a blocking thread.
    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Embed one query. Blocking.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError>;
}
