//! The payment service's interface to reservations: `POST /internal/reservations/:id/confirm`
//! and `POST /internal/reservations/:id/cancel`, authenticated by the shared `X-Internal-Token`
//! (`INTERNAL_API_TOKEN`). These paths are not in the ALB path table, so the public never
//! reaches them in production; the ticket service and the all-in-one binary mount them.
//!
//! Both are idempotent: a repeat answers 200 with the same reservation.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::domain::reservation::{self, ConfirmRefusal};

/// The header carrying the shared service token.
pub const TOKEN_HEADER: &str = "x-internal-token";

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/internal/reservations/{id}/confirm",
            post(confirm_reservation),
        )
        .route(
            "/internal/reservations/{id}/cancel",
            post(cancel_reservation),
        )
}

/// A caller that presented the internal token.
#[derive(Debug)]
pub struct InternalCaller;

impl FromRequestParts<AppState> for InternalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let expected = state
            .infra
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
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Optional body of a confirm.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Confirm {
    payment_method: Option<String>,
}

async fn confirm_reservation(
    State(state): State<AppState>,
    _caller: InternalCaller,
    AppPath(id): AppPath<Uuid>,
    body: Bytes,
) -> ApiResult<AppJson<Value>> {
    // The body is optional (an empty POST confirms without naming a method).
    let body: Confirm = if body.is_empty() {
        Confirm::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?
    };
    if body.payment_method.as_ref().is_some_and(|m| m.len() > 50) {
        return Err(ApiError::validation(
            json!({ "paymentMethod": "at most 50 characters" }),
        ));
    }
    let mut tx = state.infra.db.begin().await?;
    let row = reservation::lock(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    match reservation::confirm(&mut tx, &row, body.payment_method.as_deref()).await? {
        Ok(_) => {}
        Err(refusal) => {
            tx.rollback().await?;
            return Err(match refusal {
                ConfirmRefusal::Expired => ApiError::conflict(
                    "reservation_expired",
                    "the hold expired before the payment was confirmed",
                ),
                ConfirmRefusal::Cancelled => {
                    ApiError::conflict("reservation_cancelled", "the reservation was cancelled")
                }
                ConfirmRefusal::SeatsLost => ApiError::conflict(
                    "seat_unavailable",
                    "the reservation no longer holds all of its seats",
                ),
            });
        }
    }
    let summary = reservation::summary(&mut tx, id).await?;
    tx.commit().await?;
    Ok(AppJson(json!({ "reservation": summary })))
}

async fn cancel_reservation(
    State(state): State<AppState>,
    _caller: InternalCaller,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    let row = reservation::lock(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    // Pending and confirmed reservations are cancelled (payment refunded a confirmed one before
    // calling); cancelled and expired ones already hold nothing, so the answer is just their state.
    let released = match row.status.as_str() {
        "pending" | "confirmed" => reservation::cancel(&mut tx, id).await?,
        _ => None,
    };
    let summary = reservation::summary(&mut tx, id).await?;
    tx.commit().await?;
    if let Some(released) = released {
        released.emit(&state.realtime);
    }
    Ok(AppJson(json!({ "reservation": summary })))
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
}
