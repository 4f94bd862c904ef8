//! The one error type every handler returns, and the JSON error shape of the wire contract:
//! `{"error": "<for a person>", "message": "<the same text>", "code": "<stable_machine_code>",
//! "fields"?: {...}}`. `message` repeats `error` because the original clients read that name.
//!
//! Extractor rejections (bad JSON, bad UUIDs, wrong content type) are turned into the same shape
//! by the `AppJson`, `AppPath` and `AppQuery` extractors in [`crate::extract`]. 5xx causes go to
//! the log with their chain; clients only ever see "internal error".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Seconds a client should wait before retrying when a dependency is down.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

/// A named database constraint and the error its violation means to the client.
pub type ConstraintError = (&'static str, fn() -> ApiError);

/// Every way a request can fail, with the status and stable code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the client sent something we cannot accept. `fields` names offending fields.
    #[error("{message}")]
    BadRequest {
        /// Stable machine code, e.g. `invalid_body`.
        code: &'static str,
        /// For a person.
        message: String,
        /// Per-field problems for validation errors.
        fields: Option<Value>,
    },
    /// 401: missing, invalid or expired credentials.
    #[error("{message}")]
    Unauthorized {
        /// Stable machine code, e.g. `token_expired`.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 403: authenticated but not allowed.
    #[error("{message}")]
    Forbidden {
        /// Stable machine code, e.g. `admin_only`.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 404.
    #[error("{message}")]
    NotFound {
        /// Stable machine code, e.g. `event_not_found`.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 409: the request conflicts with the current state (seat taken, already paid...).
    #[error("{message}")]
    Conflict {
        /// Stable machine code, e.g. `seat_unavailable`.
        code: &'static str,
        /// For a person.
        message: String,
        /// Extra machine-readable detail (which seats, which state).
        details: Option<Value>,
    },
    /// 413: the body is larger than the route accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: the body is not the content type the route reads.
    #[error("{message}")]
    UnsupportedMediaType {
        /// For a person.
        message: String,
    },
    /// 429 with `Retry-After`.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`: a dependency (Postgres, Redis, a provider) is unavailable.
    #[error("{message}")]
    Unavailable {
        /// Stable machine code, e.g. `database_unavailable`.
        code: &'static str,
        /// For a person.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 500: a bug or an unexpected failure; logged with its cause chain.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            fields: None,
        }
    }

    /// 400 `validation_failed` with per-field messages.
    ///
    /// The message names each field and its reason too: clients that show only `error` (the
    /// original React client's forms) still tell the person what to change.
    pub fn validation(fields: Value) -> Self {
        let reasons: Vec<String> = match &fields {
            Value::Object(map) => map
                .iter()
                .map(|(field, why)| match why.as_str() {
                    Some(why) => format!("{field}: {why}"),
                    None => format!("{field}: is invalid"),
                })
                .collect(),
            _ => Vec::new(),
        };
        let message = if reasons.is_empty() {
            "some fields are invalid".to_owned()
        } else {
            format!("some fields are invalid ({})", reasons.join("; "))
        };
        Self::BadRequest {
            code: "validation_failed",
            message,
            fields: Some(fields),
        }
    }

    /// 401.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// 403.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    /// 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// 409 with machine-readable details.
    pub fn conflict_with(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: Some(details),
        }
    }

    /// 503 with the default `Retry-After`.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
            retry_after_secs: DEFAULT_RETRY_AFTER_SECS,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Maps a database error: a violation of one of the named `constraints` becomes the paired
    /// error, an unreachable database a 503, anything else a 500. Handlers call this once with
    /// the constraints their statement can hit (realworld's `on_constraint`).
    pub fn from_db(err: sqlx::Error, constraints: &[ConstraintError]) -> Self {
        if let Some(db) = err.as_database_error()
            && let Some(name) = db.constraint()
            && let Some((_, make)) = constraints.iter().find(|(c, _)| *c == name)
        {
            return make();
        }
        err.into()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            err if crate::db::is_unavailable(err) => {
                tracing::warn!(error = %err, "database unavailable");
                ApiError::unavailable(
                    "database_unavailable",
                    "the database is unavailable, please retry shortly",
                )
            }
            // Text Postgres cannot store (a NUL character, an invalid byte sequence): the
            // client's input, refused as such. The extractors refuse NUL before this; this is
            // the net under any path they do not cover.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05" | "54000")) =>
            {
                ApiError::bad_request(
                    "invalid_text",
                    "text contains characters that cannot be stored",
                )
            }
            _ => ApiError::Internal(anyhow::Error::new(err)),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(err: redis::RedisError) -> Self {
        if err.is_io_error()
            || err.is_connection_dropped()
            || err.is_timeout()
            || err.is_connection_refusal()
        {
            tracing::warn!(error = %err, "redis unavailable");
            ApiError::unavailable(
                "redis_unavailable",
                "the queue store is unavailable, please retry shortly",
            )
        } else {
            ApiError::Internal(anyhow::Error::new(err))
        }
    }
}

impl From<deadpool_redis::PoolError> for ApiError {
    fn from(err: deadpool_redis::PoolError) -> Self {
        tracing::warn!(error = %err, "redis pool unavailable");
        ApiError::unavailable(
            "redis_unavailable",
            "the queue store is unavailable, please retry shortly",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let mut body = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                json!({ "error": "internal error", "message": "internal error", "code": code })
            }
            other => {
                let text = other.to_string();
                json!({ "error": text, "message": text, "code": code })
            }
        };
        match &self {
            ApiError::BadRequest {
                fields: Some(fields),
                ..
            } => body["fields"] = fields.clone(),
            ApiError::Conflict {
                details: Some(details),
                ..
            } => body["details"] = details.clone(),
            _ => {}
        }
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            // A conflict that clears by itself (a charged payment whose tickets are still being
            // issued) says when to try again.
            ApiError::Conflict {
                code: "payment_in_progress",
                ..
            } => Some(DEFAULT_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(err: ApiError) -> (StatusCode, Option<String>, Value) {
        let response = err.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, retry, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn errors_have_the_contract_shape() {
        let (status, _, body) = body_of(ApiError::conflict("seat_unavailable", "seat taken")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body,
            json!({"error": "seat taken", "message": "seat taken", "code": "seat_unavailable"})
        );
    }

    #[tokio::test]
    async fn validation_errors_carry_fields() {
        let (status, _, body) =
            body_of(ApiError::validation(json!({"email": "is not an email"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["fields"]["email"], "is not an email");
        assert_eq!(
            body["error"],
            "some fields are invalid (email: is not an email)"
        );
        assert_eq!(body["message"], body["error"]);
    }

    #[tokio::test]
    async fn unavailable_carries_retry_after() {
        let (status, retry, body) =
            body_of(ApiError::unavailable("redis_unavailable", "down")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("5"));
        assert_eq!(body["code"], "redis_unavailable");
        let (status, retry, _) = body_of(ApiError::TooManyRequests {
            retry_after_secs: 7,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("7"));
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, _, body) = body_of(ApiError::Internal(anyhow::anyhow!(
            "password=hunter2 leaked in a cause"
        )))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"error": "internal error", "message": "internal error", "code": "internal_error"})
        );
    }

    #[tokio::test]
    async fn an_unreachable_database_is_a_503() {
        let (status, retry, body) = body_of(ApiError::from(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry.is_some());
        assert_eq!(body["code"], "database_unavailable");
    }
}
