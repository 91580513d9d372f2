//! Test helpers: the real app (real models, SQLite, embedded Qdrant) on port 0 with a temp data dir.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub mod doubles;
pub mod fixtures;
pub mod webdriver;

use regula::app::{App, Models, Parts};
use regula::config::Settings;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(rel: &str) -> PathBuf {
    repo().join("sample").join(rel)
}

/// A fixture document: a sample corpus file, or one of the evaluation collections' documents
/// (`tests/eval/docs/...`, named from the repository root).
pub fn fixture(rel: &str) -> PathBuf {
    if rel.starts_with("tests/") {
        repo().join(rel)
    } else {
        sample(rel)
    }
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
    // The tests exercise generation (streaming, verification, the queue): the CPU default is
    // none; tests of the default set it back.
    s.llm.backend = regula::config::LlmBackend::Local;
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

    /// `POST /api/v1/ask` as the admin key: the status and the answer.
    pub async fn ask(&self, question: &str) -> (u16, serde_json::Value) {
        post_json(
            self,
            "/api/v1/ask",
            serde_json::json!({ "question": question }),
        )
        .await
    }

    /// `POST /api/v1/search` as the admin key: the status and the results.
    pub async fn search(&self, query: &str) -> (u16, Vec<serde_json::Value>) {
        let (status, body) = post_json(
            self,
            "/api/v1/search",
            serde_json::json!({ "query": query }),
        )
        .await;
        let results = body["results"].as_array().cloned().unwrap_or_default();
        (status, results)
    }

    /// Upload one file readable by `groups` (empty: the server's default) and wait for it.
    pub async fn upload(
        &self,
        name: &str,
        bytes: Vec<u8>,
        groups: &[&str],
    ) -> (u16, serde_json::Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        if !groups.is_empty() {
            form = form.text("groups", groups.join(","));
        }
        let r = client()
            .post(self.url("/api/v1/documents?wait=true"))
            .multipart(form)
            .send()
            .await
            .expect("upload request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A new account of `role` (`employee` or `admin`) reading `groups`, signed in through the
    /// login form as a browser would be.
    pub async fn as_user(&self, role: &str, groups: &[&str]) -> User {
        let name = format!("user-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        self.as_named_user(&name, role, groups).await
    }

    /// [`TestApp::as_user`] with a chosen user name (password [`USER_PASSWORD`]).
    pub async fn as_named_user(&self, name: &str, role: &str, groups: &[&str]) -> User {
        let (status, created) = post_json(
            self,
            "/api/v1/users",
            serde_json::json!({"username": name, "password": USER_PASSWORD, "role": role, "groups": groups}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let (cookie, csrf) = sign_in(self, name, USER_PASSWORD)
            .await
            .expect("a new user signs in");
        User {
            name: name.to_string(),
            id: created["id"].as_str().expect("user id").to_string(),
            cookie,
            csrf,
            base: self.url(""),
        }
    }

    /// A client holding a new API key of `scope` (`ask` or `admin`) reading with `groups`.
    pub async fn as_key(&self, scope: &str, groups: &[&str]) -> reqwest::Client {
        let (status, created) = post_json(
            self,
            "/api/v1/keys",
            serde_json::json!({ "name": format!("{scope} {groups:?}"), "scope": scope, "groups": groups }),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        client_with_key(created["secret"].as_str())
    }
}

/// The password of every account [`TestApp::as_user`] creates.
pub const USER_PASSWORD: &str = "a long enough password";

/// A signed-in account: its name and id, session cookie (`regula_session=…`) and CSRF token.
pub struct User {
    pub name: String,
    pub id: String,
    pub cookie: String,
    pub csrf: String,
    base: String,
}

impl User {
    /// `GET path` with the session cookie: the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = with_cookie(&self.cookie)
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// A state-changing request with the CSRF token a browser page sends; `sse` asks for the
    /// event stream. The status and the body.
    pub async fn post(&self, path: &str, body: serde_json::Value, sse: bool) -> (u16, String) {
        let mut req = with_cookie(&self.cookie)
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body);
        if sse {
            req = req.header("accept", "text/event-stream");
        }
        let r = req.send().await.expect("POST");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

/// An answer (`/v1/ask` JSON) that was not refused, states `fact` and cites a section whose
/// title contains `section`.
#[track_caller]
pub fn assert_answered_from(answer: &serde_json::Value, fact: &str, section: &str) {
    assert_eq!(answer["abstained"], false, "{answer:#}");
    assert!(
        answer["answer"].as_str().unwrap_or_default().contains(fact),
        "{answer:#}"
    );
    assert!(cites_section(answer, section), "{answer:#}");
}

/// Whether an answer (`/v1/ask` JSON) cites a section whose title contains `section` (제53조).
fn cites_section(answer: &serde_json::Value, section: &str) -> bool {
    answer["citations"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["section"].as_str().is_some_and(|s| s.contains(section)))
    })
}

/// The fast tier (`REGULA_TEST_MODELS=doubles`, `scripts/test.sh --fast`): apps started here run
/// on the deterministic doubles of `doubles.rs` instead of the real models.
pub fn fast_tier() -> bool {
    std::env::var("REGULA_TEST_MODELS").as_deref() == Ok("doubles")
}

/// The real app on the real models, or on the doubles in the fast tier.
pub async fn build_app(mut settings: Settings) -> Arc<App> {
    if fast_tier() {
        // The answer decision is fitted per embedding model; the hashing double's cosines for
        // a question and its passage are lower than a sentence encoder's.
        settings.retrieval.decision_model = Some(doubles::decision_model());
        // `llm.backend = "none"` means no model, doubles or not.
        let generator = (settings.llm.backend != regula::config::LlmBackend::None)
            .then(|| Arc::new(doubles::QuotingGenerator) as Arc<dyn regula::llm::Generator>);
        App::build_with(
            settings,
            Models {
                embedder: Arc::new(doubles::HashingEmbedder),
                generator,
                reranker: None,
                korean: None,
            },
        )
        .await
        .expect("app builds on the test doubles")
    } else {
        App::build(settings, Parts::Full).await.expect("app builds")
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
    APP.get_or_init(|| start_app(|_| {}, FIXTURES))
}

/// `start_app` with generation off: answers quote the regulation's sentences (what the Korean
/// answer tests read, the small model writing no Korean).
pub fn start_quoting_app(fixtures: &'static [&'static str]) -> TestApp {
    start_app(
        |s| s.llm.backend = regula::config::LlmBackend::None,
        fixtures,
    )
}

/// Start the real app with adjusted settings and the given fixture documents (`fixture`)
/// ingested.
pub fn start_app(
    configure: impl FnOnce(&mut Settings) + Send + 'static,
    fixtures: &'static [&'static str],
) -> TestApp {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut settings = test_settings(dir.path());
            configure(&mut settings);
            let app = build_app(settings).await;
            app.store
                .create_api_key(regula::store::NewApiKey {
                    name: "tests",
                    prefix: "rgk_test",
                    secret_hash: &regula::auth::tokens::hash(ADMIN_KEY),
                    scope: regula::auth::Scope::Admin,
                    groups: &[],
                    created_by: "tests",
                })
                .await
                .map(|_| ())
                .or_else(|e| match e {
                    // Replicas sharing one database register it once.
                    regula::store::StoreError::Conflict(_) => Ok(()),
                    other => Err(other),
                })
                .expect("admin key");
            for rel in fixtures {
                let bytes = std::fs::read(fixture(rel)).expect("fixture");
                app.ingestor
                    .ingest_bytes(rel, bytes, vec![], None)
                    .await
                    .expect("fixture ingests");
            }
            let server = regula::http::Server::bind(app.clone(), "127.0.0.1:0".parse().unwrap())
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
}

/// The admin API key every test app accepts (registered, hashed, when the app starts).
pub const ADMIN_KEY: &str = "rgk_0000000000000000000000000000000000000000000000000000000000test";

/// A client acting as an admin (bearer API key).
pub fn client() -> reqwest::Client {
    client_with_key(Some(ADMIN_KEY))
}

/// A client with no credentials.
pub fn anonymous() -> reqwest::Client {
    client_with_key(None)
}

pub fn client_with_key(key: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = key {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).expect("header"),
        );
    }
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .default_headers(headers)
        .build()
        .expect("client")
}

/// A small but real PDF (Helvetica text, one content stream per page) for page-number tests.
pub fn make_pdf(pages: &[&[&str]]) -> Vec<u8> {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)")
    };
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        String::new(), // the page tree, filled below
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    ];
    let mut kids = Vec::new();
    for lines in pages {
        let page_id = objects.len() + 1;
        kids.push(format!("{page_id} 0 R"));
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            page_id + 1
        ));
        let mut content = String::from("BT /F1 12 Tf 16 TL 72 720 Td\n");
        for line in lines.iter() {
            content.push_str(&format!("({}) Tj T*\n", escape(line)));
        }
        content.push_str("ET");
        objects.push(format!(
            "<< /Length {} >>\nstream\n{}\nendstream",
            content.len(),
            content
        ));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        pages.len()
    );
    pdf_of(&objects)
}

/// A PDF file of `objects` (numbered from 1 in order; the first is the catalog), with its xref
/// table and trailer.
pub fn pdf_of(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// `GET path`: the status and the JSON body (`Null` when it is not JSON).
pub async fn get_json(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let r = client().get(app.url(path)).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `POST path` with a JSON body: the status and the JSON body (`Null` when it is not JSON).
pub async fn post_json(
    app: &TestApp,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client()
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// Upload one file through `POST /api/v1/documents` (the server's default groups); the status
/// and the JSON body.
pub async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> (u16, serde_json::Value) {
    app.upload(name, bytes, &[]).await
}

/// Sign in; the session cookie (`name=value`) and the session's CSRF token.
pub async fn sign_in(app: &TestApp, user: &str, password: &str) -> Option<(String, String)> {
    let r = anonymous()
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login request");
    if r.status() != 200 {
        return None;
    }
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let body: serde_json::Value = r.json().await.expect("session info");
    Some((
        cookie,
        body["csrf_token"].as_str().expect("csrf").to_string(),
    ))
}

/// A client that sends a session cookie, as a browser would.
pub fn with_cookie(cookie: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        reqwest::header::HeaderValue::from_str(cookie).expect("cookie"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .expect("client")
}

/// A new, empty database on the PostgreSQL server named by `REGULA_TEST_DATABASE_URL`
/// (scripts/test.sh starts one), or `None` when none is configured.
pub async fn fresh_postgres() -> Option<String> {
    use sqlx::Connection;
    let base = std::env::var("REGULA_TEST_DATABASE_URL").ok()?;
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("the PostgreSQL named by REGULA_TEST_DATABASE_URL is reachable");
    let name = format!("regula_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("a database path in the URL");
    Some(format!("{prefix}/{name}"))
}
