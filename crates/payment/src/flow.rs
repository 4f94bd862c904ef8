//! The payment flows: prepare, confirm, finish (tickets or refund) and refund. Every route, the
//! webhook handler and the reconciler go through these functions, so there is one way to charge
//! and one way to give money back.
//!
//! Rules kept here:
//! - the provider is called outside any database transaction;
//! - the outcome is recorded before the reservation is confirmed through the ticket service, so
//!   a crash in between leaves an `approved` payment for the reconciler, never a lost charge;
//! - within a process, one order is worked on by one task at a time ([`InFlight`]); across
//!   replicas the provider's idempotency (by order id) and guarded `UPDATE ... WHERE status = ...`
//!   statements make concurrent confirms converge on one charge and one stored answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tiketi_core::ApiError;
use tiketi_core::auth::AuthUser;
use uuid::Uuid;

use crate::AppState;
use crate::ledger::{self, Payment};
use crate::provider::{ProviderError, ProviderPayment};
use crate::ticket_client::TicketAnswer;

/// An answer to a confirm, stored with the payment and replayed to every repeat.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Value,
}

impl Answer {
    fn to_stored(&self) -> Value {
        json!({ "status": self.status.as_u16(), "body": self.body })
    }

    fn from_stored(stored: &Value) -> Self {
        let mut body = stored["body"].clone();
        // Refusals stored before they carried `message` get it on replay, as new ones have it.
        if let Some(obj) = body.as_object_mut()
            && !obj.contains_key("message")
            && let Some(error) = obj.get("error").cloned()
        {
            obj.insert("message".into(), error);
        }
        Self {
            status: stored["status"]
                .as_u64()
                .and_then(|s| StatusCode::from_u16(s as u16).ok())
                .unwrap_or(StatusCode::OK),
            body,
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// One task per order id at a time, within this process.
#[derive(Debug, Default)]
pub struct InFlight {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while working on an order; forgets the order's lock when nobody else waits for it.
pub struct InFlightGuard<'a> {
    owner: &'a InFlight,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut locks = self.owner.locks.lock().unwrap_or_else(|p| p.into_inner());
        // The map's copy, ours, and the guard's: nobody else is waiting.
        if Arc::strong_count(&self.lock) <= 3 {
            locks.remove(&self.key);
        }
    }
}

impl InFlight {
    /// Waits until no other task in this process works on `key`.
    pub async fn lock(&self, key: &str) -> InFlightGuard<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(key.to_owned()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        InFlightGuard {
            owner: self,
            key: key.to_owned(),
            lock,
            _guard: guard,
        }
    }
}

/// Adds the sandbox's "no money moved" label to an answer.
pub fn label(state: &AppState, mut body: Value) -> Value {
    if state.provider.is_sandbox()
        && let Some(obj) = body.as_object_mut()
    {
        obj.insert("sandbox".into(), json!(true));
        obj.insert("notice".into(), json!("Sandbox payment: no money moved."));
    }
    body
}

/// The reservation as payment needs it (read from the ticket schema; never written here).
#[derive(Debug, sqlx::FromRow)]
pub struct ReservationView {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Won.
    pub total_amount: i32,
    /// pending, confirmed, cancelled, expired.
    pub status: String,
    /// When the hold lapses.
    pub expires_at: DateTime<Utc>,
    /// For receipts.
    pub reservation_number: String,
    /// Its event's status (`cancelled`: nothing may be charged for it).
    pub event_status: String,
}

/// Reads a reservation (and its event's status).
pub async fn reservation(state: &AppState, id: Uuid) -> Result<Option<ReservationView>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.user_id, r.event_id, r.total_amount, r.status, r.expires_at,
                r.reservation_number, e.status AS event_status
         FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.infra.db)
    .await?)
}

fn new_order_id() -> String {
    format!("TKT-{}", Uuid::new_v4().simple())
}

fn event_cancelled() -> ApiError {
    ApiError::conflict(
        "event_cancelled",
        "this event was cancelled; nothing can be paid for it",
    )
}

/// `prepare`: one payment per reservation; repeated calls return the same order. A payment that
/// failed (declined) is given a fresh order id so the fan can try again; one whose outcome is
/// unknown (`ready` with a key, `awaiting_deposit`) never is: the same order is returned until
/// the reconciler or a webhook settles it, so a second charge under a new order id cannot happen.
pub async fn prepare(
    state: &AppState,
    caller: &AuthUser,
    reservation_id: Uuid,
    amount: i64,
) -> Result<Payment, ApiError> {
    let r = reservation(state, reservation_id)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    if r.user_id != caller.id {
        return Err(ApiError::forbidden(
            "not_your_reservation",
            "this reservation belongs to someone else",
        ));
    }
    if r.event_status == "cancelled" {
        return Err(event_cancelled());
    }
    if r.status != "pending" {
        return Err(ApiError::conflict(
            "reservation_not_pending",
            format!("this reservation is {} and cannot be paid", r.status),
        ));
    }
    if r.expires_at <= Utc::now() {
        return Err(ApiError::conflict(
            "reservation_expired",
            "the hold on these tickets has expired",
        ));
    }
    if amount != i64::from(r.total_amount) {
        return Err(ApiError::bad_request(
            "amount_mismatch",
            format!(
                "the amount must equal the reservation total ({} won)",
                r.total_amount
            ),
        ));
    }
    // Paying, like holding, needs an admission from the event's waiting room (if it has one).
    match state.ticket.check_admission(reservation_id).await {
        Ok(TicketAnswer::Ok) => {}
        Ok(TicketAnswer::Refused(code)) if code == "not_admitted" => {
            return Err(ApiError::forbidden(
                "not_admitted",
                "your turn in the waiting room has ended; join the queue again to pay",
            ));
        }
        Ok(TicketAnswer::Refused(code)) => {
            return Err(ApiError::conflict(
                "reservation_not_payable",
                format!("this reservation cannot be paid ({code})"),
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot check admission with the ticket service");
            return Err(ApiError::unavailable(
                "ticket_service_unavailable",
                "please retry in a moment",
            ));
        }
    }
    sqlx::query(
        "INSERT INTO payment.payments (order_id, reservation_id, user_id, amount, provider)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ON CONSTRAINT payments_reservation_id_key DO NOTHING",
    )
    .bind(new_order_id())
    .bind(reservation_id)
    .bind(caller.id)
    .bind(r.total_amount)
    .bind(state.provider.name())
    .execute(&state.infra.db)
    .await?;
    // A declined attempt starts over under a new order id (providers want a fresh one).
    sqlx::query(
        "UPDATE payment.payments
         SET order_id = $2, status = 'ready', payment_key = NULL, confirm_response = NULL,
             failure_code = NULL, failure_message = NULL, method = NULL
         WHERE reservation_id = $1 AND status = 'failed'",
    )
    .bind(reservation_id)
    .bind(new_order_id())
    .execute(&state.infra.db)
    .await?;
    let payment = ledger::by_reservation(&state.infra.db, reservation_id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("payment vanished after insert")))?;
    ledger::log(
        &state.infra.db,
        &payment,
        "prepared",
        json!({ "amount": payment.amount }),
    )
    .await;
    Ok(payment)
}

fn success_body(state: &AppState, payment: &Payment) -> Value {
    label(
        state,
        json!({
            "success": true,
            "message": "payment confirmed; your tickets are issued",
            "payment": {
                "orderId": payment.order_id,
                "paymentKey": payment.payment_key,
                "amount": payment.amount,
                "method": payment.method,
                "approvedAt": payment.approved_at,
                "receiptUrl": payment.receipt_url,
            },
            "reservation": { "id": payment.reservation_id, "status": "confirmed" },
        }),
    )
}

fn failure(
    state: &AppState,
    status: StatusCode,
    code: &str,
    message: &str,
    extra: Value,
) -> Answer {
    // `message` beside `error`: the original client shows `message` of a refused confirm.
    let mut body = json!({ "success": false, "error": message, "message": message, "code": code });
    if let (Some(obj), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        obj.extend(extra.clone());
    }
    Answer {
        status,
        body: label(state, body),
    }
}

/// Stores a final answer unless another task stored one first; returns the stored one.
async fn store_answer(
    state: &AppState,
    payment: &Payment,
    answer: Answer,
    new_status: &str,
    from_status: &str,
) -> Result<Answer, ApiError> {
    let stored: Option<Value> = sqlx::query_scalar(
        "UPDATE payment.payments SET confirm_response = $2, status = $3
         WHERE id = $1 AND status = $4 AND confirm_response IS NULL
         RETURNING confirm_response",
    )
    .bind(payment.id)
    .bind(answer.to_stored())
    .bind(new_status)
    .bind(from_status)
    .fetch_optional(&state.infra.db)
    .await?;
    if stored.is_some() {
        ledger::log(
            &state.infra.db,
            payment,
            new_status,
            json!({ "answer": answer.to_stored() }),
        )
        .await;
        return Ok(answer);
    }
    let current = ledger::by_order(&state.infra.db, &payment.order_id).await?;
    match current.and_then(|p| p.confirm_response) {
        Some(stored) => Ok(Answer::from_stored(&stored)),
        None => Err(ApiError::conflict(
            "payment_state_changed",
            "the payment changed while confirming; retry",
        )),
    }
}

/// `confirm`: charge once, record, then issue tickets (or refund). Repeats return the first answer.
pub async fn confirm(
    state: &AppState,
    caller: &AuthUser,
    payment_key: &str,
    order_id: &str,
    amount: i64,
) -> Result<Answer, ApiError> {
    let _guard = state.inflight.lock(order_id).await;
    let payment = ledger::by_order(&state.infra.db, order_id)
        .await?
        .filter(|p| p.user_id == caller.id)
        .ok_or_else(|| ApiError::not_found("payment_not_found", "no such order"))?;
    if let Some(stored) = &payment.confirm_response {
        return Ok(Answer::from_stored(stored));
    }
    if amount != i64::from(payment.amount) {
        ledger::log(
            &state.infra.db,
            &payment,
            "amount_mismatch_refused",
            json!({ "sent": amount }),
        )
        .await;
        return Err(ApiError::bad_request(
            "amount_mismatch",
            format!(
                "the amount must equal the order amount ({} won)",
                payment.amount
            ),
        ));
    }
    match payment.status.as_str() {
        "ready" => {}
        // Approved earlier but tickets not yet issued (a crash, the ticket service down): resume.
        "approved" => return finish_approved(state, payment).await,
        // A virtual account is waiting for the fan's bank transfer: say so again.
        "awaiting_deposit" => {
            if payment.payment_key.as_deref() != Some(payment_key) {
                return Err(ApiError::conflict(
                    "payment_key_mismatch",
                    "this order is being paid with another payment key",
                ));
            }
            return awaiting_deposit_answer(state, &payment).await;
        }
        other => {
            return Err(ApiError::conflict(
                "payment_not_confirmable",
                format!("this payment is {other} and cannot be confirmed"),
            ));
        }
    }
    if payment
        .payment_key
        .as_deref()
        .is_some_and(|k| k != payment_key)
    {
        return Err(ApiError::conflict(
            "payment_key_mismatch",
            "this order is being paid with another payment key",
        ));
    }
    if payment_key.is_empty() || payment_key.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid_payment_key",
            "paymentKey must be 1 to 200 characters",
        ));
    }
    if payment.payment_key.is_none() {
        // Remember the key before calling the provider: the reconciler can then look it up.
        sqlx::query(
            "UPDATE payment.payments SET payment_key = $2 WHERE id = $1 AND payment_key IS NULL",
        )
        .bind(payment.id)
        .bind(payment_key)
        .execute(&state.infra.db)
        .await
        .map_err(|e| {
            ApiError::from_db(
                e,
                &[("payments_payment_key_key", || {
                    ApiError::conflict(
                        "payment_key_in_use",
                        "this payment key belongs to another order",
                    )
                })],
            )
        })?;
    }

    // Charge nothing for a hold that is already gone, or for a cancelled event. But an earlier
    // confirm of this order may have reached the provider and lost its answer (its key was
    // stored before the call; an in-doubt refusal left `failure_code`): then "nothing was
    // charged" is only known after asking the provider.
    let r = reservation(state, payment.reservation_id).await?;
    let gone = r.as_ref().is_none_or(|r| {
        r.event_status == "cancelled" || r.status != "pending" || r.expires_at <= Utc::now()
    });
    if gone
        && earlier_attempt_may_have_charged(state, &payment).await?
        && let Some(answer) = settle_earlier_attempt(state, &payment).await?
    {
        return Ok(answer);
    }
    if r.as_ref().is_some_and(|r| r.event_status == "cancelled") {
        let answer = failure(
            state,
            StatusCode::CONFLICT,
            "event_cancelled",
            "this event was cancelled; nothing was charged",
            json!({}),
        );
        return store_answer(state, &payment, answer, "failed", "ready").await;
    }
    if r.as_ref()
        .is_none_or(|r| r.status != "pending" || r.expires_at <= Utc::now())
    {
        let answer = failure(
            state,
            StatusCode::CONFLICT,
            "reservation_expired",
            "the hold on these tickets expired before payment; nothing was charged",
            json!({}),
        );
        return store_answer(state, &payment, answer, "failed", "ready").await;
    }

    ledger::log(
        &state.infra.db,
        &payment,
        "provider_confirm_requested",
        json!({ "paymentKey": payment_key }),
    )
    .await;
    let ask = async {
        match state.provider.confirm(payment_key, order_id, amount).await {
            Err(ProviderError::Timeout | ProviderError::Unavailable(_)) => {
                // The answer may have been lost after the charge: ask before concluding anything.
                ledger::log(
                    &state.infra.db,
                    &payment,
                    "provider_confirm_unanswered",
                    json!({}),
                )
                .await;
                match lookup(state, &payment, "confirm").await {
                    Ok(Some(found))
                        if (found.is_approved() || found.is_awaiting_deposit())
                            && found.payment_key == payment_key =>
                    {
                        Ok(found)
                    }
                    Ok(_) => Err(ProviderError::Timeout),
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    };
    // The provider's retries and the lookup together may take longer than the request may:
    // stop asking in time to answer 503 ourselves. Nothing is lost by giving up: the payment
    // stays `ready` with its key, the provider's idempotency makes a repeat safe, and the
    // reconciler looks the order up later.
    let budget = provider_budget(&state.infra.config);
    let outcome = match tokio::time::timeout(budget, ask).await {
        Ok(outcome) => outcome,
        Err(_) => {
            ledger::log(
                &state.infra.db,
                &payment,
                "provider_confirm_gave_up",
                json!({ "afterMs": budget.as_millis() as u64 }),
            )
            .await;
            Err(ProviderError::Timeout)
        }
    };
    match outcome {
        // A virtual account: the provider said yes, but no money moved yet. Keep the hold until
        // the deposit (or its due date); tickets come with the deposit, never before.
        Ok(waiting) if waiting.is_awaiting_deposit() => {
            metrics::counter!("payment_outcomes_total", "outcome" => "awaiting_deposit")
                .increment(1);
            let payment = record_deposit_wait(state, &payment, &waiting, "confirm").await?;
            match payment.status.as_str() {
                "awaiting_deposit" => awaiting_deposit_answer(state, &payment).await,
                // The deposit arrived meanwhile (a webhook): finish as usual.
                "approved" => finish_approved(state, payment).await,
                _ => match payment.confirm_response.as_ref() {
                    Some(stored) => Ok(Answer::from_stored(stored)),
                    None => awaiting_deposit_answer(state, &payment).await,
                },
            }
        }
        // Only `DONE` (money taken) issues tickets; any other 2xx status is not a payment yet.
        Ok(other) if !other.is_approved() => {
            metrics::counter!("payment_outcomes_total", "outcome" => "unknown").increment(1);
            in_doubt(state, &payment, "UNEXPECTED_STATUS", &other.status).await
        }
        Ok(approved) => {
            let payment = record_approval(state, &payment, &approved, "confirm").await?;
            if state.infra.config.payment.fault.as_deref() == Some("crash_after_approval") {
                tracing::error!(
                    order_id,
                    "PAYMENT_FAULT=crash_after_approval: aborting the process"
                );
                std::process::abort();
            }
            finish_approved(state, payment).await
        }
        Err(ProviderError::Declined { code, message }) => {
            metrics::counter!("payment_outcomes_total", "outcome" => "declined").increment(1);
            // The method the fan chose, where the declined attempt tells it: a sandbox key
            // names it (`sandbox_<method>_...`). A provider's decline carries none, so a real
            // provider's declined payment keeps no method (`unknown` in the stats).
            let method = state
                .provider
                .is_sandbox()
                .then(|| crate::provider::sandbox::method_of(payment_key))
                .flatten();
            sqlx::query(
                "UPDATE payment.payments
                    SET failure_code = $2, failure_message = $3, method = COALESCE(method, $4)
                  WHERE id = $1",
            )
            .bind(payment.id)
            .bind(&code)
            .bind(&message)
            .bind(method)
            .execute(&state.infra.db)
            .await?;
            let answer = failure(
                state,
                StatusCode::PAYMENT_REQUIRED,
                "payment_declined",
                "the payment was declined; nothing was charged",
                json!({ "providerCode": code }),
            );
            store_answer(state, &payment, answer, "failed", "ready").await
        }
        // A refusal that is not a decline (`ALREADY_PROCESSED_PAYMENT`, `PROVIDER_ERROR`, a
        // 409...) says nothing about whether the order was charged: another replica's confirm of
        // the same order may be charging it right now. Never `failed` (the reconciler skips
        // those and `prepare` would reopen it under a new order id: a second charge); the
        // payment stays `ready` with its key, in doubt, until a lookup by order id settles it.
        Err(ProviderError::Rejected { code, message }) => {
            metrics::counter!("payment_outcomes_total", "outcome" => "rejected").increment(1);
            in_doubt(state, &payment, &code, &message).await
        }
        Err(e) => {
            metrics::counter!("payment_outcomes_total", "outcome" => "unknown").increment(1);
            tracing::warn!(order_id, error = %e, "payment provider did not answer");
            Err(ApiError::unavailable(
                "provider_unavailable",
                "the payment provider did not answer; nothing is confirmed yet, please retry",
            ))
        }
    }
}

/// True when an earlier confirm of `payment` (as read before this one) may have reached the
/// provider: its payment key was stored (that happens just before the provider is called), a
/// refusal left it in doubt, or a provider call is in its log.
async fn earlier_attempt_may_have_charged(
    state: &AppState,
    payment: &Payment,
) -> Result<bool, ApiError> {
    if payment.payment_key.is_some() {
        return Ok(true);
    }
    Ok(sqlx::query_scalar(
        "SELECT p.failure_code IS NOT NULL OR EXISTS (
                SELECT 1 FROM payment.payment_logs l
                WHERE l.payment_id = p.id AND l.event LIKE 'provider\\_%')
         FROM payment.payments p WHERE p.id = $1",
    )
    .bind(payment.id)
    .fetch_one(&state.infra.db)
    .await?)
}

/// The hold is gone (or the event cancelled) but an earlier confirm may have charged: ask the
/// provider by order id. Charged: record it and finish, which refunds it in full because the
/// reservation can no longer be confirmed. Nothing there (or a payment that never took money):
/// `None`, and the caller records "nothing was charged". No answer, or a virtual account still
/// open: the payment stays `ready` for the reconciler and the fan gets 409 `payment_in_doubt`.
async fn settle_earlier_attempt(
    state: &AppState,
    payment: &Payment,
) -> Result<Option<Answer>, ApiError> {
    let budget = provider_budget(&state.infra.config);
    let found = tokio::time::timeout(budget, lookup(state, payment, "confirm_after_hold"))
        .await
        .unwrap_or(Err(ProviderError::Timeout));
    match found {
        Ok(None) => Ok(None),
        Ok(Some(f)) if f.is_dead() => Ok(None),
        Ok(Some(f)) if f.is_approved() => {
            let current = record_approval(state, payment, &f, "confirm").await?;
            match (current.status.as_str(), &current.confirm_response) {
                ("approved", _) => finish_approved(state, current).await.map(Some),
                (_, Some(stored)) => Ok(Some(Answer::from_stored(stored))),
                (_, None) => in_doubt(state, payment, "HOLD_GONE", &f.status)
                    .await
                    .map(Some),
            }
        }
        Ok(Some(f)) => in_doubt(state, payment, "HOLD_GONE", &f.status)
            .await
            .map(Some),
        Err(e) => in_doubt(state, payment, "HOLD_GONE_UNANSWERED", &e.to_string())
            .await
            .map(Some),
    }
}

/// The provider refused the confirm without declining it, or answered a status that is not a
/// payment: the outcome is unknown. The payment stays `ready` (with its key, so the reconciler
/// looks the order up) and the refusal is noted in `failure_code`; the fan is told to check
/// back, not that nothing was charged. A repeat confirm asks the provider again (idempotent by
/// order id).
async fn in_doubt(
    state: &AppState,
    payment: &Payment,
    code: &str,
    message: &str,
) -> Result<Answer, ApiError> {
    ledger::log(
        &state.infra.db,
        payment,
        "provider_rejected_in_doubt",
        json!({ "code": code, "message": message }),
    )
    .await;
    sqlx::query(
        "UPDATE payment.payments SET failure_code = $2, failure_message = $3
         WHERE id = $1 AND status = 'ready'",
    )
    .bind(payment.id)
    .bind(code)
    .bind(message)
    .execute(&state.infra.db)
    .await?;
    // The first confirm may have finished meanwhile: its answer wins.
    if let Some(stored) = ledger::by_order(&state.infra.db, &payment.order_id)
        .await?
        .and_then(|p| p.confirm_response)
    {
        return Ok(Answer::from_stored(&stored));
    }
    Err(ApiError::conflict_with(
        "payment_in_doubt",
        "the payment provider did not confirm this payment; we are checking with it whether \
         anything was charged. Your reservation shows the outcome shortly; do not pay again.",
        json!({ "providerCode": code }),
    ))
}

/// The answer while a virtual account waits for the fan's deposit: 202, not an error; the
/// hold is kept until the account's due date and the tickets are issued when the money arrives.
pub async fn awaiting_deposit_answer(
    state: &AppState,
    payment: &Payment,
) -> Result<Answer, ApiError> {
    let reservation_status = reservation(state, payment.reservation_id)
        .await?
        .map(|r| r.status);
    Ok(Answer {
        status: StatusCode::ACCEPTED,
        body: label(
            state,
            json!({
                "success": false,
                "status": "awaiting_deposit",
                "code": "awaiting_deposit",
                "message": "your virtual account is issued; your tickets are issued once the deposit arrives",
                "payment": {
                    "orderId": payment.order_id,
                    "paymentKey": payment.payment_key,
                    "amount": payment.amount,
                    "method": payment.method,
                    "depositDueAt": payment.deposit_due,
                    "holdUntil": payment.deposit_hold_until,
                    "virtualAccount": payment.deposit_account,
                },
                "reservation": {
                    "id": payment.reservation_id,
                    "status": reservation_status,
                    "expiresAt": payment.deposit_hold_until,
                },
            }),
        ),
    })
}

/// Records that the provider issued a virtual account (guarded: only from `ready`) with its due
/// date and callback secret, then asks the ticket service to keep the hold until the due date.
/// Returns the payment as stored (which may already be further along).
pub async fn record_deposit_wait(
    state: &AppState,
    payment: &Payment,
    waiting: &ProviderPayment,
    via: &str,
) -> Result<Payment, ApiError> {
    // The hold ends at the earliest of the account's due date, now plus DEPOSIT_HOLD_MAX_HOURS,
    // the sale's end and the show's start: a virtual account must not keep seats off sale for
    // days, nor past the moment nobody else could buy them anyway.
    let max_hours = state.infra.config.payment.deposit_hold_max_hours;
    sqlx::query(
        "UPDATE payment.payments p
         SET status = 'awaiting_deposit', payment_key = $2, method = COALESCE($3, p.method),
             deposit_due = $4, deposit_secret = $5, deposit_account = $6,
             deposit_hold_until = (
                 SELECT LEAST(COALESCE($4, now() + make_interval(hours => $7)),
                              now() + make_interval(hours => $7),
                              e.sale_end_date, e.event_date)
                 FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
                 WHERE r.id = p.reservation_id)
         WHERE p.id = $1 AND p.status = 'ready'",
    )
    .bind(payment.id)
    .bind(&waiting.payment_key)
    .bind(&waiting.method)
    .bind(waiting.deposit_due)
    .bind(&waiting.deposit_secret)
    .bind(&waiting.deposit_account)
    .bind(i32::try_from(max_hours).unwrap_or(i32::MAX))
    .execute(&state.infra.db)
    .await?;
    ledger::log(
        &state.infra.db,
        payment,
        "provider_awaiting_deposit",
        json!({ "via": via, "provider": waiting }),
    )
    .await;
    let current = ledger::by_order(&state.infra.db, &payment.order_id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("payment vanished")))?;
    if current.status == "awaiting_deposit" {
        keep_hold_for_deposit(state, &current).await;
    }
    Ok(current)
}

/// Asks the ticket service to keep the hold until `deposit_hold_until` (the due date capped;
/// idempotent, the reconciler repeats it). A failure is only logged: if the hold lapses first,
/// the deposit is refunded when it arrives (the usual expired-hold path).
pub async fn keep_hold_for_deposit(state: &AppState, payment: &Payment) {
    let Some(due) = payment.deposit_hold_until else {
        return;
    };
    if due <= Utc::now() {
        return;
    }
    match state.ticket.extend(payment.reservation_id, due).await {
        Ok(TicketAnswer::Ok) => {}
        Ok(TicketAnswer::Refused(code)) => {
            ledger::log(
                &state.infra.db,
                payment,
                "hold_not_extended",
                json!({ "code": code }),
            )
            .await;
        }
        Err(e) => {
            tracing::warn!(error = %e, order_id = payment.order_id, "cannot extend the hold for a deposit; the reconciler retries");
        }
    }
}

/// The virtual account expired or was cancelled before any deposit: nothing was charged. The
/// reservation is cancelled first (releasing its seats), then the payment fails: if the ticket
/// service cannot be reached, nothing changed and the webhook's retry or the reconciler's next
/// pass does it all again.
pub async fn deposit_failed(
    state: &AppState,
    payment: &Payment,
    provider_status: &str,
    via: &str,
) -> Result<(), ApiError> {
    state
        .ticket
        .cancel(payment.reservation_id)
        .await
        .map_err(|e| {
            ApiError::unavailable(
                "ticket_service_unavailable",
                format!("cannot release the reservation yet: {e}"),
            )
        })?;
    let changed = sqlx::query(
        "UPDATE payment.payments SET status = 'failed', failure_code = 'deposit_not_made',
             failure_message = $2
         WHERE id = $1 AND status = 'awaiting_deposit'",
    )
    .bind(payment.id)
    .bind(format!(
        "the virtual account ended {provider_status} without a deposit"
    ))
    .execute(&state.infra.db)
    .await?
    .rows_affected();
    if changed == 1 {
        ledger::log(
            &state.infra.db,
            payment,
            "deposit_not_made",
            json!({ "via": via, "providerStatus": provider_status }),
        )
        .await;
        metrics::counter!("payment_outcomes_total", "outcome" => "deposit_not_made").increment(1);
    }
    Ok(())
}

/// Closes a virtual account whose reservation is gone (cancelled by the fan or an admin, the
/// event cancelled, the hold lapsed): the account is cancelled at the provider, so no deposit
/// can arrive for seats that are no longer held, and the payment fails (`deposit_cancelled`;
/// nothing was charged). If the provider says the money already arrived, the payment is
/// recorded approved and finished, which refunds it because the reservation cannot be
/// confirmed. Returns what happened, for logs and answers.
pub async fn close_deposit(
    state: &AppState,
    payment: &Payment,
    reason: &str,
    via: &str,
) -> Result<&'static str, ApiError> {
    let key = payment.payment_key.clone().unwrap_or_default();
    let idempotency_key = format!("close-deposit-{}", payment.order_id);
    let cancel = state
        .provider
        .cancel(&key, i64::from(payment.amount), reason, &idempotency_key);
    let outcome = tokio::time::timeout(provider_budget(&state.infra.config), cancel)
        .await
        .unwrap_or(Err(ProviderError::Timeout));
    ledger::log(
        &state.infra.db,
        payment,
        "deposit_close_requested",
        json!({ "via": via, "reason": reason, "ok": outcome.is_ok() }),
    )
    .await;
    match outcome {
        Ok(_) => {}
        Err(ProviderError::Timeout | ProviderError::Unavailable(_)) => {
            return Err(ApiError::unavailable(
                "provider_unavailable",
                "the payment provider did not answer; retry",
            ));
        }
        // Refused: the account may have been paid into meanwhile. Ask what it is now.
        Err(_) => match lookup(state, payment, via).await {
            Ok(Some(found)) if found.is_approved() => {
                let current = record_approval(state, payment, &found, via).await?;
                let _ = finish_approved(state, current).await;
                return Ok("refunded");
            }
            Ok(Some(found)) if found.is_dead() => {}
            _ => {
                return Err(ApiError::unavailable(
                    "provider_unavailable",
                    "the virtual account could not be closed yet; retry",
                ));
            }
        },
    }
    let changed = sqlx::query(
        "UPDATE payment.payments SET status = 'failed', failure_code = 'deposit_cancelled',
             failure_message = $2
         WHERE id = $1 AND status = 'awaiting_deposit'",
    )
    .bind(payment.id)
    .bind(format!("the virtual account was closed: {reason}"))
    .execute(&state.infra.db)
    .await?
    .rows_affected();
    if changed == 1 {
        ledger::log(
            &state.infra.db,
            payment,
            "deposit_cancelled",
            json!({ "via": via, "reason": reason }),
        )
        .await;
        metrics::counter!("payment_outcomes_total", "outcome" => "deposit_cancelled").increment(1);
    }
    Ok("closed")
}

/// How long a confirm may spend with the provider (its retries and the lookup after an
/// unanswered call): three quarters of `REQUEST_TIMEOUT_SECS`, so the fan gets our 503 with
/// `Retry-After` rather than the request timeout's 504, with time left to issue the tickets.
pub fn provider_budget(config: &tiketi_core::config::Config) -> std::time::Duration {
    std::time::Duration::from_millis(config.request_timeout_secs.saturating_mul(750).max(500))
}

/// Asks the provider what it knows of `payment`'s order, and logs the question and the answer.
pub async fn lookup(
    state: &AppState,
    payment: &Payment,
    via: &str,
) -> Result<Option<ProviderPayment>, ProviderError> {
    let found = state.provider.lookup_by_order(&payment.order_id).await;
    let outcome = match &found {
        Ok(Some(p)) => json!({ "via": via, "status": p.status, "paymentKey": p.payment_key }),
        Ok(None) => json!({ "via": via, "status": null }),
        Err(e) => json!({ "via": via, "error": e.to_string() }),
    };
    ledger::log(&state.infra.db, payment, "provider_lookup", outcome).await;
    found
}

/// Records that the provider approved (guarded: only from `ready` or `awaiting_deposit`, the
/// deposit arriving), and returns the payment.
/// `via` says who learned it (the confirm call, a webhook, the reconciler's lookup).
pub async fn record_approval(
    state: &AppState,
    payment: &Payment,
    approved: &ProviderPayment,
    via: &str,
) -> Result<Payment, ApiError> {
    if approved.total_amount != i64::from(payment.amount) {
        return refuse_wrong_amount(state, payment, approved, via).await;
    }
    sqlx::query(
        "UPDATE payment.payments
         SET status = 'approved', payment_key = $2, method = COALESCE($3, method),
             approved_at = COALESCE($4, now()), receipt_url = $5
         WHERE id = $1 AND status IN ('ready', 'awaiting_deposit')",
    )
    .bind(payment.id)
    .bind(&approved.payment_key)
    .bind(&approved.method)
    .bind(approved.approved_at)
    .bind(&approved.receipt_url)
    .execute(&state.infra.db)
    .await?;
    ledger::log(
        &state.infra.db,
        payment,
        "provider_approved",
        json!({ "via": via, "provider": approved }),
    )
    .await;
    metrics::counter!("payment_outcomes_total", "outcome" => "approved").increment(1);
    ledger::by_order(&state.infra.db, &payment.order_id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("payment vanished")))
}

/// The provider took a different amount than the order's: no tickets. The payment fails
/// (`amount_mismatch`, with a stored 409 answer every repeat replays), the mismatch is logged,
/// and whatever was taken is refunded (if the refund fails now, the payment is `failed` with a
/// charge at the provider, which the provider's next notification refunds).
async fn refuse_wrong_amount(
    state: &AppState,
    payment: &Payment,
    charged: &ProviderPayment,
    via: &str,
) -> Result<Payment, ApiError> {
    ledger::log(
        &state.infra.db,
        payment,
        "provider_amount_mismatch",
        json!({ "via": via, "expected": payment.amount, "provider": charged }),
    )
    .await;
    metrics::counter!("payment_outcomes_total", "outcome" => "amount_mismatch").increment(1);
    let answer = failure(
        state,
        StatusCode::CONFLICT,
        "payment_amount_mismatch",
        "the payment provider charged a different amount than this order's; it is refunded and no tickets are issued",
        json!({ "expected": payment.amount, "charged": charged.total_amount }),
    );
    sqlx::query(
        "UPDATE payment.payments
         SET status = 'failed', failure_code = 'amount_mismatch', payment_key = $2,
             failure_message = $3, confirm_response = $4
         WHERE id = $1 AND status IN ('ready', 'awaiting_deposit')",
    )
    .bind(payment.id)
    .bind(&charged.payment_key)
    .bind(format!("charged {} won", charged.total_amount))
    .bind(answer.to_stored())
    .execute(&state.infra.db)
    .await?;
    if charged.is_approved()
        && let Err(e) = refund_unwanted_charge(state, payment, charged, via).await
    {
        tracing::warn!(error = %e, order_id = payment.order_id, "refund of a wrong amount failed; the provider's next notification retries it");
    }
    ledger::by_order(&state.infra.db, &payment.order_id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("payment vanished")))
}

/// Money was taken: issue the tickets, or, if the reservation can no longer be confirmed (the
/// hold expired meanwhile), refund in full and say why. Safe to call again (the reconciler does).
pub async fn finish_approved(state: &AppState, payment: Payment) -> Result<Answer, ApiError> {
    if let Some(stored) = &payment.confirm_response {
        return Ok(Answer::from_stored(stored));
    }
    if payment.status != "approved" {
        return Err(ApiError::conflict(
            "payment_state_changed",
            "the payment changed while confirming; retry",
        ));
    }
    let answer = state
        .ticket
        .confirm(payment.reservation_id, payment.method.as_deref())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, order_id = payment.order_id, "cannot reach the ticket service; the reconciler will finish");
            ApiError::unavailable(
                "ticket_service_unavailable",
                "your payment is approved and your tickets are being issued; check your reservations shortly",
            )
        })?;
    match answer {
        TicketAnswer::Ok => {
            metrics::counter!("payment_outcomes_total", "outcome" => "completed").increment(1);
            let answer = Answer {
                status: StatusCode::OK,
                body: success_body(state, &payment),
            };
            store_answer(state, &payment, answer, "completed", "approved").await
        }
        TicketAnswer::Refused(code) => {
            ledger::log(
                &state.infra.db,
                &payment,
                "ticket_confirm_refused",
                json!({ "code": code }),
            )
            .await;
            let idempotency_key = format!("auto-refund-{}", payment.order_id);
            let key = payment.payment_key.clone().unwrap_or_default();
            ledger::log(
                &state.infra.db,
                &payment,
                "refund_requested",
                json!({ "amount": payment.amount, "reason": "hold expired before payment" }),
            )
            .await;
            state
                .provider
                .cancel(&key, i64::from(payment.amount), "hold expired before payment", &idempotency_key)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, order_id = payment.order_id, "automatic refund failed; the reconciler will retry");
                    ApiError::unavailable("refund_pending", "your hold expired; a full refund is on its way")
                })?;
            // Guarded: a second finisher (another replica, the reconciler) records it only once;
            // the provider already refunded only once thanks to the idempotency key.
            sqlx::query(
                "INSERT INTO payment.refunds (payment_id, amount, reason)
                 SELECT $1, $2, 'hold expired before payment'
                 WHERE NOT EXISTS (SELECT 1 FROM payment.refunds
                                   WHERE payment_id = $1 AND reason = 'hold expired before payment')",
            )
                .bind(payment.id)
                .bind(payment.amount)
                .execute(&state.infra.db)
                .await?;
            sqlx::query("UPDATE payment.payments SET refunded_amount = amount WHERE id = $1 AND status = 'approved'")
                .bind(payment.id)
                .execute(&state.infra.db)
                .await?;
            metrics::counter!("payment_outcomes_total", "outcome" => "refunded_after_expiry")
                .increment(1);
            let answer = failure(
                state,
                StatusCode::CONFLICT,
                "reservation_expired_refunded",
                "your hold expired before the payment went through, so the payment was refunded in full",
                json!({ "refunded": true, "refundAmount": payment.amount, "reason": code }),
            );
            let answer = store_answer(state, &payment, answer, "refunded", "approved").await?;
            // Release anything the reservation still holds (normally nothing).
            let _ = state.ticket.cancel(payment.reservation_id).await;
            Ok(answer)
        }
    }
}

/// The provider says it took money for a payment we stored `failed` (a charge whose answer was
/// lost and that an older release, or an operator, gave up): money must never be kept without a
/// ticket, so the provider's balance is refunded in full and the payment recorded `refunded`.
/// The reservation is left alone (the fan may be paying for it again). Idempotent: the refund
/// carries a key of its own and the bookkeeping is guarded by the `failed` status.
pub async fn refund_unwanted_charge(
    state: &AppState,
    payment: &Payment,
    charged: &ProviderPayment,
    via: &str,
) -> Result<(), ApiError> {
    let reason = "charged after the payment had failed";
    let amount = charged.balance_amount;
    ledger::log(
        &state.infra.db,
        payment,
        "refund_requested",
        json!({ "amount": amount, "reason": reason, "via": via, "paymentKey": charged.payment_key }),
    )
    .await;
    let idempotency_key = format!("unwanted-refund-{}", payment.order_id);
    let cancel = state
        .provider
        .cancel(&charged.payment_key, amount, reason, &idempotency_key);
    // Nothing left to give back (already refunded at the provider): only the bookkeeping.
    let cancelled = if amount > 0 {
        tokio::time::timeout(provider_budget(&state.infra.config), cancel)
            .await
            .unwrap_or(Err(ProviderError::Timeout))
            .map(|_| ())
    } else {
        Ok(())
    };
    cancelled
        .map_err(|e| {
            tracing::warn!(error = %e, order_id = payment.order_id, "refund of an unwanted charge failed; the provider's retry repeats it");
            ApiError::unavailable(
                "provider_unavailable",
                "cannot refund the charge yet; retry",
            )
        })?;
    let refunded = i32::try_from(amount)
        .unwrap_or(payment.amount)
        .min(payment.amount);
    let mut tx = state.infra.db.begin().await?;
    let changed = sqlx::query(
        "UPDATE payment.payments
         SET status = 'refunded', payment_key = $2, refunded_amount = $3
         WHERE id = $1 AND status = 'failed'",
    )
    .bind(payment.id)
    .bind(&charged.payment_key)
    .bind(refunded)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 1 {
        sqlx::query("INSERT INTO payment.refunds (payment_id, amount, reason) VALUES ($1, $2, $3)")
            .bind(payment.id)
            .bind(refunded)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        ledger::log(
            &mut *tx,
            payment,
            "refunded",
            json!({ "amount": amount, "full": true, "via": via }),
        )
        .await;
        metrics::counter!("payment_outcomes_total", "outcome" => "refunded_unwanted").increment(1);
    }
    tx.commit().await?;
    Ok(())
}

/// Refuses a fan's refund once the event has started (`event_date` passed) or ended: 409
/// `refund_window_closed`. Admin refunds and an event's cancellation do not ask.
pub async fn ensure_refund_window_open(
    state: &AppState,
    reservation_id: Uuid,
) -> Result<(), ApiError> {
    let closed: Option<bool> = sqlx::query_scalar(
        "SELECT e.event_date <= now() OR e.status = 'ended'
         FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
         WHERE r.id = $1",
    )
    .bind(reservation_id)
    .fetch_optional(&state.infra.db)
    .await?;
    if closed == Some(true) {
        return Err(refund_window_closed());
    }
    Ok(())
}

/// 409 `refund_window_closed`.
pub fn refund_window_closed() -> ApiError {
    ApiError::conflict(
        "refund_window_closed",
        "the event has already started or ended, so this booking can no longer be cancelled or \
         refunded online; please contact the organiser",
    )
}

/// The outcome of a refund.
#[derive(Debug)]
pub struct Refund {
    /// Won refunded by this call (0 when it was already refunded).
    pub amount: i64,
    /// For a person.
    pub message: String,
}

/// The one refund path (fans, admins, event cancellation): refund at the provider, record it,
/// then cancel the reservation and release its seats once fully refunded. A second full refund
/// is a no-op.
pub async fn refund(
    state: &AppState,
    order_id: &str,
    amount: Option<i64>,
    reason: &str,
) -> Result<Refund, ApiError> {
    let _guard = state.inflight.lock(order_id).await;
    let payment = ledger::by_order(&state.infra.db, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_not_found", "no such payment"))?;
    match payment.status.as_str() {
        "refunded" => {
            return Ok(Refund {
                amount: 0,
                message: "this payment was already refunded".into(),
            });
        }
        "completed" | "partially_refunded" => {}
        "approved" => {
            return Err(ApiError::conflict(
                "payment_in_progress",
                "this payment is still being completed; retry shortly",
            ));
        }
        _ => {
            return Err(ApiError::conflict(
                "not_refundable",
                "nothing was charged for this payment",
            ));
        }
    }
    let remaining = i64::from(payment.amount - payment.refunded_amount);
    let amount = amount.unwrap_or(remaining);
    if amount < 1 || amount > remaining {
        return Err(ApiError::bad_request(
            "invalid_refund_amount",
            format!("the refund must be between 1 and {remaining} won"),
        ));
    }
    let reason: String = reason.chars().take(200).collect();
    let key = payment.payment_key.clone().unwrap_or_default();
    let idempotency_key = format!(
        "refund-{}-{}-{}",
        payment.order_id, payment.refunded_amount, amount
    );
    ledger::log(
        &state.infra.db,
        &payment,
        "refund_requested",
        json!({ "amount": amount, "reason": reason }),
    )
    .await;
    // Bounded like a confirm; a refund cut short is retried by the caller under the same
    // idempotency key, so the provider refunds once.
    let cancel = state
        .provider
        .cancel(&key, amount, &reason, &idempotency_key);
    tokio::time::timeout(provider_budget(&state.infra.config), cancel)
        .await
        .unwrap_or(Err(ProviderError::Timeout))
        .map_err(|e| match e {
            ProviderError::Timeout | ProviderError::Unavailable(_) => ApiError::unavailable(
                "provider_unavailable",
                "the payment provider did not answer; retry the refund",
            ),
            other => ApiError::conflict(
                "refund_rejected",
                format!("the provider refused the refund: {other}"),
            ),
        })?;
    let amount_i32 = i32::try_from(amount)
        .map_err(|_| ApiError::bad_request("invalid_refund_amount", "amount too large"))?;
    let mut tx = state.infra.db.begin().await?;
    sqlx::query("INSERT INTO payment.refunds (payment_id, amount, reason) VALUES ($1, $2, $3)")
        .bind(payment.id)
        .bind(amount_i32)
        .bind(&reason)
        .execute(&mut *tx)
        .await?;
    let full: Option<bool> = sqlx::query_scalar(
        "UPDATE payment.payments
         SET refunded_amount = refunded_amount + $2,
             status = CASE WHEN refunded_amount + $2 = amount THEN 'refunded' ELSE 'partially_refunded' END
         WHERE id = $1 AND refunded_amount = $3
         RETURNING status = 'refunded'",
    )
    .bind(payment.id)
    .bind(amount_i32)
    .bind(payment.refunded_amount)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(full) = full else {
        tx.rollback().await?;
        return Err(ApiError::conflict(
            "payment_state_changed",
            "the payment changed meanwhile; retry",
        ));
    };
    tx.commit().await?;
    ledger::log(
        &state.infra.db,
        &payment,
        "refunded",
        json!({ "amount": amount, "full": full }),
    )
    .await;
    metrics::counter!("payment_outcomes_total", "outcome" => if full { "refunded" } else { "partially_refunded" }).increment(1);
    if full && let Err(e) = state.ticket.cancel(payment.reservation_id).await {
        // Refunded but the seats are not yet released: the reconciler finishes it.
        tracing::warn!(error = %e, order_id, "refunded; releasing the reservation is left to the reconciler");
    }
    Ok(Refund {
        amount,
        message: if full {
            "refunded in full; the reservation is cancelled".into()
        } else {
            "partially refunded".into()
        },
    })
}
