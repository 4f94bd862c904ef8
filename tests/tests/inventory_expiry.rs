//! Expiry and cancellation on a real server: the hold sweeper driven with a chosen clock (no
//! sleeping), releases guarded by holder id, and the fan's cancel.

mod inventory_common;

use chrono::{Duration, Utc};
use inventory_common::*;
use serde_json::Value;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use tiketi_ticket::realtime::Realtime;
use tiketi_ticket::workers::hold_sweeper::sweep_expired;

#[tokio::test]
async fn a_hold_expires_only_when_the_clock_passes_it_and_its_seats_come_back() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 2).await;
    let standing = ticket_type(&pool, event, 5, 1000).await;
    let held = created_id(hold(&app, &token, event, &s).await).await;
    let reserved = created_id(reserve(&app, &token, event, standing, 2).await).await;

    let realtime = Realtime::new();
    let mut pushes = realtime.subscribe();
    let report = sweep_expired(&pool, &realtime, Utc::now()).await.unwrap();
    assert!(report.expired.is_empty(), "nothing is due yet");
    assert_eq!(seat_state(&pool, s[0]).await.0, "held");

    // HOLD_TTL_SECS defaults to 300: five minutes and a second later both lapse.
    let later = Utc::now() + Duration::seconds(301);
    let report = sweep_expired(&pool, &realtime, later).await.unwrap();
    let mut expired = report.expired.clone();
    expired.sort();
    let mut want = vec![held, reserved];
    want.sort();
    assert_eq!(expired, want);
    assert_eq!(report.released.seat_count(), 2);
    for seat in &s {
        assert_eq!(
            seat_state(&pool, *seat).await,
            ("available".to_owned(), None)
        );
    }
    let left: i32 =
        sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
            .bind(standing)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 5);

    // Pushed after commit: seats-released to the seat map and ticket-updated to the event.
    let mut seen = Vec::new();
    while let Ok(push) = pushes.try_recv() {
        seen.push((push.room.name(), push.event, push.payload));
    }
    let released = seen
        .iter()
        .find(|(room, event_name, _)| *event_name == "seats-released" && room.starts_with("seats:"))
        .expect("seats-released pushed to the seat map");
    assert_eq!(released.2["seatIds"].as_array().unwrap().len(), 2);
    assert!(
        seen.iter()
            .any(|(_, e, p)| *e == "ticket-updated" && p["available_quantity"] == 5)
    );

    let view: Value = app
        .client
        .get(app.url(&format!("/api/seats/reservation/{held}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["reservation"]["status"], "expired");
    assert_eq!(view["reservation"]["isExpired"], true);
    // A second sweep finds nothing.
    assert!(
        sweep_expired(&pool, &realtime, later)
            .await
            .unwrap()
            .expired
            .is_empty()
    );
}

#[tokio::test]
async fn cancelling_an_expired_reservation_never_frees_a_seat_someone_else_now_holds() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, first) = tokens.fan();
    let (_, second) = tokens.fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 1).await;

    let lapsed = created_id(hold(&app, &first, event, &s).await).await;
    sweep_expired(&pool, &Realtime::new(), Utc::now() + Duration::seconds(301))
        .await
        .unwrap();
    let now_held = created_id(hold(&app, &second, event, &s).await).await;

    let response = post_empty(&app, &first, &format!("/api/reservations/{lapsed}/cancel")).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "reservation_expired"
    );
    assert_eq!(
        seat_state(&pool, s[0]).await,
        ("held".to_owned(), Some(now_held))
    );

    // Even payment's cancel of the lapsed reservation leaves the seat with its new holder.
    let response = app
        .client
        .post(app.url(&format!("/internal/reservations/{lapsed}/cancel")))
        .header(
            "x-internal-token",
            app.infra.config.inventory.internal_api_token.expose(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["reservation"]["status"],
        "expired"
    );
    assert_eq!(
        seat_state(&pool, s[0]).await,
        ("held".to_owned(), Some(now_held))
    );
    audit_no_double_allocation(&pool).await;
}

#[tokio::test]
async fn a_fan_cancels_a_pending_reservation_once_and_gets_the_inventory_back() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, token) = tokens.fan();
    let (_, stranger) = tokens.fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 2).await;
    let standing = ticket_type(&pool, event, 3, 1000).await;
    let held = created_id(hold(&app, &token, event, &s).await).await;
    let reserved = created_id(reserve(&app, &token, event, standing, 2).await).await;

    let path = format!("/api/reservations/{held}/cancel");
    assert_eq!(post_empty(&app, &stranger, &path).await.status(), 404);
    assert_eq!(seat_state(&pool, s[0]).await.0, "held");

    let response = post_empty(&app, &token, &path).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reservation"]["status"], "cancelled");
    assert_eq!(
        seat_state(&pool, s[0]).await,
        ("available".to_owned(), None)
    );
    // Repeating the cancel gives the same answer and releases nothing else.
    assert_eq!(post_empty(&app, &token, &path).await.status(), 200);

    let path = format!("/api/reservations/{reserved}/cancel");
    assert_eq!(post_empty(&app, &token, &path).await.status(), 200);
    let left: i32 =
        sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
            .bind(standing)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 3);

    // The fan's list shows both, newest first, with items and seats.
    let mine: Value = app
        .client
        .get(app.url("/api/reservations/my"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = mine["reservations"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], reserved.to_string());
    assert_eq!(list[0]["items"][0]["quantity"], 2);
    assert_eq!(list[1]["seats"].as_array().unwrap().len(), 2);
    assert!(list.iter().all(|r| r["status"] == "cancelled"));
}

#[tokio::test]
async fn a_reservation_confirmed_without_a_payment_is_cancelled_with_nothing_to_refund() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 1).await;
    let id = created_id(hold(&app, &token, event, &s).await).await;
    let confirm = app
        .client
        .post(app.url(&format!("/internal/reservations/{id}/confirm")))
        .header(
            "x-internal-token",
            app.infra.config.inventory.internal_api_token.expose(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);

    // Confirmed without a payment (nothing to refund): the fan's cancel releases the seat.
    let response = post_empty(&app, &token, &format!("/api/reservations/{id}/cancel")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["refundAmount"], 0);
    assert_eq!(
        seat_state(&pool, s[0]).await,
        ("available".to_owned(), None)
    );
}

#[tokio::test]
async fn event_statuses_follow_the_sale_window_and_are_pushed_when_they_move() {
    let db = test_db().await;
    let pool = db.pool.clone();
    use tiketi_ticket::workers::event_status::refresh_event_statuses;
    // Stored as 'upcoming' (the default) while its sale opened an hour ago.
    let event = event_on_sale(&pool).await;
    let realtime = Realtime::new();
    let mut pushes = realtime.subscribe();

    let changed = refresh_event_statuses(&pool, &realtime, Utc::now())
        .await
        .unwrap();
    assert!(
        changed.contains(&(event, "on_sale".to_owned())),
        "{changed:?}"
    );
    let push = pushes.try_recv().expect("event-status-changed pushed");
    assert_eq!(push.event, "event-status-changed");
    assert_eq!(push.payload["status"], "on_sale");
    assert_eq!(push.payload["eventId"], event.to_string());

    // Nothing moves twice.
    let again = refresh_event_statuses(&pool, &realtime, Utc::now())
        .await
        .unwrap();
    assert!(!again.iter().any(|(id, _)| *id == event));

    // Two days later the sale (closing in one day) has ended.
    let later = Utc::now() + Duration::days(2);
    let changed = refresh_event_statuses(&pool, &realtime, later)
        .await
        .unwrap();
    assert!(
        changed.contains(&(event, "ended".to_owned())),
        "{changed:?}"
    );
    let stored: String = sqlx::query_scalar("SELECT status FROM ticket.events WHERE id = $1")
        .bind(event)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, "ended");
}
