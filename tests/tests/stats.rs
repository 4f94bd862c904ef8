//! The stats service on a real server: every `/api/stats` route against a known fixture written
//! in SQL, with exact expected numbers (a reservation with two seats and one with two items
//! must not multiply revenue), query validation (4xx, never 500), the queue views over a real
//! waiting room driven through its API and processor, and admin-only access on every route
//! (403 for a fan, 401 without a token).

#[path = "stats_common/mod.rs"]
mod stats_common;

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use chrono::{Datelike, Duration, Timelike};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stats_common::{get, kst, local_date, ok, seed};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// Every stats route; `{event}` is replaced by an existing event id.
const ROUTES: &[&str] = &[
    "/api/stats/overview",
    "/api/stats/daily",
    "/api/stats/events",
    "/api/stats/events/{event}",
    "/api/stats/payments",
    "/api/stats/revenue",
    "/api/stats/users",
    "/api/stats/hourly-traffic",
    "/api/stats/conversion",
    "/api/stats/cancellations",
    "/api/stats/realtime",
    "/api/stats/seat-preferences",
    "/api/stats/user-behavior",
    "/api/stats/performance",
    "/api/stats/queue",
    "/api/stats/queue/{event}",
];

#[tokio::test]
async fn the_overview_counts_each_reservation_and_payment_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let body = ok(&app, "/api/stats/overview", &admin).await;
    assert_eq!(
        body["data"],
        json!({
            "total_users": 3,
            "active_events": 2,
            "total_reservations": 5,
            "confirmed_reservations": 3,
            "total_revenue": 260000,
            "completed_payments": 3,
            "payment_revenue": 260000,
        })
    );
}

#[tokio::test]
async fn daily_revenue_and_hourly_series_put_every_sale_in_its_local_bucket() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let today = local_date(fx.base);

    let daily = ok(&app, "/api/stats/daily?days=7", &admin).await;
    assert_eq!(daily["days"], 7);
    assert_eq!(daily["timeZone"], "Asia/Seoul");
    // Newest first, as the original answered (its client reverses the list).
    let rows = daily["data"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[6]["date"], (today - Duration::days(6)).to_string());
    for row in &rows[1..] {
        assert_eq!(row["reservations"], 0, "{row}");
        assert_eq!(row["revenue"], 0, "{row}");
    }
    assert_eq!(
        rows[0],
        json!({"date": today.to_string(), "reservations": 5, "confirmed": 3, "cancelled": 1,
               "confirmed_reservations": 3, "cancelled_reservations": 1, "revenue": 260000})
    );

    let revenue = ok(&app, "/api/stats/revenue?period=daily&days=3", &admin).await;
    assert_eq!(revenue["totalRevenue"], 260000);
    let rows = revenue["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // Newest first, as the original answered.
    assert_eq!(
        rows[0],
        json!({"period": today.to_string(), "payment_count": 3, "total_revenue": 260000,
               "average_amount": 86667, "period_start": today.to_string(),
               "confirmed_reservations": 3, "revenue": 260000})
    );
    assert_eq!(rows[2]["revenue"], 0);
    assert_eq!(rows[2]["total_revenue"], 0);

    let monthly = ok(&app, "/api/stats/revenue?period=monthly&days=1", &admin).await;
    let month = today.with_day0(0).unwrap().to_string();
    assert_eq!(
        monthly["data"],
        json!([{"period": month, "payment_count": 3, "total_revenue": 260000,
                "average_amount": 86667, "period_start": month,
                "confirmed_reservations": 3, "revenue": 260000}])
    );
    let weekly = ok(&app, "/api/stats/revenue?period=weekly&days=1", &admin).await;
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    assert_eq!(
        weekly["data"],
        json!([{"period": monday.to_string(), "payment_count": 3, "total_revenue": 260000,
                "average_amount": 86667, "period_start": monday.to_string(),
                "confirmed_reservations": 3, "revenue": 260000}])
    );

    let hourly = ok(&app, "/api/stats/hourly-traffic?days=1", &admin).await;
    let hour = fx.base.with_timezone(&kst()).hour() as usize;
    let hourly = &hourly["data"];
    let rows = hourly["hourly"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    assert_eq!(hourly["peakHour"], json!({"hour": hour, "reservations": 5}));
    for (h, row) in rows.iter().enumerate() {
        let expected = if h == hour {
            json!({"hour": h, "total_reservations": 5, "confirmed": 3, "cancelled": 1,
                   "reservations": 5, "confirmed_reservations": 3, "revenue": 260000})
        } else {
            json!({"hour": h, "total_reservations": 0, "confirmed": 0, "cancelled": 0,
                   "reservations": 0, "confirmed_reservations": 0, "revenue": 0})
        };
        assert_eq!(*row, expected);
    }
}

#[tokio::test]
async fn per_event_figures_are_not_multiplied_by_seats_or_items() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();

    // The original's names carry our values: check that, then compare ours.
    let seated = |e: &Value| {
        let mut e = e.clone();
        assert_eq!(e["id"], e["event_id"], "{e}");
        assert_eq!(e["total_seats"], e["capacity"], "{e}");
        assert_eq!(e["sold_seats"], e["tickets_sold"], "{e}");
        assert_eq!(e["occupancy_rate"], e["occupancy"], "{e}");
        assert!(e["venue"].is_string(), "{e}");
        let obj = e.as_object_mut().unwrap();
        for name in [
            "event_date",
            "id",
            "total_seats",
            "sold_seats",
            "occupancy_rate",
            "venue",
        ] {
            obj.remove(name);
        }
        e
    };
    let seated_row = json!({"event_id": fx.seated, "title": "Seated Show", "status": "on_sale",
        "reservations": 4, "confirmed_reservations": 2, "cancelled_reservations": 1,
        // R2's two seats would make this 300,000 if seats were joined before summing.
        "revenue": 200000, "capacity": 100, "tickets_sold": 3, "occupancy": 3.0});
    let general_row = json!({"event_id": fx.general, "title": "Standing Show", "status": "on_sale",
        "reservations": 1, "confirmed_reservations": 1, "cancelled_reservations": 0,
        // R4's two items would make this 120,000 if items were joined before summing.
        "revenue": 60000, "capacity": 80, "tickets_sold": 3, "occupancy": 3.75});
    let cancelled_row = json!({"event_id": fx.cancelled, "title": "Called Off", "status": "cancelled",
        "reservations": 0, "confirmed_reservations": 0, "cancelled_reservations": 0,
        "revenue": 0, "capacity": 0, "tickets_sold": 0, "occupancy": 0.0});

    let by_revenue = ok(&app, "/api/stats/events", &admin).await;
    assert_eq!(by_revenue["sortBy"], "revenue");
    let rows: Vec<Value> = by_revenue["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(seated)
        .collect();
    assert_eq!(
        rows,
        vec![
            seated_row.clone(),
            general_row.clone(),
            cancelled_row.clone()
        ]
    );

    let by_occupancy = ok(&app, "/api/stats/events?sortBy=occupancy&limit=2", &admin).await;
    let rows: Vec<Value> = by_occupancy["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(seated)
        .collect();
    assert_eq!(rows, vec![general_row.clone(), seated_row.clone()]);

    let by_reservations = ok(
        &app,
        "/api/stats/events?sortBy=reservations&limit=1",
        &admin,
    )
    .await;
    let rows: Vec<Value> = by_reservations["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(seated)
        .collect();
    assert_eq!(rows, vec![seated_row.clone()]);

    // More than we serve is served at our largest page (the original clients ask freely).
    let many = ok(&app, "/api/stats/events?limit=1000", &admin).await;
    assert_eq!(many["limit"], 100);
    assert_eq!(many["data"].as_array().unwrap().len(), 3);

    let detail = ok(&app, &format!("/api/stats/events/{}", fx.seated), &admin).await;
    let detail = &detail["data"];
    assert_eq!(seated(&detail["event"]), seated_row);
    assert_eq!(
        detail["reservationsByStatus"],
        json!([{"status": "cancelled", "count": 1}, {"status": "confirmed", "count": 2},
               {"status": "pending", "count": 1}])
    );
    assert_eq!(
        detail["sections"],
        json!([
            {"section": "VIP", "total_seats": 20, "reserved_seats": 1, "reservation_rate": 5.0,
             "sold_seats": 1, "occupancy": 5.0, "revenue": 100000, "average_price": 100000},
            {"section": "R", "total_seats": 80, "reserved_seats": 2, "reservation_rate": 2.5,
             "sold_seats": 2, "occupancy": 2.5, "revenue": 100000, "average_price": 50000},
        ])
    );
    assert_eq!(detail["ticketTypes"], json!([]));
    assert_eq!(
        detail["payments"],
        json!({"completed_payments": 2, "payment_revenue": 200000, "refunded_amount": 100000,
               "failed_payments": 1})
    );

    let detail = ok(&app, &format!("/api/stats/events/{}", fx.general), &admin).await;
    let detail = &detail["data"];
    assert_eq!(seated(&detail["event"]), general_row);
    let types: Vec<Value> = detail["ticketTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.as_object_mut().unwrap().remove("ticket_type_id");
            t
        })
        .collect();
    assert_eq!(
        types,
        vec![
            json!({"name": "GA", "price": 20000, "total_quantity": 50, "sold": 2, "revenue": 40000}),
            json!({"name": "Standing", "price": 20000, "total_quantity": 30, "sold": 1, "revenue": 20000}),
        ]
    );
    assert_eq!(detail["sections"], json!([]));

    let (status, body) = get(
        &app,
        &format!("/api/stats/events/{}", Uuid::new_v4()),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "event_not_found");
    let (status, body) = get(&app, "/api/stats/events/not-a-uuid", Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_id");
}

#[tokio::test]
async fn seat_preferences_rank_sections_and_rows_by_occupancy() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let expected_sections = json!([
        {"section": "VIP", "total_seats": 20, "reserved_seats": 1, "reservation_rate": 5.0,
         "sold_seats": 1, "occupancy": 5.0, "revenue": 100000, "average_price": 100000},
        {"section": "R", "total_seats": 80, "reserved_seats": 2, "reservation_rate": 2.5,
         "sold_seats": 2, "occupancy": 2.5, "revenue": 100000, "average_price": 50000},
    ]);
    let expected_rows = json!([
        {"section": "R", "row_number": 3, "total_seats": 10, "reserved_seats": 2,
         "reservation_rate": 20.0, "sold_seats": 2, "occupancy": 20.0},
        {"section": "VIP", "row_number": 1, "total_seats": 10, "reserved_seats": 1,
         "reservation_rate": 10.0, "sold_seats": 1, "occupancy": 10.0},
    ]);
    let one = ok(
        &app,
        &format!("/api/stats/seat-preferences?eventId={}", fx.seated),
        &admin,
    )
    .await;
    let one = &one["data"];
    assert_eq!(one["eventId"], json!(fx.seated));
    assert_eq!(one["sections"], expected_sections);
    assert_eq!(one["bySection"], expected_sections);
    assert_eq!(one["topRows"], expected_rows);
    // Only the seated event has seats, so every event together gives the same answer.
    let all = ok(&app, "/api/stats/seat-preferences", &admin).await;
    let all = &all["data"];
    assert_eq!(all["eventId"], Value::Null);
    assert_eq!(all["sections"], expected_sections);
    assert_eq!(all["topRows"], expected_rows);
    assert_eq!(all["byPriceTier"], one["byPriceTier"]);

    let (status, body) = get(
        &app,
        "/api/stats/seat-preferences?eventId=nope",
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_query");
    let path = format!("/api/stats/seat-preferences?eventId={}", Uuid::new_v4());
    let (status, body) = get(&app, &path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "event_not_found");
}

#[tokio::test]
async fn payments_users_funnel_cancellations_behaviour_and_realtime_match_the_fixture() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();

    let payments = ok(&app, "/api/stats/payments", &admin).await;
    assert_eq!(
        payments["byMethod"],
        json!([
            {"method": "card", "count": 1, "total_amount": 100000, "average_amount": 100000,
             "payments": 3, "completed_payments": 1, "failed_payments": 1,
             "amount": 200000, "refunded_amount": 100000, "net_amount": 100000},
            {"method": "kakao_pay", "count": 1, "total_amount": 100000,
             "average_amount": 100000, "payments": 1, "completed_payments": 1, "failed_payments": 0,
             "amount": 100000, "refunded_amount": 0, "net_amount": 100000},
            {"method": "naver_pay", "count": 1, "total_amount": 60000, "average_amount": 60000,
             "payments": 1, "completed_payments": 1, "failed_payments": 0,
             "amount": 60000, "refunded_amount": 0, "net_amount": 60000},
        ])
    );
    assert_eq!(
        payments["byStatus"],
        json!([
            {"status": "completed", "payments": 3, "amount": 260000},
            {"status": "failed", "payments": 1, "amount": 50000},
            {"status": "refunded", "payments": 1, "amount": 100000},
        ])
    );
    assert_eq!(
        payments["totals"],
        json!({"payments": 5, "completedPayments": 3, "refundedAmount": 100000, "netAmount": 260000})
    );

    let users = ok(&app, "/api/stats/users", &admin).await;
    assert_eq!(
        users["data"]["users"],
        json!({"total_users": 3, "admin_users": 1, "new_users_today": 3, "new_users_7d": 3,
               "new_users_30d": 3, "users_with_reservations": 2, "buyers": 2, "repeat_buyers": 1})
    );

    let conversion = ok(&app, "/api/stats/conversion?days=1", &admin).await;
    assert_eq!(
        conversion["data"]["conversion"],
        json!({"reservations": 5, "payment_started": 5, "payment_completed": 3, "confirmed": 3,
               "pending": 1, "cancelled": 1, "expired": 0, "payment_start_rate": 100.0,
               "conversion_rate": 60.0})
    );

    let cancellations = ok(&app, "/api/stats/cancellations?days=1", &admin).await;
    assert_eq!(
        cancellations["data"]["cancellations"],
        json!({"reservations": 5, "cancelled": 1, "expired": 0, "cancelled_amount": 100000,
               "cancellation_rate": 20.0, "expiry_rate": 0.0, "refunds": 1,
               "refunded_amount": 100000})
    );
    assert_eq!(
        cancellations["data"]["refundReasons"],
        json!([{"reason": "changed mind", "refunds": 1, "amount": 100000}])
    );

    let behavior = ok(&app, "/api/stats/user-behavior?days=1", &admin).await;
    assert_eq!(
        behavior["data"]["behavior"],
        json!({"active_users": 2, "reservations": 5, "reservations_per_user": 2.5, "buyers": 2,
               "repeat_buyers": 1, "confirmed_reservations": 3,
               // 260,000 / 3, rounded; tickets (1 + 2 + 3) / 3; confirmed one minute after.
               "average_order_value": 86667, "average_tickets_per_order": 2.0,
               "average_seconds_to_confirm": 60.0})
    );

    let realtime = ok(&app, "/api/stats/realtime", &admin).await;
    assert_eq!(
        realtime["data"]["realtime"],
        json!({"reservations_last_5m": 5, "reservations_last_hour": 5, "confirmed_last_hour": 3,
               "revenue_last_hour": 260000, "reservations_today": 5, "confirmed_today": 3,
               "revenue_today": 260000, "pending_reservations": 1, "held_seats": 1,
               "events_on_sale": 2})
    );
}

#[tokio::test]
async fn performance_reports_this_databases_pool_and_counters() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let perf = ok(&app, "/api/stats/performance", &admin).await;
    let perf = &perf["data"];
    assert_eq!(perf["database"]["postgres"]["database"], database);
    let pool = &perf["database"]["pool"];
    assert!(pool["maxConnections"].as_u64().unwrap() >= 1, "{perf}");
    assert!(pool["size"].as_u64().unwrap() >= 1, "{perf}");
    assert!(perf["database"]["postgres"]["commits"].as_i64().unwrap() > 0);
    assert!(perf["database"]["roundTripMs"].as_f64().unwrap() >= 0.0);
    assert_eq!(perf["redis"]["reachable"], true);
    let tables: Vec<&str> = perf["database"]["largestTables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table_name"].as_str().unwrap())
        .collect();
    assert!(tables.contains(&"ticket.seats"), "{tables:?}");
}

#[tokio::test]
async fn bad_query_parameters_are_400_invalid_query() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    for path in [
        "/api/stats/daily?days=0",
        "/api/stats/daily?days=366",
        "/api/stats/daily?days=abc",
        "/api/stats/events?limit=0",
        "/api/stats/events?sortBy=price",
        "/api/stats/revenue?period=yearly",
        "/api/stats/revenue?days=-1",
        "/api/stats/hourly-traffic?days=91",
        "/api/stats/conversion?days=1.5",
        "/api/stats/cancellations?days=",
        "/api/stats/user-behavior?days=99999999999999999999",
    ] {
        let (status, body) = get(&app, path, Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "invalid_query", "{path}: {body}");
    }
}

#[tokio::test]
async fn every_stats_route_is_admin_only() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let tokens = app.tokens();
    let (_, fan) = tokens.fan();
    let (_, admin) = tokens.admin();
    for route in ROUTES {
        let path = route.replace("{event}", &fx.seated.to_string());
        let (status, body) = get(&app, &path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        let (status, body) = get(&app, &path, Some(&fan)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["code"], "admin_only", "{path}");
        let (status, body) = get(&app, &path, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

async fn post(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_queue_views_report_a_real_waiting_room_exactly() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    // The server's own processor stays idle (one tick a minute); the test ticks it itself.
    let app = TestApp::spawn_with(pool, &[("QUEUE_PROCESSOR_INTERVAL", "60000")]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event = fx.general;
    let res = app
        .client
        .put(app.url(&format!("/api/queue/admin/{event}/settings")))
        .bearer_auth(&admin)
        .json(&json!({"threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 86400}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A is admitted at once (nobody waits, a slot is free); B, C and D wait; A finishes, D leaves.
    let fans: Vec<(Uuid, String)> = (0..4)
        .map(|_| {
            let (user, token) = tokens.fan();
            (user.id, token)
        })
        .collect();
    for (_, token) in &fans {
        post(&app, &format!("/api/queue/check/{event}"), token).await;
    }
    post(&app, &format!("/api/queue/leave/{event}"), &fans[0].1).await;
    post(&app, &format!("/api/queue/leave/{event}"), &fans[3].1).await;

    // One tick admits B (threshold 1): B's time in queue is the tick's clock minus B's join.
    let state = tiketi_ticket::AppState::new(app.infra.clone());
    let joined_b = tiketi_ticket::queue::joined_at(&state, fans[1].0, event)
        .await
        .unwrap()
        .expect("B waits");
    let tick_at = chrono::Utc::now().timestamp_millis();
    tiketi_ticket::workers::queue_processor::tick(&state, tick_at)
        .await
        .unwrap();
    let waited = tick_at - joined_b;
    // The settings in force, as the ticket service's admin route shows them.
    let (status, settings) = get(
        &app,
        &format!("/api/queue/admin/{event}/settings"),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["threshold"], 1, "{settings}");

    let expected = json!({
        "event_id": event, "title": "Standing Show", "live": true, "enabled": true,
        "paused": false, "mode": "fifo",
        "waiting": 1, "active": 1, "pre_queue": 0, "threshold": 1, "available_slots": 0,
        "admitted_last_minute": 1,
        "time_in_queue_ms": {"samples": 1, "p50": waited, "p90": waited, "p99": waited},
        "totals": {"admitted": 2, "admitted_direct": 1, "admitted_from_queue": 1,
                   "abandoned": 0, "left": 1, "completed": 1, "reclaimed": 0},
        // D gave up, B was admitted from the line: 1 of 2.
        "abandon_rate": 50.0,
        // C waits; 1 admission in the last minute: 60 s.
        "estimated_drain_seconds": 60,
        "history": [{"at_ms": tick_at, "admitted": 1}],
        "settings": settings,
    });
    let one = ok(&app, &format!("/api/stats/queue/{event}"), &admin).await;
    assert_eq!(one["data"]["queue"], expected);
    let all = ok(&app, "/api/stats/queue", &admin).await;
    assert_eq!(all["data"]["queues"], json!([expected]));

    // The ticket service's own admin view agrees on the live figures.
    let res = app
        .client
        .get(app.url(&format!("/api/queue/admin/{event}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["queueSize"], 1, "{view}");
    assert_eq!(view["currentUsers"], 1, "{view}");

    // An event whose waiting room was never used is reported as not live; an unknown event is a
    // 404.
    let idle = ok(&app, &format!("/api/stats/queue/{}", fx.seated), &admin).await;
    let idle = &idle["data"];
    assert_eq!(idle["queue"]["live"], false);
    assert_eq!(idle["queue"]["waiting"], 0);
    assert_eq!(idle["queue"]["title"], "Seated Show");
    assert_eq!(idle["queue"]["estimated_drain_seconds"], 0);
    let (status, body) = get(
        &app,
        &format!("/api/stats/queue/{}", Uuid::new_v4()),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "event_not_found");
}

/// Every sales rollup, summed over its shards, one line per key; keys whose figures are all
/// zero are left out (the triggers leave such rows behind, a rebuild does not write them).
async fn rollups(conn: &mut sqlx::PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('event %s %s %s %s %s', event_id, status, sum(reservations), sum(amount), sum(tickets))
           FROM ticket.sales_by_event GROUP BY event_id, status
         HAVING sum(reservations) <> 0 OR sum(amount) <> 0 OR sum(tickets) <> 0
         UNION ALL
         SELECT format('hour %s %s %s %s %s %s %s', hour, status, sum(reservations), sum(amount),
                       sum(tickets), sum(confirm_seconds)::numeric(20, 6), sum(confirm_timed))
           FROM ticket.sales_by_hour GROUP BY hour, status
         HAVING sum(reservations) <> 0 OR sum(amount) <> 0 OR sum(tickets) <> 0
             OR sum(confirm_seconds) <> 0 OR sum(confirm_timed) <> 0
         UNION ALL
         SELECT format('revenue %s %s %s', hour, sum(reservations), sum(amount))
           FROM ticket.revenue_by_hour GROUP BY hour
         HAVING sum(reservations) <> 0 OR sum(amount) <> 0
         UNION ALL
         SELECT format('user %s %s %s %s %s %s', user_id, reservations, confirmed, last_created_at,
                       last_confirmed_at, second_confirmed_at)
           FROM ticket.sales_by_user WHERE reservations <> 0 OR confirmed <> 0
         UNION ALL
         SELECT format('seats %s %s %s %s %s', event_id, section, row_number, sum(seats), sum(revenue))
           FROM ticket.seat_sales GROUP BY event_id, section, row_number
         HAVING sum(seats) <> 0 OR sum(revenue) <> 0
         UNION ALL
         SELECT format('capacity %s %s %s %s', event_id, section, row_number, seats)
           FROM ticket.seat_capacity WHERE seats <> 0
         UNION ALL
         SELECT format('payments %s %s %s %s %s', method, status, sum(payments), sum(amount),
                       sum(refunded_amount))
           FROM payment.sales_by_method GROUP BY method, status
         HAVING sum(payments) <> 0 OR sum(amount) <> 0 OR sum(refunded_amount) <> 0
         UNION ALL
         SELECT format('payments of %s %s %s %s %s %s', event_id, day, status, sum(payments),
                       sum(amount), sum(refunded_amount))
           FROM payment.sales_by_reservation GROUP BY event_id, day, status
         HAVING sum(payments) <> 0 OR sum(amount) <> 0 OR sum(refunded_amount) <> 0
         UNION ALL
         SELECT format('refunds %s %s %s %s', hour, reason, refunds, amount)
           FROM payment.refunds_by_hour WHERE refunds <> 0 OR amount <> 0
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sales_rollups_match_a_recount_after_every_kind_of_change() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let f = seed(&pool).await;
    let changes = [
        // A pending hold (R5, one held seat) is confirmed, as the payment flow does.
        "UPDATE ticket.reservations SET status = 'confirmed', payment_status = 'completed',
                confirmed_at = now() WHERE reservation_number = 'R-5'",
        // A confirmed reservation is cancelled and refunded.
        "UPDATE ticket.reservations SET status = 'cancelled', cancelled_at = now(),
                payment_status = 'refunded' WHERE reservation_number = 'R-1'",
        "UPDATE payment.payments SET status = 'refunded', refunded_amount = amount WHERE order_id = 'O-1'",
        "INSERT INTO payment.refunds (payment_id, amount, reason)
         SELECT id, amount, '  ' FROM payment.payments WHERE order_id = 'O-1'",
        // A partial refund, and a payment that changes method.
        "UPDATE payment.payments SET status = 'partially_refunded', refunded_amount = 10000
          WHERE order_id = 'O-4'",
        "UPDATE payment.payments SET method = 'card' WHERE order_id = 'O-2'",
        // A confirmed reservation with two seats is deleted (its seats go by cascade).
        "DELETE FROM payment.payments WHERE order_id = 'O-2'",
        "UPDATE ticket.seats SET status = 'available', holder_reservation_id = NULL
          WHERE holder_reservation_id =
                (SELECT id FROM ticket.reservations WHERE reservation_number = 'R-2')",
        "DELETE FROM ticket.reservations WHERE reservation_number = 'R-2'",
        // Items added to and removed from a confirmed reservation.
        "INSERT INTO ticket.reservation_items (reservation_id, ticket_type_id, quantity, unit_price, subtotal)
         SELECT r.id, i.ticket_type_id, 3, 20000, 60000
           FROM ticket.reservations r JOIN ticket.reservation_items i ON i.reservation_id = r.id
          WHERE r.reservation_number = 'R-4' LIMIT 1",
        "DELETE FROM ticket.reservation_items
          WHERE quantity = 1 AND reservation_id =
                (SELECT id FROM ticket.reservations WHERE reservation_number = 'R-4')",
        // A hold that expires, and one inserted already confirmed (an import) with a seat added.
        "INSERT INTO ticket.reservations (reservation_number, user_id, event_id, total_amount, expires_at)
         SELECT 'R-6', user_id, event_id, 50000, now() FROM ticket.reservations
          WHERE reservation_number = 'R-4'",
        "UPDATE ticket.reservations SET status = 'expired' WHERE reservation_number = 'R-6'",
        "INSERT INTO ticket.reservations (reservation_number, user_id, event_id, total_amount,
                status, payment_status, expires_at, confirmed_at, created_at)
         SELECT 'R-7', user_id, event_id, 50000, 'confirmed', 'completed', now(),
                now() - interval '3 days', now() - interval '4 days'
           FROM ticket.reservations WHERE reservation_number = 'R-3'",
        "INSERT INTO ticket.reservation_seats (reservation_id, seat_id, price)
         SELECT r.id, s.id, s.price FROM ticket.reservations r, ticket.seats s
          WHERE r.reservation_number = 'R-7' AND s.status = 'available' AND s.section = 'R'
          ORDER BY s.row_number DESC, s.seat_number DESC LIMIT 2",
        // Seats added, moved and deleted (the last two are in R-7: their sales move and go).
        "INSERT INTO ticket.seats (event_id, section, row_number, seat_number, seat_label, price)
         SELECT event_id, 'R', 99, 1, 'R-99-1', 50000 FROM ticket.seats WHERE seat_label = 'R-10-10'",
        "UPDATE ticket.seats SET row_number = 98 WHERE seat_label = 'R-99-1'",
        "UPDATE ticket.seats SET row_number = 97 WHERE seat_label = 'R-10-9'",
        "DELETE FROM ticket.seats WHERE seat_label = 'R-10-10'",
    ];
    for sql in changes {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    let mut conn = pool.acquire().await.unwrap();
    let kept = rollups(&mut conn).await;
    assert!(
        kept.iter()
            .any(|l| l.starts_with(&format!("event {} confirmed", f.seated))),
        "{kept:#?}"
    );
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    sqlx::query("SELECT ticket.sales_rebuild(), payment.sales_rebuild()")
        .execute(&mut *tx)
        .await
        .unwrap();
    let recounted = rollups(&mut tx).await;
    tx.rollback().await.unwrap();
    assert_eq!(kept, recounted);
}

/// Every event has a waiting room by default, also before anyone used it (no settings row, no
/// Redis copy yet): the queue view shows the settings in force, the same as the ticket service's
/// `GET /api/queue/admin/:eventId/settings`, and follows an admin's change.
#[tokio::test]
async fn the_queue_view_shows_the_default_waiting_room_of_an_event_nobody_configured() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let settings_of = |event: Uuid| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let path = format!("/api/queue/admin/{event}/settings");
            let (status, body) = get(app, &path, Some(&admin)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body
        }
    };
    let threshold = app.infra.config.queue.threshold;

    let view = ok(&app, &format!("/api/stats/queue/{}", fx.seated), &admin).await;
    let queue = &view["data"]["queue"];
    assert_eq!(queue["live"], false, "{queue}");
    assert_eq!(queue["enabled"], true, "{queue}");
    assert_eq!(queue["paused"], false, "{queue}");
    assert_eq!(queue["mode"], "fifo", "{queue}");
    assert_eq!(queue["threshold"], threshold, "{queue}");
    assert_eq!(queue["available_slots"], threshold, "{queue}");
    assert_eq!(queue["settings"]["isDefault"], true, "{queue}");
    assert_eq!(queue["settings"], settings_of(fx.seated).await, "{queue}");

    // An admin's own settings (the queue turned off, another threshold) are shown as set.
    let res = app
        .client
        .put(app.url(&format!("/api/queue/admin/{}/settings", fx.seated)))
        .bearer_auth(&admin)
        .json(&json!({"threshold": 7, "mode": "scheduled", "enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view = ok(&app, &format!("/api/stats/queue/{}", fx.seated), &admin).await;
    let queue = &view["data"]["queue"];
    assert_eq!(queue["enabled"], false, "{queue}");
    assert_eq!(queue["mode"], "scheduled", "{queue}");
    assert_eq!(queue["threshold"], 7, "{queue}");
    assert_eq!(queue["available_slots"], 7, "{queue}");
    assert_eq!(queue["settings"]["isDefault"], false, "{queue}");
    assert_eq!(queue["settings"], settings_of(fx.seated).await, "{queue}");
}

/// `active_events` counts the events on sale, as the original (`status = 'on_sale'`): not an
/// upcoming one, not one whose sale ended, not a sold-out one; `realtime.events_on_sale` agrees.
#[tokio::test]
async fn active_events_counts_only_the_events_on_sale() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    sqlx::query(
        "INSERT INTO ticket.events (title, venue, event_date, sale_start_date, sale_end_date, status) VALUES
            ('Soon', 'Hall', now() + interval '30 days', now() + interval '1 day', now() + interval '10 days', 'upcoming'),
            ('Over', 'Hall', now() + interval '1 day', now() - interval '10 days', now() - interval '1 day', 'ended'),
            ('Gone', 'Hall', now() + interval '30 days', now() - interval '1 day', now() + interval '10 days', 'sold_out')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let overview = ok(&app, "/api/stats/overview", &admin).await;
    assert_eq!(overview["data"]["active_events"], 2, "{overview}");
    let realtime = ok(&app, "/api/stats/realtime", &admin).await;
    assert_eq!(
        realtime["data"]["realtime"]["events_on_sale"], 2,
        "{realtime}"
    );
}

/// A sandbox payment declined through the original client's `POST /api/payments/process` is
/// counted under the method the fan chose, not `unknown`.
#[tokio::test]
async fn a_declined_payment_is_counted_under_the_method_the_fan_chose() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    let event = inventory_common::event_on_sale(&pool).await;
    let seat = inventory_common::seats(&pool, event, 1).await[0];
    let (_, fan) = app.tokens().fan();
    let reservation =
        inventory_common::created_id(inventory_common::hold(&app, &fan, event, &[seat]).await)
            .await;
    let (status, body) = app
        .send(
            reqwest::Method::POST,
            "/api/payments/process",
            Some(&fan),
            Some(&json!({"reservationId": reservation, "paymentMethod": "sandbox_decline"})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    let amount: i32 = sqlx::query_scalar("SELECT amount FROM payment.payments")
        .fetch_one(&pool)
        .await
        .unwrap();

    let payments = ok(&app, "/api/stats/payments", &admin).await;
    assert_eq!(
        payments["byMethod"],
        json!([{"method": "sandbox_decline", "count": 0, "total_amount": 0, "average_amount": 0,
                "payments": 1, "completed_payments": 0, "failed_payments": 1, "amount": 0,
                "refunded_amount": 0, "net_amount": 0}]),
        "{payments}"
    );
    assert_eq!(
        payments["byStatus"],
        json!([{"status": "failed", "payments": 1, "amount": amount}])
    );
    // Nothing was settled: the original's list stays empty.
    assert_eq!(payments["data"], json!([]));
}
