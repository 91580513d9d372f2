//! The REST surface described from the code (utoipa) at `/openapi.json`, and a small page at
//! `/api/docs` that renders it — embedded, so nothing is fetched from the internet.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::auth;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Regula",
        description = "Answers employees' questions about internal regulations, citing them. \
            Authenticate with `Authorization: Bearer <API key>` (integrations) or the session \
            cookie from `POST /api/v1/auth/login` (browsers; send the session's CSRF token in \
            `X-CSRF-Token` on POST, PATCH and DELETE)."
    ),
    components(schemas(
        crate::rag::Answer, crate::rag::SearchResult, crate::store::Document, crate::store::Version,
        crate::store::Job, crate::store::ChunkRow, crate::store::Message,
        crate::store::ConversationSummary, crate::store::AuditEntry, crate::store::FeedbackEntry,
    )),
    modifiers(&Security),
    security(("api_key" = []), ("session" = [])),
    tags(
        (name = "ask", description = "Questions, search, conversations, feedback"),
        (name = "documents", description = "Documents and ingest jobs (changes need the admin role)"),
        (name = "admin", description = "Users, API keys, feedback and the audit log"),
        (name = "auth", description = "Sign in and out"),
        (name = "openai", description = "OpenAI-compatible chat API"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// The document's frame (title, schemas, security, tags); the routes add their paths
/// (`http::api`).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

const PAGE: &str = include_str!("assets/api-docs.html");

pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_described() {
        let doc = serde_json::to_value(crate::http::openapi_document()).expect("serialises");
        for path in [
            "/api/v1/ask",
            "/api/v1/documents/{id}/original",
            "/api/v1/keys",
            "/v1/chat/completions",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert!(doc["components"]["schemas"]["Answer"].is_object());
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }
}
