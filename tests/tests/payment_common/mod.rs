//! Helpers shared by the payment tests that run against the TossPayments stand-in
//! (`payment_money_safety`, `payment_settlement`; each declares `inventory_common` too): a fan holding a seat, prepare and confirm
//! calls, webhooks, a reconciler pass, and the statuses they leave in Postgres.
#![allow(dead_code)]

use crate::inventory_common::{created_id, event_on_sale, hold, seats};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_tests::TestApp;
use tiketi_tests::toss::FakeToss;
use uuid::Uuid;

pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    app.send(reqwest::Method::POST, path, Some(token), Some(&body))
        .await
}

/// A fan holding one seat (10,000 won) of an on-sale event: (token, reservation id, seat id).
pub async fn fan_with_hold(app: &TestApp, pool: &PgPool) -> (String, Uuid, Uuid) {
    let event = event_on_sale(pool).await;
    let seat = seats(pool, event, 1).await[0];
    let (_, token) = app.tokens().fan();
    let reservation = created_id(hold(app, &token, event, &[seat]).await).await;
    (token, reservation, seat)
}

pub async fn prepare(app: &TestApp, token: &str, reservation: Uuid) -> (StatusCode, Value) {
    post(
        app,
        token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await
}

pub async fn order_of(app: &TestApp, token: &str, reservation: Uuid) -> String {
    let (status, body) = prepare(app, token, reservation).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["orderId"].as_str().unwrap().to_owned()
}

pub async fn confirm(app: &TestApp, token: &str, key: &str, order: &str) -> (StatusCode, Value) {
    post(
        app,
        token,
        "/api/payments/confirm",
        json!({"paymentKey": key, "orderId": order, "amount": 10000}),
    )
    .await
}

pub async fn reservation_status(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM ticket.reservations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn seat_status(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM ticket.seats WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn payment_status(pool: &PgPool, order: &str) -> String {
    sqlx::query_scalar("SELECT status FROM payment.payments WHERE order_id = $1")
        .bind(order)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn toss_app(pool: &PgPool, toss: &FakeToss, extra: &[(&str, &str)]) -> TestApp {
    let settings = toss.settings();
    let mut overrides: Vec<(&str, &str)> = extra.to_vec();
    overrides.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    TestApp::spawn_without_workers(pool.clone(), &overrides).await
}

pub async fn webhook(app: &TestApp, transmission: &str, body: &Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/api/payments/webhooks/toss"))
        .header("tosspayments-webhook-transmission-id", transmission)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn reconcile(app: &TestApp) -> tiketi_payment::workers::reconciler::Pass {
    let state = tiketi_payment::AppState::new(app.infra.clone());
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    tiketi_payment::workers::reconciler::reconcile(&state, later)
        .await
        .unwrap()
}
