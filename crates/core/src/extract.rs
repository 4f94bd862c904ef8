//! Extractors whose rejections speak the contract's error shape (axum's `AppJson` pattern):
//! a malformed body, a bad UUID in the path or a bad query string is a 4xx with a stable code,
//! never axum's plain-text rejection and never a 500.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body extractor and responder. Rejections: 415 `unsupported_media_type` without a JSON
/// content type, 400 `invalid_json` for syntax errors, 400 `invalid_body` for wrong types or
/// missing fields, 400 `invalid_text` for a NUL character in any string (Postgres cannot store
/// one), 413 `payload_too_large` past the body limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(JsonRejection::MissingJsonContentType(Default::default()).into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::from(JsonRejection::from(e)))?;
        if has_nul_escape(&bytes) {
            return Err(nul_refused());
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(AppJson(value))
    }
}

/// `Content-Type: application/json` or any `+json` type, as axum's `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind == "application" && (subtype == "json" || subtype.ends_with("+json"))
}

/// True when a JSON text has a `\u0000` escape in a string (a raw NUL is not valid JSON at all).
/// Escaped backslashes are skipped, so `\\u0000` (an escaped backslash, then `u0000`) is not
/// mistaken for one.
pub fn has_nul_escape(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

fn nul_refused() -> ApiError {
    ApiError::bad_request("invalid_text", "text must not contain NUL characters")
}

/// True when a percent-encoded URI part has an encoded NUL (`%00`).
fn has_encoded_nul(part: &str) -> bool {
    part.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

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

/// Path parameter extractor: a malformed id is 400 `invalid_id`, a NUL character 400
/// `invalid_text`.
#[derive(Debug, Clone, Copy)]
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(nul_refused());
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(AppPath(value))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(
            "invalid_id",
            format!("invalid path parameter: {}", rejection.body_text()),
        )
    }
}

/// Query string extractor: a malformed query is 400 `invalid_query`, a NUL character 400
/// `invalid_text`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(has_encoded_nul) {
            return Err(nul_refused());
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(AppQuery(value))
    }
}

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
            serde_json::json!({"error": "method not allowed", "message": "method not allowed", "code": "method_not_allowed"}),
        ),
    )
        .into_response()
}

/// `page` and `limit` of a listing, validated once for every list route: page 1..=100000
/// (default 1), limit from 1 (default 20); a limit above [`Page::MAX_LIMIT`] is lowered to it
/// (clients ask `limit=1000` to mean "all": they get the largest page and the `pagination` that
/// says so). Zero, a negative number or a page out of range is 400 `invalid_query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: i64,
    /// Rows per page.
    pub limit: i64,
}

impl Page {
    /// The most rows one page holds; a larger `limit` is lowered to it.
    pub const MAX_LIMIT: i64 = 100;

    /// Validates the raw query values.
    pub fn new(page: Option<i64>, limit: Option<i64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(20);
        if !(1..=100_000).contains(&page) || limit < 1 {
            return Err(ApiError::bad_request(
                "invalid_query",
                "page must be between 1 and 100000 and limit at least 1",
            ));
        }
        Ok(Self {
            page,
            limit: limit.min(Self::MAX_LIMIT),
        })
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

/// Reads a query's `limit` (use with `#[serde(default, deserialize_with = "...")]`): a whole
/// number, where an all-digit value too large for 64 bits is read as `i64::MAX` (a large limit
/// is clamped by the route, however large). A negative, empty or non-numeric value stays a
/// malformed query (400 `invalid_query`).
pub fn deserialize_limit<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    let Some(raw) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    parse_limit(&raw)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn parse_limit(raw: &str) -> Result<i64, String> {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    match raw.parse::<i64>() {
        Ok(n) => Ok(n),
        Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(i64::MAX),
        Err(_) => Err(format!("limit: {raw:?} is not a whole number")),
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

/// An optional search term from a query (`q`): trimmed, blank means none, at most 100
/// characters (400 `invalid_query` beyond).
pub fn search_term(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let q = raw.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "q must be at most 100 characters",
        ));
    }
    Ok(q)
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
        assert_eq!(Page::new(None, Some(1000)).unwrap().limit, Page::MAX_LIMIT);
        assert_eq!(
            Page::new(None, Some(i64::MAX)).unwrap().limit,
            Page::MAX_LIMIT
        );
        for (p, l) in [
            (Some(0), None),
            (None, Some(0)),
            (None, Some(-5)),
            (Some(100_001), None),
        ] {
            assert_eq!(Page::new(p, l).unwrap_err().code(), "invalid_query");
        }
    }

    #[test]
    fn a_limit_too_large_for_64_bits_is_the_largest_and_others_stay_malformed() {
        assert_eq!(parse_limit("20"), Ok(20));
        assert_eq!(parse_limit("99999999999999999999"), Ok(i64::MAX));
        assert_eq!(parse_limit("+99999999999999999999"), Ok(i64::MAX));
        assert_eq!(parse_limit("-5"), Ok(-5));
        for bad in ["", "ten", "1e3", "-99999999999999999999", "1.5", " 5", "+"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
        #[derive(serde::Deserialize)]
        struct Q {
            #[serde(default, deserialize_with = "deserialize_limit")]
            limit: Option<i64>,
        }
        let read = |uri: &'static str| {
            axum::extract::Query::<Q>::try_from_uri(&axum::http::Uri::from_static(uri))
                .map(|q| q.0.limit)
        };
        assert_eq!(
            read("/x?limit=99999999999999999999").unwrap(),
            Some(i64::MAX)
        );
        assert_eq!(read("/x").unwrap(), None);
        assert!(read("/x?limit=x").is_err());
    }

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not_mistaken_for_them() {
        assert!(has_nul_escape(br#"{"a":"x\u0000y"}"#));
        assert!(has_nul_escape(br#"["\u0000"]"#));
        assert!(!has_nul_escape(br#"{"a":"x\\u0000y"}"#));
        assert!(has_nul_escape(br#"{"a":"x\\\u0000y"}"#));
        assert!(!has_nul_escape(br#"{"a":"\u0001"}"#));
        assert!(has_encoded_nul("/api/x/%00"));
        assert!(!has_encoded_nul("/api/x/%200"));
    }

    proptest::proptest! {
        /// The NUL scan agrees with serde's own encoding: for any string, its JSON text has a
        /// NUL escape exactly when the string holds a NUL, whatever backslashes surround it.
        #[test]
        fn the_nul_scan_agrees_with_json_encoding(s in "(\\\\|u0000|\\x00|[a-z\\\\\"]|\\PC){0,12}") {
            let text = serde_json::to_vec(&serde_json::json!({"field": s, "list": [s]})).unwrap();
            proptest::prop_assert_eq!(has_nul_escape(&text), s.contains('\0'));
        }

        /// Any body at all: the JSON extractor answers a value or a 4xx with a code, never
        /// panics and never a 5xx.
        #[test]
        fn any_body_is_parsed_or_refused_with_a_code(body in proptest::collection::vec(proptest::num::u8::ANY, 0..64), json in proptest::bool::ANY) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let request = axum::http::Request::builder()
                .method("POST")
                .header("content-type", if json { "application/json" } else { "text/plain" })
                .body(axum::body::Body::from(body))
                .unwrap();
            let parsed = rt.block_on(AppJson::<std::collections::HashMap<String, i64>>::from_request(request, &()));
            if let Err(e) = parsed {
                let status = e.status();
                proptest::prop_assert!(status.is_client_error(), "{status}");
                proptest::prop_assert!(!e.code().is_empty());
            }
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
