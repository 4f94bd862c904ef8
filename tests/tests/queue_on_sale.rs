//! The on-sale moment: nobody is admitted before sale start in any queue mode. Fans who join a
//! FIFO queue early take their place in line in arrival order (no admission, no clock running);
//! the first tick at the start admits them in that order, each admission's lifetime counted from
//! then. The answers carry the server's clock and the sale start so a client counts down by them,
//! and the queue's cached sale start follows an admin who moves it.

mod queue_common;

use queue_common::*;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::{TestApp, tick_of};
use tiketi_ticket::AppState;
use tiketi_ticket::queue;

fn ms_of(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
        .expect("RFC 3339")
        .timestamp_millis()
}

async fn status(app: &TestApp, token: &str, event_id: uuid::Uuid) -> Value {
    let res = app
        .client
        .get(app.url(&format!("/api/queue/status/{event_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn early_fifo_fans_wait_in_arrival_order_and_are_admitted_at_sale_start_with_a_fresh_clock() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    // FIFO (the default mode), room for everyone: only the sale start holds the fans back.
    let event_id = event(&app.infra.db, 1800).await;
    put_settings(
        &app,
        &admin,
        event_id,
        json!({"threshold": 10, "admissionTtlSec": 60, "idleGraceSec": 86400}),
    )
    .await;
    let fans: Vec<_> = (0..3).map(|_| tokens.fan()).collect();
    let mut sale_start = 0;
    for (i, (_, token)) in fans.iter().enumerate() {
        let (code, body) = join(&app, token, event_id).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            body["queued"], true,
            "a fan was admitted before sale start: {body}"
        );
        assert_eq!(body["status"], "queued");
        assert_ne!(body["preQueue"], true, "FIFO keeps a plain line: {body}");
        assert_eq!(body["position"].as_u64(), Some(i as u64 + 1), "{body}");
        assert!(body.get("admissionExpiresAt").is_none(), "{body}");
        // The client counts down by the server's clock to the start.
        let server_time = body["serverTime"].as_i64().expect("serverTime");
        assert!((server_time - queue::now_ms()).abs() < 5_000, "{body}");
        sale_start = ms_of(&body["saleStart"]);
        assert!(
            (1_790_000..=1_800_000).contains(&(sale_start - server_time)),
            "{body}"
        );
        // The wait includes the half hour until the start.
        assert!(body["estimatedWait"].as_u64().unwrap() >= 1_790, "{body}");
        assert_eq!(body["admissionTtlSec"], 60);
        assert_eq!(body["paused"], false);
    }
    // Joining again keeps the place; nothing lets an early fan shop.
    let (_, again) = join(&app, &fans[1].1, event_id).await;
    assert_eq!(again["position"], 2, "{again}");
    let state = AppState::new(app.infra.clone());
    for (user, _) in &fans {
        assert!(
            queue::require_admission(&state, user.id, event_id)
                .await
                .is_err(),
            "an early fan may shop before sale start"
        );
    }

    // Ticks before the start admit nobody, however free the slots are.
    for before in [queue::now_ms(), sale_start - 1] {
        let t = tick_of(&state, before, event_id).await;
        assert!(t.admitted.is_empty(), "admitted before sale start: {t:?}");
        assert_eq!(t.waiting, 3);
    }
    let s = status(&app, &fans[2].1, event_id).await;
    assert_eq!(
        (s["status"].as_str(), s["position"].as_u64()),
        (Some("queued"), Some(3)),
        "{s}"
    );
    assert!(
        s["serverTime"].is_i64() && s["saleStart"].is_string(),
        "{s}"
    );

    // At the start: everyone in, in arrival order, each admission ending a TTL after it.
    let at = sale_start + 250;
    let t = tick_of(&state, at, event_id).await;
    let order: Vec<_> = fans.iter().map(|(u, _)| u.id).collect();
    assert_eq!(t.admitted, order, "not admitted in arrival order");
    for (user, token) in &fans {
        let s = status(&app, token, event_id).await;
        assert_eq!(s["status"], "active", "{s}");
        assert_eq!(
            ms_of(&s["admissionExpiresAt"]),
            at + 60_000,
            "the admission clock must start at admission, not at the join: {s}"
        );
        queue::require_admission(&state, user.id, event_id)
            .await
            .expect("admitted at sale start");
    }
}

#[tokio::test]
async fn a_fan_joining_an_open_queue_is_still_admitted_at_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, _, event_id) =
        on_sale_queue(&app, json!({"threshold": 5, "admissionTtlSec": 120})).await;
    let (_, token) = tokens.fan();
    let (_, body) = join(&app, &token, event_id).await;
    assert_eq!(body["queued"], false, "{body}");
    let expires = ms_of(&body["admissionExpiresAt"]);
    let server_time = body["serverTime"].as_i64().unwrap();
    assert!(
        (expires - server_time - 120_000).abs() < 1_000,
        "the admission runs 120 s from the join: {body}"
    );
    assert!(ms_of(&body["saleStart"]) < server_time, "{body}");
}

#[tokio::test]
async fn moving_the_sale_start_later_is_followed_by_the_queue_at_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, admin, event_id) =
        on_sale_queue(&app, json!({"threshold": 5, "idleGraceSec": 86400})).await;
    // The queue's settings are cached (a first fan is admitted while the sale is open, and
    // leaves: a sale with fans shopping cannot be postponed, see below).
    let (_, first) = tokens.fan();
    assert_eq!(join(&app, &first, event_id).await.1["queued"], false);
    let res = app
        .client
        .post(app.url(&format!("/api/queue/leave/{event_id}")))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The operator postpones the sale by an hour.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let res = app
        .client
        .put(app.url(&format!("/api/admin/events/{event_id}")))
        .bearer_auth(&admin)
        .json(&json!({"saleStartDate": later.to_rfc3339()}))
        .send()
        .await
        .unwrap();
    let code = res.status();
    assert_eq!(code, 200, "{}", res.text().await.unwrap_or_default());

    // The next fan waits in line instead of being admitted by the stale copy.
    let (_, second) = tokens.fan();
    let (_, body) = join(&app, &second, event_id).await;
    assert_eq!(
        body["queued"], true,
        "admitted before the new sale start: {body}"
    );
    assert_eq!(body["position"], 1, "{body}");
    assert!(
        (ms_of(&body["saleStart"]) - later.timestamp_millis()).abs() < 1_000,
        "{body}"
    );
    let state = AppState::new(app.infra.clone());
    let t = tick_of(&state, queue::now_ms(), event_id).await;
    assert!(t.admitted.is_empty(), "{t:?}");
}

#[tokio::test]
async fn the_event_page_answer_carries_the_server_clock_and_the_sale_start() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let event_id = event(&app.infra.db, 120).await;
    let body: Value = app
        .get(&format!("/api/events/{event_id}"))
        .await
        .json()
        .await
        .unwrap();
    let server_time = body["serverTime"].as_i64().expect("serverTime");
    assert!((server_time - queue::now_ms()).abs() < 5_000, "{body}");
    let start = ms_of(&body["saleStart"]);
    assert_eq!(start, ms_of(&body["event"]["sale_start_date"]));
    assert!(
        (110_000..=120_000).contains(&(start - server_time)),
        "{body}"
    );
    assert!(body["ticketTypes"].is_array(), "{body}");
}

/// An admin's PUT of the event (`/api/admin/events/:id`); answers status and body.
async fn put_event(app: &TestApp, admin: &str, event_id: uuid::Uuid, body: Value) -> (u16, Value) {
    let res = app
        .client
        .put(app.url(&format!("/api/admin/events/{event_id}")))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A general-admission reservation of one ticket of a fresh type of `event_id`; answers the
/// status and body.
async fn reserve_one(
    pool: &sqlx::PgPool,
    app: &TestApp,
    token: &str,
    event_id: uuid::Uuid,
) -> (u16, Value) {
    let ticket_type: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.ticket_types (event_id, name, price, total_quantity, available_quantity)
         VALUES ($1, 'Standing', 10000, 100, 100) RETURNING id",
    )
    .bind(event_id)
    .fetch_one(pool)
    .await
    .expect("ticket type");
    let res = app
        .client
        .post(app.url("/api/reservations"))
        .bearer_auth(token)
        .json(
            &json!({"eventId": event_id, "items": [{"ticketTypeId": ticket_type, "quantity": 1}]}),
        )
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_queue_turned_off_admits_nobody_before_sale_start_and_says_when_it_opens() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    let event_id = event(&app.infra.db, 1800).await;
    put_settings(&app, &admin, event_id, json!({"enabled": false})).await;
    let (code, body) = join(&app, &fan, event_id).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["queued"].clone(), body["status"].clone()),
        (json!(false), json!("upcoming")),
        "a fan was let in before sale start: {body}"
    );
    assert_eq!(body["queueEnabled"], false, "{body}");
    // With the queue off the line is the sale itself: it opens at sale start.
    assert_eq!(body["lineOpensAt"], body["saleStart"], "{body}");
    assert!(body.get("admissionExpiresAt").is_none(), "{body}");
    let polled = status(&app, &fan, event_id).await;
    assert_eq!(polled["status"], "upcoming", "{polled}");
    // Nothing can be bought before the start: the sale window's own answer.
    let (code, body) = reserve_one(&pool, &app, &fan, event_id).await;
    assert_eq!(
        (code, body["code"].clone()),
        (409, json!("sale_not_open")),
        "{body}"
    );
    // At the start (moved to now by the operator) the fan may shop.
    let now = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (code, body) = put_event(
        &app,
        &admin,
        event_id,
        json!({"saleStartDate": now.to_rfc3339()}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (_, body) = join(&app, &fan, event_id).await;
    assert_eq!(body["status"], "active", "{body}");
    let (code, body) = reserve_one(&pool, &app, &fan, event_id).await;
    assert_eq!(code, 201, "{body}");
}

#[tokio::test]
async fn the_line_opens_an_hour_before_sale_start_and_earlier_fans_take_no_place() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, early) = tokens.fan();
    let (_, fan) = tokens.fan();
    // Two days ahead: the original client's event page joins the queue on every visit.
    let event_id = event(&app.infra.db, 2 * 86_400).await;
    let (code, body) = join(&app, &early, event_id).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "upcoming", "{body}");
    assert_eq!(body["queued"], false, "{body}");
    assert_eq!(body["queueEnabled"], true, "{body}");
    assert_eq!(
        ms_of(&body["saleStart"]) - ms_of(&body["lineOpensAt"]),
        3_600_000,
        "the line opens QUEUE_PRESALE_WINDOW_SECS (an hour) before the sale: {body}"
    );
    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(
        view["queueSize"].as_u64().unwrap_or(0),
        0,
        "an early fan took a place: {view}"
    );
    // Within the hour the line opens: the first to come is first in line, and the early
    // visitor (who took no place) comes after.
    let now = chrono::Utc::now() + chrono::Duration::seconds(1800);
    let (code, body) = put_event(
        &app,
        &admin,
        event_id,
        json!({"saleStartDate": now.to_rfc3339()}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (_, body) = join(&app, &fan, event_id).await;
    assert_eq!(
        (body["status"].clone(), body["position"].clone()),
        (json!("queued"), json!(1)),
        "{body}"
    );
    let (_, body) = join(&app, &early, event_id).await;
    assert_eq!(body["position"], 2, "{body}");
}

#[tokio::test]
async fn scheduled_pre_queue_answers_carry_a_provisional_place_and_the_wait_to_the_draw() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&app.infra.db, 600).await;
    put_settings(
        &app,
        &admin,
        event_id,
        json!({"mode": "scheduled", "threshold": 1}),
    )
    .await;
    let fans: Vec<_> = (0..3).map(|_| tokens.fan()).collect();
    for (i, (_, token)) in fans.iter().enumerate() {
        let (_, body) = join(&app, token, event_id).await;
        assert_eq!(body["preQueue"], true, "{body}");
        // The original client shows these numbers unguarded (a NaN wait without them).
        assert_eq!(body["position"].as_u64(), Some(i as u64 + 1), "{body}");
        let wait = body["estimatedWait"].as_u64().expect("estimatedWait");
        assert!((590..=700 * (i as u64 + 1)).contains(&wait), "{body}");
    }
    let polled = status(&app, &fans[2].1, event_id).await;
    assert_eq!(polled["position"], 3, "{polled}");
    assert!(polled["estimatedWait"].as_u64().is_some(), "{polled}");
}

#[tokio::test]
async fn a_started_sale_with_admitted_fans_cannot_move_into_the_future() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    // Nobody admitted, nothing sold: the operator may still move it.
    let quiet = event(&app.infra.db, -60).await;
    let (code, body) = put_event(&app, &admin, quiet, json!({"saleStartDate": later})).await;
    assert_eq!(code, 200, "{body}");
    // A fan is shopping: the sale stays started (the operator pauses the queue instead).
    let busy = event(&app.infra.db, -60).await;
    let (_, body) = join(&app, &fan, busy).await;
    assert_eq!(body["status"], "active", "{body}");
    let (code, body) = put_event(&app, &admin, busy, json!({"saleStartDate": later})).await;
    assert_eq!(
        (code, body["code"].clone()),
        (409, json!("sale_already_open")),
        "{body}"
    );
    let (_, body) = join(&app, &fan, busy).await;
    assert_eq!(body["status"], "active", "{body}");
    // The queue's copy of the sale start (moved first, so a racing join is either counted or
    // not admitted) is back where the refused edit found it: the sale goes on.
    let (_, next) = tokens.fan();
    let (_, body) = join(&app, &next, busy).await;
    assert_eq!(
        body["status"], "active",
        "the refused edit left the sale closed: {body}"
    );
}

#[tokio::test]
async fn a_draft_has_no_queue_status_and_refuses_reservations_as_unknown() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, fan) = tokens.fan();
    let draft = event(&app.infra.db, -60).await;
    sqlx::query("UPDATE ticket.events SET published_at = NULL WHERE id = $1")
        .bind(draft)
        .execute(&pool)
        .await
        .unwrap();
    for path in [format!("/api/queue/status/{draft}")] {
        let res = app
            .client
            .get(app.url(&path))
            .bearer_auth(&fan)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = app
        .client
        .post(app.url(&format!("/api/queue/heartbeat/{draft}")))
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "heartbeat of a draft");
    let (code, body) = reserve_one(&pool, &app, &fan, draft).await;
    assert_eq!(
        (code, body["code"].clone()),
        (404, json!("event_not_found")),
        "{body}"
    );
}
