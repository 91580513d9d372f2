//! A Qdrant server or cluster over gRPC (`qdrant-client`), for deployments that outgrow one
//! machine: the same named vectors, payload indexes, group filter and fusion as the embedded
//! index, in one collection shared by every replica.
//!
//! `VectorIndex` is synchronous (the embedded engine is), and its callers run it on blocking
//! threads. The client is async, so this index owns a small runtime of its own and hands each
//! call to it, waiting on a channel: safe from any thread, including a runtime's.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use qdrant_client::qdrant::points_selector::PointsSelectorOneOf;
use qdrant_client::qdrant::points_update_operation::{Operation, SetPayload};
use qdrant_client::qdrant::r#match::MatchValue;
use qdrant_client::qdrant::vector_output::Vector as VectorData;
use qdrant_client::qdrant::vectors_config::Config as VectorsConfigKind;
use qdrant_client::qdrant::vectors_output::VectorsOptions;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeletePointsBuilder, Distance, FieldType, Filter, Modifier, NamedVectors, PointStruct,
    PointsSelector, PointsUpdateOperation, PrefetchQueryBuilder, Query, QueryPointsBuilder,
    RrfBuilder, ScoredPoint, SparseVectorParamsBuilder, SparseVectorsConfigBuilder,
    UpdateBatchPointsBuilder, UpsertPointsBuilder, Value, Vector, VectorInput, VectorParamsBuilder,
    VectorsConfigBuilder, VectorsSelector,
};
use qdrant_client::{Payload, Qdrant, QdrantError};

use super::{ChunkPayload, ChunkPoint, Hit, IndexError, SearchMode, SearchRequest, VectorIndex};

const DENSE: &str = "dense";
const SPARSE: &str = "sparse";
/// How long a replaced version stays beside its successor before it is deleted: far longer than
/// any search takes, so no search can read the old version's segment after the delete and the
/// new version's before the show.
const SWAP_GRACE: Duration = Duration::from_millis(500);
/// Payload key: when the point's version was activated (see `one_version_per_document`).
const GENERATION: &str = "generation";
const MODEL_KEY: &str = "regula_embedding_model";
const DIMENSION_KEY: &str = "regula_dimension";
/// Attempts per call; transient failures (server restarting, a leader election, overload) are
/// retried with a doubling delay from `BACKOFF`, at most `MAX_BACKOFF`: about 16 s in all, which
/// rides out a server restart (measured: a 5 s outage mid-ingest failed files at 5 attempts
/// with no cap, 3 s of waiting).
const ATTEMPTS: u32 = 8;
const BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Points per upsert request (a request stays well under gRPC's message limit).
const UPSERT_BATCH: usize = 256;

fn engine<E: std::fmt::Display>(e: E) -> IndexError {
    IndexError::Engine(format!("qdrant: {e}"))
}

/// Worth another try: the server or the network, not the request.
fn transient(e: &QdrantError) -> bool {
    use tonic::Code;
    match e {
        QdrantError::ResponseError { status } => match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::Unknown => true,
            // The client's own deadline ("Timeout expired"): a server busy optimizing on few
            // cores answered a 256-point upsert after more than 30 s (`bench search`, 100k
            // points). Every call here is idempotent (upserts by id, updates by filter).
            Code::Cancelled => true,
            // qdrant-client reports a refused connection (the server is down or restarting) as
            // `Internal` "Failed to connect to …", not as `Unavailable`.
            Code::Internal => status.message().starts_with("Failed to connect"),
            _ => false,
        },
        QdrantError::ResourceExhaustedError { .. } => true,
        _ => false,
    }
}

pub struct RemoteIndex {
    client: Qdrant,
    collection: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RemoteIndex {
    /// Connect, create the collection (vectors, sparse IDF, payload indexes) if it is missing,
    /// and check that an existing one has the same shape and was built by the same model.
    pub fn connect(
        url: &str,
        api_key: Option<&str>,
        collection: &str,
        model_id: &str,
        dimension: usize,
    ) -> Result<Self, IndexError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("regula-qdrant")
            .enable_all()
            .build()
            .map_err(engine)?;
        let mut config = Qdrant::from_url(url)
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .skip_compatibility_check();
        if let Some(key) = api_key {
            config = config.api_key(key.to_string());
        }
        let client = config.build().map_err(engine)?;
        let index = Self {
            client,
            collection: collection.to_string(),
            runtime: Some(runtime),
        };
        index.prepare(model_id, dimension)?;
        Ok(index)
    }

    /// Run `call` on this index's runtime with retries, and wait for it on this thread.
    fn call<T, F, Fut>(&self, call: F) -> Result<T, IndexError>
    where
        T: Send + 'static,
        F: Fn(Qdrant, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, QdrantError>> + Send,
    {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| IndexError::Engine("qdrant: the index is closed".into()))?;
        let (client, collection) = (self.client.clone(), self.collection.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let mut delay = BACKOFF;
            let mut attempt = 1;
            let result = loop {
                match call(client.clone(), collection.clone()).await {
                    Err(e) if attempt < ATTEMPTS && transient(&e) => {
                        tracing::warn!(error = %e, attempt, "qdrant call failed; retrying");
                        let wait = match &e {
                            QdrantError::ResourceExhaustedError {
                                retry_after_seconds,
                                ..
                            } => Duration::from_secs(*retry_after_seconds).max(delay),
                            _ => delay,
                        };
                        tokio::time::sleep(wait).await;
                        delay = (delay * 2).min(MAX_BACKOFF);
                        attempt += 1;
                    }
                    other => break other,
                }
            };
            let _ = tx.send(result);
        });
        rx.recv()
            .map_err(|_| IndexError::Engine("qdrant: the call was dropped".into()))?
            .map_err(engine)
    }

    fn prepare(&self, model_id: &str, dimension: usize) -> Result<(), IndexError> {
        let exists = self.call(|c, name| async move { c.collection_exists(name).await })?;
        if !exists {
            let metadata: HashMap<String, serde_json::Value> = HashMap::from([
                (MODEL_KEY.to_string(), serde_json::json!(model_id)),
                (DIMENSION_KEY.to_string(), serde_json::json!(dimension)),
            ]);
            let created = self.call(move |c, name| {
                let mut vectors = VectorsConfigBuilder::default();
                vectors.add_named_vector_params(
                    DENSE,
                    VectorParamsBuilder::new(dimension as u64, Distance::Dot),
                );
                let mut sparse = SparseVectorsConfigBuilder::default();
                sparse.add_named_vector_params(
                    SPARSE,
                    SparseVectorParamsBuilder::default().modifier(Modifier::Idf as i32),
                );
                let request = CreateCollectionBuilder::new(name)
                    .vectors_config(vectors)
                    .sparse_vectors_config(sparse)
                    .metadata(metadata.clone());
                async move { c.create_collection(request).await }
            });
            // Another replica may have created it a moment ago: check the shape either way.
            if let Err(e) = created {
                tracing::info!(error = %e, "creating the qdrant collection failed; checking it");
            }
        }
        self.check_schema(model_id, dimension)?;
        for (field, kind) in [
            ("document_id", FieldType::Keyword),
            ("version_id", FieldType::Keyword),
            ("groups", FieldType::Keyword),
            ("active", FieldType::Bool),
        ] {
            // Idempotent on the server: an existing index of the same type is kept.
            self.call(move |c, name| async move {
                c.create_field_index(
                    CreateFieldIndexCollectionBuilder::new(name, field, kind).wait(true),
                )
                .await
            })?;
        }
        Ok(())
    }

    /// The collection must have Regula's named vectors and have been built by this model.
    fn check_schema(&self, model_id: &str, dimension: usize) -> Result<(), IndexError> {
        let info = self.call(|c, name| async move { c.collection_info(name).await })?;
        let config = info
            .result
            .and_then(|r| r.config)
            .ok_or_else(|| engine("the collection has no configuration"))?;
        let found_model = config
            .metadata
            .get(MODEL_KEY)
            .and_then(|v| v.as_str().map(|s| s.to_string()));
        let params = config
            .params
            .ok_or_else(|| engine("the collection has no parameters"))?;
        let dense = match params.vectors_config.and_then(|v| v.config) {
            Some(VectorsConfigKind::ParamsMap(map)) => map.map.get(DENSE).cloned(),
            _ => None,
        };
        let found_dimension = dense.as_ref().map(|d| d.size as usize);
        let sparse_idf = params
            .sparse_vectors_config
            .and_then(|s| s.map.get(SPARSE).cloned())
            .map(|s| s.modifier == Some(Modifier::Idf as i32));
        if found_dimension.is_none() || sparse_idf != Some(true) {
            return Err(IndexError::Engine(format!(
                "qdrant collection `{}` exists but lacks Regula's vectors (`{DENSE}` dense, `{SPARSE}` sparse with IDF); \
                 point `index.collection` at another name",
                self.collection
            )));
        }
        if found_model.as_deref() != Some(model_id) || found_dimension != Some(dimension) {
            return Err(IndexError::ModelMismatch {
                path: format!("qdrant collection {}", self.collection),
                found: format!(
                    "{} ({} dims)",
                    found_model.unwrap_or_else(|| "an unknown model".into()),
                    found_dimension.unwrap_or(0)
                ),
                configured: format!("{model_id} ({dimension} dims)"),
            });
        }
        Ok(())
    }

    fn delete_where(&self, filter: Filter) -> Result<(), IndexError> {
        self.call(move |c, name| {
            let request = DeletePointsBuilder::new(name)
                .points(filter.clone())
                .wait(true);
            async move { c.delete_points(request).await }
        })
        .map(|_| ())
    }

    /// Wait until the server's optimizers are idle (status green on two polls a second apart:
    /// it turns yellow only once an optimization starts), so that latency measured afterwards is
    /// the indexed search's, not a scan of segments still being built (`regula bench search`).
    pub fn wait_until_indexed(&self, timeout: Duration) -> Result<(), IndexError> {
        let started = std::time::Instant::now();
        let mut green_before = false;
        loop {
            let info = self
                .call(|c, name| async move { c.collection_info(name).await })?
                .result;
            let green = info
                .as_ref()
                .is_some_and(|i| i.status == qdrant_client::qdrant::CollectionStatus::Green as i32);
            if green && green_before {
                return Ok(());
            }
            green_before = green;
            if started.elapsed() > timeout {
                return Err(IndexError::Engine(format!(
                    "qdrant: the collection was not indexed after {timeout:?}"
                )));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Drop the whole collection (tests, and `regula migrate --replace`).
    pub fn drop_collection(&self) -> Result<(), IndexError> {
        self.call(|c, name| async move { c.delete_collection(name).await })
            .map(|_| ())
    }
}

impl Drop for RemoteIndex {
    fn drop(&mut self) {
        // Dropping a runtime blocks; this may run on another runtime's thread.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// An exact keyword match (a plain string with a space would become a full-text match).
fn is(key: &str, value: &str) -> Condition {
    Condition::matches(key, MatchValue::Keyword(value.to_string()))
}

fn by(filter: Filter) -> Option<PointsSelector> {
    Some(PointsSelector {
        points_selector_one_of: Some(PointsSelectorOneOf::Filter(filter)),
    })
}

fn payload_of(p: &ChunkPayload) -> Result<Payload, IndexError> {
    let mut value = serde_json::to_value(p).map_err(engine)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("active".into(), serde_json::Value::Bool(false));
    }
    Payload::try_from(value).map_err(engine)
}

/// A hit and the generation its version was activated in (0: before generations existed).
fn hit_of(p: ScoredPoint, query: &[f32]) -> Result<(Hit, i64), IndexError> {
    let dense_similarity = match p.vectors.and_then(|v| v.vectors_options) {
        Some(VectorsOptions::Vectors(named)) => match named.vectors.get(DENSE) {
            Some(v) => match &v.vector {
                Some(VectorData::Dense(d)) => super::dot(&d.data, query),
                _ => 0.0,
            },
            None => 0.0,
        },
        _ => 0.0,
    };
    let mut json: serde_json::Map<String, serde_json::Value> = p
        .payload
        .into_iter()
        .map(|(k, v): (String, Value)| (k, serde_json::Value::from(v)))
        .collect();
    let generation = json
        .remove(GENERATION)
        .and_then(|g| g.as_i64())
        .unwrap_or(0);
    let payload: ChunkPayload =
        serde_json::from_value(serde_json::Value::Object(json)).map_err(engine)?;
    Ok((
        Hit {
            payload,
            score: p.score,
            dense_similarity,
        },
        generation,
    ))
}

/// The server applies an activation's two steps (show the new version, delete the old) one
/// after the other, and a search running between them would read both versions of a document.
/// Of each document, only the passages of the latest activation found are kept, so a search
/// sees one version whatever moment it reads (the old one until the new is visible).
fn one_version_per_document(hits: Vec<(Hit, i64)>) -> Vec<Hit> {
    let mut latest: HashMap<String, i64> = HashMap::new();
    for (hit, generation) in &hits {
        let entry = latest
            .entry(hit.payload.document_id.clone())
            .or_insert(*generation);
        *entry = (*entry).max(*generation);
    }
    hits.into_iter()
        .filter(|(hit, generation)| latest.get(&hit.payload.document_id) == Some(generation))
        .map(|(hit, _)| hit)
        .collect()
}

/// A number that grows with every activation: nanoseconds since the epoch. Replicas' clocks
/// may differ by a little; a skew only decides which version a search of that instant reads,
/// never that it reads two.
fn generation_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl VectorIndex for RemoteIndex {
    fn upsert(&self, points: Vec<ChunkPoint>) -> Result<(), IndexError> {
        let mut structs = Vec::with_capacity(points.len());
        for p in points {
            let vectors = NamedVectors::default()
                .add_vector(DENSE, Vector::new_dense(p.dense))
                .add_vector(
                    SPARSE,
                    Vector::new_sparse(p.sparse.indices.clone(), p.sparse.values.clone()),
                );
            structs.push(PointStruct::new(
                p.payload.chunk_id.clone(),
                vectors,
                payload_of(&p.payload)?,
            ));
        }
        for batch in structs.chunks(UPSERT_BATCH) {
            let batch = batch.to_vec();
            self.call(move |c, name| {
                let request = UpsertPointsBuilder::new(name, batch.clone()).wait(true);
                async move { c.upsert_points(request).await }
            })?;
        }
        Ok(())
    }

    /// Show the new version, stamped with this activation's generation; then, after
    /// `SWAP_GRACE`, delete the document's other visible versions. The server reads segments
    /// one after another, not as one snapshot, so a search running while both steps went in one
    /// batch could miss both versions (2 of 224 searches did). Until the delete, a search that
    /// finds both keeps only the newest (`one_version_per_document`); a document with no other
    /// visible version (a first ingest) waits for nothing.
    fn activate(&self, document_id: &str, version_id: &str) -> Result<(), IndexError> {
        let show = PointsUpdateOperation {
            operation: Some(Operation::SetPayload(SetPayload {
                payload: HashMap::from([
                    ("active".to_string(), Value::from(true)),
                    (GENERATION.to_string(), Value::from(generation_now())),
                ]),
                points_selector: by(Filter::must([is("version_id", version_id)])),
                ..Default::default()
            })),
        };
        self.call(move |c, name| {
            let request = UpdateBatchPointsBuilder::new(name, vec![show.clone()]).wait(true);
            async move { c.update_points_batch(request).await }
        })?;
        let others = Filter {
            must: vec![
                is("document_id", document_id),
                Condition::matches("active", true),
            ],
            must_not: vec![is("version_id", version_id)],
            ..Default::default()
        };
        let counted = others.clone();
        let visible = self
            .call(move |c, name| {
                let request = CountPointsBuilder::new(name)
                    .filter(counted.clone())
                    .exact(true);
                async move { c.count(request).await }
            })?
            .result
            .map_or(0, |r| r.count);
        if visible == 0 {
            return Ok(());
        }
        std::thread::sleep(SWAP_GRACE);
        self.call(move |c, name| {
            let request = DeletePointsBuilder::new(name)
                .points(others.clone())
                .wait(true);
            async move { c.delete_points(request).await }
        })
        .map(|_| ())
    }

    fn set_groups(&self, version_id: &str, groups: &[String]) -> Result<(), IndexError> {
        let groups: Vec<serde_json::Value> = groups.iter().map(|g| serde_json::json!(g)).collect();
        let value = Value::from(serde_json::Value::Array(groups));
        let selector = by(Filter::must([is("version_id", version_id)]));
        self.call(move |c, name| {
            let op = PointsUpdateOperation {
                operation: Some(Operation::SetPayload(SetPayload {
                    payload: HashMap::from([("groups".to_string(), value.clone())]),
                    points_selector: selector.clone(),
                    ..Default::default()
                })),
            };
            let request = UpdateBatchPointsBuilder::new(name, vec![op]).wait(true);
            async move { c.update_points_batch(request).await }
        })
        .map(|_| ())
    }

    fn delete_version(&self, version_id: &str) -> Result<(), IndexError> {
        self.delete_where(Filter::must([is("version_id", version_id)]))
    }

    fn delete_document(&self, document_id: &str) -> Result<(), IndexError> {
        self.delete_where(Filter::must([is("document_id", document_id)]))
    }

    fn purge_inactive(&self) -> Result<(), IndexError> {
        self.delete_where(Filter::must([Condition::matches("active", false)]))
    }

    fn search(&self, r: &SearchRequest) -> Result<Vec<Hit>, IndexError> {
        let mut filter = Filter::must([Condition::matches("active", true)]);
        if let Some(groups) = &r.groups {
            // No groups at all reads nothing (an empty `should` would match everything).
            if groups.is_empty() {
                return Ok(vec![]);
            }
            filter
                .must
                .push(Condition::matches("groups", groups.clone()));
        }
        if r.mode == SearchMode::Sparse && r.sparse.indices.is_empty() {
            return Ok(vec![]);
        }
        let dense = VectorInput::new_dense(r.dense.clone());
        let sparse = VectorInput::new_sparse(r.sparse.indices.clone(), r.sparse.values.clone());
        let limit = (r.limit + super::TIE_ROOM) as u64;
        let prefetch_limit = r.prefetch.max(r.limit) as u64;
        let mut request = QueryPointsBuilder::new(self.collection.clone())
            .limit(limit)
            .with_payload(true)
            .with_vectors(VectorsSelector {
                names: vec![DENSE.to_string()],
            });
        request = match r.mode {
            SearchMode::Dense => request
                .query(Query::new_nearest(dense))
                .using(DENSE)
                .filter(filter),
            SearchMode::Sparse => request
                .query(Query::new_nearest(sparse))
                .using(SPARSE)
                .filter(filter),
            SearchMode::Hybrid => {
                let mut prefetches = vec![PrefetchQueryBuilder::default()
                    .query(Query::new_nearest(dense))
                    .using(DENSE)
                    .filter(filter.clone())
                    .limit(prefetch_limit)
                    .build()];
                let mut rrf = RrfBuilder::with_k(r.rrf_k.max(1) as u32);
                if !r.sparse.indices.is_empty() {
                    prefetches.push(
                        PrefetchQueryBuilder::default()
                            .query(Query::new_nearest(sparse))
                            .using(SPARSE)
                            .filter(filter)
                            .limit(prefetch_limit)
                            .build(),
                    );
                    rrf = rrf.weights(vec![r.dense_weight, r.sparse_weight]);
                }
                request.prefetch(prefetches).query(Query::new_rrf(rrf))
            }
        };
        let request = request.build();
        let response = self.call(move |c, _| {
            let request = request.clone();
            async move { c.query(request).await }
        })?;
        let hits = response
            .result
            .into_iter()
            .map(|p| hit_of(p, &r.dense))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(super::settle_ties(one_version_per_document(hits), r.limit))
    }

    fn count(&self) -> Result<usize, IndexError> {
        let response = self.call(|c, name| async move {
            c.count(CountPointsBuilder::new(name).exact(true)).await
        })?;
        Ok(response.result.map(|r| r.count as usize).unwrap_or(0))
    }

    /// The server builds its indexes itself as points arrive.
    fn optimize(&self) -> Result<(), IndexError> {
        Ok(())
    }

    fn unoptimized(&self) -> usize {
        0
    }

    /// Writes are acknowledged after the server's WAL has them (`wait`).
    fn flush(&self) -> Result<(), IndexError> {
        Ok(())
    }
}
