//! Stage 3 of the pipeline: the model writes the answer, each token streamed as it comes.

use super::progress::{Clock, Progress};
use super::RagError;
use crate::llm::{ChatMessage, GenEvent, GenOptions, Generator, LlmError};

/// What the model wrote, unchecked.
pub(super) struct Written {
    pub text: String,
    /// Milliseconds from the question to the first token.
    pub first_token: Option<u64>,
    pub tokens: usize,
}

pub(super) enum Generation {
    Written(Written),
    /// The model failed before writing anything; the caller can still quote the passages.
    FailedBeforeWriting(String),
}

pub(super) async fn run(
    generator: &dyn Generator,
    messages: Vec<ChatMessage>,
    options: GenOptions,
    progress: &mut Progress,
    clock: &Clock,
) -> Result<Generation, RagError> {
    let mut stream = generator.generate(messages, options).map_err(|e| match e {
        LlmError::QueueFull => RagError::Busy,
        other => RagError::Llm(other),
    })?;
    let mut written = Written {
        text: String::new(),
        first_token: None,
        tokens: 0,
    };
    while let Some(event) = stream.recv().await {
        match event {
            GenEvent::Token(t) => {
                written.first_token.get_or_insert(clock.elapsed_ms());
                written.text.push_str(&t);
                // A client gone: returning drops the stream, which frees the sequence.
                progress.token(t).await?;
            }
            GenEvent::Done(stats) => {
                tracing::debug!(?stats, "generated");
                written.tokens = stats.generated_tokens;
                break;
            }
            GenEvent::Error(e) if written.first_token.is_none() => {
                return Ok(Generation::FailedBeforeWriting(e));
            }
            GenEvent::Error(e) => return Err(RagError::Llm(LlmError::Failed(e))),
        }
    }
    Ok(Generation::Written(written))
}
