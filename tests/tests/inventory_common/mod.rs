//! Seeding and request helpers shared by the `inventory_*` tests: events on sale (or not),
//! seats and ticket types written with SQL, and hold/reserve calls through the real server.
#![allow(dead_code)]

use reqwest::Response;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// An event whose sale window is `(start, end)` seconds relative to now, with its waiting room
/// turned off: every event has one by default, and these tests are about seats, reservations
/// and payments, not admission (the queue tests keep it on; `queue_common::event`).
pub async fn event_with_window(pool: &PgPool, start_secs: i64, end_secs: i64) -> Uuid {
    let id = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, venue, event_date, sale_start_date, sale_end_date)
         VALUES ('Inventory test', 'Test hall', now() + interval '30 days',
                 now() + make_interval(secs => $1), now() + make_interval(secs => $2))
         RETURNING id",
    )
    .bind(start_secs as f64)
    .bind(end_secs as f64)
    .fetch_one(pool)
    .await
    .expect("insert event");
    queue_off(pool, id).await;
    id
}

/// Turns `event_id`'s waiting room off, as an admin's `PUT /api/queue/admin/:eventId/settings`
/// `{"enabled": false}` does (the row that request writes).
pub async fn queue_off(pool: &PgPool, event_id: Uuid) {
    sqlx::query(
        "INSERT INTO ticket.queue_settings (event_id, enabled) VALUES ($1, false)
         ON CONFLICT (event_id) DO UPDATE SET enabled = false",
    )
    .bind(event_id)
    .execute(pool)
    .await
    .expect("turn the queue off");
}

/// An event on sale now (opened an hour ago, closing in a day).
pub async fn event_on_sale(pool: &PgPool) -> Uuid {
    event_with_window(pool, -3600, 86_400).await
}

/// `n` seats in section A of `event_id` at 10,000 won, in seat order.
pub async fn seats(pool: &PgPool, event_id: Uuid, n: i32) -> Vec<Uuid> {
    sqlx::query_scalar(
        "INSERT INTO ticket.seats (event_id, section, row_number, seat_number, seat_label, price)
         SELECT $1, 'A', 1 + (i - 1) / 50, 1 + (i - 1) % 50,
                format('A-%s-%s', 1 + (i - 1) / 50, 1 + (i - 1) % 50), 10000
         FROM generate_series(1, $2) i
         RETURNING id",
    )
    .bind(event_id)
    .bind(n)
    .fetch_all(pool)
    .await
    .expect("insert seats")
}

/// A general-admission ticket type with `quantity` tickets at `price`.
pub async fn ticket_type(pool: &PgPool, event_id: Uuid, quantity: i32, price: i32) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO ticket.ticket_types (event_id, name, price, total_quantity, available_quantity)
         VALUES ($1, 'Standing', $2, $3, $3) RETURNING id",
    )
    .bind(event_id)
    .bind(price)
    .bind(quantity)
    .fetch_one(pool)
    .await
    .expect("insert ticket type")
}

/// `POST /api/seats/reserve` as the holder of `token`.
pub async fn hold(app: &TestApp, token: &str, event_id: Uuid, seat_ids: &[Uuid]) -> Response {
    app.client
        .post(app.url("/api/seats/reserve"))
        .bearer_auth(token)
        .json(&json!({ "eventId": event_id, "seatIds": seat_ids }))
        .send()
        .await
        .expect("hold request")
}

/// `POST /api/reservations` for one ticket type.
pub async fn reserve(
    app: &TestApp,
    token: &str,
    event_id: Uuid,
    ticket_type_id: Uuid,
    quantity: i64,
) -> Response {
    app.client
        .post(app.url("/api/reservations"))
        .bearer_auth(token)
        .json(&json!({
            "eventId": event_id,
            "items": [{ "ticketTypeId": ticket_type_id, "quantity": quantity }],
        }))
        .send()
        .await
        .expect("reserve request")
}

/// A 201 answer's reservation id.
pub async fn created_id(response: Response) -> Uuid {
    assert_eq!(response.status(), 201, "expected 201");
    let body: Value = response.json().await.expect("json");
    body["reservation"]["id"]
        .as_str()
        .expect("reservation id")
        .parse()
        .expect("uuid")
}

/// `POST path` with a bearer token and no body.
pub async fn post_empty(app: &TestApp, token: &str, path: &str) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

/// The status and holder of seat `id`.
pub async fn seat_state(pool: &PgPool, id: Uuid) -> (String, Option<Uuid>) {
    sqlx::query_as("SELECT status, holder_reservation_id FROM ticket.seats WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("seat")
}

/// No seat is held or sold by anything but a live reservation that covers it, and no seat is
/// covered by two live reservations. Panics with the offending rows otherwise.
pub async fn audit_no_double_allocation(pool: &PgPool) {
    let doubles: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT rs.seat_id, count(*) FROM ticket.reservation_seats rs
         JOIN ticket.reservations r ON r.id = rs.reservation_id
         WHERE r.status IN ('pending', 'confirmed')
         GROUP BY rs.seat_id HAVING count(*) > 1",
    )
    .fetch_all(pool)
    .await
    .expect("audit");
    assert!(
        doubles.is_empty(),
        "seats in two live reservations: {doubles:?}"
    );
    let orphans: Vec<Uuid> = sqlx::query_scalar(
        "SELECT s.id FROM ticket.seats s
         WHERE s.status <> 'available' AND NOT EXISTS (
            SELECT 1 FROM ticket.reservations r
            JOIN ticket.reservation_seats rs ON rs.reservation_id = r.id AND rs.seat_id = s.id
            WHERE r.id = s.holder_reservation_id AND r.status IN ('pending', 'confirmed'))",
    )
    .fetch_all(pool)
    .await
    .expect("audit");
    assert!(
        orphans.is_empty(),
        "seats held without a live reservation: {orphans:?}"
    );
}
