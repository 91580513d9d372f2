//! `regula ingest`: here, or uploaded to a running server with its jobs followed.

use super::*;

pub(super) async fn ingest(
    settings: Settings,
    paths: &[PathBuf],
    groups: &[String],
    json_out: bool,
) -> anyhow::Result<()> {
    let files = crate::ingest::Ingestor::collect_files(paths)?;
    if files.is_empty() {
        bail!("no files found under {paths:?}");
    }
    let app = App::build(settings, Parts::Retrieval).await?;
    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let started = std::time::Instant::now();
    let (mut indexed, mut unchanged, mut skipped, mut failed, mut chunks) = (0, 0, 0, 0, 0);
    let mut reports = Vec::new();
    for (path, source) in &files {
        bar.set_message(source.clone());
        let result = match std::fs::read(path) {
            Ok(bytes) => {
                let b = bar.clone();
                let progress: crate::ingest::Progress = Arc::new(move |done, total| {
                    b.set_message(format!("embedded {done}/{total}"));
                });
                app.ingestor
                    .ingest_bytes(source, bytes, groups.to_vec(), Some(progress))
                    .await
                    .map_err(|e| match e {
                        // A page with front matter only (a redirect stub) is skipped, not failed.
                        IngestError::Empty => None,
                        other => Some(other.to_string()),
                    })
            }
            Err(e) => Err(Some(format!("cannot read: {e}"))),
        };
        match result {
            Ok(r) => {
                if r.outcome != crate::store::Outcome::Indexed {
                    unchanged += 1;
                } else {
                    indexed += 1;
                    chunks += r.chunks;
                }
                reports.push(json!({"source": source, "ok": true, "report": r}));
            }
            Err(None) => {
                skipped += 1;
                reports.push(json!({"source": source, "ok": true, "skipped": "no text"}));
            }
            Err(Some(e)) => {
                failed += 1;
                bar.println(format!("failed: {source}: {e}"));
                reports.push(json!({"source": source, "ok": false, "error": e}));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let index = app.index.clone();
    tokio::task::spawn_blocking(move || {
        index.optimize()?;
        index.flush()
    })
    .await??;
    let seconds = started.elapsed().as_secs_f64();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "indexed": indexed, "unchanged": unchanged, "skipped": skipped, "failed": failed,
                "chunks": chunks, "seconds": seconds, "files": reports,
            }))?
        );
    } else {
        println!(
            "{indexed} indexed ({chunks} chunks), {unchanged} unchanged, {skipped} skipped (no text), {failed} failed in {seconds:.1}s"
        );
    }
    if failed > 0 {
        bail!("{failed} of {} files failed (see above)", files.len());
    }
    Ok(())
}

/// Upload each file to a server, then follow its jobs with a progress bar (chunks embedded).
pub(super) async fn ingest_remote(
    base: &str,
    key: Option<&str>,
    paths: &[PathBuf],
    groups: &[String],
    json_out: bool,
) -> anyhow::Result<()> {
    let files = crate::ingest::Ingestor::collect_files(paths)?;
    if files.is_empty() {
        bail!("no files found under {paths:?}");
    }
    let base = base.trim_end_matches('/');
    let client = http_client(key)?;
    let mut jobs: Vec<(String, String)> = Vec::new();
    let mut refused = 0usize;
    for (path, source) in &files {
        let bytes = tokio::fs::read(path).await?;
        let form = reqwest::multipart::Form::new()
            .text("groups", groups.join(","))
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(source.clone()),
            );
        let url = format!("{base}/api/v1/documents");
        let (status, value) = send(client.post(&url).multipart(form), &url).await?;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            bail!(
                "{status}: {} (uploads need an admin API key: --api-key or REGULA_API_KEY)",
                value["error"]["message"].as_str().unwrap_or("refused")
            );
        }
        for r in value["results"].as_array().into_iter().flatten() {
            match r["job_id"].as_str() {
                Some(id) => jobs.push((source.clone(), id.to_string())),
                None => {
                    refused += 1;
                    eprintln!(
                        "failed: {source}: {}",
                        r["error"]["message"].as_str().unwrap_or("refused")
                    );
                }
            }
        }
    }
    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(jobs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut finished = Vec::new();
    let mut failed = 0usize;
    for (source, id) in &jobs {
        loop {
            let url = format!("{base}/api/v1/jobs/{id}");
            let (_, job) = send(client.get(&url), &url).await?;
            let status = job["status"].as_str().unwrap_or_default();
            bar.set_message(format!(
                "{source}: {status}, embedded {}/{}",
                job["embedded"], job["chunks"]
            ));
            if status == "done" || status == "failed" {
                if status == "failed" {
                    failed += 1;
                    bar.println(format!(
                        "failed: {source}: {}",
                        job["error"].as_str().unwrap_or("failed")
                    ));
                }
                finished.push(job);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "jobs": finished }))?
        );
    } else {
        println!(
            "{} files ingested by the server, {} failed",
            jobs.len() - failed,
            failed + refused
        );
    }
    if failed + refused > 0 {
        bail!(
            "{} of {} files failed (see above)",
            failed + refused,
            files.len()
        );
    }
    Ok(())
}
