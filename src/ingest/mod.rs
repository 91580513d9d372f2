//! Ingest: extract -> normalise -> chunk -> embed -> upsert -> activate the version.

pub mod chunk;
pub mod contained;
pub mod defined_terms;
pub mod documents;
pub mod extract;
pub mod formats;
pub mod optimizer;
pub mod originals;
pub mod queue;
pub mod recovery;
pub mod watch;
pub mod workers;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::embed::{EmbedError, Embedder};
use crate::index::{ChunkPayload, ChunkPoint, IndexError, VectorIndex};
use crate::lexical::Analyzer;
use crate::store::{
    CorruptGroups, ErrorKind, GroupsSpec, JobOrigin, NewChunk, NewVersion, Outcome, QueuedJob,
    Store, StoreError,
};
use originals::{sha256, Originals};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unsupported file type: {0}")]
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
    #[error("the file took longer than its time budget of {0} s")]
    TimedOut(u64),
    #[error("this process stalled past the job's lease and the job was taken back; run it again")]
    LeaseLost,
    #[error("cancelled: the document was deleted")]
    Cancelled,
    #[error("{0}")]
    BadGroups(String),
}

impl From<CorruptGroups> for IngestError {
    fn from(e: CorruptGroups) -> Self {
        IngestError::BadGroups(e.to_string())
    }
}

impl IngestError {
    /// A short name for the kind of failure, kept with the job.
    pub fn kind(&self) -> ErrorKind {
        match self {
            IngestError::UnsupportedType(_) => ErrorKind::Unsupported,
            IngestError::Malformed(_) => ErrorKind::Malformed,
            IngestError::Empty => ErrorKind::Empty,
            IngestError::TooLarge(_) => ErrorKind::TooLarge,
            IngestError::BadName(_) => ErrorKind::BadName,
            IngestError::Embed(_) => ErrorKind::Embed,
            IngestError::Index(_) => ErrorKind::Index,
            IngestError::Store(_) => ErrorKind::Store,
            IngestError::Io(_) => ErrorKind::Io,
            IngestError::Internal(_) => ErrorKind::Internal,
            IngestError::TimedOut(_) => ErrorKind::Timeout,
            IngestError::LeaseLost => ErrorKind::LeaseLost,
            IngestError::Cancelled => ErrorKind::Cancelled,
            IngestError::BadGroups(_) => ErrorKind::BadGroups,
        }
    }

    /// Worth another attempt: the file itself is not the problem (a busy machine, a full disk, a
    /// database hiccup). A malformed or unsupported file fails the same way every time.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            IngestError::UnsupportedType(_)
                | IngestError::Malformed(_)
                | IngestError::Empty
                | IngestError::TooLarge(_)
                | IngestError::BadName(_)
                | IngestError::Cancelled
                | IngestError::BadGroups(_)
                | IngestError::Store(StoreError::Cancelled(_))
        )
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub job_id: String,
    pub source: String,
    pub document_id: String,
    pub version_id: Option<String>,
    /// `indexed` (a new version), `unchanged` (same content as the active version) or
    /// `regrouped` (same content, the groups the upload named applied).
    pub outcome: Outcome,
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

/// The version a job builds.
struct Target<'a> {
    job_id: &'a str,
    document_id: &'a str,
    version_id: &'a str,
    title: &'a str,
    source: &'a str,
}

#[derive(Clone)]
pub struct Ingestor {
    pub store: Store,
    pub index: Arc<dyn VectorIndex>,
    pub embedder: Arc<dyn Embedder>,
    pub originals: Originals,
    pub max_tokens: usize,
    pub max_file_bytes: u64,
    pub max_pages: usize,
    pub max_chunks: usize,
    /// When the embedding model cannot read Korean, a mostly-Hangul passage is embedded from its
    /// first this-many characters only (0: whole passages). See `dense_text`.
    pub unreadable_embed_chars: usize,
    pub time_budget: std::time::Duration,
    /// Versions of a document kept on record (`ingest.keep_versions`).
    pub keep_versions: usize,
}

/// One file to ingest.
struct Input {
    source: String,
    bytes: Vec<u8>,
    groups: GroupsSpec,
    /// Re-embed even when the content equals the active version's.
    reindex: bool,
    origin: JobOrigin,
}

/// Typical chunk length in lexical terms, for BM25's length normalisation. Korean text yields about
/// three terms per word (the word and its syllable bigrams), so it is normalised against its own
/// typical length rather than English's.
fn typical_terms(text: &str) -> f32 {
    120.0 + 230.0 * crate::lexical::hangul_ratio(text)
}

/// The sparse side's text: the heading of the chunk's own section counts extra (a passage under
/// "Sick leave" or "제60조 (연차 유급휴가)" is about that, whatever words its body uses), and the
/// full names of the defined short forms it uses count as if written (`defined_terms`).
fn sparse_text(section: &str, text: &str, full_names: &[String]) -> String {
    let heading = section.rsplit(" > ").next().unwrap_or(section);
    format!(
        "{section}\n{heading}\n{heading}\n{text}\n{}",
        full_names.join(" ")
    )
}
pub const EMBED_BATCH: usize = 64;

/// The text a passage is embedded from: its section path and body. With an embedding model that
/// cannot read Korean, a Korean passage's vector carries no meaning (Korean questions are answered
/// from the sparse side; see `embed.multilingual`), yet its jamo-split tokens made it the most
/// expensive thing to embed: such passages are embedded from a short prefix.
pub fn dense_text(section: &str, text: &str, unreadable_chars: usize) -> String {
    let full = format!("{section}\n{text}");
    if unreadable_chars > 0 && crate::lexical::hangul_ratio(&full) > 0.5 {
        full.chars().take(unreadable_chars).collect()
    } else {
        full
    }
}

/// A source name as shown to users and used as the document's identity: relative, `/`-separated,
/// without `..` or absolute parts. Never used as a filesystem path.
pub fn normalise_source(name: &str) -> Result<String, IngestError> {
    let parts: Vec<&str> = name
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    // Control characters (CR/LF among them) have no place in a name shown to users and logged.
    if parts.is_empty() || parts.contains(&"..") || name.chars().any(char::is_control) {
        return Err(IngestError::BadName(name.to_string()));
    }
    Ok(parts.join("/"))
}

impl Ingestor {
    /// Ingest one file's bytes under `source`, readable by `groups` (none: the document's current
    /// groups, or `everyone` for a new one), now (the CLI's path; the server queues files for its
    /// workers instead).
    pub async fn ingest_bytes(
        &self,
        source: &str,
        bytes: Vec<u8>,
        groups: Vec<String>,
        progress: Option<Progress>,
    ) -> Result<IngestReport, IngestError> {
        let source = normalise_source(source)?;
        let job_id = self.store.create_job(&source, JobOrigin::Cli).await?;
        let groups = crate::auth::normalise_groups(groups);
        let groups = if groups.is_empty() {
            GroupsSpec::Inherit {
                otherwise: vec![crate::auth::EVERYONE.to_string()],
            }
        } else {
            GroupsSpec::Explicit(groups)
        };
        let input = Input {
            source,
            bytes,
            groups,
            reindex: false,
            origin: JobOrigin::Cli,
        };
        let result =
            workers::with_lease(&self.store, &job_id, 1, self.run(&job_id, input, progress))
                .await
                .unwrap_or(Err(IngestError::LeaseLost));
        let outcome = match &result {
            Ok(r) => Ok(r.outcome),
            Err(e) => Err((e.kind(), e.to_string())),
        };
        self.store
            .finish_job(
                &job_id,
                outcome
                    .as_ref()
                    .map(|o| *o)
                    .map_err(|(k, e)| (*k, e.as_str())),
            )
            .await?;
        result
    }

    /// Run a job a worker claimed from the queue. The caller records the outcome.
    pub async fn run_job(
        &self,
        job: &QueuedJob,
        progress: Option<Progress>,
    ) -> Result<IngestReport, IngestError> {
        let source = normalise_source(&job.source)?;
        let groups = job.groups.clone()?;
        let bytes = self.originals.read(&job.blob)?;
        let input = Input {
            source,
            bytes,
            groups,
            reindex: job.origin == JobOrigin::Reindex,
            origin: job.origin,
        };
        self.run(&job.id, input, progress).await
    }

    /// Change who may read a document (crash-safe toward less access: `documents::regroup`).
    pub async fn regroup(&self, id: &str, groups: &[String]) -> Result<(), IngestError> {
        documents::regroup(&self.store, &self.index, id, groups).await
    }

    /// Delete a document for good: its jobs cancelled, out of search, its records and files gone.
    pub async fn delete_document(&self, id: &str) -> Result<(), IngestError> {
        documents::delete(&self.store, &self.index, &self.originals, id).await
    }

    async fn run(
        &self,
        job_id: &str,
        input: Input,
        progress: Option<Progress>,
    ) -> Result<IngestReport, IngestError> {
        let Input {
            source,
            bytes,
            groups,
            reindex,
            origin,
        } = input;
        let source = source.as_str();
        let started = std::time::Instant::now();
        let budget = self.time_budget;
        let over_budget = move || -> Result<(), IngestError> {
            if started.elapsed() > budget {
                Err(IngestError::TimedOut(budget.as_secs()))
            } else {
                Ok(())
            }
        };
        if bytes.len() as u64 > self.max_file_bytes {
            return Err(IngestError::TooLarge(format!(
                "{} bytes, the limit is {}",
                bytes.len(),
                self.max_file_bytes
            )));
        }
        let mut timings = IngestTimings::default();
        let hash = sha256(&bytes);
        // Checked before extraction, which is the expensive part for a PDF.
        if !reindex {
            if let Some(report) = self.unchanged(job_id, source, &hash, &groups).await? {
                return Ok(report);
            }
        }

        let t = std::time::Instant::now();
        let (extracted, bytes) = self.extract(source, bytes).await?;
        timings.extract = t.elapsed().as_millis() as u64;
        over_budget()?;
        let title = extracted
            .title
            .clone()
            .unwrap_or_else(|| default_title(source));
        // Deleted while the file was read: do not bring the document back.
        if !self.store.job_running(job_id).await? {
            return Err(IngestError::Cancelled);
        }
        let doc = self.store.ensure_document(source, &title, origin).await?;
        let original = self.originals.put_hashed(&hash, &bytes)?;
        drop(bytes);

        let t = std::time::Instant::now();
        let chunks = self.chunk(&title, &extracted.pages)?;
        timings.chunk = t.elapsed().as_millis() as u64;
        let version_groups = self.resolve_groups(&groups, source).await?;
        let version_id = self
            .store
            .create_version(NewVersion {
                document_id: &doc.id,
                content_hash: &hash,
                format: extracted.format.as_str(),
                groups: &version_groups,
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
        let target = Target {
            job_id,
            document_id: &doc.id,
            version_id: &version_id,
            title: &title,
            source,
        };
        let built = self
            .build_version(
                &target,
                &groups,
                &version_groups,
                &chunks,
                &mut timings,
                progress,
                &over_budget,
            )
            .await;
        let new_chunks = match built {
            Ok(c) => c,
            Err(e) => {
                self.discard_version(&target, &e).await;
                return Err(e);
            }
        };
        self.prune_old_versions(&doc.id).await;

        Ok(IngestReport {
            job_id: job_id.to_string(),
            source: source.to_string(),
            document_id: doc.id,
            version_id: Some(version_id),
            outcome: Outcome::Indexed,
            pages: extracted.pages.len(),
            chunks: new_chunks.len(),
            timings_ms: timings,
        })
    }

    /// The same content as the active version: nothing to index, but groups the upload named
    /// are applied. `None` when there is something to index.
    async fn unchanged(
        &self,
        job_id: &str,
        source: &str,
        hash: &str,
        groups: &GroupsSpec,
    ) -> Result<Option<IngestReport>, IngestError> {
        let Some(doc) = self.store.document_by_source(source).await? else {
            return Ok(None);
        };
        if doc.active_hash.as_deref() != Some(hash) {
            return Ok(None);
        }
        let mut outcome = Outcome::Unchanged;
        if let GroupsSpec::Explicit(named) = groups {
            if doc.current_groups().as_ref() != Some(named) {
                documents::regroup(&self.store, &self.index, &doc.id, named).await?;
                outcome = Outcome::Regrouped;
            }
        }
        Ok(Some(IngestReport {
            job_id: job_id.to_string(),
            source: source.to_string(),
            document_id: doc.id,
            version_id: doc.active_version_id,
            outcome,
            pages: 0,
            chunks: 0,
            timings_ms: IngestTimings::default(),
        }))
    }

    /// Text and structure of the file, off the async runtime; a parser stuck on a hostile file
    /// is abandoned when the time budget runs out. The bytes come back for storing.
    async fn extract(
        &self,
        source: &str,
        bytes: Vec<u8>,
    ) -> Result<(extract::Extracted, Vec<u8>), IngestError> {
        let max_pages = self.max_pages;
        let file_name = source.rsplit('/').next().unwrap_or(source).to_string();
        let extraction = tokio::task::spawn_blocking(move || {
            let e = extract::extract(&file_name, &bytes, max_pages);
            (e, bytes)
        });
        let (extracted, bytes) = tokio::time::timeout(self.time_budget, extraction)
            .await
            .map_err(|_| IngestError::TimedOut(self.time_budget.as_secs()))?
            .map_err(|e| IngestError::Internal(e.to_string()))?;
        Ok((extracted?, bytes))
    }

    /// The passages of the document, within the configured limit.
    fn chunk(
        &self,
        title: &str,
        pages: &[extract::Page],
    ) -> Result<Vec<chunk::Chunk>, IngestError> {
        let chunks = chunk::chunk(title, pages, self.max_tokens);
        if chunks.is_empty() {
            return Err(IngestError::Empty);
        }
        if chunks.len() > self.max_chunks {
            return Err(IngestError::TooLarge(format!(
                "the file yields {} passages, the limit is {}; split it into smaller documents",
                chunks.len(),
                self.max_chunks
            )));
        }
        Ok(chunks)
    }

    /// Embed and index the passages, then make the version the document's active one.
    #[allow(clippy::too_many_arguments)]
    async fn build_version(
        &self,
        target: &Target<'_>,
        groups: &GroupsSpec,
        version_groups: &[String],
        chunks: &[chunk::Chunk],
        timings: &mut IngestTimings,
        progress: Option<Progress>,
        over_budget: &(dyn Fn() -> Result<(), IngestError> + Sync),
    ) -> Result<Vec<NewChunk>, IngestError> {
        let new_chunks = self
            .index_chunks(
                target.job_id,
                target.document_id,
                target.version_id,
                target.title,
                target.source,
                version_groups,
                chunks,
                timings,
                progress,
                over_budget,
            )
            .await?;
        let t = std::time::Instant::now();
        let activated = self
            .activate(
                target.job_id,
                target.document_id,
                target.version_id,
                target.title,
                target.source,
                groups,
                version_groups,
                &new_chunks,
            )
            .await;
        timings.index += t.elapsed().as_millis() as u64;
        activated.map(|()| new_chunks)
    }

    /// Nothing half-indexed stays behind: the version's points go, its row says why.
    async fn discard_version(&self, target: &Target<'_>, e: &IngestError) {
        let v = target.version_id.to_string();
        let _ = documents::off_runtime(&self.index, move |i| i.delete_version(&v)).await;
        let _ = self
            .store
            .fail_version(target.version_id, &e.to_string())
            .await;
        if matches!(e, IngestError::Cancelled) {
            // The document was deleted meanwhile: a row this job re-created goes too.
            let _ = self
                .store
                .delete_document_if_inactive(target.document_id)
                .await;
        }
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
        over_budget: &(dyn Fn() -> Result<(), IngestError> + Sync),
    ) -> Result<Vec<NewChunk>, IngestError> {
        let analyzer = Analyzer::default();
        let defined = defined_terms::DefinedTerms::find(chunks.iter().map(|c| c.text.as_str()));
        let mut new_chunks = Vec::with_capacity(chunks.len());
        let total = chunks.len();
        // A batch pads to its longest text: embed the file's passages shortest first, so each
        // batch holds similar lengths (measured: `regula bench embed --group`).
        let mut by_length: Vec<&chunk::Chunk> = chunks.iter().collect();
        by_length.sort_by_cached_key(|c| c.section.len() + c.text.len());
        for batch in by_length.chunks(EMBED_BATCH) {
            // The section path is embedded with the text: it names what the passage is about.
            let texts: Vec<String> = batch
                .iter()
                .map(|c| dense_text(&c.section, &c.text, self.unreadable_embed_chars))
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
                let full_names = defined.full_names(&c.text);
                let sparse = analyzer.document_vector(
                    &sparse_text(&c.section, &c.text, &full_names),
                    typical_terms(text),
                );
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
                        full_names,
                    },
                    dense,
                    sparse,
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
            documents::off_runtime(&self.index, move |i| i.upsert(points)).await?;
            timings.index += t.elapsed().as_millis() as u64;
            self.store
                .job_progress(job_id, None, None, 0, total, new_chunks.len())
                .await
                .ok();
            // A deleted document's job was cancelled: stop at once, activate nothing.
            if !self.store.job_running(job_id).await? {
                return Err(IngestError::Cancelled);
            }
            if let Some(p) = &progress {
                p(new_chunks.len(), total);
            }
            over_budget()?;
        }
        new_chunks.sort_by_key(|c| c.ordinal);
        Ok(new_chunks)
    }

    /// The groups a version gets: those named, or the document's current ones (`otherwise` for
    /// a new document). A current groups record that cannot be read fails closed.
    async fn resolve_groups(
        &self,
        spec: &GroupsSpec,
        source: &str,
    ) -> Result<Vec<String>, IngestError> {
        let groups = match spec {
            GroupsSpec::Explicit(g) => g.clone(),
            GroupsSpec::Inherit { otherwise } => match self
                .store
                .document_by_source(source)
                .await?
                .and_then(|d| d.current_groups())
            {
                Some(current) => current,
                None => otherwise.clone(),
            },
        };
        let groups = crate::auth::normalise_groups(groups);
        if groups.is_empty() {
            return Err(IngestError::BadGroups(format!(
                "the groups of {source} cannot be read; set them again (PATCH /api/v1/documents/ID)"
            )));
        }
        Ok(groups)
    }

    /// Make the version the document's only visible one, in the database and then the index, in
    /// turn with other activations and regroupings. Inherited groups are read again here: a
    /// change of the document's groups while the version was built applies to it too.
    #[allow(clippy::too_many_arguments)]
    async fn activate(
        &self,
        job_id: &str,
        document_id: &str,
        version_id: &str,
        title: &str,
        source: &str,
        spec: &GroupsSpec,
        built_with: &[String],
        chunks: &[NewChunk],
    ) -> Result<(), IngestError> {
        let _turn = self.store.lock_activations().await?;
        let groups = self.resolve_groups(spec, source).await?;
        if groups != built_with {
            let (v, g) = (version_id.to_string(), groups.clone());
            documents::off_runtime(&self.index, move |i| i.set_groups(&v, &g)).await?;
            self.store.set_version_groups(version_id, &groups).await?;
        }
        match self
            .store
            .activate_for_job(Some(job_id), document_id, version_id, title, chunks)
            .await
        {
            Err(StoreError::Cancelled(_)) => return Err(IngestError::Cancelled),
            other => other?,
        }
        let (d, v) = (document_id.to_string(), version_id.to_string());
        // No flush per file: the index's WAL already makes the activation durable.
        documents::off_runtime(&self.index, move |i| i.activate(&d, &v)).await?;
        // Until this is recorded, a restart finishes the activation (recovery::recover_abandoned).
        self.store.index_activated(version_id).await?;
        Ok(())
    }

    /// Old versions beyond `keep_versions` lose their records, points and original files.
    async fn prune_old_versions(&self, document_id: &str) {
        let pruned = match self
            .store
            .prune_versions(document_id, self.keep_versions.max(1))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(document_id, error = %e, "could not prune old versions");
                return;
            }
        };
        let mut blobs = Vec::new();
        for (version, blob) in pruned {
            let v = version.clone();
            if let Err(e) = documents::off_runtime(&self.index, move |i| i.delete_version(&v)).await
            {
                tracing::warn!(version_id = %version, error = %e, "could not remove an old version's points");
            }
            blobs.push(blob);
        }
        documents::remove_unused_originals(&self.store, &self.originals, &blobs).await;
    }

    /// Ingest files and folders (recursively). Sources are relative to each argument's parent, so
    /// `ingest sample/en-18f-handbook` yields `en-18f-handbook/…` sources. Inside folders only
    /// regular files count (symlinks, FIFOs and devices are skipped with a warning).
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
                let scan = scan_folder(root, &base);
                if let Some((path, e)) = scan.unreadable.into_iter().next() {
                    return Err(IngestError::Io(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", path.display()),
                    )));
                }
                out.extend(scan.files);
            }
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }
}

/// What a walk of a folder found: its regular files with their source names, and the folders it
/// could not read (whose files are unknown, not absent).
pub struct FolderScan {
    pub files: Vec<(PathBuf, String)>,
    pub unreadable: Vec<(PathBuf, std::io::Error)>,
}

/// Walk `dir` for regular files, named relative to `base`. Hidden entries are skipped; so are
/// symlinks (they may point anywhere, `/etc` included), FIFOs (reading one blocks forever),
/// sockets and devices. A folder that cannot be read is reported and the walk goes on.
pub fn scan_folder(dir: &Path, base: &Path) -> FolderScan {
    let mut scan = FolderScan {
        files: Vec::new(),
        unreadable: Vec::new(),
    };
    walk(dir, base, &mut scan);
    scan.files.sort_by(|a, b| a.1.cmp(&b.1));
    scan
}

fn walk(dir: &Path, base: &Path, scan: &mut FolderScan) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            scan.unreadable.push((dir.to_path_buf(), e));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                scan.unreadable.push((dir.to_path_buf(), e));
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        // The entry's own type: a symlink is not followed.
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, base, scan),
            Ok(t) if t.is_file() => {
                let rel = path.strip_prefix(base).unwrap_or(&path);
                scan.files
                    .push((path.clone(), rel.to_string_lossy().replace('\\', "/")));
            }
            Ok(_) => {
                tracing::warn!(path = ?path, "not a regular file (a symlink, FIFO, socket or device); skipped")
            }
            Err(e) => scan.unreadable.push((path, e)),
        }
    }
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
        assert!(normalise_source("a\nINFO forged.md").is_err());
        assert!(normalise_source("nul\0.md").is_err());
        assert_eq!(normalise_source("/abs/./x.md").unwrap(), "abs/x.md");
        assert_eq!(normalise_source("dir\\file.md").unwrap(), "dir/file.md");
    }

    #[test]
    fn korean_passages_are_embedded_from_a_prefix_only_when_the_model_cannot_read_them() {
        let body =
            "사용자는 근로계약을 체결할 때에 근로자에게 임금, 소정근로시간을 명시하여야 한다."
                .repeat(5);
        assert_eq!(dense_text("제17조", &body, 40).chars().count(), 40);
        assert!(dense_text("제17조", &body, 0).ends_with("한다."));
        let english = "Employees accrue annual leave every pay period. ".repeat(10);
        assert!(dense_text("Leave", &english, 40).len() > 400);
    }

    #[test]
    fn default_titles_come_from_file_names() {
        assert_eq!(
            default_title("a/b/sick-leave_policy.md"),
            "sick leave policy"
        );
    }
}
