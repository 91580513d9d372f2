//! A minimal W3C WebDriver client over reqwest, driving the Debian `chromium` through
//! `chromedriver` in headless mode: just the commands the browser tests use.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const ENTER: &str = "\u{E007}";
pub const SHIFT: &str = "\u{E008}";

pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    /// chromedriver's and the browsers' TMPDIR (profiles, singleton sockets), removed after
    /// they stop: a killed browser otherwise leaves its folders in /tmp.
    _tmp: tempfile::TempDir,
}

pub struct Session {
    url: String,
    http: reqwest::Client,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Driver {
    /// Start chromedriver on a free port and wait until it is ready.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let tmp = tempfile::tempdir().expect("temp dir");
        let child = Command::new(
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()),
        )
        .arg(format!("--port={port}"))
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (Debian package chromium-driver; scripts/setup.sh installs it)");
        let driver = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client"),
            _tmp: tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
            {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    /// A headless Chromium session with a laptop-sized window and the given UI language.
    pub async fn session(&self, lang: &str) -> Session {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        // No background networking: this machine's closed network refuses it, many at a time.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1280,900", format!("--lang={lang}")],
                "prefs": {"intl.accept_languages": lang},
            }
        }}});
        let v: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v:#}"));
        Session {
            url: format!("{}/session/{id}", self.base),
            http: self.http.clone(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The browsers exit with chromedriver; let them go before their folders are removed.
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let v = self.call_raw(method.clone(), path, body).await;
        if let Some(error) = v["error"].as_str() {
            // `no such element` is an answer to a query, not a failure of the test.
            if error != "no such element" {
                panic!("WebDriver {method} {path}: {error}: {}", v["message"]);
            }
        }
        v
    }

    async fn call_raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .json()
            .await
            .unwrap_or(Value::Null);
        if let Some(error) = v["value"]["error"].as_str() {
            // `no such element` is an answer to a query, not a failure of the test.
            if error != "no such element" {
                panic!(
                    "WebDriver {method} {path}: {error}: {}",
                    v["value"]["message"]
                );
            }
        }
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Elements matching a CSS selector now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting up to `secs` for it to appear.
    pub async fn wait_for(&self, css: &str, secs: u64) -> Element {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            if Instant::now() > deadline {
                let body = self.text_of_page().await;
                panic!("`{css}` did not appear within {secs} s; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    /// Wait for an element matching `css`, then click it (found again if re-rendered).
    pub async fn click_css(&self, css: &str, secs: u64) {
        self.wait_for(css, secs).await;
        self.click_nth(css, 0).await;
    }

    /// Click the `index`th element matching `css` (negative: from the end), finding it again if
    /// the page re-rendered it in between.
    pub async fn click_nth(&self, css: &str, index: isize) {
        for _ in 0..50 {
            let all = self.find_all(css).await;
            let at = if index < 0 {
                all.len() as isize + index
            } else {
                index
            };
            if let Some(e) = usize::try_from(at).ok().and_then(|i| all.get(i)) {
                let v = self
                    .call_raw(
                        reqwest::Method::POST,
                        &format!("/element/{}/click", e.0),
                        Some(json!({})),
                    )
                    .await;
                match v["error"].as_str() {
                    None => return,
                    Some("stale element reference") => {}
                    Some(other) => panic!("click `{css}`: {other}: {}", v["message"]),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not click `{css}` #{index}");
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", e.0))
            .await
            .as_str()
            .map(str::to_string)
    }

    pub async fn displayed(&self, e: &Element) -> bool {
        self.get(&format!("/element/{}/displayed", e.0)).await == true
    }

    /// Run `script` (a function body; `arguments` as usual) and return its value.
    pub async fn run(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    pub async fn text_of_page(&self) -> String {
        self.run("return document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Save a PNG of the viewport under tests/artifacts/.
    pub async fn screenshot(&self, name: &str) {
        let v = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("base64 screenshot");
        let dir = super::repo().join("tests/artifacts");
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        std::fs::write(dir.join(name), png).expect("screenshot written");
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}
