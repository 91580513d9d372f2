//! Text generation: the `Generator` trait and its llama.cpp implementation (a worker thread that
//! owns the model and context and decodes several requests together).

pub(crate) mod llama;
mod openai;

pub use llama::LlamaGenerator;
pub use openai::OpenAiGenerator;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("generation model file missing: {0} (run `scripts/fetch-models.sh` to fetch it)")]
    MissingModel(String),
    #[error("cannot load the generation model: {0}")]
    Load(String),
    #[error("the generation queue is full")]
    QueueFull,
    #[error("the generation worker has stopped")]
    WorkerGone,
    #[error("prompt of {tokens} tokens does not fit the context window of {limit} tokens")]
    PromptTooLong { tokens: usize, limit: usize },
    #[error("generation failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub max_tokens: u32,
    pub temperature: f32,
    /// Decode exactly `max_tokens`, ignoring end-of-sequence (benchmarks).
    pub ignore_eos: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    Token(String),
    Done(GenStats),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GenStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// Why generation stopped: `eos`, `max_tokens`, `timeout` or `cancelled`.
    pub stop: String,
}

/// Events of one generation; dropping the receiver cancels it and frees its slot.
pub type GenStream = mpsc::Receiver<GenEvent>;

pub trait Generator: Send + Sync {
    fn name(&self) -> &str;
    /// Queue a chat for generation. Fails at once with `QueueFull` rather than waiting.
    fn generate(
        &self,
        messages: Vec<ChatMessage>,
        options: GenOptions,
    ) -> Result<GenStream, LlmError>;
    /// Requests waiting plus being decoded.
    fn load(&self) -> usize;
}
