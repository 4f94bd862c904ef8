//! The payment routes of the contract: `GET /config` (public: which provider, the widget's
//! client key), `POST /prepare`, `POST /confirm` (idempotent, with an
//! optional `Idempotency-Key`), `GET /order/:orderId`, `POST /:paymentKey/cancel` and the
//! sandbox-only `POST /process`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tiketi_core::auth::AuthUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::flow::{self, Answer, label};
use crate::ledger;
use crate::provider::sandbox;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_payment_config))
        .routes(routes!(prepare_payment))
        .routes(routes!(confirm_payment))
        .routes(routes!(get_order))
        .routes(routes!(cancel_payment))
        .routes(routes!(process_payment))
}

/// `GET /api/payments/config` (public): how a browser pays here, before any order exists.
/// `{provider: "sandbox"|"toss", clientKey, widget}`: with `toss` and `TOSS_CLIENT_KEY` set,
/// `widget` is true and `clientKey` is the key for TossPayments' browser SDK (a client key is
/// public by design; the secret key never leaves the server). The sandbox adds its methods.
#[utoipa::path(
    get,
    path = "/api/payments/config",
    tag = "payments",
    responses(
        (status = 200, description = "`{provider, widget, clientKey}`, plus `sandboxMethods` with the sandbox provider; never the secret key", body = Object)
    )
)]
async fn get_payment_config(State(state): State<AppState>) -> AppJson<Value> {
    let sandbox = state.provider.is_sandbox();
    let toss_key = state
        .infra
        .config
        .payment
        .toss_client_key
        .clone()
        .filter(|_| !sandbox);
    let mut answer = json!({
        "provider": state.provider.name(),
        "widget": toss_key.is_some(),
        "clientKey": if sandbox { Some("sandbox".to_owned()) } else { toss_key },
    });
    if sandbox {
        answer["sandboxMethods"] = json!(sandbox::METHODS);
    }
    AppJson(label(&state, answer))
}

/// Body of `POST /prepare`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PreparePayment)]
pub struct Prepare {
    reservation_id: Uuid,
    amount: i64,
}

/// Opens a payment (an order id) for the caller's pending reservation.
#[utoipa::path(
    post,
    path = "/api/payments/prepare",
    tag = "payments",
    request_body = Prepare,
    responses(
        (status = 201, description = "`{orderId, amount, clientKey, provider, sandboxMethods?}`", body = Object),
        (status = 400, description = "Amount differs from the reservation's (`amount_mismatch`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Not the caller's reservation (`not_your_reservation`) or not admitted (`not_admitted`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "The reservation is not payable (`reservation_not_payable`, `reservation_not_pending`, `reservation_expired`, `event_cancelled`) or a payment is in progress (`payment_in_progress`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The provider or the ticket service did not answer (`provider_unavailable`, `ticket_service_unavailable`), with `Retry-After`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn prepare_payment(
    State(state): State<AppState>,
    caller: AuthUser,
    AppJson(body): AppJson<Prepare>,
) -> ApiResult<Response> {
    let payment = flow::prepare(&state, &caller, body.reservation_id, body.amount).await?;
    let client_key = state
        .infra
        .config
        .payment
        .toss_client_key
        .clone()
        .filter(|_| !state.provider.is_sandbox())
        .unwrap_or_else(|| "sandbox".to_owned());
    let mut answer = json!({
        "orderId": payment.order_id,
        "amount": payment.amount,
        "clientKey": client_key,
        "provider": state.provider.name(),
    });
    if state.provider.is_sandbox() {
        answer["sandboxMethods"] = json!(sandbox::METHODS);
    }
    Ok((StatusCode::CREATED, AppJson(label(&state, answer))).into_response())
}

/// Body of `POST /confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ConfirmPayment)]
pub struct Confirm {
    payment_key: String,
    order_id: String,
    amount: i64,
}

/// Replays the stored answer for a repeated `Idempotency-Key`, or refuses a key reused for a
/// different request.
async fn idempotent<F>(
    state: &AppState,
    caller: &AuthUser,
    headers: &HeaderMap,
    request: &Value,
    run: F,
) -> ApiResult<Answer>
where
    F: std::future::Future<Output = ApiResult<Answer>>,
{
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    else {
        return run.await;
    };
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 200 characters",
        ));
    }
    let hash = Sha256::digest(request.to_string().as_bytes()).to_vec();
    sqlx::query(
        "INSERT INTO payment.idempotency_keys (user_id, idempotency_key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING",
    )
    .bind(caller.id)
    .bind(key)
    .bind(&hash)
    .execute(&state.infra.db)
    .await?;
    let (stored_hash, status, body): (Vec<u8>, Option<i32>, Option<Value>) = sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM payment.idempotency_keys
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(caller.id)
    .bind(key)
    .fetch_one(&state.infra.db)
    .await?;
    if stored_hash != hash {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        ));
    }
    if let (Some(status), Some(body)) = (status, body) {
        return Ok(Answer {
            status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
            body,
        });
    }
    let answer = run.await?;
    // A virtual account's 202 is not the outcome yet (the deposit is): not stored, so a repeat
    // with this key asks again and sees the tickets once the money arrived.
    if answer.status == StatusCode::ACCEPTED {
        return Ok(answer);
    }
    sqlx::query(
        "UPDATE payment.idempotency_keys SET response_status = $3, response_body = $4, updated_at = now()
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(caller.id)
    .bind(key)
    .bind(i32::from(answer.status.as_u16()))
    .bind(&answer.body)
    .execute(&state.infra.db)
    .await?;
    Ok(answer)
}

/// Confirms a payment with the provider and the reservation with the ticket service.
///
/// Idempotent: a repeat with the same `Idempotency-Key` answers the stored result.
#[utoipa::path(
    post,
    path = "/api/payments/confirm",
    tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key replays the first answer")),
    request_body = Confirm,
    responses(
        (status = 200, description = "`{message, payment, reservation?}`", body = Object),
        (status = 202, description = "A virtual account was issued and waits for the fan's deposit: `{success: false, status: \"awaiting_deposit\", code, message, payment: {orderId, paymentKey, amount, method, depositDueAt}, reservation}`; the hold is kept until `depositDueAt` and the tickets are issued when the money arrives", body = Object),
        (status = 400, description = "Malformed key (`invalid_idempotency_key`), amount mismatch (`amount_mismatch`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Not the caller's payment", body = ErrorBody),
        (status = 404, description = "No such order (`payment_not_found`)", body = ErrorBody),
        (status = 409, description = "The key was used for another request (`idempotency_key_reused`), the payment cannot be confirmed (`payment_not_confirmable`, `payment_key_mismatch`, `payment_key_in_use`, `payment_state_changed`), is in progress (`payment_in_progress`), the event was cancelled (`event_cancelled`, nothing charged) or the provider refused the confirm without declining it, so whether it charged is being checked (`payment_in_doubt`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The provider or the ticket service did not answer (`provider_unavailable`, `ticket_service_unavailable`), with `Retry-After`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn confirm_payment(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    AppJson(body): AppJson<Confirm>,
) -> ApiResult<Answer> {
    let request =
        json!({ "paymentKey": body.payment_key, "orderId": body.order_id, "amount": body.amount });
    let run = flow::confirm(
        &state,
        &caller,
        &body.payment_key,
        &body.order_id,
        body.amount,
    );
    idempotent(&state, &caller, &headers, &request, run).await
}

/// One of the caller's payments by order id.
#[utoipa::path(
    get,
    path = "/api/payments/order/{order_id}",
    tag = "payments",
    params(("order_id" = String, Path, description = "The order id from `/prepare`")),
    responses(
        (status = 200, description = "`{payment}`: the original's row (`id, order_id, payment_key, amount, method, status` (`pending`, `confirmed`, `failed`, `refunded`)`, toss_status, toss_approved_at, toss_receipt_url, created_at, updated_at, reservation_number, reservation_amount`), our status word in `ledger_status`, and our camelCase fields", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 404, description = "No such payment of the caller (`payment_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_order(
    State(state): State<AppState>,
    caller: AuthUser,
    AppPath(order_id): AppPath<String>,
) -> ApiResult<AppJson<Value>> {
    let payment = ledger::by_order(&state.infra.db, &order_id)
        .await?
        .filter(|p| p.user_id == caller.id || caller.is_admin())
        .ok_or_else(|| ApiError::not_found("payment_not_found", "no such order"))?;
    // The original's row (snake_case, with its reservation's number and total and the
    // original's status word), our camelCase object beside it.
    let (number, reservation_amount, updated_at): (
        Option<String>,
        Option<i32>,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT r.reservation_number, r.total_amount, p.updated_at
           FROM payment.payments p
           LEFT JOIN ticket.reservations r ON r.id = p.reservation_id
          WHERE p.id = $1",
    )
    .bind(payment.id)
    .fetch_one(&state.infra.db)
    .await?;
    let mut row = json!({
        "id": payment.id,
        "order_id": payment.order_id,
        "payment_key": payment.payment_key,
        "amount": payment.amount,
        "method": payment.method,
        "status": ledger::original_status(&payment.status),
        "toss_status": ledger::provider_status(&payment.status),
        "toss_approved_at": payment.approved_at,
        "toss_receipt_url": payment.receipt_url,
        "created_at": payment.created_at,
        "updated_at": updated_at,
        "reservation_number": number,
        "reservation_amount": reservation_amount,
        "ledger_status": payment.status,
    });
    if let (Some(obj), Value::Object(ours)) = (row.as_object_mut(), payment.public()) {
        for (k, v) in ours {
            obj.entry(k).or_insert(v);
        }
    }
    Ok(AppJson(label(&state, json!({ "payment": row }))))
}

/// Body of `POST /:paymentKey/cancel`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CancelPayment)]
pub struct Cancel {
    cancel_reason: Option<String>,
    /// A partial refund; the whole remaining amount when absent.
    cancel_amount: Option<i64>,
}

/// Refunds one of the caller's payments; admins may refund any payment, and in part.
#[utoipa::path(
    post,
    path = "/api/payments/{payment_key}/cancel",
    tag = "payments",
    params(("payment_key" = String, Path, description = "The provider's payment key")),
    request_body = Cancel,
    responses(
        (status = 200, description = "`{success, message, refundAmount}`", body = Object),
        (status = 400, description = "Invalid amount (`invalid_refund_amount`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "A partial refund asked by someone who is not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such payment of the caller (`payment_not_found`)", body = ErrorBody),
        (status = 409, description = "Not refundable (`not_refundable`), the event has started or ended and only an admin refunds now (`refund_window_closed`), a refund is pending (`refund_pending`) or was refused (`refund_rejected`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The provider or the ticket service did not answer (`provider_unavailable`, `ticket_service_unavailable`), with `Retry-After`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn cancel_payment(
    State(state): State<AppState>,
    caller: AuthUser,
    AppPath(payment_key): AppPath<String>,
    AppJson(body): AppJson<Cancel>,
) -> ApiResult<AppJson<Value>> {
    let payment = ledger::by_key(&state.infra.db, &payment_key)
        .await?
        .filter(|p| p.user_id == caller.id || caller.is_admin())
        .ok_or_else(|| ApiError::not_found("payment_not_found", "no such payment"))?;
    if body.cancel_amount.is_some() && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "admin_only",
            "only admins make partial refunds",
        ));
    }
    // A fan's refund window closes when the show starts (or the event ended): a full refund of
    // a ticket already used is not the fan's to take. Admins still refund, and an event's
    // cancellation refunds everyone through the internal route.
    if !caller.is_admin() {
        flow::ensure_refund_window_open(&state, payment.reservation_id).await?;
    }
    let reason = body
        .cancel_reason
        .unwrap_or_else(|| "cancelled by the customer".to_owned());
    let refund = flow::refund(&state, &payment.order_id, body.cancel_amount, &reason).await?;
    Ok(AppJson(label(
        &state,
        json!({ "success": true, "message": refund.message, "refundAmount": refund.amount }),
    )))
}

/// Body of `POST /process`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ProcessPayment)]
pub struct Process {
    reservation_id: Uuid,
    payment_method: String,
}

/// The old one-step payment: prepare and confirm with a sandbox method. Only the sandbox may
/// settle this way (the old service let it mark anything paid in production).
#[utoipa::path(
    post,
    path = "/api/payments/process",
    tag = "payments",
    request_body = Process,
    responses(
        (status = 200, description = "`{message, payment, reservation}`", body = Object),
        (status = 400, description = "Unknown sandbox method (`validation_failed`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Only with the sandbox provider (`sandbox_only`), or not the caller's reservation", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "The reservation is not payable", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The provider or the ticket service did not answer (`provider_unavailable`, `ticket_service_unavailable`), with `Retry-After`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn process_payment(
    State(state): State<AppState>,
    caller: AuthUser,
    AppJson(body): AppJson<Process>,
) -> ApiResult<Response> {
    if !state.provider.is_sandbox() {
        return Err(ApiError::forbidden(
            "sandbox_only",
            "this payment route works only with the sandbox provider",
        ));
    }
    if !sandbox::METHODS.contains(&body.payment_method.as_str()) {
        return Err(ApiError::validation(json!({
            "paymentMethod": format!("one of {}", sandbox::METHODS.join(", "))
        })));
    }
    let r = flow::reservation(&state, body.reservation_id)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    let payment = flow::prepare(
        &state,
        &caller,
        body.reservation_id,
        i64::from(r.total_amount),
    )
    .await?;
    let key = payment
        .payment_key
        .clone()
        .unwrap_or_else(|| sandbox::payment_key_for(&body.payment_method));
    let answer = flow::confirm(
        &state,
        &caller,
        &key,
        &payment.order_id,
        i64::from(payment.amount),
    )
    .await?;
    if !answer.status.is_success() {
        return Ok(answer.into_response());
    }
    let method = answer.body["payment"]["method"].clone();
    Ok(AppJson(label(
        &state,
        json!({
            "success": true,
            "message": "payment completed",
            "payment": {
                "id": payment.id,
                "orderId": payment.order_id,
                "amount": payment.amount,
                "method": method,
                "reservationNumber": r.reservation_number,
            },
        }),
    ))
    .into_response())
}
