use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use qdrant_edge::external::ordered_float::OrderedFloat;
use qdrant_edge::{
    Condition, Distance, EdgeConfig, EdgeShard, EdgeSparseVectorParams, EdgeVectorParams,
    FieldCondition, Filter, Fusion, Match, Modifier, Payload, PayloadFieldSchema, PayloadOps,
    PayloadSchemaType, PointId, PointInsertOperations, PointOperations, PointStructPersisted,
    Prefetch, QueryEnum, QueryRequest, ScoringQuery, SetPayloadOp, SparseVector, UpdateOperation,
    ValueVariants, VectorInternal, VectorPersisted, VectorStructInternal, VectorStructPersisted,
    WithPayloadInterface, WithVector,
};
use qdrant_edge::{CreateIndex, FieldIndexOperations, NamedQuery, ScrollRequest};

use super::{
    dot, ChunkPayload, ChunkPoint, Hit, IndexError, SearchMode, SearchRequest, VectorIndex,
};

const DENSE: &str = "dense";
const SPARSE: &str = "sparse";
const MODEL_FILE: &str = "regula_embedding_model.json";

fn engine<E: std::fmt::Display>(e: E) -> IndexError {
    IndexError::Engine(e.to_string())
}

/// qdrant-edge in `<data_dir>/index`. Writes (and flushes, whose internal lock must not be
/// contended) are serialised by `write_lock`; searches run concurrently.
pub struct EdgeIndex {
    shard: EdgeShard,
    write_lock: Mutex<()>,
    /// Searches hold it shared; a version swap holds it exclusively across its two updates, so
    /// no search sees both versions of a document, or neither.
    swap: RwLock<()>,
    unoptimized: AtomicUsize,
}

fn keyword(key: &str, value: &str) -> Result<Condition, IndexError> {
    Ok(Condition::Field(FieldCondition::new_match(
        key.parse()
            .map_err(|_| IndexError::Engine(format!("bad field {key}")))?,
        Match::new_value(ValueVariants::String(value.to_string())),
    )))
}

fn flag(key: &str, value: bool) -> Result<Condition, IndexError> {
    Ok(Condition::Field(FieldCondition::new_match(
        key.parse()
            .map_err(|_| IndexError::Engine(format!("bad field {key}")))?,
        Match::new_value(ValueVariants::Bool(value)),
    )))
}

impl EdgeIndex {
    /// Open (or create) the index; refuses an index built by another embedding model.
    pub fn open(dir: &Path, model_id: &str, dimension: usize) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(engine)?;
        let marker = dir.join(MODEL_FILE);
        if let Ok(text) = std::fs::read_to_string(&marker) {
            let found: serde_json::Value = serde_json::from_str(&text).map_err(engine)?;
            let found_id = found["model_id"].as_str().unwrap_or_default().to_string();
            if found_id != model_id || found["dimension"].as_u64() != Some(dimension as u64) {
                return Err(IndexError::ModelMismatch {
                    path: dir.display().to_string(),
                    found: format!("{found_id} ({} dims)", found["dimension"]),
                    configured: format!("{model_id} ({dimension} dims)"),
                });
            }
        }
        let config = EdgeConfig::builder()
            .vector(
                DENSE,
                EdgeVectorParams::builder(dimension, Distance::Dot).build(),
            )
            .sparse_vector(
                SPARSE,
                EdgeSparseVectorParams::builder()
                    .modifier(Modifier::Idf)
                    .build(),
            )
            .build();
        let fresh = !dir.join("segments").exists()
            || std::fs::read_dir(dir.join("segments"))
                .map(|mut d| d.next().is_none())
                .unwrap_or(true);
        let shard = if fresh {
            EdgeShard::new(dir, config).map_err(engine)?
        } else {
            EdgeShard::load(dir, Some(config)).map_err(engine)?
        };
        let index = Self {
            shard,
            write_lock: Mutex::new(()),
            swap: RwLock::new(()),
            unoptimized: AtomicUsize::new(0),
        };
        if fresh {
            for (field, kind) in [
                ("document_id", PayloadSchemaType::Keyword),
                ("version_id", PayloadSchemaType::Keyword),
                ("groups", PayloadSchemaType::Keyword),
                ("active", PayloadSchemaType::Bool),
            ] {
                index.update(UpdateOperation::FieldIndexOperation(
                    FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name: field
                            .parse()
                            .map_err(|_| IndexError::Engine(field.into()))?,
                        field_schema: Some(PayloadFieldSchema::FieldType(kind)),
                    }),
                ))?;
            }
            let marker_json = serde_json::json!({"model_id": model_id, "dimension": dimension});
            std::fs::write(&marker, marker_json.to_string()).map_err(engine)?;
        }
        Ok(index)
    }

    fn update(&self, op: UpdateOperation) -> Result<(), IndexError> {
        let _guard = self
            .write_lock
            .lock()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        self.shard.update(op).map_err(engine)
    }

    fn delete_by(&self, filter: Filter) -> Result<(), IndexError> {
        self.update(UpdateOperation::PointOperation(
            PointOperations::DeletePointsByFilter(filter),
        ))
    }

    fn visible_filter(groups: &Option<Vec<String>>) -> Result<Filter, IndexError> {
        let mut filter = Filter::new_must(flag("active", true)?);
        if let Some(groups) = groups {
            let should = groups
                .iter()
                .map(|g| keyword("groups", g))
                .collect::<Result<Vec<_>, _>>()?;
            // No groups at all means nothing is readable: an empty `should` would match all.
            let inner = if should.is_empty() {
                Filter::new_must(keyword("groups", "\u{0}no-group")?)
            } else {
                Filter {
                    should: Some(should),
                    min_should: None,
                    must: None,
                    must_not: None,
                }
            };
            filter
                .must
                .get_or_insert_with(Vec::new)
                .push(Condition::Filter(inner));
        }
        Ok(filter)
    }
}

impl EdgeIndex {
    /// One page of the stored points (payload and both vectors), for copying the index elsewhere
    /// (`regula migrate`); pass the returned cursor to read the next page, `None` at the end.
    /// Each point's `active` flag is returned beside it.
    #[allow(clippy::type_complexity)]
    pub fn export_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(ChunkPoint, bool)>, Option<String>), IndexError> {
        let (records, next) = self
            .shard
            .scroll(ScrollRequest {
                offset: cursor.map(point_id).transpose()?,
                limit: Some(limit.max(1)),
                filter: None,
                with_payload: Some(WithPayloadInterface::Bool(true)),
                with_vector: WithVector::Bool(true),
                order_by: None,
            })
            .map_err(engine)?;
        let mut points = Vec::with_capacity(records.len());
        for r in records {
            let Some(payload) = r.payload else { continue };
            let active = payload.0.get("active").and_then(|v| v.as_bool()) == Some(true);
            let payload: ChunkPayload =
                serde_json::from_value(serde_json::Value::Object(payload.0)).map_err(engine)?;
            let (mut dense, mut sparse) = (Vec::new(), crate::lexical::Sparse::default());
            if let Some(VectorStructInternal::Named(v)) = r.vector {
                for (name, vector) in v {
                    match (name.as_str(), vector) {
                        (DENSE, VectorInternal::Dense(d)) => dense = d,
                        (SPARSE, VectorInternal::Sparse(s)) => {
                            sparse = crate::lexical::Sparse {
                                indices: s.indices,
                                values: s.values,
                            }
                        }
                        _ => {}
                    }
                }
            }
            points.push((
                ChunkPoint {
                    payload,
                    dense,
                    sparse,
                },
                active,
            ));
        }
        Ok((points, next.map(|id| id.to_string())))
    }
}

fn point_id(chunk_id: &str) -> Result<PointId, IndexError> {
    uuid::Uuid::parse_str(chunk_id)
        .map(PointId::Uuid)
        .map_err(|_| IndexError::Engine(format!("chunk id {chunk_id} is not a UUID")))
}

fn to_payload(p: &ChunkPayload, active: bool) -> Result<Payload, IndexError> {
    let mut value = serde_json::to_value(p).map_err(engine)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("active".into(), serde_json::Value::Bool(active));
        Ok(Payload(map.clone()))
    } else {
        Err(IndexError::Engine("payload is not an object".into()))
    }
}

fn sparse_vector(s: &crate::lexical::Sparse) -> SparseVector {
    SparseVector {
        indices: s.indices.clone(),
        values: s.values.clone(),
    }
}

impl VectorIndex for EdgeIndex {
    fn upsert(&self, points: Vec<ChunkPoint>) -> Result<(), IndexError> {
        if points.is_empty() {
            return Ok(());
        }
        self.unoptimized.fetch_add(points.len(), Ordering::Relaxed);
        let mut list = Vec::with_capacity(points.len());
        for p in points {
            let mut vectors = HashMap::new();
            vectors.insert(DENSE.to_string(), VectorPersisted::Dense(p.dense));
            vectors.insert(
                SPARSE.to_string(),
                VectorPersisted::Sparse(sparse_vector(&p.sparse)),
            );
            list.push(PointStructPersisted {
                id: point_id(&p.payload.chunk_id)?,
                vector: VectorStructPersisted::Named(vectors),
                payload: Some(to_payload(&p.payload, false)?),
            });
        }
        self.update(UpdateOperation::PointOperation(
            PointOperations::UpsertPoints(PointInsertOperations::PointsList(list)),
        ))
    }

    fn activate(&self, document_id: &str, version_id: &str) -> Result<(), IndexError> {
        let mut map = serde_json::Map::new();
        map.insert("active".into(), serde_json::Value::Bool(true));
        let show = UpdateOperation::PayloadOperation(PayloadOps::SetPayload(SetPayloadOp {
            payload: Payload(map),
            points: None,
            filter: Some(Filter::new_must(keyword("version_id", version_id)?)),
            key: None,
        }));
        // Every other visible version of the document goes, whichever it is (two ingests of one
        // file may have raced); versions still being built stay invisible and untouched.
        let hide = Some(UpdateOperation::PointOperation(
            PointOperations::DeletePointsByFilter(Filter {
                should: None,
                min_should: None,
                must: Some(vec![
                    keyword("document_id", document_id)?,
                    flag("active", true)?,
                ]),
                must_not: Some(vec![keyword("version_id", version_id)?]),
            }),
        ));
        // The write lock first (it may wait for an index build); only then stop searches, for
        // the two quick updates.
        let _write = self
            .write_lock
            .lock()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        let _swap = self
            .swap
            .write()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        self.shard.update(show).map_err(engine)?;
        if let Some(hide) = hide {
            self.shard.update(hide).map_err(engine)?;
        }
        Ok(())
    }

    fn set_groups(&self, version_id: &str, groups: &[String]) -> Result<(), IndexError> {
        let mut map = serde_json::Map::new();
        map.insert("groups".into(), serde_json::json!(groups));
        // Under the swap lock, so no search sees a version half regrouped.
        let _write = self
            .write_lock
            .lock()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        let _swap = self
            .swap
            .write()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        self.shard
            .update(UpdateOperation::PayloadOperation(PayloadOps::SetPayload(
                SetPayloadOp {
                    payload: Payload(map),
                    points: None,
                    filter: Some(Filter::new_must(keyword("version_id", version_id)?)),
                    key: None,
                },
            )))
            .map_err(engine)
    }

    fn delete_version(&self, version_id: &str) -> Result<(), IndexError> {
        self.delete_by(Filter::new_must(keyword("version_id", version_id)?))
    }

    fn delete_document(&self, document_id: &str) -> Result<(), IndexError> {
        self.delete_by(Filter::new_must(keyword("document_id", document_id)?))
    }

    fn purge_inactive(&self) -> Result<(), IndexError> {
        self.delete_by(Filter::new_must(flag("active", false)?))
    }

    fn search(&self, r: &SearchRequest) -> Result<Vec<Hit>, IndexError> {
        let filter = Self::visible_filter(&r.groups)?;
        let dense_query = || {
            ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::new(
                VectorInternal::Dense(r.dense.clone()),
                DENSE,
            )))
        };
        let sparse_query = || {
            ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::new(
                VectorInternal::Sparse(sparse_vector(&r.sparse)),
                SPARSE,
            )))
        };
        let prefetch = |query: ScoringQuery| Prefetch {
            prefetches: vec![],
            query: Some(query),
            limit: r.prefetch.max(r.limit),
            params: None,
            filter: Some(filter.clone()),
            score_threshold: None,
        };
        let (prefetches, query, top_filter) = match r.mode {
            SearchMode::Dense => (vec![], dense_query(), Some(filter.clone())),
            SearchMode::Sparse => (vec![], sparse_query(), Some(filter.clone())),
            SearchMode::Hybrid => {
                let mut prefetches = vec![prefetch(dense_query())];
                if !r.sparse.indices.is_empty() {
                    prefetches.push(prefetch(sparse_query()));
                }
                let weights = (prefetches.len() == 2)
                    .then(|| vec![OrderedFloat(r.dense_weight), OrderedFloat(r.sparse_weight)]);
                (
                    prefetches,
                    ScoringQuery::Fusion(Fusion::Rrf {
                        k: r.rrf_k.max(1),
                        weights,
                    }),
                    None,
                )
            }
        };
        if r.mode == SearchMode::Sparse && r.sparse.indices.is_empty() {
            return Ok(vec![]);
        }
        let request = QueryRequest {
            prefetches,
            query: Some(query),
            filter: top_filter,
            score_threshold: None,
            limit: r.limit + super::TIE_ROOM,
            offset: 0,
            params: None,
            with_vector: WithVector::Selector(vec![DENSE.to_string()]),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let points = {
            let _swap = self
                .swap
                .read()
                .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
            self.shard.query(request).map_err(engine)?
        };
        let mut hits = Vec::with_capacity(points.len());
        for p in points {
            let Some(payload) = p.payload else { continue };
            let payload: ChunkPayload =
                serde_json::from_value(serde_json::Value::Object(payload.0)).map_err(engine)?;
            let dense_similarity = match &p.vector {
                Some(VectorStructInternal::Named(v)) => match v.get(DENSE) {
                    Some(VectorInternal::Dense(d)) => dot(d, &r.dense),
                    _ => 0.0,
                },
                _ => 0.0,
            };
            hits.push(Hit {
                payload,
                score: p.score,
                dense_similarity,
            });
        }
        Ok(super::settle_ties(hits, r.limit))
    }

    fn count(&self) -> Result<usize, IndexError> {
        Ok(self.shard.info().points_count)
    }

    fn optimize(&self) -> Result<(), IndexError> {
        let _guard = self
            .write_lock
            .lock()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        let pending = self.unoptimized.load(Ordering::Relaxed);
        self.shard.optimize().map_err(engine)?;
        self.unoptimized.fetch_sub(pending, Ordering::Relaxed);
        Ok(())
    }

    fn unoptimized(&self) -> usize {
        self.unoptimized.load(Ordering::Relaxed)
    }

    fn flush(&self) -> Result<(), IndexError> {
        let _guard = self
            .write_lock
            .lock()
            .map_err(|_| IndexError::Engine("lock poisoned".into()))?;
        self.shard.flush();
        Ok(())
    }
}
