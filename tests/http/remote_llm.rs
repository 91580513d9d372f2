//! The OpenAI-compatible remote generator against a real server process speaking the protocol
//! (tests/fixtures/openai_server.py: streaming, usage, bearer auth), as Regula would use
//! llama-server or vLLM on GPU machines.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::{client, start_app, TestApp};
use regula::config::LlmBackend;
use serde_json::{json, Value};

struct ModelServer {
    child: Child,
    port: u16,
}

impl ModelServer {
    fn start(api_key: &str) -> Self {
        let mut child = Command::new("python3")
            .arg(common::repo().join("tests/fixtures/openai_server.py"))
            .args(["--api-key", api_key])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test model server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().expect("a port");
        Self { child, port }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn app_using(port: u16, key: &'static str) -> TestApp {
    start_app(
        move |s| {
            s.llm.backend = LlmBackend::OpenAi;
            s.llm.remote_url = format!("http://127.0.0.1:{port}/v1");
            s.llm.remote_model = "extractive-test-model".into();
            s.llm.remote_api_key = Some(key.into());
        },
        &[
            "en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md",
            "en-18f-handbook/travel-and-leave/leave.md",
        ],
    )
}

async fn ask(app: &TestApp, question: &str) -> Value {
    let (status, answer) =
        common::post_json(app, "/api/v1/ask", json!({ "question": question })).await;
    assert_eq!(status, 200, "{answer:#}");
    answer
}

#[tokio::test]
async fn answers_come_from_the_remote_model_with_verified_citations() {
    let server = ModelServer::start("secret-key");
    let app = app_using(server.port, "secret-key");

    let (_, ready) = common::get_json(&app, "/readyz").await;
    assert!(
        ready["model"]
            .as_str()
            .unwrap()
            .contains("extractive-test-model"),
        "{ready:#}"
    );

    let answer = ask(
        &app,
        "What does the TTS bug bounty program reward people for?",
    )
    .await;
    assert_eq!(answer["mode"], "generated", "{answer:#}");
    assert_eq!(answer["abstained"], false);
    let citations = answer["citations"].as_array().unwrap();
    assert!(!citations.is_empty(), "{answer:#}");
    assert!(
        citations[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("bug-bounty.md"),
        "{answer:#}"
    );
    // The remote model quoted a sentence of the passage it cites.
    let quote = citations[0]["quote"].as_str().unwrap();
    let marker = format!("[{}]", citations[0]["n"]);
    let text = answer["answer"].as_str().unwrap();
    assert!(quote.len() >= 20 && text.contains(&marker), "{answer:#}");

    // Streaming: several token events, then the verified answer.
    let r = client()
        .post(app.url("/api/v1/ask"))
        .header("Accept", "text/event-stream")
        .json(&json!({"question": "What does the TTS bug bounty program reward people for?"}))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(body.matches("event: token").count() > 3, "{body}");
    assert!(body.contains("event: done"), "{body}");

    // Eight askers at once all get cited answers through the remote model.
    let askers = (0..8).map(|_| {
        ask(
            &app,
            "What does the TTS bug bounty program reward people for?",
        )
    });
    for answer in futures::future::join_all(askers).await {
        assert_eq!(answer["mode"], "generated", "{answer:#}");
        assert!(!answer["citations"].as_array().unwrap().is_empty());
    }

    // The model server goes away: employees still get the regulation, quoted with citations.
    drop(server);
    let answer = ask(
        &app,
        "What does the TTS bug bounty program reward people for?",
    )
    .await;
    assert_eq!(answer["mode"], "extractive", "{answer:#}");
    assert!(
        !answer["citations"].as_array().unwrap().is_empty(),
        "{answer:#}"
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_refused_by_the_server_and_the_answer_falls_back_to_quotes() {
    let server = ModelServer::start("right-key");
    let app = app_using(server.port, "wrong-key");
    let answer = ask(
        &app,
        "What does the TTS bug bounty program reward people for?",
    )
    .await;
    assert_eq!(answer["mode"], "extractive", "{answer:#}");
}
