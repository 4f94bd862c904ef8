//! The services together: the waiting room gates holding, reserving ticket types and paying, a
//! purchase (paid, or confirmed by an admin) frees the fan's slot at once, and paid reservations
//! are refunded through the payment service whether the fan cancels or an admin cancels the
//! event.

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use inventory_common::{created_id, event_on_sale, hold, reserve, seats, ticket_type};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_payment::provider::sandbox::payment_key_for;
use tiketi_tests::{TestApp, tick_of};
use tiketi_ticket::AppState;
use tiketi_ticket::queue;

use uuid::Uuid;

/// The longest processor interval: the server's own processor stays out of the way (it ticks at
/// start-up, before any queue exists, then not for a minute) and the test drives the ticks with
/// a chosen clock, so admissions run out without waiting for them.
const MANUAL_TICKS: (&str, &str) = ("QUEUE_PROCESSOR_INTERVAL", "60000");

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

/// A one-fan waiting room whose admissions last 30 s; nobody idles out during the test.
async fn queue_of_one(app: &TestApp, admin: &str, event: Uuid) {
    let (status, body) = call(
        app,
        reqwest::Method::PUT,
        admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"enabled": true, "threshold": 1, "admissionTtlSec": 30, "idleGraceSec": 3600}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Asserts `response` is 403 `not_admitted`.
async fn assert_not_admitted(response: reqwest::Response, who: &str) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_admitted")),
        "{who}: {body}"
    );
}

async fn tickets_left(pool: &sqlx::PgPool, ticket_type: Uuid) -> i32 {
    sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
        .bind(ticket_type)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn reserving_ticket_types_on_a_queued_event_needs_an_admission_that_has_not_expired() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event = event_on_sale(&pool).await;
    let standing = ticket_type(&pool, event, 10, 10000).await;
    queue_of_one(&app, &admin, event).await;
    let (first, first_token) = tokens.fan();
    let (second, second_token) = tokens.fan();

    // Never joined the waiting room: refused.
    assert_not_admitted(
        reserve(&app, &first_token, event, standing, 2).await,
        "never joined",
    )
    .await;
    // The first fan walks in (the line is empty); the second waits, and waiting is not admitted.
    let (_, joined) = post(
        &app,
        &first_token,
        &format!("/api/queue/check/{event}"),
        json!({}),
    )
    .await;
    assert_eq!(joined["queued"], false, "{joined}");
    let (_, joined) = post(
        &app,
        &second_token,
        &format!("/api/queue/check/{event}"),
        json!({}),
    )
    .await;
    assert_eq!(joined["position"], 1, "{joined}");
    assert_not_admitted(
        reserve(&app, &second_token, event, standing, 1).await,
        "waiting in line",
    )
    .await;
    // Admitted: reserved.
    created_id(reserve(&app, &first_token, event, standing, 1).await).await;

    // The processor's clock passes the 30 s admission: the first fan's slot is reclaimed and the
    // second fan is admitted in its place.
    let state = AppState::new(app.infra.clone());
    let t = tick_of(&state, queue::now_ms() + 31_000, event).await;
    assert_eq!(t.reclaimed, 1);
    assert_eq!(t.admitted, vec![second.id]);
    assert_not_admitted(
        reserve(&app, &first_token, event, standing, 1).await,
        "admission expired",
    )
    .await;
    let (status, body) = app
        .send(
            reqwest::Method::GET,
            &format!("/api/queue/status/{event}"),
            Some(&first_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("not_in_queue")),
        "{} is out: {body}",
        first.id
    );
    created_id(reserve(&app, &second_token, event, standing, 2).await).await;
    // Only the two admitted reservations took tickets; the refused ones took none.
    assert_eq!(tickets_left(&pool, standing).await, 10 - 1 - 2);
}

#[tokio::test]
async fn an_admin_confirming_a_reservation_frees_the_fans_slot_but_not_a_later_place_in_line() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event = event_on_sale(&pool).await;
    let seat_ids = seats(&pool, event, 2).await;
    queue_of_one(&app, &admin, event).await;
    let check = format!("/api/queue/check/{event}");
    let status_of = |token: String| {
        let app = &app;
        async move {
            app.send(
                reqwest::Method::GET,
                &format!("/api/queue/status/{event}"),
                Some(&token),
                None,
            )
            .await
            .1
        }
    };
    let confirm = |reservation: Uuid| {
        let (app, admin) = (&app, admin.clone());
        async move {
            call(
                app,
                reqwest::Method::PATCH,
                &admin,
                &format!("/api/admin/reservations/{reservation}/status"),
                json!({"status": "confirmed"}),
            )
            .await
        }
    };
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    let (third, third_token) = tokens.fan();

    // The first fan is admitted and holds a seat to pay by bank transfer; the second waits.
    assert_eq!(
        post(&app, &first, &check, json!({})).await.1["queued"],
        false
    );
    let transfer = created_id(hold(&app, &first, event, &[seat_ids[0]]).await).await;
    assert_eq!(
        post(&app, &second_token, &check, json!({})).await.1["position"],
        1
    );

    // The admin marks the transfer paid: the purchase is complete and the slot frees at once.
    let (status, body) = confirm(transfer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reservation"]["status"], "confirmed", "{body}");
    assert_eq!(status_of(first.clone()).await["status"], "not_in_queue");
    let state = AppState::new(app.infra.clone());
    let now = queue::now_ms();
    let t = tick_of(&state, now, event).await;
    assert_eq!(t.admitted, vec![second.id], "the next fan got the slot");

    // The second fan holds a seat for a transfer too, but the admission runs out (the third fan
    // gets the slot) and the second fan queues again before the transfer is confirmed.
    let late = created_id(hold(&app, &second_token, event, &[seat_ids[1]]).await).await;
    assert_eq!(
        post(&app, &third_token, &check, json!({})).await.1["position"],
        1
    );
    let t = tick_of(&state, now + 31_000, event).await;
    assert_eq!((t.reclaimed, t.admitted.clone()), (1, vec![third.id]));
    assert_eq!(
        post(&app, &second_token, &check, json!({})).await.1["position"],
        1
    );
    // Confirming that transfer takes nothing from the fan's new place, nor the third fan's slot.
    let (status, body) = confirm(late).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let standing = status_of(second_token.clone()).await;
    assert_eq!(
        (standing["status"].as_str(), standing["position"].as_u64()),
        (Some("queued"), Some(1)),
        "{standing}"
    );
    assert_eq!(status_of(third_token.clone()).await["status"], "active");
    let (_, view) = call(
        &app,
        reqwest::Method::GET,
        &admin,
        &format!("/api/queue/admin/{event}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (view["currentUsers"].as_u64(), view["queueSize"].as_u64()),
        (Some(1), Some(1)),
        "{view}"
    );
    assert_eq!(view["totals"]["left"], 0, "nobody gave a place up: {view}");
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
