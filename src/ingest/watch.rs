//! A watched folder (e.g. a share admins drop files on): new and changed files are queued for
//! ingestion, files removed from the folder are removed from search. A scan that finds the folder
//! missing or empty removes nothing — an unmounted share must not wipe the index.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::queue::Queue;
use super::{scan_folder, Ingestor};
use crate::config::IngestSettings;
use crate::store::{GroupsSpec, JobOrigin};

/// A file modified more recently than this may still be being copied: wait for the next scan.
const SETTLE: Duration = Duration::from_secs(2);

/// What the watcher uses, and nothing else.
#[derive(Clone)]
pub struct Watcher {
    pub ingestor: Ingestor,
    pub queue: Queue,
    pub settings: IngestSettings,
}

impl Watcher {
    pub fn start(self, dir: PathBuf) {
        let interval = Duration::from_secs(self.settings.watch_interval_secs.max(1));
        tokio::spawn(async move {
            tracing::info!(dir = %dir.display(), "watching folder for documents");
            let mut seen: HashMap<String, (SystemTime, u64)> = HashMap::new();
            loop {
                if let Err(e) = scan(&self, &dir, &mut seen).await {
                    tracing::warn!(dir = %dir.display(), error = %e, "watched folder scan failed");
                }
                tokio::time::sleep(interval).await;
            }
        });
    }
}

async fn scan(
    watcher: &Watcher,
    dir: &Path,
    seen: &mut HashMap<String, (SystemTime, u64)>,
) -> anyhow::Result<()> {
    let (root, base) = (
        dir.to_path_buf(),
        dir.parent().map(Path::to_path_buf).unwrap_or_default(),
    );
    let scan = tokio::task::spawn_blocking(move || scan_folder(&root, &base)).await?;
    if scan.files.is_empty() {
        // Missing, empty or unreadable: an unmounted share looks like this; delete nothing.
        if let Some((path, e)) = scan.unreadable.first() {
            tracing::warn!(path = ?path, error = %e, "watched folder unreadable");
        }
        return Ok(());
    }
    let prefix = match dir.file_name() {
        Some(name) => format!("{}/", name.to_string_lossy()),
        None => String::new(),
    };
    // Under a folder that could not be read, files are unknown, not gone.
    let mut unknown: Vec<String> = Vec::new();
    for (path, e) in &scan.unreadable {
        tracing::warn!(path = ?path, error = %e, "part of the watched folder is unreadable; skipped");
        let rel = path
            .strip_prefix(dir.parent().unwrap_or(dir))
            .unwrap_or(path);
        unknown.push(rel.to_string_lossy().replace('\\', "/"));
    }
    let present: HashSet<String> = scan.files.iter().map(|(_, s)| s.clone()).collect();
    let mut queued = 0usize;
    for (path, source) in scan.files {
        // One file that cannot be read is reported and skipped; the scan goes on.
        match queue_if_changed(watcher, &path, &source, seen).await {
            Ok(true) => queued += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(source = ?source, error = %e, "watched file unreadable; skipped")
            }
        }
    }
    if queued > 0 {
        tracing::info!(files = queued, "watched folder: files queued");
    }
    let ingestor = &watcher.ingestor;
    for doc in ingestor.store.documents().await? {
        let under_unknown = unknown
            .iter()
            .any(|u| doc.source == *u || doc.source.starts_with(&format!("{u}/")));
        if doc.origin == JobOrigin::Watch.as_str()
            && doc.source.starts_with(&prefix)
            && !present.contains(&doc.source)
            && !under_unknown
        {
            tracing::info!(source = ?doc.source, "removed from the watched folder; deleting");
            ingestor.delete_document(&doc.id).await?;
            seen.remove(&doc.source);
        }
    }
    Ok(())
}

/// Queue one watched file when it is new or changed and has settled; `true` when queued.
async fn queue_if_changed(
    watcher: &Watcher,
    path: &Path,
    source: &str,
    seen: &mut HashMap<String, (SystemTime, u64)>,
) -> anyhow::Result<bool> {
    // Not followed: the file may have been swapped for a symlink or FIFO since the walk.
    let meta = tokio::fs::symlink_metadata(path).await?;
    if !meta.is_file() {
        anyhow::bail!("no longer a regular file");
    }
    let modified = meta.modified()?;
    let key = (modified, meta.len());
    if seen.get(source) == Some(&key) {
        return Ok(false);
    }
    if SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default()
        < SETTLE
    {
        return Ok(false);
    }
    if meta.len() > watcher.settings.max_file_bytes {
        tracing::warn!(source = ?source, bytes = meta.len(), "watched file over the size limit; skipped");
        seen.insert(source.to_string(), key);
        return Ok(false);
    }
    let bytes = tokio::fs::read(path).await?;
    let originals = watcher.ingestor.originals.clone();
    let hash = tokio::task::spawn_blocking(move || originals.put(&bytes)).await??;
    seen.insert(source.to_string(), key);
    let current = watcher.ingestor.store.document_by_source(source).await?;
    if current.and_then(|d| d.active_hash).as_deref() == Some(hash.as_str()) {
        return Ok(false);
    }
    // A file the folder already brought keeps the document's groups (an admin may have
    // narrowed them); the configured ones are for new documents.
    watcher
        .queue
        .submit(
            source,
            &hash,
            &GroupsSpec::Inherit {
                otherwise: watcher.settings.watch_groups.clone(),
            },
            JobOrigin::Watch,
        )
        .await?;
    Ok(true)
}
