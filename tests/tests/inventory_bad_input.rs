//! Bad input to the inventory routes gets a 4xx with a stable code, never a 500: malformed ids,
//! unknown events and ticket types, negative quantities, 10,000 seat ids, huge bodies, wrong
//! content types, missing tokens.

mod inventory_common;

use inventory_common::*;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

async fn expect_code(response: reqwest::Response, status: u16, code: &str) {
    let got = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
}

#[tokio::test]
async fn bad_hold_requests_are_client_errors_with_codes() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 2).await;
    let post = |body: String, content_type: &'static str| {
        app.client
            .post(app.url("/api/seats/reserve"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let malformed = json!({ "eventId": "not-a-uuid", "seatIds": [s[0]] }).to_string();
    expect_code(
        post(malformed, "application/json").await.unwrap(),
        400,
        "invalid_body",
    )
    .await;
    let malformed_seat = json!({ "eventId": event, "seatIds": ["12345"] }).to_string();
    expect_code(
        post(malformed_seat, "application/json").await.unwrap(),
        400,
        "invalid_body",
    )
    .await;
    let not_a_list = json!({ "eventId": event, "seatIds": s[0] }).to_string();
    expect_code(
        post(not_a_list, "application/json").await.unwrap(),
        400,
        "invalid_body",
    )
    .await;
    expect_code(
        post("{".into(), "application/json").await.unwrap(),
        400,
        "invalid_json",
    )
    .await;
    let good = json!({ "eventId": event, "seatIds": [s[0]] }).to_string();
    expect_code(
        post(good.clone(), "text/plain").await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let empty = json!({ "eventId": event, "seatIds": [] }).to_string();
    expect_code(
        post(empty, "application/json").await.unwrap(),
        400,
        "validation_failed",
    )
    .await;

    let unknown_event = json!({ "eventId": Uuid::new_v4(), "seatIds": [s[0]] }).to_string();
    expect_code(
        post(unknown_event, "application/json").await.unwrap(),
        404,
        "event_not_found",
    )
    .await;
    // Seats that do not exist, or belong to another event, are unavailable.
    let foreign = json!({ "eventId": event, "seatIds": [Uuid::new_v4()] }).to_string();
    expect_code(
        post(foreign, "application/json").await.unwrap(),
        409,
        "seat_unavailable",
    )
    .await;

    // 10,000 seat ids: refused before any SQL runs (larger than the JSON body limit).
    let many: Vec<Uuid> = (0..10_000).map(|_| Uuid::new_v4()).collect();
    let many = json!({ "eventId": event, "seatIds": many }).to_string();
    expect_code(
        post(many, "application/json").await.unwrap(),
        413,
        "payload_too_large",
    )
    .await;
    // 1,000 ids fit in the body limit and are refused by validation.
    let some: Vec<Uuid> = (0..1_000).map(|_| Uuid::new_v4()).collect();
    let some = json!({ "eventId": event, "seatIds": some }).to_string();
    expect_code(
        post(some, "application/json").await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    let huge = format!(
        "{{\"eventId\": \"{event}\", \"pad\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    expect_code(
        post(huge, "application/json").await.unwrap(),
        413,
        "payload_too_large",
    )
    .await;

    let anonymous = app
        .client
        .post(app.url("/api/seats/reserve"))
        .json(&json!({ "eventId": event, "seatIds": [s[0]] }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // Nothing above held anything.
    assert_eq!(seat_state(&pool, s[0]).await.0, "available");
    // The good request still works.
    expect_created(post(good, "application/json").await.unwrap()).await;
}

async fn expect_created(response: reqwest::Response) {
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn bad_reservation_requests_are_client_errors_with_codes() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let standing = ticket_type(&pool, event, 5, 1000).await;

    expect_code(
        reserve(&app, &token, event, standing, -3).await,
        400,
        "validation_failed",
    )
    .await;
    expect_code(
        reserve(&app, &token, event, standing, 0).await,
        400,
        "validation_failed",
    )
    .await;
    expect_code(
        reserve(&app, &token, event, standing, i64::MAX).await,
        400,
        "validation_failed",
    )
    .await;
    expect_code(
        reserve(&app, &token, event, Uuid::new_v4(), 1).await,
        404,
        "ticket_type_not_found",
    )
    .await;
    expect_code(
        reserve(&app, &token, Uuid::new_v4(), standing, 1).await,
        404,
        "event_not_found",
    )
    .await;
    let overflow = app
        .client
        .post(app.url("/api/reservations"))
        .bearer_auth(&token)
        .json(
            &json!({ "eventId": event, "items": [{ "ticketTypeId": standing, "quantity": 1e40 }] }),
        )
        .send()
        .await
        .unwrap();
    expect_code(overflow, 400, "invalid_body").await;

    for path in [
        "/api/seats/reservation/not-a-uuid",
        "/api/reservations/not-a-uuid",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        expect_code(response, 400, "invalid_id").await;
    }
    expect_code(
        post_empty(&app, &token, "/api/reservations/12/cancel").await,
        400,
        "invalid_id",
    )
    .await;
    let unknown = format!("/api/reservations/{}", Uuid::new_v4());
    let response = app
        .client
        .get(app.url(&unknown))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect_code(response, 404, "reservation_not_found").await;
    let response = app
        .client
        .post(app.url("/internal/reservations/nope/confirm"))
        .header(
            "x-internal-token",
            app.infra.config.inventory.internal_api_token.expose(),
        )
        .send()
        .await
        .unwrap();
    expect_code(response, 400, "invalid_id").await;
    let left: i32 =
        sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
            .bind(standing)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 5);
}
