//! Document administration: uploads (streamed to disk, queued for the ingest workers), the
//! document list, versions, chunks, re-indexing, deletion, and job progress.

use std::time::Duration;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Admin;
use super::error::{ApiError, Result};
use super::AppState;
use crate::auth::{normalise_groups, Principal};
use crate::config::Settings;
use crate::ingest::normalise_source;
use crate::store::{GroupsSpec, JobOrigin, JobStatus};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The largest request body an upload may have (all its files together).
pub fn upload_limit(settings: &Settings) -> usize {
    usize::try_from(settings.ingest.max_upload_bytes).unwrap_or(usize::MAX)
}

/// How long `?wait=true` waits for the jobs of an upload.
const WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Answer when the files are indexed (or failed) instead of when they are queued.
    #[serde(default)]
    wait: bool,
}

/// `multipart/form-data`: one or more `file` fields and an optional `groups` field
/// (comma-separated). Without groups (or with an empty field), a new version keeps the document's
/// current groups and a new document is readable by `everyone`; named groups apply even when the
/// content is unchanged. Each file streams to disk under its content hash and becomes a queued job;
/// the answer (202) lists the job ids to follow on `GET /api/v1/jobs/{id}`.
#[utoipa::path(post, path = "/api/v1/documents", tag = "documents", params(UploadParams),
    request_body(content_type = "multipart/form-data", description = "`file` fields (one or more) and `groups` (comma-separated)"),
    responses((status = 202, description = "queued: `{results: [{file, ok, job_id}]}`"), (status = 200, description = "with `wait=true`: the finished jobs"),
        (status = 413), (status = 422), (status = 403)))]
pub async fn upload(
    State(app): State<AppState>,
    _: Admin,
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
    let groups = normalise_groups(groups);
    let groups = if groups.is_empty() {
        GroupsSpec::Inherit {
            otherwise: vec![crate::auth::EVERYONE.to_string()],
        }
    } else {
        GroupsSpec::Explicit(groups)
    };
    let mut queued = Vec::new();
    for (file, source, blob) in &accepted {
        let id = app
            .queue
            .submit(source, blob, &groups, JobOrigin::Upload)
            .await?;
        queued.push((file.clone(), id));
    }

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
    let jobs = app.queue.wait_for(&ids, WAIT_LIMIT).await?;
    for ((file, _), job) in queued.iter().zip(jobs) {
        if job.status == JobStatus::Failed {
            let e = ApiError::from_job_failure(
                job.error_kind.unwrap_or(crate::store::ErrorKind::Internal),
                job.error.as_deref().unwrap_or("failed"),
            );
            results.push(json!({"file": file, "ok": false, "job": job, "error": {"code": e.code(), "message": e.public_message()}}));
            first_error.get_or_insert((file.clone(), e));
        } else {
            results.push(json!({"file": file, "ok": job.status == JobStatus::Done, "job": job}));
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    limit: Option<i64>,
    offset: Option<i64>,
    status: Option<JobStatus>,
}

impl Page {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
    fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

/// Documents the caller may read (all of them for admins), by source name.
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", params(Page),
    responses((status = 200, description = "`{documents: [Document], total, limit, offset}`"), (status = 401)))]
pub async fn list(
    State(app): State<AppState>,
    principal: Principal,
    Query(page): Query<Page>,
) -> Result<Response> {
    let (docs, total) = if principal.is_admin() {
        app.store
            .documents_page(page.limit(), page.offset())
            .await?
    } else {
        // Only readable documents are counted or listed: a title is already information.
        let readable: Vec<_> = app
            .store
            .documents()
            .await?
            .into_iter()
            .filter(|d| d.readable_by(&principal))
            .collect();
        let total = readable.len() as i64;
        let docs = readable
            .into_iter()
            .skip(page.offset() as usize)
            .take(page.limit() as usize)
            .collect();
        (docs, total)
    };
    Ok(Json(json!({ "documents": docs, "total": total, "limit": page.limit(), "offset": page.offset() }))
        .into_response())
}

/// The document if the caller may read its active version; otherwise "not found", so its
/// existence is not revealed either.
async fn readable_document(
    app: &crate::app::App,
    principal: &Principal,
    id: &str,
) -> Result<crate::store::Document> {
    let doc = app.store.document(id).await?;
    if doc.readable_by(principal) {
        Ok(doc)
    } else {
        Err(ApiError::NotFound(format!("document {id} not found")))
    }
}

/// A document with its versions (admins see every version; others the active one's facts).
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response> {
    let doc = readable_document(&app, &principal, &id).await?;
    let mut body = serde_json::to_value(doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    if principal.is_admin() {
        let versions = app.store.versions(&id).await?;
        body["versions"] =
            serde_json::to_value(versions).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(Json(body).into_response())
}

/// Remove a document from search, then its records.
#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404)))]
pub async fn delete(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response> {
    app.ingestor.delete_document(&id).await?;
    Ok(Json(json!({ "deleted": id })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DocumentPatch {
    /// Groups that may read the document (`everyone` for all).
    groups: Vec<String>,
}

/// Change who may read a document; searches see the change at once.
#[utoipa::path(patch, path = "/api/v1/documents/{id}", tag = "documents", request_body = DocumentPatch,
    params(("id" = String, Path)), responses((status = 200), (status = 400), (status = 403), (status = 404)))]
pub async fn update(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Json(body): Json<DocumentPatch>,
) -> Result<Response> {
    let groups = normalise_groups(body.groups);
    if groups.is_empty() {
        return Err(ApiError::BadRequest(
            "a document needs at least one group (`everyone` for all)".into(),
        ));
    }
    app.ingestor.regroup(&id, &groups).await?;
    Ok(Json(json!({ "id": id, "groups": groups })).into_response())
}

/// The active version's passages, in order.
#[utoipa::path(get, path = "/api/v1/documents/{id}/chunks", tag = "documents",
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn chunks(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response> {
    readable_document(&app, &principal, &id).await?;
    let chunks = app.store.active_chunks(&id).await?;
    Ok(Json(json!({ "document_id": id, "chunks": chunks })).into_response())
}

/// The original file of the active version, as uploaded. Always an attachment in a sandbox, so
/// an uploaded HTML file can never run in Regula's origin.
#[utoipa::path(get, path = "/api/v1/documents/{id}/original", tag = "documents",
    params(("id" = String, Path)), responses((status = 200, description = "the file"), (status = 404)))]
pub async fn original(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response> {
    let doc = readable_document(&app, &principal, &id).await?;
    let (Some(hash), Some(active)) = (doc.active_hash.as_deref(), doc.active.as_ref()) else {
        return Err(ApiError::NotFound(format!(
            "document {id} has no active version"
        )));
    };
    let path = app.ingestor.originals.path(hash)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("original {}: {e}", path.display())))?;
    let content_type = match active.format.as_str() {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "hwpx" => "application/hwp+zip",
        "html" => "text/html; charset=utf-8",
        "markdown" => "text/markdown; charset=utf-8",
        "text" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let file_name = doc
        .source
        .rsplit('/')
        .next()
        .unwrap_or("document")
        .replace(['"', '\\', '\r', '\n'], "_");
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(&file_name)
    );
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let headers = [
        (header::CONTENT_TYPE, content_type.to_string()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'".to_string(),
        ),
    ];
    Ok((headers, body).into_response())
}

/// RFC 5987 encoding for `filename*`.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Re-extract, re-chunk and re-embed the active version (after a chunker or model change), even
/// though its content did not change. Queued like an upload.
#[utoipa::path(post, path = "/api/v1/documents/{id}/reindex", tag = "documents",
    params(("id" = String, Path)), responses((status = 202), (status = 403), (status = 404), (status = 409)))]
pub async fn reindex(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response> {
    let doc = app.store.document(&id).await?;
    let Some(hash) = doc.active_hash.as_deref() else {
        return Err(ApiError::Conflict(
            "the document has no active version to re-index".into(),
        ));
    };
    // The groups are the document's when the new version is activated, not when it was queued.
    let job_id = app
        .queue
        .submit(
            &doc.source,
            hash,
            &GroupsSpec::Inherit {
                otherwise: Vec::new(),
            },
            JobOrigin::Reindex,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": job_id, "status": "queued" })),
    )
        .into_response())
}

/// Ingest jobs, newest first (`status` filters: queued, running, done, failed).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "documents", params(Page),
    responses((status = 200, description = "`{jobs: [Job]}`"), (status = 403)))]
pub async fn list_jobs(
    State(app): State<AppState>,
    _: Admin,
    Query(page): Query<Page>,
) -> Result<Response> {
    let jobs = app
        .store
        .jobs(page.status, page.limit(), page.offset())
        .await?;
    Ok(Json(json!({ "jobs": jobs })).into_response())
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "documents",
    params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404)))]
pub async fn get_job(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response> {
    Ok(Json(app.store.job(&id).await?).into_response())
}

/// Documents and ingest jobs; uploads may be as large as `upload_limit`.
pub(super) fn routes(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(list, upload))
                .layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .routes(routes!(get, update, delete))
        .routes(routes!(chunks))
        .routes(routes!(original))
        .routes(routes!(reindex))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
}
