//! Document administration: uploads (streamed to disk, queued for the ingest workers), the
//! document list, versions, chunks, re-indexing, deletion, and job progress.

use std::time::Duration;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, Result};
use super::AppState;
use crate::config::Settings;
use crate::ingest::normalise_source;
use crate::store::{JobOrigin, NewJob};

/// The largest request body an upload may have (all its files together).
pub fn upload_limit(settings: &Settings) -> usize {
    usize::try_from(settings.ingest.max_upload_bytes).unwrap_or(usize::MAX)
}

/// How long `?wait=true` waits for the jobs of an upload.
const WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize)]
pub struct UploadParams {
    /// Answer when the files are indexed (or failed) instead of when they are queued.
    #[serde(default)]
    wait: bool,
}

/// `multipart/form-data`: one or more `file` fields and an optional `groups` field
/// (comma-separated). Each file streams to disk under its content hash and becomes a queued job;
/// the answer (202) lists the job ids to follow on `GET /api/v1/jobs/{id}`.
pub async fn upload(
    State(app): State<AppState>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response> {
    // A body announced as too large is refused before any of it is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.settings.ingest.max_upload_bytes) {
        return Err(ApiError::PayloadTooLarge(format!(
            "the upload is larger than {} bytes",
            app.settings.ingest.max_upload_bytes
        )));
    }
    let mut groups: Vec<String> = Vec::new();
    let mut accepted: Vec<(String, String, String)> = Vec::new(); // (file, source, blob)
    let mut rejected: Vec<(String, ApiError)> = Vec::new();
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("groups") => {
                let text = field.text().await.map_err(multipart_error)?;
                groups = text
                    .split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect();
            }
            Some("file") | Some("files") => {
                let name = field
                    .file_name()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::BadRequest("a file field needs a file name".into()))?;
                let source = match normalise_source(&name) {
                    Ok(s) => s,
                    Err(e) => {
                        rejected.push((name, e.into()));
                        continue;
                    }
                };
                let mut spool = app
                    .ingestor
                    .originals
                    .writer(app.settings.ingest.max_file_bytes)
                    .await?;
                let mut refused = None;
                while let Some(bytes) = field.chunk().await.map_err(multipart_error)? {
                    if let Err(e) = spool.write(&bytes).await {
                        refused = Some(e);
                        break;
                    }
                }
                match refused {
                    // Too large: the rest of this file is skipped, the spool file removed.
                    Some(e) => {
                        while field.chunk().await.map_err(multipart_error)?.is_some() {}
                        rejected.push((name, e.into()));
                    }
                    None => {
                        let blob = spool.commit().await?;
                        accepted.push((name, source, blob));
                    }
                }
            }
            _ => {}
        }
    }
    if accepted.is_empty() && rejected.is_empty() {
        return Err(ApiError::BadRequest(
            "no file in the upload (field `file`)".into(),
        ));
    }
    let groups = if groups.is_empty() {
        vec!["everyone".to_string()]
    } else {
        groups
    };
    let mut queued = Vec::new();
    for (file, source, blob) in &accepted {
        let id = app
            .store
            .enqueue_job(NewJob {
                source,
                groups: &groups,
                blob,
                origin: JobOrigin::Upload,
            })
            .await?;
        queued.push((file.clone(), id));
    }
    app.job_wakeup.notify_waiters();

    let mut results: Vec<serde_json::Value> = rejected
        .iter()
        .map(|(file, e)| json!({"file": file, "ok": false, "error": {"code": e.code(), "message": e.public_message()}}))
        .collect();
    let mut first_error: Option<(String, ApiError)> = rejected.into_iter().next();
    if !params.wait {
        for (file, id) in &queued {
            results.push(json!({"file": file, "ok": true, "job_id": id, "status": "queued"}));
        }
        return respond(StatusCode::ACCEPTED, results, first_error);
    }
    let ids: Vec<String> = queued.iter().map(|(_, id)| id.clone()).collect();
    let jobs = crate::jobs::wait_for(&app, &ids, WAIT_LIMIT).await?;
    for ((file, _), job) in queued.iter().zip(jobs) {
        if job.status == "failed" {
            let e = ApiError::from_job_failure(
                job.error_kind.as_deref().unwrap_or("internal"),
                job.error.as_deref().unwrap_or("failed"),
            );
            results.push(json!({"file": file, "ok": false, "job": job, "error": {"code": e.code(), "message": e.public_message()}}));
            first_error.get_or_insert((file.clone(), e));
        } else {
            results.push(json!({"file": file, "ok": job.status == "done", "job": job}));
        }
    }
    respond(StatusCode::OK, results, first_error)
}

/// Per-file results; when every file failed, the status of the first failure.
fn respond(
    ok_status: StatusCode,
    results: Vec<serde_json::Value>,
    first_error: Option<(String, ApiError)>,
) -> Result<Response> {
    let all_failed = results.iter().all(|r| r["ok"] == false);
    match first_error {
        Some((name, e)) if all_failed => {
            let body = json!({
                "error": {"code": e.code(), "message": format!("{name}: {}", e.public_message())},
                "results": results,
            });
            Ok((e.status(), Json(body)).into_response())
        }
        _ => Ok((ok_status, Json(json!({ "results": results }))).into_response()),
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(e.body_text())
    } else {
        ApiError::BadRequest(format!("upload: {e}"))
    }
}

#[derive(Debug, Deserialize)]
pub struct Page {
    limit: Option<i64>,
    offset: Option<i64>,
    status: Option<String>,
}

impl Page {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
    fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

pub async fn list(State(app): State<AppState>, Query(page): Query<Page>) -> Result<Response> {
    let (docs, total) = app
        .store
        .documents_page(page.limit(), page.offset())
        .await?;
    Ok(Json(json!({ "documents": docs, "total": total, "limit": page.limit(), "offset": page.offset() }))
        .into_response())
}

pub async fn get(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let doc = app.store.document(&id).await?;
    let versions = app.store.versions(&id).await?;
    let mut body = serde_json::to_value(doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["versions"] =
        serde_json::to_value(versions).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(body).into_response())
}

pub async fn delete(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    app.delete_document(&id).await?;
    Ok(Json(json!({ "deleted": id })).into_response())
}

pub async fn chunks(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let chunks = app.store.active_chunks(&id).await?;
    Ok(Json(json!({ "document_id": id, "chunks": chunks })).into_response())
}

/// Re-extract, re-chunk and re-embed the active version (after a chunker or model change), even
/// though its content did not change. Queued like an upload.
pub async fn reindex(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let doc = app.store.document(&id).await?;
    let (Some(hash), Some(active)) = (doc.active_hash.as_deref(), doc.active.as_ref()) else {
        return Err(ApiError::Conflict(
            "the document has no active version to re-index".into(),
        ));
    };
    let job_id = app
        .store
        .enqueue_job(NewJob {
            source: &doc.source,
            groups: &active.groups,
            blob: hash,
            origin: JobOrigin::Reindex,
        })
        .await?;
    app.job_wakeup.notify_waiters();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": job_id, "status": "queued" })),
    )
        .into_response())
}

pub async fn list_jobs(State(app): State<AppState>, Query(page): Query<Page>) -> Result<Response> {
    let jobs = app
        .store
        .jobs(page.status.as_deref(), page.limit(), page.offset())
        .await?;
    Ok(Json(json!({ "jobs": jobs })).into_response())
}

pub async fn get_job(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    Ok(Json(app.store.job(&id).await?).into_response())
}
