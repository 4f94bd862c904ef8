//! The payment service on a real server and real Postgres: the sandbox and the TossPayments
//! adapter (against a stand-in that can misbehave), one charge under concurrency, refusals with
//! their own codes, the one refund path, webhooks, and the reconciler.

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use std::time::Duration;

use inventory_common::{created_id, event_on_sale, hold, seats};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_payment::provider::sandbox::payment_key_for;
use tiketi_tests::TestApp;
use tiketi_tests::toss::{FakeToss, Misbehave};
use uuid::Uuid;

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    app.send(reqwest::Method::POST, path, Some(token), Some(&body))
        .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    app.send(reqwest::Method::GET, path, Some(token), None)
        .await
}

/// A fan holding one seat (10,000 won) of an on-sale event: (token, reservation id, seat id).
async fn fan_with_hold(app: &TestApp, pool: &PgPool) -> (String, Uuid, Uuid) {
    let event = event_on_sale(pool).await;
    let seat = seats(pool, event, 1).await[0];
    let (_, token) = app.tokens().fan();
    let reservation = created_id(hold(app, &token, event, &[seat]).await).await;
    (token, reservation, seat)
}

async fn prepare(app: &TestApp, token: &str, reservation: Uuid) -> String {
    let (status, body) = post(
        app,
        token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["orderId"].as_str().unwrap().to_owned()
}

/// A fan who held one seat and paid for it with the sandbox `method`:
/// (token, reservation id, seat id, order id, payment key).
async fn paid(app: &TestApp, pool: &PgPool, method: &str) -> (String, Uuid, Uuid, String, String) {
    let (token, reservation, seat) = fan_with_hold(app, pool).await;
    let order = prepare(app, &token, reservation).await;
    let key = payment_key_for(method);
    assert_eq!(confirm(app, &token, &key, &order).await.0, StatusCode::OK);
    (token, reservation, seat, order, key)
}

async fn confirm(app: &TestApp, token: &str, key: &str, order: &str) -> (StatusCode, Value) {
    post(
        app,
        token,
        "/api/payments/confirm",
        json!({"paymentKey": key, "orderId": order, "amount": 10000}),
    )
    .await
}

async fn reservation_status(pool: &PgPool, id: Uuid) -> (String, String) {
    sqlx::query_as("SELECT status, payment_status FROM ticket.reservations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn seat_status(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM ticket.seats WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn sandbox_charges(pool: &PgPool, order: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM payment.sandbox_transactions WHERE order_id = $1")
        .bind(order)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sandbox_payment_issues_the_tickets_and_says_no_money_moved() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;

    let order = prepare(&app, &token, reservation).await;
    // Preparing again returns the same order.
    assert_eq!(prepare(&app, &token, reservation).await, order);

    let key = payment_key_for("card");
    let (status, body) = confirm(&app, &token, &key, &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["sandbox"], true);
    assert!(body["notice"].as_str().unwrap().contains("no money moved"));
    assert_eq!(body["payment"]["orderId"], order);
    assert_eq!(body["payment"]["amount"], 10000);
    assert_eq!(
        reservation_status(&pool, reservation).await,
        ("confirmed".into(), "completed".into())
    );
    assert_eq!(seat_status(&pool, seat).await, "sold");

    let (status, mine) = get(&app, &token, "/api/payments/user/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["payments"][0]["order_id"], order);
    let (status, one) = get(&app, &token, &format!("/api/payments/order/{order}")).await;
    assert_eq!(status, StatusCode::OK);
    // The original's word, and ours as stored.
    assert_eq!(one["payment"]["status"], "confirmed");
    assert_eq!(one["payment"]["ledger_status"], "completed");
    // Every state change is in the payment log.
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM payment.payment_logs WHERE order_id = $1 ORDER BY id",
    )
    .bind(&order)
    .fetch_all(&pool)
    .await
    .unwrap();
    for expected in [
        "prepared",
        "provider_confirm_requested",
        "provider_approved",
        "completed",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} missing from {events:?}"
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_confirms_charge_once_and_answer_alike() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = std::sync::Arc::new(TestApp::spawn(pool.clone()).await);
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    let key = payment_key_for("kakao_pay");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, token, key, order) = (app.clone(), token.clone(), key.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            confirm(&app, &token, &key, &order).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::OK),
        "{answers:?}"
    );
    assert!(
        answers.windows(2).all(|w| w[0].1 == w[1].1),
        "answers differ"
    );
    assert_eq!(sandbox_charges(&pool, &order).await, 1);
    let approvals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payment.payment_logs WHERE order_id = $1 AND event = 'provider_approved'",
    )
    .bind(&order)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(approvals, 1);
    assert_eq!(reservation_status(&pool, reservation).await.0, "confirmed");
}

#[tokio::test]
async fn tampering_other_peoples_reservations_and_dead_holds_are_refused_with_their_own_codes() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let (_, stranger) = app.tokens().fan();

    let (status, body) = post(
        &app,
        &token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 1}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("amount_mismatch"))
    );
    let (status, body) = post(
        &app,
        &stranger,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_your_reservation"))
    );

    let order = prepare(&app, &token, reservation).await;
    let key = payment_key_for("card");
    let (status, body) = post(
        &app,
        &token,
        "/api/payments/confirm",
        json!({"paymentKey": key, "orderId": order, "amount": 100}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("amount_mismatch"))
    );
    let (status, body) = confirm(&app, &stranger, &key, &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("payment_not_found"))
    );
    let (status, _) = get(&app, &stranger, &format!("/api/payments/order/{order}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        sandbox_charges(&pool, &order).await,
        0,
        "a refused confirm charged"
    );
    assert_eq!(reservation_status(&pool, reservation).await.0, "pending");

    // An expired hold: nothing is charged, and the answer says why.
    sqlx::query(
        "UPDATE ticket.reservations SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(reservation)
    .execute(&pool)
    .await
    .unwrap();
    let (status, body) = post(
        &app,
        &token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reservation_expired"))
    );
    let (status, body) = confirm(&app, &token, &key, &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reservation_expired"))
    );
    assert_eq!(sandbox_charges(&pool, &order).await, 0);

    // A cancelled reservation cannot be paid.
    let (token2, reservation2, _) = fan_with_hold(&app, &pool).await;
    sqlx::query("UPDATE ticket.reservations SET status = 'cancelled' WHERE id = $1")
        .bind(reservation2)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = post(
        &app,
        &token2,
        "/api/payments/prepare",
        json!({"reservationId": reservation2, "amount": 10000}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reservation_not_pending"))
    );
}

#[tokio::test]
async fn a_declined_card_charges_nothing_and_the_fan_can_try_again() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    let declined_key = payment_key_for("sandbox_decline");
    let (status, body) = confirm(&app, &token, &declined_key, &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYMENT_REQUIRED, Some("payment_declined"))
    );
    assert_eq!(
        confirm(&app, &token, &declined_key, &order).await,
        (status, body)
    );

    let retry_order = prepare(&app, &token, reservation).await;
    assert_ne!(retry_order, order, "a new attempt gets a new order id");
    let (status, _) = confirm(&app, &token, &payment_key_for("card"), &retry_order).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reservation_status(&pool, reservation).await.0, "confirmed");
}

#[tokio::test]
async fn a_lost_provider_answer_is_found_by_lookup_and_a_timeout_charges_nothing() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;

    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    let (status, body) = confirm(&app, &token, &payment_key_for("sandbox_lost"), &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sandbox_charges(&pool, &order).await, 1);
    assert_eq!(reservation_status(&pool, reservation).await.0, "confirmed");
    // The lookup that found the lost approval is in the payment log, with what it found.
    let found: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT detail FROM payment.payment_logs WHERE order_id = $1 AND event = 'provider_lookup'",
    )
    .bind(&order)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["status"], "DONE");

    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    let response = app
        .client
        .post(app.url("/api/payments/confirm"))
        .bearer_auth(&token)
        .json(&json!({"paymentKey": payment_key_for("sandbox_timeout"), "orderId": order, "amount": 10000}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "provider_unavailable"
    );
    assert_eq!(sandbox_charges(&pool, &order).await, 0);
    assert_eq!(reservation_status(&pool, reservation).await.0, "pending");
}

#[tokio::test]
async fn refunds_release_the_seat_and_a_second_refund_is_a_no_op() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, seat, order, key) = paid(&app, &pool, "naver_pay").await;

    let (_, stranger) = app.tokens().fan();
    let (status, _) = post(
        &app,
        &stranger,
        &format!("/api/payments/{key}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's payment");
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelAmount": 10}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "fans refund in full only");

    let (status, body) = post(
        &app,
        &token,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelReason": "changed plans"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refundAmount"], 10000);
    assert_eq!(
        reservation_status(&pool, reservation).await,
        ("cancelled".into(), "refunded".into())
    );
    assert_eq!(seat_status(&pool, seat).await, "available");
    let balance: i32 = sqlx::query_scalar(
        "SELECT balance_amount FROM payment.sandbox_transactions WHERE order_id = $1",
    )
    .bind(&order)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(balance, 0);

    let (status, again) = post(
        &app,
        &token,
        &format!("/api/payments/{key}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["refundAmount"], 0);
    let refunds: i64 = sqlx::query_scalar("SELECT count(*) FROM payment.refunds")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(refunds, 1);
}

#[tokio::test]
async fn admins_record_partial_refunds() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, reservation, _, order, key) = paid(&app, &pool, "card").await;
    let (_, admin) = app.tokens().admin();
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelAmount": 3000, "cancelReason": "goodwill"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refundAmount"], 3000);
    let (status, refunded): (String, i32) =
        sqlx::query_as("SELECT status, refunded_amount FROM payment.payments WHERE order_id = $1")
            .bind(&order)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), refunded), ("partially_refunded", 3000));
    assert_eq!(
        reservation_status(&pool, reservation).await.0,
        "confirmed",
        "a partial refund keeps the tickets"
    );
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelAmount": 9000}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_refund_amount"))
    );
}

#[tokio::test]
async fn process_settles_only_with_the_sandbox() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let (status, body) = post(
        &app,
        &token,
        "/api/payments/process",
        json!({"reservationId": reservation, "paymentMethod": "bitcoin"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("validation_failed"))
    );
    let (status, body) = post(
        &app,
        &token,
        "/api/payments/process",
        json!({"reservationId": reservation, "paymentMethod": "bank_transfer"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["payment"]["reservationNumber"].is_string());
    assert_eq!(reservation_status(&pool, reservation).await.0, "confirmed");

    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let settings = toss.settings();
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let toss_app = TestApp::spawn_with(pool.clone(), &overrides).await;
    let (token, reservation, _) = fan_with_hold(&toss_app, &pool).await;
    let (status, body) = post(
        &toss_app,
        &token,
        "/api/payments/process",
        json!({"reservationId": reservation, "paymentMethod": "card"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("sandbox_only"))
    );
}

/// A browser learns how to pay before any order exists: the sandbox and its methods, or Toss
/// with the widget's public client key (and never the secret key).
#[tokio::test]
async fn the_payment_config_names_the_provider_and_the_widget_client_key() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (status, body) = app
        .send(reqwest::Method::GET, "/api/payments/config", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"], "sandbox");
    assert_eq!(body["widget"], false);
    assert_eq!(body["sandbox"], true);
    assert!(
        body["sandboxMethods"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("card")))
    );

    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let toss_app = toss_app(&pool, &toss, &[]).await;
    let (status, body) = toss_app
        .send(reqwest::Method::GET, "/api/payments/config", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"provider": "toss", "widget": true, "clientKey": "test_ck_tiketi"})
    );
    assert!(!body.to_string().contains(&toss.secret_key));
}

async fn toss_app(pool: &PgPool, toss: &FakeToss, extra: &[(&str, &str)]) -> TestApp {
    let settings = toss.settings();
    let mut overrides: Vec<(&str, &str)> = extra.to_vec();
    overrides.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    TestApp::spawn_with(pool.clone(), &overrides).await
}

#[tokio::test]
async fn toss_confirms_survive_5xx_and_timeouts_with_one_charge() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_millis(1500)).await;
    let app = toss_app(&pool, &toss, &[("PAYMENT_PROVIDER_TIMEOUT_MS", "500")]).await;

    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    toss.misbehave(Misbehave::ServerErrors(2));
    let (status, body) = confirm(&app, &token, "toss_key_one", &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body.get("sandbox"),
        None,
        "a real provider's answer carries no sandbox label"
    );
    assert_eq!(toss.confirm_calls(), 3);
    assert_eq!(toss.charges(), 1);

    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    toss.misbehave(Misbehave::Hang(1));
    let (status, body) = confirm(&app, &token, "toss_key_two", &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        toss.charges(),
        2,
        "the retry after a timeout did not charge again"
    );
    assert_eq!(reservation_status(&pool, reservation).await.0, "confirmed");
}

#[tokio::test]
async fn toss_webhooks_are_verified_by_lookup_and_replays_refused() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    assert_eq!(
        confirm(&app, &token, "toss_key_hook", &order).await.0,
        StatusCode::OK
    );

    // Refunded from Toss' dashboard; Toss tells us.
    toss.cancel_from_dashboard("toss_key_hook");
    let body = toss.webhook_body("toss_key_hook");
    let send = |body: Value| {
        app.client
            .post(app.url("/api/payments/webhooks/toss"))
            .header("tosspayments-webhook-transmission-id", "tx-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.json::<Value>().await.unwrap()["action"], "refunded");
    assert_eq!(reservation_status(&pool, reservation).await.0, "cancelled");
    assert_eq!(seat_status(&pool, seat).await, "available");

    let replay = send(body).await.unwrap();
    assert_eq!(replay.status(), StatusCode::CONFLICT);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["code"],
        "webhook_duplicate"
    );

    // A forged notification for a payment Toss never made changes nothing.
    let forged = app
        .client
        .post(app.url("/api/payments/webhooks/toss"))
        .json(&json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "forged", "orderId": order, "status": "CANCELED"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_hold_that_expires_while_the_provider_approves_is_refunded_automatically() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_millis(1200)).await;
    let app = std::sync::Arc::new(
        toss_app(&pool, &toss, &[("PAYMENT_PROVIDER_TIMEOUT_MS", "400")]).await,
    );
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    // The provider hangs on the first attempt; meanwhile the hold lapses.
    toss.misbehave(Misbehave::Hang(1));
    let arrived = toss.confirm_arrived();
    let pending = {
        let (app, token, order) = (app.clone(), token.clone(), order.clone());
        tokio::spawn(async move { confirm(&app, &token, "toss_key_late", &order).await })
    };
    arrived.notified().await;
    sqlx::query(
        "UPDATE ticket.reservations SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(reservation)
    .execute(&pool)
    .await
    .unwrap();
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "reservation_expired_refunded");
    assert_eq!(body["refunded"], true);
    assert_eq!(toss.payment("toss_key_late").unwrap()["status"], "CANCELED");
    let (pay_status, refunded): (String, i32) =
        sqlx::query_as("SELECT status, refunded_amount FROM payment.payments WHERE order_id = $1")
            .bind(&order)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((pay_status.as_str(), refunded), ("refunded", 10000));
    assert_ne!(seat_status(&pool, seat).await, "sold");
    // Asking again gives the same answer.
    assert_eq!(confirm(&app, &token, "toss_key_late", &order).await.1, body);
}

#[tokio::test]
async fn the_reconciler_issues_tickets_for_an_approved_payment_the_ticket_service_missed() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let closed = format!("http://127.0.0.1:{}", tiketi_tests::free_port());
    // The fan holds and prepares on a healthy server...
    let healthy = TestApp::spawn(pool.clone()).await;
    let (token, reservation, _) = fan_with_hold(&healthy, &pool).await;
    let order = prepare(&healthy, &token, reservation).await;
    // ...and confirms on a replica whose payment service cannot reach the ticket service: the
    // charge is recorded, the tickets are not issued.
    let app = TestApp::spawn_with(pool.clone(), &[("TICKET_INTERNAL_URL", &closed)]).await;
    // The same fan, with a token this replica trusts.
    let fan: tiketi_core::auth::AuthUser =
        healthy.infra.verifier.verify(&token).await.unwrap().into();
    let token = app.tokens().key().mint(&fan, 600).unwrap();
    let (status, body) = confirm(&app, &token, &payment_key_for("card"), &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("ticket_service_unavailable")
        )
    );
    let stuck: String =
        sqlx::query_scalar("SELECT status FROM payment.payments WHERE order_id = $1")
            .bind(&order)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stuck, "approved");

    // A reconciler that can reach the ticket service finishes it.
    let state = tiketi_payment::AppState::new(healthy.infra.clone());
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    let pass = tiketi_payment::workers::reconciler::reconcile(&state, later)
        .await
        .unwrap();
    assert_eq!(pass.finished, 1, "{pass:?}");
    assert_eq!(reservation_status(&pool, reservation).await.0, "confirmed");
    // The fan's retry now gets the stored success.
    let (status, body) = confirm(&app, &token, "ignored-key", &order).await;
    assert_eq!(
        (status, body["success"].as_bool()),
        (StatusCode::OK, Some(true))
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_its_answer_and_refuses_a_different_request() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    let key = payment_key_for("card");
    let send = |amount: i64| {
        app.client
            .post(app.url("/api/payments/confirm"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "checkout-attempt-1")
            .json(&json!({"paymentKey": key, "orderId": order, "amount": amount}))
            .send()
    };
    let first = send(10000).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let again: Value = send(10000).await.unwrap().json().await.unwrap();
    assert_eq!(first, again);
    let reused = send(20000).await.unwrap();
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    assert_eq!(
        reused.json::<Value>().await.unwrap()["code"],
        "idempotency_key_reused"
    );
    assert_eq!(sandbox_charges(&pool, &order).await, 1);
}

#[tokio::test]
async fn the_fans_request_id_follows_the_call_from_payment_to_ticket() {
    use std::sync::{Arc, Mutex};
    let db = test_db().await;
    let pool = db.pool.clone();
    // A stand-in ticket service that records the request ids it is called with.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = {
        let seen = seen.clone();
        axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
                    seen.lock().unwrap().push(id.to_owned());
                }
                axum::Json(json!({ "reservation": {} }))
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ticket_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, recorder).await });

    let app = TestApp::spawn_with(pool.clone(), &[("TICKET_INTERNAL_URL", &ticket_url)]).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = prepare(&app, &token, reservation).await;
    let response = app
        .client
        .post(app.url("/api/payments/confirm"))
        .bearer_auth(&token)
        .header("x-request-id", "fan-request-4242")
        .json(&json!({"paymentKey": payment_key_for("card"), "orderId": order, "amount": 10000}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "fan-request-4242");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|id| id == "fan-request-4242"),
        "{:?}",
        seen.lock().unwrap()
    );
}
