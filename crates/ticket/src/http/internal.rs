//! The payment service's interface to reservations: `POST /internal/reservations/:id/confirm`,
//! `POST /internal/reservations/:id/cancel`, `POST /internal/reservations/:id/admission` and
//! `POST /internal/reservations/:id/extend` (a virtual account waiting for its deposit),
//! authenticated by the shared `X-Internal-Token` (`INTERNAL_API_TOKEN`, see
//! `tiketi_core::internal`). These paths are not in the ALB path table, so the public never
//! reaches them in production; the ticket service and the all-in-one binary mount them.
//!
//! Confirm and cancel are idempotent: a repeat answers 200 with the same reservation.

use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::internal::InternalCaller;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::domain::reservation::{self, ConfirmRefusal};
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(confirm_reservation))
        .routes(routes!(cancel_reservation))
        .routes(routes!(check_admission))
        .routes(routes!(extend_hold))
}

/// Body of an extend.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ExtendHold)]
struct Extend {
    until: chrono::DateTime<chrono::Utc>,
}

/// The longest a hold may be kept for a deposit: Toss' virtual accounts run for days, not months.
const MAX_DEPOSIT_WAIT_DAYS: i64 = 30;

/// Sets a pending hold to end at `until` (payment service only; idempotent): a virtual account
/// was issued and the money arrives by bank transfer. `until` is the end the payment service
/// announced to the fan (the earliest of the account's due date, the deposit cap, the sale's end
/// and the show's start), so it may also shorten the ordinary hold. The hold sweeper leaves the
/// reservation alone until then; the deposit confirms it as usual.
#[utoipa::path(
    post,
    path = "/internal/reservations/{id}/extend",
    tag = "internal",
    params(("id" = Uuid, Path, description = "The reservation")),
    request_body = Extend,
    responses(
        (status = 200, description = "`{expiresAt}`", body = Object),
        (status = 400, description = "Malformed body (`invalid_body`, `validation_failed`) or Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No `X-Internal-Token` (`internal_token_missing`)", body = ErrorBody),
        (status = 403, description = "Wrong internal token (`internal_token_invalid`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "The hold already lapsed or was cancelled (`reservation_expired`)", body = ErrorBody)
    ),
    security(("internal" = []))
)]
async fn extend_hold(
    State(state): State<AppState>,
    _caller: InternalCaller,
    AppPath(id): AppPath<Uuid>,
    body: Bytes,
) -> ApiResult<AppJson<Value>> {
    let body: Extend = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    if body.until > chrono::Utc::now() + chrono::Duration::days(MAX_DEPOSIT_WAIT_DAYS) {
        return Err(ApiError::validation(
            json!({ "until": format!("at most {MAX_DEPOSIT_WAIT_DAYS} days ahead") }),
        ));
    }
    let mut tx = state.infra.db.begin().await?;
    let expires: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "UPDATE ticket.reservations SET expires_at = $2
         WHERE id = $1 AND status = 'pending' AND expires_at > now()
         RETURNING expires_at",
    )
    .bind(id)
    .bind(body.until)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(expires) = expires else {
        tx.rollback().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT status FROM ticket.reservations WHERE id = $1")
                .bind(id)
                .fetch_optional(&state.infra.db)
                .await?;
        return Err(match exists {
            None => ApiError::not_found("reservation_not_found", "no such reservation"),
            Some(_) => ApiError::conflict(
                "reservation_expired",
                "the hold already lapsed or was cancelled",
            ),
        });
    };
    sqlx::query(
        "UPDATE ticket.seats SET held_until = $2
         WHERE holder_reservation_id = $1 AND status = 'held'",
    )
    .bind(id)
    .bind(expires)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AppJson(json!({ "expiresAt": expires })))
}

/// Optional body of a confirm.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ConfirmReservation)]
struct Confirm {
    payment_method: Option<String>,
}

/// Marks a reservation paid (payment service only; idempotent).
#[utoipa::path(
    post,
    path = "/internal/reservations/{id}/confirm",
    tag = "internal",
    params(("id" = Uuid, Path, description = "The reservation")),
    request_body = Option<Confirm>,
    responses(
        (status = 200, description = "`{reservation}`; a repeat answers the same", body = Object),
        (status = 400, description = "Malformed body (`invalid_body`, `validation_failed`) or Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No `X-Internal-Token` (`internal_token_missing`)", body = ErrorBody),
        (status = 403, description = "Wrong internal token (`internal_token_invalid`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "Cancelled (`reservation_cancelled`), expired (`reservation_expired`) or a seat is gone (`seat_unavailable`)", body = ErrorBody)
    ),
    security(("internal" = []))
)]
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
#[utoipa::path(
    post,
    path = "/internal/reservations/{id}/admission",
    tag = "internal",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "`{admitted: true}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No `X-Internal-Token` (`internal_token_missing`)", body = ErrorBody),
        (status = 403, description = "Wrong internal token (`internal_token_invalid`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "Not admitted (the queue's code)", body = ErrorBody)
    ),
    security(("internal" = []))
)]
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

/// Cancels a reservation and releases its inventory (payment service only; idempotent).
#[utoipa::path(
    post,
    path = "/internal/reservations/{id}/cancel",
    tag = "internal",
    operation_id = "internal_cancel_reservation",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "`{reservation}`; a repeat answers the same", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No `X-Internal-Token` (`internal_token_missing`)", body = ErrorBody),
        (status = 403, description = "Wrong internal token (`internal_token_invalid`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody)
    ),
    security(("internal" = []))
)]
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
