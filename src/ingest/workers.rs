//! Background ingest workers over the persistent job queue in the database. A worker claims the
//! oldest due job, runs it, and records the outcome: done, queued again after a transient failure
//! (with a growing delay, a bounded number of times), or failed with its reason.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::optimizer::Optimizer;
use super::queue::Queue;
use super::recovery::recover_abandoned;
use super::{IngestError, IngestReport, Ingestor};
use crate::config::IngestSettings;
use crate::store::{Backend, QueuedJob, Recovery, Store, StoreError, JOB_LEASE};

/// How often an idle worker looks for due jobs (retries become due without a wake-up).
const IDLE_POLL: Duration = Duration::from_millis(1_000);

/// What the workers use, and nothing else.
#[derive(Clone)]
pub struct Workers {
    pub store: Store,
    pub ingestor: Ingestor,
    pub queue: Queue,
    pub optimizer: Arc<Optimizer>,
    pub settings: IngestSettings,
}

impl Workers {
    /// Start `ingest.workers` workers; on a shared database, also take back the jobs of a
    /// replica that stopped, once their leases end.
    pub fn start(self) {
        for n in 0..self.settings.workers.max(1) {
            let this = self.clone();
            tokio::spawn(async move { this.work(n).await });
        }
        if self.store.backend() == Backend::Postgres {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(JOB_LEASE / 2);
                loop {
                    tick.tick().await;
                    match recover_abandoned(
                        &self.store,
                        &self.ingestor.index,
                        Recovery::Shared,
                        self.settings.max_attempts,
                    )
                    .await
                    {
                        Ok(0) => {}
                        Ok(_) => self.queue.wake(),
                        Err(e) => {
                            tracing::error!(error = %e, "could not recover abandoned ingest jobs")
                        }
                    }
                }
            });
        }
    }

    async fn work(&self, n: usize) {
        loop {
            let job = match self.store.claim_job().await {
                Ok(job) => job,
                Err(e) => {
                    tracing::error!(worker = n, error = %e, "could not claim an ingest job");
                    tokio::time::sleep(IDLE_POLL).await;
                    continue;
                }
            };
            let Some(job) = job else {
                self.queue.next_wakeup(IDLE_POLL).await;
                continue;
            };
            let span = tracing::info_span!("ingest_job", job_id = %job.id, source = ?job.source, attempt = job.attempts);
            // Its own task: a panic in a parser or the chunker fails this job, not the worker.
            let run = {
                let (store, ingestor, job) =
                    (self.store.clone(), self.ingestor.clone(), job.clone());
                tokio::spawn(
                    async move {
                        with_lease(&store, &job.id, job.attempts, ingestor.run_job(&job, None))
                            .await
                    }
                    .instrument(span.clone()),
                )
            };
            let recorded = match run.await {
                Ok(Some(result)) => self.record(&job, result).instrument(span).await,
                Ok(None) => Ok(()),
                Err(e) => {
                    tracing::error!(parent: &span, error = %e, "the ingest job crashed");
                    self.store
                        .finish_job(
                            &job.id,
                            Err((
                                crate::store::ErrorKind::Internal,
                                "internal error while processing the file",
                            )),
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
        &self,
        job: &QueuedJob,
        result: Result<IngestReport, IngestError>,
    ) -> Result<(), StoreError> {
        let max_attempts = self.settings.max_attempts.max(1);
        match result {
            Ok(report) => {
                tracing::info!(outcome = %report.outcome, chunks = report.chunks, "ingested");
                self.store.finish_job(&job.id, Ok(report.outcome)).await?;
                self.optimizer.run_if_due();
                Ok(())
            }
            Err(e) if e.is_transient() && job.attempts < max_attempts => {
                let delay = self
                    .settings
                    .retry_backoff_ms
                    .saturating_mul(1 << (job.attempts - 1).min(10));
                tracing::warn!(error = %e, retry_in_ms = delay, "ingest failed; will retry");
                let not_before = chrono::Utc::now()
                    + chrono::Duration::milliseconds(i64::try_from(delay).unwrap_or(i64::MAX / 2));
                self.store
                    .retry_job(&job.id, &e.to_string(), e.kind(), not_before)
                    .await
            }
            Err(e) => {
                tracing::warn!(error = %e, "ingest failed");
                self.store
                    .finish_job(&job.id, Err((e.kind(), &e.to_string())))
                    .await
            }
        }
    }
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
