//! A `Generator` that calls an OpenAI-compatible chat completions server (llama.cpp's
//! llama-server, vLLM, TGI) — for companies that serve the model on separate GPU machines.
//! Streaming SSE responses become the same token events the local worker sends; dropping the
//! receiver closes the HTTP request, which frees the server's slot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;

use super::{ChatMessage, GenEvent, GenOptions, GenStats, GenStream, Generator, LlmError};
use crate::config::LlmSettings;

pub struct OpenAiGenerator {
    name: String,
    url: String,
    model: String,
    api_key: Option<String>,
    client: reqwest::Client,
    capacity: usize,
    timeout: Duration,
    in_flight: Arc<AtomicUsize>,
}

/// Decrements the in-flight count however the request ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl OpenAiGenerator {
    pub fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        let base = settings.remote_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(LlmError::Load(format!(
                "llm.remote_url must be an http(s) URL, got `{base}`"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LlmError::Load(e.to_string()))?;
        Ok(Self {
            name: format!("{} at {base}", settings.remote_model),
            url: format!("{base}/chat/completions"),
            model: settings.remote_model.clone(),
            api_key: settings.remote_api_key.clone().filter(|k| !k.is_empty()),
            client,
            capacity: settings.parallel as usize + settings.queue_capacity,
            timeout: Duration::from_secs(settings.timeout_secs.max(1)),
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }
}

/// What one streamed chunk carries.
#[derive(Debug, PartialEq)]
struct Chunk {
    text: Option<String>,
    /// `stop`, `length`, … on the last chunk.
    finish: Option<String>,
    prompt_tokens: Option<usize>,
}

fn parse_chunk(data: &str) -> Result<Chunk, String> {
    let v: serde_json::Value =
        serde_json::from_str(data).map_err(|e| format!("bad chunk from the model server: {e}"))?;
    if let Some(err) = v.get("error") {
        return Err(format!("the model server reported: {err}"));
    }
    let choice = &v["choices"][0];
    let text = choice["delta"]["content"]
        .as_str()
        .or_else(|| choice["text"].as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let finish = choice["finish_reason"].as_str().map(str::to_string);
    let prompt_tokens = v["usage"]["prompt_tokens"].as_u64().map(|n| n as usize);
    Ok(Chunk {
        text,
        finish,
        prompt_tokens,
    })
}

impl Generator for OpenAiGenerator {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(
        &self,
        messages: Vec<ChatMessage>,
        options: GenOptions,
    ) -> Result<GenStream, LlmError> {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(LlmError::QueueFull);
        }
        let guard = InFlight(self.in_flight.clone());
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| LlmError::Failed("no async runtime for the remote model".into()))?;
        let (tx, rx) = mpsc::channel(64);
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if options.ignore_eos {
            body["ignore_eos"] = json!(true);
        }
        let mut request = self.client.post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let timeout = self.timeout;
        runtime.spawn(async move {
            let _guard = guard;
            let run = stream_completion(request, &tx);
            let event = match tokio::time::timeout(timeout, run).await {
                Ok(Ok(stats)) => GenEvent::Done(stats),
                Ok(Err(event)) => event,
                Err(_) => GenEvent::Done(GenStats {
                    stop: "timeout".into(),
                    ..Default::default()
                }),
            };
            let _ = tx.send(event).await;
        });
        Ok(rx)
    }

    fn load(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// Send the request and forward its tokens; the final stats, or the event that ends it early.
async fn stream_completion(
    request: reqwest::RequestBuilder,
    tx: &mpsc::Sender<GenEvent>,
) -> Result<GenStats, GenEvent> {
    let response = request
        .send()
        .await
        .map_err(|e| GenEvent::Error(format!("the model server is unreachable: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let text: String = text.chars().take(300).collect();
        return Err(GenEvent::Error(format!(
            "the model server answered {status}: {text}"
        )));
    }
    let mut stats = GenStats {
        stop: "eos".into(),
        ..Default::default()
    };
    let mut buffer = String::new();
    let mut body = response.bytes_stream();
    while let Some(bytes) = body.next().await {
        let bytes =
            bytes.map_err(|e| GenEvent::Error(format!("the model server stream broke: {e}")))?;
        buffer.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let Some(data) = line.trim().strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                return Ok(stats);
            }
            let Chunk {
                text,
                finish,
                prompt_tokens,
            } = parse_chunk(data).map_err(GenEvent::Error)?;
            if let Some(n) = prompt_tokens {
                stats.prompt_tokens = n;
            }
            if let Some(text) = text {
                stats.generated_tokens += 1;
                if tx.send(GenEvent::Token(text)).await.is_err() {
                    // The asker went away: dropping the response closes the connection.
                    stats.stop = "cancelled".into();
                    return Ok(stats);
                }
            }
            if let Some(reason) = finish {
                stats.stop = if reason == "length" {
                    "max_tokens".into()
                } else {
                    "eos".into()
                };
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_the_openai_stream() {
        let c = parse_chunk(r#"{"choices":[{"delta":{"content":"Hello"},"finish_reason":null}]}"#)
            .unwrap();
        assert_eq!(c.text.as_deref(), Some("Hello"));
        assert_eq!(c.finish, None);
        let c = parse_chunk(
            r#"{"choices":[{"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":42}}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            Chunk {
                text: None,
                finish: Some("length".into()),
                prompt_tokens: Some(42)
            }
        );
        assert!(parse_chunk(r#"{"error":{"message":"overloaded"}}"#).is_err());
        assert!(parse_chunk("not json").is_err());
    }
}
