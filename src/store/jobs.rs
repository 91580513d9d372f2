//! The persistent ingest queue: jobs are claimed atomically, retried with a delay, and put back in
//! the queue when the process running one stopped (its lease ran out).

use serde::Serialize;
use sqlx::Row;

use super::groups::{CorruptGroups, GroupsSpec};
use super::status::{ErrorKind, JobStatus, Outcome};
use super::{now, timestamp, Backend, Result, Store, StoreError};

/// How long a claim holds without renewal. The claimant renews it every third of this; a job
/// whose lease ran out was left by a stopped process and goes back to the queue.
pub const JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(90);

fn lease_end() -> String {
    timestamp(chrono::Utc::now() + chrono::Duration::from_std(JOB_LEASE).unwrap_or_default())
}

/// Whether this process is the only one using the database (SQLite in its data dir, locked), so
/// every `running` job at start is left over, leases or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    Exclusive,
    Shared,
}

impl Recovery {
    /// A lease ending before this timestamp is over: now, or (alone) any lease at all.
    pub(super) fn lease_cutoff(self) -> String {
        match self {
            Recovery::Exclusive => "9999".to_string(),
            Recovery::Shared => now(),
        }
    }

    /// Work started before this may have been left by a stopped process: one lease ago (a
    /// worker records its version on the job just after creating it), or (alone) anything.
    pub(super) fn started_before(self) -> String {
        match self {
            Recovery::Exclusive => "9999".to_string(),
            Recovery::Shared => timestamp(
                chrono::Utc::now() - chrono::Duration::from_std(JOB_LEASE).unwrap_or_default(),
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub source: String,
    pub status: JobStatus,
    pub origin: String,
    pub document_id: Option<String>,
    pub version_id: Option<String>,
    pub pages: i64,
    pub chunks: i64,
    pub embedded: i64,
    pub attempts: i64,
    /// What it did, once done.
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
    /// The kind of the last error.
    pub error_kind: Option<ErrorKind>,
    pub created_at: String,
    pub updated_at: String,
}

/// Who asked for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobOrigin {
    Upload,
    Reindex,
    Watch,
    Cli,
}

impl JobOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            JobOrigin::Upload => "upload",
            JobOrigin::Reindex => "reindex",
            JobOrigin::Watch => "watch",
            JobOrigin::Cli => "cli",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "reindex" => JobOrigin::Reindex,
            "watch" => JobOrigin::Watch,
            "cli" => JobOrigin::Cli,
            _ => JobOrigin::Upload,
        }
    }
}

pub struct NewJob<'a> {
    pub source: &'a str,
    pub groups: &'a GroupsSpec,
    /// Content hash of the bytes waiting in the originals folder.
    pub blob: &'a str,
    pub origin: JobOrigin,
}

/// A job a worker claimed: everything needed to run it.
#[derive(Debug, Clone)]
pub struct QueuedJob {
    pub id: String,
    pub source: String,
    /// Unreadable groups fail the job (closed), never default to `everyone`.
    pub groups: Result<GroupsSpec, CorruptGroups>,
    pub blob: String,
    pub origin: JobOrigin,
    /// Including this one.
    pub attempts: u32,
}

const JOB_COLUMNS: &str =
    "id, source, status, origin, document_id, version_id, pages, chunks, embedded, \
     attempts, outcome, error, error_kind, created_at, updated_at";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        status: JobStatus::parse(&r.try_get::<String, _>("status")?)?,
        origin: r.try_get("origin")?,
        document_id: r.try_get("document_id")?,
        version_id: r.try_get("version_id")?,
        pages: r.try_get("pages")?,
        chunks: r.try_get("chunks")?,
        embedded: r.try_get("embedded")?,
        attempts: r.try_get("attempts")?,
        outcome: r
            .try_get::<Option<String>, _>("outcome")?
            .as_deref()
            .map(Outcome::parse)
            .transpose()?,
        error: r.try_get("error")?,
        error_kind: r
            .try_get::<Option<String>, _>("error_kind")?
            .as_deref()
            .map(ErrorKind::parse)
            .transpose()?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// A job already running in this process (the CLI's direct ingest).
    pub async fn create_job(&self, source: &str, origin: JobOrigin) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        sqlx::query(
            "INSERT INTO jobs (id, source, status, origin, attempts, created_at, updated_at, lease_until) \
             VALUES ($1, $2, 'running', $3, 1, $4, $5, $6)",
        )
        .bind(&id)
        .bind(source)
        .bind(origin.as_str())
        .bind(&ts)
        .bind(&ts)
        .bind(lease_end())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Queue a job for the background workers.
    pub async fn enqueue_job(&self, job: NewJob<'_>) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let groups = job.groups.to_json();
        sqlx::query(
            "INSERT INTO jobs (id, source, status, origin, groups, blob, reindex, created_at, updated_at) \
             VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(job.source)
        .bind(job.origin.as_str())
        .bind(groups)
        .bind(job.blob)
        .bind(i64::from(job.origin == JobOrigin::Reindex))
        .bind(&ts)
        .bind(&ts)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Take the oldest queued job that is due, in one statement, so two workers never get the
    /// same one.
    pub async fn claim_job(&self) -> Result<Option<QueuedJob>> {
        let ts = now();
        // PostgreSQL serves several replicas: a row another one is claiming is skipped rather
        // than waited for. SQLite has one writer at a time, so the plain statement is atomic.
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = $1, lease_until = $2 \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND blob IS NOT NULL \
                         AND (not_before IS NULL OR not_before <= $1) ORDER BY created_at, id LIMIT 1 {lock}) \
               AND status = 'queued' \
             RETURNING id, source, groups, blob, origin, attempts"
        ))
        .bind(&ts)
        .bind(lease_end())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let groups: String = r.try_get("groups")?;
        Ok(Some(QueuedJob {
            id: r.try_get("id")?,
            source: r.try_get("source")?,
            groups: GroupsSpec::parse(&groups),
            blob: r.try_get("blob")?,
            origin: JobOrigin::parse(&r.try_get::<String, _>("origin")?),
            attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        }))
    }

    /// Put a job back in the queue after a transient failure, not before `not_before`. A job
    /// that ended meanwhile (cancelled by a delete) stays ended.
    pub async fn retry_job(
        &self,
        id: &str,
        error: &str,
        kind: ErrorKind,
        not_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET status = 'queued', error = $1, error_kind = $2, not_before = $3, updated_at = $4 \
             WHERE id = $5 AND status IN ('running', 'queued')",
        )
        .bind(error)
        .bind(kind.as_str())
        .bind(timestamp(not_before))
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Extend the claim on a running job. `false`: the claim is lost (the lease ran out and
    /// another process took the job back, or it was finished), so the caller must stop.
    pub async fn renew_job_lease(&self, id: &str, attempt: u32) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND status = 'running' AND attempts = $3",
        )
        .bind(lease_end())
        .bind(id)
        .bind(i64::from(attempt))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Jobs whose claimant stopped go back to the queue — or fail for good: a CLI run whose
    /// bytes were never queued, and a job that was running each of the `max_attempts` times a
    /// process stopped (a file that crashes the server must not crash it forever). The run that
    /// stopped counts as an attempt. `Exclusive`: every running job is such a job. Returns how
    /// many went back to the queue.
    pub async fn requeue_abandoned_jobs(
        &self,
        recovery: Recovery,
        max_attempts: u32,
    ) -> Result<u64> {
        let gave_up = format!(
            "processing stopped (the server stopped or crashed) on each of its {max_attempts} attempts; not tried again"
        );
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE jobs SET status = 'failed', error_kind = 'interrupted', \
             error = CASE WHEN blob IS NULL THEN 'interrupted' ELSE $1 END, updated_at = $2 \
             WHERE status = 'running' AND (lease_until IS NULL OR lease_until < $3) \
             AND (blob IS NULL OR attempts >= $4)",
        )
        .bind(&gave_up)
        .bind(now())
        .bind(recovery.lease_cutoff())
        .bind(i64::from(max_attempts.max(1)))
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query(
            "UPDATE jobs SET status = 'queued', updated_at = $1 \
             WHERE status = 'running' AND (lease_until IS NULL OR lease_until < $2)",
        )
        .bind(now())
        .bind(recovery.lease_cutoff())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    /// Whether the job is still running here (not cancelled, not taken back).
    pub async fn job_running(&self, id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT status FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>("status")? == "running",
            None => false,
        })
    }

    /// A deleted document's queued and running jobs fail for good; a running one notices
    /// (`job_running`) and stops without activating anything. Returns how many were cancelled.
    pub async fn cancel_jobs_for_source(&self, source: &str) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE jobs SET status = 'failed', error_kind = 'cancelled', \
             error = 'cancelled: the document was deleted', updated_at = $1 \
             WHERE source = $2 AND status IN ('queued', 'running')",
        )
        .bind(now())
        .bind(source)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn job_progress(
        &self,
        id: &str,
        document_id: Option<&str>,
        version_id: Option<&str>,
        pages: usize,
        chunks: usize,
        embedded: usize,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET document_id = COALESCE($1, document_id), version_id = COALESCE($2, version_id), \
             pages = CASE WHEN pages > $3 THEN pages ELSE $3 END, chunks = $4, embedded = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(document_id)
        .bind(version_id)
        .bind(pages as i64)
        .bind(chunks as i64)
        .bind(embedded as i64)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `Ok(outcome)` marks the job done, `Err((kind, message))` failed for good.
    pub async fn finish_job(
        &self,
        id: &str,
        outcome: Result<Outcome, (ErrorKind, &str)>,
    ) -> Result<()> {
        let (status, outcome, kind, error) = match outcome {
            Ok(o) => (JobStatus::Done, Some(o.as_str()), None, None),
            Err((k, e)) => (JobStatus::Failed, None, Some(k.as_str()), Some(e)),
        };
        let status = status.as_str();
        sqlx::query(
            "UPDATE jobs SET status = $1, outcome = $2, error_kind = COALESCE($3, error_kind), \
             error = CASE WHEN $4 = 'done' THEN NULL ELSE $5 END, updated_at = $6 \
             WHERE id = $7 AND status IN ('running', 'queued')",
        )
        .bind(status)
        .bind(outcome)
        .bind(kind)
        .bind(status)
        .bind(error)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn job(&self, id: &str) -> Result<Job> {
        let r = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        job_from_row(&r)
    }

    /// Most recent jobs first, optionally only those in `status`.
    pub async fn jobs(
        &self,
        status: Option<JobStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Job>> {
        let status = status.map(JobStatus::as_str);
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR status = $1) \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// How many jobs are in each state.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }
}
