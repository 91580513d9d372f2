//! The CPU-testable parts of the GPU measurement (scripts/gpu-bench.sh): the synthetic-model
//! writer makes GGUF files Regula's own generator loads and decodes from — a dense and a
//! mixture-of-experts shape, with a real tokenizer taken from the default model — and its 30B-class
//! shapes have the sizes of the real Q4_K_M files.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn synth(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(common::repo().join("scripts/synth_gguf.py"))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "synth_gguf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `regula bench generate` on a model file, as gpu-bench.sh runs it (CPU here).
fn bench_generate(model: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_regula"))
        .env("REGULA__MODELS__DIR", common::repo().join("models"))
        .env("REGULA__MODELS__LLM", model)
        .env("REGULA__PROMPTS_DIR", common::repo().join("prompts"))
        .env("REGULA__LLM__THREADS", "1")
        .args([
            "--json", "bench", "generate", "--tokens", "12", "--runs", "1",
        ])
        .args(["--concurrency", "1,2", "--passages", "1"])
        .arg("--document")
        .arg(common::repo().join("sample/en-18f-handbook/travel-and-leave/leave.md"))
        .output()
        .expect("regula runs");
    assert!(
        out.status.success(),
        "bench generate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

#[test]
fn synthetic_models_load_and_decode_in_regulas_generator() {
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = dir.path().join("tokenizer.gguf");
    let said = synth(&[
        "extract-tokenizer",
        common::repo()
            .join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            .to_str()
            .unwrap(),
        tokenizer.to_str().unwrap(),
    ]);
    assert!(said.contains("49152 tokens"), "{said}");
    for shape in ["tiny", "tiny-moe"] {
        let model = dir.path().join(format!("{shape}.gguf"));
        synth(&[
            "write",
            "--shape",
            shape,
            "--tokenizer",
            tokenizer.to_str().unwrap(),
            "--out",
            model.to_str().unwrap(),
        ]);
        let report = bench_generate(&model);
        // End of sequence is ignored: every answer has exactly the tokens asked for.
        let tokens: Vec<u64> = report["concurrency"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["tokens"].as_u64().unwrap())
            .collect();
        assert_eq!(tokens, vec![12, 24], "{shape}: {report:#}");
        assert!(report["regula"]["prompt_tokens"].as_u64().unwrap() > 50);
        assert!(report["regula"]["prefill_tok_s_p50"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn the_30b_class_shapes_have_the_real_files_sizes() {
    // Qwen2.5-32B-Instruct Q4_K_M: 19.85 GB; Qwen3-30B-A3B Q4_K_M: 18.6 GB (published files,
    // which add a few MB of metadata).
    for (shape, published_gb) in [("dense-32b", 19.85), ("moe-30b-a3b", 18.6)] {
        let said = synth(&["size", "--shape", shape]);
        let bytes: f64 = said
            .split_whitespace()
            .find_map(|w| w.strip_prefix("file_bytes="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{said}"));
        let gb = bytes / 1e9;
        assert!(
            (gb - published_gb).abs() / published_gb < 0.01,
            "{shape}: {gb:.2} GB vs {published_gb} GB"
        );
    }
}

/// Threads of this process named as the generator's worker.
fn generation_workers() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "regula-llm")
        .count()
}

#[test]
fn dropping_the_generator_frees_its_model_before_returning() {
    // On a GPU, a context freed after the process began exiting aborts it (CUDA's driver is torn
    // down at exit): `bench generate` printed its report, then died with "driver shutting down".
    // The worker must be gone once the generator is dropped, not at some later moment.
    use regula::llm::{ChatMessage, GenEvent, GenOptions, Generator, LlamaGenerator};
    let settings = regula::config::LlmSettings {
        threads: 1,
        ..Default::default()
    };
    let model = common::repo().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let generator = LlamaGenerator::start(&model, &settings).expect("the small model loads");
    assert_eq!(generation_workers(), 1);
    let mut stream = generator
        .generate(
            vec![ChatMessage::new("user", "Say hello.")],
            GenOptions {
                max_tokens: 4,
                temperature: 0.0,
                ignore_eos: true,
            },
        )
        .expect("queued");
    let mut done = false;
    while let Some(event) = stream.blocking_recv() {
        done |= matches!(event, GenEvent::Done(_));
    }
    assert!(done, "the answer finished");
    drop(generator);
    assert_eq!(generation_workers(), 0, "the worker outlived its generator");
}
