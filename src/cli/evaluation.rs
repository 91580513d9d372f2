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
