//! Administration of people and integrations: users and their groups, API keys, the audit log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Admin;
use super::error::{ApiError, Result};
use super::AppState;
use crate::auth::{normalise_groups, password, tokens, Role, Scope};
use crate::store::{AuditQuery, NewApiKey, NewUser, UserUpdate};
use utoipa_axum::{router::OpenApiRouter, routes};

async fn hash_password(p: String) -> Result<String> {
    password::hash_off_runtime(p).await.map_err(|e| match e {
        password::PasswordError::TooShort(_) => ApiError::BadRequest(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    })
}

fn check_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "a user name is 1-64 letters, digits, `.`, `_`, `-` or `@`".into(),
        ))
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, description = "`{users: [User]}`"), (status = 401), (status = 403)))]
pub async fn list_users(State(app): State<AppState>, _: Admin) -> Result<Response> {
    Ok(Json(json!({ "users": app.store.users().await? })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUserBody {
    username: String,
    /// At least 8 characters; omit for an account that signs in only through SSO.
    password: Option<String>,
    role: Role,
    #[serde(default)]
    groups: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUserBody,
    responses((status = 201, body = crate::store::User), (status = 400), (status = 409)))]
pub async fn create_user(
    State(app): State<AppState>,
    _: Admin,
    Json(body): Json<NewUserBody>,
) -> Result<Response> {
    check_username(&body.username)?;
    let hash = match body.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let groups = normalise_groups(body.groups);
    let user = app
        .store
        .create_user(NewUser {
            username: &body.username,
            password_hash: hash.as_deref(),
            role: body.role,
            groups: &groups,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    password: Option<String>,
    role: Option<Role>,
    groups: Option<Vec<String>>,
    disabled: Option<bool>,
}

/// Change a user; their sessions end so the change applies at once.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", request_body = UserPatch,
    params(("id" = String, Path)), responses((status = 200, body = crate::store::User), (status = 404), (status = 409)))]
pub async fn update_user(
    State(app): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    Json(body): Json<UserPatch>,
) -> Result<Response> {
    let demotes = body.role == Some(Role::Employee) || body.disabled == Some(true);
    if demotes {
        guard_last_admin(&app, &id).await?;
    }
    if admin.id == format!("user:{id}") && demotes {
        return Err(ApiError::Conflict(
            "you cannot demote or disable your own account".into(),
        ));
    }
    let password_hash = match body.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let user = app
        .store
        .update_user(
            &id,
            UserUpdate {
                password_hash,
                role: body.role,
                groups: body.groups.map(normalise_groups),
                disabled: body.disabled,
            },
        )
        .await?;
    Ok(Json(user).into_response())
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "admin",
    params(("id" = String, Path)), responses((status = 200), (status = 404), (status = 409)))]
pub async fn delete_user(
    State(app): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Response> {
    if admin.id == format!("user:{id}") {
        return Err(ApiError::Conflict(
            "you cannot delete your own account".into(),
        ));
    }
    guard_last_admin(&app, &id).await?;
    app.store.delete_user(&id).await?;
    Ok(Json(json!({ "deleted": id })).into_response())
}

/// Refuse to remove the last enabled admin: nobody could administer Regula any more.
async fn guard_last_admin(app: &crate::app::App, id: &str) -> Result<()> {
    let user = app.store.user(id).await?;
    if user.role == Role::Admin && !user.disabled && app.store.admin_count().await? <= 1 {
        return Err(ApiError::Conflict(
            "this is the last admin account; create another admin first".into(),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/keys", tag = "admin",
    responses((status = 200, description = "`{keys: [ApiKey]}` (never the secrets)"), (status = 403)))]
pub async fn list_keys(State(app): State<AppState>, _: Admin) -> Result<Response> {
    Ok(Json(json!({ "keys": app.store.api_keys().await? })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewKeyBody {
    name: String,
    scope: Scope,
    /// Groups the key reads with (besides `everyone`); for `ask` keys.
    #[serde(default)]
    groups: Vec<String>,
}

/// Create an API key. The secret is in this response only; it is stored hashed.
#[utoipa::path(post, path = "/api/v1/keys", tag = "admin", request_body = NewKeyBody,
    responses((status = 201, description = "`{key: ApiKey, secret}`"), (status = 400)))]
pub async fn create_key(
    State(app): State<AppState>,
    Admin(admin): Admin,
    Json(body): Json<NewKeyBody>,
) -> Result<Response> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::BadRequest(
            "a key needs a name of 1-100 bytes".into(),
        ));
    }
    let secret = tokens::new_api_key().map_err(|e| ApiError::Internal(e.to_string()))?;
    let groups = normalise_groups(body.groups);
    let key = app
        .store
        .create_api_key(NewApiKey {
            name,
            prefix: &tokens::display_prefix(&secret),
            secret_hash: &tokens::hash(&secret),
            scope: body.scope,
            groups: &groups,
            created_by: &admin.id,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "key": key, "secret": secret })),
    )
        .into_response())
}

/// Revoke a key: requests with it are refused from now on.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "admin",
    params(("id" = String, Path)), responses((status = 200, body = crate::store::ApiKey), (status = 404)))]
pub async fn revoke_key(
    State(app): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response> {
    Ok(Json(app.store.revoke_api_key(&id).await?).into_response())
}

/// Who asked what and when, what was cited, whether Regula abstained; newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, description = "`{entries: [AuditEntry]}`"), (status = 403)))]
pub async fn audit(
    State(app): State<AppState>,
    _: Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    Ok(Json(json!({ "entries": app.store.audit_log(&q).await? })).into_response())
}

/// Users, API keys and the audit log (admins).
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(audit))
}
