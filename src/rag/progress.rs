//! The one place an answer's stages become events, so every exit of the pipeline streams them
//! in the same order: `Passages` (once the gate lets a question through), the `Token`s as they
//! are written, then `Citations` — and, for an answer that was not streamed token by token, its
//! whole text as one `Token` first. Also the pipeline's clock.

use std::time::Instant;

use tokio::sync::mpsc;

use super::{Answer, AskEvent, RagError, SearchResult, Timings};
use crate::index::Hit;

pub(super) struct Progress {
    events: Option<mpsc::Sender<AskEvent>>,
    /// Tokens of a written answer already went out.
    streamed: bool,
}

impl Progress {
    pub fn new(events: Option<mpsc::Sender<AskEvent>>) -> Self {
        Self {
            events,
            streamed: false,
        }
    }

    async fn send(&self, event: AskEvent) -> Result<(), RagError> {
        match &self.events {
            Some(tx) => tx.send(event).await.map_err(|_| RagError::Cancelled),
            None => Ok(()),
        }
    }

    /// The passages the answer will come from. A client gone by now is noticed at the first
    /// token (or not at all: the answer is still recorded).
    pub async fn passages(&mut self, passages: &[Hit]) {
        let _ = self
            .send(AskEvent::Passages(
                passages.iter().map(SearchResult::from).collect(),
            ))
            .await;
    }

    /// One token as the model writes it; `Cancelled` when the client has gone, which stops
    /// the generation (dropping its stream frees the sequence).
    pub async fn token(&mut self, token: String) -> Result<(), RagError> {
        self.streamed = true;
        self.send(AskEvent::Token(token)).await
    }

    /// The answer's closing events: its text unless it was streamed, its citations unless it
    /// abstained.
    pub async fn finish(&mut self, answer: &Answer) {
        if !self.streamed {
            let _ = self.send(AskEvent::Token(answer.answer.clone())).await;
        }
        if !answer.abstained {
            let _ = self
                .send(AskEvent::Citations(answer.citations.clone()))
                .await;
        }
    }
}

/// When the question arrived, and how long retrieval took.
#[derive(Clone, Copy)]
pub(super) struct Clock {
    started: Instant,
    retrieve_ms: u64,
}

impl Clock {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            retrieve_ms: 0,
        }
    }

    /// Retrieval is done: its time is fixed from here on.
    pub fn retrieved(self) -> Self {
        Self {
            retrieve_ms: self.elapsed_ms(),
            ..self
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn timings(&self, first_token: Option<u64>, generated_tokens: usize) -> Timings {
        Timings {
            retrieve: self.retrieve_ms,
            first_token,
            total: self.elapsed_ms(),
            generated_tokens,
        }
    }
}
