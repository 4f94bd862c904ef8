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
