//! Generation under load: a client that goes away frees its sequence, and a full queue answers 503
//! with Retry-After instead of piling up. Its own app, so the counts are not disturbed by other tests.

use crate::common;

use std::time::{Duration, Instant};

use futures::StreamExt;
use regula::llm::{ChatMessage, GenEvent, GenOptions, Generator, LlamaGenerator};
use serde_json::json;

const BUG_BOUNTY: &[&str] =
    &["en-18f-handbook/general-information-and-resources/tech-policies/bug-bounty.md"];

#[tokio::test]
async fn dropping_the_stream_cancels_generation() {
    let settings = common::test_settings(std::path::Path::new("/unused"));
    let generator =
        LlamaGenerator::start(&settings.llm_path(), &settings.llm).expect("model loads");
    let mut stream = generator
        .generate(
            vec![ChatMessage::new("user", "Count from one to one thousand.")],
            GenOptions {
                max_tokens: 1500,
                temperature: 0.0,
                ignore_eos: true,
            },
        )
        .expect("queued");
    let mut tokens = 0;
    while let Some(GenEvent::Token(_)) = stream.recv().await {
        tokens += 1;
        if tokens == 3 {
            break;
        }
    }
    assert_eq!(tokens, 3);
    assert_eq!(generator.load(), 1);
    let dropped = Instant::now();
    drop(stream);
    while generator.load() > 0 && dropped.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 1,500 tokens would take far longer than this at this machine's decode speed.
    assert_eq!(generator.load(), 0, "the sequence was freed");
    assert!(
        dropped.elapsed() < Duration::from_secs(5),
        "freed promptly: {:?}",
        dropped.elapsed()
    );

    let mut stream = generator
        .generate(
            vec![ChatMessage::new("user", "Say hello.")],
            GenOptions {
                max_tokens: 8,
                temperature: 0.0,
                ignore_eos: true,
            },
        )
        .expect("queued");
    let mut generated = 0;
    while let Some(e) = stream.recv().await {
        match e {
            GenEvent::Token(_) => generated += 1,
            GenEvent::Done(stats) => {
                assert_eq!(stats.stop, "max_tokens");
                assert_eq!(stats.generated_tokens, 8);
                break;
            }
            GenEvent::Error(e) => panic!("{e}"),
        }
    }
    assert!(generated >= 1, "the worker serves the next request");
}

#[tokio::test]
async fn sse_disconnect_and_full_queue() {
    if common::fast_tier() {
        // What it tests is the real generator's sequences and queue; the double has neither.
        eprintln!("the real-model tier runs this test");
        return;
    }
    let app = common::start_app(
        |s| {
            s.llm.parallel = 1;
            s.llm.queue_capacity = 1;
            s.llm.max_tokens = 1000;
            s.ingest.optimize_after = 1;
        },
        BUG_BOUNTY,
    );
    let generator = app.app.generator.clone().expect("generator");
    let client = common::client();

    // Disconnect mid-stream.
    let r = client
        .post(app.url("/api/v1/ask"))
        .header("accept", "text/event-stream")
        .json(&json!({"question": "Explain every step of the TTS bug bounty program in detail."}))
        .send()
        .await
        .unwrap();
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if seen.contains("event: token") {
            break;
        }
    }
    drop(body);
    let deadline = Instant::now() + Duration::from_secs(20);
    while generator.load() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        generator.load(),
        0,
        "the disconnected client's sequence was freed"
    );

    // One sequence and one queue slot: of six simultaneous askers some must be turned away.
    let asks = (0..6).map(|_| {
        client
            .post(app.url("/api/v1/ask"))
            .json(&json!({"question": "What is the TTS bug bounty program?"}))
            .send()
    });
    let responses = futures::future::join_all(asks).await;
    let mut ok = 0;
    let mut busy = 0;
    for r in responses {
        let r = r.unwrap();
        match r.status().as_u16() {
            200 => ok += 1,
            503 => {
                assert_eq!(r.headers()["retry-after"], "2");
                busy += 1;
            }
            other => panic!("unexpected status {other}: {}", r.text().await.unwrap()),
        }
    }
    assert!(ok >= 1 && busy >= 1, "ok {ok}, busy {busy}");
    assert_eq!(generator.load(), 0);

    // An upload through the API builds the ANN index in the background; search keeps answering.
    let doc = "# Parking\n\nBicycles are parked in the basement rack next to the loading dock.\n";
    let (status, _) = common::upload(&app, "parking.md", doc.as_bytes().to_vec()).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.app.index.unoptimized() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.app.index.unoptimized(),
        0,
        "the background optimisation ran"
    );
    let v: serde_json::Value = client
        .post(app.url("/api/v1/search"))
        .json(&json!({"query": "where do bicycles go", "top_k": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["results"][0]["source"], "parking.md", "{v:#}");
}
