//! `POST /api/payments/webhooks/toss`: TossPayments' payment-status notifications.
//!
//! A webhook is never believed on its own: the payment is looked up at the provider and only
//! that answer is acted on (so a forged notification changes nothing). Each notification is
//! recorded once, by the transmission id Toss sends (or a hash of the body); a replay is
//! refused with 409 `webhook_duplicate` and changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tiketi_core::{ApiError, ApiResult, AppJson};

use crate::AppState;
use crate::flow;
use crate::ledger;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(toss_webhook))
}

/// TossPayments' payment-status notification.
///
/// Not trusted on its own: the payment is looked up at Toss and only that answer is acted on.
#[utoipa::path(
    post,
    path = "/api/payments/webhooks/toss",
    tag = "payments",
    request_body = Object,
    responses(
        (status = 200, description = "`{received: true, action}`", body = Object),
        (status = 400, description = "Not JSON (`invalid_json`) or no `data.paymentKey` (`invalid_body`)", body = ErrorBody),
        (status = 404, description = "This deployment does not use Toss (`toss_not_configured`), or no such payment (`payment_not_found`)", body = ErrorBody),
        (status = 409, description = "Already received (`webhook_duplicate`)", body = ErrorBody),
        (status = 503, description = "Toss did not answer (`provider_unavailable`), with `Retry-After`", body = ErrorBody)
    )
)]
async fn toss_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<AppJson<Value>> {
    if state.provider.is_sandbox() {
        return Err(ApiError::not_found(
            "toss_not_configured",
            "this deployment does not use TossPayments",
        ));
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
    let payment_key = payload["data"]["paymentKey"]
        .as_str()
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| ApiError::bad_request("invalid_body", "data.paymentKey is required"))?
        .to_owned();
    let event_id = headers
        .get("tosspayments-webhook-transmission-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:x}", Sha256::digest(&body)));
    let fresh = sqlx::query(
        "INSERT INTO payment.webhook_events (provider, provider_event_id, payload) VALUES ('toss', $1, $2)
         ON CONFLICT ON CONSTRAINT webhook_events_pkey DO NOTHING",
    )
    .bind(&event_id)
    .bind(&payload)
    .execute(&state.infra.db)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        return Err(ApiError::conflict(
            "webhook_duplicate",
            "this notification was already received",
        ));
    }
    // Believe the provider, not the notification.
    let truth = state
        .provider
        .lookup_by_key(&payment_key)
        .await
        .map_err(|e| {
            ApiError::unavailable(
                "provider_unavailable",
                format!("cannot verify the notification: {e}"),
            )
        })?;
    let Some(truth) = truth else {
        return Err(ApiError::not_found(
            "payment_not_found",
            "the provider does not know this payment",
        ));
    };
    let Some(payment) = ledger::by_order(&state.infra.db, &truth.order_id).await? else {
        return Err(ApiError::not_found(
            "payment_not_found",
            "no such order here",
        ));
    };
    let action = match (payment.status.as_str(), truth.status.as_str()) {
        // The fan paid but never came back to confirm: finish it as confirm would.
        ("ready", "DONE") => {
            let payment = flow::record_approval(&state, &payment, &truth, "webhook").await?;
            let _ = flow::finish_approved(&state, payment).await;
            "finished"
        }
        // Refunded at the provider (its dashboard): record it through the one refund path's
        // bookkeeping and release the seats.
        ("completed" | "partially_refunded", "CANCELED") => {
            let refunded = truth.total_amount - truth.balance_amount;
            sqlx::query(
                "UPDATE payment.payments SET refunded_amount = $2, status = 'refunded'
                 WHERE id = $1 AND status IN ('completed', 'partially_refunded')",
            )
            .bind(payment.id)
            .bind(i32::try_from(refunded).unwrap_or(payment.amount))
            .execute(&state.infra.db)
            .await?;
            ledger::log(
                &state.infra.db,
                &payment,
                "webhook_refunded",
                json!({ "eventId": event_id }),
            )
            .await;
            let _ = state.ticket.cancel(payment.reservation_id).await;
            "refunded"
        }
        _ => {
            ledger::log(
                &state.infra.db,
                &payment,
                "webhook_noted",
                json!({ "eventId": event_id, "providerStatus": truth.status }),
            )
            .await;
            "noted"
        }
    };
    sqlx::query("UPDATE payment.webhook_events SET processed_at = now() WHERE provider = 'toss' AND provider_event_id = $1")
        .bind(&event_id)
        .execute(&state.infra.db)
        .await?;
    Ok(AppJson(json!({ "received": true, "action": action })))
}
