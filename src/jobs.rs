//! Background ingest workers over the persistent job queue in the database. A worker claims the
//! oldest due job, runs it, and records the outcome: done, queued again after a transient failure
//! (with a growing delay, a bounded number of times), or failed with its reason.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::app::{App, AppError};
use crate::index::{IndexError, VectorIndex};
use crate::ingest::documents::off_runtime;
use crate::store::{Backend, Job, QueuedJob, Recovery, Store, StoreError, JOB_LEASE};

/// How often an idle worker looks for due jobs (retries become due without a wake-up).
const IDLE_POLL: Duration = Duration::from_millis(1_000);

pub fn start_workers(app: &Arc<App>) {
    for n in 0..app.settings.ingest.workers.max(1) {
        let app = app.clone();
        tokio::spawn(async move { worker(app, n).await });
    }
    // Replicas sharing a database take back the jobs of one that stopped, once its leases end.
    if app.store.backend() == Backend::Postgres {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(JOB_LEASE / 2);
            loop {
                tick.tick().await;
                let max_attempts = app.settings.ingest.max_attempts;
                match recover_abandoned(&app.store, &app.index, Recovery::Shared, max_attempts)
                    .await
                {
                    Ok(0) => {}
                    Ok(_) => app.job_wakeup.notify_waiters(),
                    Err(e) => {
                        tracing::error!(error = %e, "could not recover abandoned ingest jobs")
                    }
                }
            }
        });
    }
}

/// Finish the activations and changes of groups a stopped process began, fail the versions it
/// was building, remove their points from the index, and queue its jobs again (or fail those
/// that were running each of their `max_attempts` times a process stopped). Returns how many
/// jobs went back to the queue.
pub async fn recover_abandoned(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
    recovery: Recovery,
    max_attempts: u32,
) -> Result<u64, AppError> {
    // First, so that purging inactive points below cannot take an active version's points.
    finish_activations(store, index, recovery).await?;
    crate::ingest::documents::reapply_pending_groups(store, index).await?;
    let versions = store.fail_abandoned_versions(recovery).await?;
    if !versions.is_empty() {
        let index = index.clone();
        let exclusive = recovery == Recovery::Exclusive;
        tokio::task::spawn_blocking(move || {
            for v in &versions {
                index.delete_version(v)?;
            }
            // Alone, any point never activated is left over (an earlier failed version's too);
            // shared, another replica's fresh points are not ours to drop.
            if exclusive {
                index.purge_inactive()?;
            }
            Ok::<_, IndexError>(())
        })
        .await
        .map_err(|e| IndexError::Engine(e.to_string()))??;
    }
    let requeued = store.requeue_abandoned_jobs(recovery, max_attempts).await?;
    if requeued > 0 {
        tracing::info!(jobs = requeued, "resuming interrupted ingest jobs");
    }
    Ok(requeued)
}

/// Show in the index the versions the database already calls active (a process stopped between
/// the two steps of an activation), hiding every other version of their documents.
async fn finish_activations(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
    recovery: Recovery,
) -> Result<(), AppError> {
    let _turn = store.lock_activations().await?;
    for pending in store.pending_activations(recovery).await? {
        let (doc, vid) = (pending.document_id.clone(), pending.version_id.clone());
        off_runtime(index, move |i| i.activate(&doc, &vid)).await?;
        store.index_activated(&pending.version_id).await?;
        tracing::info!(version_id = %pending.version_id, "finished an interrupted activation");
    }
    Ok(())
}

/// Run `work` while renewing the job's lease; `None` when the lease was lost (the job was taken
/// back after this process stalled past its lease), and the work is abandoned.
pub async fn with_lease<T>(
    store: &Store,
    job_id: &str,
    attempt: u32,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    let renew = async {
        let mut tick = tokio::time::interval(JOB_LEASE / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match store.renew_job_lease(job_id, attempt).await {
                Ok(true) => {}
                Ok(false) => return,
                // A database hiccup: keep working, the next renewal may succeed in time.
                Err(e) => tracing::warn!(error = %e, "could not renew an ingest job's lease"),
            }
        }
    };
    tokio::select! {
        out = work => Some(out),
        () = renew => {
            tracing::warn!(job_id, "lost the lease on an ingest job; another process runs it");
            None
        }
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
        let span = tracing::info_span!("ingest_job", job_id = %job.id, source = ?job.source, attempt = job.attempts);
        // Its own task: a panic in a parser or the chunker fails this job, not the worker.
        let run = {
            let app = app.clone();
            let job = job.clone();
            tokio::spawn(
                async move {
                    with_lease(
                        &app.store,
                        &job.id,
                        job.attempts,
                        app.ingestor.run_job(&job, None),
                    )
                    .await
                }
                .instrument(span.clone()),
            )
        };
        let recorded = match run.await {
            Ok(Some(result)) => record(&app, &job, result).instrument(span).await,
            Ok(None) => Ok(()),
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
