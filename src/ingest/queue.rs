//! The ingest queue: jobs are rows in the database (they survive restarts and are shared by
//! replicas); submitting one also wakes this process's idle workers. Every door that queues a
//! file (upload, re-index, the watched folder) goes through `Queue::submit`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::{GroupsSpec, Job, JobOrigin, NewJob, Store, StoreError};

#[derive(Clone)]
pub struct Queue {
    store: Store,
    wakeup: Arc<Notify>,
}

impl Queue {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            wakeup: Arc::new(Notify::new()),
        }
    }

    /// Queue the stored original `blob` for ingestion as `source`; its job id.
    pub async fn submit(
        &self,
        source: &str,
        blob: &str,
        groups: &GroupsSpec,
        origin: JobOrigin,
    ) -> Result<String, StoreError> {
        let id = self
            .store
            .enqueue_job(NewJob {
                source,
                groups,
                blob,
                origin,
            })
            .await?;
        self.wake();
        Ok(id)
    }

    /// Wake idle workers (jobs became due without a submit: taken back from a stopped replica).
    pub fn wake(&self) {
        self.wakeup.notify_waiters();
    }

    /// Until a job is submitted or `idle` passes.
    pub(super) async fn next_wakeup(&self, idle: Duration) {
        tokio::select! {
            _ = self.wakeup.notified() => {}
            _ = tokio::time::sleep(idle) => {}
        }
    }

    /// Wait until every job in `ids` is done or failed (or `timeout` passes); their final rows.
    pub async fn wait_for(
        &self,
        ids: &[String],
        timeout: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut jobs = Vec::with_capacity(ids.len());
            for id in ids {
                jobs.push(self.store.job(id).await?);
            }
            let finished = jobs.iter().all(|j| j.status.is_finished());
            if finished || tokio::time::Instant::now() >= deadline {
                return Ok(jobs);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
