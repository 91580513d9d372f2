//! Builds every backend from the settings and wires them together: the one place that chooses
//! concrete implementations.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::{LlmBackend, Settings};
use crate::embed::{CrossEncoder, EmbedError, Embedder, FastEmbedder, Reranker};
use crate::index::{EdgeIndex, IndexError, RemoteIndex, VectorIndex};
use crate::ingest::originals::Originals;
use crate::ingest::{IngestError, Ingestor};
use crate::lexical::{Analyzer, Thesaurus};
use crate::llm::{Generator, LlamaGenerator, LlmError, OpenAiGenerator};
use crate::morphology::{KoreanTagger, MorphologyError};
use crate::rag::prompt::{PromptError, Prompts};
use crate::rag::Rag;
use crate::store::{Backend, Recovery, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("data dir {0} is in use by another regula process (is `regula serve` running?). Stop it, or send this command through it with --server http://ADDR")]
    DataDirInUse(PathBuf),
    #[error("data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Decision(#[from] crate::rag::decision::DecisionError),
    #[error(transparent)]
    Morphology(#[from] MorphologyError),
    #[error(transparent)]
    Thesaurus(#[from] crate::lexical::ThesaurusError),
}

/// The configured vector index: a Qdrant server when `index.qdrant_url` is set, else the
/// embedded engine in the data dir.
pub async fn open_index(
    settings: &Settings,
    model_id: &str,
    dimension: usize,
) -> Result<Arc<dyn VectorIndex>, IndexError> {
    let model = model_id.to_string();
    match &settings.index.qdrant_url {
        Some(url) => {
            let (url, key, collection) = (
                url.clone(),
                settings.index.qdrant_api_key.clone(),
                settings.index.collection.clone(),
            );
            tracing::info!(url = %url, collection = %collection, "vector index: qdrant server");
            tokio::task::spawn_blocking(move || {
                RemoteIndex::connect(&url, key.as_deref(), &collection, &model, dimension)
                    .map(|i| Arc::new(i) as Arc<dyn VectorIndex>)
            })
            .await
            .map_err(|e| IndexError::Engine(e.to_string()))?
        }
        None => {
            let dir = settings.data_dir.join("index");
            tokio::task::spawn_blocking(move || {
                EdgeIndex::open(&dir, &model, dimension)
                    .map(|i| Arc::new(i) as Arc<dyn VectorIndex>)
            })
            .await
            .map_err(|e| IndexError::Engine(e.to_string()))?
        }
    }
}

/// Which parts a command needs: `search` and `ingest` do not load the generation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    Retrieval,
    Full,
}

pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub index: Arc<dyn VectorIndex>,
    pub embedder: Arc<dyn Embedder>,
    pub generator: Option<Arc<dyn Generator>>,
    pub rag: Arc<Rag>,
    /// Every door that answers questions goes through it (see `answer`).
    pub answers: crate::answer::Answers,
    pub ingestor: Ingestor,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Questions per minute per principal, sign-in attempts per user name.
    pub limits: Arc<crate::auth::rate::RateLimits>,
    /// Every door that queues a file for ingestion goes through it.
    pub queue: crate::ingest::queue::Queue,
    optimizer: Arc<crate::ingest::optimizer::Optimizer>,
    background_started: AtomicBool,
    /// Held for the process's lifetime: one process owns a data dir.
    _lock: File,
}

impl App {
    pub async fn build(settings: Settings, parts: Parts) -> Result<Arc<Self>, AppError> {
        let lock = lock_data_dir(&settings)?;
        let models = Models::load(&settings, parts).await?;
        Self::assemble(settings, lock, models).await
    }

    /// An app on models the caller made instead of the configured ones (the tests' fast tier
    /// runs on small deterministic doubles; see tests/common/doubles.rs).
    pub async fn build_with(settings: Settings, models: Models) -> Result<Arc<Self>, AppError> {
        let lock = lock_data_dir(&settings)?;
        Self::assemble(settings, lock, models).await
    }

    async fn assemble(
        settings: Settings,
        lock: File,
        models: Models,
    ) -> Result<Arc<Self>, AppError> {
        let Models {
            embedder,
            generator,
            reranker,
            korean,
        } = models;
        let prompts = Prompts::load(&settings.prompts_dir)?;
        let store = Store::open(&settings.database_url()).await?;
        let index = open_index(&settings, embedder.model_id(), embedder.dimension()).await?;
        // A crash mid-ingest leaves an `indexing` version, invisible points and a `running` job:
        // fail the version, drop its points, queue the job again. Alone on SQLite, everything
        // running was left over; on a shared database only what a stopped replica left.
        let recovery = match store.backend() {
            Backend::Sqlite => Recovery::Exclusive,
            Backend::Postgres => Recovery::Shared,
        };
        crate::ingest::recovery::recover_abandoned(
            &store,
            &index,
            recovery,
            settings.ingest.max_attempts,
        )
        .await?;
        let originals = Originals::new(settings.originals_dir());
        originals.clean_temporary();
        let mut rag = Rag::new(
            embedder.clone(),
            index.clone(),
            generator.clone(),
            prompts,
            &settings,
        );
        rag.reranker = reranker;
        let mut analyzer = Analyzer::default().with_korean(korean);
        if let Some(path) = &settings.retrieval.thesaurus {
            analyzer = analyzer.with_company_thesaurus(Thesaurus::load(path)?);
        }
        rag.analyzer = analyzer;
        if let Some(path) = &settings.retrieval.decision_model {
            rag.decision = crate::rag::decision::DecisionModel::load(path)?;
        }
        let ingestor = Ingestor {
            store: store.clone(),
            index: index.clone(),
            embedder: embedder.clone(),
            originals: originals.clone(),
            max_tokens: settings.chunking.max_tokens,
            max_file_bytes: settings.ingest.max_file_bytes,
            max_pages: settings.ingest.max_pages,
            max_chunks: settings.ingest.max_chunks,
            unreadable_embed_chars: if settings.embed.multilingual {
                0
            } else {
                settings.embed.unreadable_prefix_chars
            },
            time_budget: std::time::Duration::from_secs(settings.ingest.file_time_budget_secs),
            keep_versions: settings.ingest.keep_versions,
        };
        let limits = Arc::new(crate::auth::rate::RateLimits::new(&settings.limits));
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let rag = Arc::new(rag);
        let capacity = settings.llm.parallel as usize + settings.llm.queue_capacity;
        let answers = crate::answer::Answers::new(
            store.clone(),
            rag.clone(),
            limits.clone(),
            metrics.clone(),
            generator.clone().map(|g| (g, capacity)),
        );
        let queue = crate::ingest::queue::Queue::new(store.clone());
        let optimizer = Arc::new(crate::ingest::optimizer::Optimizer::new(
            index.clone(),
            settings.ingest.optimize_after,
        ));
        Ok(Arc::new(Self {
            settings,
            store,
            index,
            embedder,
            generator,
            rag,
            answers,
            ingestor,
            queue,
            optimizer,
            metrics,
            limits,
            background_started: AtomicBool::new(false),
            _lock: lock,
        }))
    }

    /// Start the background work a server does: ingest workers and the watched folder.
    pub fn start_background(self: &Arc<Self>) {
        if self.background_started.swap(true, Ordering::SeqCst) {
            return;
        }
        crate::ingest::workers::Workers {
            store: self.store.clone(),
            ingestor: self.ingestor.clone(),
            queue: self.queue.clone(),
            optimizer: self.optimizer.clone(),
            settings: self.settings.ingest.clone(),
        }
        .start();
        self.start_housekeeping();
        if let Some(dir) = self.settings.ingest.watch_dir.clone() {
            crate::ingest::watch::Watcher {
                ingestor: self.ingestor.clone(),
                queue: self.queue.clone(),
                settings: self.settings.ingest.clone(),
            }
            .start(dir);
        }
    }

    /// Hourly: purge audit rows past their retention, expired sessions, idle rate-limit state.
    fn start_housekeeping(self: &Arc<Self>) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                match app
                    .store
                    .purge_audit(app.settings.audit.retention_days)
                    .await
                {
                    Ok(n) if n > 0 => tracing::info!(rows = n, "purged audit rows past retention"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "audit purge failed"),
                }
                if let Err(e) = app.store.purge_expired_sessions().await {
                    tracing::error!(error = %e, "session purge failed");
                }
                app.limits.forget_idle();
            }
        });
    }
}

/// One process owns a data dir: the lock is held for the app's lifetime.
fn lock_data_dir(settings: &Settings) -> Result<File, AppError> {
    let data_dir = settings.data_dir.clone();
    let io = |source| AppError::DataDir {
        path: data_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&data_dir).map_err(io)?;
    let lock = File::create(data_dir.join("regula.lock")).map_err(io)?;
    if lock.try_lock().is_err() {
        return Err(AppError::DataDirInUse(data_dir));
    }
    Ok(lock)
}

/// The models an app runs with.
pub struct Models {
    pub embedder: Arc<dyn Embedder>,
    /// None: retrieval only (search, eval of retrieval).
    pub generator: Option<Arc<dyn Generator>>,
    pub reranker: Option<Arc<dyn Reranker>>,
    /// None: a Korean question's every word is a concept (see `Analyzer::concepts`).
    pub korean: Option<Arc<KoreanTagger>>,
}

impl Models {
    /// The configured models, loaded from `models.dir`.
    pub async fn load(settings: &Settings, parts: Parts) -> Result<Self, AppError> {
        Ok(Self {
            embedder: load_embedder(settings).await?,
            generator: load_generator(settings, parts).await?,
            reranker: load_reranker(settings).await?,
            korean: load_korean_tagger(settings).await?,
        })
    }
}

/// MeCab on mecab-ko-dic, unless `models.korean_dictionary` is empty.
pub async fn load_korean_tagger(
    settings: &Settings,
) -> Result<Option<Arc<KoreanTagger>>, AppError> {
    let Some((library, dictionary)) = settings.korean_tagger_paths() else {
        return Ok(None);
    };
    let shown = dictionary.display().to_string();
    let tagger = tokio::task::spawn_blocking(move || KoreanTagger::load(&library, &dictionary))
        .await
        .map_err(|e| MorphologyError::Open {
            dictionary: shown,
            reason: e.to_string(),
        })??;
    Ok(Some(Arc::new(tagger)))
}

async fn load_embedder(settings: &Settings) -> Result<Arc<dyn Embedder>, AppError> {
    let (dir, lib, s) = (
        settings.embedding_dir(),
        settings.onnxruntime_path(),
        settings.embed.clone(),
    );
    Ok(Arc::new(
        tokio::task::spawn_blocking(move || FastEmbedder::load(&dir, &lib, &s))
            .await
            .map_err(|e| EmbedError::Failed(e.to_string()))??,
    ))
}

async fn load_generator(
    settings: &Settings,
    parts: Parts,
) -> Result<Option<Arc<dyn Generator>>, AppError> {
    Ok(match parts {
        Parts::Retrieval => None,
        Parts::Full if settings.llm.backend == LlmBackend::None => None,
        Parts::Full if settings.llm.backend == LlmBackend::OpenAi => {
            Some(Arc::new(OpenAiGenerator::new(&settings.llm)?))
        }
        Parts::Full => {
            let (path, llm) = (settings.llm_path(), settings.llm.clone());
            Some(Arc::new(
                tokio::task::spawn_blocking(move || LlamaGenerator::start(&path, &llm))
                    .await
                    .map_err(|e| LlmError::Load(e.to_string()))??,
            ))
        }
    })
}

/// The cross-encoder that re-orders fused candidates, when one is configured.
async fn load_reranker(settings: &Settings) -> Result<Option<Arc<dyn Reranker>>, AppError> {
    let Some(model) = &settings.retrieval.rerank_model else {
        return Ok(None);
    };
    let (dir, lib, max_length) = (
        settings.models.dir.join(model),
        settings.onnxruntime_path(),
        settings.retrieval.rerank_max_length,
    );
    let reranker = tokio::task::spawn_blocking(move || CrossEncoder::load(&dir, &lib, max_length))
        .await
        .map_err(|e| EmbedError::Failed(e.to_string()))??;
    tracing::info!(model = reranker.name(), "reranking with a cross-encoder");
    Ok(Some(Arc::new(reranker)))
}
