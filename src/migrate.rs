//! `regula migrate`: copy an embedded deployment (SQLite + qdrant-edge in the data dir) into
//! PostgreSQL and a Qdrant server, so a company that outgrows one machine keeps its documents,
//! accounts, keys, conversations and audit trail — and its vectors, without re-embedding.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::index::{EdgeIndex, VectorIndex};
use crate::store::{Backend, Store};

/// Points read from the embedded index per page.
const PAGE: usize = 512;

#[derive(Debug, Serialize)]
pub struct MigrateReport {
    pub rows: Vec<(String, u64)>,
    pub points: u64,
    pub active_versions: usize,
    pub originals: u64,
}

/// Copy `source` (the embedded store) and `source_index` into `target` and `target_index`,
/// both of which must be empty; then check that the counts agree. Versions active in the
/// source are active in the target; anything the source never activated is left behind.
pub async fn copy(
    source: &Store,
    source_index: Arc<EdgeIndex>,
    target: &Store,
    target_index: Arc<dyn VectorIndex>,
) -> anyhow::Result<MigrateReport> {
    if source.backend() != Backend::Sqlite {
        bail!("the source must be an embedded deployment (SQLite in the data dir)");
    }
    let existing = {
        let t = target_index.clone();
        tokio::task::spawn_blocking(move || t.count()).await??
    };
    if existing > 0 {
        bail!("the target vector index already holds {existing} points; migrate into an empty collection");
    }
    let rows = source.copy_into(target).await?;

    let (points, active) = {
        let (from, to) = (source_index.clone(), target_index.clone());
        tokio::task::spawn_blocking(
            move || -> anyhow::Result<(u64, BTreeSet<(String, String)>)> {
                let mut cursor: Option<String> = None;
                let (mut points, mut active) = (0u64, BTreeSet::new());
                loop {
                    let (page, next) = from.export_page(cursor.as_deref(), PAGE)?;
                    points += page.len() as u64;
                    let mut batch = Vec::with_capacity(page.len());
                    for (point, is_active) in page {
                        if is_active {
                            active.insert((
                                point.payload.document_id.clone(),
                                point.payload.version_id.clone(),
                            ));
                        }
                        batch.push(point);
                    }
                    to.upsert(batch)?;
                    match next {
                        Some(n) => cursor = Some(n),
                        None => break,
                    }
                }
                for (document, version) in &active {
                    to.activate(document, version)?;
                }
                to.purge_inactive()?;
                to.flush()?;
                Ok((points, active))
            },
        )
        .await??
    };

    let (source_count, target_count) = {
        let (from, to) = (source_index.clone(), target_index.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
            Ok((from.count()?, to.count()?))
        })
        .await??
    };
    let source_chunks = source.chunk_count().await?;
    let target_chunks = target.chunk_count().await?;
    if source_chunks != target_chunks {
        bail!(
            "copied {target_chunks} active passages of {source_chunks}; the target is incomplete"
        );
    }
    if target_count > source_count {
        bail!("the target index holds {target_count} points, the source {source_count}");
    }
    Ok(MigrateReport {
        rows: rows.into_iter().map(|(t, n)| (t.to_string(), n)).collect(),
        points,
        active_versions: active.len(),
        originals: 0,
    })
}

/// Copy stored original files into a (shared) folder, keeping names; files already there stay.
pub fn copy_originals(from: &Path, to: &Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(to).with_context(|| format!("originals folder {}", to.display()))?;
    let mut copied = 0;
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if !entry.file_type()?.is_file() || name.to_string_lossy().ends_with(".tmp") {
            continue;
        }
        let dest = to.join(&name);
        if !dest.exists() {
            // Through a temporary name, so a reader never sees half a file.
            let tmp = to.join(format!("{}.migrate.tmp", name.to_string_lossy()));
            std::fs::copy(entry.path(), &tmp)?;
            std::fs::rename(&tmp, &dest)?;
            copied += 1;
        }
    }
    Ok(copied)
}
