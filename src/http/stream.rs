//! Streaming an answer as server-sent events, for every endpoint that streams: the admitted
//! question is answered in its own task (the stream outlives the handler), its events are
//! written in the endpoint's format as they come, and a client that goes away stops the
//! pipeline and frees its sequence.

use std::convert::Infallible;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument;

use super::error::ApiError;
use crate::answer::Admitted;
use crate::rag::{Answer, AskEvent, RagError};

/// How one endpoint writes an answer as events.
pub(super) trait SseFormat: Send + 'static {
    /// Events sent before the pipeline starts.
    fn opening(&mut self) -> Vec<Event> {
        Vec::new()
    }
    /// The event for one step of the pipeline, or `None` when the client is not shown it.
    fn event(&mut self, step: AskEvent) -> Option<Event>;
    /// The last events: the recorded answer, or the error that ended it.
    fn closing(self, outcome: Result<&Answer, &ApiError>) -> Vec<Event>;
}

/// Answer `admitted` in the background and stream it in `format`.
pub(super) fn stream_answer<F: SseFormat>(admitted: Admitted, mut format: F) -> Response {
    let (out_tx, out_rx) = mpsc::channel::<Event>(64);
    tokio::spawn(
        async move {
            for event in format.opening() {
                if out_tx.send(event).await.is_err() {
                    return;
                }
            }
            let (tx, mut rx) = mpsc::channel::<AskEvent>(64);
            let forward_tx = out_tx.clone();
            let forward = async move {
                while let Some(step) = rx.recv().await {
                    let Some(event) = format.event(step) else {
                        continue;
                    };
                    if forward_tx.send(event).await.is_err() {
                        // Client gone: dropping `rx` makes the pipeline stop and free its sequence.
                        break;
                    }
                }
                format
            };
            let (result, format) = tokio::join!(admitted.answer(Some(tx)), forward);
            let outcome = match result {
                Ok(answer) => Ok(answer),
                Err(RagError::Cancelled) => {
                    tracing::debug!("the client went away while the answer streamed");
                    return;
                }
                Err(e) => Err(ApiError::from(e)),
            };
            for event in format.closing(outcome.as_ref()) {
                if out_tx.send(event).await.is_err() {
                    break;
                }
            }
        }
        // Keep the request's span (and id) on the work that outlives the handler.
        .instrument(tracing::Span::current()),
    );
    let stream = ReceiverStream::new(out_rx).map(Ok::<_, Infallible>);
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
