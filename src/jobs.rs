//! Background ingest workers over the persistent job queue in the database. A worker claims the
//! oldest due job, runs it, and records the outcome: done, queued again after a transient failure
//! (with a growing delay, a bounded number of times), or failed with its reason.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::app::App;
use crate::store::{Job, QueuedJob, StoreError};

/// How often an idle worker looks for due jobs (retries become due without a wake-up).
const IDLE_POLL: Duration = Duration::from_millis(1_000);

pub fn start_workers(app: &Arc<App>) {
    for n in 0..app.settings.ingest.workers.max(1) {
        let app = app.clone();
        tokio::spawn(async move { worker(app, n).await });
    }
}

async fn worker(app: Arc<App>, n: usize) {
    loop {
        let job = match app.store.claim_job().await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(worker = n, error = %e, "could not claim an ingest job");
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
        };
        let Some(job) = job else {
            tokio::select! {
                _ = app.job_wakeup.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        };
        let span = tracing::info_span!("ingest_job", job_id = %job.id, source = %job.source, attempt = job.attempts);
        // Its own task: a panic in a parser or the chunker fails this job, not the worker.
        let run = {
            let app = app.clone();
            let job = job.clone();
            tokio::spawn(
                async move { app.ingestor.run_job(&job, None).await }.instrument(span.clone()),
            )
        };
        let recorded = match run.await {
            Ok(result) => record(&app, &job, result).instrument(span).await,
            Err(e) => {
                tracing::error!(parent: &span, error = %e, "the ingest job crashed");
                app.store
                    .finish_job(
                        &job.id,
                        Err(("internal", "internal error while processing the file")),
                    )
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(worker = n, error = %e, "could not record an ingest job's outcome");
        }
    }
}

async fn record(
    app: &Arc<App>,
    job: &QueuedJob,
    result: Result<crate::ingest::IngestReport, crate::ingest::IngestError>,
) -> Result<(), StoreError> {
    let max_attempts = app.settings.ingest.max_attempts.max(1);
    match result {
        Ok(report) => {
            tracing::info!(outcome = report.outcome, chunks = report.chunks, "ingested");
            app.store.finish_job(&job.id, Ok(report.outcome)).await?;
            app.optimize_if_due();
            Ok(())
        }
        Err(e) if e.is_transient() && job.attempts < max_attempts => {
            let delay = app
                .settings
                .ingest
                .retry_backoff_ms
                .saturating_mul(1 << (job.attempts - 1).min(10));
            tracing::warn!(error = %e, retry_in_ms = delay, "ingest failed; will retry");
            let not_before = chrono::Utc::now()
                + chrono::Duration::milliseconds(i64::try_from(delay).unwrap_or(i64::MAX / 2));
            app.store
                .retry_job(&job.id, &e.to_string(), e.kind(), not_before)
                .await
        }
        Err(e) => {
            tracing::warn!(error = %e, "ingest failed");
            app.store
                .finish_job(&job.id, Err((e.kind(), &e.to_string())))
                .await
        }
    }
}

/// Wait until every job in `ids` is done or failed (or `timeout` passes); their final rows.
pub async fn wait_for(
    app: &App,
    ids: &[String],
    timeout: Duration,
) -> Result<Vec<Job>, StoreError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            jobs.push(app.store.job(id).await?);
        }
        let finished = jobs
            .iter()
            .all(|j| j.status == "done" || j.status == "failed");
        if finished || tokio::time::Instant::now() >= deadline {
            return Ok(jobs);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
