//! The `regula` binary as a user runs it: ingest a folder, search and ask with --json, and clear
//! errors for missing models and a data dir owned by another process.

mod common;

use std::process::Command;

use serde_json::Value;

fn regula(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regula"));
    c.env("REGULA__MODELS__DIR", common::repo().join("models"))
        .env("REGULA__PROMPTS_DIR", common::repo().join("prompts"))
        .env("REGULA__LLM__N_CTX", "4096")
        .env("REGULA__LLM__PARALLEL", "1")
        .arg("--data-dir")
        .arg(data_dir);
    c
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(out)
}

fn parse(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn ingest_search_and_ask_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("policies");
    std::fs::create_dir_all(folder.join("tech")).unwrap();
    std::fs::copy(
        common::sample(
            "en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md",
        ),
        folder.join("tech/bug-bounty.md"),
    )
    .unwrap();
    std::fs::write(folder.join("broken.pdf"), b"%PDF-1.4 not really").unwrap();
    let data = dir.path().join("data");

    let out = regula(&data)
        .args(["ingest", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file makes the command fail"
    );
    let v = parse(&out);
    assert_eq!(v["indexed"], 1, "{v:#}");
    assert_eq!(v["failed"], 1, "the broken PDF fails alone: {v:#}");
    let failed = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ok"] == false)
        .unwrap();
    assert_eq!(failed["source"], "policies/broken.pdf");

    let out = regula(&data)
        .args(["search", "--json", "bug bounty rewards"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        v["results"][0]["source"], "policies/tech/bug-bounty.md",
        "{v:#}"
    );

    let out = regula(&data)
        .args(["ask", "--json", "What is the TTS bug bounty program?"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["abstained"], false, "{v:#}");
    assert!(
        v["citations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["source"] == "policies/tech/bug-bounty.md"),
        "{v:#}"
    );

    // Same content again: nothing is re-embedded.
    std::fs::remove_file(folder.join("broken.pdf")).unwrap();
    let out = regula(&data)
        .args(["ingest", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        (v["unchanged"].as_u64(), v["indexed"].as_u64()),
        (Some(1), Some(0)),
        "{v:#}"
    );
}

#[test]
fn a_missing_model_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = regula(dir.path())
        .env("REGULA__MODELS__LLM", "no-such-model.gguf")
        .args(["ask", "anything"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-model.gguf") && err.contains("fetch-models.sh"),
        "{err}"
    );
}

#[test]
fn pages_without_text_are_skipped_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("handbook");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("redirect.md"),
        "---\ntitle: Old page\nredirect_to: https://example.invalid/\n---\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("leave.md"),
        "# Leave\n\nAnnual leave accrues every pay period.\n",
    )
    .unwrap();
    let out = regula(&dir.path().join("data"))
        .args(["ingest", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        (
            v["indexed"].as_u64(),
            v["skipped"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{v:#}"
    );
}
