//! The payment routes of the contract: `GET /config` (public: which provider, the widget's
//! client key), `POST /prepare`, `POST /confirm` (idempotent, with an
//! optional `Idempotency-Key`), `GET /order/:orderId`, `POST /:paymentKey/cancel` and the
//! sandbox-only `POST /process`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/payments/config", get(get_payment_config))
        .route("/api/payments/prepare", post(prepare_payment))
        .route("/api/payments/confirm", post(confirm_payment))
        .route("/api/payments/order/{order_id}", get(get_order))
        .route("/api/payments/{payment_key}/cancel", post(cancel_payment))
        .route("/api/payments/process", post(process_payment))
}

/// `GET /api/payments/config` (public): how a browser pays here, before any order exists.
/// `{provider: "sandbox"|"toss", clientKey, widget}`: with `toss` and `TOSS_CLIENT_KEY` set,
/// `widget` is true and `clientKey` is the key for TossPayments' browser SDK (a client key is
/// public by design; the secret key never leaves the server). The sandbox adds its methods.
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prepare {
    reservation_id: Uuid,
    amount: i64,
}

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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
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

async fn get_order(
    State(state): State<AppState>,
    caller: AuthUser,
    AppPath(order_id): AppPath<String>,
) -> ApiResult<AppJson<Value>> {
    let payment = ledger::by_order(&state.infra.db, &order_id)
        .await?
        .filter(|p| p.user_id == caller.id || caller.is_admin())
        .ok_or_else(|| ApiError::not_found("payment_not_found", "no such order"))?;
    Ok(AppJson(label(
        &state,
        json!({ "payment": payment.public() }),
    )))
}

/// Body of `POST /:paymentKey/cancel`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancel {
    cancel_reason: Option<String>,
    /// A partial refund; the whole remaining amount when absent.
    cancel_amount: Option<i64>,
}

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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    reservation_id: Uuid,
    payment_method: String,
}

/// The old one-step payment: prepare and confirm with a sandbox method. Only the sandbox may
/// settle this way (the old service let it mark anything paid in production).
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
