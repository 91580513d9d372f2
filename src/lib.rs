//! Regula: a private, on-premises assistant that answers questions about internal regulations,
//! grounded in the documents and citing them.

pub mod answer;
pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod embed;
pub mod eval;
pub mod http;
pub mod index;
pub mod ingest;
pub mod lexical;
pub mod llm;
pub mod metrics;
pub mod migrate;
pub mod morphology;
pub mod rag;
pub mod store;

/// Log to stderr with the configured level (`RUST_LOG` wins when set).
pub fn init_tracing(settings: &config::LogSettings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},llama_cpp_2=warn,llama-cpp-2=warn,ort=warn,qdrant_edge=error",
            settings.level
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if settings.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
