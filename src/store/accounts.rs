//! Users, login sessions and API keys.

use serde::Serialize;
use sqlx::Row;

use super::{conflict_on_unique, now, timestamp, Result, Store, StoreError};
use crate::auth::{Role, Scope};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub groups: Vec<String>,
    pub disabled: bool,
    /// Whether the account can sign in with a password (SSO-only accounts cannot).
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    pub groups: &'a [String],
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserUpdate {
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub groups: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    pub scope: Scope,
    /// Groups the key reads with (besides `everyone`); ask-scoped keys only.
    pub groups: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub scope: Scope,
    pub groups: &'a [String],
    pub created_by: &'a str,
}

const USER_COLUMNS: &str = "id, username, role, groups, disabled, \
     CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, created_at, updated_at";
const KEY_COLUMNS: &str =
    "id, name, prefix, scope, groups, created_by, created_at, last_used_at, revoked_at";

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        role: Role::parse(&r.try_get::<String, _>("role")?).unwrap_or(Role::Employee),
        groups: serde_json::from_str(&r.try_get::<String, _>("groups")?).unwrap_or_default(),
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        has_password: r.try_get::<i64, _>("has_password")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn key_from_row(r: &sqlx::any::AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        // An unknown scope reads as the narrower one.
        scope: Scope::parse(&r.try_get::<String, _>("scope")?).unwrap_or(Scope::Ask),
        groups: r
            .try_get::<Option<String>, _>("groups")?
            .and_then(|g| serde_json::from_str(&g).ok())
            .unwrap_or_default(),
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn groups_json(groups: &[String]) -> String {
    serde_json::to_string(groups).unwrap_or_else(|_| "[]".into())
}

impl Store {
    pub async fn create_user(&self, u: NewUser<'_>) -> Result<User> {
        let id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, groups, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(u.username)
        .bind(u.password_hash)
        .bind(u.role.as_str())
        .bind(groups_json(u.groups))
        .bind(&ts)
        .bind(&ts)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, format!("user {} already exists", u.username)))?;
        self.user(&id).await
    }

    pub async fn user(&self, id: &str) -> Result<User> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| user_from_row(&r))
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// The enabled user of that name and their password hash, for a login.
    pub async fn login_candidate(&self, username: &str) -> Result<Option<(User, Option<String>)>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1 AND disabled = 0"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn admin_count(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
        )
    }

    /// Apply `update`. Changing the password, role or groups, or disabling the account, ends the
    /// user's sessions, so the change takes effect at once.
    pub async fn update_user(&self, id: &str, update: UserUpdate) -> Result<User> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE users SET \
               password_hash = COALESCE($1, password_hash), \
               role = COALESCE($2, role), \
               groups = COALESCE($3, groups), \
               disabled = COALESCE($4, disabled), \
               updated_at = $5 \
             WHERE id = $6",
        )
        .bind(update.password_hash.as_deref())
        .bind(update.role.map(Role::as_str))
        .bind(update.groups.as_deref().map(groups_json))
        .bind(update.disabled.map(i64::from))
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.user(id).await
    }

    pub async fn delete_user(&self, id: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now())
        .bind(timestamp(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The enabled user of an unexpired session, and the session's CSRF token.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = match self.user(&row.try_get::<String, _>("user_id")?).await {
            Ok(u) if !u.disabled => u,
            Ok(_) | Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some((user, row.try_get("csrf_token")?)))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn create_api_key(&self, k: NewApiKey<'_>) -> Result<ApiKey> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scope, groups, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(k.name)
        .bind(k.prefix)
        .bind(k.secret_hash)
        .bind(k.scope.as_str())
        .bind(groups_json(k.groups))
        .bind(k.created_by)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, "an API key with that secret already exists"))?;
        self.api_key(&id).await
    }

    pub async fn api_key(&self, id: &str) -> Result<ApiKey> {
        sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| key_from_row(&r))
            .ok_or_else(|| StoreError::NotFound(format!("API key {id}")))?
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// The unrevoked key with that secret hash; records its use (at most once a minute, so a
    /// busy integration does not write on every request).
    pub async fn use_api_key(&self, secret_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(key) = row.map(|r| key_from_row(&r)).transpose()? else {
            return Ok(None);
        };
        let minute_ago = timestamp(chrono::Utc::now() - chrono::Duration::seconds(60));
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now())
        .bind(&key.id)
        .bind(minute_ago)
        .execute(&self.pool)
        .await?;
        Ok(Some(key))
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKey> {
        let r =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
                .bind(now())
                .bind(id)
                .execute(&self.pool)
                .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("API key {id}")));
        }
        self.api_key(id).await
    }
}
