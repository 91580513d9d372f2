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

use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, Result};
use super::stream::{stream_answer, SseFormat};
use super::AppState;
use crate::answer::{Asker, Conversation, Door};
use crate::auth::Principal;
use crate::rag::{Answer, AskEvent};
use utoipa_axum::{router::OpenApiRouter, routes};

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
    let admitted = app
        .answers
        .admit(
            Asker::from(&principal),
            &question,
            Conversation::WithHistory(history),
            Door::Chat,
        )
        .await?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = chrono::Utc::now().timestamp();
    if !body.stream {
        let answer = admitted.answer(None).await?;
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
    let format = ChatFormat {
        id,
        created,
        streamed: String::new(),
    };
    Ok(stream_answer(admitted, format))
}

/// `chat.completion.chunk` events: the role, the tokens as content deltas, the sources (and the
/// checked answer when the checks changed it), the last chunk with `usage` and `regula`, then
/// `[DONE]`.
struct ChatFormat {
    id: String,
    created: i64,
    /// What the client has been shown so far.
    streamed: String,
}

impl ChatFormat {
    fn chunk_value(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Event {
        Event::default().data(self.chunk_value(delta, finish).to_string())
    }
}

impl SseFormat for ChatFormat {
    fn opening(&mut self) -> Vec<Event> {
        vec![self.chunk(json!({"role": "assistant", "content": ""}), None)]
    }

    fn event(&mut self, step: AskEvent) -> Option<Event> {
        let AskEvent::Token(t) = step else {
            return None;
        };
        self.streamed.push_str(&t);
        Some(self.chunk(json!({"content": t}), None))
    }

    fn closing(self, outcome: std::result::Result<&Answer, &ApiError>) -> Vec<Event> {
        let mut events = Vec::new();
        match outcome {
            Ok(answer) => {
                // Sentences the checks removed were already streamed: restate the checked
                // answer so a chat client shows it.
                let mut tail = String::new();
                if self.streamed.trim() != answer.answer.trim() {
                    tail.push_str("\n\n---\nChecked against the documents:\n");
                    tail.push_str(&answer.answer);
                }
                tail.push_str(&sources_block(answer));
                if !tail.is_empty() {
                    events.push(self.chunk(json!({"content": tail}), None));
                }
                let mut last = self.chunk_value(json!({}), Some("stop"));
                last["usage"] = usage(answer);
                last["regula"] = serde_json::to_value(answer).unwrap_or_default();
                events.push(Event::default().data(last.to_string()));
            }
            Err(e) => events.push(Event::default().data(
                json!({"error": {"code": e.code(), "message": e.public_message()}}).to_string(),
            )),
        }
        events.push(Event::default().data("[DONE]"));
        events
    }
}

/// The one model Regula offers through this API.
#[utoipa::path(get, path = "/v1/models", tag = "openai", responses((status = 200), (status = 401)))]
pub async fn models(_: Principal) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "regula"}],
    }))
}

/// The OpenAI-compatible API.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat_completions))
        .routes(routes!(models))
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
