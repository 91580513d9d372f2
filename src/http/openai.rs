//! The OpenAI chat API (`POST /v1/chat/completions`, `GET /v1/models`) over the grounded
//! pipeline, so intranet systems and existing OpenAI client libraries work unchanged. The last
//! user message is answered from the documents the caller may read; earlier user messages give
//! follow-ups their context. The sources are appended to the text as
//!
//! ```text
//! Sources:
//! [1] Title — Section, p. 3
//! ```
//!
//! and also given, structured, in an extra `regula` field (the whole answer: citations with
//! quotes, `abstained`, `conversation_id`, `message_id` for feedback).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument;

use super::ask::{prepare, record};
use super::error::{ApiError, Result};
use super::AppState;
use crate::auth::Principal;
use crate::rag::{Answer, AskEvent};

/// The model name clients see (and may send back in `model`).
pub const MODEL_ID: &str = "regula";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatRequest {
    /// Any value; answers always come from Regula's grounded pipeline.
    #[serde(default)]
    #[allow(dead_code)]
    model: Option<String>,
    /// `{role, content}`; content is a string or a list of `{type: "text", text}` parts.
    #[schema(value_type = Vec<Object>)]
    messages: Vec<Value>,
    #[serde(default)]
    stream: bool,
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p["type"] == "text")
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The question (last user message) and the earlier user messages.
fn question_and_history(messages: &[Value]) -> Result<(String, Vec<String>)> {
    let mut asked: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| text_of(&m["content"]))
        .filter(|t| !t.trim().is_empty())
        .collect();
    let question = asked
        .pop()
        .ok_or_else(|| ApiError::BadRequest("`messages` has no user message".into()))?;
    Ok((question, asked))
}

/// The answer text with its sources listed under it.
pub fn with_sources(answer: &Answer) -> String {
    format!("{}{}", answer.answer, sources_block(answer))
}

fn sources_block(answer: &Answer) -> String {
    if answer.citations.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n\nSources:");
    for c in &answer.citations {
        out.push_str(&format!("\n[{}] {}", c.n, c.title));
        if !c.section.is_empty() && c.section != c.title {
            out.push_str(&format!(" — {}", c.section));
        }
        if let Some(p) = c.page {
            out.push_str(&format!(", p. {p}"));
        }
    }
    out
}

fn usage(answer: &Answer) -> Value {
    let completion = answer.timings_ms.generated_tokens;
    json!({"prompt_tokens": 0, "completion_tokens": completion, "total_tokens": completion})
}

/// Answer the last user message, whole or streamed as `chat.completion.chunk` events.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = ChatRequest,
    responses((status = 200, description = "an OpenAI `chat.completion` (or a stream of `chat.completion.chunk`) with an extra `regula` field"),
        (status = 400), (status = 401), (status = 429)))]
pub async fn chat_completions(
    State(app): State<AppState>,
    principal: Principal,
    Json(body): Json<ChatRequest>,
) -> Result<Response> {
    let (question, history) = question_and_history(&body.messages)?;
    let prepared = prepare(&app, &principal, &question, None, Some(history)).await?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = chrono::Utc::now().timestamp();
    if !body.stream {
        let mut answer = app.rag.ask(prepared.request.clone(), None).await?;
        record(&app, &principal, "chat", &prepared, &mut answer).await;
        return Ok(Json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": with_sources(&answer)},
                "finish_reason": "stop",
            }],
            "usage": usage(&answer),
            "regula": answer,
        }))
        .into_response());
    }
    let chunk = move |delta: Value, finish: Option<&str>| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    };
    let (out_tx, out_rx) = mpsc::channel::<Event>(64);
    tokio::spawn(
        async move {
            let send = |v: Value| {
                let tx = out_tx.clone();
                async move { tx.send(Event::default().data(v.to_string())).await.is_ok() }
            };
            if !send(chunk(json!({"role": "assistant", "content": ""}), None)).await {
                return;
            }
            let (tx, mut rx) = mpsc::channel::<AskEvent>(64);
            let forward_tx = out_tx.clone();
            let forward_chunk = chunk.clone();
            let forward = async move {
                let mut streamed = String::new();
                while let Some(e) = rx.recv().await {
                    if let AskEvent::Token(t) = e {
                        streamed.push_str(&t);
                        let c = forward_chunk(json!({"content": t}), None);
                        if forward_tx
                            .send(Event::default().data(c.to_string()))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
                streamed
            };
            let (result, streamed) =
                tokio::join!(app.rag.ask(prepared.request.clone(), Some(tx)), forward);
            match result {
                Ok(mut answer) => {
                    record(&app, &principal, "chat", &prepared, &mut answer).await;
                    // Sentences the checks removed were already streamed: restate the checked
                    // answer so a chat client shows it.
                    let mut tail = String::new();
                    if streamed.trim() != answer.answer.trim() {
                        tail.push_str("\n\n---\nChecked against the documents:\n");
                        tail.push_str(&answer.answer);
                    }
                    tail.push_str(&sources_block(&answer));
                    if !tail.is_empty() {
                        send(chunk(json!({"content": tail}), None)).await;
                    }
                    let mut last = chunk(json!({}), Some("stop"));
                    last["usage"] = usage(&answer);
                    last["regula"] = serde_json::to_value(&answer).unwrap_or_default();
                    send(last).await;
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    send(json!({"error": {"code": e.code(), "message": e.public_message()}})).await;
                }
            }
            let _ = out_tx.send(Event::default().data("[DONE]")).await;
        }
        .instrument(tracing::Span::current()),
    );
    let stream = ReceiverStream::new(out_rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The one model Regula offers through this API.
#[utoipa::path(get, path = "/v1/models", tag = "openai", responses((status = 200), (status = 401)))]
pub async fn models(_: Principal) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "regula"}],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_user_message_is_the_question() {
        let messages = vec![
            json!({"role": "system", "content": "be brief"}),
            json!({"role": "user", "content": "How much annual leave?"}),
            json!({"role": "assistant", "content": "13 days."}),
            json!({"role": "user", "content": [{"type": "text", "text": "And sick leave?"}]}),
        ];
        let (q, history) = question_and_history(&messages).expect("a question");
        assert_eq!(q, "And sick leave?");
        assert_eq!(history, vec!["How much annual leave?".to_string()]);
        assert!(question_and_history(&[json!({"role": "system", "content": "x"})]).is_err());
    }
}
