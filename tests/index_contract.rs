//! The contract every `VectorIndex` keeps, run against the embedded qdrant-edge index always and
//! against a Qdrant server whenever `QDRANT_URL` names one: new points stay invisible until their
//! version is activated, activation swaps versions, the group filter is part of the query (no
//! groups → nothing), regrouping, deletion, purging of never-activated points, each search mode
//! finding the nearest point, and refusal of an index built by another model.

use regula::index::{
    ChunkPayload, ChunkPoint, EdgeIndex, RemoteIndex, SearchMode, SearchRequest, VectorIndex,
};
use regula::lexical::Sparse;

const DIM: usize = 8;

/// A unit vector along axis `i` (nearly: a little of every axis, so cosines differ).
fn dense(i: usize) -> Vec<f32> {
    let mut v = [0.05f32; DIM];
    v[i % DIM] = 1.0;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn sparse(term: u32) -> Sparse {
    Sparse {
        indices: vec![term],
        values: vec![1.0],
    }
}

fn point(doc: &str, version: &str, groups: &[&str], i: usize) -> ChunkPoint {
    ChunkPoint {
        payload: ChunkPayload {
            chunk_id: uuid::Uuid::new_v4().to_string(),
            document_id: doc.into(),
            version_id: version.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            title: format!("{doc} title"),
            source: format!("{doc}.md"),
            section: format!("{doc} > part {i}"),
            page: None,
            ordinal: i,
            text: format!("{doc} {version} passage {i}"),
            // Every other passage names a defined term's full name: stored and returned as is.
            full_names: if i % 2 == 1 {
                vec!["노사협의회".into()]
            } else {
                vec![]
            },
        },
        dense: dense(i),
        sparse: sparse(100 + i as u32),
    }
}

fn search(
    index: &dyn VectorIndex,
    i: usize,
    groups: Option<&[&str]>,
    mode: SearchMode,
) -> Vec<(String, String)> {
    let hits = index
        .search(&SearchRequest {
            dense: dense(i),
            sparse: sparse(100 + i as u32),
            groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
            mode,
            limit: 10,
            prefetch: 20,
            rrf_k: 60,
            dense_weight: 1.0,
            sparse_weight: 1.0,
        })
        .expect("search");
    hits.iter()
        .map(|h| (h.payload.document_id.clone(), h.payload.version_id.clone()))
        .collect()
}

fn docs(hits: &[(String, String)]) -> Vec<&str> {
    let mut d: Vec<&str> = hits.iter().map(|(doc, _)| doc.as_str()).collect();
    d.sort();
    d.dedup();
    d
}

/// The contract, for any implementation.
fn contract(index: &dyn VectorIndex) {
    index
        .upsert(
            (0..3)
                .map(|i| point("hr-rules", "v1", &["hr"], i))
                .collect(),
        )
        .unwrap();
    index
        .upsert(
            (3..6)
                .map(|i| point("canteen", "c1", &["everyone"], i))
                .collect(),
        )
        .unwrap();
    assert_eq!(index.count().unwrap(), 6);
    assert!(
        search(index, 0, None, SearchMode::Hybrid).is_empty(),
        "invisible before activation"
    );
    index.activate("hr-rules", "v1").unwrap();
    index.activate("canteen", "c1").unwrap();

    // Each mode finds the nearest point first; similarity is the cosine.
    for mode in [SearchMode::Dense, SearchMode::Sparse, SearchMode::Hybrid] {
        let hits = search(index, 4, None, mode);
        assert_eq!(hits[0].0, "canteen", "{mode:?}: {hits:?}");
    }
    let best = index
        .search(&SearchRequest {
            dense: dense(1),
            sparse: sparse(101),
            groups: None,
            mode: SearchMode::Dense,
            limit: 1,
            prefetch: 10,
            rrf_k: 60,
            dense_weight: 1.0,
            sparse_weight: 1.0,
        })
        .unwrap();
    assert!(
        (best[0].dense_similarity - 1.0).abs() < 1e-3,
        "{}",
        best[0].dense_similarity
    );
    assert_eq!(best[0].payload.section, "hr-rules > part 1");

    // The group filter is inside the query: no groups reads nothing, not everything.
    assert_eq!(
        docs(&search(index, 0, Some(&["everyone"]), SearchMode::Hybrid)),
        vec!["canteen"]
    );
    assert_eq!(
        docs(&search(
            index,
            0,
            Some(&["hr", "everyone"]),
            SearchMode::Hybrid
        )),
        vec!["canteen", "hr-rules"]
    );
    assert!(search(index, 0, Some(&[]), SearchMode::Hybrid).is_empty());
    assert!(search(index, 0, Some(&["exec"]), SearchMode::Dense).is_empty());

    // A new version replaces the old in one step.
    index
        .upsert(
            (0..2)
                .map(|i| point("hr-rules", "v2", &["hr"], i))
                .collect(),
        )
        .unwrap();
    assert!(search(index, 0, Some(&["hr"]), SearchMode::Hybrid)
        .iter()
        .all(|(_, v)| v == "v1"));
    index.activate("hr-rules", "v2").unwrap();
    let hits = search(index, 0, Some(&["hr"]), SearchMode::Hybrid);
    assert!(
        !hits.is_empty() && hits.iter().all(|(_, v)| v == "v2"),
        "{hits:?}"
    );
    assert_eq!(index.count().unwrap(), 5);

    // Regrouping applies at once.
    index.set_groups("v2", &["exec".to_string()]).unwrap();
    assert!(search(index, 0, Some(&["hr"]), SearchMode::Hybrid).is_empty());
    assert_eq!(
        docs(&search(index, 0, Some(&["exec"]), SearchMode::Hybrid)),
        vec!["hr-rules"]
    );

    // Two ingests of one file raced: activating either hides every other visible version of the
    // document, whichever it is, and leaves a version still being built invisible but intact.
    let versions_seen = |groups: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = search(index, 0, Some(groups), SearchMode::Hybrid)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    index
        .upsert(vec![point("hr-rules", "v3", &["exec"], 0)])
        .unwrap();
    index
        .upsert(vec![point("hr-rules", "v4", &["exec"], 1)])
        .unwrap();
    index.activate("hr-rules", "v4").unwrap();
    assert_eq!(versions_seen(&["exec"]), vec!["v4"]);
    index.activate("hr-rules", "v3").unwrap();
    assert_eq!(
        versions_seen(&["exec"]),
        vec!["v3"],
        "the later activation wins alone"
    );
    index.activate("hr-rules", "v2").unwrap();
    assert!(
        versions_seen(&["exec"]).is_empty(),
        "v2's points went with the first swap"
    );
    index
        .upsert(
            (0..2)
                .map(|i| point("hr-rules", "v2", &["exec"], i))
                .collect(),
        )
        .unwrap();
    index.activate("hr-rules", "v2").unwrap();
    assert_eq!(versions_seen(&["exec"]), vec!["v2"]);
    assert_eq!(index.count().unwrap(), 5);

    // Points never activated (a crash mid-ingest) are purged; active ones stay.
    index
        .upsert(vec![point("canteen", "c2", &["everyone"], 7)])
        .unwrap();
    assert_eq!(index.count().unwrap(), 6);
    index.purge_inactive().unwrap();
    assert_eq!(index.count().unwrap(), 5);

    index.delete_version("c1").unwrap();
    assert_eq!(
        docs(&search(index, 4, None, SearchMode::Hybrid)),
        vec!["hr-rules"]
    );
    index.delete_document("hr-rules").unwrap();
    assert!(search(index, 0, None, SearchMode::Hybrid).is_empty());
    assert_eq!(index.count().unwrap(), 0);
    index.flush().unwrap();
}

/// Hybrid search fuses two rankings by rank, so two passages can tie exactly (first by cosine
/// and second by terms, or the other way round). A tie must come back in one order — the closer
/// by cosine first — or the same question gets different passages from one call to the next.
fn ties_come_back_in_one_order(index: &dyn VectorIndex) {
    let query = dense(0);
    let mut closer = point("closer", "t1", &["all"], 0);
    closer.dense = query.clone();
    closer.sparse = Sparse {
        indices: vec![7],
        values: vec![1.0],
    };
    let mut wordier = point("wordier", "t2", &["all"], 1);
    wordier.dense = dense(1);
    wordier.sparse = Sparse {
        indices: vec![7, 8],
        values: vec![1.0, 1.0],
    };
    index.upsert(vec![closer, wordier]).unwrap();
    index.activate("closer", "t1").unwrap();
    index.activate("wordier", "t2").unwrap();
    let request = SearchRequest {
        dense: query,
        sparse: Sparse {
            indices: vec![7, 8],
            values: vec![1.0, 1.0],
        },
        groups: None,
        mode: SearchMode::Hybrid,
        limit: 10,
        prefetch: 20,
        rrf_k: 60,
        dense_weight: 1.0,
        sparse_weight: 1.0,
    };
    for _ in 0..30 {
        let hits = index.search(&request).expect("search");
        let order: Vec<&str> = hits
            .iter()
            .map(|h| h.payload.document_id.as_str())
            .collect();
        assert_eq!(order, ["closer", "wordier"]);
        assert_eq!(hits[0].score, hits[1].score, "the fused scores tie");
    }
    index.delete_document("closer").unwrap();
    index.delete_document("wordier").unwrap();
}

#[test]
fn the_embedded_index_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let index = EdgeIndex::open(dir.path(), "contract-test-model", DIM).expect("opens");
    contract(&index);
    ties_come_back_in_one_order(&index);
}

#[test]
fn the_embedded_index_refuses_vectors_of_another_model() {
    let dir = tempfile::tempdir().unwrap();
    drop(EdgeIndex::open(dir.path(), "model-a", DIM).expect("opens"));
    let err = EdgeIndex::open(dir.path(), "model-b", DIM)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("model-a"), "{err}");
}

/// The Qdrant server named by `QDRANT_URL` (and its `QDRANT_API_KEY`), or `None` (the test
/// says it is not run) when there is none.
fn qdrant_server(test: &str) -> Option<(String, Option<String>)> {
    let Ok(url) = std::env::var("QDRANT_URL") else {
        eprintln!("QDRANT_URL is not set: {test} is not run here");
        return None;
    };
    Some((url, std::env::var("QDRANT_API_KEY").ok()))
}

/// A Qdrant server named by `QDRANT_URL` (and `QDRANT_API_KEY`), in a collection of its own.
#[test]
fn a_qdrant_server_keeps_the_contract() {
    let Some((url, key)) = qdrant_server("the remote index contract") else {
        return;
    };
    let collection = format!("regula_contract_{}", uuid::Uuid::new_v4().simple());
    let index = RemoteIndex::connect(&url, key.as_deref(), &collection, "model-a", DIM)
        .expect("connects and creates the collection");
    contract(&index);
    ties_come_back_in_one_order(&index);
    // Reconnecting with the same model finds the collection; another model is refused.
    drop(RemoteIndex::connect(&url, key.as_deref(), &collection, "model-a", DIM).expect("reopens"));
    let err = RemoteIndex::connect(&url, key.as_deref(), &collection, "model-b", DIM)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("model-a"), "{err}");
    index.drop_collection().expect("cleaned up");
}

#[test]
fn the_embedded_index_exports_every_point_with_its_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let index = EdgeIndex::open(dir.path(), "export-model", DIM).expect("opens");
    let points: Vec<ChunkPoint> = (0..7).map(|i| point("doc", "v1", &["hr"], i)).collect();
    index.upsert(points.clone()).unwrap();
    index
        .upsert(vec![point("draft", "d1", &["hr"], 1)])
        .unwrap();
    index.activate("doc", "v1").unwrap();
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let (page, next) = index.export_page(cursor.as_deref(), 3).unwrap();
        assert!(page.len() <= 3);
        seen.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "every point once");
    for original in &points {
        let (found, active) = seen
            .iter()
            .find(|(p, _)| p.payload.chunk_id == original.payload.chunk_id)
            .expect("exported");
        assert!(*active);
        assert_eq!(found.payload, original.payload);
        assert_eq!(found.sparse, original.sparse);
        let cos: f32 = found
            .dense
            .iter()
            .zip(&original.dense)
            .map(|(a, b)| a * b)
            .sum();
        assert!((cos - 1.0).abs() < 1e-4, "dense vector kept: {cos}");
    }
    let (_, draft_active) = seen
        .iter()
        .find(|(p, _)| p.payload.document_id == "draft")
        .expect("the draft too");
    assert!(!draft_active, "never activated");
}

/// Versions of one document swapped again and again while two threads search without pause:
/// every search sees exactly one version of it, never two (old and new at once) and never none.
fn swap_under_concurrent_searches(index: &(dyn VectorIndex + Sync)) {
    const ROUNDS: usize = 40;
    let version = |round: usize| format!("s{round}");
    let points = |round: usize| -> Vec<ChunkPoint> {
        (0..4)
            .map(|i| point("swapped", &version(round), &["everyone"], i))
            .collect()
    };
    index.upsert(points(0)).unwrap();
    index.activate("swapped", &version(0)).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (searches, torn) = std::thread::scope(|scope| {
        let searchers: Vec<_> = (0..2)
            .map(|t| {
                let done = &done;
                scope.spawn(move || {
                    let (mut searches, mut torn) = (0usize, Vec::new());
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let mode = [SearchMode::Hybrid, SearchMode::Dense][t % 2];
                        let mut versions: Vec<String> = search(index, 1, Some(&["everyone"]), mode)
                            .into_iter()
                            .filter(|(doc, _)| doc == "swapped")
                            .map(|(_, v)| v)
                            .collect();
                        versions.sort();
                        versions.dedup();
                        searches += 1;
                        if versions.len() != 1 {
                            torn.push(versions);
                        }
                    }
                    (searches, torn)
                })
            })
            .collect();
        for round in 1..=ROUNDS {
            index.upsert(points(round)).unwrap();
            index.activate("swapped", &version(round)).unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        searchers
            .into_iter()
            .map(|s| s.join().expect("searcher"))
            .fold((0, Vec::new()), |(n, mut all), (s, t)| {
                all.extend(t);
                (n + s, all)
            })
    });
    assert!(
        searches > ROUNDS,
        "the searches ran during the swaps: {searches}"
    );
    assert!(
        torn.is_empty(),
        "{} of {searches} searches saw other than one version: {:?}",
        torn.len(),
        &torn[..torn.len().min(5)]
    );
    let hits = search(index, 1, None, SearchMode::Hybrid);
    assert!(hits.iter().all(|(_, v)| *v == version(ROUNDS)), "{hits:?}");
    assert_eq!(index.count().unwrap(), 4, "every replaced version is gone");
}

#[test]
fn the_embedded_index_swaps_versions_in_one_step_for_concurrent_searches() {
    let dir = tempfile::tempdir().unwrap();
    let index = EdgeIndex::open(dir.path(), "swap-model", DIM).expect("opens");
    swap_under_concurrent_searches(&index);
}

#[test]
fn a_qdrant_server_swaps_versions_in_one_step_for_concurrent_searches() {
    let Some((url, key)) = qdrant_server("the remote swap test") else {
        return;
    };
    let collection = format!("regula_swap_{}", uuid::Uuid::new_v4().simple());
    let index = RemoteIndex::connect(&url, key.as_deref(), &collection, "swap-model", DIM)
        .expect("connects and creates the collection");
    swap_under_concurrent_searches(&index);
    index.drop_collection().expect("cleaned up");
}
