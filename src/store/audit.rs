//! The audit log of questions (who asked what, what was cited, whether Regula abstained) and
//! employees' feedback on answers.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{conflict_on_unique, now, timestamp, Result, Store, StoreError};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: String,
    /// `user:<id>`, `key:<id>`, `sso:<name>`, or `local:<account>` (the CLI's `ask`).
    pub actor: String,
    pub actor_name: String,
    /// `ask`, `chat`, `search` or `cli`.
    pub action: String,
    pub question: String,
    /// Ids of the documents cited in the answer.
    pub cited: Vec<String>,
    pub abstained: bool,
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
}

pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub question: &'a str,
    pub cited: &'a [String],
    pub abstained: bool,
    pub conversation_id: Option<&'a str>,
    pub message_id: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor (`user:<id>`, `key:<id>`, `sso:<name>`).
    pub actor: Option<String>,
    /// Only entries at or after this RFC 3339 time.
    pub since: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedbackEntry {
    pub id: String,
    pub rating: Rating,
    pub comment: Option<String>,
    pub actor: String,
    pub created_at: String,
    pub message_id: String,
    pub conversation_id: String,
    /// The question the rated answer replied to.
    pub question: Option<String>,
    pub answer: String,
    /// The answer as recorded (JSON of `rag::Answer`: citations, abstained), for turning
    /// feedback into evaluation questions; not part of the API.
    #[serde(skip)]
    pub recorded: Option<String>,
}

impl Store {
    pub async fn audit(&self, a: NewAudit<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, actor_name, action, question, cited, abstained, conversation_id, message_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now())
        .bind(a.actor)
        .bind(a.actor_name)
        .bind(a.action)
        .bind(a.question)
        .bind(serde_json::to_string(a.cited).unwrap_or_else(|_| "[]".into()))
        .bind(i64::from(a.abstained))
        .bind(a.conversation_id)
        .bind(a.message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Newest first.
    pub async fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let since = match q.since.as_deref() {
            Some(s) => Some(
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| timestamp(t.with_timezone(&chrono::Utc)))
                    .map_err(|_| {
                        StoreError::Invalid(format!("`since` is not an RFC 3339 time: {s}"))
                    })?,
            ),
            None => None,
        };
        let rows = sqlx::query(
            "SELECT id, at, actor, actor_name, action, question, cited, abstained, conversation_id, message_id \
             FROM audit_log WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR at >= $2) \
             ORDER BY at DESC LIMIT $3 OFFSET $4",
        )
        .bind(q.actor.as_deref())
        .bind(since)
        .bind(q.limit.unwrap_or(100).clamp(1, 1000))
        .bind(q.offset.unwrap_or(0).max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    actor_name: r.try_get("actor_name")?,
                    action: r.try_get("action")?,
                    question: r.try_get("question")?,
                    cited: serde_json::from_str(&r.try_get::<String, _>("cited")?)
                        .unwrap_or_default(),
                    abstained: r.try_get::<i64, _>("abstained")? != 0,
                    conversation_id: r.try_get("conversation_id")?,
                    message_id: r.try_get("message_id")?,
                })
            })
            .collect()
    }

    /// Delete audit rows older than `days`.
    pub async fn purge_audit(&self, days: u32) -> Result<u64> {
        let cutoff = timestamp(chrono::Utc::now() - chrono::Duration::days(i64::from(days)));
        Ok(sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Rate an assistant message of one of `owner`'s conversations (again: the rating changes).
    pub async fn put_feedback(
        &self,
        message_id: &str,
        owner: &str,
        rating: Rating,
        comment: Option<&str>,
    ) -> Result<()> {
        let row = sqlx::query(
            "SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.id = $1 AND m.role = 'assistant' AND c.owner = $2",
        )
        .bind(message_id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("answer {message_id}")));
        };
        let conversation_id: String = row.try_get("conversation_id")?;
        sqlx::query(
            "INSERT INTO feedback (id, message_id, conversation_id, actor, rating, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (message_id, actor) DO UPDATE SET rating = excluded.rating, \
               comment = excluded.comment, created_at = excluded.created_at",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(message_id)
        .bind(&conversation_id)
        .bind(owner)
        .bind(rating.as_str())
        .bind(comment)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, "feedback already recorded"))?;
        Ok(())
    }

    /// Feedback newest first, optionally only one rating.
    pub async fn feedback(
        &self,
        rating: Option<Rating>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<FeedbackEntry>> {
        let rows = sqlx::query(
            "SELECT f.id, f.rating, f.comment, f.actor, f.created_at, f.message_id, f.conversation_id, \
               (SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id \
                  AND u.role = 'user' AND u.created_at <= m.created_at \
                  ORDER BY u.created_at DESC LIMIT 1) AS question, \
               m.content AS answer, m.answer AS recorded \
             FROM feedback f JOIN messages m ON m.id = f.message_id \
             WHERE ($1 IS NULL OR f.rating = $1) ORDER BY f.created_at DESC LIMIT $2 OFFSET $3",
        )
        .bind(rating.map(Rating::as_str))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedbackEntry {
                    id: r.try_get("id")?,
                    rating: if r.try_get::<String, _>("rating")? == "down" {
                        Rating::Down
                    } else {
                        Rating::Up
                    },
                    comment: r.try_get("comment")?,
                    actor: r.try_get("actor")?,
                    created_at: r.try_get("created_at")?,
                    message_id: r.try_get("message_id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    question: r.try_get("question")?,
                    answer: r.try_get("answer")?,
                    recorded: r.try_get("recorded")?,
                })
            })
            .collect()
    }
}
