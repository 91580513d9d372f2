//! `regula eval qa` and `regula eval beir`.

use super::*;

pub(super) async fn evaluate(
    settings: Settings,
    command: &EvalCommand,
    json_out: bool,
) -> anyhow::Result<()> {
    match command {
        EvalCommand::Qa { file } => {
            let cases = eval::read_qa(file)?;
            let source = settings.retrieval.decision_model.clone();
            let app = App::build(settings, Parts::Full).await?;
            let report = eval::score_qa(eval::run_qa(&app.rag, &cases, "", true).await?);
            print_qa(file, &report, json_out)?;
            if !json_out {
                println!(
                    "\n{}",
                    describe_decision(&app.rag.decision, source.as_deref())
                );
            }
            Ok(())
        }
        EvalCommand::Collections {
            manifest,
            work,
            retrieval_only,
            lang,
        } => {
            let source = settings.retrieval.decision_model.clone();
            let decision = crate::rag::decision::DecisionModel::configured(source.as_deref())?;
            let results =
                over_collections(settings, manifest, work, !retrieval_only, lang.as_deref())
                    .await?;
            print_collections(&results, json_out)?;
            if !json_out {
                println!("\n{}", describe_decision(&decision, source.as_deref()));
            }
            Ok(())
        }
        EvalCommand::Feedback { out } => {
            let store = Store::open(&settings.database_url()).await?;
            let mut entries = Vec::new();
            loop {
                let page = store.feedback(None, 500, entries.len() as i64).await?;
                let done = page.len() < 500;
                entries.extend(page);
                if done {
                    break;
                }
            }
            let cases = eval::feedback::cases(&entries);
            let review = cases.iter().filter(|c| c.get("review").is_some()).count();
            let lines: Vec<String> = cases.iter().map(|c| c.to_string()).collect();
            std::fs::write(out, lines.join("\n") + "\n")
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{} rated answers: {} questions settled, {review} to review, written to {}",
                cases.len(),
                cases.len() - review,
                out.display()
            );
            Ok(())
        }
        EvalCommand::Fit {
            manifest,
            work,
            out,
            search,
            features_en,
            features_ko,
        } => {
            let context = settings.retrieval.context_passages;
            let recipe = |korean: bool, features: &Option<Vec<String>>| {
                let mut r = eval::fit::Recipe::shipped(korean);
                if let Some(f) = features {
                    r.features = f.clone();
                }
                r.check().map_err(anyhow::Error::msg)?;
                anyhow::Ok(r)
            };
            let recipes = [recipe(false, features_en)?, recipe(true, features_ko)?];
            let results = over_collections(settings, manifest, work, false, None).await?;
            match search {
                Some(max) => search_and_report(&results, context, *max),
                None => fit_and_report(&results, context, &recipes, out.as_deref(), json_out),
            }
        }
        EvalCommand::Beir { dir } => {
            let app = App::build(settings, Parts::Retrieval).await?;
            let report =
                eval::run_beir(&app.rag, &app.ingestor, dir, &|m| eprintln!("{m}")).await?;
            print_beir(&report, json_out)
        }
    }
}

pub(super) fn print_qa(
    file: &std::path::Path,
    r: &eval::QaReport,
    json_out: bool,
) -> anyhow::Result<()> {
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
    let misses = r.missed();
    if !misses.is_empty() {
        println!("\nmissed: {}", misses.join(", "));
    }
    Ok(())
}

/// The decision the figures were made with: where it comes from, and per language its features
/// and operating point (the probability from which it answers).
fn describe_decision(model: &crate::rag::decision::DecisionModel, source: Option<&Path>) -> String {
    let from = source.map_or("built-in (resources/decision.json)".to_string(), |p| {
        p.display().to_string()
    });
    let lang = |name: &str, l: &crate::rag::decision::Logistic| {
        format!(
            "{name}: answers from p >= {:.2} on {}",
            l.threshold,
            l.features.join(", ")
        )
    };
    format!(
        "decision: {from}; {}; {}",
        lang("en", &model.en),
        lang("ko", &model.ko)
    )
}

pub(super) fn print_beir(r: &eval::BeirReport, json_out: bool) -> anyhow::Result<()> {
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

/// Ask every collection's questions of its own deployment (data dir `work/<name>`, ingested
/// on first use).
async fn over_collections(
    settings: Settings,
    manifest: &Path,
    work: &Path,
    answer: bool,
    lang: Option<&str>,
) -> anyhow::Result<Vec<eval::CaseResult>> {
    let collections = eval::collections::read_manifest(manifest)?;
    let mut results = Vec::new();
    for c in collections
        .iter()
        .filter(|c| lang.is_none_or(|l| l == c.lang))
    {
        let mut s = settings.clone();
        s.data_dir = work.join(&c.name);
        std::fs::create_dir_all(&s.data_dir)?;
        let parts = if answer {
            Parts::Full
        } else {
            Parts::Retrieval
        };
        // Written only after a complete ingest: an interrupted one is completed next time
        // (documents already indexed with the same content are skipped).
        let marker = s.data_dir.join(".eval-ingested");
        let app = App::build(s, parts).await?;
        if !marker.exists() {
            eprintln!("{}: ingesting {:?}", c.name, c.documents);
            let files = crate::ingest::Ingestor::collect_files(&c.documents)?;
            for (path, source) in &files {
                match app
                    .ingestor
                    .ingest_bytes(source, std::fs::read(path)?, vec![], None)
                    .await
                {
                    // A licence file or a redirect stub is not a document of the collection.
                    Ok(_) | Err(IngestError::Empty) | Err(IngestError::UnsupportedType(_)) => {}
                    Err(e) => bail!("{}: {source}: {e}", c.name),
                }
            }
            let index = app.index.clone();
            tokio::task::spawn_blocking(move || {
                index.optimize()?;
                index.flush()
            })
            .await??;
            std::fs::write(&marker, format!("{:?}\n", c.documents))?;
        }
        let cases = c.cases()?;
        eprintln!("{}: {} questions", c.name, cases.len());
        results.extend(eval::run_qa(&app.rag, &cases, &c.name, answer).await?);
    }
    Ok(results)
}

fn print_collections(results: &[eval::CaseResult], json_out: bool) -> anyhow::Result<()> {
    let mut names: Vec<&str> = results.iter().map(|c| c.collection.as_str()).collect();
    names.dedup();
    let mut reports = Vec::new();
    for name in names {
        let of: Vec<eval::CaseResult> = results
            .iter()
            .filter(|c| c.collection == name)
            .cloned()
            .collect();
        reports.push((name.to_string(), eval::score_qa(of)));
    }
    if json_out {
        let v: Vec<_> = reports
            .iter()
            .map(|(n, r)| json!({"collection": n, "report": r}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("| collection | questions | hit@5 | answered and cited | abstention P | abstention R | fact recall | p50 | p95 |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (n, r) in &reports {
        println!(
            "| {n} | {} ({} unanswerable) | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} ms | {:.0} ms |",
            r.questions,
            r.unanswerable,
            r.hit_at_5,
            r.citation_accuracy,
            r.abstention_precision,
            r.abstention_recall,
            r.fact_recall,
            r.latency_p50_ms,
            r.latency_p95_ms
        );
    }
    for (n, r) in &reports {
        let misses = r.missed();
        if !misses.is_empty() {
            println!("{n} missed: {}", misses.join(", "));
        }
    }
    Ok(())
}

fn search_and_report(
    results: &[eval::CaseResult],
    context: usize,
    max: usize,
) -> anyhow::Result<()> {
    for (lang, korean) in [("en", false), ("ko", true)] {
        let of: Vec<&eval::CaseResult> = results.iter().filter(|c| c.korean == korean).collect();
        if of.is_empty() {
            continue;
        }
        let shipped = eval::fit::Recipe::shipped(korean);
        println!("\n{lang}: held-out balanced accuracy, mean [worst collection]");
        let tried = eval::fit::search(&of, context, max);
        let is_shipped = |t: &eval::fit::Tried| {
            t.recipe.features == shipped.features && t.recipe.l2 == shipped.l2
        };
        if let Some((rank, t)) = tried.iter().enumerate().find(|(_, t)| is_shipped(t)) {
            println!(
                "shipped recipe: rank {} of {}, {:.3} [{:.3}]",
                rank + 1,
                tried.len(),
                t.mean,
                t.worst
            );
        }
        for t in tried.iter().take(12) {
            let mark = if is_shipped(t) { " (shipped)" } else { "" };
            println!(
                "{:.3} [{:.3}] l2 {} {}{mark}",
                t.mean,
                t.worst,
                t.recipe.l2,
                t.recipe.features.join(", ")
            );
        }
        println!("{lang}: the search judged on collections it did not see (nested)");
        println!("| collection | answered correctly | abstention P | abstention R | recipe chosen without it |");
        println!("| --- | ---: | ---: | ---: | --- |");
        let nested = eval::fit::nested(&of, context, max);
        for (o, recipe) in &nested {
            println!(
                "| {} | {:.3} | {:.3} | {:.3} | l2 {} {} |",
                o.collection,
                o.answered_correctly,
                o.abstention_precision,
                o.abstention_recall,
                recipe.l2,
                recipe.features.join(", ")
            );
        }
        let rows: Vec<eval::fit::Outcome> = nested.into_iter().map(|(o, _)| o).collect();
        println!("nested: {}", eval::fit::summary(&rows));
    }
    Ok(())
}

fn fit_and_report(
    results: &[eval::CaseResult],
    context: usize,
    recipes: &[eval::fit::Recipe; 2],
    out: Option<&Path>,
    json_out: bool,
) -> anyhow::Result<()> {
    use eval::fit;
    let mut report = Vec::new();
    for (lang, korean) in [("en", false), ("ko", true)] {
        let of: Vec<&eval::CaseResult> = results.iter().filter(|c| c.korean == korean).collect();
        if of.is_empty() {
            continue;
        }
        report.push((
            lang,
            fit::as_decided(&of, context),
            fit::leave_one_collection_out(&of, context, &recipes[usize::from(korean)]),
        ));
    }
    let model = fit::fit_model(results, context, &recipes[0], &recipes[1]);
    if let Some(out) = out {
        std::fs::write(out, serde_json::to_string_pretty(&model)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if json_out {
        let v: Vec<_> = report
            .iter()
            .map(|(l, before, cv)| json!({"lang": l, "current": before, "cross_validated": cv}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"languages": v, "model": model}))?
        );
        return Ok(());
    }
    for (lang, before, cv) in &report {
        println!("\n{lang}: current decision vs refit (leave one collection out)");
        println!("| collection | questions | answered correctly | abstention P | abstention R | refit: answered correctly | abstention P | abstention R | threshold |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (b, c) in before.iter().zip(cv) {
            println!(
                "| {} | {} ({} unanswerable) | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} |",
                b.collection,
                b.questions,
                b.unanswerable,
                b.answered_correctly,
                b.abstention_precision,
                b.abstention_recall,
                c.answered_correctly,
                c.abstention_precision,
                c.abstention_recall,
                c.threshold.unwrap_or(0.0)
            );
        }
        for (name, rows) in [("current", before), ("refit", cv)] {
            println!("{name}: {}", fit::summary(rows));
        }
    }
    println!(
        "\nfitted on all collections: en threshold {:.2}, ko threshold {:.2}{}",
        model.en.threshold,
        model.ko.threshold,
        out.map(|p| format!(", written to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}
