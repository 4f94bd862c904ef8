//! The ticket service's way into payment: `POST /internal/payments/refund-reservation` refunds
//! whatever was paid for a reservation through the one refund path (used when a fan cancels a
//! paid reservation and when an admin cancels an event). Not in the ALB path table; needs
//! `X-Internal-Token`.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::internal::InternalCaller;
use tiketi_core::{ApiResult, AppJson};
use uuid::Uuid;

use crate::AppState;
use crate::{flow, ledger};

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/internal/payments/refund-reservation",
        post(refund_reservation),
    )
}

/// Body of `refund-reservation`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundReservation {
    reservation_id: Uuid,
    reason: Option<String>,
}

async fn refund_reservation(
    State(state): State<AppState>,
    _caller: InternalCaller,
    AppJson(body): AppJson<RefundReservation>,
) -> ApiResult<AppJson<Value>> {
    let reason = body
        .reason
        .unwrap_or_else(|| "reservation cancelled".to_owned());
    let Some(payment) = ledger::by_reservation(&state.infra.db, body.reservation_id).await? else {
        return Ok(AppJson(
            json!({ "refunded": false, "refundAmount": 0, "message": "nothing was paid" }),
        ));
    };
    if !matches!(
        payment.status.as_str(),
        "completed" | "partially_refunded" | "refunded"
    ) {
        return Ok(AppJson(
            json!({ "refunded": false, "refundAmount": 0, "message": "nothing was charged" }),
        ));
    }
    let refund = flow::refund(&state, &payment.order_id, None, &reason).await?;
    Ok(AppJson(
        json!({ "refunded": true, "refundAmount": refund.amount, "message": refund.message }),
    ))
}
