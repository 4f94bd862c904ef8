//! Payment findings of the outside review (issue 16, the `pay` batch), each on real servers,
//! real Postgres and the TossPayments stand-in: a charge whose answer was lost is never marked
//! `failed`, fans cannot refund after the show, a virtual account holds seats only so long,
//! tells the fan where to pay and is closed when its reservation is cancelled, and webhooks and
//! approvals are checked against what we stored.

#[path = "inventory_common/mod.rs"]
mod inventory_common;
#[path = "payment_common/mod.rs"]
mod payment_common;

use std::time::Duration;

use inventory_common::{created_id, hold, seats};
use payment_common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use tiketi_tests::toss::{FakeToss, Outage};
use uuid::Uuid;

/// The hold lapses (as if its TTL had passed; the sweeper has not run yet).
async fn lapse_hold(pool: &PgPool, reservation: Uuid) {
    sqlx::query(
        "UPDATE ticket.reservations SET expires_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(reservation)
    .execute(pool)
    .await
    .unwrap();
}

/// Provider calls give up quickly, so a lost answer costs the test about two seconds.
const QUICK_PROVIDER: [(&str, &str); 1] = [("PAYMENT_PROVIDER_TIMEOUT_MS", "300")];

/// A charge whose answer was lost: Toss took the money for `key` and `order`, Tiketi's confirm
/// answered 503 and left the payment `ready` with the key stored.
async fn charge_with_lost_answer(
    app: &TestApp,
    pool: &PgPool,
    toss: &FakeToss,
    token: &str,
    key: &str,
    order: &str,
) {
    toss.outage(Outage::AnswersLost);
    let (status, body) = confirm(app, token, key, order).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    toss.recover();
    assert_eq!(toss.charges(), 1);
    assert_eq!(payment_status(pool, order).await, "ready");
}

// Finding 1: a charged payment is never marked `failed`.

#[tokio::test]
async fn a_retry_after_the_hold_lapsed_never_marks_a_lost_charge_failed_and_it_is_refunded() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &QUICK_PROVIDER).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    charge_with_lost_answer(&app, &pool, &toss, &token, "toss_key_lost", &order).await;

    lapse_hold(&pool, reservation).await;
    let (status, body) = confirm(&app, &token, "toss_key_lost", &order).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_ne!(
        body["code"], "reservation_expired",
        "claims nothing was charged: {body}"
    );
    assert_ne!(payment_status(&pool, &order).await, "failed");
    // Whatever the confirm could not settle, the reconciler does: the charge is refunded.
    reconcile(&app).await;
    assert_eq!(payment_status(&pool, &order).await, "refunded");
    assert_eq!(toss.payment("toss_key_lost").unwrap()["status"], "CANCELED");
    assert_eq!(toss.charges(), 1);
}

#[tokio::test]
async fn a_retry_while_the_provider_is_still_silent_leaves_the_order_in_doubt_for_the_reconciler() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &QUICK_PROVIDER).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    charge_with_lost_answer(&app, &pool, &toss, &token, "toss_key_silent", &order).await;

    // The event is cancelled meanwhile (its pending hold with it), and Toss cannot be asked.
    let event: Uuid = sqlx::query_scalar("SELECT event_id FROM ticket.reservations WHERE id = $1")
        .bind(reservation)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, admin) = app.tokens().admin();
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/admin/events/{event}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    toss.outage(Outage::Unreachable);
    let (status, body) = confirm(&app, &token, "toss_key_silent", &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_in_doubt")),
        "{body}"
    );
    assert_eq!(payment_status(&pool, &order).await, "ready");
    toss.recover();
    reconcile(&app).await;
    assert_eq!(payment_status(&pool, &order).await, "refunded");
    assert_eq!(
        toss.payment("toss_key_silent").unwrap()["status"],
        "CANCELED"
    );
}

#[tokio::test]
async fn a_provider_done_for_a_payment_stored_failed_is_refunded_by_the_webhook() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &QUICK_PROVIDER).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    // Stored `failed` (by an older release, or an operator) while Toss holds the money.
    toss.charge("toss_key_orphan", &order, 10000);
    sqlx::query(
        "UPDATE payment.payments SET status = 'failed', payment_key = 'toss_key_orphan'
         WHERE order_id = $1",
    )
    .bind(&order)
    .execute(&pool)
    .await
    .unwrap();
    let (status, body) = webhook(&app, "orphan-1", &toss.webhook_body("toss_key_orphan")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["action"], "refunded", "{body}");
    assert_eq!(
        toss.payment("toss_key_orphan").unwrap()["status"],
        "CANCELED"
    );
    assert_eq!(payment_status(&pool, &order).await, "refunded");
    assert_ne!(reservation_status(&pool, reservation).await, "confirmed");
}

// Finding 2: no fan refund after the show has started.

/// A paid reservation (sandbox card) whose event then starts: (fan token, reservation, payment key).
async fn paid_then_show_started(app: &TestApp, pool: &PgPool) -> (String, Uuid, String) {
    let (token, reservation, _) = fan_with_hold(app, pool).await;
    let order = order_of(app, &token, reservation).await;
    let key = tiketi_payment::provider::sandbox::payment_key_for("card");
    let (status, body) = confirm(app, &token, &key, &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = body["payment"]["paymentKey"].as_str().unwrap().to_owned();
    sqlx::query(
        "UPDATE ticket.events SET event_date = now() - interval '1 hour'
         WHERE id = (SELECT event_id FROM ticket.reservations WHERE id = $1)",
    )
    .bind(reservation)
    .execute(pool)
    .await
    .unwrap();
    (token, reservation, key)
}

#[tokio::test]
async fn a_fan_cannot_cancel_or_refund_once_the_show_has_started_but_an_admin_can() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_without_workers(pool.clone(), &[]).await;
    let (token, reservation, key) = paid_then_show_started(&app, &pool).await;

    let (status, body) = post(
        &app,
        &token,
        &format!("/api/reservations/{reservation}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("refund_window_closed")),
        "{body}"
    );
    let (status, body) = post(
        &app,
        &token,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelReason": "after the show"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("refund_window_closed")),
        "{body}"
    );
    assert_eq!(reservation_status(&pool, reservation).await, "confirmed");
    let refunded: i32 =
        sqlx::query_scalar("SELECT refunded_amount FROM payment.payments WHERE payment_key = $1")
            .bind(&key)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(refunded, 0);

    // An event marked ended closes the window as well, even with its date still ahead.
    let (token2, reservation2, key2) = paid_then_show_started(&app, &pool).await;
    sqlx::query(
        "UPDATE ticket.events SET event_date = now() + interval '1 day', status = 'ended'
         WHERE id = (SELECT event_id FROM ticket.reservations WHERE id = $1)",
    )
    .bind(reservation2)
    .execute(&pool)
    .await
    .unwrap();
    let (status, body) = post(
        &app,
        &token2,
        &format!("/api/payments/{key2}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("refund_window_closed")),
        "{body}"
    );

    // The admin still refunds.
    let (_, admin) = app.tokens().admin();
    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelReason": "goodwill"}),
    )
    .await;
    assert_eq!(
        (status, body["refundAmount"].as_i64()),
        (StatusCode::OK, Some(10000)),
        "{body}"
    );
    assert_eq!(reservation_status(&pool, reservation).await, "cancelled");
}

// Findings 3 and 4: a virtual account holds seats only so long, and says where to pay.

async fn expires_at(pool: &PgPool, reservation: Uuid) -> chrono::DateTime<chrono::Utc> {
    sqlx::query_scalar("SELECT expires_at FROM ticket.reservations WHERE id = $1")
        .bind(reservation)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_virtual_account_holds_the_seats_only_up_to_the_cap_and_tells_the_fan_where_to_pay() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[("DEPOSIT_HOLD_MAX_HOURS", "2")]).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;

    let (status, body) = confirm(&app, &token, "toss_vbank_cap", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Toss gives the account two days; the seats are held two hours.
    let held = expires_at(&pool, reservation).await;
    let cap = chrono::Utc::now() + chrono::Duration::hours(2);
    assert!(held <= cap, "held until {held}, cap {cap}");
    assert!(
        held > cap - chrono::Duration::minutes(5),
        "held until {held}"
    );
    // The 202 says where to pay, until when, and the reservation's real state.
    let account = &body["payment"]["virtualAccount"];
    assert_eq!(account["accountNumber"], "X6516657", "{body}");
    assert_eq!(account["bankCode"], "20", "{body}");
    assert_eq!(account["customerName"], "김토스", "{body}");
    assert!(account["dueDate"].is_string(), "{body}");
    let hold_until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["payment"]["holdUntil"].clone()).unwrap();
    assert!((hold_until - held).num_seconds().abs() <= 1, "{body}");
    assert_eq!(body["reservation"]["status"], "pending", "{body}");
    let (status, shown) = app
        .send(
            reqwest::Method::GET,
            &format!("/api/payments/order/{order}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        shown["payment"]["virtualAccount"]["accountNumber"],
        "X6516657"
    );

    // Another payment key for the same order is refused, not answered with the account.
    let (status, body) = confirm(&app, &token, "toss_vbank_other", &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_key_mismatch")),
        "{body}"
    );
}

#[tokio::test]
async fn a_virtual_account_hold_never_outlasts_the_sale() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    // The sale closes in thirty minutes.
    let event = inventory_common::event_with_window(&pool, -3600, 1800).await;
    let seat = seats(&pool, event, 1).await[0];
    let (_, token) = app.tokens().fan();
    let reservation = created_id(hold(&app, &token, event, &[seat]).await).await;
    let order = order_of(&app, &token, reservation).await;
    let (status, body) = confirm(&app, &token, "toss_vbank_sale", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sale_end: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT sale_end_date FROM ticket.events WHERE id = $1")
            .bind(event)
            .fetch_one(&pool)
            .await
            .unwrap();
    let held = expires_at(&pool, reservation).await;
    assert!(held <= sale_end, "held until {held}, sale ends {sale_end}");

    // From the re-check: a sale closing before the ordinary hold would run out shortens the
    // hold to the end it announces (`holdUntil`), rather than keeping the longer one.
    let event = inventory_common::event_with_window(&pool, -3600, 60).await;
    let seat = seats(&pool, event, 1).await[0];
    let (_, token) = app.tokens().fan();
    let reservation = created_id(hold(&app, &token, event, &[seat]).await).await;
    let order = order_of(&app, &token, reservation).await;
    let (status, body) = confirm(&app, &token, "toss_vbank_soon", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let announced: chrono::DateTime<chrono::Utc> = body["payment"]["holdUntil"]
        .as_str()
        .expect("holdUntil in the answer")
        .parse()
        .unwrap();
    let held = expires_at(&pool, reservation).await;
    assert!(
        (held - announced).num_milliseconds().abs() < 1000,
        "held until {held}, announced {announced}"
    );
}

// Finding 5: a cancelled reservation's virtual account is closed.

#[tokio::test]
async fn cancelling_a_reservation_awaiting_its_deposit_closes_the_virtual_account() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;

    // Through the payment service's refund-reservation (as the ticket service calls it).
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    let (status, _) = confirm(&app, &token, "toss_vbank_direct", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let response = app
        .client
        .post(app.url("/internal/payments/refund-reservation"))
        .header(
            tiketi_core::internal::TOKEN_HEADER,
            app.infra.config.inventory.internal_api_token.expose(),
        )
        .json(&json!({ "reservationId": reservation, "reason": "cancelled by the fan" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        toss.payment("toss_vbank_direct").unwrap()["status"],
        "CANCELED"
    );
    assert_eq!(payment_status(&pool, &order).await, "failed");

    // The fan cancels the pending reservation: the reconciler closes the account.
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    let (status, _) = confirm(&app, &token, "toss_vbank_fan", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = post(
        &app,
        &token,
        &format!("/api/reservations/{reservation}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    reconcile(&app).await;
    assert_eq!(
        toss.payment("toss_vbank_fan").unwrap()["status"],
        "CANCELED"
    );
    assert_eq!(payment_status(&pool, &order).await, "failed");
    // A deposit that still arrives (Toss' race) is refunded, never kept.
    let callback = toss.deposit("toss_vbank_fan");
    let (status, body) = webhook(&app, "late-deposit", &callback).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(payment_status(&pool, &order).await, "refunded");
    assert_eq!(reservation_status(&pool, reservation).await, "cancelled");
}

// Finding 6: a forged status webhook costs no provider call.

#[tokio::test]
async fn a_status_webhook_naming_another_key_for_a_known_order_is_refused_without_calling_toss() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    let (status, body) = confirm(&app, &token, "toss_key_real", &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let before = toss.lookups();
    let forged = json!({
        "eventType": "PAYMENT_STATUS_CHANGED",
        "data": { "paymentKey": "forged_key_123", "orderId": order, "status": "CANCELED" },
    });
    let (status, body) = webhook(&app, "forged-1", &forged).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(toss.lookups(), before, "a forged key cost a Toss call");
    assert_eq!(payment_status(&pool, &order).await, "completed");
    // The genuine notification is still looked up and acted on.
    let (status, body) = webhook(&app, "genuine-1", &toss.webhook_body("toss_key_real")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(toss.lookups(), before + 1);
}

// Finding 7: an approval for another amount issues no tickets.

#[tokio::test]
async fn a_provider_approval_for_another_amount_issues_no_tickets_and_is_refunded() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    // Toss holds a charge of 5,000 won for the 10,000-won order.
    toss.charge("toss_key_wrong", &order, 5000);
    let (status, body) = confirm(&app, &token, "toss_key_wrong", &order).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    reconcile(&app).await;
    assert_ne!(reservation_status(&pool, reservation).await, "confirmed");
    assert_eq!(payment_status(&pool, &order).await, "refunded");
    assert_eq!(
        toss.payment("toss_key_wrong").unwrap()["status"],
        "CANCELED"
    );
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payment.payment_logs
         WHERE order_id = $1 AND event = 'provider_amount_mismatch'",
    )
    .bind(&order)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(logged, 1);
}

// Finding 8: a cancel refused while the payment completes says "retry shortly".

#[tokio::test]
async fn a_cancel_while_the_payment_is_still_completing_answers_payment_in_progress_with_retry_after()
 {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_without_workers(pool.clone(), &[]).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    let key = tiketi_payment::provider::sandbox::payment_key_for("card");
    let (status, body) = confirm(&app, &token, &key, &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // As if the tickets were issued but the payment not yet recorded completed.
    sqlx::query("UPDATE payment.payments SET status = 'approved' WHERE order_id = $1")
        .bind(&order)
        .execute(&pool)
        .await
        .unwrap();
    let response = app
        .client
        .post(app.url(&format!("/api/reservations/{reservation}/cancel")))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payment_in_progress", "{body}");
    assert_eq!(reservation_status(&pool, reservation).await, "confirmed");
}
