//! Retrieval latency at corpus sizes a company grows into: synthetic chunks (random unit vectors,
//! Zipf-distributed sparse terms, five reader groups) in a fresh index per size and backend (the
//! embedded engine, and a Qdrant server when one is named: the same points and queries, side by
//! side); latency percentiles per mode, with and without a group filter; disk and memory per
//! million chunks (embedded only: the server's are not this process's).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::percentile;
use crate::index::{
    ChunkPayload, ChunkPoint, EdgeIndex, RemoteIndex, SearchMode, SearchRequest, VectorIndex,
};
use crate::lexical::Sparse;

const DIM: usize = 384;
const VOCABULARY: u32 = 50_000;
const GROUPS: [&str; 5] = ["everyone", "hr", "finance", "security", "executives"];

/// Where the synthetic index lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Embedded,
    /// A Qdrant server; each size gets a scratch collection, dropped afterwards.
    Qdrant {
        url: String,
        api_key: Option<String>,
    },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Qdrant { .. } => "qdrant server",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub backend: String,
    pub chunks: usize,
    pub mode: String,
    pub group_filter: bool,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub qps_one_thread: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SizeFigures {
    pub backend: String,
    pub chunks: usize,
    pub load_seconds: f64,
    /// Embedded: the HNSW build; server: until its optimizers are idle.
    pub optimize_seconds: f64,
    pub disk_mb: Option<f64>,
    pub rss_growth_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub queries: usize,
    pub sizes: Vec<SizeFigures>,
    pub rows: Vec<Row>,
}

/// xorshift64*: deterministic and dependency-free; the figures do not need cryptographic noise.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn vector(&mut self) -> Vec<f32> {
        let v: Vec<f32> = (0..DIM).map(|_| self.unit() - 0.5).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.into_iter().map(|x| x / norm).collect()
    }
    /// A term id with a Zipf-like distribution: a few common terms, a long tail.
    fn term(&mut self) -> u32 {
        let u = self.unit().max(1e-6);
        ((VOCABULARY as f32).powf(u) as u32).min(VOCABULARY - 1)
    }
    fn sparse(&mut self, terms: usize) -> Sparse {
        let mut pairs: Vec<(u32, f32)> = (0..terms)
            .map(|_| (self.term(), 0.5 + self.unit()))
            .collect();
        pairs.sort_by_key(|p| p.0);
        pairs.dedup_by_key(|p| p.0);
        Sparse {
            indices: pairs.iter().map(|p| p.0).collect(),
            values: pairs.iter().map(|p| p.1).collect(),
        }
    }
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / 1e6)
}

fn disk_mb(dir: &Path) -> f64 {
    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir) as f64 / 1e6
}

const MODEL: &str = "synthetic-384";

/// Build an index of `n` synthetic chunks on `backend`, then time `queries` searches per mode.
pub fn run_size(
    backend: &Backend,
    n: usize,
    queries: usize,
) -> anyhow::Result<(SizeFigures, Vec<Row>)> {
    match backend {
        Backend::Embedded => {
            let dir = super::scratch_dir()?;
            let rss_before = rss_mb();
            let measured = EdgeIndex::open(&dir, MODEL, DIM)
                .map_err(anyhow::Error::from)
                .and_then(|index| {
                    let (mut figures, rows) = measure(backend, &index, n, queries, &|| {
                        index.optimize()?;
                        index.flush()
                    })?;
                    figures.disk_mb = Some(disk_mb(&dir));
                    figures.rss_growth_mb = Some((rss_mb() - rss_before).max(0.0));
                    Ok((figures, rows))
                });
            let _ = std::fs::remove_dir_all(&dir);
            measured
        }
        Backend::Qdrant { url, api_key } => {
            let collection = format!("regula-bench-{}", uuid::Uuid::new_v4().simple());
            let index = RemoteIndex::connect(url, api_key.as_deref(), &collection, MODEL, DIM)?;
            let measured = measure(backend, &index, n, queries, &|| {
                index.wait_until_indexed(Duration::from_secs(1800))
            });
            index.drop_collection()?;
            measured
        }
    }
}

fn measure(
    backend: &Backend,
    index: &dyn VectorIndex,
    n: usize,
    queries: usize,
    settle: &dyn Fn() -> Result<(), crate::index::IndexError>,
) -> anyhow::Result<(SizeFigures, Vec<Row>)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let started = Instant::now();
    let version = uuid::Uuid::new_v4().to_string();
    for start in (0..n).step_by(1000) {
        let batch: Vec<ChunkPoint> = (start..(start + 1000).min(n))
            .map(|i| ChunkPoint {
                payload: ChunkPayload {
                    chunk_id: uuid::Uuid::new_v4().to_string(),
                    document_id: format!("doc-{}", i / 50),
                    version_id: version.clone(),
                    groups: vec![GROUPS[i % GROUPS.len()].to_string()],
                    title: format!("Document {}", i / 50),
                    source: format!("doc-{}.md", i / 50),
                    section: format!("Section {}", i % 50),
                    page: None,
                    ordinal: i % 50,
                    text: format!("Synthetic passage {i}."),
                    full_names: vec![],
                },
                dense: rng.vector(),
                sparse: rng.sparse(60),
            })
            .collect();
        index.upsert(batch)?;
    }
    // One version spans the synthetic documents: nothing else is visible to hide.
    index.activate("doc-0", &version)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    settle()?;
    let optimize_seconds = started.elapsed().as_secs_f64();
    let figures = SizeFigures {
        backend: backend.name().to_string(),
        chunks: n,
        load_seconds,
        optimize_seconds,
        disk_mb: None,
        rss_growth_mb: None,
    };

    let requests: Vec<(Vec<f32>, Sparse)> = (0..queries)
        .map(|_| (rng.vector(), rng.sparse(6)))
        .collect();
    let mut rows = Vec::new();
    for mode in [SearchMode::Dense, SearchMode::Sparse, SearchMode::Hybrid] {
        for filtered in [false, true] {
            let mut ms = Vec::with_capacity(queries);
            let all = Instant::now();
            for (dense, sparse) in &requests {
                let request = SearchRequest {
                    dense: dense.clone(),
                    sparse: sparse.clone(),
                    groups: filtered.then(|| vec!["hr".to_string(), "everyone".to_string()]),
                    mode,
                    limit: 8,
                    prefetch: 40,
                    rrf_k: 60,
                    dense_weight: 1.0,
                    sparse_weight: 1.0,
                };
                let t = Instant::now();
                index.search(&request)?;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            rows.push(Row {
                backend: backend.name().to_string(),
                chunks: n,
                mode: format!("{mode:?}").to_lowercase(),
                group_filter: filtered,
                p50_ms: percentile(&ms, 50.0),
                p95_ms: percentile(&ms, 95.0),
                p99_ms: percentile(&ms, 99.0),
                qps_one_thread: queries as f64 / all.elapsed().as_secs_f64(),
            });
        }
    }
    Ok((figures, rows))
}

pub fn run(sizes: &[usize], queries: usize, backends: &[Backend]) -> anyhow::Result<SearchReport> {
    let mut report = SearchReport {
        queries,
        sizes: Vec::new(),
        rows: Vec::new(),
    };
    for &n in sizes {
        for backend in backends {
            let (figures, rows) = run_size(backend, n, queries)?;
            report.sizes.push(figures);
            report.rows.extend(rows);
        }
    }
    Ok(report)
}
