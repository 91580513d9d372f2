//! The metadata store's contract, run against SQLite always and against a real PostgreSQL when
//! `REGULA_TEST_DATABASE_URL` names a server (scripts/test.sh starts one; each run gets a fresh
//! database): documents and versions, the job queue (claimed once each, even by two replicas at
//! once), accounts, sessions, keys, conversations, feedback and the audit log.

mod common;

use std::collections::HashSet;

use regula::auth::{Role, Scope};
use regula::store::{
    Backend, GroupsSpec, JobOrigin, NewApiKey, NewAudit, NewChunk, NewJob, NewUser, NewVersion,
    PendingActivation, Rating, Recovery, Store, StoreError, UserUpdate,
};

/// The databases to run against: a fresh SQLite file, and a fresh PostgreSQL database when
/// a server is configured. The guards keep them alive for the test.
async fn stores() -> Vec<(Store, Box<dyn std::any::Any>)> {
    stores_with_urls()
        .await
        .into_iter()
        .map(|(store, guard, _)| (store, guard))
        .collect()
}

/// `stores`, with each database's URL for a test that changes a row behind the store's back.
async fn stores_with_urls() -> Vec<(Store, Box<dyn std::any::Any>, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("regula.db");
    let sqlite = Store::open_sqlite(&path).await.expect("sqlite store");
    let sqlite_url = format!("sqlite://{}", path.display());
    let mut out: Vec<(Store, Box<dyn std::any::Any>, String)> =
        vec![(sqlite, Box::new(dir), sqlite_url)];
    if let Some(url) = common::fresh_postgres().await {
        out.push((
            Store::open(&url).await.expect("postgres store"),
            Box::new(url.clone()),
            url,
        ));
    }
    out
}

/// Run one statement directly on the database (damage a row as a bad disk or hand edit would).
async fn raw(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("raw connection");
    sqlx::query(sql)
        .execute(&pool)
        .await
        .expect("raw statement");
    pool.close().await;
}

async fn queue(store: &Store, n: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for i in 0..n {
        ids.insert(
            store
                .enqueue_job(NewJob {
                    source: &format!("doc-{i}.md"),
                    groups: &GroupsSpec::Explicit(vec!["everyone".to_string()]),
                    blob: "0000",
                    origin: JobOrigin::Upload,
                })
                .await
                .expect("enqueue"),
        );
    }
    ids
}

/// Claim until the queue is empty; the ids claimed.
async fn drain(store: Store) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(job) = store.claim_job().await.expect("claim") {
        got.push(job.id.clone());
        store
            .finish_job(&job.id, Ok(regula::store::Outcome::Indexed))
            .await
            .expect("finish");
    }
    got
}

#[tokio::test]
async fn documents_versions_and_chunks() {
    for (store, _guard) in stores().await {
        let doc = store
            .ensure_document("hr/leave.md", "Leave", JobOrigin::Upload)
            .await
            .unwrap();
        let again = store
            .ensure_document("hr/leave.md", "Leave", JobOrigin::Upload)
            .await
            .unwrap();
        assert_eq!(doc.id, again.id);
        for round in 1..=2 {
            let groups = vec!["hr".to_string()];
            let version = store
                .create_version(NewVersion {
                    document_id: &doc.id,
                    content_hash: &format!("hash{round}"),
                    format: "markdown",
                    groups: &groups,
                    pages: 1,
                    original_path: "/tmp/x",
                })
                .await
                .unwrap();
            let chunks: Vec<NewChunk> = (0..3)
                .map(|i| NewChunk {
                    id: uuid::Uuid::new_v4().to_string(),
                    ordinal: i,
                    section: format!("Leave > Part {i}"),
                    page: (i > 0).then_some(i as u32),
                    text: format!("round {round} passage {i}"),
                    content_hash: format!("c{i}"),
                })
                .collect();
            store
                .activate_version(&doc.id, &version, "Leave", &chunks)
                .await
                .unwrap();
        }
        // Neither activation was confirmed by the index: the active one is pending, with the
        // version it superseded; a replica waits a lease before finishing another's.
        let pending = store
            .pending_activations(Recovery::Exclusive)
            .await
            .unwrap();
        let versions = store.versions(&doc.id).await.unwrap();
        assert_eq!(
            pending,
            vec![PendingActivation {
                document_id: doc.id.clone(),
                version_id: versions[0].id.clone(),
                previous: Some(versions[1].id.clone()),
            }]
        );
        assert!(store
            .pending_activations(Recovery::Shared)
            .await
            .unwrap()
            .is_empty());
        store.index_activated(&versions[0].id).await.unwrap();
        assert!(store
            .pending_activations(Recovery::Exclusive)
            .await
            .unwrap()
            .is_empty());
        let d = store.document(&doc.id).await.unwrap();
        let active = d.active.expect("active version");
        assert_eq!((active.number, active.chunks), (2, 3));
        assert_eq!(active.groups, vec!["hr".to_string()]);
        let versions = store.versions(&doc.id).await.unwrap();
        let states: Vec<&str> = versions.iter().map(|v| v.status.as_str()).collect();
        assert_eq!(states, vec!["active", "superseded"]);
        let chunks = store.active_chunks(&doc.id).await.unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].text, "round 2 passage 2");
        assert_eq!(chunks[0].page, None);
        assert_eq!(chunks[1].page, Some(1));
        store
            .set_document_groups(&doc.id, &["exec".to_string()])
            .await
            .unwrap();
        let asked = [doc.id.clone(), "no-such-document".into(), doc.id.clone()];
        let groups = store.readable_groups(&asked).await.unwrap();
        assert_eq!(groups[&doc.id].0, vec!["exec".to_string()]);
        assert_eq!(groups.len(), 1, "{groups:?}");
        let (page, total) = store.documents_page(10, 0).await.unwrap();
        assert_eq!((page.len(), total), (1, 1));
        store.delete_document(&doc.id).await.unwrap();
        assert!(matches!(
            store.document(&doc.id).await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn jobs_are_claimed_once_each_by_concurrent_workers_and_replicas() {
    for (store, guard) in stores().await {
        let queued = queue(&store, 40).await;
        // Four workers on one pool, and on PostgreSQL a second replica with its own pool.
        let mut workers = Vec::new();
        for _ in 0..4 {
            workers.push(tokio::spawn(drain(store.clone())));
        }
        if store.backend() == Backend::Postgres {
            let url = guard.downcast_ref::<String>().expect("url").clone();
            let replica = Store::open(&url).await.expect("second replica");
            for _ in 0..4 {
                workers.push(tokio::spawn(drain(replica.clone())));
            }
        }
        let mut claimed = Vec::new();
        for w in workers {
            claimed.extend(w.await.expect("worker"));
        }
        let unique: HashSet<String> = claimed.iter().cloned().collect();
        assert_eq!(claimed.len(), unique.len(), "a job was claimed twice");
        assert_eq!(unique, queued, "every job was claimed");
        let counts = store.job_counts().await.unwrap();
        assert_eq!(counts, vec![("done".to_string(), 40)]);
    }
}

#[tokio::test]
async fn retries_wait_and_interrupted_jobs_return_to_the_queue() {
    for (store, _guard) in stores().await {
        queue(&store, 1).await;
        let job = store.claim_job().await.unwrap().expect("a job");
        assert_eq!(job.attempts, 1);
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);
        store
            .retry_job(&job.id, "busy", regula::store::ErrorKind::Io, later)
            .await
            .unwrap();
        assert!(
            store.claim_job().await.unwrap().is_none(),
            "not before its time"
        );
        store
            .retry_job(
                &job.id,
                "busy",
                regula::store::ErrorKind::Io,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let again = store.claim_job().await.unwrap().expect("due now");
        assert_eq!(again.attempts, 2);
        store
            .job_progress(&job.id, None, None, 5, 10, 4)
            .await
            .unwrap();
        store
            .job_progress(&job.id, None, None, 3, 10, 6)
            .await
            .unwrap();
        let j = store.job(&job.id).await.unwrap();
        assert_eq!((j.pages, j.chunks, j.embedded), (5, 10, 6));
        // The job is building a version. While its claim is renewed, a replica that starts (or
        // recovers) on a shared database leaves both alone; the claimant keeps its lease, an
        // older claim of the same job does not.
        let doc = store
            .ensure_document("doc-0.md", "Doc", JobOrigin::Upload)
            .await
            .unwrap();
        let version = store
            .create_version(NewVersion {
                document_id: &doc.id,
                content_hash: "h",
                format: "markdown",
                groups: &["everyone".to_string()],
                pages: 1,
                original_path: "/tmp/x",
            })
            .await
            .unwrap();
        store
            .job_progress(&job.id, Some(&doc.id), Some(&version), 5, 10, 6)
            .await
            .unwrap();
        assert_eq!(
            store
                .requeue_abandoned_jobs(Recovery::Shared, 3)
                .await
                .unwrap(),
            0
        );
        assert!(store
            .fail_abandoned_versions(Recovery::Shared)
            .await
            .unwrap()
            .is_empty());
        assert!(store.renew_job_lease(&job.id, 2).await.unwrap());
        assert!(
            !store.renew_job_lease(&job.id, 1).await.unwrap(),
            "a superseded claim"
        );
        // Alone on its database, a starting process knows every running job was left over.
        assert_eq!(
            store
                .fail_abandoned_versions(Recovery::Exclusive)
                .await
                .unwrap(),
            vec![version.clone()]
        );
        assert_eq!(
            store
                .requeue_abandoned_jobs(Recovery::Exclusive, 3)
                .await
                .unwrap(),
            1
        );
        assert!(
            !store.renew_job_lease(&job.id, 2).await.unwrap(),
            "taken back: the claim is gone"
        );
        assert_eq!(
            store
                .jobs(Some(regula::store::JobStatus::Queued), 10, 0)
                .await
                .unwrap()
                .len(),
            1
        );
        let versions = store.versions(&doc.id).await.unwrap();
        assert_eq!(versions[0].status, "failed");
        store
            .finish_job(
                &job.id,
                Err((regula::store::ErrorKind::Malformed, "bad file")),
            )
            .await
            .unwrap();
        let j = store.job(&job.id).await.unwrap();
        assert_eq!(j.status, "failed");
        assert_eq!(j.error_kind.map(|k| k.as_str()), Some("malformed"));
    }
}

#[tokio::test]
async fn accounts_sessions_and_keys() {
    for (store, _guard) in stores().await {
        let groups = vec!["hr".to_string()];
        let user = store
            .create_user(NewUser {
                username: "hana",
                password_hash: Some("$argon2id$stub"),
                role: Role::Employee,
                groups: &groups,
            })
            .await
            .unwrap();
        assert!(user.has_password && !user.disabled);
        let dup = store
            .create_user(NewUser {
                username: "hana",
                password_hash: None,
                role: Role::Admin,
                groups: &[],
            })
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        let (found, hash) = store.login_candidate("hana").await.unwrap().expect("user");
        assert_eq!(found.id, user.id);
        assert_eq!(hash.as_deref(), Some("$argon2id$stub"));

        let soon = chrono::Utc::now() + chrono::Duration::hours(1);
        store
            .create_session("tok", &user.id, "csrf", soon)
            .await
            .unwrap();
        let (u, csrf) = store.session_user("tok").await.unwrap().expect("session");
        assert_eq!((u.username.as_str(), csrf.as_str()), ("hana", "csrf"));
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        store
            .create_session("old", &user.id, "c", past)
            .await
            .unwrap();
        assert!(store.session_user("old").await.unwrap().is_none());
        assert_eq!(store.purge_expired_sessions().await.unwrap(), 1);
        // A change of rights ends the sessions.
        let updated = store
            .update_user(
                &user.id,
                UserUpdate {
                    role: Some(Role::Admin),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(updated.role, Role::Admin);
        assert_eq!(updated.groups, groups);
        assert!(store.session_user("tok").await.unwrap().is_none());
        assert_eq!(store.admin_count().await.unwrap(), 1);

        let key = store
            .create_api_key(NewApiKey {
                name: "portal",
                prefix: "rgk_abc",
                secret_hash: "h1",
                scope: Scope::Ask,
                groups: &groups,
                created_by: "test",
            })
            .await
            .unwrap();
        let used = store.use_api_key("h1").await.unwrap().expect("key");
        assert_eq!(used.id, key.id);
        assert!(store.api_key(&key.id).await.unwrap().last_used_at.is_some());
        store.revoke_api_key(&key.id).await.unwrap();
        assert!(store.use_api_key("h1").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn conversations_feedback_and_audit() {
    for (store, _guard) in stores().await {
        let conversation = store.create_conversation("user:1").await.unwrap();
        for (q, a) in [("first?", "one"), ("second?", "two")] {
            store
                .add_turn(
                    &conversation,
                    q,
                    &format!("m-{a}"),
                    a,
                    &serde_json::json!({"answer": a}),
                )
                .await
                .unwrap();
        }
        let messages = store.conversation(&conversation, "user:1").await.unwrap();
        let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, vec!["user", "assistant", "user", "assistant"]);
        assert!(matches!(
            store.conversation(&conversation, "user:2").await,
            Err(StoreError::NotFound(_))
        ));
        let list = store.conversations("user:1", 10).await.unwrap();
        assert_eq!(list[0].title, "first?");

        assert!(store
            .put_feedback("m-one", "user:2", Rating::Down, None)
            .await
            .is_err());
        store
            .put_feedback("m-one", "user:1", Rating::Up, None)
            .await
            .unwrap();
        store
            .put_feedback("m-one", "user:1", Rating::Down, Some("wrong figure"))
            .await
            .unwrap();
        let fb = store.feedback(Some(Rating::Down), 10, 0).await.unwrap();
        assert_eq!(fb.len(), 1, "a second rating replaces the first");
        assert_eq!(fb[0].question.as_deref(), Some("first?"));
        assert_eq!(fb[0].comment.as_deref(), Some("wrong figure"));

        store
            .audit(NewAudit {
                actor: "user:1",
                actor_name: "hana",
                action: "ask",
                question: "first?",
                cited: &["d1".to_string()],
                abstained: true,
                conversation_id: Some(&conversation),
                message_id: Some("m-one"),
            })
            .await
            .unwrap();
        let rows = store
            .audit_log(&regula::store::AuditQuery {
                actor: Some("user:1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].abstained);
        assert_eq!(rows[0].cited, vec!["d1".to_string()]);
        assert_eq!(store.purge_audit(0).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn bad_urls_are_refused_with_the_password_hidden() {
    let e = Store::open("mysql://root:secret@db/regula")
        .await
        .err()
        .expect("refused");
    let text = e.to_string();
    assert!(
        text.contains("unsupported") && !text.contains("secret"),
        "{text}"
    );
}

#[tokio::test]
async fn a_job_running_each_time_the_process_died_fails_after_its_attempts() {
    for (store, _guard) in stores().await {
        queue(&store, 1).await;
        // The file crashes the process every time: claimed, then recovered at the next start.
        for attempt in 1..=3u32 {
            let job = store.claim_job().await.unwrap().expect("queued again");
            assert_eq!(job.attempts, attempt);
            let requeued = store
                .requeue_abandoned_jobs(Recovery::Exclusive, 3)
                .await
                .unwrap();
            assert_eq!(requeued, u64::from(attempt < 3), "attempt {attempt}");
        }
        assert!(
            store.claim_job().await.unwrap().is_none(),
            "not tried a fourth time"
        );
        let jobs = store
            .jobs(Some(regula::store::JobStatus::Failed), 10, 0)
            .await
            .unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].error_kind.map(|k| k.as_str()), Some("interrupted"));
        assert!(
            jobs[0]
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("3 attempts"),
            "{:?}",
            jobs[0].error
        );
    }
}

#[tokio::test]
async fn cancelled_jobs_stay_failed_and_corrupt_groups_fail_closed() {
    for (store, _guard, url) in stores_with_urls().await {
        queue(&store, 2).await;
        let running = store.claim_job().await.unwrap().expect("a job");
        assert!(store.job_running(&running.id).await.unwrap());
        // doc-0.md is running, doc-1.md queued: deleting each cancels it.
        assert_eq!(store.cancel_jobs_for_source("doc-0.md").await.unwrap(), 1);
        assert_eq!(store.cancel_jobs_for_source("doc-1.md").await.unwrap(), 1);
        assert!(!store.job_running(&running.id).await.unwrap());
        // The worker that ran it cannot put it back in the queue or mark it done.
        store
            .retry_job(
                &running.id,
                "busy",
                regula::store::ErrorKind::Io,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        store
            .finish_job(&running.id, Ok(regula::store::Outcome::Indexed))
            .await
            .unwrap();
        let j = store.job(&running.id).await.unwrap();
        assert_eq!(
            (j.status.as_str(), j.error_kind.map(|k| k.as_str())),
            ("failed", Some("cancelled"))
        );
        assert!(store.claim_job().await.unwrap().is_none());
        // Nor can it activate what it built.
        let doc = store
            .ensure_document("doc-0.md", "Doc", JobOrigin::Upload)
            .await
            .unwrap();
        let version = store
            .create_version(NewVersion {
                document_id: &doc.id,
                content_hash: "h",
                format: "markdown",
                groups: &["everyone".to_string()],
                pages: 1,
                original_path: "/tmp/x",
            })
            .await
            .unwrap();
        assert!(matches!(
            store
                .activate_for_job(Some(&running.id), &doc.id, &version, "Doc", &[])
                .await,
            Err(StoreError::Cancelled(_))
        ));
        assert!(store.document(&doc.id).await.unwrap().active.is_none());

        // A job whose groups value was damaged is claimed with an error, not with `everyone`.
        let id = store
            .enqueue_job(NewJob {
                source: "doc-2.md",
                groups: &GroupsSpec::Explicit(vec!["hr".to_string()]),
                blob: "0000",
                origin: JobOrigin::Upload,
            })
            .await
            .unwrap();
        raw(
            &url,
            &format!("UPDATE jobs SET groups = 'not json' WHERE id = '{id}'"),
        )
        .await;
        let job = store.claim_job().await.unwrap().expect("the damaged job");
        assert!(job.groups.is_err(), "{:?}", job.groups);
    }
}
