//! Settings: built-in defaults, then an optional TOML file, then `REGULA__SECTION__KEY` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    /// Where the database, the vector index and stored originals live.
    pub data_dir: PathBuf,
    pub http: HttpSettings,
    pub models: ModelSettings,
    pub llm: LlmSettings,
    pub embed: EmbedSettings,
    pub retrieval: RetrievalSettings,
    pub chunking: ChunkSettings,
    pub ingest: IngestSettings,
    /// Folder of prompt templates, read at start so they can be edited without a rebuild.
    pub prompts_dir: PathBuf,
    pub log: LogSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub audit: AuditSettings,
    pub index: IndexSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct IndexSettings {
    /// A Qdrant server or cluster (`http://qdrant:6334`, gRPC); unset: the embedded engine in
    /// the data dir. `QDRANT_URL` sets it too.
    pub qdrant_url: Option<String>,
    /// Sent as the server's API key (set it with `REGULA__INDEX__QDRANT_API_KEY` or `QDRANT_API_KEY`).
    pub qdrant_api_key: Option<String>,
    /// The collection on that server; several Regula deployments can share one server.
    pub collection: String,
}

impl Default for IndexSettings {
    fn default() -> Self {
        Self {
            qdrant_url: None,
            qdrant_api_key: None,
            collection: "regula".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// Largest accepted question, in bytes.
    pub max_question_bytes: usize,
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>` (a Prometheus scrape
    /// config's `authorization.credentials`); empty leaves it open, as Prometheus expects.
    /// Use REGULA__HTTP__METRICS_TOKEN.
    pub metrics_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ModelSettings {
    /// Base folder for the relative paths below (filled by `scripts/fetch-models.sh`).
    pub dir: PathBuf,
    /// GGUF generation model.
    pub llm: PathBuf,
    /// Folder with `model.onnx`, `tokenizer.json`, `config.json`, `special_tokens_map.json`,
    /// `tokenizer_config.json`.
    pub embedding: PathBuf,
    /// ONNX Runtime shared library, loaded at run time.
    pub onnxruntime: PathBuf,
    /// mecab-ko-dic folder (Korean morphology for the answer decision). Empty: run without it,
    /// every word of a Korean question then counts, and the shipped decision is less accurate.
    pub korean_dictionary: PathBuf,
    /// MeCab shared library: a path under `dir`, else a name the system loader finds
    /// (Debian's libmecab2).
    pub mecab_library: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LlmSettings {
    /// `local` (llama.cpp in this process), `openai` (an OpenAI-compatible server at
    /// `remote_url`, e.g. llama-server or vLLM on GPU machines) or `none` (no model: answers
    /// are the passages' answering sentences, quoted with their citations).
    pub backend: LlmBackend,
    /// Base URL of the OpenAI-compatible API, up to `/v1`.
    pub remote_url: String,
    /// The model name the remote server expects.
    pub remote_model: String,
    /// Sent as `Authorization: Bearer …` when set (use REGULA__LLM__REMOTE_API_KEY).
    pub remote_api_key: Option<String>,
    pub n_ctx: u32,
    pub n_batch: u32,
    /// Threads for llama.cpp; 0 means "all cores".
    pub threads: i32,
    pub n_gpu_layers: u32,
    pub flash_attention: bool,
    /// Sequences decoded together in one context.
    pub parallel: u32,
    /// Requests waiting for a free sequence before the API answers 503.
    pub queue_capacity: usize,
    pub max_tokens: u32,
    pub temperature: f32,
    pub timeout_secs: u64,
    /// Whether the configured model writes good Korean. When false, Korean questions are
    /// answered extractively (quoted passages with a Korean introduction from prompts/).
    pub korean_capable: bool,
    /// What the model is given to answer from: `sentences` (the passages' answering sentences
    /// only, so it rephrases what verification can confirm) or `passages` (the whole passages).
    pub reads: LlmReads,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LlmReads {
    #[default]
    Sentences,
    Passages,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LlmBackend {
    Local,
    #[serde(rename = "openai")]
    OpenAi,
    #[default]
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EmbedSettings {
    /// Texts per ONNX Runtime call (batches pad to their longest text; 8 beat 16 and 32 in
    /// `regula bench embed` on this project's machine).
    pub batch_size: usize,
    /// ONNX Runtime intra-op threads; 0 means "all cores".
    pub threads: usize,
    pub max_length: usize,
    /// Identifies the model that built the index; vectors of two models are never mixed.
    pub model_id: String,
    pub dimension: usize,
    /// `mean` or `cls`, as the model was trained (MiniLM: mean; bge: cls).
    pub pooling: Pooling,
    /// Text put before every query / passage (e5-style models: `query: ` and `passage: `). Set
    /// these in the TOML file: environment values lose their trailing space.
    pub query_prefix: String,
    pub passage_prefix: String,
    /// Whether the embedding model understands Korean. When false (MiniLM), Korean questions are
    /// retrieved on the sparse side alone: the English-only model's Korean similarities are noise.
    pub multilingual: bool,
    /// With a model that is not multilingual, Korean passages are embedded from their first this
    /// many characters (their vectors carry no meaning for it; embedding them whole dominated
    /// Korean ingest time). 0 embeds them whole.
    pub unreadable_prefix_chars: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Mean,
    Cls,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RetrievalSettings {
    pub top_k: usize,
    /// Candidates each side (dense, sparse) passes to fusion.
    pub prefetch: usize,
    pub rrf_k: usize,
    pub dense_weight: f32,
    pub sparse_weight: f32,
    /// Passages given to the model.
    pub context_passages: usize,
    /// The answer-or-abstain model (JSON, written by `regula eval fit`); unset: the built-in
    /// one, fitted on tests/eval/ (see README, "Recalibrating the decision").
    pub decision_model: Option<PathBuf>,
    /// The company's own words -> its rules' words (a TSV file in the format of
    /// resources/thesaurus.tsv), added to the built-in thesaurus: "리프레시휴가" -> "연차 유급휴가".
    /// Read at start; no re-index needed after a change.
    pub thesaurus: Option<PathBuf>,
    /// A cross-encoder ONNX model folder (model.onnx + tokenizer files), relative to `models.dir`:
    /// when set, the best `rerank_candidates` passages are re-ordered by it. Off by default.
    pub rerank_model: Option<PathBuf>,
    pub rerank_candidates: usize,
    pub rerank_max_length: usize,
    /// Choose an answer's sentences by their closeness in meaning to the question as well as by
    /// its words (languages the embedding model reads): ~0.1 s of embedding per question on two
    /// cores (`regula bench answer`). The built-in decision was fitted with it on: refit after
    /// switching it off.
    pub sentence_closeness: bool,
    /// At most this many passages of one section ahead of other sections' (0: no limit), so a
    /// long article's near-duplicate passages do not fill the whole top of the list.
    pub max_per_section: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ChunkSettings {
    /// Target size of a chunk in (approximate) model tokens.
    pub max_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct IngestSettings {
    pub max_file_bytes: u64,
    /// Largest upload request (all its files together); refused with 413 before it is read.
    pub max_upload_bytes: u64,
    pub max_pages: usize,
    /// Most chunks one file may yield (a 50 MB page of text would take hours to embed).
    pub max_chunks: usize,
    /// After uploads through the API, build the ANN (HNSW) index in the background once this many
    /// points were added since the last build. Below it brute force is fast enough (about 20 ms at
    /// 100k points); `regula ingest` always builds it at the end of a batch.
    pub optimize_after: usize,
    /// Background ingest workers. Embedding already uses every core, so one is usually right.
    pub workers: usize,
    /// Attempts per file before its job is marked failed (transient errors only; a malformed
    /// file fails at once).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled on each further attempt.
    pub retry_backoff_ms: u64,
    /// Time budget per file (extraction + embedding); a file over it fails with that reason.
    pub file_time_budget_secs: u64,
    /// A folder whose files are kept indexed: new and changed files are ingested, removed ones
    /// deleted. Off when unset.
    pub watch_dir: Option<PathBuf>,
    /// How often the watched folder is scanned.
    pub watch_interval_secs: u64,
    /// Groups that may read documents the watched folder adds (a document already known keeps
    /// its current groups: the folder never widens what an admin narrowed).
    pub watch_groups: Vec<String>,
    /// Versions of a document kept on record, the active one included; older ones lose their
    /// records, passages and original file when a new version is activated.
    pub keep_versions: usize,
    /// Where uploaded files and stored originals live; unset: `originals` in the data dir.
    /// Replicas sharing a database must share this folder too (a network volume), since any
    /// replica may run a job another one queued.
    pub originals_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LogSettings {
    /// `tracing` filter, e.g. `info` or `regula=debug`.
    pub level: String,
    pub json: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host/db` for several replicas; unset: SQLite in the data dir.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuthSettings {
    /// How long a login session lasts.
    pub session_ttl_secs: u64,
    /// Mark the session cookie `Secure` (set when Regula is reached over TLS). It is also set
    /// when a trusted proxy says the request came over HTTPS (`X-Forwarded-Proto`).
    pub secure_cookies: bool,
    /// Reverse proxies whose identity headers are believed (trusted-header SSO); empty = off.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Header with the signed-in user's name, set by a trusted proxy.
    pub user_header: String,
    /// Header with the user's groups (comma-separated), set by a trusted proxy.
    pub groups_header: String,
    /// SSO users in one of these groups are admins.
    pub admin_groups: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LimitSettings {
    /// Questions and searches per minute for each user or API key (0 = unlimited).
    pub asks_per_minute: u32,
    /// Login attempts per minute for each user name from each client address (0 = unlimited):
    /// a stranger guessing a name cannot lock its owner out from another address.
    pub logins_per_minute: u32,
    /// Login attempts per minute from each client address, whatever the names (0 = unlimited).
    pub logins_per_minute_per_address: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AuditSettings {
    /// Audit rows older than this are deleted (checked at start and hourly).
    pub retention_days: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            session_ttl_secs: 12 * 3600,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            user_header: "x-remote-user".into(),
            groups_header: "x-remote-groups".into(),
            admin_groups: vec!["regula-admins".into()],
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            asks_per_minute: 30,
            logins_per_minute: 10,
            logins_per_minute_per_address: 60,
        }
    }
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            http: HttpSettings::default(),
            models: ModelSettings::default(),
            llm: LlmSettings::default(),
            embed: EmbedSettings::default(),
            retrieval: RetrievalSettings::default(),
            chunking: ChunkSettings::default(),
            ingest: IngestSettings::default(),
            prompts_dir: PathBuf::from("prompts"),
            log: LogSettings::default(),
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            limits: LimitSettings::default(),
            audit: AuditSettings::default(),
            index: IndexSettings::default(),
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_question_bytes: 4096,
            metrics_token: String::new(),
        }
    }
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("models"),
            llm: PathBuf::from("SmolLM2-135M-Instruct.Q4_1.gguf"),
            embedding: PathBuf::from("minilm"),
            onnxruntime: PathBuf::from("libonnxruntime.so.1.24.4"),
            korean_dictionary: PathBuf::from("mecab-ko-dic"),
            mecab_library: PathBuf::from("libmecab.so.2"),
        }
    }
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            // On a CPU the small model's answers state the fact less often than the chosen
            // sentences and take seconds instead of milliseconds (BENCHMARKS.md, issue 18).
            backend: LlmBackend::None,
            remote_url: "http://127.0.0.1:8000/v1".into(),
            remote_model: "default".into(),
            remote_api_key: None,
            n_ctx: 8192,
            n_batch: 512,
            threads: 0,
            n_gpu_layers: 0,
            flash_attention: false,
            parallel: 4,
            queue_capacity: 32,
            max_tokens: 200,
            temperature: 0.0,
            timeout_secs: 120,
            korean_capable: false,
            reads: LlmReads::Sentences,
        }
    }
}

impl Default for EmbedSettings {
    fn default() -> Self {
        Self {
            batch_size: 8,
            threads: 0,
            max_length: 256,
            model_id: "all-MiniLM-L6-v2-int8".into(),
            dimension: 384,
            multilingual: false,
            unreadable_prefix_chars: 64,
            pooling: Pooling::Mean,
            query_prefix: String::new(),
            passage_prefix: String::new(),
        }
    }
}

impl Default for RetrievalSettings {
    fn default() -> Self {
        Self {
            top_k: 8,
            prefetch: 40,
            rrf_k: 60,
            dense_weight: 1.0,
            sparse_weight: 1.0,
            context_passages: 3,
            decision_model: None,
            thesaurus: None,
            rerank_model: None,
            rerank_candidates: 20,
            max_per_section: 2,
            rerank_max_length: 512,
            sentence_closeness: true,
        }
    }
}

impl Default for ChunkSettings {
    fn default() -> Self {
        Self { max_tokens: 220 }
    }
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_upload_bytes: 512 * 1024 * 1024,
            max_pages: 2000,
            max_chunks: 20_000,
            optimize_after: 20_000,
            workers: 1,
            max_attempts: 3,
            retry_backoff_ms: 2_000,
            file_time_budget_secs: 900,
            watch_dir: None,
            watch_interval_secs: 30,
            watch_groups: vec!["everyone".to_string()],
            keep_versions: 3,
            originals_dir: None,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
        }
    }
}

impl Settings {
    /// Defaults, then `file` (if given), then `REGULA__SECTION__KEY` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.to_path_buf()));
            }
            figment = figment.merge(Toml::file(file));
        }
        // The names Qdrant's own tools use, then Regula's own (which win).
        figment = figment.merge(
            Env::raw()
                .only(&["QDRANT_URL", "QDRANT_API_KEY"])
                .map(|k| format!("index.{}", k.as_str().to_ascii_lowercase()).into()),
        );
        figment = figment.merge(Env::prefixed("REGULA__").split("__"));
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.retrieval.top_k == 0 || self.retrieval.context_passages == 0 {
            return bad("retrieval.top_k and retrieval.context_passages must be at least 1");
        }
        if self.llm.parallel == 0 || self.llm.queue_capacity == 0 {
            return bad("llm.parallel and llm.queue_capacity must be at least 1");
        }
        if self.llm.n_ctx < 512 {
            return bad("llm.n_ctx must be at least 512");
        }
        if self.chunking.max_tokens < 32 {
            return bad("chunking.max_tokens must be at least 32");
        }
        if self.auth.session_ttl_secs == 0 {
            return bad("auth.session_ttl_secs must be at least 1");
        }
        if self.embed.batch_size == 0 {
            return bad("embed.batch_size must be at least 1");
        }
        Ok(())
    }

    /// The metadata database: `database.url`, or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("regula.db").display()
            )
        })
    }

    /// Uploaded and stored original files.
    pub fn originals_dir(&self) -> PathBuf {
        self.ingest
            .originals_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("originals"))
    }

    pub fn llm_path(&self) -> PathBuf {
        self.models.dir.join(&self.models.llm)
    }
    pub fn embedding_dir(&self) -> PathBuf {
        self.models.dir.join(&self.models.embedding)
    }
    pub fn onnxruntime_path(&self) -> PathBuf {
        self.models.dir.join(&self.models.onnxruntime)
    }
    /// The Korean tagger's library and dictionary, or None when morphology is switched off.
    pub fn korean_tagger_paths(&self) -> Option<(PathBuf, PathBuf)> {
        if self.models.korean_dictionary.as_os_str().is_empty() {
            return None;
        }
        let bundled = self.models.dir.join(&self.models.mecab_library);
        let library = if bundled.is_file() {
            bundled
        } else {
            self.models.mecab_library.clone()
        };
        Some((
            library,
            self.models.dir.join(&self.models.korean_dictionary),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "regula.toml",
                "[retrieval]\ntop_k = 5\n[llm]\nmax_tokens = 64\n[embed]\nquery_prefix = \"query: \"\n",
            )?;
            jail.set_env("REGULA__LLM__MAX_TOKENS", "99");
            jail.set_env("REGULA__HTTP__ADDR", "127.0.0.1:9999");
            jail.set_env("REGULA__EMBED__POOLING", "cls");
            let s = Settings::load(Some(Path::new("regula.toml"))).expect("loads");
            assert_eq!(s.retrieval.top_k, 5);
            assert_eq!(s.llm.max_tokens, 99);
            assert_eq!(s.http.addr.port(), 9999);
            assert_eq!(s.embed.dimension, 384);
            assert_eq!(s.embed.pooling, Pooling::Cls);
            assert_eq!(s.embed.query_prefix, "query: ");
            Ok(())
        });
    }

    #[test]
    fn rejects_invalid_values_and_missing_file() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REGULA__RETRIEVAL__TOP_K", "0");
            assert!(matches!(Settings::load(None), Err(ConfigError::Invalid(_))));
            Ok(())
        });
        assert!(matches!(
            Settings::load(Some(Path::new("/nonexistent/regula.toml"))),
            Err(ConfigError::MissingFile(_))
        ));
    }
}
