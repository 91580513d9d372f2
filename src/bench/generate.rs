//! Generation benchmark: time to first token and decode speed of Regula's generator against a bare
//! llama-cpp-2 loop on the same model, prompt and sampler, in the same process (the overhead of
//! our worker, queue and channels), then aggregate decode speed with several askers at once.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use serde::Serialize;

use super::percentile;
use crate::config::LlmSettings;
use crate::llm::llama::{backend, sampler, threads};
use crate::llm::{ChatMessage, GenEvent, GenOptions, Generator, LlamaGenerator, LlmError};

#[derive(Debug, Clone, Serialize)]
pub struct StreamFigures {
    pub prompt_tokens: usize,
    pub ttft_ms_p50: f64,
    /// Prompt tokens over the time to first token: prefill speed.
    pub prefill_tok_s_p50: f64,
    pub decode_tok_s_p50: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConcurrencyFigures {
    pub askers: usize,
    pub tokens: usize,
    /// Wall time for all answers, prefills included.
    pub seconds: f64,
    /// All tokens over the wall time (what a burst of askers gets, prefills included).
    pub end_to_end_tok_s: f64,
    /// Tokens per second while every asker is decoding at once (after the last prefill, before
    /// the first answer ends): the batching gain itself.
    pub steady_decode_tok_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub model: String,
    pub tokens_per_answer: u32,
    pub runs: usize,
    pub bare: StreamFigures,
    pub regula: StreamFigures,
    /// (regula − bare) / bare decode time, in percent: our pipeline's cost.
    pub decode_overhead_pct: f64,
    pub ttft_overhead_pct: f64,
    pub concurrency: Vec<ConcurrencyFigures>,
}

/// One run of the bare loop: (prompt tokens, ms to first token, decode tok/s after it).
fn bare_run(
    model: &LlamaModel,
    settings: &LlmSettings,
    prompt: &str,
    tokens: u32,
) -> Result<(usize, f64, f64), LlmError> {
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(settings.n_ctx))
        .with_n_batch(settings.n_batch)
        .with_n_threads(threads(settings.threads))
        .with_n_threads_batch(threads(settings.threads));
    let mut ctx = model
        .new_context(backend()?, ctx_params)
        .map_err(|e| LlmError::Load(e.to_string()))?;
    let started = Instant::now();
    let input = model.vocab().tokenize(prompt.as_bytes(), true, true);
    let n_batch = settings.n_batch as usize;
    let mut batch = LlamaBatch::new(n_batch, 1);
    for (start, piece) in input.chunks(n_batch).enumerate() {
        batch.clear();
        for (j, t) in piece.iter().enumerate() {
            let i = start * n_batch + j;
            batch
                .add(*t, i as i32, &[0], i == input.len() - 1)
                .map_err(|e| LlmError::Failed(e.to_string()))?;
        }
        ctx.decode(&mut batch)
            .map_err(|e| LlmError::Failed(e.to_string()))?;
    }
    let mut sample = sampler(0.0, model.n_vocab());
    let mut token = sample.sample(&ctx, batch.n_tokens() - 1);
    let mut text = Vec::new();
    text.extend(model.vocab().token_to_piece(token, false, None));
    let ttft = started.elapsed().as_secs_f64() * 1000.0;
    let decode_start = Instant::now();
    let mut step = LlamaBatch::new(1, 1);
    for pos in (input.len() as i32..).take(tokens.saturating_sub(1) as usize) {
        step.clear();
        step.add(token, pos, &[0], true)
            .map_err(|e| LlmError::Failed(e.to_string()))?;
        ctx.decode(&mut step)
            .map_err(|e| LlmError::Failed(e.to_string()))?;
        token = sample.sample(&ctx, 0);
        text.extend(model.vocab().token_to_piece(token, false, None));
    }
    let decode = decode_start.elapsed().as_secs_f64();
    Ok((input.len(), ttft, f64::from(tokens - 1) / decode))
}

/// One answer through Regula's generator.
struct Run {
    ttft_ms: f64,
    decode_tok_s: f64,
    /// When each piece of text arrived.
    times: Vec<Instant>,
    /// Tokens decoded: more than pieces when a token ends inside a UTF-8 character (its bytes
    /// arrive with the next piece) — often so with synthetic weights.
    generated: usize,
}

impl Run {
    /// Tokens each piece stands for.
    fn tokens_per_piece(&self) -> f64 {
        self.generated as f64 / self.times.len().max(1) as f64
    }
}

async fn regula_run(
    generator: &LlamaGenerator,
    messages: Vec<ChatMessage>,
    tokens: u32,
) -> Result<Run, LlmError> {
    let started = Instant::now();
    let mut stream = generator.generate(
        messages,
        GenOptions {
            max_tokens: tokens,
            temperature: 0.0,
            ignore_eos: true,
        },
    )?;
    let mut times = Vec::with_capacity(tokens as usize);
    let (generated, done) = loop {
        match stream.recv().await {
            Some(GenEvent::Token(_)) => times.push(Instant::now()),
            Some(GenEvent::Done(stats)) => break (stats.generated_tokens, Instant::now()),
            Some(GenEvent::Error(e)) => return Err(LlmError::Failed(e)),
            None => return Err(LlmError::Failed("the generator stopped".into())),
        }
    };
    let Some(first) = times.first().copied() else {
        return Err(LlmError::Failed("no text".into()));
    };
    let decode = (done - first).as_secs_f64().max(1e-9);
    Ok(Run {
        ttft_ms: (first - started).as_secs_f64() * 1000.0,
        decode_tok_s: generated.saturating_sub(1) as f64 / decode,
        times,
        generated,
    })
}

pub async fn run(
    model_path: &Path,
    settings: &LlmSettings,
    messages: Vec<ChatMessage>,
    tokens: u32,
    runs: usize,
    concurrency: &[usize],
) -> Result<GenerateReport, LlmError> {
    let runs = runs.max(1);
    let most = concurrency.iter().copied().max().unwrap_or(1).max(1);
    let mut settings = settings.clone();
    settings.parallel = most as u32;
    settings.queue_capacity = settings.queue_capacity.max(most);
    // Room for the prompt and the answer in every sequence.
    settings.n_ctx = settings.n_ctx.max(2048 * most as u32);

    // The bare loop first, alone, with its own copy of the model; then ours.
    let (bare_prompt, bare) = bare_runs(model_path, &settings, &messages, tokens, runs).await?;

    let generator = {
        let (path, s) = (model_path.to_path_buf(), settings.clone());
        tokio::task::spawn_blocking(move || LlamaGenerator::start(&path, &s))
            .await
            .map_err(|e| LlmError::Load(e.to_string()))??
    };
    regula_run(&generator, messages.clone(), tokens).await?; // warm-up
    let mut ours = Vec::new();
    for _ in 0..runs {
        ours.push(regula_run(&generator, messages.clone(), tokens).await?);
    }

    let mut figures = Vec::new();
    for &askers in concurrency {
        figures.push(concurrent(&generator, &messages, tokens, askers).await?);
    }

    let p50 = |v: Vec<f64>| percentile(&v, 50.0);
    let prefill = |ttft_ms: f64| bare_prompt as f64 / (ttft_ms / 1000.0).max(1e-9);
    let bare = StreamFigures {
        prompt_tokens: bare_prompt,
        ttft_ms_p50: p50(bare.iter().map(|r| r.1).collect()),
        prefill_tok_s_p50: p50(bare.iter().map(|r| prefill(r.1)).collect()),
        decode_tok_s_p50: p50(bare.iter().map(|r| r.2).collect()),
    };
    let regula = StreamFigures {
        prompt_tokens: bare_prompt,
        ttft_ms_p50: p50(ours.iter().map(|r| r.ttft_ms).collect()),
        prefill_tok_s_p50: p50(ours.iter().map(|r| prefill(r.ttft_ms)).collect()),
        decode_tok_s_p50: p50(ours.iter().map(|r| r.decode_tok_s).collect()),
    };
    Ok(GenerateReport {
        model: model_path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        tokens_per_answer: tokens,
        runs,
        decode_overhead_pct: (bare.decode_tok_s_p50 / regula.decode_tok_s_p50 - 1.0) * 100.0,
        ttft_overhead_pct: (regula.ttft_ms_p50 / bare.ttft_ms_p50 - 1.0) * 100.0,
        bare,
        regula,
        concurrency: figures,
    })
}

/// The bare llama-cpp-2 loop, `runs` times after a warm-up, on its own copy of the model: the
/// prompt's token count and each run's (prompt tokens, ttft ms, decode tok/s).
async fn bare_runs(
    model_path: &Path,
    settings: &LlmSettings,
    messages: &[ChatMessage],
    tokens: u32,
    runs: usize,
) -> Result<(usize, Vec<(usize, f64, f64)>), LlmError> {
    let path = model_path.to_path_buf();
    let (s, m) = (settings.clone(), messages.to_vec());
    tokio::task::spawn_blocking(move || -> Result<_, LlmError> {
        let model = LlamaModel::load_from_file(
            backend()?,
            &path,
            &LlamaModelParams::default().with_n_gpu_layers(s.n_gpu_layers),
        )
        .map_err(|e| LlmError::Load(e.to_string()))?;
        let template = model
            .chat_template(None)
            .or_else(|_| LlamaChatTemplate::new("chatml"))
            .map_err(|e| LlmError::Load(e.to_string()))?;
        let chat: Vec<LlamaChatMessage> = m
            .iter()
            .map(|c| LlamaChatMessage::new(c.role.clone(), c.content.clone()))
            .collect::<Result<_, _>>()
            .map_err(|e| LlmError::Failed(e.to_string()))?;
        let prompt = model
            .apply_chat_template(&template, &chat, true)
            .map_err(|e| LlmError::Failed(e.to_string()))?;
        let mut out = Vec::new();
        bare_run(&model, &s, &prompt, tokens)?; // warm-up
        for _ in 0..runs {
            out.push(bare_run(&model, &s, &prompt, tokens)?);
        }
        Ok((out[0].0, out))
    })
    .await
    .map_err(|e| LlmError::Failed(e.to_string()))?
}

/// `askers` answers at once: tokens, seconds, end-to-end and steady decode throughput.
async fn concurrent(
    generator: &LlamaGenerator,
    messages: &[ChatMessage],
    tokens: u32,
    askers: usize,
) -> Result<ConcurrencyFigures, LlmError> {
    let started = Instant::now();
    let all = futures::future::join_all(
        (0..askers).map(|_| regula_run(generator, messages.to_vec(), tokens)),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let all: Vec<Run> = all.into_iter().collect::<Result<_, _>>()?;
    let total: usize = all.iter().map(|r| r.generated).sum();
    let from = all.iter().filter_map(|r| r.times.first()).max().copied();
    let to = all.iter().filter_map(|r| r.times.last()).min().copied();
    let steady = match (from, to) {
        (Some(from), Some(to)) if to > from => {
            let n: f64 = all
                .iter()
                .map(|r| {
                    let pieces = r.times.iter().filter(|t| **t > from && **t <= to).count();
                    pieces as f64 * r.tokens_per_piece()
                })
                .sum();
            n / (to - from).as_secs_f64()
        }
        _ => 0.0,
    };
    Ok(ConcurrencyFigures {
        askers,
        tokens: total,
        seconds,
        end_to_end_tok_s: total as f64 / seconds,
        steady_decode_tok_s: steady,
    })
}
