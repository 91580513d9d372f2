//! The answer service: every door that answers questions (`/api/v1/ask` whole or streamed,
//! `/v1/chat/completions`, the CLI's `ask`) goes through `Answers`, which admits the question
//! (answer capacity, the asker's rate limit, the question itself), opens or continues the
//! asker's conversation, runs the pipeline (`rag`), and records the turn, the audit row and the
//! metrics. Handlers only parse and map.
//!
//! Admission and answering are two steps (`Answers::admit` → `Admitted::answer`) because a
//! streamed answer must refuse bad input with a plain status before its stream starts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::auth::rate::RateLimits;
use crate::auth::Principal;
use crate::llm::Generator;
use crate::metrics::Metrics;
use crate::rag::{Answer, AskEvent, AskRequest, Rag, RagError};
use crate::store::{NewAudit, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the answer service is busy; retry shortly")]
    Busy,
    #[error("too many questions; retry in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error(transparent)]
    Rag(#[from] RagError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who asks, as the service needs it: the conversation owner and rate-limit key, a name for
/// the audit trail, and the groups they read with (`None`: everything).
#[derive(Debug, Clone)]
pub struct Asker {
    pub id: String,
    pub name: String,
    pub groups: Option<Vec<String>>,
}

impl From<&Principal> for Asker {
    fn from(p: &Principal) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            groups: p.read_filter(),
        }
    }
}

impl Asker {
    /// Whoever runs `regula ask` on the server's own machine: reads everything (like an
    /// admin); recorded as `local:<account>`.
    pub fn local() -> Self {
        let account = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "operator".into());
        Self {
            id: format!("local:{account}"),
            name: account,
            groups: None,
        }
    }
}

/// The conversation a question belongs to.
#[derive(Debug, Clone)]
pub enum Conversation {
    /// A new conversation of the asker's.
    New,
    /// One of the asker's stored conversations (its earlier questions give follow-ups context).
    Continue(String),
    /// A new conversation whose earlier questions the client sends itself (the stateless
    /// OpenAI-compatible API).
    WithHistory(Vec<String>),
}

/// The door a question came through, as the audit trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Ask,
    Chat,
    Cli,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Ask => "ask",
            Door::Chat => "chat",
            Door::Cli => "cli",
        }
    }
}

/// Earlier questions kept as a follow-up's context.
const RECENT_QUESTIONS: usize = 3;

#[derive(Clone)]
pub struct Answers {
    store: Store,
    rag: Arc<Rag>,
    limits: Arc<RateLimits>,
    metrics: Arc<Metrics>,
    /// The model and how many questions it may hold (running + queued) before refusing more.
    generator: Option<(Arc<dyn Generator>, usize)>,
}

impl Answers {
    pub fn new(
        store: Store,
        rag: Arc<Rag>,
        limits: Arc<RateLimits>,
        metrics: Arc<Metrics>,
        generator: Option<(Arc<dyn Generator>, usize)>,
    ) -> Self {
        Self {
            store,
            rag,
            limits,
            metrics,
            generator,
        }
    }

    /// Admit and answer in one call (no stream to open in between).
    pub async fn ask(
        &self,
        asker: Asker,
        question: &str,
        conversation: Conversation,
        door: Door,
        events: Option<mpsc::Sender<AskEvent>>,
    ) -> Result<Answer, AskError> {
        let admitted = self.admit(asker, question, conversation, door).await?;
        Ok(admitted.answer(events).await?)
    }

    /// Check capacity, the asker's rate limit and the question; open (or continue) the
    /// conversation. Nothing is stored or streamed for a question refused here.
    pub async fn admit(
        &self,
        asker: Asker,
        question: &str,
        conversation: Conversation,
        door: Door,
    ) -> Result<Admitted, AskError> {
        if let Some((g, capacity)) = &self.generator {
            if g.load() >= *capacity {
                return Err(AskError::Busy);
            }
        }
        self.limits.ask(&asker.id).map_err(AskError::RateLimited)?;
        let question = self.rag.check_question(question)?;
        let (conversation_id, history) = match conversation {
            Conversation::Continue(id) => {
                let asked = self
                    .store
                    .conversation(&id, &asker.id)
                    .await?
                    .into_iter()
                    .filter(|m| m.role == crate::store::MessageRole::User)
                    .map(|m| m.content)
                    .collect();
                (id, asked)
            }
            Conversation::New => (self.store.create_conversation(&asker.id).await?, vec![]),
            Conversation::WithHistory(history) => {
                (self.store.create_conversation(&asker.id).await?, history)
            }
        };
        let recent = history.len().saturating_sub(RECENT_QUESTIONS);
        Ok(Admitted {
            request: AskRequest {
                question: question.clone(),
                groups: asker.groups.clone(),
                history: history[recent..].to_vec(),
            },
            question,
            conversation_id,
            asker,
            door,
            service: self.clone(),
        })
    }

    /// Store the turn and its audit row, and stamp the answer with its ids. A failure to record
    /// must not lose the answer already made, so it is logged, not returned.
    async fn record(&self, admitted: &Admitted, answer: &mut Answer) {
        self.metrics.observe_answer(answer);
        let message_id = uuid::Uuid::new_v4().to_string();
        answer.conversation_id = Some(admitted.conversation_id.clone());
        answer.message_id = Some(message_id.clone());
        let json = serde_json::to_value(&*answer).unwrap_or_default();
        if let Err(e) = self
            .store
            .add_turn(
                &admitted.conversation_id,
                &admitted.question,
                &message_id,
                &answer.answer,
                &json,
            )
            .await
        {
            tracing::error!(error = %e, "could not record the conversation turn");
        }
        let mut cited: Vec<String> = answer
            .citations
            .iter()
            .map(|c| c.document_id.clone())
            .collect();
        cited.dedup();
        if let Err(e) = self
            .store
            .audit(NewAudit {
                actor: &admitted.asker.id,
                actor_name: &admitted.asker.name,
                action: admitted.door.as_str(),
                question: &admitted.question,
                cited: &cited,
                abstained: answer.abstained,
                conversation_id: Some(&admitted.conversation_id),
                message_id: Some(&message_id),
            })
            .await
        {
            tracing::error!(error = %e, "could not write the audit row");
        }
    }
}

/// A question admitted: checked, within capacity and the asker's limit, in a conversation.
pub struct Admitted {
    question: String,
    conversation_id: String,
    request: AskRequest,
    asker: Asker,
    door: Door,
    service: Answers,
}

impl Admitted {
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// Run the pipeline (streaming its steps to `events`) and record the answer.
    pub async fn answer(self, events: Option<mpsc::Sender<AskEvent>>) -> Result<Answer, RagError> {
        let mut answer = self.service.rag.ask(self.request.clone(), events).await?;
        self.service.record(&self, &mut answer).await;
        Ok(answer)
    }
}
