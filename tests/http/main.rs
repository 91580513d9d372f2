//! Every test that drives the app over HTTP, in one binary: the shared helpers and the crate are
//! compiled and linked once instead of once per file (see `scripts/test.sh --fast` for the tier
//! that runs `access`, `api`, `ingest` and `streaming` on the test doubles). Each module starts its
//! own apps, so one module's uploads never reach another's answers.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod api;
mod browser;
mod ingest;
mod remote_llm;
mod replicas;
mod streaming;
