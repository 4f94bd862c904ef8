//! Service-to-service calls inside the cluster: paths under `/internal/...`, which are NOT in
//! the ALB path table (so the public never reaches them), authenticated with the shared
//! `X-Internal-Token` (`INTERNAL_API_TOKEN`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::infra::Infra;
use crate::paths::Service;

/// The header carrying the shared service token.
pub const TOKEN_HEADER: &str = "x-internal-token";

/// Internal path prefixes per service (the all-in-one dispatches them like the path table).
pub const INTERNAL_PATHS: &[(Service, &str)] = &[
    (Service::Ticket, "/internal/reservations"),
    (Service::Payment, "/internal/payments"),
];

/// The service that serves the internal `path`, if any.
pub fn service_for_internal_path(path: &str) -> Option<Service> {
    INTERNAL_PATHS.iter().find_map(|(service, prefix)| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            .then_some(*service)
    })
}

/// A caller that presented the internal token: 401 without it, 403 with a wrong one.
#[derive(Debug)]
pub struct InternalCaller;

impl<S> FromRequestParts<S> for InternalCaller
where
    S: AsRef<Infra> + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let expected = state
            .as_ref()
            .config
            .inventory
            .internal_api_token
            .expose()
            .as_bytes();
        let given = parts
            .headers
            .get(TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if given.is_empty() {
            return Err(ApiError::unauthorized(
                "internal_token_missing",
                "this interface needs X-Internal-Token",
            ));
        }
        if !constant_time_eq(given, expected) {
            return Err(ApiError::forbidden(
                "internal_token_invalid",
                "the internal token is wrong",
            ));
        }
        Ok(InternalCaller)
    }
}

/// Compares without an early exit, so response timing does not reveal a prefix of the token.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abcdeg"));
        assert!(!constant_time_eq(b"abc", b"abcdef"));
    }

    #[test]
    fn internal_paths_go_to_their_service() {
        assert_eq!(
            service_for_internal_path("/internal/reservations/1/confirm"),
            Some(Service::Ticket)
        );
        assert_eq!(
            service_for_internal_path("/internal/payments/refund-reservation"),
            Some(Service::Payment)
        );
        assert_eq!(service_for_internal_path("/internal/other"), None);
        assert_eq!(service_for_internal_path("/internal/paymentsx"), None);
    }
}
