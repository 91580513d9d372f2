//! A watched folder (e.g. a share admins drop files on): new and changed files are queued for
//! ingestion, files removed from the folder are removed from search. A scan that finds the folder
//! missing or empty removes nothing — an unmounted share must not wipe the index.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::App;
use crate::ingest::Ingestor;
use crate::store::{JobOrigin, NewJob};

/// A file modified more recently than this may still be being copied: wait for the next scan.
const SETTLE: Duration = Duration::from_secs(2);

pub fn start(app: Arc<App>, dir: PathBuf) {
    let interval = Duration::from_secs(app.settings.ingest.watch_interval_secs.max(1));
    tokio::spawn(async move {
        tracing::info!(dir = %dir.display(), "watching folder for documents");
        let mut seen: HashMap<String, (SystemTime, u64)> = HashMap::new();
        loop {
            if let Err(e) = scan(&app, &dir, &mut seen).await {
                tracing::warn!(dir = %dir.display(), error = %e, "watched folder scan failed");
            }
            tokio::time::sleep(interval).await;
        }
    });
}

async fn scan(
    app: &Arc<App>,
    dir: &Path,
    seen: &mut HashMap<String, (SystemTime, u64)>,
) -> anyhow::Result<()> {
    let root = dir.to_path_buf();
    let files = tokio::task::spawn_blocking(move || Ingestor::collect_files(&[root])).await??;
    if files.is_empty() {
        return Ok(());
    }
    let prefix = match dir.file_name() {
        Some(name) => format!("{}/", name.to_string_lossy()),
        None => String::new(),
    };
    let present: HashSet<String> = files.iter().map(|(_, s)| s.clone()).collect();
    let mut queued = 0usize;
    for (path, source) in files {
        let meta = tokio::fs::metadata(&path).await?;
        let modified = meta.modified()?;
        let key = (modified, meta.len());
        if seen.get(&source) == Some(&key) {
            continue;
        }
        if SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default()
            < SETTLE
        {
            continue;
        }
        if meta.len() > app.settings.ingest.max_file_bytes {
            tracing::warn!(%source, bytes = meta.len(), "watched file over the size limit; skipped");
            seen.insert(source, key);
            continue;
        }
        let bytes = tokio::fs::read(&path).await?;
        let originals = app.ingestor.originals.clone();
        let hash = tokio::task::spawn_blocking(move || originals.put(&bytes)).await??;
        seen.insert(source.clone(), key);
        let current = app.store.document_by_source(&source).await?;
        if current.and_then(|d| d.active_hash).as_deref() == Some(hash.as_str()) {
            continue;
        }
        app.store
            .enqueue_job(NewJob {
                source: &source,
                groups: &app.settings.ingest.watch_groups,
                blob: &hash,
                origin: JobOrigin::Watch,
            })
            .await?;
        queued += 1;
    }
    if queued > 0 {
        tracing::info!(files = queued, "watched folder: files queued");
        app.job_wakeup.notify_waiters();
    }
    for doc in app.store.documents().await? {
        if doc.origin == JobOrigin::Watch.as_str()
            && doc.source.starts_with(&prefix)
            && !present.contains(&doc.source)
        {
            tracing::info!(source = %doc.source, "removed from the watched folder; deleting");
            app.delete_document(&doc.id).await?;
            seen.remove(&doc.source);
        }
    }
    Ok(())
}
