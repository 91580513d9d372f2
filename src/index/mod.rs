//! The vector index: dense + sparse vectors per chunk, hybrid search filtered by groups inside the
//! query. `EdgeIndex` is the embedded default (qdrant-edge in the data dir); `RemoteIndex` is a
//! Qdrant server or cluster shared by several replicas.

mod edge;
mod remote;

pub use edge::EdgeIndex;
pub use remote::RemoteIndex;

use serde::{Deserialize, Serialize};

use crate::lexical::Sparse;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("vector index: {0}")]
    Engine(String),
    #[error("the index at {path} was built with embedding model `{found}`, the configuration uses `{configured}`; re-index with the configured model or restore the old one")]
    ModelMismatch {
        path: String,
        found: String,
        configured: String,
    },
}

/// What is stored with each chunk's vectors (and returned by search).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChunkPayload {
    pub chunk_id: String,
    pub document_id: String,
    pub version_id: String,
    pub groups: Vec<String>,
    pub title: String,
    pub source: String,
    pub section: String,
    pub page: Option<u32>,
    pub ordinal: usize,
    pub text: String,
    /// Full names the text refers to by a short form its document defined (협의회 for
    /// 노사협의회): matched as if the text named them (`ingest::defined_terms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_names: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ChunkPoint {
    pub payload: ChunkPayload,
    pub dense: Vec<f32>,
    pub sparse: Sparse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    #[default]
    Hybrid,
    Dense,
    Sparse,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub dense: Vec<f32>,
    pub sparse: Sparse,
    /// Only chunks readable by one of these groups; `None` means no restriction (admin, CLI).
    pub groups: Option<Vec<String>>,
    pub mode: SearchMode,
    pub limit: usize,
    pub prefetch: usize,
    pub rrf_k: usize,
    pub dense_weight: f32,
    pub sparse_weight: f32,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub payload: ChunkPayload,
    /// The fused (or single-mode) rank score.
    pub score: f32,
    /// Cosine similarity between the query and this chunk (dense vectors are normalised).
    pub dense_similarity: f32,
}

pub trait VectorIndex: Send + Sync {
    /// Add points; they stay invisible to search until their version is activated.
    fn upsert(&self, points: Vec<ChunkPoint>) -> Result<(), IndexError>;
    /// Make `version_id` visible and remove every other visible version of `document_id`, in
    /// one step for searches. Versions not yet activated are left alone.
    fn activate(&self, document_id: &str, version_id: &str) -> Result<(), IndexError>;
    /// Change the groups that may read a version's points.
    fn set_groups(&self, version_id: &str, groups: &[String]) -> Result<(), IndexError>;
    fn delete_version(&self, version_id: &str) -> Result<(), IndexError>;
    fn delete_document(&self, document_id: &str) -> Result<(), IndexError>;
    /// Remove points of versions never activated (an ingest interrupted by a crash).
    fn purge_inactive(&self) -> Result<(), IndexError>;
    fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>, IndexError>;
    /// Points currently stored (active or not).
    fn count(&self) -> Result<usize, IndexError>;
    /// Build the ANN index over what was added (expensive; call after an ingest batch).
    fn optimize(&self) -> Result<(), IndexError>;
    /// Points added since the last `optimize` (searched by brute force until then).
    fn unoptimized(&self) -> usize;
    fn flush(&self) -> Result<(), IndexError>;
}

/// Candidates asked of the engine beyond the limit, so that a tie at the cut is settled by
/// `settle_ties` and not by the engine.
pub const TIE_ROOM: usize = 4;

/// Best first, and `limit` at most. Rank fusion gives equal scores to passages whose ranks mirror
/// each other (first by cosine and second by terms, and the reverse), and the engine orders such
/// ties by a hash that changes from call to call; ordering them by cosine (then chunk id) gives a
/// question the same passages every time.
pub fn settle_ties(mut hits: Vec<Hit>, limit: usize) -> Vec<Hit> {
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.dense_similarity.total_cmp(&a.dense_similarity))
            .then_with(|| a.payload.chunk_id.cmp(&b.payload.chunk_id))
    });
    hits.truncate(limit);
    hits
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
