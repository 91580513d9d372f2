//! The answer pipeline: retrieve -> decide (answer or abstain) -> generate (streamed) or quote the
//! answering sentences -> verify citations -> answer, each stage a function returning a value
//! (`Rag::ask`).

mod asked_order;
pub mod citations;
mod coverage_order;
pub mod decision;
pub mod diversify;
pub mod followup;
mod generate;
mod hierarchy;
pub mod injection;
mod progress;
pub mod prompt;
pub mod quantity;
pub mod sentences;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::config::{LlmReads, LlmSettings, RetrievalSettings, Settings};
use crate::embed::Reranker;
use crate::embed::{EmbedError, Embedder};
use crate::index::{Hit, IndexError, SearchMode, SearchRequest, VectorIndex};
use crate::lexical::Analyzer;
use crate::llm::{GenOptions, Generator, LlmError};
use decision::{DecisionModel, Features};
use diversify::{addenda_last, diversify};
use generate::Generation;
use progress::{Clock, Progress};
use prompt::{Lang, Prompts};

#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the question is {bytes} bytes; the limit is {limit}")]
    QuestionTooLong { bytes: usize, limit: usize },
    #[error("the answer service is busy; retry shortly")]
    Busy,
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The client went away while the answer streamed (its sequence is freed).
    #[error("the client went away")]
    Cancelled,
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Citation {
    pub n: usize,
    pub document_id: String,
    pub title: String,
    pub source: String,
    pub section: String,
    pub page: Option<u32>,
    pub chunk_id: String,
    pub quote: String,
    pub score: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct NearestDocument {
    pub document_id: String,
    pub title: String,
    pub source: String,
    pub section: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, utoipa::ToSchema)]
pub struct Timings {
    pub retrieve: u64,
    pub first_token: Option<u64>,
    pub total: u64,
    /// Tokens the model generated for this answer (0 when none was asked).
    #[serde(default)]
    pub generated_tokens: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Answer {
    pub answer: String,
    pub abstained: bool,
    pub citations: Vec<Citation>,
    /// For an abstained answer, the documents closest to the question.
    pub nearest: Vec<NearestDocument>,
    pub mode: AnswerMode,
    pub conversation_id: Option<String>,
    /// The stored answer's id (for feedback); set when the answer is recorded.
    #[serde(default)]
    pub message_id: Option<String>,
    pub timings_ms: Timings,
}

/// How the answer text was made.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// Written by the model, every sentence verified against its cited passage.
    Generated,
    /// The passages quoted verbatim with their citations.
    Extractive,
    /// The documents do not answer the question.
    Abstained,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SearchResult {
    pub chunk_id: String,
    pub document_id: String,
    pub title: String,
    pub source: String,
    pub section: String,
    pub page: Option<u32>,
    pub text: String,
    pub score: f32,
}

impl From<&Hit> for SearchResult {
    fn from(h: &Hit) -> Self {
        Self {
            chunk_id: h.payload.chunk_id.clone(),
            document_id: h.payload.document_id.clone(),
            title: h.payload.title.clone(),
            source: h.payload.source.clone(),
            section: h.payload.section.clone(),
            page: h.payload.page,
            text: h.payload.text.clone(),
            score: h.score,
        }
    }
}

/// Streamed while answering (SSE events of the same names).
#[derive(Debug, Clone)]
pub enum AskEvent {
    Passages(Vec<SearchResult>),
    Token(String),
    Citations(Vec<Citation>),
}

#[derive(Debug, Clone)]
pub struct AskRequest {
    pub question: String,
    /// Groups whose documents the asker may read; `None` for unrestricted (local CLI).
    pub groups: Option<Vec<String>>,
    /// Earlier questions of the conversation, oldest first.
    pub history: Vec<String>,
}

#[derive(Clone)]
pub struct Rag {
    pub embedder: Arc<dyn Embedder>,
    pub index: Arc<dyn VectorIndex>,
    pub generator: Option<Arc<dyn Generator>>,
    pub prompts: Prompts,
    pub retrieval: RetrievalSettings,
    pub llm: LlmSettings,
    pub max_question_bytes: usize,
    /// The embedding model understands Korean (see `embed.multilingual`).
    pub multilingual_dense: bool,
    /// Re-orders the fused candidates when a cross-encoder is configured.
    pub reranker: Option<Arc<dyn Reranker>>,
    /// Answer or abstain (the built-in model unless `retrieval.decision_model` names another).
    pub decision: DecisionModel,
    /// Question and passage terms; reads Korean questions with the tagger when one is loaded.
    pub analyzer: Analyzer,
}

/// What retrieval found for a question (stage 1 of `Rag::ask`).
struct Retrieved {
    /// The question as answered: a follow-up in its standalone form.
    question: String,
    lang: Lang,
    hits: Vec<Hit>,
    features: Features,
    /// The question's embedding (empty when the model does not read its language).
    vector: Vec<f32>,
    /// How close in meaning the first passages' answering units are to the question.
    closeness: sentences::Closeness,
}

impl Rag {
    pub fn new(
        embedder: Arc<dyn Embedder>,
        index: Arc<dyn VectorIndex>,
        generator: Option<Arc<dyn Generator>>,
        prompts: Prompts,
        settings: &Settings,
    ) -> Self {
        Self {
            embedder,
            index,
            generator,
            prompts,
            retrieval: settings.retrieval.clone(),
            llm: settings.llm.clone(),
            max_question_bytes: settings.http.max_question_bytes,
            multilingual_dense: settings.embed.multilingual,
            reranker: None,
            decision: DecisionModel::builtin(),
            analyzer: Analyzer::default(),
        }
    }

    /// This pipeline with other retrieval settings, sharing its models, index, decision and
    /// analyzer (what a benchmark compares against in one process).
    pub fn with_retrieval(&self, retrieval: RetrievalSettings) -> Rag {
        Rag {
            retrieval,
            ..self.clone()
        }
    }

    /// The trimmed question, or why it cannot be asked (empty, over the size limit).
    pub fn check_question(&self, question: &str) -> Result<String, RagError> {
        if question.len() > self.max_question_bytes {
            return Err(RagError::QuestionTooLong {
                bytes: question.len(),
                limit: self.max_question_bytes,
            });
        }
        let q = question.trim();
        if q.is_empty() {
            return Err(RagError::EmptyQuestion);
        }
        Ok(q.to_string())
    }

    /// Hybrid (or single-mode) retrieval, filtered by `groups` inside the index query.
    pub async fn retrieve(
        &self,
        query: &str,
        groups: Option<Vec<String>>,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Vec<Hit>, RagError> {
        Ok(self.retrieve_embedded(query, groups, limit, mode).await?.0)
    }

    /// `retrieve`, and the query's embedding (empty when the search was sparse only).
    async fn retrieve_embedded(
        &self,
        query: &str,
        groups: Option<Vec<String>>,
        limit: usize,
        mode: SearchMode,
    ) -> Result<(Vec<Hit>, Vec<f32>), RagError> {
        let query = self.check_question(query)?;
        let requested = mode;
        let mode = match mode {
            SearchMode::Hybrid if !self.reads_densely(Lang::of(&query)) => SearchMode::Sparse,
            other => other,
        };
        // A sparse-only search (a Korean question with an English-only model) needs no vector:
        // embedding it would cost the CPU time of a whole search.
        let dense = if mode == SearchMode::Sparse {
            Vec::new()
        } else {
            let embedder = self.embedder.clone();
            let q = query.clone();
            tokio::task::spawn_blocking(move || embedder.embed_query(&q))
                .await
                .map_err(|e| RagError::Internal(e.to_string()))??
        };
        let limit = limit.max(1);
        let wanted = match &self.reranker {
            Some(_) => limit.max(self.retrieval.rerank_candidates),
            None => limit,
        };
        let per_section = self.retrieval.max_per_section;
        // Room for the re-ordering below (sections spread, addenda last) to bring passages up
        // from past the cut.
        let candidates = wanted.max(limit * 2);
        // A question the embedder cannot read is searched lexically alone; its candidates are
        // re-ordered by how much of the question they meet (see `coverage_order`).
        let lexical_only = mode == SearchMode::Sparse && requested != SearchMode::Sparse;
        let candidates = if lexical_only {
            candidates.max(coverage_order::CANDIDATES)
        } else {
            candidates
        };
        let request = SearchRequest {
            dense: dense.clone(),
            sparse: self.analyzer.query_vector(&query),
            groups,
            mode,
            limit: candidates,
            prefetch: self.retrieval.prefetch,
            rrf_k: self.retrieval.rrf_k,
            dense_weight: self.retrieval.dense_weight,
            sparse_weight: self.retrieval.sparse_weight,
        };
        let index = self.index.clone();
        let hits = tokio::task::spawn_blocking(move || index.search(&request))
            .await
            .map_err(|e| RagError::Internal(e.to_string()))??;
        // Before a cross-encoder, which has the last word where one is configured.
        let hits = if lexical_only {
            coverage_order::by_coverage(&self.analyzer, &query, hits)
        } else {
            hits
        };
        let hits = match self.reranker.clone().filter(|_| hits.len() > 1) {
            None => hits,
            Some(reranker) => {
                let texts: Vec<String> = hits
                    .iter()
                    .map(|h| format!("{}\n{}", h.payload.section, h.payload.text))
                    .collect();
                let q = query.clone();
                let scores = tokio::task::spawn_blocking(move || reranker.scores(&q, &texts))
                    .await
                    .map_err(|e| RagError::Internal(e.to_string()))??;
                crate::embed::rerank::order_by(hits, &scores)
            }
        };
        Ok((
            diversify(addenda_last(hits, &query), per_section, limit),
            dense,
        ))
    }

    /// Whether the embedding model reads questions in `lang` (English always; Korean only with
    /// a multilingual model).
    fn reads_densely(&self, lang: Lang) -> bool {
        lang == Lang::En || self.multilingual_dense
    }

    pub async fn search(
        &self,
        query: &str,
        groups: Option<Vec<String>>,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Vec<SearchResult>, RagError> {
        Ok(self
            .retrieve(query, groups, limit, mode)
            .await?
            .iter()
            .map(SearchResult::from)
            .collect())
    }

    /// Retrieval for `question` and what the decision looks at (what `eval` measures).
    pub async fn retrieve_assessed(
        &self,
        question: &str,
        limit: usize,
    ) -> Result<(Vec<Hit>, Features), RagError> {
        let (hits, vector) = self
            .retrieve_embedded(question, None, limit, SearchMode::Hybrid)
            .await?;
        let (features, _) = self.assess(question, &vector, &hits).await?;
        Ok((hits, features))
    }

    /// What the decision looks at for `question` (embedded as `vector`, empty when the model
    /// does not read its language) and the passages retrieved for it, and how close in meaning
    /// their answering units are to it.
    async fn assess(
        &self,
        question: &str,
        vector: &[f32],
        hits: &[Hit],
    ) -> Result<(Features, sentences::Closeness), RagError> {
        let passages = as_passages(hits);
        let answer_from = self.retrieval.context_passages;
        let closeness = self
            .closeness(
                question,
                vector,
                &passages[..answer_from.min(passages.len())],
                sentences::Closeness::default(),
            )
            .await?;
        let selection =
            sentences::select(&self.analyzer, question, &passages, answer_from, &closeness);
        let closest = hits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.dense_similarity.total_cmp(&b.1.dense_similarity))
            .map(|(i, _)| i);
        let first = hits.first().map_or(0.0, |h| h.score);
        let fifth = hits.get(4).or(hits.last()).map_or(0.0, |h| h.score);
        let features = Features {
            dense: hits.iter().map(|h| h.dense_similarity).fold(0.0, f32::max),
            concept_coverage: selection.concept_coverage,
            rare_coverage: selection.rare_coverage,
            sentence: selection.best,
            margin: if first > 0.0 {
                (first - fifth) / first
            } else {
                0.0
            },
            agreement: if closest == Some(0) && first > 0.0 {
                1.0
            } else {
                0.0
            },
            whole_word_coverage: selection.whole_word_coverage,
            top_score: first / self.analyzer.query_vector(question).indices.len().max(1) as f32,
            length: selection.concepts as f32 / 10.0,
            asked_stated: if selection.asked_stated { 1.0 } else { 0.0 },
            closest_sentence: selection.closest,
        };
        Ok((features, closeness))
    }

    /// How close in meaning the answering units of `passages` that meet `question` are to it
    /// (embedded as `vector`; nothing when that is empty), reusing what `known` already holds.
    async fn closeness(
        &self,
        question: &str,
        vector: &[f32],
        passages: &[sentences::Passage<'_>],
        mut known: sentences::Closeness,
    ) -> Result<sentences::Closeness, RagError> {
        if vector.is_empty() || !self.retrieval.sentence_closeness {
            return Ok(known);
        }
        let mut wanted: Vec<String> = Vec::new();
        for unit in sentences::meeting(&self.analyzer, question, passages) {
            if wanted.len() == MAX_UNITS_EMBEDDED {
                break;
            }
            if !known.contains(&unit) && !wanted.contains(&unit) {
                wanted.push(unit);
            }
        }
        if wanted.is_empty() {
            return Ok(known);
        }
        let embedder = self.embedder.clone();
        let (units, vectors) = tokio::task::spawn_blocking(move || {
            embedder.embed_passages(&wanted).map(|v| (wanted, v))
        })
        .await
        .map_err(|e| RagError::Internal(e.to_string()))??;
        // Embeddings are L2-normalised (`Embedder`): their dot product is the cosine.
        for (unit, v) in units.into_iter().zip(vectors) {
            known.insert(unit, crate::index::dot(vector, &v));
        }
        Ok(known)
    }

    /// Stage 2: whether the decision answers a question in `lang` from `hits`, judged on their
    /// `features` (see `assess`).
    pub fn decides(&self, lang: Lang, hits: &[Hit], features: &Features) -> bool {
        !hits.is_empty() && self.decision.for_lang(lang).answers(features)
    }

    /// Answer a question: retrieve → decide → generate (or quote) → verify → answer. Each stage
    /// returns a value; `Progress` alone turns them into events, so every exit streams them in
    /// the same order (`Passages`, `Token`s, `Citations`).
    pub async fn ask(
        &self,
        request: AskRequest,
        events: Option<mpsc::Sender<AskEvent>>,
    ) -> Result<Answer, RagError> {
        let clock = Clock::start();
        let mut progress = Progress::new(events);
        let retrieved = self.retrieve_for(&request).await?;
        let clock = clock.retrieved();
        let answer = if !self.decides(retrieved.lang, &retrieved.hits, &retrieved.features) {
            self.abstain(retrieved.lang, &retrieved.hits, clock.timings(None, 0))
        } else {
            let passages = self.context(&retrieved.hits);
            progress.passages(&passages).await;
            self.compose(&retrieved, &passages, &mut progress, &clock)
                .await?
        };
        progress.finish(&answer).await;
        Ok(answer)
    }

    /// Stage 1: the question as it is answered (a follow-up in its standalone form), and what
    /// retrieval found for it.
    async fn retrieve_for(&self, request: &AskRequest) -> Result<Retrieved, RagError> {
        let asked = self.check_question(&request.question)?;
        let lang = Lang::of(&asked);
        let mut question = followup::standalone(&self.analyzer, &request.history, &asked);
        if question.len() > self.max_question_bytes {
            question = asked;
        }
        let (hits, vector) = self
            .retrieve_embedded(
                &question,
                request.groups.clone(),
                self.retrieval.top_k,
                SearchMode::Hybrid,
            )
            .await?;
        let (features, closeness) = self.assess(&question, &vector, &hits).await?;
        // After the decision's features, which it leaves alone: a passage that states the kind
        // of fact asked in one word of the question also sits beside near-corpus questions the
        // rules do not answer ("동호회 지원금은 얼마" met 지원금 환수 amounts), and answering
        // those is the decision's call, not this ordering's.
        let hits = asked_order::stated_into_context(
            &self.analyzer,
            &question,
            hits,
            self.retrieval.context_passages,
        );
        tracing::debug!(?features, hits = hits.len(), "retrieved");
        Ok(Retrieved {
            question,
            lang,
            hits,
            features,
            vector,
            closeness,
        })
    }

    /// The passages the answer is written from, with instructions to the assistant removed.
    fn context(&self, hits: &[Hit]) -> Vec<Hit> {
        hits.iter()
            .take(self.retrieval.context_passages)
            .map(|h| {
                let mut h = h.clone();
                let (text, removed) = injection::neutralize(&h.payload.text);
                if removed {
                    tracing::warn!(chunk = %h.payload.chunk_id, source = ?h.payload.source, "instructions to the assistant removed from a passage");
                    h.payload.text = text;
                }
                h
            })
            .collect()
    }

    /// The model that writes answers in `lang`, if any.
    fn writer(&self, lang: Lang) -> Option<Arc<dyn Generator>> {
        match (&self.generator, lang) {
            (Some(g), Lang::En) => Some(g.clone()),
            (Some(g), Lang::Ko) if self.llm.korean_capable => Some(g.clone()),
            _ => None,
        }
    }

    /// Stages 3–5 for a question the decision answers: generate and verify, or quote.
    async fn compose(
        &self,
        retrieved: &Retrieved,
        passages: &[Hit],
        progress: &mut Progress,
        clock: &Clock,
    ) -> Result<Answer, RagError> {
        let (lang, question) = (retrieved.lang, retrieved.question.as_str());
        // Stage 3, once: the quoted answer, what the model reads and the fallback are all these.
        // The passages may have lost instructions to the assistant since they were assessed:
        // their changed units are embedded now.
        let read = as_passages(passages);
        let closeness = self
            .closeness(
                question,
                &retrieved.vector,
                &read,
                retrieved.closeness.clone(),
            )
            .await?;
        let chosen =
            sentences::select(&self.analyzer, question, &read, passages.len(), &closeness).chosen;
        let Some(generator) = self.writer(lang) else {
            // Korean with a model that cannot write it (or no model): quote the regulation.
            return Ok(self.extractive(lang, passages, chosen, clock.timings(None, 0)));
        };
        let focused = self.focus(passages, &chosen);
        let read = focused.as_deref().unwrap_or(passages);
        let messages = self.prompts.answer_messages(lang, question, read);
        let options = GenOptions {
            max_tokens: self.llm.max_tokens,
            temperature: self.llm.temperature,
            ignore_eos: false,
        };
        match generate::run(generator.as_ref(), messages, options, progress, clock).await? {
            Generation::FailedBeforeWriting(e) => {
                // A remote server down, say: the asker still gets the regulation itself.
                tracing::warn!(error = %e, "generation failed; answering with quoted passages");
                Ok(self.extractive(lang, passages, chosen, clock.timings(None, 0)))
            }
            Generation::Written(written) => {
                let timings = clock.timings(written.first_token, written.tokens);
                Ok(
                    match self.verify(retrieved, read, &written.text, timings.clone()) {
                        Some(answer) => answer,
                        None => self.extractive(lang, passages, chosen, timings),
                    },
                )
            }
        }
    }

    /// What the model reads (`llm.reads = "sentences"`): each passage cut down to its `chosen`
    /// sentences, a passage with none left empty, so the model can only rephrase what
    /// verification then checks against the same text. `None`: the whole passages (configured,
    /// or no sentence meets the question's terms).
    fn focus(&self, passages: &[Hit], chosen: &[sentences::Chosen]) -> Option<Vec<Hit>> {
        if self.llm.reads != LlmReads::Sentences || chosen.is_empty() {
            return None;
        }
        Some(
            passages
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let mut h = h.clone();
                    h.payload.text = chosen
                        .iter()
                        .filter(|c| c.passage == i)
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n");
                    h
                })
                .collect(),
        )
    }

    /// Stage 5: keep only what the passages the model `read` support, cited. `None` when
    /// nothing is (the caller then quotes the chosen sentences).
    fn verify(
        &self,
        retrieved: &Retrieved,
        read: &[Hit],
        written: &str,
        timings: Timings,
    ) -> Option<Answer> {
        if says_not_covered(written) {
            return Some(self.abstain(retrieved.lang, &retrieved.hits, timings));
        }
        let texts: Vec<&str> = read.iter().map(|h| h.payload.text.as_str()).collect();
        let verified = citations::verify(&self.analyzer, written, &texts);
        if verified.sentences.is_empty() {
            return None;
        }
        let cites = verified
            .cited()
            .into_iter()
            .map(|n| {
                let claim: String = verified
                    .sentences
                    .iter()
                    .filter(|s| s.cites.contains(&n))
                    .map(|s| s.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let hit = &read[n - 1];
                self.citation(
                    n,
                    hit,
                    citations::best_quote(&self.analyzer, &claim, &hit.payload.text),
                )
            })
            .collect();
        Some(Answer {
            answer: verified.render(),
            abstained: false,
            citations: cites,
            nearest: vec![],
            mode: AnswerMode::Generated,
            conversation_id: None,
            message_id: None,
            timings_ms: timings,
        })
    }

    fn citation(&self, n: usize, hit: &Hit, quote: String) -> Citation {
        Citation {
            n,
            document_id: hit.payload.document_id.clone(),
            title: hit.payload.title.clone(),
            source: hit.payload.source.clone(),
            section: hit.payload.section.clone(),
            page: hit.payload.page,
            chunk_id: hit.payload.chunk_id.clone(),
            quote,
            score: hit.score,
        }
    }

    fn abstain(&self, lang: Lang, hits: &[Hit], timings: Timings) -> Answer {
        let mut nearest: Vec<NearestDocument> = Vec::new();
        for h in hits {
            if nearest.len() == 3 {
                break;
            }
            if !nearest
                .iter()
                .any(|n| n.document_id == h.payload.document_id)
            {
                nearest.push(NearestDocument {
                    document_id: h.payload.document_id.clone(),
                    title: h.payload.title.clone(),
                    source: h.payload.source.clone(),
                    section: h.payload.section.clone(),
                });
            }
        }
        let mut text = self.prompts.refusal(lang).to_string();
        if !nearest.is_empty() {
            text.push_str("\n\n");
            text.push_str(self.prompts.nearest(lang));
            for n in &nearest {
                text.push_str(&format!("\n- {} ({})", n.title, n.source));
            }
        }
        Answer {
            answer: text,
            abstained: true,
            citations: vec![],
            nearest,
            mode: AnswerMode::Abstained,
            conversation_id: None,
            message_id: None,
            timings_ms: timings,
        }
    }

    /// The `chosen` sentences of the passages, verbatim, each with its citation (the passage
    /// dialog shows the whole passage). When no sentence meets the question's terms, the best
    /// passage's opening sentences stand in.
    fn extractive(
        &self,
        lang: Lang,
        passages: &[Hit],
        mut chosen: Vec<sentences::Chosen>,
        timings: Timings,
    ) -> Answer {
        if let (true, Some(first)) = (chosen.is_empty(), passages.first()) {
            chosen = sentences::units(&first.payload.text)
                .into_iter()
                .take(2)
                .map(|text| sentences::Chosen {
                    passage: 0,
                    text,
                    score: 0.0,
                })
                .collect();
        }
        let mut text = self.prompts.extractive(lang).to_string();
        let mut cites: Vec<Citation> = Vec::new();
        for c in &chosen {
            let n = c.passage + 1;
            text.push_str(&format!("\n\n{} [{n}]", c.text));
            match cites.iter_mut().find(|k| k.n == n) {
                Some(k) => {
                    k.quote.push(' ');
                    k.quote.push_str(&c.text);
                }
                None => cites.push(self.citation(n, &passages[c.passage], c.text.clone())),
            }
        }
        cites.sort_by_key(|c| c.n);
        Answer {
            answer: text,
            abstained: false,
            citations: cites,
            nearest: vec![],
            mode: AnswerMode::Extractive,
            conversation_id: None,
            message_id: None,
            timings_ms: timings,
        }
    }
}

/// Answering units embedded for one question at most: a bound on the time one question costs
/// the embedding model.
const MAX_UNITS_EMBEDDED: usize = 64;

fn as_passages(hits: &[Hit]) -> Vec<sentences::Passage<'_>> {
    hits.iter()
        .map(|h| sentences::Passage {
            title: &h.payload.title,
            section: &h.payload.section,
            text: &h.payload.text,
            full_names: &h.payload.full_names,
        })
        .collect()
}

/// The model's own "the documents do not cover this" (the phrase the prompts ask for).
fn says_not_covered(raw: &str) -> bool {
    let l = raw.to_lowercase();
    [
        "do not cover",
        "does not cover",
        "don't cover",
        "not covered",
        "찾을 수 없습니다",
    ]
    .iter()
    .any(|p| l.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_refusals_are_recognised() {
        assert!(says_not_covered("The documents do not cover this."));
        assert!(says_not_covered("문서에서 이 내용을 찾을 수 없습니다."));
        assert!(!says_not_covered("Researchers report bugs [1]."));
    }
}
