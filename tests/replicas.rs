//! Two Regula replicas sharing one PostgreSQL (when `REGULA_TEST_DATABASE_URL` names a server):
//! accounts, sessions, conversations and the job list live in the database, so a user signed in
//! on one replica is signed in on the other and continues the same conversation there.

mod common;

use common::{sign_in, start_app, with_cookie};
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
