//! `POST /api/payments/webhooks/toss`: TossPayments' notifications: `PAYMENT_STATUS_CHANGED`
//! (`{eventType, data: {paymentKey, orderId, status, ...}}`) and the virtual account's
//! `DEPOSIT_CALLBACK` (`{orderId, status, secret, ...}`).
//!
//! A webhook is never believed on its own, and an unknown sender gets nothing cheap to abuse:
//! - the body is capped at [`WEBHOOK_MAX_BYTES`] and the route is rate-limited per IP
//!   (`RATE_LIMIT_WEBHOOK_PER_MINUTE_IP`);
//! - it is parsed first, and only a payment we know (by payment key or order id) goes further:
//!   an unknown order is refused without calling Toss, and a deposit callback whose `secret`
//!   differs from the one Toss gave us at confirm is refused the same way;
//! - a `PAYMENT_STATUS_CHANGED` whose `paymentKey` differs from the key stored for the order is
//!   refused without calling Toss;
//! - the payment is then looked up at Toss by our order id (never by the key the body claims)
//!   and only that answer is acted on (so a forged notification changes nothing);
//! - the transmission id Toss sends (or a hash of the body) is recorded only after the
//!   notification was verified and acted on (with the bookkeeping it caused, in one
//!   transaction, where the effect is a database write). A lookup that fails leaves nothing
//!   recorded, so Toss' retry of the same transmission is processed; a replay of a processed
//!   one is refused with 409 `webhook_duplicate` and changes nothing. Every effect is a guarded
//!   state change, so two copies racing each other do no harm either.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tiketi_core::{ApiError, ApiResult, AppJson};

use crate::AppState;
use crate::flow;
use crate::ledger::{self, Payment};
use crate::provider::ProviderPayment;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest notification accepted. Toss' notifications are a payment object (about 2 KiB
/// with a card's details) or a deposit callback (a few hundred bytes).
pub const WEBHOOK_MAX_BYTES: usize = 8 * 1024;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(toss_webhook))
        // Overrides the service-wide body limit for this route only.
        .layer(DefaultBodyLimit::max(WEBHOOK_MAX_BYTES))
}

/// What a notification claims, before anything is believed.
enum Notice {
    /// `PAYMENT_STATUS_CHANGED` (or any notification carrying a payment object).
    StatusChanged {
        payment_key: String,
        order_id: Option<String>,
    },
    /// `DEPOSIT_CALLBACK`: a virtual account's deposit (or its cancellation).
    Deposit { order_id: String, secret: String },
}

fn short(value: &Value) -> Option<String> {
    value
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_owned)
}

impl Notice {
    fn parse(payload: &Value) -> Result<Self, ApiError> {
        if payload["eventType"] == "DEPOSIT_CALLBACK"
            || (payload.get("data").is_none() && payload.get("secret").is_some())
        {
            let order_id =
                short(&payload["orderId"]).or_else(|| short(&payload["data"]["orderId"]));
            let secret = short(&payload["secret"]).or_else(|| short(&payload["data"]["secret"]));
            return match (order_id, secret) {
                (Some(order_id), Some(secret)) => Ok(Notice::Deposit { order_id, secret }),
                _ => Err(ApiError::bad_request(
                    "invalid_body",
                    "a deposit callback needs orderId and secret",
                )),
            };
        }
        let payment_key = short(&payload["data"]["paymentKey"])
            .ok_or_else(|| ApiError::bad_request("invalid_body", "data.paymentKey is required"))?;
        Ok(Notice::StatusChanged {
            payment_key,
            order_id: short(&payload["data"]["orderId"]),
        })
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("payment_not_found", "no such payment here")
}

fn provider_unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(
        "provider_unavailable",
        format!("cannot verify the notification: {e}"),
    )
}

/// TossPayments' payment-status and deposit notifications.
///
/// Not trusted on its own: only payments known here are looked up at Toss, and only Toss'
/// answer is acted on.
#[utoipa::path(
    post,
    path = "/api/payments/webhooks/toss",
    tag = "payments",
    request_body = Object,
    responses(
        (status = 200, description = "`{received: true, action}`", body = Object),
        (status = 400, description = "Not JSON (`invalid_json`) or neither `data.paymentKey` nor a deposit's `orderId` and `secret` (`invalid_body`)", body = ErrorBody),
        (status = 403, description = "A deposit callback whose secret is not this payment's (`webhook_unverified`)", body = ErrorBody),
        (status = 404, description = "This deployment does not use Toss (`toss_not_configured`), or no such payment here or at Toss (`payment_not_found`)", body = ErrorBody),
        (status = 409, description = "Already received and processed (`webhook_duplicate`)", body = ErrorBody),
        (status = 413, description = "Larger than a notification (`payload_too_large`)", body = ErrorBody),
        (status = 503, description = "Toss did not answer (`provider_unavailable`), with `Retry-After`; nothing was recorded, so the retry is processed", body = ErrorBody)
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
    let notice = Notice::parse(&payload)?;
    let event_id = headers
        .get("tosspayments-webhook-transmission-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:x}", Sha256::digest(&body)));
    let seen: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payment.webhook_events
                        WHERE provider = 'toss' AND provider_event_id = $1)",
    )
    .bind(&event_id)
    .fetch_one(&state.infra.db)
    .await?;
    if seen {
        return Err(ApiError::conflict(
            "webhook_duplicate",
            "this notification was already received",
        ));
    }

    // Only payments we know, and (for deposits) only with the secret Toss gave us: anything
    // else is refused here, without a call to Toss.
    let (payment, truth) = match &notice {
        Notice::StatusChanged {
            payment_key,
            order_id,
        } => {
            let known = match ledger::by_key(&state.infra.db, payment_key).await? {
                Some(p) => Some(p),
                None => match order_id {
                    Some(order_id) => ledger::by_order(&state.infra.db, order_id).await?,
                    None => None,
                },
            };
            let payment = known.ok_or_else(not_found)?;
            // A key other than the one stored for the order is not this payment's: refused
            // without a call to Toss (a forger knowing an order id must not make us spend one).
            if payment
                .payment_key
                .as_deref()
                .is_some_and(|stored| stored != payment_key)
            {
                ledger::log(
                    &state.infra.db,
                    &payment,
                    "webhook_unverified",
                    json!({ "eventId": event_id, "reason": "payment key differs" }),
                )
                .await;
                return Err(not_found());
            }
            // Believe the provider, not the notification, and ask about our order, never about
            // the key the body claims.
            let truth = state
                .provider
                .lookup_by_order(&payment.order_id)
                .await
                .map_err(provider_unavailable)?
                .filter(|t| t.order_id == payment.order_id)
                .ok_or_else(not_found)?;
            (payment, truth)
        }
        Notice::Deposit { order_id, secret } => {
            let payment = ledger::by_order(&state.infra.db, order_id)
                .await?
                .ok_or_else(not_found)?;
            let stored: Option<String> =
                sqlx::query_scalar("SELECT deposit_secret FROM payment.payments WHERE id = $1")
                    .bind(payment.id)
                    .fetch_one(&state.infra.db)
                    .await?;
            let matches = stored.is_some_and(|stored| {
                tiketi_core::internal::constant_time_eq(stored.as_bytes(), secret.as_bytes())
            });
            if !matches {
                ledger::log(
                    &state.infra.db,
                    &payment,
                    "webhook_unverified",
                    json!({ "eventId": event_id }),
                )
                .await;
                return Err(ApiError::forbidden(
                    "webhook_unverified",
                    "this deposit notification does not carry the payment's secret",
                ));
            }
            let truth = state
                .provider
                .lookup_by_order(order_id)
                .await
                .map_err(provider_unavailable)?
                .ok_or_else(not_found)?;
            (payment, truth)
        }
    };

    let action = act(&state, &payment, &truth, &event_id, &payload).await?;
    // Recorded after the effect (the refund bookkeeping records it in its own transaction).
    record(&state.infra.db, &event_id, &payload).await?;
    Ok(AppJson(json!({ "received": true, "action": action })))
}

/// Records a processed notification; a concurrent copy recorded first is fine (every effect is
/// a guarded state change). A deposit callback's `secret` is not kept with it.
async fn record<'e>(
    db: impl sqlx::PgExecutor<'e>,
    event_id: &str,
    payload: &Value,
) -> Result<(), sqlx::Error> {
    let mut payload = payload.clone();
    if let Some(map) = payload.as_object_mut() {
        map.remove("secret");
    }
    if let Some(map) = payload.get_mut("data").and_then(Value::as_object_mut) {
        map.remove("secret");
    }
    sqlx::query(
        "INSERT INTO payment.webhook_events (provider, provider_event_id, payload, processed_at)
         VALUES ('toss', $1, $2, now())
         ON CONFLICT ON CONSTRAINT webhook_events_pkey DO NOTHING",
    )
    .bind(event_id)
    .bind(&payload)
    .execute(db)
    .await?;
    Ok(())
}

/// Acts on what Toss says of `payment`.
async fn act(
    state: &AppState,
    payment: &Payment,
    truth: &ProviderPayment,
    event_id: &str,
    payload: &Value,
) -> Result<&'static str, ApiError> {
    let action = match (payment.status.as_str(), truth) {
        // Money taken: the deposit arrived, or the fan paid and the confirm's answer was lost.
        ("ready" | "awaiting_deposit", t) if t.is_approved() => {
            let payment = flow::record_approval(state, payment, truth, "webhook").await?;
            // Not finished now (the ticket service down): the reconciler finishes it.
            let _ = flow::finish_approved(state, payment).await;
            "finished"
        }
        ("ready", t) if t.is_awaiting_deposit() => {
            flow::record_deposit_wait(state, payment, truth, "webhook").await?;
            "awaiting_deposit"
        }
        // The virtual account expired or was cancelled without a deposit: release the seats.
        ("awaiting_deposit", t) if t.is_dead() => {
            flow::deposit_failed(state, payment, &t.status, "webhook").await?;
            "released"
        }
        // Money taken for a payment stored `failed` (its confirm's answer was lost): refund it.
        ("failed", t) if t.is_approved() => {
            flow::refund_unwanted_charge(state, payment, truth, "webhook").await?;
            "refunded"
        }
        // Refunded at the provider (its dashboard): record it through the one refund path's
        // bookkeeping and release the seats.
        ("completed" | "partially_refunded", t) if t.status == "CANCELED" => {
            let refunded = truth.total_amount - truth.balance_amount;
            let mut tx = state.infra.db.begin().await?;
            sqlx::query(
                "UPDATE payment.payments SET refunded_amount = $2, status = 'refunded'
                 WHERE id = $1 AND status IN ('completed', 'partially_refunded')",
            )
            .bind(payment.id)
            .bind(i32::try_from(refunded).unwrap_or(payment.amount))
            .execute(&mut *tx)
            .await?;
            ledger::log(
                &mut *tx,
                payment,
                "webhook_refunded",
                json!({ "eventId": event_id }),
            )
            .await;
            record(&mut *tx, event_id, payload).await?;
            tx.commit().await?;
            let _ = state.ticket.cancel(payment.reservation_id).await;
            "refunded"
        }
        _ => {
            ledger::log(
                &state.infra.db,
                payment,
                "webhook_noted",
                json!({ "eventId": event_id, "providerStatus": truth.status }),
            )
            .await;
            "noted"
        }
    };
    Ok(action)
}
