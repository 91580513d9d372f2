//! The HTTP surface: REST, SSE streaming, health. Handlers are thin adapters over `rag`, `ingest`
//! and `store`.

mod admin;
mod ask;
mod auth;
mod documents;
mod error;
mod openai;
mod openapi;
mod stream;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

pub use ask::WITHHELD;
pub use auth::{CSRF_HEADER, SESSION_COOKIE};
pub use error::ApiError;
use error::Result;

use crate::app::App;

type AppState = Arc<App>;

/// The API's routes, each declared once with its OpenAPI description: those that need a
/// signed-in caller (the handlers' extractors say which role), those open to everyone, and the
/// document describing both.
fn api(upload_limit: usize) -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (protected, described) = OpenApiRouter::new()
        .merge(auth::routes())
        .merge(ask::routes())
        .merge(documents::routes(upload_limit))
        .merge(admin::routes())
        .merge(openai::routes())
        .split_for_parts();
    let (public, open) = auth::public_routes().split_for_parts();
    let mut document = openapi::document();
    document.merge(described);
    document.merge(open);
    (protected, public, document)
}

/// The OpenAPI document `/openapi.json` serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api(0).2
}

pub fn router(app: AppState) -> Router {
    let (protected, public, document) = api(documents::upload_limit(&app.settings));
    let document = Arc::new(document);
    let protected = protected.route_layer(axum::middleware::from_fn_with_state(
        app.clone(),
        auth::authenticate,
    ));
    Router::new()
        .route("/", get(web::chat))
        .route("/admin", get(web::admin))
        .route("/assets/{name}", get(web::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        .route("/api/docs", get(openapi::page))
        .merge(public)
        .merge(protected)
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
        // Every request gets an id (or keeps the caller's `x-request-id`), logged on its span and
        // returned in the response, so one question can be followed through the logs.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path(), principal = tracing::field::Empty)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Count and time every request by its route pattern.
async fn track(
    State(app): State<AppState>,
    matched: Option<MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().to_string();
    let route = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let labels = crate::metrics::RouteLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    app.metrics.http_requests.get_or_create(&labels).inc();
    app.metrics
        .http_seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let token = &app.settings.http.metrics_token;
    if !token.is_empty() && !bearer_matches(&headers, token) {
        return Err(ApiError::Unauthorized(
            "metrics need the bearer token set in http.metrics_token".into(),
        ));
    }
    let jobs = app.store.job_counts().await?;
    let chunks = index_count(&app).await.ok();
    let queue = app.generator.as_ref().map_or(0, |g| g.load());
    let body = app
        .metrics
        .render(queue, app.settings.llm.parallel as usize, &jobs, chunks);
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// `Authorization: Bearer <expected>`, compared as digests in equal time (neither the time
/// taken nor the token's length tells anything).
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    use crate::auth::tokens;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    tokens::same(&tokens::hash(given.trim()), &tokens::hash(expected))
}

/// A bound server: `addr` is the real address (port 0 resolved).
pub struct Server {
    pub addr: SocketAddr,
    listener: TcpListener,
    app: AppState,
}

impl Server {
    /// Bind, and start the server's background work (ingest workers, watched folder).
    pub async fn bind(app: AppState, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        app.start_background();
        Ok(Self {
            addr: listener.local_addr()?,
            listener,
            app,
        })
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // The peer address is needed to trust SSO headers only from configured proxies.
        let service = router(self.app).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    }
}

/// Points in the index, off the async runtime (a Qdrant server may be slow or retrying).
async fn index_count(app: &AppState) -> std::result::Result<usize, crate::index::IndexError> {
    let index = app.index.clone();
    tokio::task::spawn_blocking(move || index.count())
        .await
        .map_err(|e| crate::index::IndexError::Engine(e.to_string()))?
}

async fn readyz(State(app): State<AppState>) -> Response {
    let chunks = index_count(&app).await;
    // Without a model (`llm.backend = "none"`) answers are quoted sentences: ready all the same.
    let generation =
        app.generator.is_some() || app.settings.llm.backend == crate::config::LlmBackend::None;
    let ready = generation && chunks.is_ok();
    let body = Json(json!({
        "ready": ready,
        "model": app.generator.as_ref().map(|g| g.name().to_string()),
        "embedding_model": app.embedder.model_id(),
        // False: models.korean_dictionary is off, Korean questions are judged word by word.
        "korean_morphology": app.rag.analyzer.reads_korean(),
        "points": chunks.ok(),
    }));
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}
