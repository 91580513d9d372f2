//! A process that stops between the two steps of an activation (the database says the new
//! version is active, the vector index still shows the old one) has the activation finished at
//! the next start: the document is answerable from its new version only, and purging the
//! never-activated points of an abandoned ingest does not take the new version's points.

use std::sync::Arc;

use regula::index::{ChunkPayload, ChunkPoint, EdgeIndex, SearchMode, SearchRequest, VectorIndex};
use regula::ingest::recovery::recover_abandoned;
use regula::lexical::Sparse;
use regula::store::{JobOrigin, NewChunk, NewVersion, Recovery, Store};

const DIM: usize = 4;

fn point(doc: &str, version: &str, text: &str) -> ChunkPoint {
    ChunkPoint {
        payload: ChunkPayload {
            chunk_id: uuid::Uuid::new_v4().to_string(),
            document_id: doc.into(),
            version_id: version.into(),
            groups: vec!["everyone".into()],
            title: "Leave".into(),
            source: "leave.md".into(),
            section: "Leave".into(),
            page: None,
            ordinal: 0,
            text: text.into(),
            full_names: vec![],
        },
        dense: vec![0.5; DIM],
        sparse: Sparse {
            indices: vec![7],
            values: vec![1.0],
        },
    }
}

/// The texts search shows for everyone.
fn visible(index: &dyn VectorIndex) -> Vec<String> {
    let mut texts: Vec<String> = index
        .search(&SearchRequest {
            dense: vec![0.5; DIM],
            sparse: Sparse::default(),
            groups: Some(vec!["everyone".into()]),
            mode: SearchMode::Dense,
            limit: 10,
            prefetch: 10,
            rrf_k: 60,
            dense_weight: 1.0,
            sparse_weight: 1.0,
        })
        .expect("search")
        .into_iter()
        .map(|h| h.payload.text)
        .collect();
    texts.sort();
    texts
}

async fn new_version(store: &Store, doc: &str, hash: &str) -> String {
    store
        .create_version(NewVersion {
            document_id: doc,
            content_hash: hash,
            format: "markdown",
            groups: &["everyone".to_string()],
            pages: 1,
            original_path: "/tmp/leave.md",
        })
        .await
        .expect("version")
}

fn chunk(text: &str) -> NewChunk {
    NewChunk {
        id: uuid::Uuid::new_v4().to_string(),
        ordinal: 0,
        section: "Leave".into(),
        page: None,
        text: text.into(),
        content_hash: text.into(),
    }
}

#[tokio::test]
async fn an_activation_cut_short_by_a_crash_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(&dir.path().join("regula.db"))
        .await
        .expect("store");
    let index: Arc<dyn VectorIndex> =
        Arc::new(EdgeIndex::open(&dir.path().join("index"), "test-model", DIM).expect("index"));
    let doc = store
        .ensure_document("leave.md", "Leave", JobOrigin::Upload)
        .await
        .expect("document")
        .id;

    // Version 1, activated completely.
    let v1 = new_version(&store, &doc, "h1").await;
    index.upsert(vec![point(&doc, &v1, "20 days")]).unwrap();
    store
        .activate_version(&doc, &v1, "Leave", &[chunk("20 days")])
        .await
        .unwrap();
    index.activate(&doc, &v1).unwrap();
    store.index_activated(&v1).await.unwrap();

    // Version 2: the database activation commits, then the process stops.
    let v2 = new_version(&store, &doc, "h2").await;
    index.upsert(vec![point(&doc, &v2, "25 days")]).unwrap();
    store
        .activate_version(&doc, &v2, "Leave", &[chunk("25 days")])
        .await
        .unwrap();
    // Another file's ingest was cut short too: its points were never activated.
    let other = store
        .ensure_document("travel.md", "Travel", JobOrigin::Upload)
        .await
        .unwrap()
        .id;
    let abandoned = new_version(&store, &other, "h3").await;
    index
        .upsert(vec![point(&other, &abandoned, "half indexed")])
        .unwrap();
    assert_eq!(visible(index.as_ref()), vec!["20 days".to_string()]);

    // The next start.
    recover_abandoned(&store, &index, Recovery::Exclusive, 3)
        .await
        .expect("recovery");
    assert_eq!(
        visible(index.as_ref()),
        vec!["25 days".to_string()],
        "the new version is shown, the old one and the abandoned points are gone"
    );
    assert_eq!(index.count().unwrap(), 1);
    assert!(store
        .pending_activations(Recovery::Exclusive)
        .await
        .unwrap()
        .is_empty());
    let versions = store.versions(&other).await.unwrap();
    assert_eq!(versions[0].status, "failed");

    // Recovery again changes nothing.
    recover_abandoned(&store, &index, Recovery::Exclusive, 3)
        .await
        .expect("second recovery");
    assert_eq!(visible(index.as_ref()), vec!["25 days".to_string()]);
}

#[tokio::test]
async fn a_change_of_groups_cut_short_keeps_the_narrower_groups_and_is_finished_at_start() {
    use regula::auth::{Credential, Principal, Role};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(&dir.path().join("regula.db"))
        .await
        .expect("store");
    let index: Arc<dyn VectorIndex> =
        Arc::new(EdgeIndex::open(&dir.path().join("index"), "test-model", DIM).expect("index"));
    let doc = store
        .ensure_document("pay.md", "Pay", JobOrigin::Upload)
        .await
        .expect("document")
        .id;
    let v1 = new_version(&store, &doc, "h1").await;
    index.upsert(vec![point(&doc, &v1, "bonus pool")]).unwrap();
    store
        .activate_version(&doc, &v1, "Pay", &[chunk("bonus pool")])
        .await
        .unwrap();
    index.activate(&doc, &v1).unwrap();
    store.index_activated(&v1).await.unwrap();
    let employee = Principal::new(
        "user:pat".into(),
        "pat".into(),
        Role::Employee,
        vec![],
        Credential::TrustedHeader,
    );
    assert!(store.document(&doc).await.unwrap().readable_by(&employee));

    // An admin narrows it to `exec`: the change is recorded as pending, then the process stops
    // before the index and the record are changed.
    store
        .set_pending_groups(&doc, &["exec".to_string()])
        .await
        .unwrap();
    let d = store.document(&doc).await.unwrap();
    assert_eq!(
        d.active.as_ref().unwrap().groups,
        vec!["everyone".to_string()]
    );
    assert!(
        !d.readable_by(&employee),
        "the narrower (pending) groups already hold"
    );
    let groups = store
        .readable_groups(std::slice::from_ref(&doc))
        .await
        .unwrap();
    assert_eq!(groups[&doc].1, Some(vec!["exec".to_string()]));

    // The next start finishes the change everywhere.
    recover_abandoned(&store, &index, Recovery::Exclusive, 3)
        .await
        .expect("recovery");
    assert!(
        visible(index.as_ref()).is_empty(),
        "search filters on the new groups"
    );
    let d = store.document(&doc).await.unwrap();
    assert_eq!(d.pending_groups, None);
    assert_eq!(d.active.unwrap().groups, vec!["exec".to_string()]);
    assert!(store.pending_regroupings().await.unwrap().is_empty());
}
