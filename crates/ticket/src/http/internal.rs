//! The payment service's interface to reservations: `POST /internal/reservations/:id/confirm`
//! and `POST /internal/reservations/:id/cancel`, authenticated by the shared `X-Internal-Token` (see `tiketi_core::internal`)
//! (`INTERNAL_API_TOKEN`). These paths are not in the ALB path table, so the public never
//! reaches them in production; the ticket service and the all-in-one binary mount them.
//!
//! Both are idempotent: a repeat answers 200 with the same reservation.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::internal::InternalCaller;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::domain::reservation::{self, ConfirmRefusal};

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
        .route(
            "/internal/reservations/{id}/admission",
            post(check_admission),
        )
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
    // The purchase is complete: the fan's waiting-room slot is freed at once for the next fan.
    if let Err(e) = crate::queue::complete(&state, row.user_id, row.event_id).await {
        tracing::warn!(error = %e, reservation = %id, "could not free the queue slot; it expires on its own");
    }
    Ok(AppJson(json!({ "reservation": summary })))
}

/// Payment asks before taking money: is the reservation's fan still admitted from the waiting
/// room for its event (always true when the event has no queue)? 200, or 409 `not_admitted`.
async fn check_admission(
    State(state): State<AppState>,
    _caller: InternalCaller,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let row: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT user_id, event_id FROM ticket.reservations WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.infra.db)
            .await?;
    let (user_id, event_id) =
        row.ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    match crate::queue::require_admission(&state, user_id, event_id).await {
        Ok(()) => Ok(AppJson(json!({ "admitted": true }))),
        Err(ApiError::Forbidden { code, message }) => Err(ApiError::conflict(code, message)),
        Err(other) => Err(other),
    }
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
