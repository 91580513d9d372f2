//! Accounts and per-document access, end to end on the real app: three documents readable by
//! three different groups, three employees signed in with session cookies, and every read
//! endpoint checked for anything of a document outside the reader's groups, before and after an
//! admin narrows a document's groups. Then the authentication rules (401/403, CSRF, revoked keys,
//! expired sessions, trusted SSO headers), rate limits, audit and feedback, and the official
//! OpenAI Python client against `/v1/chat/completions`.

use crate::common;

use std::sync::OnceLock;

use crate::common::{anonymous, client, client_with_key, sign_in, start_app, with_cookie, TestApp};
use serde_json::{json, Value};

/// A document only some groups may read, with words found nowhere else (canaries) that must
/// never reach a reader outside those groups.
struct Doc {
    file: &'static str,
    title: &'static str,
    group: &'static str,
    canary: &'static str,
    question: &'static str,
    text: &'static str,
}

const DOCS: [Doc; 3] = [
    Doc {
        file: "disciplinary.md",
        title: "Disciplinary Procedure",
        group: "hr",
        canary: "zephyrine",
        question: "How long does a written warning stay on my file?",
        text: "# Disciplinary Procedure\n\n## Written warnings\n\nA written warning for misconduct stays on the employee file for eighteen months. Appeals against a written warning go to the Zephyrine review board, which decides within ten working days.\n",
    },
    Doc {
        file: "executive-pay.md",
        title: "Executive Compensation",
        group: "exec",
        canary: "marzipantheon",
        question: "How big is the executive bonus pool?",
        text: "# Executive Compensation\n\n## Bonus pool\n\nThe executive bonus pool is seven percent of operating profit. The Marzipantheon committee approves the bonus pool each March.\n",
    },
    Doc {
        file: "cafeteria.md",
        title: "Cafeteria Hours",
        group: "everyone",
        canary: "lumenwick",
        question: "When does the cafeteria open in the morning?",
        text: "# Cafeteria Hours\n\n## Opening times\n\nThe cafeteria opens at half past seven in the morning. The Lumenwick coffee bar in the cafeteria closes at four in the afternoon.\n",
    },
];

/// A signed-in employee: their session cookie and CSRF token.
struct Employee {
    name: &'static str,
    groups: Vec<&'static str>,
    /// The account, its session cookie and CSRF token.
    user: common::User,
}

struct World {
    app: TestApp,
    /// Document id per entry of `DOCS`.
    ids: Vec<String>,
    employees: Vec<Employee>,
}

const PASSWORD: &str = common::USER_PASSWORD;
const METRICS_TOKEN: &str = "scrape-secret-for-prometheus";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    // Set up on a thread of its own: the tests calling this already run inside a runtime.
    WORLD.get_or_init(|| std::thread::spawn(setup).join().expect("setup"))
}

/// The world app's watched folder (`<temp>/watched`), kept for the whole test binary.
fn watched() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("watched")).expect("watched folder");
        d
    });
    // Leaked on purpose with the static: the folder lives as long as the app.
    Box::leak(dir.path().join("watched").into_boxed_path())
}

fn setup() -> World {
    let watch = watched().to_path_buf();
    let app = start_app(
        move |s| {
            s.limits.asks_per_minute = 40;
            s.http.metrics_token = METRICS_TOKEN.into();
            s.ingest.watch_dir = Some(watch);
            s.ingest.watch_interval_secs = 1;
        },
        &[],
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut ids = Vec::new();
        for d in &DOCS {
            let (status, body) = upload_with_groups(&app, d.file, d.text, d.group).await;
            assert_eq!(status, 200, "{body:#}");
            ids.push(
                body["results"][0]["job"]["document_id"]
                    .as_str()
                    .expect("document id")
                    .to_string(),
            );
        }
        let mut employees = Vec::new();
        for (name, groups) in [
            ("hana", vec!["hr"]),
            ("eric", vec!["exec"]),
            ("pat", vec![]),
        ] {
            let user = app.as_named_user(name, "employee", &groups).await;
            employees.push(Employee { name, groups, user });
        }
        World {
            app,
            ids,
            employees,
        }
    })
}

async fn upload_with_groups(app: &TestApp, file: &str, text: &str, groups: &str) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("groups", groups.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(file.to_string()),
        );
    let r = client()
        .post(app.url("/api/v1/documents?wait=true"))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

impl Employee {
    fn may_read(&self, d: &Doc) -> bool {
        d.group == "everyone" || self.groups.contains(&d.group)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.user.get(path).await
    }

    /// A state-changing request, with the CSRF token a browser page would send.
    async fn post(&self, path: &str, body: Value, sse: bool) -> (u16, String) {
        self.user.post(path, body, sse).await
    }
}

/// Nothing of document `i` (id, title, canary word) is in `body`.
fn assert_nothing_of(i: usize, body: &str, context: &str) {
    assert_no_content_of(i, body, context);
    assert!(
        !body.contains(&world().ids[i]),
        "{context}: the id of {} leaked:\n{body}",
        DOCS[i].title
    );
}

/// Nothing of document `i`'s content or title is in `body` (a 404 may repeat the id asked for).
fn assert_no_content_of(i: usize, body: &str, context: &str) {
    let d = &DOCS[i];
    let lower = body.to_lowercase();
    assert!(
        !lower.contains(d.canary) && !body.contains(d.title),
        "{context}: {} leaked:\n{body}",
        d.title
    );
}

#[tokio::test]
async fn no_read_endpoint_shows_a_document_outside_the_readers_groups() {
    let w = world();
    for e in &w.employees {
        // Positive controls: what they may read is found, so the checks below can fail.
        for (i, d) in DOCS.iter().enumerate() {
            let (status, body) = e
                .post(
                    "/api/v1/search",
                    json!({"query": d.question, "top_k": 10}),
                    false,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            if e.may_read(d) {
                assert!(
                    body.contains(&w.ids[i]),
                    "{} should find {}: {body}",
                    e.name,
                    d.title
                );
            } else {
                assert_nothing_of(i, &body, &format!("{} search", e.name));
            }
        }
        let (status, list) = e.get("/api/v1/documents").await;
        assert_eq!(status, 200);
        let listed: Value = serde_json::from_str(&list).expect("json");
        let docs = listed["documents"].as_array().expect("documents");
        assert_eq!(
            listed["total"],
            docs.len(),
            "only readable documents are counted"
        );
        for (i, d) in DOCS.iter().enumerate() {
            let shown = docs.iter().any(|x| x["id"] == w.ids[i].as_str());
            assert_eq!(shown, e.may_read(d), "{} list, {}: {list}", e.name, d.title);
        }

        for (i, d) in DOCS.iter().enumerate() {
            let (status, answer) = e
                .post("/api/v1/ask", json!({"question": d.question}), false)
                .await;
            assert_eq!(status, 200, "{answer}");
            let (status, streamed) = e
                .post("/api/v1/ask", json!({"question": d.question}), true)
                .await;
            assert_eq!(status, 200, "{streamed}");
            let (status, chat) = e
                .post(
                    "/v1/chat/completions",
                    json!({"model": "regula", "messages": [{"role": "user", "content": d.question}]}),
                    false,
                )
                .await;
            assert_eq!(status, 200, "{chat}");
            for path in ["", "/chunks", "/original"] {
                let (status, body) = e
                    .get(&format!("/api/v1/documents/{}{path}", w.ids[i]))
                    .await;
                if e.may_read(d) {
                    assert_eq!(status, 200, "{} GET {path}: {body}", e.name);
                } else {
                    assert_eq!(status, 404, "{} GET {path}: {body}", e.name);
                    assert_no_content_of(i, &body, &format!("{} GET document{path}", e.name));
                }
            }
            if e.may_read(d) {
                // Cited, or named among the nearest documents if the gate abstained.
                assert!(
                    answer.contains(&w.ids[i]),
                    "{} on {}: {answer}",
                    e.name,
                    d.title
                );
                continue;
            }
            for (what, body) in [
                ("ask", &answer),
                ("SSE", &streamed),
                ("chat", &chat),
                ("list", &list),
            ] {
                assert_nothing_of(i, body, &format!("{} {what}", e.name));
            }
        }
        // Their own history holds only what they could read; nobody else's is reachable.
        let (_, convs) = e.get("/api/v1/conversations").await;
        let convs: Value = serde_json::from_str(&convs).expect("json");
        let conversations = convs["conversations"].as_array().expect("list");
        assert!(conversations.len() >= DOCS.len() * 3, "{convs:#}");
        for c in conversations {
            let (status, history) = e
                .get(&format!(
                    "/api/v1/conversations/{}",
                    c["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(status, 200);
            for (i, d) in DOCS.iter().enumerate() {
                if !e.may_read(d) {
                    assert_nothing_of(i, &history, &format!("{} history", e.name));
                }
            }
            for other in w.employees.iter().filter(|o| o.name != e.name) {
                let (status, _) = other
                    .get(&format!(
                        "/api/v1/conversations/{}",
                        c["id"].as_str().unwrap()
                    ))
                    .await;
                assert_eq!(status, 404, "{} read {}'s conversation", other.name, e.name);
            }
        }
        let (status, _) = e.get("/api/v1/feedback").await;
        assert_eq!(status, 403, "employees do not read the feedback list");
    }
}

#[tokio::test]
async fn narrowing_a_documents_groups_hides_it_everywhere_including_old_answers() {
    let w = world();
    // A document of its own, so the other tests' expectations stay as they are.
    let (status, body) = upload_with_groups(
        &w.app,
        "parking.md",
        "# Parking Rules\n\n## Visitor parking\n\nVisitors park on level two of the Quillbramble garage and register at the front desk.\n",
        "everyone",
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    let id = body["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let pat = w.employees.iter().find(|e| e.name == "pat").unwrap();
    let eric = w.employees.iter().find(|e| e.name == "eric").unwrap();
    let question = "Where do visitors park?";
    let (_, before) = pat
        .post("/api/v1/ask", json!({"question": question}), false)
        .await;
    let before: Value = serde_json::from_str(&before).expect("json");
    assert!(before.to_string().contains(&id), "{before:#}");
    let conversation = before["conversation_id"].as_str().unwrap().to_string();

    let r = client()
        .patch(w.app.url(&format!("/api/v1/documents/{id}")))
        .json(&json!({"groups": ["exec"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (_, search) = pat
        .post("/api/v1/search", json!({"query": question}), false)
        .await;
    assert!(
        !search.contains(&id) && !search.to_lowercase().contains("quillbramble"),
        "{search}"
    );
    let (status, _) = pat.get(&format!("/api/v1/documents/{id}/chunks")).await;
    assert_eq!(status, 404);
    let (_, history) = pat
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert!(
        !history.contains(&id)
            && !history.to_lowercase().contains("quillbramble")
            && !history.contains("Parking Rules"),
        "{history}"
    );
    assert!(history.contains(regula::http::WITHHELD), "{history}");
    // Still there for the group that may read it.
    let (_, search) = eric
        .post("/api/v1/search", json!({"query": question}), false)
        .await;
    assert!(search.contains(&id), "{search}");
}

#[tokio::test]
async fn credentials_are_required_and_roles_enforced() {
    let w = world();
    let app = &w.app;
    // With http.metrics_token set, only a scraper that sends it reads the metrics.
    let scraper = format!("Bearer {METRICS_TOKEN}");
    for (auth, status) in [
        (None, 401),
        (Some("Bearer wrong-token"), 401),
        (Some(scraper.as_str()), 200),
    ] {
        let mut r = anonymous().get(app.url("/metrics"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), status, "metrics with {auth:?}");
        let text = r.text().await.unwrap();
        assert_eq!(text.contains("regula_http_requests_total"), status == 200);
    }
    for (method, path) in [
        ("POST", "/api/v1/search"),
        ("POST", "/api/v1/ask"),
        ("GET", "/api/v1/documents"),
        ("GET", "/api/v1/conversations"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("GET", "/api/v1/audit"),
    ] {
        let r = anonymous()
            .request(method.parse().unwrap(), app.url(path))
            .json(&json!({"query": "x", "question": "x", "messages": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        assert!(r.headers().contains_key("www-authenticate"));
    }
    let r = anonymous().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = anonymous()
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc: Value = r.json().await.unwrap();
    assert!(doc["paths"]["/v1/chat/completions"]["post"].is_object());
    let r = anonymous().get(app.url("/api/docs")).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("/openapi.json"));

    // Wrong role: an employee, and an ask-scoped key, on admin endpoints.
    let hana = &w.employees[0];
    for path in [
        "/api/v1/users",
        "/api/v1/keys",
        "/api/v1/audit",
        "/api/v1/jobs",
    ] {
        let (status, _) = hana.get(path).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = hana
        .post("/api/v1/documents/x/reindex", json!({}), false)
        .await;
    assert_eq!(status, 403);
    let r = client()
        .post(app.url("/api/v1/keys"))
        .json(&json!({"name": "hr portal", "scope": "ask", "groups": ["hr"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let key_id = created["key"]["id"].as_str().unwrap().to_string();
    assert!(
        !created["key"].to_string().contains(&secret),
        "the key record never holds the secret"
    );
    let portal = client_with_key(Some(&secret));
    let r = portal.get(app.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // The key reads with its groups: the HR document, not the executive one.
    let r = portal
        .post(app.url("/api/v1/search"))
        .json(&json!({"query": DOCS[0].question}))
        .send()
        .await
        .unwrap();
    let found = r.text().await.unwrap();
    assert!(found.contains(&w.ids[0]), "{found}");
    assert!(!found.contains(&w.ids[1]), "{found}");
    let (_, keys) = common::get_json(app, "/api/v1/keys").await;
    let listed = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .unwrap();
    assert!(listed["last_used_at"].is_string(), "{listed:#}");
    // Revoked: refused at once.
    let r = client()
        .delete(app.url(&format!("/api/v1/keys/{key_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = portal
        .post(app.url("/api/v1/search"))
        .json(&json!({"query": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client_with_key(Some("rgk_not-a-key"))
        .get(app.url("/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn sessions_need_csrf_expire_and_end_at_logout() {
    let w = world();
    let app = &w.app;
    assert!(sign_in(app, "hana", "not the password").await.is_none());
    assert!(sign_in(app, "nobody", PASSWORD).await.is_none());
    let (cookie, csrf) = sign_in(app, "pat", PASSWORD).await.expect("signs in");
    let http = with_cookie(&cookie);
    let me: Value = http
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "pat");
    assert_eq!(me["role"], "employee");
    // A cookie alone cannot change anything: a forged cross-site form has no CSRF token.
    let r = http
        .post(app.url("/api/v1/search"))
        .json(&json!({"query": "cafeteria"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(app.url("/api/v1/search"))
        .header("x-csrf-token", "wrong")
        .json(&json!({"query": "cafeteria"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(app.url("/api/v1/auth/logout"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(r.status(), 401, "the session ended at logout");

    // An expired session is refused.
    let pat = w.employees.iter().find(|e| e.name == "pat").unwrap();
    let token = "expired-session-token-for-the-test";
    app.app
        .store
        .create_session(
            &regula::auth::tokens::hash(token),
            &pat.user.id,
            "csrf",
            chrono::Utc::now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    let r = anonymous()
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("regula_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body:#}"
    );
}

#[tokio::test]
async fn sso_headers_count_only_from_trusted_proxies() {
    let w = world();
    // This app trusts no proxy: the headers are ignored.
    let r = anonymous()
        .get(w.app.url("/api/v1/auth/me"))
        .header("x-remote-user", "mallory")
        .header("x-remote-groups", "regula-admins")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let proxied = start_app(
        |s| s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()],
        &[],
    );
    let (status, body) = upload_with_groups(&proxied, DOCS[0].file, DOCS[0].text, "hr").await;
    assert_eq!(status, 200, "{body:#}");
    let as_user = |user: &'static str, groups: &'static str| {
        anonymous()
            .post(proxied.url("/api/v1/search"))
            .header("x-remote-user", user)
            .header("x-remote-groups", groups)
            // A browser on Regula's own page says so; see cross_site_requests_… below.
            .header("sec-fetch-site", "same-origin")
            .json(&json!({"query": DOCS[0].question}))
    };
    let hr = as_user("sso-hana", "hr,staff")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(hr.to_lowercase().contains(DOCS[0].canary), "{hr}");
    let other = as_user("sso-pat", "staff")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!other.to_lowercase().contains(DOCS[0].canary), "{other}");
    let r = anonymous()
        .get(proxied.url("/api/v1/users"))
        .header("x-remote-user", "sso-admin")
        .header("x-remote-groups", "regula-admins")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "members of auth.admin_groups are admins");

    // A header sent twice: a client's copy got through beside the proxy's; neither is believed.
    let r = anonymous()
        .get(proxied.url("/api/v1/auth/me"))
        .header("x-remote-user", "sso-pat")
        .header("x-remote-user", "sso-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = anonymous()
        .get(proxied.url("/api/v1/auth/me"))
        .header("x-remote-user", "sso-pat")
        .header("x-remote-groups", "staff")
        .header("x-remote-groups", "regula-admins")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // CSRF through SSO: the proxy's own cookie rides along on a cross-site form, so a change
    // needs the browser's word that the page is Regula's (Sec-Fetch-Site or Origin).
    let admin = |req: reqwest::RequestBuilder| {
        req.header("x-remote-user", "sso-admin")
            .header("x-remote-groups", "regula-admins")
    };
    let doc = body["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"# Forged\n\nForged text.\n".to_vec())
                .file_name("forged.md"),
        )
    };
    let origin = proxied.url("");
    let cross_site: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "upload, no evidence",
            admin(anonymous().post(proxied.url("/api/v1/documents"))).multipart(form()),
        ),
        (
            "upload, cross-site",
            admin(anonymous().post(proxied.url("/api/v1/documents")))
                .header("sec-fetch-site", "cross-site")
                .multipart(form()),
        ),
        (
            "upload, foreign origin",
            admin(anonymous().post(proxied.url("/api/v1/documents")))
                .header("origin", "https://evil.example")
                .multipart(form()),
        ),
        (
            "re-index",
            admin(anonymous().post(proxied.url(&format!("/api/v1/documents/{doc}/reindex"))))
                .header("origin", "https://evil.example"),
        ),
        (
            "regroup",
            admin(anonymous().patch(proxied.url(&format!("/api/v1/documents/{doc}"))))
                .header("sec-fetch-site", "same-site")
                .json(&json!({"groups": ["everyone"]})),
        ),
        (
            "delete",
            admin(anonymous().delete(proxied.url(&format!("/api/v1/documents/{doc}"))))
                .header("origin", "null"),
        ),
        (
            "new user",
            admin(anonymous().post(proxied.url("/api/v1/users")))
                .header("sec-fetch-site", "cross-site")
                .json(&json!({"username": "mole", "password": PASSWORD, "role": "admin"})),
        ),
        (
            "logout",
            admin(anonymous().post(proxied.url("/api/v1/auth/logout")))
                .header("sec-fetch-site", "cross-site"),
        ),
    ];
    for (what, req) in cross_site {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
    }
    let (_, d) = common::get_json(&proxied, &format!("/api/v1/documents/{doc}")).await;
    assert_eq!(
        d["active"]["groups"],
        json!(["hr"]),
        "nothing changed: {d:#}"
    );
    let r = admin(anonymous().patch(proxied.url(&format!("/api/v1/documents/{doc}"))))
        .header("origin", origin.trim_end_matches('/'))
        .json(&json!({"groups": ["hr", "staff"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the same origin may");
}

#[tokio::test]
async fn questions_are_rate_limited_per_principal() {
    let w = world();
    let r = client()
        .post(w.app.url("/api/v1/keys"))
        .json(&json!({"name": "busy bot", "scope": "ask"}))
        .send()
        .await
        .unwrap();
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let bot = client_with_key(Some(&secret));
    let mut limited = None;
    for _ in 0..45 {
        let r = bot
            .post(w.app.url("/api/v1/search"))
            .json(&json!({"query": "cafeteria"}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let r = limited.expect("the 41st search in a minute is refused");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another principal is not affected.
    let r = client()
        .post(w.app.url("/api/v1/search"))
        .json(&json!({"query": "cafeteria"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn answers_are_audited_and_take_feedback_from_their_asker() {
    let w = world();
    let hana = &w.employees[0];
    let eric = &w.employees[1];
    let (_, answer) = hana
        .post("/api/v1/ask", json!({"question": DOCS[0].question}), false)
        .await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let message_id = answer["message_id"]
        .as_str()
        .expect("message id")
        .to_string();
    let (status, _) = eric
        .post(
            "/api/v1/feedback",
            json!({"message_id": message_id, "rating": "down"}),
            false,
        )
        .await;
    assert_eq!(status, 404, "only the asker rates an answer");
    let (status, body) = hana
        .post(
            "/api/v1/feedback",
            json!({"message_id": message_id, "rating": "down", "comment": "the appeal deadline is missing"}),
            false,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, fb) = common::get_json(&w.app, "/api/v1/feedback?rating=down").await;
    let entry = fb["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message_id"] == message_id.as_str())
        .unwrap_or_else(|| panic!("{fb:#}"));
    assert_eq!(entry["comment"], "the appeal deadline is missing");
    assert_eq!(entry["question"], DOCS[0].question);

    let (_, audit) = common::get_json(
        &w.app,
        &format!("/api/v1/audit?actor=user:{}", hana.user.id),
    )
    .await;
    let row = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message_id"] == message_id.as_str())
        .unwrap_or_else(|| panic!("{audit:#}"));
    assert_eq!(row["actor_name"], "hana");
    assert_eq!(row["question"], DOCS[0].question);
    assert_eq!(row["abstained"], answer["abstained"]);
    let mut cited: Vec<Value> = answer["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["document_id"].clone())
        .collect();
    cited.dedup();
    assert_eq!(row["cited"], Value::Array(cited));
    if answer["abstained"] == false {
        assert!(
            row["cited"].as_array().unwrap().contains(&json!(w.ids[0])),
            "{answer:#}"
        );
    }
}

#[tokio::test]
async fn the_official_openai_client_works_unchanged() {
    let w = world();
    let python = common::repo().join(".venv-test/bin/python");
    let out = std::process::Command::new(&python)
        .arg(common::repo().join("tests/fixtures/openai_client.py"))
        .arg(w.app.url("/v1"))
        .arg(common::ADMIN_KEY)
        .arg(DOCS[2].question)
        .output()
        .unwrap_or_else(|e| panic!("{} (run scripts/setup.sh): {e}", python.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["models"], json!(["regula"]));
    assert_eq!(v["finish_reason"], "stop");
    let content = v["content"].as_str().unwrap();
    assert!(
        content.contains("Sources:") && content.contains("Cafeteria Hours"),
        "{v:#}"
    );
    assert_eq!(v["regula"]["abstained"], false, "{v:#}");
    assert_eq!(
        v["regula"]["citations"][0]["document_id"],
        w.ids[2].as_str()
    );
    assert!(v["stream_chunks"].as_u64().unwrap() >= 3, "{v:#}");
    assert!(
        v["stream_content"].as_str().unwrap().contains("Sources:"),
        "{v:#}"
    );
    assert_eq!(
        v["stream_regula"]["citations"][0]["document_id"],
        w.ids[2].as_str()
    );
}

/// A new user of the world app, signed in (its own rate budget, apart from the other tests').
async fn new_user(name: &'static str, role: &str, groups: Vec<&'static str>) -> Employee {
    let user = world().app.as_named_user(name, role, &groups).await;
    Employee { name, groups, user }
}

async fn wait_job(app: &TestApp, id: &str) -> Value {
    for _ in 0..1200 {
        let (_, job) = common::get_json(app, &format!("/api/v1/jobs/{id}")).await;
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

/// Nothing of the document (id, canary word) reaches `reader` on any read path.
async fn assert_hidden(reader: &Employee, id: &str, canary: &str, question: &str, when: &str) {
    let leaks = |body: &str| body.contains(id) || body.to_lowercase().contains(canary);
    let (_, body) = reader
        .post("/api/v1/search", json!({"query": question}), false)
        .await;
    assert!(!leaks(&body), "{when}: search: {body}");
    let (_, body) = reader
        .post("/api/v1/ask", json!({"question": question}), false)
        .await;
    assert!(!leaks(&body), "{when}: ask: {body}");
    let (_, body) = reader
        .post(
            "/v1/chat/completions",
            json!({"model": "regula", "messages": [{"role": "user", "content": question}]}),
            false,
        )
        .await;
    assert!(!leaks(&body), "{when}: chat completions: {body}");
    for path in ["chunks", "original"] {
        let (status, body) = reader.get(&format!("/api/v1/documents/{id}/{path}")).await;
        assert_eq!(status, 404, "{when}: {path}: {body}");
    }
    let (_, body) = reader.get("/api/v1/documents").await;
    assert!(!leaks(&body), "{when}: list: {body}");
}

async fn patch_groups(id: &str, groups: &[&str]) {
    let r = client()
        .patch(world().app.url(&format!("/api/v1/documents/{id}")))
        .json(&json!({ "groups": groups }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_narrowed_document_never_widens_through_new_versions_reindex_or_the_watched_folder() {
    let w = world();
    let app = &w.app;
    let olga = new_user("olga", "employee", vec![]).await;
    let eric = w.employees.iter().find(|e| e.name == "eric").unwrap();
    let hana = w.employees.iter().find(|e| e.name == "hana").unwrap();
    let canary = "quintessarium";
    let question = "How long is the sabbatical after years of service?";
    let text = |years: u32| {
        format!("# Sabbatical Policy\n\n## Eligibility\n\nAfter {years} years of service an employee may take a Quintessarium sabbatical of three months.\n")
    };

    let (status, body) = upload_with_groups(app, "sabbatical.md", &text(5), "everyone").await;
    assert_eq!(status, 200, "{body:#}");
    let id = body["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    patch_groups(&id, &["exec"]).await;
    assert_hidden(&olga, &id, canary, question, "narrowed").await;

    // An edited copy uploaded without groups (as the admin page does when the field is empty).
    let (status, body) = common::upload(app, "sabbatical.md", text(6).into_bytes()).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["results"][0]["job"]["outcome"], "indexed", "{body:#}");
    assert_hidden(&olga, &id, canary, question, "new version without groups").await;
    let (_, found) = eric
        .post("/api/v1/search", json!({"query": question}), false)
        .await;
    assert!(
        found.to_lowercase().contains(canary),
        "exec still reads it: {found}"
    );

    // Re-indexed: the document's groups now, not any captured earlier.
    let (status, r) =
        common::post_json(app, &format!("/api/v1/documents/{id}/reindex"), json!({})).await;
    assert_eq!(status, 202, "{r:#}");
    let job = wait_job(app, r["job_id"].as_str().unwrap()).await;
    assert_eq!(job["outcome"], "indexed", "{job:#}");
    assert_hidden(&olga, &id, canary, question, "re-indexed").await;

    // The same bytes with groups named: the groups apply (no silent "unchanged").
    let (status, body) = upload_with_groups(app, "sabbatical.md", &text(6), "hr").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["results"][0]["job"]["outcome"], "regrouped",
        "{body:#}"
    );
    let (_, found) = hana
        .post("/api/v1/search", json!({"query": question}), false)
        .await;
    assert!(
        found.to_lowercase().contains(canary),
        "hr reads it now: {found}"
    );
    assert_hidden(
        &olga,
        &id,
        canary,
        question,
        "regrouped by an identical upload",
    )
    .await;

    // The watched folder brings a file; an admin narrows it; the file changes.
    let file = watched().join("sabbatical-watch.md");
    std::fs::write(
        &file,
        text(7).replace("Quintessarium", "Quintessarium watched"),
    )
    .unwrap();
    let source = "watched/sabbatical-watch.md";
    let mut watched_id = None;
    for _ in 0..240 {
        let (_, docs) = common::get_json(app, "/api/v1/documents").await;
        watched_id = docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["source"] == source && d["active"].is_object())
            .map(|d| d["id"].as_str().unwrap().to_string());
        if watched_id.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let watched_id = watched_id.expect("the watched file is ingested");
    patch_groups(&watched_id, &["exec"]).await;
    // Change the file (its modification time moves past the settling delay).
    std::fs::write(
        &file,
        text(8).replace("Quintessarium", "Quintessarium watched"),
    )
    .unwrap();
    let mut version = 0;
    for _ in 0..240 {
        let (_, d) = common::get_json(app, &format!("/api/v1/documents/{watched_id}")).await;
        version = d["active"]["number"].as_i64().unwrap_or(0);
        if version >= 2 {
            assert_eq!(d["active"]["groups"], json!(["exec"]), "{d:#}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(version, 2, "the changed file is ingested again");
    assert_hidden(&olga, &watched_id, canary, question, "watched file changed").await;
    assert_hidden(&olga, &id, canary, question, "end").await;
}

#[tokio::test]
async fn cross_site_requests_of_a_cookie_session_change_nothing() {
    let w = world();
    let app = &w.app;
    let ada = app.as_user("admin", &[]).await;
    let http = with_cookie(&ada.cookie);
    let doc = &w.ids[2];
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"# Forged\n\nForged text.\n".to_vec())
                .file_name("forged.md"),
        )
    };
    let forged: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "multipart upload",
            http.post(app.url("/api/v1/documents")).multipart(form()),
        ),
        (
            "re-index",
            http.post(app.url(&format!("/api/v1/documents/{doc}/reindex"))),
        ),
        (
            "regroup",
            http.patch(app.url(&format!("/api/v1/documents/{doc}")))
                .json(&json!({"groups": ["exec"]})),
        ),
        (
            "delete",
            http.delete(app.url(&format!("/api/v1/documents/{doc}"))),
        ),
        ("logout", http.post(app.url("/api/v1/auth/logout"))),
        // Same-origin words do not replace the token for a cookie session.
        (
            "upload with same-origin",
            http.post(app.url("/api/v1/documents"))
                .header("sec-fetch-site", "same-origin")
                .multipart(form()),
        ),
    ];
    for (what, req) in forged {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
    }
    let r = http.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the forged logout did not end the session");
    let (_, d) = common::get_json(app, &format!("/api/v1/documents/{doc}")).await;
    assert_eq!(d["active"]["groups"], json!(["everyone"]), "{d:#}");
    let r = http
        .post(app.url("/api/v1/documents?wait=true"))
        .header("x-csrf-token", &ada.csrf)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "with its token the page may upload");

    // Login CSRF: another site's page cannot sign the browser in.
    for (k, v) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let r = anonymous()
            .post(app.url("/api/v1/auth/login"))
            .header(k, v)
            .json(&json!({"username": ada.name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{k}: {v}");
    }
}

#[tokio::test]
async fn a_sign_in_spray_from_one_address_locks_out_no_one_and_starves_nothing() {
    let w = world();
    let app = &w.app;
    let sprayer = reqwest::Client::builder()
        .local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap())
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    let attempt = |name: String| {
        let (client, url) = (sprayer.clone(), app.url("/api/v1/auth/login"));
        async move {
            client
                .post(url)
                .json(&json!({"username": name, "password": "guess-guess-guess"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    // Random names, then the admin's own name, from the stranger's address, all at once.
    let mut spray: Vec<_> = (0..100)
        .map(|i| tokio::spawn(attempt(format!("nobody-{i}-{}", uuid::Uuid::new_v4()))))
        .collect();
    spray.extend((0..20).map(|_| tokio::spawn(attempt("hana".to_string()))));
    // Meanwhile searches answer.
    let search = client()
        .post(app.url("/api/v1/search"))
        .json(&json!({"query": "cafeteria"}))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200);
    let mut statuses = Vec::new();
    for t in spray {
        statuses.push(t.await.unwrap());
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        limited >= 120 - 60,
        "the address's budget holds: {limited} of 120 refused"
    );
    // The owner of the name, from their own address, signs in at once.
    assert!(
        sign_in(app, "hana", PASSWORD).await.is_some(),
        "hana is not locked out"
    );
}
