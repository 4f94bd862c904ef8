//! A stand-in for TossPayments' REST API, for tests of the `toss` provider: confirm, cancel,
//! lookup by payment key and by order id, with Basic authentication and `Idempotency-Key`
//! honoured like the real service. It can misbehave on request: time out, answer 5xx, lose its
//! answer after charging, or stop answering altogether for a while (an outage); and it can send
//! (duplicate) webhooks. A payment key containing `vbank` pays by virtual account: the confirm
//! answers `WAITING_FOR_DEPOSIT` (with `virtualAccount.dueDate` and a callback `secret`), and
//! the money arrives only when the test calls [`FakeToss::deposit`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

/// What the next confirm does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    /// Answer normally.
    None,
    /// Answer 500 for the next N calls.
    ServerErrors(u32),
    /// Hang past the client's timeout for the next N calls (the charge is still made).
    Hang(u32),
}

/// A provider outage: every call (confirm, cancel, lookups) hangs past the client's timeout
/// until [`FakeToss::recover`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Confirms still reach the ledger and charge; only the answers are lost.
    AnswersLost,
    /// Nothing reaches the ledger: no confirm charges, no cancel refunds.
    Unreachable,
}

#[derive(Default)]
struct Ledger {
    payments: HashMap<String, Value>,
    by_order: HashMap<String, String>,
    idempotent: HashMap<String, (StatusCode, Value)>,
    confirm_calls: u32,
    lookups: u32,
    charges: u32,
    misbehave: Option<Misbehave>,
    outage: Option<Outage>,
    refuse_next: Option<(StatusCode, String)>,
}

#[derive(Clone)]
struct TossState {
    ledger: Arc<Mutex<Ledger>>,
    arrived: Arc<tokio::sync::Notify>,
    secret: String,
    hang: Duration,
}

/// A running stand-in.
pub struct FakeToss {
    /// Its address.
    pub addr: SocketAddr,
    /// The secret key it accepts.
    pub secret_key: String,
    state: TossState,
}

impl FakeToss {
    /// Starts on a free port. `hang` is how long a hanging call waits (longer than the client's
    /// timeout).
    pub async fn start(hang: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = TossState {
            ledger: Arc::default(),
            arrived: Arc::default(),
            secret: format!("test_sk_{}", uuid::Uuid::new_v4().simple()),
            hang,
        };
        let app = Router::new()
            .route("/v1/payments/confirm", post(confirm))
            .route("/v1/payments/{key}/cancel", post(cancel))
            .route("/v1/payments/{key}", get(by_key))
            .route("/v1/payments/orders/{order}", get(by_order))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            secret_key: state.secret.clone(),
            state,
        }
    }

    /// The settings that point Tiketi's toss provider here.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PAYMENT_PROVIDER", "toss".to_owned()),
            ("TOSS_API_URL", format!("http://{}", self.addr)),
            ("TOSS_SECRET_KEY", self.secret_key.clone()),
            ("TOSS_CLIENT_KEY", "test_ck_tiketi".to_owned()),
        ]
    }

    /// Makes the next calls misbehave.
    pub fn misbehave(&self, how: Misbehave) {
        self.state.ledger.lock().unwrap().misbehave = Some(how);
    }

    /// Answers the next confirm call with this 4xx and `code` (before its idempotency key is
    /// looked at, and charging nothing), as Toss may answer a second confirm of an order whose
    /// first confirm is still being processed (`ALREADY_PROCESSED_PAYMENT`, `PROVIDER_ERROR`).
    pub fn refuse_next_confirm(&self, status: StatusCode, code: &str) {
        self.state.ledger.lock().unwrap().refuse_next = Some((status, code.to_owned()));
    }

    /// Starts an outage: from now on every call hangs (see [`Outage`]).
    pub fn outage(&self, how: Outage) {
        self.state.ledger.lock().unwrap().outage = Some(how);
    }

    /// Ends an outage.
    pub fn recover(&self) {
        self.state.ledger.lock().unwrap().outage = None;
    }

    /// Notified when a confirm call arrives (so a test can act while the provider works).
    pub fn confirm_arrived(&self) -> Arc<tokio::sync::Notify> {
        self.state.arrived.clone()
    }

    /// Confirm calls received (including retries).
    pub fn confirm_calls(&self) -> u32 {
        self.state.ledger.lock().unwrap().confirm_calls
    }

    /// Lookups received (by payment key or order id, including retries).
    pub fn lookups(&self) -> u32 {
        self.state.ledger.lock().unwrap().lookups
    }

    /// Distinct charges made.
    pub fn charges(&self) -> u32 {
        self.state.ledger.lock().unwrap().charges
    }

    /// The payment as the stand-in knows it.
    pub fn payment(&self, payment_key: &str) -> Option<Value> {
        self.state
            .ledger
            .lock()
            .unwrap()
            .payments
            .get(payment_key)
            .cloned()
    }

    /// Cancels a payment as if from Toss' dashboard (no call from Tiketi).
    pub fn cancel_from_dashboard(&self, payment_key: &str) {
        let mut ledger = self.state.ledger.lock().unwrap();
        if let Some(p) = ledger.payments.get_mut(payment_key) {
            p["status"] = json!("CANCELED");
            p["balanceAmount"] = json!(0);
        }
    }

    /// Records a charge for `order_id` as if another replica's confirm had made it and lost the
    /// answer (no call from this test's Tiketi).
    pub fn charge(&self, payment_key: &str, order_id: &str, amount: i64) {
        let mut ledger = self.state.ledger.lock().unwrap();
        ledger.charges += 1;
        let payment = done_payment(payment_key, order_id, amount);
        ledger.payments.insert(payment_key.to_owned(), payment);
        ledger
            .by_order
            .insert(order_id.to_owned(), payment_key.to_owned());
    }

    /// The fan transfers the money into the virtual account of `payment_key`: the payment
    /// becomes `DONE`. Returns the `DEPOSIT_CALLBACK` body Toss then sends.
    pub fn deposit(&self, payment_key: &str) -> Value {
        let mut ledger = self.state.ledger.lock().unwrap();
        ledger.charges += 1;
        let p = ledger
            .payments
            .get_mut(payment_key)
            .expect("a virtual account");
        p["status"] = json!("DONE");
        p["balanceAmount"] = p["totalAmount"].clone();
        p["approvedAt"] = json!(chrono::Utc::now());
        json!({
            "createdAt": chrono::Utc::now(), "secret": p["secret"], "status": "DONE",
            "transactionKey": format!("tx_{}", uuid::Uuid::new_v4().simple()),
            "orderId": p["orderId"],
        })
    }

    /// The virtual account of `payment_key` ends without a deposit (`status`: `EXPIRED` or
    /// `CANCELED`). Returns the `DEPOSIT_CALLBACK` body Toss then sends.
    pub fn end_deposit(&self, payment_key: &str, status: &str) -> Value {
        let mut ledger = self.state.ledger.lock().unwrap();
        let p = ledger
            .payments
            .get_mut(payment_key)
            .expect("a virtual account");
        p["status"] = json!(status);
        json!({
            "createdAt": chrono::Utc::now(), "secret": p["secret"], "status": status,
            "transactionKey": format!("tx_{}", uuid::Uuid::new_v4().simple()),
            "orderId": p["orderId"],
        })
    }

    /// The body of a `PAYMENT_STATUS_CHANGED` webhook for `payment_key`.
    pub fn webhook_body(&self, payment_key: &str) -> Value {
        let payment = self
            .payment(payment_key)
            .unwrap_or(json!({ "paymentKey": payment_key }));
        json!({ "eventType": "PAYMENT_STATUS_CHANGED", "createdAt": chrono::Utc::now(), "data": payment })
    }
}

fn done_payment(key: &str, order: &str, amount: i64) -> Value {
    json!({
        "paymentKey": key, "orderId": order, "status": "DONE", "method": "카드",
        "totalAmount": amount, "balanceAmount": amount,
        "approvedAt": chrono::Utc::now(), "receipt": { "url": format!("https://toss.test/receipt/{key}") },
    })
}

fn authorized(state: &TossState, headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", state.secret))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Value) {
    (status, json!({ "code": code, "message": message }))
}

/// During an outage: hangs past the client's timeout, then answers 503 (nobody reads it).
/// `None` when there is no outage, or when the call should still be processed (a confirm
/// during [`Outage::AnswersLost`], which hangs after charging).
async fn outage(state: &TossState, is_confirm: bool) -> Option<Response> {
    let outage = state.ledger.lock().unwrap().outage;
    match outage {
        None => None,
        Some(Outage::AnswersLost) if is_confirm => None,
        Some(_) => {
            tokio::time::sleep(state.hang).await;
            Some(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
    }
}

/// Applies a pending misbehaviour; returns true to hang, or a 5xx to answer.
fn misbehaviour(state: &TossState) -> (bool, Option<Response>) {
    let mut ledger = state.ledger.lock().unwrap();
    match ledger.misbehave {
        Some(Misbehave::ServerErrors(n)) if n > 0 => {
            ledger.misbehave = Some(Misbehave::ServerErrors(n - 1));
            (
                false,
                Some(
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Json(json!({"code": "PROVIDER_ERROR", "message": "try again"})),
                    )
                        .into_response(),
                ),
            )
        }
        Some(Misbehave::Hang(n)) if n > 0 => {
            ledger.misbehave = Some(Misbehave::Hang(n - 1));
            (true, None)
        }
        _ => (false, None),
    }
}

async fn confirm(
    State(state): State<TossState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.ledger.lock().unwrap().confirm_calls += 1;
    state.arrived.notify_one();
    if !authorized(&state, &headers) {
        let (s, b) = error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "bad secret key",
        );
        return (s, Json(b)).into_response();
    }
    if let Some(response) = outage(&state, true).await {
        return response;
    }
    if let Some((status, code)) = state.ledger.lock().unwrap().refuse_next.take() {
        let (s, b) = error(status, &code, "refused");
        return (s, Json(b)).into_response();
    }
    let (hang, early) = misbehaviour(&state);
    if let Some(response) = early {
        return response;
    }
    let hang = hang || state.ledger.lock().unwrap().outage == Some(Outage::AnswersLost);
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = {
        let mut ledger = state.ledger.lock().unwrap();
        match idempotency
            .as_ref()
            .and_then(|k| ledger.idempotent.get(k).cloned())
        {
            Some(previous) => previous,
            None => {
                let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
                let order = body["orderId"].as_str().unwrap_or_default().to_owned();
                let amount = body["amount"].as_i64().unwrap_or_default();
                let answer = if key.contains("decline") {
                    error(
                        StatusCode::FORBIDDEN,
                        "REJECT_CARD_PAYMENT",
                        "card declined",
                    )
                } else if ledger.by_order.contains_key(&order) {
                    error(
                        StatusCode::BAD_REQUEST,
                        "ALREADY_PROCESSED_PAYMENT",
                        "already processed",
                    )
                } else if key.contains("vbank") {
                    // A virtual account: issued, no money yet.
                    let payment = json!({
                        "paymentKey": key, "orderId": order, "status": "WAITING_FOR_DEPOSIT",
                        "method": "가상계좌", "totalAmount": amount, "balanceAmount": amount,
                        "approvedAt": null, "receipt": null,
                        "secret": format!("ps_{}", uuid::Uuid::new_v4().simple()),
                        "virtualAccount": {
                            "accountNumber": "X6516657", "bankCode": "20",
                            "customerName": "김토스",
                            "dueDate": (chrono::Utc::now() + chrono::Duration::days(2))
                                .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
                                .to_rfc3339(),
                            "expired": false,
                        },
                    });
                    ledger.payments.insert(key.clone(), payment.clone());
                    ledger.by_order.insert(order, key);
                    (StatusCode::OK, payment)
                } else {
                    ledger.charges += 1;
                    let payment = done_payment(&key, &order, amount);
                    ledger.payments.insert(key.clone(), payment.clone());
                    ledger.by_order.insert(order, key);
                    (StatusCode::OK, payment)
                };
                if let Some(k) = idempotency {
                    ledger.idempotent.insert(k, answer.clone());
                }
                answer
            }
        }
    };
    if hang {
        // Charged, but the answer arrives after the client gave up.
        tokio::time::sleep(state.hang).await;
    }
    (answer.0, Json(answer.1)).into_response()
}

async fn cancel(
    State(state): State<TossState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(response) = outage(&state, false).await {
        return response;
    }
    if !authorized(&state, &headers) {
        let (s, b) = error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "bad secret key",
        );
        return (s, Json(b)).into_response();
    }
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut ledger = state.ledger.lock().unwrap();
    if let Some(previous) = idempotency
        .as_ref()
        .and_then(|k| ledger.idempotent.get(k).cloned())
    {
        return (previous.0, Json(previous.1)).into_response();
    }
    let answer = match ledger.payments.get_mut(&key) {
        None => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "no such payment",
        ),
        Some(p) => {
            let balance = p["balanceAmount"].as_i64().unwrap_or_default();
            let amount = body["cancelAmount"].as_i64().unwrap_or(balance);
            if amount <= 0 || amount > balance {
                error(
                    StatusCode::BAD_REQUEST,
                    "NOT_CANCELABLE_AMOUNT",
                    "bad amount",
                )
            } else {
                p["balanceAmount"] = json!(balance - amount);
                p["status"] = json!(if balance == amount {
                    "CANCELED"
                } else {
                    "PARTIAL_CANCELED"
                });
                (StatusCode::OK, p.clone())
            }
        }
    };
    if let Some(k) = idempotency {
        ledger.idempotent.insert(k, answer.clone());
    }
    (answer.0, Json(answer.1)).into_response()
}

async fn by_key(
    State(state): State<TossState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.ledger.lock().unwrap().lookups += 1;
    if let Some(response) = outage(&state, false).await {
        return response;
    }
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match state.ledger.lock().unwrap().payments.get(&key) {
        Some(p) => Json(p.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "NOT_FOUND_PAYMENT", "message": "none"})),
        )
            .into_response(),
    }
}

async fn by_order(
    State(state): State<TossState>,
    Path(order): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.ledger.lock().unwrap().lookups += 1;
    if let Some(response) = outage(&state, false).await {
        return response;
    }
    if !authorized(&state, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let ledger = state.ledger.lock().unwrap();
    match ledger
        .by_order
        .get(&order)
        .and_then(|k| ledger.payments.get(k))
    {
        Some(p) => Json(p.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "NOT_FOUND_PAYMENT", "message": "none"})),
        )
            .into_response(),
    }
}
