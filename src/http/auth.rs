//! Authentication: who sent a request (API key, trusted SSO header, session cookie), enforced by
//! one middleware on every protected route; login, logout and `me`. Handlers take a `Principal`
//! (any signed-in caller) or an `Admin` extractor, so the rights a handler needs are in its
//! signature.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{ApiError, Result};
use super::AppState;
use crate::app::App;
use crate::auth::{password, tokens, Credential, Principal, Role};
use crate::store::User;
use utoipa_axum::{router::OpenApiRouter, routes};

pub const SESSION_COOKIE: &str = "regula_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Middleware for protected routes: the caller's `Principal` goes into the request's extensions,
/// or the request ends with 401 (no or bad credentials) / 403 (a cookie request without its
/// CSRF token).
pub async fn authenticate(
    State(app): State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = peer_of(request.extensions());
    match identify(&app, request.headers(), peer).await {
        Ok(principal) => {
            if !is_safe(request.method()) {
                if let Err(e) = forgery_check(&principal.credential, request.headers()) {
                    return e.into_response();
                }
            }
            tracing::Span::current().record("principal", principal.id.as_str());
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The address the request came from (absent when the server was not started with it).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer_of(&parts.extensions)))
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing request must be provably the page's own, unless an API key sent it (a
/// browser never attaches one by itself): a cookie session echoes its CSRF token; an SSO caller
/// (the proxy's cookie rides along on a cross-site form, too) must come from a same-origin page.
fn forgery_check(credential: &Credential, headers: &HeaderMap) -> Result<()> {
    match credential {
        Credential::ApiKey { .. } => Ok(()),
        Credential::Session { csrf_token } if csrf_ok(headers, csrf_token) => Ok(()),
        Credential::Session { .. } => Err(ApiError::Forbidden(format!(
            "this request needs the session's CSRF token in the {CSRF_HEADER} header"
        ))),
        Credential::TrustedHeader if same_origin(headers) == Some(true) => Ok(()),
        Credential::TrustedHeader => Err(ApiError::Forbidden(
            "a state-changing request through single sign-on must come from Regula's own pages (same-origin Origin or Sec-Fetch-Site); other systems use an API key".into(),
        )),
    }
}

/// Whether the browser says the request came from a page of this origin: `Some(true)` same,
/// `Some(false)` another site, `None` no browser evidence at all (a non-browser client).
fn same_origin(headers: &HeaderMap) -> Option<bool> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return Some(site.as_bytes().eq_ignore_ascii_case(b"same-origin"));
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .filter(|_| origin != "null");
    Some(match (origin_host, host) {
        (Some(o), Some(h)) => host_only(o).eq_ignore_ascii_case(host_only(h)),
        _ => false,
    })
}

/// The host of a `host[:port]` authority: ports are not compared, since a proxy may drop the
/// port from `Host` (`proxy_set_header Host $host`).
fn host_only(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => authority.split(':').next().unwrap_or(authority),
    }
}

fn csrf_ok(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| tokens::same(v, expected))
}

/// The principal behind a request's credentials, tried in order: bearer API key, trusted SSO
/// headers (only from a configured proxy), session cookie.
async fn identify(app: &App, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Principal> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let value = auth
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
        let Some(secret) = value.strip_prefix("Bearer ").map(str::trim) else {
            return Err(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <API key>`".into(),
            ));
        };
        let key = app
            .store
            .use_api_key(&tokens::hash(secret))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".into()))?;
        return Ok(Principal::new(
            format!("key:{}", key.id),
            format!("key:{}", key.name),
            key.scope.role(),
            key.groups,
            Credential::ApiKey { key_id: key.id },
        ));
    }
    if let Some(principal) = trusted_header_principal(app, headers, peer)? {
        return Ok(principal);
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let (user, csrf_token) = app
            .store
            .session_user(&tokens::hash(token))
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("the session has expired; sign in again".into())
            })?;
        return Ok(user_principal(user, Credential::Session { csrf_token }));
    }
    Err(ApiError::Unauthorized(
        "sign in, or send an API key as `Authorization: Bearer <key>`".into(),
    ))
}

fn user_principal(user: User, credential: Credential) -> Principal {
    Principal::new(
        format!("user:{}", user.id),
        user.username,
        user.role,
        user.groups,
        credential,
    )
}

/// SSO through the company's reverse proxy: its user/groups headers are believed only when the
/// request comes from one of `auth.trusted_proxies`; from anywhere else they are ignored.
fn trusted_header_principal(
    app: &App,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Option<Principal>> {
    let settings = &app.settings.auth;
    if !peer.is_some_and(|ip| is_trusted(&settings.trusted_proxies, ip)) {
        return Ok(None);
    }
    // A header sent twice means a client's copy got through beside the proxy's: trust neither.
    for name in [
        settings.user_header.as_str(),
        settings.groups_header.as_str(),
    ] {
        if headers.get_all(name).iter().count() > 1 {
            return Err(ApiError::Unauthorized(format!(
                "the SSO header {name} was sent more than once; check that the proxy removes the client's copy"
            )));
        }
    }
    let Some(user) = headers.get(settings.user_header.as_str()) else {
        return Ok(None);
    };
    let user = user
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the SSO user header is not text".into()))?
        .trim();
    if user.is_empty() {
        return Ok(None);
    }
    let groups: Vec<String> = headers
        .get(settings.groups_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(|g| g.trim().to_string()).collect())
        .unwrap_or_default();
    let role = if groups.iter().any(|g| settings.admin_groups.contains(g)) {
        Role::Admin
    } else {
        Role::Employee
    };
    Ok(Some(Principal::new(
        format!("sso:{user}"),
        user.to_string(),
        role,
        groups,
        Credential::TrustedHeader,
    )))
}

fn is_trusted(proxies: &[IpAddr], ip: IpAddr) -> bool {
    // An IPv4 proxy may reach a dual-stack listener as an IPv4-mapped IPv6 address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    proxies.contains(&ip)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("not signed in".into()))
    }
}

/// A principal with the admin role (a user, an SSO admin, or an admin-scoped key).
pub struct Admin(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.is_admin() {
            Ok(Admin(principal))
        } else {
            Err(ApiError::Forbidden("this needs the admin role".into()))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    username: String,
    password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    user: User,
    /// Send it back in the `X-CSRF-Token` header on every POST, PATCH and DELETE.
    csrf_token: String,
    expires_at: String,
}

/// Sign in with a local account; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = SessionInfo), (status = 401), (status = 429)))]
pub async fn login(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> Result<Response> {
    // Login CSRF: a page of another site must not sign a browser into an account of its choice.
    if same_origin(&headers) == Some(false) {
        return Err(ApiError::Forbidden("sign in from Regula's own page".into()));
    }
    app.limits
        .login(&body.username, peer)
        .map_err(ApiError::rate_limited)?;
    let candidate = app.store.login_candidate(&body.username).await?;
    let stored = candidate.as_ref().and_then(|(_, h)| h.clone());
    let ok = password::verify_off_runtime(body.password, stored)
        .await
        .map_err(|e| match e {
            password::PasswordError::Busy => {
                ApiError::rate_limited(std::time::Duration::from_secs(1))
            }
            other => ApiError::Internal(other.to_string()),
        })?;
    let user = match candidate {
        Some((user, _)) if ok => user,
        _ => {
            failed_sign_in(&body.username, peer);
            return Err(ApiError::Unauthorized("wrong user name or password".into()));
        }
    };
    let token = tokens::random_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let csrf_token = tokens::random_token().map_err(|e| ApiError::Internal(e.to_string()))?;
    let ttl = app.settings.auth.session_ttl_secs;
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(ttl as i64);
    app.store
        .create_session(&tokens::hash(&token), &user.id, &csrf_token, expires_at)
        .await?;
    let secure = app.settings.auth.secure_cookies
        || (peer.is_some_and(|ip| is_trusted(&app.settings.auth.trusted_proxies, ip))
            && headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")));
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{}",
        if secure { "; Secure" } else { "" }
    );
    let info = SessionInfo {
        user,
        csrf_token,
        expires_at: crate::store::timestamp(expires_at),
    };
    let mut response = Json(info).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

/// Logged with the name escaped (`?`): a name carrying CR/LF cannot forge log lines.
fn failed_sign_in(username: &str, peer: Option<IpAddr>) {
    tracing::info!(username = ?username, address = ?peer, "failed sign-in");
}

/// End the session (the cookie is cleared).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 200)))]
pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        app.store.delete_session(&tokens::hash(token)).await?;
    }
    let mut response = Json(json!({"signed_out": true})).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("regula_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// Who the caller is, with the CSRF token of a cookie session.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200), (status = 401)))]
pub async fn me(principal: Principal) -> Json<serde_json::Value> {
    let csrf = match &principal.credential {
        Credential::Session { csrf_token } => Some(csrf_token.clone()),
        _ => None,
    };
    Json(json!({
        "id": principal.id,
        "name": principal.name,
        "role": principal.role,
        "groups": principal.groups,
        "credential": principal.credential,
        "csrf_token": csrf,
    }))
}

/// Signing in: open to everyone.
pub(super) fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

/// The signed-in caller and signing out.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(logout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; regula_session=abc; other=1"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn same_origin_needs_the_browsers_word() {
        fn with(pairs: &[(&'static str, &'static str)]) -> Option<bool> {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            same_origin(&h)
        }
        assert_eq!(with(&[]), None);
        assert_eq!(with(&[("sec-fetch-site", "same-origin")]), Some(true));
        assert_eq!(
            with(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://a"),
                ("host", "a")
            ]),
            Some(false)
        );
        assert_eq!(with(&[("sec-fetch-site", "same-site")]), Some(false));
        assert_eq!(
            with(&[
                ("origin", "http://regula.corp:8080"),
                ("host", "regula.corp:8080")
            ]),
            Some(true)
        );
        assert_eq!(
            with(&[
                ("origin", "https://regula.corp"),
                ("host", "regula.corp:8443")
            ]),
            Some(true)
        );
        assert_eq!(
            with(&[("origin", "https://evil.example"), ("host", "regula.corp")]),
            Some(false)
        );
        assert_eq!(
            with(&[("origin", "null"), ("host", "regula.corp")]),
            Some(false)
        );
        assert_eq!(
            with(&[("origin", "http://[::1]:8080"), ("host", "[::1]:8080")]),
            Some(true)
        );
    }

    #[test]
    fn user_names_cannot_forge_log_lines() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            failed_sign_in(
                "mallory\r\n2026-12-03T00:00:00Z  INFO admin signed in",
                None,
            )
        });
        let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains("mallory\\r\\n"), "{log}");
    }

    #[test]
    fn mapped_ipv4_proxies_are_trusted() {
        let proxies = vec!["127.0.0.1".parse().unwrap()];
        assert!(is_trusted(&proxies, "127.0.0.1".parse().unwrap()));
        assert!(is_trusted(&proxies, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_trusted(&proxies, "10.0.0.1".parse().unwrap()));
    }
}
