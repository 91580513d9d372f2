use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};

use super::{EmbedError, Embedder};
use crate::config::{EmbedSettings, Pooling as PoolingSetting};

/// fastembed over a local ONNX model, with ONNX Runtime loaded from a file at run time.
pub struct FastEmbedder {
    model: Mutex<TextEmbedding>,
    model_id: String,
    dimension: usize,
    batch_size: usize,
    query_prefix: String,
    passage_prefix: String,
}

/// ONNX Runtime can be loaded once per process; later calls reuse it.
pub(super) fn ort_environment(lib: &Path) -> Result<ort::environment::Environment, EmbedError> {
    static LOADED: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    let err = |reason: String| EmbedError::Runtime {
        path: lib.display().to_string(),
        reason,
    };
    if !lib.exists() {
        return Err(err("file not found".into()));
    }
    LOADED
        .get_or_init(|| {
            let builder = ort::init_from(lib).map_err(|e| e.to_string())?;
            builder
                .with_name("regula")
                .build()
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(err)
}

/// The four tokenizer files fastembed needs, from a model folder.
pub(super) fn read_tokenizer_files(dir: &Path) -> Result<TokenizerFiles, EmbedError> {
    Ok(TokenizerFiles {
        tokenizer_file: read_file(dir, "tokenizer.json")?,
        config_file: read_file(dir, "config.json")?,
        special_tokens_map_file: read_file(dir, "special_tokens_map.json")?,
        tokenizer_config_file: read_file(dir, "tokenizer_config.json")?,
    })
}

pub(super) fn read_file(dir: &Path, name: &str) -> Result<Vec<u8>, EmbedError> {
    let path: PathBuf = dir.join(name);
    std::fs::read(&path).map_err(|_| EmbedError::MissingFile {
        path: path.display().to_string(),
    })
}

impl FastEmbedder {
    pub fn load(
        model_dir: &Path,
        ort_lib: &Path,
        settings: &EmbedSettings,
    ) -> Result<Self, EmbedError> {
        let onnx = read_file(model_dir, "model.onnx")?;
        let tokenizer_files = read_tokenizer_files(model_dir)?;
        let environment = ort_environment(ort_lib)?;
        // Pooling must match training (MiniLM: mean; CLS would cut its relevance gap by 4x).
        let pooling = match settings.pooling {
            PoolingSetting::Mean => Pooling::Mean,
            PoolingSetting::Cls => Pooling::Cls,
        };
        let model = UserDefinedEmbeddingModel::new(onnx, tokenizer_files).with_pooling(pooling);
        let mut options = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(settings.max_length);
        if settings.threads > 0 {
            options = options.with_intra_threads(settings.threads);
        }
        let embedding = TextEmbedding::try_new_from_user_defined(model, options)
            .map_err(|e| EmbedError::Failed(e.to_string()))?;
        Ok(Self {
            model: Mutex::new(embedding),
            model_id: settings.model_id.clone(),
            dimension: settings.dimension,
            batch_size: settings.batch_size,
            query_prefix: settings.query_prefix.clone(),
            passage_prefix: settings.passage_prefix.clone(),
        })
    }

    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut model = self
            .model
            .lock()
            .map_err(|_| EmbedError::Failed("embedding model lock poisoned".into()))?;
        let out = model
            .embed(texts, Some(self.batch_size))
            .map_err(|e| EmbedError::Failed(e.to_string()))?;
        if let Some(v) = out.first() {
            if v.len() != self.dimension {
                return Err(EmbedError::Failed(format!(
                    "model produced {} dimensions, configuration says {}",
                    v.len(),
                    self.dimension
                )));
            }
        }
        Ok(out)
    }
}

impl Embedder for FastEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Batches pad to their longest text: sort by length so each batch holds similar lengths,
        // then put the vectors back in the caller's order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let sorted: Vec<String> = order
            .iter()
            .map(|&i| format!("{}{}", self.passage_prefix, texts[i]))
            .collect();
        let sorted: Vec<&str> = sorted.iter().map(String::as_str).collect();
        let vectors = self.run(&sorted)?;
        let mut out = vec![Vec::new(); texts.len()];
        for (v, &i) in vectors.into_iter().zip(order.iter()) {
            out[i] = v;
        }
        Ok(out)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.run(&[format!("{}{text}", self.query_prefix).as_str()])?
            .pop()
            .ok_or_else(|| EmbedError::Failed("no vector returned".into()))
    }
}
