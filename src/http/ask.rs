//! Asking and searching with the caller's rights: retrieval filtered by their groups, answers
//! streamed (SSE) or whole, conversations kept per caller, feedback, and the audit trail.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, Result};
use super::stream::{stream_answer, SseFormat};
use super::AppState;
use crate::answer::{Asker, Conversation, Door};
use crate::app::App;
use crate::auth::Principal;
use crate::index::SearchMode;
use crate::rag::{Answer, AskEvent};
use crate::store::{Message, NewAudit, Rating};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AskBody {
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

/// Answer a question from the documents the caller may read. With `Accept: text/event-stream`
/// the answer streams as SSE events `passages`, `token`, `citations`, then `done` (the whole
/// answer) or `error`.
#[utoipa::path(post, path = "/api/v1/ask", tag = "ask", request_body = AskBody,
    responses((status = 200, body = Answer), (status = 400), (status = 401), (status = 413), (status = 429), (status = 503)))]
pub async fn ask(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Json(body): Json<AskBody>,
) -> Result<Response> {
    let conversation = match body.conversation_id {
        Some(id) => Conversation::Continue(id),
        None => Conversation::New,
    };
    let admitted = app
        .answers
        .admit(
            Asker::from(&principal),
            &body.question,
            conversation,
            Door::Ask,
        )
        .await?;
    if !wants_sse(&headers) {
        return Ok(Json(admitted.answer(None).await?).into_response());
    }
    Ok(stream_answer(admitted, AskFormat))
}

/// `/api/v1/ask`'s events: `passages`, `token`, `citations`, then `done` or `error`.
struct AskFormat;

impl SseFormat for AskFormat {
    fn event(&mut self, step: AskEvent) -> Option<Event> {
        Some(match step {
            AskEvent::Passages(p) => sse_event("passages", &p),
            AskEvent::Token(t) => sse_event("token", &json!({"text": t})),
            AskEvent::Citations(c) => sse_event("citations", &c),
        })
    }

    fn closing(self, outcome: std::result::Result<&Answer, &ApiError>) -> Vec<Event> {
        vec![match outcome {
            Ok(answer) => sse_event("done", answer),
            Err(e) => sse_event(
                "error",
                &json!({"code": e.code(), "message": e.public_message()}),
            ),
        }]
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SearchBody {
    query: String,
    top_k: Option<usize>,
    #[serde(default)]
    mode: SearchMode,
}

/// Passages matching a query, among the documents the caller may read.
#[utoipa::path(post, path = "/api/v1/search", tag = "ask", request_body = SearchBody,
    responses((status = 200, description = "`{results: [SearchResult]}`"), (status = 401), (status = 429)))]
pub async fn search(
    State(app): State<AppState>,
    principal: Principal,
    Json(body): Json<SearchBody>,
) -> Result<Response> {
    app.limits
        .ask(&principal.id)
        .map_err(ApiError::rate_limited)?;
    let top_k = body
        .top_k
        .unwrap_or(app.settings.retrieval.top_k)
        .clamp(1, 100);
    let results = app
        .rag
        .search(&body.query, principal.read_filter(), top_k, body.mode)
        .await?;
    let mut found: Vec<String> = results.iter().map(|r| r.document_id.clone()).collect();
    found.dedup();
    if let Err(e) = app
        .store
        .audit(NewAudit {
            actor: &principal.id,
            actor_name: &principal.name,
            action: "search",
            question: &body.query,
            cited: &found,
            abstained: results.is_empty(),
            conversation_id: None,
            message_id: None,
        })
        .await
    {
        tracing::error!(error = %e, "could not write the audit row");
    }
    Ok(Json(json!({ "results": results })).into_response())
}

/// The caller's conversations, most recent first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "ask",
    responses((status = 200, description = "`{conversations: [ConversationSummary]}`"), (status = 401)))]
pub async fn list_conversations(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Response> {
    let conversations = app.store.conversations(&principal.id, 200).await?;
    Ok(Json(json!({ "conversations": conversations })).into_response())
}

/// One of the caller's conversations. Answers that cited a document the caller can no longer
/// read (its groups were narrowed, or it was deleted) are withheld.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "ask",
    params(("id" = String, Path)), responses((status = 200), (status = 401), (status = 404)))]
pub async fn get_conversation(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response> {
    let mut messages = app.store.conversation(&id, &principal.id).await?;
    withhold_unreadable(&app, &principal, &mut messages).await?;
    Ok(Json(json!({ "id": id, "messages": messages })).into_response())
}

/// What a withheld answer says instead.
pub const WITHHELD: &str = "This answer is withheld: it cited a document you can no longer read.";

async fn withhold_unreadable(
    app: &App,
    principal: &Principal,
    messages: &mut [Message],
) -> Result<()> {
    let documents_of = |answer: &serde_json::Value| -> Vec<String> {
        ["citations", "nearest"]
            .iter()
            .filter_map(|k| answer[*k].as_array())
            .flatten()
            .filter_map(|c| c["document_id"].as_str().map(str::to_string))
            .collect()
    };
    let all: Vec<String> = messages
        .iter()
        .filter_map(|m| m.answer.as_ref())
        .flat_map(documents_of)
        .collect();
    let groups = app.store.readable_groups(&all).await?;
    for m in messages.iter_mut() {
        let Some(answer) = &m.answer else { continue };
        let readable = documents_of(answer).iter().all(|d| {
            groups.get(d).is_some_and(|(active, pending)| {
                principal.can_read(active) && pending.as_ref().is_none_or(|p| principal.can_read(p))
            })
        });
        if !readable {
            m.content = WITHHELD.to_string();
            m.answer = Some(json!({ "withheld": true }));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeedbackBody {
    /// The `message_id` of the answer being rated.
    message_id: String,
    rating: Rating,
    comment: Option<String>,
}

/// Thumbs up or down (with an optional comment) on one of the caller's answers.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "ask", request_body = FeedbackBody,
    responses((status = 200), (status = 401), (status = 404)))]
pub async fn feedback(
    State(app): State<AppState>,
    principal: Principal,
    Json(body): Json<FeedbackBody>,
) -> Result<Response> {
    let comment = body
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.len() > 4000) {
        return Err(ApiError::PayloadTooLarge(
            "the comment is longer than 4000 bytes".into(),
        ));
    }
    app.store
        .put_feedback(&body.message_id, &principal.id, body.rating, comment)
        .await?;
    Ok(Json(json!({ "recorded": true })).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// `up` or `down`.
    rating: Option<Rating>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// All feedback, newest first, with the rated question and answer (admins).
#[utoipa::path(get, path = "/api/v1/feedback", tag = "admin", params(FeedbackQuery),
    responses((status = 200), (status = 401), (status = 403)))]
pub async fn list_feedback(
    State(app): State<AppState>,
    _admin: super::auth::Admin,
    Query(q): Query<FeedbackQuery>,
) -> Result<Response> {
    let entries = app
        .store
        .feedback(
            q.rating,
            q.limit.unwrap_or(100).clamp(1, 1000),
            q.offset.unwrap_or(0).max(0),
        )
        .await?;
    Ok(Json(json!({ "feedback": entries })).into_response())
}

/// Questions, search, conversations and feedback (each route declared once, with its OpenAPI
/// description).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ask))
        .routes(routes!(search))
        .routes(routes!(list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(list_feedback, feedback))
}
