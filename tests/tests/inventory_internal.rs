//! The payment service's interface to reservations (`/internal/reservations/:id/...`): the
//! shared token, confirm only while pending and unexpired, cancel releasing a confirmed
//! reservation's seats, and both idempotent.

mod inventory_common;

use inventory_common::*;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

async fn internal(app: &TestApp, id: Uuid, action: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/internal/reservations/{id}/{action}")));
    if let Some(token) = token {
        request = request.header("x-internal-token", token);
    }
    request.send().await.unwrap()
}

fn token_of(app: &TestApp) -> String {
    app.infra
        .config
        .inventory
        .internal_api_token
        .expose()
        .to_owned()
}

#[tokio::test]
async fn the_internal_interface_refuses_callers_without_the_service_token() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, fan) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 1).await;
    let id = created_id(hold(&app, &fan, event, &s).await).await;

    let response = internal(&app, id, "confirm", None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "internal_token_missing"
    );
    let response = internal(&app, id, "confirm", Some("not-the-token-at-all")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "internal_token_invalid"
    );
    // A fan's bearer token is not a service token.
    let response = app
        .client
        .post(app.url(&format!("/internal/reservations/{id}/confirm")))
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(seat_state(&pool, s[0]).await.0, "held");
    // Not part of the public path table: the ALB never routes it.
    assert!(tiketi_core::paths::service_for_path("/internal/reservations/x/confirm").is_none());
}

#[tokio::test]
async fn confirming_twice_sells_the_seats_once_and_answers_the_same() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (fan, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 2).await;
    let id = created_id(hold(&app, &token, event, &s).await).await;
    let service = token_of(&app);

    let first = app
        .client
        .post(app.url(&format!("/internal/reservations/{id}/confirm")))
        .header("x-internal-token", &service)
        .json(&json!({ "paymentMethod": "card" }))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["reservation"]["status"], "confirmed");
    assert_eq!(first["reservation"]["paymentStatus"], "completed");
    assert_eq!(first["reservation"]["paymentMethod"], "card");
    assert_eq!(first["reservation"]["userId"], fan.id.to_string());
    for seat in &s {
        assert_eq!(
            seat_state(&pool, *seat).await,
            ("sold".to_owned(), Some(id))
        );
    }

    let again = internal(&app, id, "confirm", Some(&service)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    audit_no_double_allocation(&pool).await;
}

#[tokio::test]
async fn a_lapsed_hold_cannot_be_confirmed() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // No hold sweeper: it would release the lapsed seat while this test looks at it.
    let app = TestApp::spawn_without_workers(pool.clone(), &[]).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 1).await;
    let id = created_id(hold(&app, &token, event, &s).await).await;
    // Lapsed but not yet swept: confirm itself must check the expiry.
    sqlx::query(
        "UPDATE ticket.reservations SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();

    let response = internal(&app, id, "confirm", Some(&token_of(&app))).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "reservation_expired"
    );
    assert_eq!(seat_state(&pool, s[0]).await, ("held".to_owned(), Some(id)));

    let unknown = internal(&app, Uuid::new_v4(), "confirm", Some(&token_of(&app))).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn cancelling_a_refunded_reservation_releases_its_seats_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 2).await;
    let standing = ticket_type(&pool, event, 4, 1000).await;
    let held = created_id(hold(&app, &token, event, &s).await).await;
    let reserved = created_id(reserve(&app, &token, event, standing, 2).await).await;
    let service = token_of(&app);
    for id in [held, reserved] {
        assert_eq!(
            internal(&app, id, "confirm", Some(&service)).await.status(),
            200
        );
    }

    let first = internal(&app, held, "cancel", Some(&service)).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["reservation"]["status"], "cancelled");
    assert_eq!(first["reservation"]["paymentStatus"], "refunded");
    for seat in &s {
        assert_eq!(
            seat_state(&pool, *seat).await,
            ("available".to_owned(), None)
        );
    }
    let again = internal(&app, held, "cancel", Some(&service)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    // The freed seats can be held again, and a repeated cancel of the old reservation does not
    // touch the new hold.
    let (_, other) = app.tokens().fan();
    let new_hold = created_id(hold(&app, &other, event, &s).await).await;
    assert_eq!(
        internal(&app, held, "cancel", Some(&service))
            .await
            .status(),
        200
    );
    assert_eq!(
        seat_state(&pool, s[0]).await,
        ("held".to_owned(), Some(new_hold))
    );

    assert_eq!(
        internal(&app, reserved, "cancel", Some(&service))
            .await
            .status(),
        200
    );
    assert_eq!(
        internal(&app, reserved, "cancel", Some(&service))
            .await
            .status(),
        200
    );
    let left: i32 =
        sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
            .bind(standing)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 4, "quantities returned exactly once");
}
