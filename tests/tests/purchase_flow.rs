//! The services together: the waiting room gates holding and paying, a purchase frees the fan's
//! slot at once, and paid reservations are refunded through the payment service whether the fan
//! cancels or an admin cancels the event.

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use inventory_common::{created_id, event_on_sale, hold, seats};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_payment::provider::sandbox::payment_key_for;
use tiketi_tests::TestApp;
use uuid::Uuid;

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    app.send(method, path, Some(token), Some(&body)).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(app, reqwest::Method::POST, token, path, body).await
}

async fn queue_on(app: &TestApp, admin: &str, event: Uuid) {
    let (status, body) = call(
        app,
        reqwest::Method::PUT,
        admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"enabled": true, "threshold": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn pay(app: &TestApp, token: &str, reservation: Uuid) -> (StatusCode, Value) {
    let (status, prepared) = post(
        app,
        token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    if status != StatusCode::CREATED {
        return (status, prepared);
    }
    post(
        app,
        token,
        "/api/payments/confirm",
        json!({"paymentKey": payment_key_for("card"), "orderId": prepared["orderId"], "amount": 10000}),
    )
    .await
}

#[tokio::test]
async fn the_waiting_room_gates_holds_and_payments_and_a_purchase_frees_the_slot() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event = event_on_sale(&pool).await;
    let seat_ids = seats(&pool, event, 2).await;
    queue_on(&app, &admin, event).await;

    // Not admitted: no hold.
    let (_, fan) = tokens.fan();
    let refused = hold(&app, &fan, event, &[seat_ids[0]]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "not_admitted"
    );

    // Admitted (the queue is empty): hold, pay, and the slot is freed at once.
    let (status, joined) = post(&app, &fan, &format!("/api/queue/check/{event}"), json!({})).await;
    assert_eq!(
        (status, joined["queued"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{joined}"
    );
    let reservation = created_id(hold(&app, &fan, event, &[seat_ids[0]]).await).await;
    let (status, paid) = pay(&app, &fan, reservation).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    let (_, after) = call(
        &app,
        reqwest::Method::GET,
        &fan,
        &format!("/api/queue/status/{event}"),
        Value::Null,
    )
    .await;
    assert_eq!(after["status"], "not_in_queue", "{after}");

    // Admitted, held, then left the room: paying is refused.
    let (_, other) = tokens.fan();
    post(
        &app,
        &other,
        &format!("/api/queue/check/{event}"),
        json!({}),
    )
    .await;
    let reservation = created_id(hold(&app, &other, event, &[seat_ids[1]]).await).await;
    post(
        &app,
        &other,
        &format!("/api/queue/leave/{event}"),
        json!({}),
    )
    .await;
    let (status, body) = post(
        &app,
        &other,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_admitted"))
    );
}

async fn paid_reservation(
    app: &TestApp,
    pool: &sqlx::PgPool,
    event: Uuid,
    seat: Uuid,
) -> (String, Uuid) {
    let (_, fan) = app.tokens().fan();
    let reservation = created_id(hold(app, &fan, event, &[seat]).await).await;
    let (status, body) = pay(app, &fan, reservation).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let status: String = sqlx::query_scalar("SELECT status FROM ticket.reservations WHERE id = $1")
        .bind(reservation)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(status, "confirmed");
    (fan, reservation)
}

async fn refunded(
    pool: &sqlx::PgPool,
    reservation: Uuid,
    seat: Uuid,
) -> (String, String, String, i32) {
    sqlx::query_as(
        "SELECT r.status, p.status, s.status, p.refunded_amount
         FROM ticket.reservations r JOIN payment.payments p ON p.reservation_id = r.id, ticket.seats s
         WHERE r.id = $1 AND s.id = $2",
    )
    .bind(reservation)
    .bind(seat)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_fan_cancelling_a_paid_reservation_is_refunded_through_payment() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let event = event_on_sale(&pool).await;
    let seat = seats(&pool, event, 1).await[0];
    let (fan, reservation) = paid_reservation(&app, &pool, event, seat).await;

    let (status, body) = post(
        &app,
        &fan,
        &format!("/api/reservations/{reservation}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refundAmount"], 10000);
    assert_eq!(
        refunded(&pool, reservation, seat).await,
        (
            "cancelled".into(),
            "refunded".into(),
            "available".into(),
            10000
        )
    );
    // Again: nothing more happens.
    let (status, _) = post(
        &app,
        &fan,
        &format!("/api/reservations/{reservation}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let refunds: i64 = sqlx::query_scalar("SELECT count(*) FROM payment.refunds")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(refunds, 1);
}

#[tokio::test]
async fn cancelling_an_event_refunds_its_paid_reservations() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    let event = event_on_sale(&pool).await;
    let seat_ids = seats(&pool, event, 2).await;
    let (_, first) = paid_reservation(&app, &pool, event, seat_ids[0]).await;
    let (_, second) = paid_reservation(&app, &pool, event, seat_ids[1]).await;

    let (status, body) = post(
        &app,
        &admin,
        &format!("/api/admin/events/{event}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cancelledPaidReservations"], 2, "{body}");
    assert_eq!(body["refundsNeeded"], json!([]));
    for (reservation, seat) in [(first, seat_ids[0]), (second, seat_ids[1])] {
        let (r, p, _, amount) = refunded(&pool, reservation, seat).await;
        assert_eq!(
            (r.as_str(), p.as_str(), amount),
            ("cancelled", "refunded", 10000)
        );
    }
}
