//! One error type for the HTTP layer; every domain error becomes a status code here and only here.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::ingest::IngestError;
use crate::rag::RagError;
use crate::store::{ErrorKind, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Busy(_) => "busy",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// What the client is told: internal details are logged, not returned.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(json!({"error": {"code": self.code(), "message": self.public_message()}}));
        let retry_after = match &self {
            ApiError::Busy(_) => Some(2),
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let unauthorized = matches!(self, ApiError::Unauthorized(_));
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        if unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"regula\""),
            );
        }
        response
    }
}

impl From<RagError> for ApiError {
    fn from(e: RagError) -> Self {
        match e {
            RagError::EmptyQuestion => ApiError::BadRequest(e.to_string()),
            RagError::QuestionTooLong { .. } => ApiError::PayloadTooLarge(e.to_string()),
            RagError::Busy => ApiError::Busy(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::answer::AskError> for ApiError {
    fn from(e: crate::answer::AskError) -> Self {
        use crate::answer::AskError;
        match e {
            AskError::Busy => ApiError::Busy(e.to_string()),
            AskError::RateLimited(wait) => ApiError::rate_limited(wait),
            AskError::Rag(r) => r.into(),
            AskError::Store(s) => s.into(),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::UnsupportedType(_)
            | IngestError::Malformed(_)
            | IngestError::Empty
            | IngestError::BadName(_) => ApiError::Unprocessable(e.to_string()),
            IngestError::TooLarge(_) => ApiError::PayloadTooLarge(e.to_string()),
            IngestError::Store(s) => s.into(),
            IngestError::Cancelled | IngestError::BadGroups(_) => ApiError::Conflict(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// 429 for a caller that must wait `wait` before asking again.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        ApiError::TooManyRequests {
            message: format!("too many requests; retry in {secs} s"),
            retry_after_secs: secs,
        }
    }

    /// A failed ingest job, by the kind of error it recorded (see `IngestError::kind`).
    pub fn from_job_failure(kind: ErrorKind, message: &str) -> Self {
        let message = message.to_string();
        match kind {
            ErrorKind::TooLarge => ApiError::PayloadTooLarge(message),
            ErrorKind::Unsupported
            | ErrorKind::Malformed
            | ErrorKind::Empty
            | ErrorKind::BadName
            | ErrorKind::Timeout => ApiError::Unprocessable(message),
            ErrorKind::Cancelled | ErrorKind::BadGroups => ApiError::Conflict(message),
            ErrorKind::Embed
            | ErrorKind::Index
            | ErrorKind::Store
            | ErrorKind::Io
            | ErrorKind::Internal
            | ErrorKind::LeaseLost
            | ErrorKind::Interrupted => ApiError::Internal(message),
        }
    }
}

impl From<crate::app::AppError> for ApiError {
    fn from(e: crate::app::AppError) -> Self {
        match e {
            crate::app::AppError::Store(s) => s.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            StoreError::Cancelled(m) => ApiError::Conflict(format!("{m} was cancelled")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
