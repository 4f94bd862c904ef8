//! Extractors whose rejections speak the contract's error shape (axum's `AppJson` pattern):
//! a malformed body, a bad UUID in the path or a bad query string is a 4xx with a stable code,
//! never axum's plain-text rejection and never a 500.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// JSON body extractor and responder. Rejections: 415 `unsupported_media_type` without a JSON
/// content type, 400 `invalid_json` for syntax errors, 400 `invalid_body` for wrong types or
/// missing fields, 413 `payload_too_large` past the body limit.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType {
                message: "expected a JSON body with Content-Type: application/json".to_owned(),
            },
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => ApiError::bad_request("invalid_body", e.body_text()),
            JsonRejection::BytesRejection(e) => {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request("invalid_body", e.body_text())
                }
            }
            other => ApiError::bad_request("invalid_body", other.body_text()),
        }
    }
}

/// Path parameter extractor: a malformed id is 400 `invalid_id`.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct AppPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(
            "invalid_id",
            format!("invalid path parameter: {}", rejection.body_text()),
        )
    }
}

/// Query string extractor: a malformed query is 400 `invalid_query`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}

/// Fallback for unknown routes: 404 `route_not_found` in the contract's shape.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}

/// Fallback for a known path with the wrong method: 405 in the contract's shape.
pub async fn method_not_allowed() -> Response {
    (
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            serde_json::json!({"error": "method not allowed", "code": "method_not_allowed"}),
        ),
    )
        .into_response()
}

/// `page` and `limit` of a listing, validated once for every list route: page 1..=100000
/// (default 1), limit 1..=100 (default 20); anything else is 400 `invalid_query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: i64,
    /// Rows per page.
    pub limit: i64,
}

impl Page {
    /// Validates the raw query values.
    pub fn new(page: Option<i64>, limit: Option<i64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(20);
        if !(1..=100_000).contains(&page) || !(1..=100).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "page must be between 1 and 100000 and limit between 1 and 100",
            ));
        }
        Ok(Self { page, limit })
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.limit
    }

    /// The contract's `pagination` object for `total` rows.
    pub fn envelope(&self, total: i64) -> serde_json::Value {
        serde_json::json!({
            "page": self.page,
            "limit": self.limit,
            "total": total,
            "totalPages": (total + self.limit - 1) / self.limit,
        })
    }
}

/// An optional status filter from a query (`""` and `"all"` mean none), checked against
/// `allowed`: 400 `invalid_query` naming the allowed values otherwise.
pub fn status_filter(raw: Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    let status = raw.filter(|s| !s.is_empty() && s != "all");
    if let Some(s) = &status
        && !allowed.contains(&s.as_str())
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("status must be one of {}", allowed.join(", ")),
        ));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_and_describe_themselves() {
        let page = Page::new(Some(3), Some(10)).unwrap();
        assert_eq!(page.offset(), 20);
        assert_eq!(page.envelope(21)["totalPages"], 3);
        assert_eq!(Page::new(None, None).unwrap(), Page { page: 1, limit: 20 });
        for (p, l) in [
            (Some(0), None),
            (None, Some(0)),
            (None, Some(101)),
            (Some(100_001), None),
        ] {
            assert_eq!(Page::new(p, l).unwrap_err().code(), "invalid_query");
        }
    }

    #[test]
    fn status_filters_accept_only_known_statuses() {
        assert_eq!(status_filter(Some("all".into()), &["a"]).unwrap(), None);
        assert_eq!(
            status_filter(Some("a".into()), &["a"]).unwrap(),
            Some("a".into())
        );
        assert!(status_filter(Some("b".into()), &["a"]).is_err());
    }
}
