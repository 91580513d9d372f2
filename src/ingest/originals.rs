//! Uploaded files, stored by content hash (a file name never becomes a path). Uploads stream
//! into a temporary file while being hashed and measured, so a large upload never sits in memory
//! and one over the limit is refused without being kept.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::IngestError;

#[derive(Debug, Clone)]
pub struct Originals {
    dir: PathBuf,
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Originals {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path(&self, hash: &str) -> Result<PathBuf, IngestError> {
        if !is_hash(hash) {
            return Err(IngestError::Internal(format!("not a content hash: {hash}")));
        }
        Ok(self.dir.join(hash))
    }

    /// Store bytes; returns their hash.
    pub fn put(&self, bytes: &[u8]) -> Result<String, IngestError> {
        let hash = sha256(bytes);
        self.put_hashed(&hash, bytes)?;
        Ok(hash)
    }

    /// Store bytes whose hash the caller already computed; returns their path.
    pub fn put_hashed(&self, hash: &str, bytes: &[u8]) -> Result<PathBuf, IngestError> {
        let path = self.path(hash)?;
        if !path.exists() {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = self
                .dir
                .join(format!("{hash}.{}.tmp", uuid::Uuid::new_v4()));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
        }
        Ok(path)
    }

    /// Remove a stored original (gone already is fine).
    pub fn remove(&self, hash: &str) -> Result<(), IngestError> {
        match std::fs::remove_file(self.path(hash)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    pub fn read(&self, hash: &str) -> Result<Vec<u8>, IngestError> {
        std::fs::read(self.path(hash)?)
            .map_err(|e| IngestError::Internal(format!("the uploaded file {hash} is gone: {e}")))
    }

    /// Start streaming an upload of at most `limit` bytes.
    pub async fn writer(&self, limit: u64) -> Result<SpoolWriter, IngestError> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let tmp = self
            .dir
            .join(format!("upload-{}.tmp", uuid::Uuid::new_v4()));
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(SpoolWriter {
            dir: self.dir.clone(),
            tmp,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    /// Temporary files a crash left behind. Only old ones: the folder may be shared with other
    /// replicas whose uploads are streaming into their own temporary files right now.
    pub fn clean_temporary(&self) {
        let stale = |e: &std::fs::DirEntry| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(3600))
        };
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().ends_with(".tmp") && stale(&e) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

pub struct SpoolWriter {
    dir: PathBuf,
    tmp: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl SpoolWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(IngestError::TooLarge(format!(
                "more than {} bytes, the limit",
                self.limit
            )));
        }
        self.hasher.update(chunk);
        match self.file.as_mut() {
            Some(f) => Ok(f.write_all(chunk).await?),
            None => Err(IngestError::Internal("upload already finished".into())),
        }
    }

    /// Keep the file under its hash; returns the hash.
    pub async fn commit(mut self) -> Result<String, IngestError> {
        if let Some(mut f) = self.file.take() {
            f.flush().await?;
        }
        let hash = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let path = self.dir.join(&hash);
        if path.exists() {
            tokio::fs::remove_file(&self.tmp).await?;
        } else {
            tokio::fs::rename(&self.tmp, &path).await?;
        }
        self.tmp = PathBuf::new();
        Ok(hash)
    }
}

impl Drop for SpoolWriter {
    /// An upload that was refused or cut off leaves nothing behind.
    fn drop(&mut self) {
        if self.tmp != Path::new("") {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
