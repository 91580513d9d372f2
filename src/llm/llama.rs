//! llama.cpp generation on a dedicated thread. The thread owns model and context; requests arrive
//! through a bounded queue and are decoded together, one sequence each (one `LlamaBatch` carries a
//! token of every active sequence per step). Tokens go back over a channel per request.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use super::{ChatMessage, GenEvent, GenOptions, GenStats, GenStream, Generator, LlmError};
use crate::config::LlmSettings;

struct Job {
    messages: Vec<ChatMessage>,
    options: GenOptions,
    tx: mpsc::Sender<GenEvent>,
}

pub struct LlamaGenerator {
    name: String,
    queue: SyncSender<Job>,
    /// Jobs queued or being decoded.
    pending: Arc<AtomicUsize>,
    /// Joined on drop: the worker must free its context before the process exits. CUDA tears its
    /// driver down at exit, and a context freed after that aborts the process (seen on an H200).
    worker: Option<JoinHandle<()>>,
}

/// llama.cpp's backend may be initialised once per process.
pub(crate) fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LlmError::Load(e.clone()))
}

pub(crate) fn threads(configured: i32) -> i32 {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get() as i32)
    }
}

impl LlamaGenerator {
    /// Load the model and start the worker; returns once the model is loaded (or failed to load).
    pub fn start(path: &Path, settings: &LlmSettings) -> Result<Self, LlmError> {
        if !path.exists() {
            return Err(LlmError::MissingModel(path.display().to_string()));
        }
        let backend = backend()?;
        let (queue, jobs) = sync_channel::<Job>(settings.queue_capacity);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), LlmError>>();
        let pending = Arc::new(AtomicUsize::new(0));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "llama".into());
        let path = path.to_path_buf();
        let settings = settings.clone();
        let worker_pending = pending.clone();
        let worker = std::thread::Builder::new()
            .name("regula-llm".into())
            .spawn(move || {
                let model_params =
                    LlamaModelParams::default().with_n_gpu_layers(settings.n_gpu_layers);
                let model = match LlamaModel::load_from_file(backend, &path, &model_params) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ =
                            ready_tx.send(Err(LlmError::Load(format!("{}: {e}", path.display()))));
                        return;
                    }
                };
                let mut ctx_params = LlamaContextParams::default()
                    .with_n_ctx(NonZeroU32::new(settings.n_ctx))
                    .with_n_batch(settings.n_batch)
                    .with_n_seq_max(settings.parallel)
                    .with_n_threads(threads(settings.threads))
                    .with_n_threads_batch(threads(settings.threads));
                if settings.flash_attention {
                    ctx_params = ctx_params.with_flash_attention_policy(
                        llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED,
                    );
                }
                let ctx = match model.new_context(backend, ctx_params) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(LlmError::Load(format!("context: {e}"))));
                        return;
                    }
                };
                // The model's own chat template (GGUF metadata), else ChatML.
                let template = model
                    .chat_template(None)
                    .or_else(|_| LlamaChatTemplate::new("chatml"))
                    .map_err(|e| LlmError::Load(format!("chat template: {e}")));
                let template = match template {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let mut worker = Worker {
                    model: &model,
                    ctx,
                    template,
                    slots: (0..settings.parallel).map(|_| None).collect(),
                    n_ctx_seq: (settings.n_ctx / settings.parallel) as usize,
                    n_batch: settings.n_batch as usize,
                    timeout: Duration::from_secs(settings.timeout_secs),
                    pending: worker_pending,
                };
                worker.run(jobs);
            })
            .map_err(|e| LlmError::Load(e.to_string()))?;
        ready_rx.recv().map_err(|_| LlmError::WorkerGone)??;
        Ok(Self {
            name,
            queue,
            pending,
            worker: Some(worker),
        })
    }
}

impl Drop for LlamaGenerator {
    fn drop(&mut self) {
        // Closing the queue ends the worker's loop once its sequences are done; a sender to a
        // channel nobody reads takes the queue's place.
        drop(std::mem::replace(&mut self.queue, sync_channel(0).0));
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::error!("the generation worker panicked");
            }
        }
    }
}

impl Generator for LlamaGenerator {
    fn name(&self) -> &str {
        &self.name
    }

    fn generate(
        &self,
        messages: Vec<ChatMessage>,
        options: GenOptions,
    ) -> Result<GenStream, LlmError> {
        let (tx, rx) = mpsc::channel(256);
        self.pending.fetch_add(1, Ordering::SeqCst);
        match self.queue.try_send(Job {
            messages,
            options,
            tx,
        }) {
            Ok(()) => Ok(rx),
            Err(e) => {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                Err(match e {
                    TrySendError::Full(_) => LlmError::QueueFull,
                    TrySendError::Disconnected(_) => LlmError::WorkerGone,
                })
            }
        }
    }

    fn load(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }
}

struct Slot {
    tx: mpsc::Sender<GenEvent>,
    sampler: LlamaSampler,
    /// Next position in this sequence.
    pos: i32,
    last: LlamaToken,
    prompt_tokens: usize,
    generated: usize,
    max_tokens: usize,
    ignore_eos: bool,
    deadline: Instant,
    /// Bytes of a UTF-8 character split across tokens.
    pending_bytes: Vec<u8>,
    /// Index of this sequence's logits in the current batch.
    batch_index: i32,
}

struct Worker<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: LlamaChatTemplate,
    slots: Vec<Option<Slot>>,
    n_ctx_seq: usize,
    n_batch: usize,
    timeout: Duration,
    pending: Arc<AtomicUsize>,
}

pub(crate) fn sampler(temperature: f32, n_vocab: i32) -> LlamaSampler {
    // A mild repetition penalty keeps small models from looping.
    let penalties = LlamaSampler::penalties(n_vocab, 64, 1.1, 0.0, 0.0);
    if temperature <= 0.0 {
        LlamaSampler::chain_simple([penalties, LlamaSampler::greedy()])
    } else {
        LlamaSampler::chain_simple([
            penalties,
            LlamaSampler::temp(temperature),
            LlamaSampler::dist(rand_seed()),
        ])
    }
}

fn rand_seed() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

impl Worker<'_> {
    fn run(&mut self, jobs: Receiver<Job>) {
        loop {
            let active = self.slots.iter().filter(|s| s.is_some()).count();
            if active == 0 {
                // Idle: block until a request arrives (or every sender is gone).
                match jobs.recv() {
                    Ok(job) => self.admit(job),
                    Err(_) => return,
                }
            }
            while self.slots.iter().any(Option::is_none) {
                match jobs.try_recv() {
                    Ok(job) => self.admit(job),
                    Err(_) => break,
                }
            }
            if self.slots.iter().any(Option::is_some) {
                self.step();
            }
        }
    }

    fn finish(&mut self, seq: usize, stop: &str) {
        if let Some(slot) = self.slots[seq].take() {
            let _ = self.ctx.clear_kv_cache_seq(Some(seq as u32), None, None);
            let _ = slot.tx.try_send(GenEvent::Done(GenStats {
                prompt_tokens: slot.prompt_tokens,
                generated_tokens: slot.generated,
                stop: stop.to_string(),
            }));
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn reject(&mut self, tx: &mpsc::Sender<GenEvent>, error: LlmError) {
        let _ = tx.try_send(GenEvent::Error(error.to_string()));
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }

    /// Prefill the prompt of a new request into a free sequence and sample its first token.
    fn admit(&mut self, job: Job) {
        let Some(seq) = self.slots.iter().position(Option::is_none) else {
            self.reject(&job.tx, LlmError::Failed("no free sequence".into()));
            return;
        };
        if job.tx.is_closed() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let messages: Result<Vec<LlamaChatMessage>, _> = job
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.replace('\0', "")))
            .collect();
        let prompt = match messages.map_err(|e| e.to_string()).and_then(|m| {
            self.model
                .apply_chat_template(&self.template, &m, true)
                .map_err(|e| e.to_string())
        }) {
            Ok(p) => p,
            Err(e) => return self.reject(&job.tx, LlmError::Failed(format!("chat template: {e}"))),
        };
        let tokens = self.model.vocab().tokenize(prompt.as_bytes(), true, true);
        let max_tokens = job.options.max_tokens as usize;
        if tokens.is_empty() || tokens.len() + max_tokens.max(1) > self.n_ctx_seq {
            let limit = self.n_ctx_seq.saturating_sub(max_tokens);
            return self.reject(
                &job.tx,
                LlmError::PromptTooLong {
                    tokens: tokens.len(),
                    limit,
                },
            );
        }
        let _ = self.ctx.clear_kv_cache_seq(Some(seq as u32), None, None);
        let mut batch = LlamaBatch::new(self.n_batch, 1);
        let last_index = tokens.len() - 1;
        for (start, piece) in tokens.chunks(self.n_batch).enumerate() {
            batch.clear();
            for (j, tok) in piece.iter().enumerate() {
                let i = start * self.n_batch + j;
                if batch
                    .add(*tok, i as i32, &[seq as i32], i == last_index)
                    .is_err()
                {
                    return self.reject(&job.tx, LlmError::Failed("batch overflow".into()));
                }
            }
            if let Err(e) = self.ctx.decode(&mut batch) {
                let _ = self.ctx.clear_kv_cache_seq(Some(seq as u32), None, None);
                return self.reject(&job.tx, LlmError::Failed(format!("prefill: {e}")));
            }
        }
        let n_vocab = self.model.n_vocab();
        let mut sampler = sampler(job.options.temperature, n_vocab);
        let first = sampler.sample(&self.ctx, batch.n_tokens() - 1);
        let slot = Slot {
            tx: job.tx,
            sampler,
            pos: tokens.len() as i32,
            last: first,
            prompt_tokens: tokens.len(),
            generated: 0,
            max_tokens,
            ignore_eos: job.options.ignore_eos,
            deadline: Instant::now() + self.timeout,
            pending_bytes: Vec::new(),
            batch_index: 0,
        };
        self.slots[seq] = Some(slot);
        self.emit(seq);
    }

    /// Send the slot's last sampled token, or finish the sequence. Returns whether it goes on.
    fn emit(&mut self, seq: usize) -> bool {
        let model = self.model;
        let vocab = model.vocab();
        let Some(slot) = self.slots[seq].as_mut() else {
            return false;
        };
        if slot.tx.is_closed() {
            self.finish(seq, "cancelled");
            return false;
        }
        if !slot.ignore_eos && vocab.is_eog(slot.last) {
            self.finish(seq, "eos");
            return false;
        }
        slot.generated += 1;
        slot.pending_bytes
            .extend(vocab.token_to_piece(slot.last, false, None));
        let valid = match std::str::from_utf8(&slot.pending_bytes) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Invalid bytes (not a split character): drop them.
            Err(_) => {
                slot.pending_bytes.clear();
                0
            }
        };
        if valid > 0 {
            let text = String::from_utf8_lossy(&slot.pending_bytes[..valid]).to_string();
            slot.pending_bytes.drain(..valid);
            if slot.tx.blocking_send(GenEvent::Token(text)).is_err() {
                self.finish(seq, "cancelled");
                return false;
            }
        }
        let slot = self.slots[seq].as_ref().expect("slot present");
        if slot.generated >= slot.max_tokens {
            self.finish(seq, "max_tokens");
            return false;
        }
        if slot.pos as usize + 1 >= self.n_ctx_seq {
            self.finish(seq, "max_tokens");
            return false;
        }
        if Instant::now() > slot.deadline {
            self.finish(seq, "timeout");
            return false;
        }
        true
    }

    /// One decode step for every active sequence.
    fn step(&mut self) {
        let active: Vec<usize> = (0..self.slots.len())
            .filter(|i| self.slots[*i].is_some())
            .collect();
        let mut batch = LlamaBatch::new(active.len().max(1), 1);
        for (bi, &seq) in active.iter().enumerate() {
            let slot = self.slots[seq].as_mut().expect("active slot");
            if batch.add(slot.last, slot.pos, &[seq as i32], true).is_err() {
                self.finish(seq, "error");
                return;
            }
            slot.pos += 1;
            slot.batch_index = bi as i32;
        }
        if let Err(e) = self.ctx.decode(&mut batch) {
            for seq in active {
                if let Some(slot) = self.slots[seq].as_ref() {
                    let _ = slot.tx.try_send(GenEvent::Error(format!("decode: {e}")));
                }
                self.finish(seq, "error");
            }
            return;
        }
        for seq in active {
            let Some(slot) = self.slots[seq].as_mut() else {
                continue;
            };
            let token = slot.sampler.sample(&self.ctx, slot.batch_index);
            slot.last = token;
            self.emit(seq);
        }
    }
}
