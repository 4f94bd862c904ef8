//! Contract tests for API.md's section "What the original clients rely on", bullet **Stats**:
//! "every `/api/stats/*` answers `{success: true, data: ...}` with the original's inner shapes
//! (`daily` and `revenue` are arrays the client reverses)".
//!
//! The original React client's statistics screen (`frontend/src/pages/admin/Statistics.js` of
//! `cchriscode/tiketi`, branch `final`) loads twelve routes at once through `statsAPI` in
//! `frontend/src/services/api.js` (one failure blanks the whole screen), with these query
//! parameters: `daily?days=30`, `events?limit=10&sortBy=revenue`,
//! `revenue?period=daily&days=30`, `hourly-traffic?days=7`, `conversion?days=30`,
//! `cancellations?days=30`, `user-behavior?days=30`, and the others without any. It reads
//! `response.data.data` of each, reverses `daily` and `revenue`, and then the fields asserted
//! below. Each test sends exactly that request to a real server over the SQL fixture of
//! `stats_common` (users, events, seats, reservations and payments with known figures), or over
//! a purchase made through the API, and checks the values, not only the keys.

#[path = "stats_common/mod.rs"]
mod stats_common;

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use chrono::{Datelike, Duration, Timelike, Weekday};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stats_common::{get, kst, local_date, ok, seed};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;

/// `response.data.data` of a stats answer, after checking the wrapper's `success: true`.
async fn data(app: &TestApp, path: &str, admin: &str) -> Value {
    let body = ok(app, path, admin).await;
    body["data"].clone()
}

/// Bullet "Stats": the overview cards read `total_users`, `active_events`,
/// `confirmed_reservations` and `payment_revenue` (numbers, `toLocaleString`).
#[tokio::test]
async fn stats_overview_cards_read_the_originals_fields() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let overview = data(&app, "/api/stats/overview", &admin).await;
    assert_eq!(overview["total_users"], 3, "{overview}");
    assert_eq!(overview["active_events"], 2, "{overview}");
    assert_eq!(overview["total_reservations"], 5, "{overview}");
    assert_eq!(overview["confirmed_reservations"], 3, "{overview}");
    assert_eq!(overview["total_revenue"], 260000, "{overview}");
    assert_eq!(overview["completed_payments"], 3, "{overview}");
    assert_eq!(overview["payment_revenue"], 260000, "{overview}");
}

/// Bullet "Stats": `daily?days=30` and `revenue?period=daily&days=30` are arrays, newest first
/// (the client reverses them into oldest-first charts); the charts read `date`,
/// `reservations`, `confirmed`, `cancelled` and `period`, `total_revenue`.
#[tokio::test]
async fn stats_daily_and_revenue_are_newest_first_arrays_the_client_reverses() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let today = local_date(fx.base);

    let daily = data(&app, "/api/stats/daily?days=30", &admin).await;
    let days = daily.as_array().expect("daily is an array");
    assert_eq!(days.len(), 30);
    assert_eq!(days[0]["date"], today.to_string());
    assert_eq!(days[0]["reservations"], 5);
    assert_eq!(days[0]["confirmed"], 3);
    assert_eq!(days[0]["cancelled"], 1);
    assert_eq!(days[0]["revenue"], 260000);
    assert_eq!(days[29]["date"], (today - Duration::days(29)).to_string());
    // Strictly newest first: reversed, the chart runs from the oldest day to today.
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);

    let revenue = data(&app, "/api/stats/revenue?period=daily&days=30", &admin).await;
    let periods = revenue.as_array().expect("revenue is an array");
    assert_eq!(periods.len(), 30);
    assert_eq!(periods[0]["period"], today.to_string());
    assert_eq!(periods[0]["total_revenue"], 260000);
    assert_eq!(periods[0]["payment_count"], 3);
    assert_eq!(periods[0]["average_amount"], 86667);
    assert_eq!(
        periods[1]["period"],
        (today - Duration::days(1)).to_string()
    );
    let total: i64 = periods
        .iter()
        .map(|p| p["total_revenue"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 260000);
}

/// Bullet "Stats": `events?limit=10&sortBy=revenue` is an array of rows with `id`, `title`,
/// `venue`, `reservations`, `confirmed_reservations`, `occupancy_rate` and `revenue`; revenue
/// is not multiplied by seats or items (the original's bug).
#[tokio::test]
async fn stats_events_rows_read_by_the_table_and_revenue_counted_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let events = data(&app, "/api/stats/events?limit=10&sortBy=revenue", &admin).await;
    let rows = events.as_array().expect("events is an array");
    assert_eq!(rows.len(), 3);
    let first = &rows[0];
    assert_eq!(first["id"], json!(fx.seated));
    assert_eq!(first["title"], "Seated Show");
    assert_eq!(first["venue"], "Hall");
    assert_eq!(first["status"], "on_sale");
    assert!(first["event_date"].is_string(), "{first}");
    assert_eq!(first["reservations"], 4);
    assert_eq!(first["confirmed_reservations"], 2);
    // Two seats of one reservation would make it 300,000 if seats were joined before summing.
    assert_eq!(first["revenue"], 200000);
    assert_eq!(first["total_seats"], 100);
    assert_eq!(first["sold_seats"], 3);
    assert_eq!(first["occupancy_rate"], 3.0);
    let second = &rows[1];
    assert_eq!(second["id"], json!(fx.general));
    assert_eq!(second["venue"], "Club");
    assert_eq!(second["revenue"], 60000);
    assert_eq!(rows[2]["id"], json!(fx.cancelled));
    assert_eq!(rows[2]["revenue"], 0);
}

/// Bullet "Stats": `payments` is an array of `{method, count, total_amount, average_amount}`
/// (the pie and the table), settled payments only, largest first.
#[tokio::test]
async fn stats_payments_by_method_as_the_pie_and_table_read_them() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let payments = data(&app, "/api/stats/payments", &admin).await;
    let rows: Vec<Value> = payments
        .as_array()
        .expect("payments is an array")
        .iter()
        .map(|r| {
            json!({"method": r["method"], "count": r["count"], "total_amount": r["total_amount"],
                   "average_amount": r["average_amount"]})
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            // One completed card payment; the refunded one and the failed one do not count.
            json!({"method": "card", "count": 1, "total_amount": 100000, "average_amount": 100000}),
            json!({"method": "kakao_pay", "count": 1, "total_amount": 100000, "average_amount": 100000}),
            json!({"method": "naver_pay", "count": 1, "total_amount": 60000, "average_amount": 60000}),
        ]
    );
}

/// Bullet "Stats": `hourly-traffic?days=7` has `hourly[]` (`hour`, `total_reservations`,
/// `confirmed`, `cancelled`), `peakHour: {hour, reservations}` and `weekdayComparison[]`
/// (`day_type` `weekday` / `weekend`, `reservations`).
#[tokio::test]
async fn stats_hourly_traffic_has_the_peak_hour_and_weekday_comparison() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let traffic = data(&app, "/api/stats/hourly-traffic?days=7", &admin).await;
    let local = fx.base.with_timezone(&kst());
    let hour = local.hour() as usize;
    assert_eq!(
        traffic["peakHour"],
        json!({"hour": hour, "reservations": 5})
    );
    let hourly = traffic["hourly"].as_array().unwrap();
    assert_eq!(hourly.len(), 24);
    assert_eq!(hourly[hour]["hour"], hour);
    assert_eq!(hourly[hour]["total_reservations"], 5);
    assert_eq!(hourly[hour]["confirmed"], 3);
    assert_eq!(hourly[hour]["cancelled"], 1);
    let day_type = match local.weekday() {
        Weekday::Sat | Weekday::Sun => "weekend",
        _ => "weekday",
    };
    assert_eq!(
        traffic["weekdayComparison"],
        json!([{"day_type": day_type, "reservations": 3, "avg_amount": 86667}])
    );
}

/// Bullet "Stats": `conversion?days=30` has `funnel` (`total_started`, `completed`, `pending`,
/// `cancelled`: numbers, `toLocaleString`) and `rates` (`conversion_rate`, `pending_rate`,
/// `cancellation_rate`, percent).
#[tokio::test]
async fn stats_conversion_funnel_and_rates() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let conversion = data(&app, "/api/stats/conversion?days=30", &admin).await;
    assert_eq!(
        conversion["funnel"],
        json!({"total_started": 5, "completed": 3, "cancelled": 1, "pending": 1})
    );
    assert_eq!(
        conversion["rates"],
        json!({"conversion_rate": 60.0, "cancellation_rate": 20.0, "pending_rate": 20.0})
    );
    let trend = conversion["dailyTrend"].as_array().unwrap();
    assert_eq!(trend.len(), 30);
    assert_eq!(
        trend[0],
        json!({"date": local_date(fx.base).to_string(), "total": 5, "completed": 3,
               "conversion_rate": 60.0})
    );
}

/// Bullet "Stats": `cancellations?days=30` has `overview` (`total_cancelled`,
/// `avg_hours_before_cancel`, `total_refund_amount`) and `byEvent[]` (`title`,
/// `total_reservations`, `cancelled`), with `hourlyPattern` and `dailyTrend`.
#[tokio::test]
async fn stats_cancellations_overview_and_by_event() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let cancellations = data(&app, "/api/stats/cancellations?days=30", &admin).await;
    // R3 was cancelled one minute after it was made, and refunded 100,000 won.
    assert_eq!(
        cancellations["overview"],
        json!({"total_cancelled": 1, "avg_hours_before_cancel": 0.02,
               "total_refund_amount": 100000})
    );
    assert_eq!(
        cancellations["byEvent"],
        json!([
            {"id": fx.seated, "title": "Seated Show", "total_reservations": 4, "cancelled": 1,
             "cancellation_rate": 25.0},
            {"id": fx.general, "title": "Standing Show", "total_reservations": 1, "cancelled": 0,
             "cancellation_rate": 0.0},
        ])
    );
    let cancelled_at = (fx.base + Duration::minutes(1)).with_timezone(&kst());
    assert_eq!(
        cancellations["hourlyPattern"],
        json!([{"hour": cancelled_at.hour(), "cancellations": 1}])
    );
    assert_eq!(
        cancellations["dailyTrend"],
        json!([{"date": cancelled_at.date_naive().to_string(), "cancellations": 1}])
    );
}

/// Bullet "Stats": `realtime` has `current` (`locked_seats`, `active_payments`,
/// `active_users`), `lastHour` (`reservations`, `revenue`: a number, `toLocaleString`) and
/// `trendingEvents[]` (`title`, `recent_reservations`); the screen polls it on its own too.
#[tokio::test]
async fn stats_realtime_current_last_hour_and_trending() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let realtime = data(&app, "/api/stats/realtime", &admin).await;
    assert_eq!(
        realtime["current"],
        json!({"locked_seats": 1, "active_payments": 1, "active_users": 2})
    );
    assert_eq!(
        realtime["lastHour"],
        json!({"reservations": 5, "revenue": 260000})
    );
    assert_eq!(
        realtime["trendingEvents"],
        json!([
            {"id": fx.seated, "title": "Seated Show", "recent_reservations": 4},
            {"id": fx.general, "title": "Standing Show", "recent_reservations": 1},
        ])
    );
    let recent = realtime["recentActivity"].as_array().unwrap();
    let total: i64 = recent
        .iter()
        .map(|m| m["reservations"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 5, "{realtime}");
    assert_eq!(recent[0]["minute"], fx.base.minute(), "{realtime}");
}

/// Bullet "Stats": `seat-preferences` (no parameters) has `bySection[]` (`section`,
/// `reservation_rate`) and `byPriceTier[]` (`price_tier`, `reserved_seats`).
#[tokio::test]
async fn stats_seat_preferences_by_section_and_price_tier() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let prefs = data(&app, "/api/stats/seat-preferences", &admin).await;
    let sections: Vec<Value> = prefs["bySection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!({"section": s["section"], "total_seats": s["total_seats"],
                   "reserved_seats": s["reserved_seats"], "reservation_rate": s["reservation_rate"]})
        })
        .collect();
    assert_eq!(
        sections,
        vec![
            json!({"section": "VIP", "total_seats": 20, "reserved_seats": 1, "reservation_rate": 5.0}),
            json!({"section": "R", "total_seats": 80, "reserved_seats": 2, "reservation_rate": 2.5}),
        ]
    );
    // VIP seats cost 100,000 (premium), R seats 50,000 (standard); the cancelled
    // reservation's seat and the held seat are not reserved.
    assert_eq!(
        prefs["byPriceTier"],
        json!([
            {"price_tier": "standard", "total_seats": 80, "reserved_seats": 2,
             "reservation_rate": 2.5, "avg_price": 50000},
            {"price_tier": "premium", "total_seats": 20, "reserved_seats": 1,
             "reservation_rate": 5.0, "avg_price": 100000},
        ])
    );
    assert!(prefs["topRows"].is_array(), "{prefs}");
}

/// Bullet "Stats": `user-behavior?days=30` has `userTypes[]` (`user_type`, `user_count`),
/// `averageMetrics.avg_reservations`, `avgTimeToPayment` (minutes, shown as `{value}분`) and
/// `spendingDistribution[]` (`spending_tier`, `user_count`).
#[tokio::test]
async fn stats_user_behavior_types_averages_and_spending() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let fx = seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let behavior = data(&app, "/api/stats/user-behavior?days=30", &admin).await;
    // fan1 made 3 reservations, fan2 made 2: both "returning".
    assert_eq!(
        behavior["userTypes"],
        json!([{"user_type": "returning", "user_count": 2, "total_reservations": 5}])
    );
    assert_eq!(
        behavior["averageMetrics"],
        json!({"avg_reservations": 2.5, "max_reservations": 3, "median_reservations": 2.5})
    );
    // Confirmed one minute after the reservation.
    assert_eq!(behavior["avgTimeToPayment"], "1.00");
    // fan2's confirmed orders average 80,000, fan1's 100,000.
    assert_eq!(
        behavior["spendingDistribution"],
        json!([{"spending_tier": "5-10만원", "user_count": 1},
               {"spending_tier": "10-20만원", "user_count": 1}])
    );
    let local = fx.base.with_timezone(&kst());
    let weekday = behavior["weekdayActivity"].as_array().unwrap();
    assert_eq!(weekday.len(), 1, "{behavior}");
    assert_eq!(
        weekday[0]["day_of_week"],
        local.weekday().num_days_from_sunday()
    );
    assert_eq!(weekday[0]["day_name"], local.format("%A").to_string());
    assert_eq!(weekday[0]["unique_users"], 2);
    assert_eq!(weekday[0]["reservations"], 5);
}

/// Bullet "Stats": `performance` has `database.size`, `database.tableCounts` (`users`,
/// `events`, `reservations`, `seats`, `payments`), `recentPerformance.successRate`,
/// `metrics.paymentFailureRate` and `metrics.avgSeatLockSeconds`.
#[tokio::test]
async fn stats_performance_database_and_metrics() {
    let db = test_db().await;
    let pool = db.pool.clone();
    seed(&pool).await;
    let app = TestApp::spawn(pool).await;
    let (_, admin) = app.tokens().admin();
    let perf = data(&app, "/api/stats/performance", &admin).await;
    let size = perf["database"]["size"]
        .as_str()
        .expect("size for a person");
    assert!(size.ends_with("B") || size.ends_with("bytes"), "{size}");
    assert!(perf["database"]["sizeBytes"].as_i64().unwrap() > 0);
    assert_eq!(
        perf["database"]["tableCounts"],
        json!({"users": 3, "events": 3, "reservations": 5, "seats": 100, "payments": 5})
    );
    assert_eq!(
        perf["recentPerformance"],
        json!({"successRate": 60.0, "totalRequests": 5})
    );
    // 1 of the 5 payments failed; confirmed reservations were held one minute.
    assert_eq!(
        perf["metrics"],
        json!({"avgSeatLockSeconds": "60.00", "paymentFailureRate": 20.0})
    );
    let load = perf["loadPattern"].as_array().unwrap();
    let total: i64 = load
        .iter()
        .map(|h| h["request_count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 5);
}

/// Bullet "Stats": the whole screen as the original client loads it (all twelve requests at
/// once, each `{success: true, data}`), after a purchase made through the API the way that
/// client makes it (hold, then `POST /api/payments/process` with `naver_pay`): the purchase is
/// counted in the overview, in today's row of `daily`, in `payments` and in `revenue`.
#[tokio::test]
async fn stats_screen_counts_a_purchase_made_through_the_api() {
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
    let (status, paid) = app
        .send(
            reqwest::Method::POST,
            "/api/payments/process",
            Some(&fan),
            Some(&json!({"reservationId": reservation, "paymentMethod": "naver_pay"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    let amount = paid["payment"]["amount"].as_i64().unwrap();
    assert!(amount > 0, "{paid}");

    let screen = [
        "/api/stats/overview",
        "/api/stats/daily?days=30",
        "/api/stats/events?limit=10&sortBy=revenue",
        "/api/stats/payments",
        "/api/stats/revenue?period=daily&days=30",
        "/api/stats/hourly-traffic?days=7",
        "/api/stats/conversion?days=30",
        "/api/stats/cancellations?days=30",
        "/api/stats/realtime",
        "/api/stats/seat-preferences",
        "/api/stats/user-behavior?days=30",
        "/api/stats/performance",
    ];
    let answers =
        futures_util::future::join_all(screen.iter().map(|p| get(&app, p, Some(&admin)))).await;
    for (path, (status, body)) in screen.iter().zip(&answers) {
        assert_eq!(*status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["success"], true, "{path}: {body}");
    }
    let data = |i: usize| &answers[i].1["data"];
    assert_eq!(data(0)["confirmed_reservations"], 1);
    assert_eq!(data(0)["payment_revenue"], amount);
    assert_eq!(data(1)[0]["confirmed"], 1);
    assert_eq!(data(1)[0]["revenue"], amount);
    assert_eq!(data(2)[0]["id"], json!(event));
    assert_eq!(data(2)[0]["revenue"], amount);
    assert_eq!(
        data(3),
        &json!([{"method": "naver_pay", "count": 1, "total_amount": amount,
                 "average_amount": amount, "payments": 1, "completed_payments": 1,
                 "failed_payments": 0, "amount": amount, "refunded_amount": 0,
                 "net_amount": amount}])
    );
    assert_eq!(data(4)[0]["total_revenue"], amount);
    assert_eq!(data(6)["funnel"]["completed"], 1);
    assert_eq!(data(8)["lastHour"]["revenue"], amount);
}
