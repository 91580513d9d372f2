//! `regula migrate`: an embedded deployment into PostgreSQL and a Qdrant server.

use super::*;

pub(super) struct MigrateTarget<'a> {
    pub(super) database: &'a str,
    pub(super) qdrant: &'a str,
    pub(super) api_key: Option<&'a str>,
    pub(super) collection: Option<&'a str>,
    pub(super) originals_dir: Option<&'a Path>,
}

pub(super) async fn migrate(
    settings: &Settings,
    to: MigrateTarget<'_>,
    json_out: bool,
) -> anyhow::Result<()> {
    if settings.database.url.is_some() || settings.index.qdrant_url.is_some() {
        bail!("this deployment already uses a database or Qdrant server; `migrate` copies an embedded one");
    }
    let lock = std::fs::File::create(settings.data_dir.join("regula.lock"))
        .with_context(|| format!("data dir {}", settings.data_dir.display()))?;
    if lock.try_lock().is_err() {
        bail!("the data dir is in use: stop `regula serve` before migrating");
    }
    let source = Store::open(&settings.database_url()).await?;
    let (dir, model, dim) = (
        settings.data_dir.join("index"),
        settings.embed.model_id.clone(),
        settings.embed.dimension,
    );
    let source_index = Arc::new(
        tokio::task::spawn_blocking(move || crate::index::EdgeIndex::open(&dir, &model, dim))
            .await??,
    );
    let target = Store::open(to.database).await?;
    let (url, key, collection, model) = (
        to.qdrant.to_string(),
        to.api_key.map(str::to_string),
        to.collection
            .map(str::to_string)
            .unwrap_or_else(|| settings.index.collection.clone()),
        settings.embed.model_id.clone(),
    );
    let target_index: Arc<dyn crate::index::VectorIndex> = Arc::new(
        tokio::task::spawn_blocking(move || {
            crate::index::RemoteIndex::connect(&url, key.as_deref(), &collection, &model, dim)
        })
        .await??,
    );
    let mut report = crate::migrate::copy(&source, source_index, &target, target_index).await?;
    if let Some(dir) = to.originals_dir {
        report.originals = crate::migrate::copy_originals(&settings.originals_dir(), dir)?;
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("| table | rows |\n| --- | ---: |");
        for (table, n) in &report.rows {
            println!("| {table} | {n} |");
        }
        println!(
            "\n{} points copied, {} versions active, {} original files copied.",
            report.points, report.active_versions, report.originals
        );
        println!(
            "Now set REGULA__DATABASE__URL={} and QDRANT_URL={} on every replica{}.",
            crate::store::redact_url(to.database),
            to.qdrant,
            if to.originals_dir.is_some() {
                ", and REGULA__INGEST__ORIGINALS_DIR to the shared originals folder"
            } else {
                ""
            }
        );
    }
    Ok(())
}
