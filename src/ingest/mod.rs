//! Ingest: extract -> normalise -> chunk -> embed -> upsert -> activate the version.

pub mod chunk;
pub mod extract;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::embed::{EmbedError, Embedder};
use crate::index::{ChunkPayload, ChunkPoint, IndexError, VectorIndex};
use crate::lexical::Analyzer;
use crate::store::{NewChunk, NewVersion, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unsupported file type `{0}` (supported: .md, .markdown, .txt, .pdf)")]
    UnsupportedType(String),
    #[error("malformed file: {0}")]
    Malformed(String),
    #[error("the file has no text")]
    Empty,
    #[error("file too large: {0}")]
    TooLarge(String),
    #[error("invalid source name: {0}")]
    BadName(String),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("internal: {0}")]
    Internal(String),
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub job_id: String,
    pub source: String,
    pub document_id: String,
    pub version_id: Option<String>,
    /// `indexed` (a new version) or `unchanged` (same content as the active version).
    pub outcome: &'static str,
    pub pages: usize,
    pub chunks: usize,
    pub timings_ms: IngestTimings,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestTimings {
    pub extract: u64,
    pub chunk: u64,
    pub embed: u64,
    pub index: u64,
}

/// Progress callback: (chunks embedded so far, total chunks).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

#[derive(Clone)]
pub struct Ingestor {
    pub store: Store,
    pub index: Arc<dyn VectorIndex>,
    pub embedder: Arc<dyn Embedder>,
    pub originals_dir: PathBuf,
    pub max_tokens: usize,
    pub max_file_bytes: u64,
    pub max_pages: usize,
}

/// Typical chunk length in lexical terms, for BM25's length normalisation. Korean text yields about
/// three terms per word (the word and its syllable bigrams), so it is normalised against its own
/// typical length rather than English's.
fn typical_terms(text: &str) -> f32 {
    120.0 + 230.0 * crate::lexical::hangul_ratio(text)
}

/// The sparse side's text: the heading of the chunk's own section counts extra (a passage under
/// "Sick leave" or "제60조 (연차 유급휴가)" is about that, whatever words its body uses).
fn sparse_text(section: &str, text: &str) -> String {
    let heading = section.rsplit(" > ").next().unwrap_or(section);
    format!("{section}\n{heading}\n{heading}\n{text}")
}
const EMBED_BATCH: usize = 64;

/// A source name as shown to users and used as the document's identity: relative, `/`-separated,
/// without `..` or absolute parts. Never used as a filesystem path.
pub fn normalise_source(name: &str) -> Result<String, IngestError> {
    let parts: Vec<&str> = name
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") || name.contains('\0') {
        return Err(IngestError::BadName(name.to_string()));
    }
    Ok(parts.join("/"))
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Ingestor {
    /// Ingest one file's bytes under `source`, readable by `groups`.
    pub async fn ingest_bytes(
        &self,
        source: &str,
        bytes: Vec<u8>,
        groups: Vec<String>,
        progress: Option<Progress>,
    ) -> Result<IngestReport, IngestError> {
        let source = normalise_source(source)?;
        let job_id = self.store.create_job(&source).await?;
        let result = self.run(&job_id, &source, bytes, groups, progress).await;
        let outcome = match &result {
            Ok(r) => Ok(r.outcome),
            Err(e) => Err(e.to_string()),
        };
        self.store
            .finish_job(
                &job_id,
                outcome.as_ref().map(|s| *s).map_err(|e| e.as_str()),
            )
            .await?;
        result
    }

    async fn run(
        &self,
        job_id: &str,
        source: &str,
        bytes: Vec<u8>,
        groups: Vec<String>,
        progress: Option<Progress>,
    ) -> Result<IngestReport, IngestError> {
        if bytes.len() as u64 > self.max_file_bytes {
            return Err(IngestError::TooLarge(format!(
                "{} bytes, the limit is {}",
                bytes.len(),
                self.max_file_bytes
            )));
        }
        let mut timings = IngestTimings::default();
        let hash = sha256(&bytes);
        let file_name = source.rsplit('/').next().unwrap_or(source).to_string();

        let t = std::time::Instant::now();
        let max_pages = self.max_pages;
        let (extracted, bytes) = tokio::task::spawn_blocking(move || {
            let e = extract::extract(&file_name, &bytes, max_pages);
            (e, bytes)
        })
        .await
        .map_err(|e| IngestError::Internal(e.to_string()))?;
        let extracted = extracted?;
        timings.extract = t.elapsed().as_millis() as u64;

        let title = extracted
            .title
            .clone()
            .unwrap_or_else(|| default_title(source));
        let doc = self.store.ensure_document(source, &title).await?;
        let groups = if groups.is_empty() {
            vec!["everyone".to_string()]
        } else {
            groups
        };
        if doc.active_hash.as_deref() == Some(hash.as_str()) {
            return Ok(IngestReport {
                job_id: job_id.to_string(),
                source: source.to_string(),
                document_id: doc.id,
                version_id: doc.active_version_id,
                outcome: "unchanged",
                pages: extracted.pages.len(),
                chunks: 0,
                timings_ms: timings,
            });
        }

        // Originals are stored by content hash: the file name never becomes a path.
        let original = self.originals_dir.join(&hash);
        if !original.exists() {
            std::fs::create_dir_all(&self.originals_dir)?;
            let tmp = self.originals_dir.join(format!("{hash}.tmp"));
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &original)?;
        }

        let t = std::time::Instant::now();
        let chunks = chunk::chunk(&title, &extracted.pages, self.max_tokens);
        timings.chunk = t.elapsed().as_millis() as u64;
        if chunks.is_empty() {
            return Err(IngestError::Empty);
        }

        let version_id = self
            .store
            .create_version(NewVersion {
                document_id: &doc.id,
                content_hash: &hash,
                format: extracted.format.as_str(),
                groups: &groups,
                pages: extracted.pages.len(),
                original_path: &original.display().to_string(),
            })
            .await?;
        self.store
            .job_progress(
                job_id,
                Some(&doc.id),
                Some(&version_id),
                extracted.pages.len(),
                chunks.len(),
                0,
            )
            .await?;

        let indexed = self
            .index_chunks(
                job_id,
                &doc.id,
                &version_id,
                &title,
                source,
                &groups,
                &chunks,
                &mut timings,
                progress,
            )
            .await;
        let new_chunks = match indexed {
            Ok(c) => c,
            Err(e) => {
                // Nothing half-indexed stays behind: the version's points go, the row says why.
                let _ = self.index.delete_version(&version_id);
                let _ = self.store.fail_version(&version_id, &e.to_string()).await;
                return Err(e);
            }
        };

        let t = std::time::Instant::now();
        let previous = doc.active_version_id.clone();
        self.store
            .activate_version(&doc.id, &version_id, &title, &new_chunks)
            .await?;
        let index = self.index.clone();
        let (vid, prev) = (version_id.clone(), previous);
        // No flush per file: the index's WAL already makes the activation durable.
        tokio::task::spawn_blocking(move || index.activate(&vid, prev.as_deref()))
            .await
            .map_err(|e| IngestError::Internal(e.to_string()))??;
        timings.index += t.elapsed().as_millis() as u64;

        Ok(IngestReport {
            job_id: job_id.to_string(),
            source: source.to_string(),
            document_id: doc.id,
            version_id: Some(version_id),
            outcome: "indexed",
            pages: extracted.pages.len(),
            chunks: new_chunks.len(),
            timings_ms: timings,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn index_chunks(
        &self,
        job_id: &str,
        document_id: &str,
        version_id: &str,
        title: &str,
        source: &str,
        groups: &[String],
        chunks: &[chunk::Chunk],
        timings: &mut IngestTimings,
        progress: Option<Progress>,
    ) -> Result<Vec<NewChunk>, IngestError> {
        let analyzer = Analyzer::default();
        let mut new_chunks = Vec::with_capacity(chunks.len());
        let total = chunks.len();
        for batch in chunks.chunks(EMBED_BATCH) {
            // The section path is embedded with the text: it names what the passage is about.
            let texts: Vec<String> = batch
                .iter()
                .map(|c| format!("{}\n{}", c.section, c.text))
                .collect();
            let t = std::time::Instant::now();
            let embedder = self.embedder.clone();
            let (vectors, texts) = tokio::task::spawn_blocking(move || {
                let v = embedder.embed_passages(&texts);
                (v, texts)
            })
            .await
            .map_err(|e| IngestError::Internal(e.to_string()))?;
            let vectors = vectors?;
            timings.embed += t.elapsed().as_millis() as u64;

            let t = std::time::Instant::now();
            let mut points = Vec::with_capacity(batch.len());
            for ((c, dense), text) in batch.iter().zip(vectors).zip(texts.iter()) {
                let id = uuid::Uuid::new_v4().to_string();
                points.push(ChunkPoint {
                    payload: ChunkPayload {
                        chunk_id: id.clone(),
                        document_id: document_id.to_string(),
                        version_id: version_id.to_string(),
                        groups: groups.to_vec(),
                        title: title.to_string(),
                        source: source.to_string(),
                        section: c.section.clone(),
                        page: c.page,
                        ordinal: c.ordinal,
                        text: c.text.clone(),
                    },
                    dense,
                    sparse: analyzer
                        .document_vector(&sparse_text(&c.section, &c.text), typical_terms(text)),
                });
                new_chunks.push(NewChunk {
                    id,
                    ordinal: c.ordinal,
                    section: c.section.clone(),
                    page: c.page,
                    text: c.text.clone(),
                    content_hash: sha256(c.text.as_bytes()),
                });
            }
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.upsert(points))
                .await
                .map_err(|e| IngestError::Internal(e.to_string()))??;
            timings.index += t.elapsed().as_millis() as u64;
            self.store
                .job_progress(job_id, None, None, 0, total, new_chunks.len())
                .await
                .ok();
            if let Some(p) = &progress {
                p(new_chunks.len(), total);
            }
        }
        Ok(new_chunks)
    }

    /// Ingest files and folders (recursively). Sources are relative to each argument's parent, so
    /// `ingest sample/en-18f-handbook` yields `en-18f-handbook/…` sources.
    pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, IngestError> {
        let mut out = Vec::new();
        for root in paths {
            let meta = std::fs::metadata(root)?;
            let base = root.parent().map(Path::to_path_buf).unwrap_or_default();
            if meta.is_file() {
                let name = root
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .ok_or_else(|| IngestError::BadName(root.display().to_string()))?;
                out.push((root.clone(), name));
            } else {
                walk(root, &base, &mut out)?;
            }
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<(), IngestError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, base, out)?;
        } else {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            out.push((path.clone(), rel.to_string_lossy().replace('\\', "/")));
        }
    }
    Ok(())
}

fn default_title(source: &str) -> String {
    let file = source.rsplit('/').next().unwrap_or(source);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    stem.replace(['-', '_'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_cannot_escape() {
        assert!(normalise_source("../../etc/passwd").is_err());
        assert!(normalise_source("a/../b.md").is_err());
        assert!(normalise_source("").is_err());
        assert_eq!(normalise_source("/abs/./x.md").unwrap(), "abs/x.md");
        assert_eq!(normalise_source("dir\\file.md").unwrap(), "dir/file.md");
    }

    #[test]
    fn default_titles_come_from_file_names() {
        assert_eq!(
            default_title("a/b/sick-leave_policy.md"),
            "sick leave policy"
        );
    }
}
