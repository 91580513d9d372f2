//! The HTTP surface: REST, SSE streaming, health. Handlers are thin adapters over `rag`, `ingest`
//! and `store`.

mod documents;
mod error;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Instrument;

pub use error::ApiError;
use error::Result;

use crate::app::App;
use crate::index::SearchMode;
use crate::rag::{AskEvent, AskRequest};

type AppState = Arc<App>;

pub fn router(app: AppState) -> Router {
    let upload_limit = documents::upload_limit(&app.settings);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/ask", post(ask))
        .route("/api/v1/search", post(search))
        .route(
            "/api/v1/documents",
            get(documents::list)
                .post(documents::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/api/v1/documents/{id}",
            get(documents::get).delete(documents::delete),
        )
        .route("/api/v1/documents/{id}/chunks", get(documents::chunks))
        .route("/api/v1/documents/{id}/reindex", post(documents::reindex))
        .route("/api/v1/jobs", get(documents::list_jobs))
        .route("/api/v1/jobs/{id}", get(documents::get_job))
        .route("/api/v1/conversations/{id}", get(get_conversation))
        .route("/metrics", get(metrics))
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
                tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path())
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

async fn metrics(State(app): State<AppState>) -> Result<Response> {
    let jobs = app.store.job_counts().await?;
    let chunks = app.index.count().ok();
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
        axum::serve(self.listener, router(self.app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    }
}

async fn readyz(State(app): State<AppState>) -> Response {
    let chunks = app.index.count();
    let ready = app.generator.is_some() && chunks.is_ok();
    let body = Json(json!({
        "ready": ready,
        "model": app.generator.as_ref().map(|g| g.name().to_string()),
        "embedding_model": app.embedder.model_id(),
        "points": chunks.ok(),
    }));
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}

#[derive(Debug, Deserialize)]
struct AskBody {
    question: String,
    /// Continue this conversation (its earlier questions give follow-ups their context).
    conversation_id: Option<String>,
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

fn sse_event<T: serde::Serialize>(name: &str, data: &T) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event("error").data("serialisation failed"))
}

async fn ask(
    State(app): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<AskBody>,
) -> Result<Response> {
    if let Some(g) = &app.generator {
        let capacity = (app.settings.llm.parallel as usize) + app.settings.llm.queue_capacity;
        if g.load() >= capacity {
            return Err(ApiError::Busy(
                "the answer service is busy; retry shortly".into(),
            ));
        }
    }
    // Validate before anything is stored or streamed, so bad input gets a plain status code.
    app.rag.check_question(&body.question)?;
    let (conversation_id, history) = match &body.conversation_id {
        Some(id) => {
            let messages = app.store.conversation(id).await?;
            let history: Vec<String> = messages
                .into_iter()
                .filter(|m| m.role == "user")
                .map(|m| m.content)
                .collect();
            (id.clone(), history)
        }
        None => (app.store.create_conversation().await?, Vec::new()),
    };
    // The last few questions are enough context for a follow-up.
    let recent = history.len().saturating_sub(3);
    let request = AskRequest {
        question: body.question.clone(),
        groups: None,
        history: history[recent..].to_vec(),
    };
    if !wants_sse(&headers) {
        let mut answer = app.rag.ask(request, None).await?;
        app.metrics.observe_answer(&answer);
        answer.conversation_id = Some(conversation_id.clone());
        record_turn(&app, &conversation_id, &body.question, &answer).await;
        return Ok(Json(answer).into_response());
    }
    let (out_tx, out_rx) = mpsc::channel::<Event>(64);
    tokio::spawn(
        async move {
            let (tx, mut rx) = mpsc::channel::<AskEvent>(64);
            let forward_tx = out_tx.clone();
            let forward = async move {
                while let Some(e) = rx.recv().await {
                    let event = match e {
                        AskEvent::Passages(p) => sse_event("passages", &p),
                        AskEvent::Token(t) => sse_event("token", &json!({"text": t})),
                        AskEvent::Citations(c) => sse_event("citations", &c),
                    };
                    if forward_tx.send(event).await.is_err() {
                        // Client gone: dropping `rx` makes the pipeline stop and free its sequence.
                        break;
                    }
                }
            };
            let (result, ()) = tokio::join!(app.rag.ask(request, Some(tx)), forward);
            let last = match result {
                Ok(mut answer) => {
                    app.metrics.observe_answer(&answer);
                    answer.conversation_id = Some(conversation_id.clone());
                    record_turn(&app, &conversation_id, &body.question, &answer).await;
                    sse_event("done", &answer)
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    sse_event(
                        "error",
                        &json!({"code": e.code(), "message": e.public_message()}),
                    )
                }
            };
            let _ = out_tx.send(last).await;
        }
        // The stream outlives the handler: keep the request's span (and id) on its work.
        .instrument(tracing::Span::current()),
    );
    let stream = ReceiverStream::new(out_rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Store the turn; a failure to record history must not lose the answer already made.
async fn record_turn(
    app: &App,
    conversation_id: &str,
    question: &str,
    answer: &crate::rag::Answer,
) {
    let json = serde_json::to_value(answer).unwrap_or_default();
    if let Err(e) = app
        .store
        .add_turn(conversation_id, question, &answer.answer, &json)
        .await
    {
        tracing::error!(error = %e, conversation_id, "could not record the conversation turn");
    }
}

async fn get_conversation(State(app): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    let messages = app.store.conversation(&id).await?;
    Ok(Json(json!({ "id": id, "messages": messages })).into_response())
}

#[derive(Debug, Deserialize)]
struct SearchBody {
    query: String,
    top_k: Option<usize>,
    #[serde(default)]
    mode: SearchMode,
}

async fn search(State(app): State<AppState>, Json(body): Json<SearchBody>) -> Result<Response> {
    let top_k = body
        .top_k
        .unwrap_or(app.settings.retrieval.top_k)
        .clamp(1, 100);
    let results = app.rag.search(&body.query, None, top_k, body.mode).await?;
    Ok(Json(json!({ "results": results })).into_response())
}
