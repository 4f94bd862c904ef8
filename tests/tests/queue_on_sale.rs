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
    let event_id = event(&app.infra.db, 3600).await;
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
            (3_590_000..=3_600_000).contains(&(sale_start - server_time)),
            "{body}"
        );
        // The wait includes the hour until the start.
        assert!(body["estimatedWait"].as_u64().unwrap() >= 3_590, "{body}");
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
    // The queue's settings are cached (a first fan is admitted while the sale is open).
    let (_, first) = tokens.fan();
    assert_eq!(join(&app, &first, event_id).await.1["queued"], false);

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
