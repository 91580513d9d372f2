//! Metadata in SQL (SQLite by default): documents, versions, chunks, ingest jobs.

use std::path::Path;
use std::str::FromStr;

use serde::Serialize;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

mod accounts;
mod audit;
mod copy;
mod groups;
mod jobs;
mod status;
pub use accounts::{ApiKey, NewApiKey, NewUser, User, UserUpdate};
pub use audit::{AuditEntry, AuditQuery, FeedbackEntry, NewAudit, Rating};
use groups::{groups_json, parse_groups};
pub use groups::{ActivationGuard, CorruptGroups, GroupsSpec};
pub use jobs::{Job, JobOrigin, NewJob, QueuedJob, Recovery, JOB_LEASE};
pub use status::{ErrorKind, JobStatus, Outcome, Role as MessageRole, VersionStatus};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0} was cancelled")]
    Cancelled(String),
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// A unique-constraint violation becomes `Conflict(message)`; other errors pass through.
pub(crate) fn conflict_on_unique(e: sqlx::Error, message: impl Into<String>) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(message.into()),
        _ => StoreError::Db(e),
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Timestamps are stored as fixed-width UTC RFC 3339 text, so comparing them as strings orders
/// them in time.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn now() -> String {
    timestamp(chrono::Utc::now())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Document {
    pub id: String,
    pub source: String,
    pub title: String,
    pub active_version_id: Option<String>,
    pub active_hash: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// `upload`, `watch`, `cli` — the watched folder removes only documents it added.
    pub origin: String,
    /// The active version, when there is one.
    pub active: Option<ActiveVersion>,
    /// A change of groups begun but not yet committed: until it is, a reader needs both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_groups: Option<Vec<String>>,
}

impl Document {
    /// Whether `principal` may read this document now: admins always; others when the active
    /// version's groups admit them, and a pending change of groups too (the narrower wins).
    pub fn readable_by(&self, principal: &crate::auth::Principal) -> bool {
        principal.is_admin()
            || (self
                .active
                .as_ref()
                .is_some_and(|a| principal.can_read(&a.groups))
                && self
                    .pending_groups
                    .as_ref()
                    .is_none_or(|p| principal.can_read(p)))
    }

    /// The groups the document is readable by now for inheritance: the pending change when one
    /// is under way (it is what the admin asked for last), else the active version's.
    pub fn current_groups(&self) -> Option<Vec<String>> {
        self.pending_groups
            .clone()
            .or_else(|| self.active.as_ref().map(|a| a.groups.clone()))
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveVersion {
    pub number: i64,
    pub format: String,
    pub groups: Vec<String>,
    pub chunks: i64,
    pub pages: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Version {
    pub id: String,
    pub number: i64,
    pub status: VersionStatus,
    pub format: String,
    pub groups: Vec<String>,
    pub pages: i64,
    pub chunk_count: i64,
    pub content_hash: String,
    pub error: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub document_id: &'a str,
    pub content_hash: &'a str,
    pub format: &'a str,
    pub groups: &'a [String],
    pub pages: usize,
    pub original_path: &'a str,
}

#[derive(Debug, Clone)]
pub struct NewChunk {
    pub id: String,
    pub ordinal: usize,
    pub section: String,
    pub page: Option<u32>,
    pub text: String,
    pub content_hash: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: String,
    pub role: MessageRole,
    pub content: String,
    /// The answer JSON of an assistant turn.
    pub answer: Option<serde_json::Value>,
    pub created_at: String,
}

/// A document with its active version's facts (the columns `document_from_row` reads).
const DOCUMENT_SELECT: &str =
    "SELECT d.id, d.source, d.title, d.active_version_id, v.content_hash, \
     d.created_at, d.updated_at, d.origin, d.pending_groups, v.number, v.format, v.groups, \
     v.chunk_count, v.pages \
     FROM documents d LEFT JOIN versions v ON v.id = d.active_version_id";

/// Which database the store speaks to: SQLite (one machine, the default) or PostgreSQL (several
/// replicas). The queries are shared; only job claiming differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    activation: groups::LocalLock,
}

impl Store {
    /// The SQLite database at `path` (created if missing).
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        Self::open(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connect by URL (`sqlite://…` or `postgres://…`) and bring the schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL `{}` (sqlite:// or postgres://)",
                redact_url(url)
            )));
        };
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let pool = match backend {
            Backend::Sqlite => {
                // WAL lets readers work during a write; it is a property of the file, set once.
                // Foreign keys and the busy timeout are per connection.
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                pool.execute("PRAGMA journal_mode = WAL;").await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                pool
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                pool
            }
        };
        Ok(Self {
            pool,
            backend,
            activation: groups::LocalLock::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn document_by_source(&self, source: &str) -> Result<Option<Document>> {
        let row = sqlx::query(&format!("{DOCUMENT_SELECT} WHERE d.source = $1"))
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| document_from_row(&r)).transpose()
    }

    pub async fn document(&self, id: &str) -> Result<Document> {
        let row = sqlx::query(&format!("{DOCUMENT_SELECT} WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| document_from_row(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("document {id}")))
    }

    /// Every version of a document, newest first.
    pub async fn versions(&self, document_id: &str) -> Result<Vec<Version>> {
        let rows = sqlx::query(
            "SELECT id, number, status, format, groups, pages, chunk_count, content_hash, error, created_at \
             FROM versions WHERE document_id = $1 ORDER BY number DESC",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Version {
                    id: r.try_get("id")?,
                    number: r.try_get("number")?,
                    status: VersionStatus::parse(&r.try_get::<String, _>("status")?)?,
                    format: r.try_get("format")?,
                    groups: parse_groups(&r.try_get::<String, _>("groups")?),
                    pages: r.try_get("pages")?,
                    chunk_count: r.try_get("chunk_count")?,
                    content_hash: r.try_get("content_hash")?,
                    error: r.try_get("error")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn documents(&self) -> Result<Vec<Document>> {
        let rows = sqlx::query(&format!("{DOCUMENT_SELECT} ORDER BY d.source"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// One page of documents by source name, and the total count.
    pub async fn documents_page(&self, limit: i64, offset: i64) -> Result<(Vec<Document>, i64)> {
        let rows = sqlx::query(&format!(
            "{DOCUMENT_SELECT} ORDER BY d.source LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM documents")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok((
            rows.iter().map(document_from_row).collect::<Result<_>>()?,
            total,
        ))
    }

    /// The document for `source`, created if new.
    pub async fn ensure_document(
        &self,
        source: &str,
        title: &str,
        origin: JobOrigin,
    ) -> Result<Document> {
        if let Some(doc) = self.document_by_source(source).await? {
            return Ok(doc);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        sqlx::query(
            "INSERT INTO documents (id, source, title, origin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT(source) DO NOTHING",
        )
        .bind(&id)
        .bind(source)
        .bind(title)
        .bind(origin.as_str())
        .bind(&ts)
        .bind(&ts)
        .execute(&self.pool)
        .await?;
        self.document_by_source(source)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("document {source}")))
    }

    /// A new version in state `indexing`.
    pub async fn create_version(&self, v: NewVersion<'_>) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let groups = groups_json(v.groups);
        sqlx::query(
            "INSERT INTO versions (id, document_id, number, content_hash, format, groups, status, pages, original_path, created_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE document_id = $3), $4, $5, $6, 'indexing', $7, $8, $9)",
        )
        .bind(&id)
        .bind(v.document_id)
        .bind(v.document_id)
        .bind(v.content_hash)
        .bind(v.format)
        .bind(groups)
        .bind(v.pages as i64)
        .bind(v.original_path)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Store the version's chunks and make it the document's active version, in one transaction.
    pub async fn activate_version(
        &self,
        document_id: &str,
        version_id: &str,
        title: &str,
        chunks: &[NewChunk],
    ) -> Result<()> {
        self.activate_for_job(None, document_id, version_id, title, chunks)
            .await
    }

    /// `activate_version` for the job building the version: refused (`Cancelled`) when the job
    /// is no longer running — the document was deleted meanwhile, or the job was taken back.
    pub async fn activate_for_job(
        &self,
        job_id: Option<&str>,
        document_id: &str,
        version_id: &str,
        title: &str,
        chunks: &[NewChunk],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(job) = job_id {
            let r =
                sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2 AND status = 'running'")
                    .bind(now())
                    .bind(job)
                    .execute(&mut *tx)
                    .await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::Cancelled(format!("job {job}")));
            }
        }
        for c in chunks {
            sqlx::query(
                "INSERT INTO chunks (id, version_id, document_id, ordinal, section, page, text, content_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.id)
            .bind(version_id)
            .bind(document_id)
            .bind(c.ordinal as i64)
            .bind(&c.section)
            .bind(c.page.map(i64::from))
            .bind(&c.text)
            .bind(&c.content_hash)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE versions SET status = 'superseded', index_pending_since = NULL \
             WHERE document_id = $1 AND status = 'active'",
        )
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE versions SET status = 'active', chunk_count = $1, index_pending_since = $2 \
             WHERE id = $3",
        )
        .bind(chunks.len() as i64)
        .bind(now())
        .bind(version_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE documents SET active_version_id = $1, title = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(version_id)
        .bind(title)
        .bind(now())
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The vector index shows the version now: its activation is complete.
    pub async fn index_activated(&self, version_id: &str) -> Result<()> {
        sqlx::query("UPDATE versions SET index_pending_since = NULL WHERE id = $1")
            .bind(version_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Active versions whose activation a stopped process began in the database but never
    /// confirmed in the index, each with the version it superseded (whose points must go).
    /// `Shared`: only activations older than one lease (the two steps take milliseconds).
    pub async fn pending_activations(&self, recovery: Recovery) -> Result<Vec<PendingActivation>> {
        let rows = sqlx::query(
            "SELECT v.id, v.document_id, (SELECT p.id FROM versions p WHERE p.document_id = v.document_id \
                 AND p.status = 'superseded' AND p.number < v.number \
                 ORDER BY p.number DESC LIMIT 1) AS previous \
             FROM versions v WHERE v.status = 'active' AND v.index_pending_since IS NOT NULL \
             AND v.index_pending_since < $1",
        )
        .bind(recovery.started_before())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingActivation {
                    document_id: r.try_get("document_id")?,
                    version_id: r.try_get("id")?,
                    previous: r.try_get("previous")?,
                })
            })
            .collect()
    }

    pub async fn fail_version(&self, version_id: &str, error: &str) -> Result<()> {
        sqlx::query("UPDATE versions SET status = 'failed', error = $1 WHERE id = $2")
            .bind(error)
            .bind(version_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Versions left `indexing` by a process that stopped mid-ingest are marked failed; their
    /// ids are returned so their points can be removed from the index. `Shared`: only versions no
    /// job with a live lease is building, and older than one lease.
    pub async fn fail_abandoned_versions(&self, recovery: Recovery) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "UPDATE versions SET status = 'failed', error = 'interrupted before it was activated' \
             WHERE status = 'indexing' AND created_at < $1 AND NOT EXISTS ( \
                 SELECT 1 FROM jobs j WHERE j.version_id = versions.id AND j.status = 'running' \
                 AND j.lease_until >= $2) \
             RETURNING id",
        )
        .bind(recovery.started_before())
        .bind(recovery.lease_cutoff())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    pub async fn chunk_count(&self) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM chunks c JOIN documents d ON d.active_version_id = c.version_id",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}

/// A version active in the database whose activation the index has not confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingActivation {
    pub document_id: String,
    pub version_id: String,
    pub previous: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChunkRow {
    pub id: String,
    pub ordinal: i64,
    pub section: String,
    pub page: Option<i64>,
    pub text: String,
}

impl Store {
    /// Chunks of the document's active version, in order.
    pub async fn active_chunks(&self, document_id: &str) -> Result<Vec<ChunkRow>> {
        let doc = self.document(document_id).await?;
        let Some(version) = doc.active_version_id else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query("SELECT id, ordinal, section, page, text FROM chunks WHERE version_id = $1 ORDER BY ordinal")
            .bind(version)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ChunkRow {
                    id: r.try_get("id")?,
                    ordinal: r.try_get("ordinal")?,
                    section: r.try_get("section")?,
                    page: r.try_get("page")?,
                    text: r.try_get("text")?,
                })
            })
            .collect()
    }

    /// Remove a document with its versions and chunks.
    pub async fn delete_document(&self, id: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM documents WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("document {id}")));
        }
        Ok(())
    }

    /// A new conversation belonging to `owner` (a principal id).
    pub async fn create_conversation(&self, owner: &str) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        sqlx::query(
            "INSERT INTO conversations (id, owner, created_at, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(owner)
        .bind(&ts)
        .bind(&ts)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Messages of `owner`'s conversation, oldest first; `NotFound` if there is no such
    /// conversation or it belongs to someone else.
    pub async fn conversation(&self, id: &str, owner: &str) -> Result<Vec<Message>> {
        let exists = sqlx::query("SELECT 1 FROM conversations WHERE id = $1 AND owner = $2")
            .bind(id)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("conversation {id}")));
        }
        let rows = sqlx::query(
            "SELECT id, role, content, answer, created_at FROM messages WHERE conversation_id = $1 ORDER BY created_at, role DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Message {
                    id: r.try_get("id")?,
                    role: MessageRole::parse(&r.try_get::<String, _>("role")?)?,
                    content: r.try_get("content")?,
                    answer: r
                        .try_get::<Option<String>, _>("answer")?
                        .and_then(|a| serde_json::from_str(&a).ok()),
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Record one question and its answer; the answer's message id is `answer_id`.
    pub async fn add_turn(
        &self,
        conversation_id: &str,
        question: &str,
        answer_id: &str,
        answer_text: &str,
        answer: &serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let ts = now();
        let question_id = uuid::Uuid::new_v4().to_string();
        for (id, role, content, json) in [
            (question_id.as_str(), MessageRole::User, question, None),
            (
                answer_id,
                MessageRole::Assistant,
                answer_text,
                Some(answer.to_string()),
            ),
        ] {
            sqlx::query("INSERT INTO messages (id, conversation_id, role, content, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id)
                .bind(conversation_id)
                .bind(role.as_str())
                .bind(content)
                .bind(json)
                .bind(&ts)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2")
            .bind(&ts)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    pub id: String,
    /// The first question asked.
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Store {
    /// `owner`'s conversations, most recently active first.
    pub async fn conversations(&self, owner: &str, limit: i64) -> Result<Vec<ConversationSummary>> {
        let rows = sqlx::query(
            "SELECT c.id, COALESCE((SELECT m.content FROM messages m WHERE m.conversation_id = c.id                AND m.role = 'user' ORDER BY m.created_at LIMIT 1), '') AS title, c.created_at, c.updated_at              FROM conversations c WHERE c.owner = $1 ORDER BY c.updated_at DESC LIMIT $2",
        )
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConversationSummary {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The groups of each document's active version, with a pending change of groups when one
    /// is under way (a reader needs both); documents without an active version are absent.
    pub async fn readable_groups(
        &self,
        document_ids: &[String],
    ) -> Result<std::collections::HashMap<String, (Vec<String>, Option<Vec<String>>)>> {
        let mut ids: Vec<&String> = document_ids.iter().collect();
        ids.sort();
        ids.dedup();
        let mut out = std::collections::HashMap::new();
        // One query per few hundred documents (SQLite's limit on bound values is far above).
        for batch in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=batch.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT d.id, v.groups, d.pending_groups FROM documents d JOIN versions v ON v.id = d.active_version_id \
                 WHERE d.id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in batch {
                query = query.bind(id.as_str());
            }
            for r in query.fetch_all(&self.pool).await? {
                let id: String = r.try_get("id")?;
                let groups = parse_groups(&r.try_get::<String, _>("groups")?);
                let pending: Option<String> = r.try_get("pending_groups")?;
                out.insert(id, (groups, pending.as_deref().map(parse_groups)));
            }
        }
        Ok(out)
    }

    /// Change who may read a document's active version in one step (records only; see
    /// `ingest::regroup` for the crash-safe change that includes the vector index).
    pub async fn set_document_groups(&self, document_id: &str, groups: &[String]) -> Result<()> {
        let doc = self.document(document_id).await?;
        if doc.active_version_id.is_none() {
            return Err(StoreError::Conflict(format!(
                "document {document_id} has no active version"
            )));
        }
        self.commit_groups(document_id, groups).await
    }

    /// Whether any version, or any job not yet finished, refers to the original `blob`.
    pub async fn blob_in_use(&self, blob: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM versions WHERE content_hash = $1) \
                  + (SELECT COUNT(*) FROM jobs WHERE blob = $2 AND status IN ('queued', 'running')) AS n",
        )
        .bind(blob)
        .bind(blob)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Drop the records of a document's old versions beyond the newest `keep` (the active one
    /// and versions being built always stay); returns the dropped versions' (id, content hash).
    pub async fn prune_versions(
        &self,
        document_id: &str,
        keep: usize,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT id, content_hash FROM versions WHERE document_id = $1 \
             AND status NOT IN ('active', 'indexing') ORDER BY number DESC",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        let old: Vec<(String, String)> = rows
            .iter()
            .skip(keep.saturating_sub(1))
            .map(|r| Ok((r.try_get("id")?, r.try_get("content_hash")?)))
            .collect::<Result<_>>()?;
        for (id, _) in &old {
            sqlx::query("DELETE FROM versions WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(old)
    }

    /// Remove a document's row if it never got an active version (a cancelled first ingest).
    pub async fn delete_document_if_inactive(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM documents WHERE id = $1 AND active_version_id IS NULL")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn document_from_row(r: &sqlx::any::AnyRow) -> Result<Document> {
    let number: Option<i64> = r.try_get("number")?;
    let pending: Option<String> = r.try_get("pending_groups")?;
    let active = match number {
        Some(number) => Some(ActiveVersion {
            number,
            format: r.try_get("format")?,
            groups: parse_groups(&r.try_get::<String, _>("groups")?),
            chunks: r.try_get("chunk_count")?,
            pages: r.try_get("pages")?,
        }),
        None => None,
    };
    Ok(Document {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        title: r.try_get("title")?,
        active_version_id: r.try_get("active_version_id")?,
        active_hash: r.try_get("content_hash")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        origin: r.try_get("origin")?,
        active,
        pending_groups: pending.as_deref().map(parse_groups),
    })
}
