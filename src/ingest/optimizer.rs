//! Builds the embedded index's ANN graph in the background once enough points arrived since the
//! last build. Searches keep working meanwhile (qdrant-edge serves reads during optimisation).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::index::VectorIndex;

pub struct Optimizer {
    index: Arc<dyn VectorIndex>,
    /// Points added since the last build that make another one worth it.
    after: usize,
    /// Set while a build runs (one at a time).
    running: AtomicBool,
}

impl Optimizer {
    pub fn new(index: Arc<dyn VectorIndex>, after: usize) -> Self {
        Self {
            index,
            after,
            running: AtomicBool::new(false),
        }
    }

    pub fn run_if_due(self: &Arc<Self>) {
        if self.index.unoptimized() < self.after || self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match this.index.optimize().and_then(|()| this.index.flush()) {
                Ok(()) => tracing::info!(
                    seconds = started.elapsed().as_secs_f64(),
                    "vector index optimised"
                ),
                Err(e) => tracing::error!(error = %e, "vector index optimisation failed"),
            }
            this.running.store(false, Ordering::SeqCst);
        });
    }
}
