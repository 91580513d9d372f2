//! At start (and, for replicas, every half lease): finish what a stopped process began —
//! activations, changes of groups — and take back its ingest jobs.

use std::sync::Arc;

use super::documents::off_runtime;
use super::IngestError;
use crate::index::{IndexError, VectorIndex};
use crate::store::{Recovery, Store};

/// Finish the activations and changes of groups a stopped process began, fail the versions it
/// was building, remove their points from the index, and queue its jobs again (or fail those
/// that were running each of their `max_attempts` times a process stopped). Returns how many
/// jobs went back to the queue.
pub async fn recover_abandoned(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
    recovery: Recovery,
    max_attempts: u32,
) -> Result<u64, IngestError> {
    // First, so that purging inactive points below cannot take an active version's points.
    finish_activations(store, index, recovery).await?;
    super::documents::reapply_pending_groups(store, index).await?;
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
) -> Result<(), IngestError> {
    let _turn = store.lock_activations().await?;
    for pending in store.pending_activations(recovery).await? {
        let (doc, vid) = (pending.document_id.clone(), pending.version_id.clone());
        off_runtime(index, move |i| i.activate(&doc, &vid)).await?;
        store.index_activated(&pending.version_id).await?;
        tracing::info!(version_id = %pending.version_id, "finished an interrupted activation");
    }
    Ok(())
}
