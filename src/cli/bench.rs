//! `regula bench …`: run a benchmark and print its table (or JSON).

use super::*;

/// Print a report as JSON, or as the tables `table` writes.
pub(super) fn report<T: serde::Serialize>(
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

pub(super) async fn bench(
    settings: &Settings,
    command: &BenchCommand,
    json_out: bool,
) -> anyhow::Result<()> {
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
        BenchCommand::Answer { ref files, runs } => {
            let questions = crate::bench::questions::load(files)?;
            let mut settings = settings.clone();
            settings.llm.backend = crate::config::LlmBackend::None;
            let app = App::build(settings.clone(), Parts::Retrieval).await?;
            anyhow::ensure!(
                app.index.count()? > 0,
                "the index in {} is empty: ingest documents first (regula ingest)",
                settings.data_dir.display()
            );
            let baseline = app.rag.with_retrieval(crate::config::RetrievalSettings {
                sentence_closeness: false,
                ..settings.retrieval.clone()
            });
            let rows = crate::bench::answer::run(
                &[
                    ("question's words (baseline)", &baseline),
                    ("words and closeness in meaning", &app.rag),
                ],
                &questions,
                runs,
            )
            .await?;
            report(&rows, json_out, |r| crate::bench::answer::print(r))
        }
        BenchCommand::Questions { ref files, runs } => {
            let questions = crate::bench::questions::load(files)?;
            let tagger = crate::app::load_korean_tagger(settings)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!("models.korean_dictionary is off: nothing to compare")
                })?;
            let rows = tokio::task::spawn_blocking(move || {
                crate::bench::questions::run(&questions, tagger, runs)
            })
            .await?;
            report(&rows, json_out, |r| crate::bench::questions::print(r))
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

pub(super) fn bench_backends(
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

pub(super) fn print_search_report(r: &crate::bench::search::SearchReport) {
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

pub(super) fn print_generate_report(r: &crate::bench::generate::GenerateReport) {
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
