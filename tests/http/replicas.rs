//! Two Regula replicas sharing one PostgreSQL (when `REGULA_TEST_DATABASE_URL` names a server):
//! accounts, sessions, conversations and the job list live in the database, so a user signed in
//! on one replica is signed in on the other and continues the same conversation there.

use crate::common;

use crate::common::{sign_in, start_app, with_cookie};
use serde_json::{json, Value};

#[tokio::test]
async fn replicas_share_accounts_sessions_conversations_and_audit_through_postgres() {
    let Some(url) = common::fresh_postgres().await else {
        eprintln!("REGULA_TEST_DATABASE_URL is not set: no PostgreSQL to share");
        return;
    };
    let (a_url, b_url) = (url.clone(), url);
    let (a, b) = std::thread::spawn(move || {
        let a = start_app(move |s| s.database.url = Some(a_url), common::FIXTURES);
        let b = start_app(move |s| s.database.url = Some(b_url), common::FIXTURES);
        (a, b)
    })
    .join()
    .expect("replicas start");

    let (status, _) = common::post_json(
        &a,
        "/api/v1/users",
        json!({"username": "rita", "password": "replica password", "role": "employee"}),
    )
    .await;
    assert_eq!(status, 201);
    let (cookie, csrf) = sign_in(&a, "rita", "replica password")
        .await
        .expect("rita signs in on replica A");
    let post = |base: String, body: Value| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        async move {
            let r = with_cookie(&cookie)
                .post(format!("{base}/api/v1/ask"))
                .header("x-csrf-token", csrf)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let first = post(
        a.url(""),
        json!({"question": "How many hours of annual leave do I earn per pay period?"}),
    )
    .await;
    let conversation = first["conversation_id"].as_str().unwrap().to_string();
    // The other replica knows the session and continues the conversation.
    let second = post(
        b.url(""),
        json!({"question": "And how much of it can I carry over?", "conversation_id": conversation}),
    )
    .await;
    assert_eq!(second["conversation_id"], conversation.as_str());
    let history: Value = with_cookie(&cookie)
        .get(a.url(&format!("/api/v1/conversations/{conversation}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["messages"].as_array().unwrap().len(),
        4,
        "{history:#}"
    );
    // Both see the same users and audit trail.
    for replica in [&a, &b] {
        let (_, users) = common::get_json(replica, "/api/v1/users").await;
        assert!(users.to_string().contains("rita"));
        let (_, audit) = common::get_json(replica, "/api/v1/audit?limit=10").await;
        assert_eq!(audit["entries"].as_array().unwrap().len(), 2, "{audit:#}");
    }
}

/// Two replicas on one PostgreSQL and one Qdrant server (`QDRANT_URL`, `QDRANT_API_KEY`;
/// `scripts/qdrant.sh start` runs one): a document uploaded through A is found and cited through
/// B, and a document narrowed on B is gone from A's answers at once.
#[tokio::test]
async fn replicas_on_one_qdrant_server_share_documents_and_their_access() {
    let Some(db) = common::fresh_postgres().await else {
        eprintln!("REGULA_TEST_DATABASE_URL is not set: no PostgreSQL to share");
        return;
    };
    let Ok(qdrant) = std::env::var("QDRANT_URL") else {
        eprintln!("QDRANT_URL is not set: no Qdrant server to share");
        return;
    };
    let key = std::env::var("QDRANT_API_KEY").ok();
    let collection = format!("regula_replicas_{}", uuid::Uuid::new_v4().simple());
    let configure = move |s: &mut regula::config::Settings| {
        s.database.url = Some(db.clone());
        s.index.qdrant_url = Some(qdrant.clone());
        s.index.qdrant_api_key = key.clone();
        s.index.collection = collection.clone();
    };
    let (a, b) = std::thread::spawn(move || {
        let second = configure.clone();
        (start_app(configure, &[]), start_app(second, &[]))
    })
    .join()
    .expect("replicas start");

    let text = "# Visitor badges\n\n## Badges\n\nVisitor badges are printed by the Halcyonic kiosk in the lobby before nine.\n";
    let (status, body) = common::upload(&a, "badges.md", text.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{body:#}");
    let id = body["results"][0]["job"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let question = "Where are visitor badges printed?";
    let (_, hits) = common::post_json(&b, "/api/v1/search", json!({ "query": question })).await;
    assert!(hits.to_string().contains("Halcyonic"), "{hits:#}");
    let (_, answer) = common::post_json(&b, "/api/v1/ask", json!({ "question": question })).await;
    assert!(
        answer["citations"].to_string().contains(&id),
        "cited through B: {answer:#}"
    );

    let (status, _) = common::post_json(
        &a,
        "/api/v1/users",
        json!({"username": "vera", "password": "replica password", "role": "employee"}),
    )
    .await;
    assert_eq!(status, 201);
    let (cookie, csrf) = sign_in(&a, "vera", "replica password")
        .await
        .expect("vera signs in on A");
    let vera_search = || {
        let (cookie, csrf, url) = (cookie.clone(), csrf.clone(), a.url("/api/v1/search"));
        async move {
            with_cookie(&cookie)
                .post(url)
                .header("x-csrf-token", csrf)
                .json(&json!({ "query": question }))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(vera_search().await.contains("Halcyonic"));
    let r = common::client()
        .patch(b.url(&format!("/api/v1/documents/{id}")))
        .json(&json!({"groups": ["exec"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "narrowed on B");
    let after = vera_search().await;
    assert!(
        !after.contains("Halcyonic") && !after.contains(&id),
        "gone from A at once: {after}"
    );
}
