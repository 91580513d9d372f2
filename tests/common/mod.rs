//! Test helpers: the real app (real models, SQLite, embedded Qdrant) on port 0 with a temp data dir.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use regula::app::{App, Parts};
use regula::config::Settings;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(rel: &str) -> PathBuf {
    repo().join("sample").join(rel)
}

/// Settings for a test: repository models and prompts, a private data dir, port 0, and a small
/// generation context so tests stay quick on two cores.
pub fn test_settings(data_dir: &Path) -> Settings {
    let mut s = Settings {
        data_dir: data_dir.to_path_buf(),
        ..Default::default()
    };
    s.models.dir = repo().join("models");
    s.prompts_dir = repo().join("prompts");
    s.http.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    s.llm.n_ctx = 8192;
    s.llm.parallel = 4;
    s.llm.max_tokens = 96;
    s
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// The documents every shared-app test can rely on.
pub const FIXTURES: &[&str] = &[
    "en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md",
    "en-18f-handbook/travel-and-leave/leave.md",
    "en-18f-handbook/travel-and-leave/overtime.md",
    "ko-labor-law/labor-standards-act.md",
];

/// One app per test binary, started on its own runtime thread so it outlives each test's runtime.
pub fn shared_app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let dir = tempfile::tempdir().expect("tempdir");
                let app = App::build(test_settings(dir.path()), Parts::Full)
                    .await
                    .expect("app builds");
                for rel in FIXTURES {
                    let bytes = std::fs::read(sample(rel)).expect("fixture");
                    app.ingestor
                        .ingest_bytes(rel, bytes, vec![], None)
                        .await
                        .expect("fixture ingests");
                }
                let server =
                    regula::http::Server::bind(app.clone(), "127.0.0.1:0".parse().unwrap())
                        .await
                        .expect("bind");
                let addr = server.addr;
                tx.send(TestApp {
                    addr,
                    app,
                    _dir: dir,
                })
                .expect("send");
                let _ = server.run_until_stopped().await;
            });
        });
        rx.recv().expect("test app started")
    })
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .expect("client")
}
