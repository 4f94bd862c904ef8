//! The ticket service's way into payment: `POST /internal/payments/refund-reservation` refunds
//! whatever was paid for a reservation through the one refund path (used when a fan cancels a
//! paid reservation and when an admin cancels an event). Not in the ALB path table; needs
//! `X-Internal-Token`.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::internal::InternalCaller;
use tiketi_core::{ApiResult, AppJson};
use uuid::Uuid;

use crate::AppState;
use crate::{flow, ledger};
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refund_reservation))
}

/// Body of `refund-reservation`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundReservation {
    reservation_id: Uuid,
    reason: Option<String>,
}

/// Refunds whatever was paid for a reservation (ticket service only).
#[utoipa::path(
    post,
    path = "/internal/payments/refund-reservation",
    tag = "internal",
    request_body = RefundReservation,
    responses(
        (status = 200, description = "`{refunded, ...}`: what was refunded, or that nothing was paid", body = Object),
        (status = 400, description = "Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No `X-Internal-Token` (`internal_token_missing`)", body = ErrorBody),
        (status = 403, description = "Wrong internal token (`internal_token_invalid`)", body = ErrorBody),
        (status = 409, description = "Charged but its tickets are still being issued (`payment_in_progress`): retry the cancel shortly", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The provider or the ticket service did not answer (`provider_unavailable`, `ticket_service_unavailable`), with `Retry-After`", body = ErrorBody)
    ),
    security(("internal" = []))
)]
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
    // `approved` was charged at the provider with its tickets still being issued: it goes to the
    // refund path too, which refuses it (409 `payment_in_progress`) so the cancel fails and is
    // retried once the payment completed. Answering "nothing was charged" here let the
    // reservation be cancelled under a payment that then completed: paid, no ticket, no refund.
    // A virtual account still waiting for its deposit is closed at the provider (so no money
    // arrives for a cancelled reservation) and the payment fails. In-doubt payments hold no
    // confirmed reservation and are resolved by the reconciler.
    if payment.status == "awaiting_deposit" {
        let _guard = state.inflight.lock(&payment.order_id).await;
        let outcome = flow::close_deposit(&state, &payment, &reason, "refund_reservation").await?;
        // "refunded": the deposit had arrived meanwhile and was refunded in full.
        let refunded = outcome == "refunded";
        return Ok(AppJson(json!({
            "refunded": refunded,
            "refundAmount": if refunded { payment.amount } else { 0 },
            "message": if refunded {
                "the deposit had arrived; it is refunded in full"
            } else {
                "the virtual account was closed; nothing was charged"
            },
        })));
    }
    if !matches!(
        payment.status.as_str(),
        "approved" | "completed" | "partially_refunded" | "refunded"
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
