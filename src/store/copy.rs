//! Copy every record of an embedded deployment's SQLite database into another database
//! (PostgreSQL), for `regula migrate`. Both schemas have the same tables and columns; the copy
//! reads the columns from SQLite and writes them by name, parents before children.

use sqlx::Row;

use super::{Backend, Result, Store, StoreError};

/// Parents before the tables that reference them.
const TABLES: &[&str] = &[
    "documents",
    "versions",
    "chunks",
    "jobs",
    "users",
    "sessions",
    "api_keys",
    "conversations",
    "messages",
    "feedback",
    "audit_log",
];

/// Rows per transaction on the target.
const BATCH: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Text,
}

impl Store {
    /// Copy all rows into `target`, which must be empty (no documents, no users). Returns the
    /// rows copied per table.
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<(&'static str, u64)>> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "the source of a copy is an embedded (SQLite) deployment".into(),
            ));
        }
        for table in ["documents", "users"] {
            let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(&target.pool)
                .await?;
            if row.try_get::<i64, _>("n")? > 0 {
                return Err(StoreError::Conflict(format!(
                    "the target database already has {table}; migrate into an empty database"
                )));
            }
        }
        let mut copied = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            copied.push((*table, self.copy_table(target, table).await?));
        }
        Ok(copied)
    }

    async fn copy_table(&self, target: &Store, table: &str) -> Result<u64> {
        let columns: Vec<(String, Kind)> = sqlx::query(&format!(
            "SELECT name, type FROM pragma_table_info('{table}')"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let ty: String = r.try_get("type")?;
            let kind = if ty.eq_ignore_ascii_case("INTEGER") {
                Kind::Integer
            } else {
                Kind::Text
            };
            Ok((r.try_get("name")?, kind))
        })
        .collect::<Result<_>>()?;
        if columns.is_empty() {
            return Err(StoreError::Invalid(format!(
                "no table {table} in the source"
            )));
        }
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            (1..=names.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(&select).fetch_all(&self.pool).await?;
        let mut count = 0u64;
        for batch in rows.chunks(BATCH) {
            let mut tx = target.pool.begin().await?;
            for row in batch {
                let mut query = sqlx::query(&insert);
                for (i, (_, kind)) in columns.iter().enumerate() {
                    query = match kind {
                        Kind::Integer => query.bind(row.try_get::<Option<i64>, _>(i)?),
                        Kind::Text => query.bind(row.try_get::<Option<String>, _>(i)?),
                    };
                }
                query.execute(&mut *tx).await?;
                count += 1;
            }
            tx.commit().await?;
        }
        Ok(count)
    }
}
