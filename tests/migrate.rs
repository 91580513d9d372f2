//! `regula migrate`'s copy: an embedded deployment (SQLite + the embedded index) moved into
//! PostgreSQL and another index keeps its documents, passages, accounts and vectors — the active
//! version answers searches there, a never-activated draft does not come along — and a second
//! migration into the same target is refused. The target index here is a second embedded one
//! (no Qdrant server can run on these machines); the Qdrant implementation keeps the same
//! contract (tests/index_contract.rs).

mod common;

use std::sync::Arc;

use regula::auth::Role;
use regula::index::{ChunkPayload, ChunkPoint, EdgeIndex, SearchMode, SearchRequest, VectorIndex};
use regula::lexical::Sparse;
use regula::store::{JobOrigin, NewChunk, NewUser, NewVersion, Store};

const DIM: usize = 4;

fn unit(i: usize) -> Vec<f32> {
    let mut v = vec![0.1f32; DIM];
    v[i % DIM] = 1.0;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn chunk_point(doc: &str, version: &str, chunk: &NewChunk) -> ChunkPoint {
    ChunkPoint {
        payload: ChunkPayload {
            chunk_id: chunk.id.clone(),
            document_id: doc.into(),
            version_id: version.into(),
            groups: vec!["everyone".into()],
            title: "Leave".into(),
            source: "leave.md".into(),
            section: chunk.section.clone(),
            page: None,
            ordinal: chunk.ordinal,
            text: chunk.text.clone(),
            full_names: vec![],
        },
        dense: unit(chunk.ordinal),
        sparse: Sparse {
            indices: vec![7 + chunk.ordinal as u32],
            values: vec![1.0],
        },
    }
}

#[tokio::test]
async fn an_embedded_deployment_moves_to_postgres_and_another_index() {
    let Some(target_url) = common::fresh_postgres().await else {
        eprintln!("REGULA_TEST_DATABASE_URL is not set: the migration test needs PostgreSQL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open_sqlite(&dir.path().join("regula.db"))
        .await
        .unwrap();
    let source_index = Arc::new(EdgeIndex::open(&dir.path().join("index"), "m", DIM).unwrap());

    // One document with an active version, and a draft version never activated.
    let doc = source
        .ensure_document("leave.md", "Leave", JobOrigin::Upload)
        .await
        .unwrap();
    let everyone = vec!["everyone".to_string()];
    let new_version = |hash: &'static str| NewVersion {
        document_id: &doc.id,
        content_hash: hash,
        format: "markdown",
        groups: &everyone,
        pages: 1,
        original_path: "/x",
    };
    let v1 = source.create_version(new_version("h1")).await.unwrap();
    let chunks: Vec<NewChunk> = (0..3)
        .map(|i| NewChunk {
            id: uuid::Uuid::new_v4().to_string(),
            ordinal: i,
            section: format!("Leave > {i}"),
            page: None,
            text: format!("annual leave passage {i}"),
            content_hash: format!("c{i}"),
        })
        .collect();
    source
        .activate_version(&doc.id, &v1, "Leave", &chunks)
        .await
        .unwrap();
    source_index
        .upsert(
            chunks
                .iter()
                .map(|c| chunk_point(&doc.id, &v1, c))
                .collect(),
        )
        .unwrap();
    source_index.activate(&doc.id, &v1).unwrap();
    let draft = source.create_version(new_version("h2")).await.unwrap();
    source_index
        .upsert(vec![
            chunk_point(&doc.id, &draft, &chunks[0]).with_id(uuid::Uuid::new_v4().to_string())
        ])
        .unwrap();
    source
        .create_user(NewUser {
            username: "hana",
            password_hash: Some("$argon2id$stub"),
            role: Role::Admin,
            groups: &everyone,
        })
        .await
        .unwrap();

    let target = Store::open(&target_url).await.unwrap();
    let target_dir = tempfile::tempdir().unwrap();
    // The real target of a scale-out: a Qdrant server when `QDRANT_URL` names one
    // (scripts/test.sh --with-qdrant), else another embedded index.
    let remote = std::env::var("QDRANT_URL").ok().map(|url| {
        let collection = format!("regula_migrate_{}", uuid::Uuid::new_v4().simple());
        let key = std::env::var("QDRANT_API_KEY").ok();
        Arc::new(
            regula::index::RemoteIndex::connect(&url, key.as_deref(), &collection, "m", DIM)
                .expect("the Qdrant server named by QDRANT_URL"),
        )
    });
    let target_index: Arc<dyn VectorIndex> = match &remote {
        Some(r) => r.clone(),
        None => Arc::new(EdgeIndex::open(target_dir.path(), "m", DIM).unwrap()),
    };
    let report =
        regula::migrate::copy(&source, source_index.clone(), &target, target_index.clone())
            .await
            .expect("migrates");
    assert_eq!(report.points, 4, "every stored point read");
    assert_eq!(report.active_versions, 1);
    let rows: std::collections::HashMap<String, u64> = report.rows.into_iter().collect();
    assert_eq!(rows["documents"], 1);
    assert_eq!(rows["versions"], 2);
    assert_eq!(rows["chunks"], 3);
    assert_eq!(rows["users"], 1);

    // The target answers as the source did; the draft stayed behind.
    assert_eq!(target.chunk_count().await.unwrap(), 3);
    assert_eq!(target_index.count().unwrap(), 3);
    let copied = target.document(&doc.id).await.unwrap();
    assert_eq!(copied.active_version_id.as_deref(), Some(v1.as_str()));
    assert!(target.login_candidate("hana").await.unwrap().is_some());
    let hits = target_index
        .search(&SearchRequest {
            dense: unit(2),
            sparse: Sparse {
                indices: vec![9],
                values: vec![1.0],
            },
            groups: Some(everyone.clone()),
            mode: SearchMode::Hybrid,
            limit: 3,
            prefetch: 10,
            rrf_k: 60,
            dense_weight: 1.0,
            sparse_weight: 1.0,
        })
        .unwrap();
    assert_eq!(hits[0].payload.text, "annual leave passage 2");
    assert!(hits.iter().all(|h| h.payload.version_id == v1));

    // A second run into the same target is refused rather than doubling anything.
    let again = regula::migrate::copy(&source, source_index, &target, target_index.clone()).await;
    assert!(again.is_err());
    assert_eq!(target_index.count().unwrap(), 3);

    // Originals go to the shared folder; temporary files do not.
    let originals = dir.path().join("originals");
    std::fs::create_dir_all(&originals).unwrap();
    std::fs::write(originals.join("abc.md"), "x").unwrap();
    std::fs::write(originals.join("upload-1.tmp"), "partial").unwrap();
    let shared = target_dir.path().join("shared");
    assert_eq!(
        regula::migrate::copy_originals(&originals, &shared).unwrap(),
        1
    );
    assert!(shared.join("abc.md").exists() && !shared.join("upload-1.tmp").exists());
    if let Some(r) = remote {
        r.drop_collection().expect("cleaned up");
    }
}

trait WithId {
    fn with_id(self, id: String) -> Self;
}

impl WithId for ChunkPoint {
    fn with_id(mut self, id: String) -> Self {
        self.payload.chunk_id = id;
        self
    }
}

/// The top passages (chunk id, fused score) for every development question, as an admin sees them.
async fn top_passages(app: &regula::app::App, questions: &[String]) -> Vec<Vec<(String, f32)>> {
    let mut all = Vec::new();
    for q in questions {
        let results = app
            .rag
            .search(q, None, 5, SearchMode::Hybrid)
            .await
            .expect("search");
        all.push(results.into_iter().map(|r| (r.chunk_id, r.score)).collect());
    }
    all
}

/// The same passages in the same order, except among passages of equal score (the engines break
/// ties differently and sum floats in another order: scores compared to a millionth).
fn same_ranking(before: &[(String, f32)], after: &[(String, f32)]) -> bool {
    let tied = |a: f32, b: f32| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-3);
    before.len() == after.len()
        && before
            .iter()
            .zip(after)
            .all(|((id_b, score_b), (id_a, score_a))| {
                id_b == id_a
                    || (tied(*score_b, *score_a)
                        && after.iter().any(|(id, s)| id == id_b && tied(*s, *score_b)))
            })
}

/// Run a shipped command; it must succeed (its stderr shown when it does not).
fn succeeds(command: &mut std::process::Command) {
    let out = command.output().expect("the regula binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn development_questions() -> Vec<String> {
    ["en.jsonl", "ko.jsonl"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(common::repo().join("tests/eval").join(f))
                .expect("eval set")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("jsonl");
                    v["question"].as_str().expect("question").to_string()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The real thing, end to end through the shipped commands: the sample corpus ingested by
/// `regula ingest` into an embedded deployment, moved by `regula migrate` into PostgreSQL and the
/// Qdrant server, and every development question (both languages) asked of both: the same five
/// passages come back with the same scores, in the same order (up to ties).
#[tokio::test]
async fn the_sample_deployment_finds_the_same_passages_after_moving_to_postgres_and_qdrant() {
    let (Some(database), Ok(qdrant)) =
        (common::fresh_postgres().await, std::env::var("QDRANT_URL"))
    else {
        eprintln!("needs REGULA_TEST_DATABASE_URL and QDRANT_URL (scripts/test.sh --with-qdrant)");
        return;
    };
    let key = std::env::var("QDRANT_API_KEY").ok();
    let collection = format!("regula_sample_{}", uuid::Uuid::new_v4().simple());
    let regula = |data_dir: &std::path::Path| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_regula"));
        c.env("REGULA__MODELS__DIR", common::repo().join("models"))
            .env("REGULA__PROMPTS_DIR", common::repo().join("prompts"))
            .env_remove("QDRANT_URL")
            .env_remove("REGULA__DATABASE__URL")
            .current_dir(common::repo())
            .arg("--data-dir")
            .arg(data_dir);
        c
    };
    let embedded = tempfile::tempdir().unwrap();
    succeeds(regula(embedded.path()).args([
        "ingest",
        "sample/en-18f-handbook",
        "sample/ko-labor-law",
    ]));

    let questions = development_questions();
    let before = {
        let app = regula::app::App::build(
            common::test_settings(embedded.path()),
            regula::app::Parts::Retrieval,
        )
        .await
        .expect("the embedded deployment opens");
        let points = app.index.count().unwrap();
        assert!(points > 1000, "the sample corpus is indexed: {points}");
        top_passages(&app, &questions).await
    };

    succeeds(
        regula(embedded.path())
            .args([
                "migrate",
                "--to-database",
                &database,
                "--to-qdrant",
                &qdrant,
            ])
            .args(["--collection", &collection])
            .env("QDRANT_API_KEY", key.clone().unwrap_or_default()),
    );

    let scaled = tempfile::tempdir().unwrap();
    let mut settings = common::test_settings(scaled.path());
    settings.database.url = Some(database);
    settings.index.qdrant_url = Some(qdrant.clone());
    settings.index.qdrant_api_key = key.clone();
    settings.index.collection = collection.clone();
    let app = regula::app::App::build(settings, regula::app::Parts::Retrieval)
        .await
        .expect("the scaled-out deployment opens");
    let after = top_passages(&app, &questions).await;
    // Both engines search approximately (HNSW built on each side) and break RRF ties their own
    // way, so a passage can move a rank where scores are (nearly) equal; the passages an asker
    // reads must stay, and the first one nearly always.
    let mut moved = Vec::new();
    let mut top_changed = 0;
    for (q, (b, a)) in questions.iter().zip(before.iter().zip(&after)) {
        assert_eq!(b.len(), a.len(), "{q}: {b:?} → {a:?}");
        let kept = b
            .iter()
            .filter(|(id, _)| a.iter().any(|(x, _)| x == id))
            .count();
        assert!(
            kept + 1 >= b.len(),
            "{q}: {kept} of {} passages kept: {b:?} → {a:?}",
            b.len()
        );
        if b.first().map(|x| &x.0) != a.first().map(|x| &x.0) {
            top_changed += 1;
        }
        if !same_ranking(b, a) {
            moved.push((q, kept, b, a));
        }
    }
    eprintln!(
        "{} questions: the same passages in the same order for {}, the same first passage for {}; the others: {:?}",
        questions.len(),
        questions.len() - moved.len(),
        questions.len() - top_changed,
        moved
    );
    assert!(
        top_changed * 20 <= questions.len(),
        "the first passage changed for {top_changed} of {} questions",
        questions.len()
    );
    assert!(
        moved.len() * 10 <= questions.len(),
        "{} of {} rankings changed",
        moved.len(),
        questions.len()
    );
    assert!(before.iter().filter(|b| b.len() == 5).count() * 10 >= questions.len() * 9);
    regula::index::RemoteIndex::connect(
        &qdrant,
        key.as_deref(),
        &collection,
        &app.settings.embed.model_id,
        app.settings.embed.dimension,
    )
    .expect("reconnects")
    .drop_collection()
    .expect("cleaned up");
}
