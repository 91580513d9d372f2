//! The `regula` binary as a user runs it: ingest a folder, search and ask with --json, and clear
//! errors for missing models and a data dir owned by another process.

mod common;

use std::process::Command;

use serde_json::Value;

fn regula(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_regula"));
    // Each test's own embedded deployment, even when scripts/test.sh --with-qdrant has named a
    // Qdrant server for the remote-index tests.
    c.env_remove("QDRANT_URL")
        .env_remove("QDRANT_API_KEY")
        .env("REGULA__MODELS__DIR", common::repo().join("models"))
        .env("REGULA__PROMPTS_DIR", common::repo().join("prompts"))
        .env("REGULA__LLM__BACKEND", "local")
        .env("REGULA__LLM__N_CTX", "4096")
        .env("REGULA__LLM__PARALLEL", "1")
        .arg("--data-dir")
        .arg(data_dir);
    c
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(out)
}

fn parse(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn ingest_search_and_ask_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("policies");
    std::fs::create_dir_all(folder.join("tech")).unwrap();
    std::fs::copy(
        common::sample(
            "en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md",
        ),
        folder.join("tech/bug-bounty.md"),
    )
    .unwrap();
    std::fs::write(folder.join("broken.pdf"), b"%PDF-1.4 not really").unwrap();
    let data = dir.path().join("data");

    let out = regula(&data)
        .args(["ingest", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file makes the command fail"
    );
    let v = parse(&out);
    assert_eq!(v["indexed"], 1, "{v:#}");
    assert_eq!(v["failed"], 1, "the broken PDF fails alone: {v:#}");
    let failed = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ok"] == false)
        .unwrap();
    assert_eq!(failed["source"], "policies/broken.pdf");

    let out = regula(&data)
        .args(["search", "--json", "bug bounty rewards"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        v["results"][0]["source"], "policies/tech/bug-bounty.md",
        "{v:#}"
    );

    let out = regula(&data)
        .args(["ask", "--json", "What is the TTS bug bounty program?"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["abstained"], false, "{v:#}");
    assert!(
        v["citations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["source"] == "policies/tech/bug-bounty.md"),
        "{v:#}"
    );
    // A local question is recorded like an API one: the operator's conversation and audit row.
    let conversation = v["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_string();
    let recorded = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = regula::store::Store::open_sqlite(&data.join("regula.db"))
            .await
            .unwrap();
        store
            .audit_log(&regula::store::AuditQuery {
                actor: None,
                since: None,
                limit: Some(10),
                offset: None,
            })
            .await
            .unwrap()
    });
    assert!(
        recorded.iter().any(|e| e.action == "cli"
            && e.question == "What is the TTS bug bounty program?"
            && e.conversation_id.as_deref() == Some(conversation.as_str())
            && e.actor.starts_with("local:")),
        "{recorded:?}"
    );

    // The operator's own questions: the figures, and the decision they were made with.
    let qa = dir.path().join("qa.jsonl");
    std::fs::write(
        &qa,
        concat!(
            r#"{"id": "b1", "question": "What is the TTS bug bounty program?", "answerable": true, "expected": {"source": "bug-bounty"}}"#,
            "\n",
            r#"{"id": "u1", "question": "What is the wifi password in the canteen?", "answerable": false}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = regula(&data)
        .env("REGULA__LLM__BACKEND", "none")
        .args(["eval", "qa"])
        .arg(&qa)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("| abstention precision |"), "{text}");
    assert!(
        text.contains("decision: built-in") && text.contains("en: answers from p >= "),
        "the operating point is printed: {text}"
    );

    // Same content again: nothing is re-embedded.
    std::fs::remove_file(folder.join("broken.pdf")).unwrap();
    let out = regula(&data)
        .args(["ingest", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        (v["unchanged"].as_u64(), v["indexed"].as_u64()),
        (Some(1), Some(0)),
        "{v:#}"
    );
}

#[test]
fn a_missing_model_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = regula(dir.path())
        .env("REGULA__MODELS__LLM", "no-such-model.gguf")
        .args(["ask", "anything"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-model.gguf") && err.contains("fetch-models.sh"),
        "{err}"
    );
    // A configured reranker that is not there is an error too, not a silent fallback.
    let out = regula(dir.path())
        .env("REGULA__RETRIEVAL__RERANK_MODEL", "no-such-reranker")
        .args(["search", "anything"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-reranker/model.onnx"), "{err}");
    // So is a missing Korean dictionary: the message names the folder and both ways out.
    let out = regula(dir.path())
        .env("REGULA__MODELS__KOREAN_DICTIONARY", "no-such-dic")
        .args(["search", "anything"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-dic")
            && err.contains("fetch-models.sh")
            && err.contains("korean_dictionary"),
        "{err}"
    );
}

/// `bench questions` reads the same Korean questions with and without MeCab, in one process.
#[test]
fn bench_questions_compares_reading_with_and_without_the_tagger() {
    let dir = tempfile::tempdir().unwrap();
    let out = regula(&dir.path().join("data"))
        .current_dir(common::repo())
        .args(["--json", "bench", "questions", "--runs", "1"])
        .output()
        .unwrap();
    let rows = json_of(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[0]["reader"].as_str().unwrap().contains("baseline"));
    let questions = rows[0]["questions"].as_u64().unwrap();
    assert!(
        questions >= 150,
        "the four Korean development sets: {questions}"
    );
    // The tagger leaves out the verbs, endings and adverbs: fewer concepts per question.
    let concepts = |r: &Value| r["concepts_per_question"].as_f64().unwrap();
    assert!(concepts(&rows[1]) < concepts(&rows[0]), "{rows:#?}");
    assert!(rows[1]["p50_us"].as_f64().unwrap() > 0.0);
}

/// `bench answer` answers the same questions over the same index with sentences chosen by words
/// only and by words and closeness in meaning, in one process; an empty index is a clear error.
#[test]
fn bench_answer_compares_choosing_sentences_with_and_without_closeness() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let questions = dir.path().join("q.jsonl");
    std::fs::write(
        &questions,
        "{\"id\": \"a\", \"question\": \"how do I report a security bug?\", \"answerable\": true, \"expected\": {\"source\": \"bug-bounty\"}}\n\
         {\"id\": \"b\", \"question\": \"what is the parking fee?\", \"answerable\": false}\n",
    )
    .unwrap();
    let bench = |data: &std::path::Path| {
        regula(data)
            .args(["--json", "bench", "answer", "--runs", "1", "--files"])
            .arg(&questions)
            .output()
            .unwrap()
    };
    let out = bench(&data);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty") && err.contains("ingest"), "{err}");

    let ingested = regula(&data)
        .args(["ingest", "--json"])
        .arg(common::sample(
            "en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md",
        ))
        .output()
        .unwrap();
    json_of(&ingested);
    let rows = json_of(&bench(&data));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[0]["answerer"].as_str().unwrap().contains("baseline"));
    for r in rows {
        assert_eq!(r["questions"], 2, "{r}");
        assert!(r["p50_ms"].as_f64().unwrap() > 0.0, "{r}");
    }
}

#[test]
fn pages_without_text_are_skipped_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("handbook");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("redirect.md"),
        "---\ntitle: Old page\nredirect_to: https://example.invalid/\n---\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("leave.md"),
        "# Leave\n\nAnnual leave accrues every pay period.\n",
    )
    .unwrap();
    let out = regula(&dir.path().join("data"))
        .args(["ingest", "--json"])
        .arg(&folder)
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        (
            v["indexed"].as_u64(),
            v["skipped"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{v:#}"
    );
}

/// `regula serve` on a free port, its stderr kept for diagnosis.
fn serve(data: &std::path::Path) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = regula(data)
        .env("REGULA__HTTP__ADDR", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..600 {
        if http::blocking_get_ok(&format!("{base}/healthz")) {
            return (child, base);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("regula serve did not start");
}

mod http {
    //! A tiny blocking HTTP client over std, so this synchronous test needs no runtime.
    use std::io::{Read, Write};

    fn request(
        method: &str,
        url: &str,
        key: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Option<(u16, Vec<u8>)> {
        let rest = url.strip_prefix("http://")?;
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
        let mut s = std::net::TcpStream::connect(host).ok()?;
        let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()?;
        let text = String::from_utf8_lossy(&out);
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let at = out.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let mut body = out[at..].to_vec();
        if text
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Some((status, body))
    }

    fn dechunk(mut b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 || b.len() < eol + 4 + size {
                break;
            }
            out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
            b = &b[eol + 2 + size + 2..];
        }
        out
    }

    pub fn blocking_get_ok(url: &str) -> bool {
        request("GET", url, None, "text/plain", b"").is_some_and(|(s, _)| s == 200)
    }

    pub fn get_json(url: &str, key: &str) -> serde_json::Value {
        let (_, body) = request("GET", url, Some(key), "text/plain", b"").expect("GET");
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
    }

    pub fn upload(url: &str, key: &str, name: &str, bytes: &[u8]) -> serde_json::Value {
        let boundary = "regula-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let (_, out) = request(
            "POST",
            url,
            Some(key),
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
        )
        .expect("upload");
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
    }
}

#[test]
fn a_server_killed_mid_ingest_resumes_the_job_and_shows_no_half_indexed_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An admin key made with the CLI, as an operator would for `ingest --server`.
    let key = json_of(
        &regula(&data)
            .args(["--json", "key", "create", "ci", "--scope", "admin"])
            .output()
            .unwrap(),
    )["secret"]
        .as_str()
        .expect("a secret")
        .to_string();
    let (mut server, base) = serve(&data);
    let bytes = std::fs::read(common::sample(
        "ko-labor-law/personal-information-protection-act.md",
    ))
    .unwrap();
    let queued = http::upload(
        &format!("{base}/api/v1/documents"),
        &key,
        "personal-information-protection-act.md",
        &bytes,
    );
    let job_id = queued["results"][0]["job_id"]
        .as_str()
        .expect("queued")
        .to_string();
    let job_url = format!("{base}/api/v1/jobs/{job_id}");
    // Kill -9 once some, not all, passages are embedded and stored.
    let mut killed_at = None;
    for _ in 0..3000 {
        let job = http::get_json(&job_url, &key);
        let (embedded, chunks) = (
            job["embedded"].as_i64().unwrap_or(0),
            job["chunks"].as_i64().unwrap_or(0),
        );
        assert_ne!(
            job["status"], "done",
            "finished before it could be interrupted: {job:#}"
        );
        if embedded > 0 && embedded < chunks {
            server.kill().unwrap();
            server.wait().unwrap();
            killed_at = Some((embedded, chunks));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (embedded, chunks) = killed_at.expect("the job made progress");
    assert!(embedded < chunks);

    let (mut server, base) = serve(&data);
    let job_url = format!("{base}/api/v1/jobs/{job_id}");
    let mut job = serde_json::Value::Null;
    for _ in 0..3000 {
        job = http::get_json(&job_url, &key);
        if job["status"] == "done" || job["status"] == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(job["status"], "done", "{job:#}");
    assert_eq!(job["attempts"], 2, "resumed once: {job:#}");
    let doc = http::get_json(
        &format!(
            "{base}/api/v1/documents/{}",
            job["document_id"].as_str().unwrap()
        ),
        &key,
    );
    let versions = doc["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{doc:#}");
    assert_eq!(versions[0]["status"], "active");
    assert_eq!(
        versions[1]["status"], "failed",
        "the interrupted version: {doc:#}"
    );
    // The index holds exactly the active version's passages: nothing of the interrupted one.
    let ready = http::get_json(&format!("{base}/readyz"), &key);
    assert_eq!(
        ready["points"], versions[0]["chunk_count"],
        "{ready:#} {doc:#}"
    );
    server.kill().unwrap();
    let _ = server.wait();
}

/// A PDF whose font maps only some of its codes to Unicode and has no encoding: the parser
/// panics ("missing unicode map and encoding") on the first unmapped character.
fn pdf_with_a_font_missing_its_unicode_map() -> Vec<u8> {
    let cmap = "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Partial def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\nendcodespacerange\n1 beginbfchar\n<41> <0041>\nendbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend";
    let content = "BT /F1 12 Tf 72 720 Td (ABBA) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [5 0 R] /Count 1 >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /NoSuchFont /FirstChar 65 /LastChar 66 /Widths [500 500] /ToUnicode 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{cmap}\nendstream", cmap.len()),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 6 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    common::pdf_of(&objects)
}

#[test]
fn a_parser_panic_is_one_line_of_reason_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-unicode-map.pdf");
    std::fs::write(&file, pdf_with_a_font_missing_its_unicode_map()).unwrap();
    let out = regula(&dir.path().join("data"))
        .args(["ingest", "--json"])
        .arg(&file)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("backtrace")
            && !stderr.contains("lib.rs:"),
        "{stderr}"
    );
    let v = parse(&out);
    let text = v.to_string();
    assert!(text.contains("missing unicode map and encoding"), "{v:#}");
    assert!(text.contains("malformed"), "{v:#}");
}
