//! Changes to a document as a whole: who may read it, and deleting it. Both take their turn with
//! version activations (`Store::lock_activations`), keep the narrower access at every moment,
//! and leave nothing behind.

use std::sync::Arc;

use super::originals::Originals;
use super::IngestError;
use crate::index::{IndexError, VectorIndex};
use crate::store::{Store, StoreError};

/// Run an index operation off the async runtime (a Qdrant server may be slow or retrying).
pub(crate) async fn off_runtime<T: Send + 'static>(
    index: &Arc<dyn VectorIndex>,
    op: impl FnOnce(&dyn VectorIndex) -> Result<T, IndexError> + Send + 'static,
) -> Result<T, IngestError> {
    let index = index.clone();
    Ok(tokio::task::spawn_blocking(move || op(index.as_ref()))
        .await
        .map_err(|e| IngestError::Internal(e.to_string()))??)
}

/// Change who may read a document. Crash-safe toward less access: the new groups are recorded
/// as pending first (from then on a reader needs both the old and the new), then set in the
/// index (what search filters on), then committed; a start re-applies a pending change.
pub async fn regroup(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
    document_id: &str,
    groups: &[String],
) -> Result<(), IngestError> {
    let _turn = store.lock_activations().await?;
    regroup_in_turn(store, index, document_id, groups).await
}

async fn regroup_in_turn(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
    document_id: &str,
    groups: &[String],
) -> Result<(), IngestError> {
    let doc = store.document(document_id).await?;
    let Some(version_id) = doc.active_version_id else {
        return Err(
            StoreError::Conflict(format!("document {document_id} has no active version")).into(),
        );
    };
    store.set_pending_groups(document_id, groups).await?;
    let g = groups.to_vec();
    off_runtime(index, move |i| i.set_groups(&version_id, &g)).await?;
    store.commit_groups(document_id, groups).await?;
    Ok(())
}

/// Finish the changes of groups a stopped process began (before anything is served).
pub async fn reapply_pending_groups(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
) -> Result<usize, IngestError> {
    let _turn = store.lock_activations().await?;
    let pending = store.pending_regroupings().await?;
    for (id, groups) in &pending {
        match regroup_in_turn(store, index, id, groups).await {
            // No active version (any more): nothing to regroup, only the mark to clear.
            Err(IngestError::Store(StoreError::Conflict(_))) => {
                store.commit_groups(id, groups).await?
            }
            other => other?,
        }
        tracing::info!(document_id = %id, "finished an interrupted change of groups");
    }
    Ok(pending.len())
}

/// Delete a document for good: its queued and running jobs are cancelled first (a running one
/// stops without activating anything), then it leaves search, then its records, then the files
/// no other version still needs.
pub async fn delete(
    store: &Store,
    index: &Arc<dyn VectorIndex>,
    originals: &Originals,
    document_id: &str,
) -> Result<(), IngestError> {
    let doc = store.document(document_id).await?;
    let blobs: Vec<String> = store
        .versions(document_id)
        .await?
        .into_iter()
        .map(|v| v.content_hash)
        .collect();
    let cancelled = store.cancel_jobs_for_source(&doc.source).await?;
    if cancelled > 0 {
        tracing::info!(
            document_id,
            jobs = cancelled,
            "cancelled the deleted document's ingest jobs"
        );
    }
    {
        // After any activation under way: it cannot bring the document back once this ran.
        let _turn = store.lock_activations().await?;
        let id = document_id.to_string();
        off_runtime(index, move |i| i.delete_document(&id)).await?;
        store.delete_document(document_id).await?;
    }
    remove_unused_originals(store, originals, &blobs).await;
    Ok(())
}

/// Remove the original files among `blobs` that no version and no unfinished job refers to.
pub async fn remove_unused_originals(store: &Store, originals: &Originals, blobs: &[String]) {
    for blob in blobs {
        match store.blob_in_use(blob).await {
            Ok(false) => {
                if let Err(e) = originals.remove(blob) {
                    tracing::warn!(blob = %blob, error = %e, "could not remove an original file");
                }
            }
            Ok(true) => {}
            Err(e) => {
                tracing::warn!(blob = %blob, error = %e, "could not check an original file's use")
            }
        }
    }
}
