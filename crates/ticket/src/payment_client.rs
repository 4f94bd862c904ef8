//! The payment service's internal interface, as the ticket service calls it: refund whatever was
//! paid for a reservation through the one refund path (a fan cancelling a paid reservation, an
//! admin cancelling an event). Payment refunds at the provider, then cancels the reservation
//! through this service's internal interface, which releases the seats.

use std::time::Duration;

use serde_json::{Value, json};
use tiketi_core::ApiError;
use uuid::Uuid;

use crate::AppState;

/// Asks payment to refund `reservation_id` in full; returns its answer
/// (`{refunded, refundAmount, message}`).
pub async fn refund_reservation(
    state: &AppState,
    reservation_id: Uuid,
    reason: &str,
) -> Result<Value, ApiError> {
    let config = &state.infra.config;
    // Refunds wait on the provider (with its own retries), so this call may take a while.
    let client = tiketi_core::outbound::client(Duration::from_millis(
        config.payment.provider_timeout_ms * 3 + 5_000,
    ));
    let mut request = client
        .post(format!(
            "{}/internal/payments/refund-reservation",
            config.payment.payment_internal_url.trim_end_matches('/')
        ))
        .header(
            tiketi_core::internal::TOKEN_HEADER,
            config.inventory.internal_api_token.expose(),
        )
        .json(&json!({ "reservationId": reservation_id, "reason": reason }));
    if let Some(id) = tiketi_core::http::current_request_id() {
        request = request.header(tiketi_core::http::REQUEST_ID, id);
    }
    let unavailable = |why: String| {
        tracing::warn!(%reservation_id, why, "refund through payment failed");
        ApiError::unavailable(
            "payment_unavailable",
            "the refund could not be made right now; please retry",
        )
    };
    let response = request
        .send()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    if status.is_client_error()
        && status != axum::http::StatusCode::UNAUTHORIZED
        && status != axum::http::StatusCode::FORBIDDEN
    {
        // Payment's own refusal: pass it on as a conflict. A payment still being completed is
        // passed through as itself (409 `payment_in_progress` with `Retry-After`), so a client
        // knows to retry the cancel shortly rather than give up.
        let message = body["error"]
            .as_str()
            .unwrap_or("the refund was refused")
            .to_owned();
        if body["code"] == "payment_in_progress" {
            return Err(ApiError::conflict("payment_in_progress", message));
        }
        return Err(ApiError::conflict("refund_refused", message));
    }
    Err(unavailable(format!("payment answered {status}: {body}")))
}

/// Cancels a confirmed reservation the one way: refund through payment (which then cancels it
/// through the internal interface); a reservation confirmed without any payment (by an admin)
/// has nothing to refund and is cancelled here. Returns payment's answer.
pub async fn cancel_confirmed(
    state: &AppState,
    reservation_id: Uuid,
    reason: &str,
) -> Result<Value, ApiError> {
    let refund = refund_reservation(state, reservation_id, reason).await?;
    let mut tx = state.infra.db.begin().await?;
    let still_confirmed = crate::domain::reservation::lock(&mut tx, reservation_id)
        .await?
        .is_some_and(|r| r.status == "confirmed");
    let released = if still_confirmed {
        crate::domain::reservation::cancel(&mut tx, reservation_id).await?
    } else {
        None
    };
    tx.commit().await?;
    if let Some(released) = released {
        released.emit(&state.realtime);
    }
    Ok(refund)
}
