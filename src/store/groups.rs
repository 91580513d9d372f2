//! Who may read a document, as stored: the groups of its versions and of queued jobs, the pending
//! change of a document's groups, and the lock that orders activations and regroupings.
//!
//! Every parse here fails closed: a groups value that cannot be read grants nothing (an empty
//! list, which no reader matches), never `everyone`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{now, Backend, Result, Store};

/// The groups a stored value names; unreadable text yields none (no reader but an admin).
pub(crate) fn parse_groups(text: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "an unreadable groups value in the database: no one but admins may read it");
            Vec::new()
        }
    }
}

pub(crate) fn groups_json(groups: &[String]) -> String {
    serde_json::Value::from(groups.to_vec()).to_string()
}

/// The groups a queued job gives the version it builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupsSpec {
    /// Exactly these (the upload named them).
    Explicit(Vec<String>),
    /// The document's current groups, read when the version is activated; `otherwise` for a
    /// document that has none yet. A new version, a re-index or a watched file never widens
    /// what an admin narrowed.
    Inherit { otherwise: Vec<String> },
}

#[derive(Serialize, Deserialize)]
struct InheritJson {
    inherit: bool,
    otherwise: Vec<String>,
}

/// A job's groups value that cannot be read: the job fails rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the job's groups value is unreadable ({0}); queue the file again with its groups")]
pub struct CorruptGroups(pub String);

impl GroupsSpec {
    /// The value kept in `jobs.groups`: a JSON list for explicit groups (as before), an object
    /// for inherited ones.
    pub fn to_json(&self) -> String {
        match self {
            GroupsSpec::Explicit(g) => groups_json(g),
            GroupsSpec::Inherit { otherwise } => serde_json::to_string(&InheritJson {
                inherit: true,
                otherwise: otherwise.clone(),
            })
            .unwrap_or_default(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, CorruptGroups> {
        let bad = |why: &str| CorruptGroups(why.to_string());
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let spec = if value.is_array() {
            GroupsSpec::Explicit(serde_json::from_value(value).map_err(|e| bad(&e.to_string()))?)
        } else {
            let j: InheritJson = serde_json::from_value(value).map_err(|e| bad(&e.to_string()))?;
            if !j.inherit {
                return Err(bad("neither a list nor an inheritance"));
            }
            GroupsSpec::Inherit {
                otherwise: j.otherwise,
            }
        };
        // Inheriting with no fallback is allowed (a re-index: the document has groups).
        if let GroupsSpec::Explicit(named) = &spec {
            if named.iter().all(|g| g.trim().is_empty()) {
                return Err(bad("no group named"));
            }
        }
        Ok(spec)
    }
}

/// Held while a version is activated or a document regrouped, so that the database and the
/// vector index change in the same order everywhere: two workers (or two replicas) activating
/// versions of one document cannot leave the index showing one and the database the other, and
/// a regrouping cannot slip between an activation's reading of the groups and its commit.
pub struct ActivationGuard {
    _local: tokio::sync::OwnedMutexGuard<()>,
    /// PostgreSQL: a transaction holding an advisory lock (released when it ends), so replicas
    /// sharing the database take turns too.
    _shared: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

/// Any fixed number: the advisory lock Regula's replicas take turns on.
const ACTIVATION_LOCK_KEY: i64 = 0x5245_4755_4c41;

#[derive(Default, Clone)]
pub(crate) struct LocalLock(Arc<tokio::sync::Mutex<()>>);

impl Store {
    pub async fn lock_activations(&self) -> Result<ActivationGuard> {
        let local = self.activation.0.clone().lock_owned().await;
        let shared = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                    .bind(ACTIVATION_LOCK_KEY)
                    .fetch_one(&mut *tx)
                    .await?;
                Some(tx)
            }
        };
        Ok(ActivationGuard {
            _local: local,
            _shared: shared,
        })
    }

    /// First step of a change of groups: recorded as pending (reads then need both).
    pub async fn set_pending_groups(&self, document_id: &str, groups: &[String]) -> Result<()> {
        sqlx::query("UPDATE documents SET pending_groups = $1, updated_at = $2 WHERE id = $3")
            .bind(groups_json(groups))
            .bind(now())
            .bind(document_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Last step: the groups become the active version's (and those of any version being built
    /// that will inherit them), and the pending change is cleared.
    pub async fn commit_groups(&self, document_id: &str, groups: &[String]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE versions SET groups = $1 WHERE id = (SELECT active_version_id FROM documents WHERE id = $2)",
        )
        .bind(groups_json(groups))
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE documents SET pending_groups = NULL, updated_at = $1 WHERE id = $2")
            .bind(now())
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Documents whose change of groups a stopped process began: (document id, groups).
    pub async fn pending_regroupings(&self) -> Result<Vec<(String, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT id, pending_groups FROM documents WHERE pending_groups IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let groups: String = r.try_get("pending_groups")?;
                Ok((r.try_get("id")?, parse_groups(&groups)))
            })
            .collect()
    }

    /// The groups a version being built carries (set again when the document's groups changed
    /// while it was built).
    pub async fn set_version_groups(&self, version_id: &str, groups: &[String]) -> Result<()> {
        sqlx::query("UPDATE versions SET groups = $1 WHERE id = $2")
            .bind(groups_json(groups))
            .bind(version_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_old_rows_read_as_explicit() {
        for spec in [
            GroupsSpec::Explicit(vec!["hr".into()]),
            GroupsSpec::Inherit {
                otherwise: vec!["everyone".into()],
            },
            GroupsSpec::Inherit { otherwise: vec![] },
        ] {
            assert_eq!(GroupsSpec::parse(&spec.to_json()).unwrap(), spec);
        }
        assert_eq!(
            GroupsSpec::parse(r#"["everyone"]"#).unwrap(),
            GroupsSpec::Explicit(vec!["everyone".into()])
        );
    }

    #[test]
    fn unreadable_groups_fail_closed() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"[""]"#,
            "{}",
            r#"{"inherit": false, "otherwise": ["x"]}"#,
            "42",
        ] {
            assert!(GroupsSpec::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_groups("not json").is_empty());
        assert!(parse_groups("{\"everyone\": 1}").is_empty());
        assert_eq!(parse_groups(r#"["hr"]"#), vec!["hr".to_string()]);
    }
}
