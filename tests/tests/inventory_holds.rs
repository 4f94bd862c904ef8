//! Seat holds and general-admission reservations on a real server and a real Postgres: racing
//! fans never oversell, a hold is all or nothing, the sale window and the per-fan limit hold,
//! and a hold reads a few pages however large the sale has grown.

mod inventory_common;

use inventory_common::*;
use serde_json::Value;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use tokio::task::JoinSet;
use uuid::Uuid;

#[tokio::test]
async fn five_hundred_fans_racing_for_fifty_seats_get_exactly_fifty_holds() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = std::sync::Arc::new(TestApp::spawn(pool.clone()).await);
    let tokens = app.tokens();
    let event = event_on_sale(&pool).await;
    let seat_ids = seats(&pool, event, 50).await;

    let mut race = JoinSet::new();
    for i in 0..500 {
        let (_, token) = tokens.fan();
        let app = app.clone();
        // Ten fans want each seat.
        let seat = seat_ids[i % 50];
        race.spawn(async move {
            let response = hold(&app, &token, event, &[seat]).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json answer");
            (status, body)
        });
    }
    let mut held = 0;
    let mut refused = 0;
    while let Some(result) = race.join_next().await {
        let (status, body) = result.expect("task");
        match status {
            201 => held += 1,
            409 => {
                assert_eq!(body["code"], "seat_unavailable", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(held, 50);
    assert_eq!(refused, 450);

    let held_seats: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.seats WHERE status = 'held'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(held_seats, 50);
    let reservations: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.reservations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reservations, 50, "refused holds left reservations behind");
    audit_no_double_allocation(&pool).await;
}

#[tokio::test]
async fn five_hundred_fans_racing_for_thirty_standing_tickets_get_exactly_thirty() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = std::sync::Arc::new(TestApp::spawn(pool.clone()).await);
    let tokens = app.tokens();
    let event = event_on_sale(&pool).await;
    let standing = ticket_type(&pool, event, 30, 55_000).await;

    let mut race = JoinSet::new();
    for _ in 0..500 {
        let (_, token) = tokens.fan();
        let app = app.clone();
        race.spawn(async move {
            let response = reserve(&app, &token, event, standing, 1).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json answer");
            (status, body)
        });
    }
    let mut reserved = 0;
    while let Some(result) = race.join_next().await {
        let (status, body) = result.expect("task");
        match status {
            201 => reserved += 1,
            409 => {
                assert_eq!(body["code"], "sold_out", "{body}");
                assert_eq!(body["details"]["ticketTypeName"], "Standing", "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(reserved, 30);
    let (available, sold): (i32, i64) = sqlx::query_as(
        "SELECT t.available_quantity,
                (SELECT sum(quantity) FROM ticket.reservation_items WHERE ticket_type_id = t.id)
         FROM ticket.ticket_types t WHERE t.id = $1",
    )
    .bind(standing)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(available, 0);
    assert_eq!(sold, 30);
}

#[tokio::test]
async fn a_hold_with_one_taken_seat_holds_nothing_and_names_that_seat() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 3).await;
    let (first_fan, first) = tokens.fan();
    let (_, second) = tokens.fan();

    let response = hold(&app, &first, event, &[s[0]]).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let reservation = &body["reservation"];
    assert_eq!(reservation["totalAmount"], 10000);
    assert_eq!(reservation["seats"][0]["id"], s[0].to_string());
    assert!(
        reservation["reservationNumber"]
            .as_str()
            .unwrap()
            .starts_with("TK")
    );
    assert!(reservation["expiresAt"].as_str().is_some());

    let response = hold(&app, &second, event, &[s[1], s[0]]).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "seat_unavailable");
    assert_eq!(body["details"]["seatIds"], serde_json::json!([s[0]]));
    assert_eq!(seat_state(&pool, s[1]).await.0, "available");

    // The owner sees the hold; another fan does not learn it exists.
    let id = reservation["id"].as_str().unwrap();
    let mine = app
        .client
        .get(app.url(&format!("/api/seats/reservation/{id}")))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 200);
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine["reservation"]["isExpired"], false);
    assert_eq!(mine["reservation"]["status"], "pending");
    assert_eq!(mine["reservation"]["seats"][0]["seat_label"], "A-1-1");
    let theirs = app
        .client
        .get(app.url(&format!("/api/seats/reservation/{id}")))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 404);
    let (_, holder) = seat_state(&pool, s[0]).await;
    assert_eq!(holder.map(|h| h.to_string()), Some(id.to_owned()));
    let owner: Uuid = sqlx::query_scalar("SELECT user_id FROM ticket.reservations WHERE id = $1")
        .bind(holder.unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(owner, first_fan.id);
}

#[tokio::test]
async fn holds_outside_the_sale_window_are_conflicts() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let early = event_with_window(&pool, 3600, 7200).await;
    let late = event_with_window(&pool, -7200, -3600).await;
    let early_seats = seats(&pool, early, 1).await;
    let late_seats = seats(&pool, late, 1).await;

    let response = hold(&app, &token, early, &early_seats).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "sale_not_open"
    );
    let response = hold(&app, &token, late, &late_seats).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "sale_closed"
    );

    let standing = ticket_type(&pool, early, 10, 1000).await;
    let response = reserve(&app, &token, early, standing, 1).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "sale_not_open"
    );
}

#[tokio::test]
async fn a_fan_may_not_hold_more_than_the_limit_across_reservations() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 8).await;
    let standing = ticket_type(&pool, event, 10, 1000).await;

    let response = hold(&app, &token, event, &s[..5]).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "validation_failed"
    );

    assert_eq!(hold(&app, &token, event, &s[..3]).await.status(), 201);
    let response = hold(&app, &token, event, &s[3..5]).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "ticket_limit_exceeded");
    assert_eq!(body["details"]["alreadyHeld"], 3);
    // General admission counts against the same limit.
    let response = reserve(&app, &token, event, standing, 2).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        reserve(&app, &token, event, standing, 1).await.status(),
        201
    );
    assert_eq!(hold(&app, &token, event, &s[3..4]).await.status(), 409);
    let left: i32 =
        sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
            .bind(standing)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(left, 9);
}

#[tokio::test]
async fn one_fan_racing_with_itself_stays_within_the_limit() {
    // The limit is 4 per fan and event; eight single-seat holds of the same fan at once.
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = std::sync::Arc::new(TestApp::spawn(pool.clone()).await);
    let (fan, token) = app.tokens().fan();
    let event = event_on_sale(&pool).await;
    let seat_ids = seats(&pool, event, 8).await;

    let mut race = JoinSet::new();
    for seat in seat_ids {
        let (app, token) = (app.clone(), token.clone());
        race.spawn(async move {
            let response = hold(&app, &token, event, &[seat]).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json answer");
            (status, body)
        });
    }
    let mut held = 0;
    while let Some(result) = race.join_next().await {
        let (status, body) = result.expect("task");
        match status {
            201 => held += 1,
            409 => assert_eq!(body["code"], "ticket_limit_exceeded", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(held, 4);
    let seats_held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.reservation_seats rs
           JOIN ticket.reservations r ON r.id = rs.reservation_id
          WHERE r.user_id = $1 AND r.status = 'pending'",
    )
    .bind(fan.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(seats_held, 4);
    audit_no_double_allocation(&pool).await;
}

/// Shared buffers (hit or read) one statement touched, functions it called included: buffer use
/// inside a called function is counted on the plan node that calls it.
async fn buffers_of(conn: &mut sqlx::PgConnection, sql: &str) -> i64 {
    let plan: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"
    )))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let top = &plan[0]["Plan"];
    top["Shared Hit Blocks"].as_i64().unwrap() + top["Shared Read Blocks"].as_i64().unwrap()
}

/// Holds `seat` of `event` for a new fan through the hold function on `conn`.
async fn hold_directly(conn: &mut sqlx::PgConnection, event: Uuid, seat: Uuid) {
    let rows: Vec<(Option<Uuid>,)> = sqlx::query_as(
        "SELECT id FROM ticket.hold_seats($1, ARRAY[$2]::uuid[], $3, $4, $5, 300, 4)",
    )
    .bind(event)
    .bind(seat)
    .bind(Uuid::new_v4())
    .bind(format!("TK-BUF-{seat}"))
    .bind(Uuid::new_v4())
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(rows, vec![(Some(seat),)]);
}

/// Pages one more one-seat hold of `seat` by a new fan touches (EXPLAIN ANALYZE runs it).
async fn buffers_of_a_hold(conn: &mut sqlx::PgConnection, event: Uuid, seat: Uuid) -> i64 {
    let sql = format!(
        "SELECT * FROM ticket.hold_seats('{event}', ARRAY['{seat}']::uuid[], '{}', 'TK-BUF-X-{seat}', '{}', 300, 4)",
        Uuid::new_v4(),
        Uuid::new_v4()
    );
    buffers_of(conn, &sql).await
}

#[tokio::test]
async fn a_hold_touches_a_few_pages_however_large_the_sale_has_grown() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let event = event_on_sale(&pool).await;
    let all = seats(&pool, event, 3002).await;
    let other = event_on_sale(&pool).await;
    seats(&pool, other, 5000).await;
    // The seats were laid out before the sale and analyzed since (autovacuum does within a
    // minute); the reservation tables are empty when the sale opens. Holds through one
    // connection, so the function's plans are made while those look empty, and then kept.
    sqlx::query("ANALYZE ticket.seats, ticket.reservations, ticket.reservation_seats")
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for seat in &all[..500] {
        hold_directly(&mut conn, event, *seat).await;
    }
    let early = buffers_of_a_hold(&mut conn, event, all[500]).await;
    for seat in &all[501..3001] {
        hold_directly(&mut conn, event, *seat).await;
    }
    let late = buffers_of_a_hold(&mut conn, event, all[3001]).await;
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.seats WHERE status = 'held'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(held, 3002);
    // The event, the fan's reservations, the seat asked for, the rows written and their index
    // entries: the same few pages after 500 holds and after 3,000. A plan that scans seats,
    // reservations or reservation seats reads more with every hold before it.
    assert!(early <= 150, "pages touched by a hold after 500: {early}");
    assert!(
        late <= early + 10,
        "pages touched by a hold: {early} after 500, {late} after 3,000"
    );
}

/// Shared buffers one call of the fan's limit check touches, and its count.
async fn fan_count_buffers(pool: &sqlx::PgPool, fan: Uuid, event: Uuid) -> (i64, i64) {
    let mut conn = pool.acquire().await.unwrap();
    let sql = format!("SELECT ticket.lock_fan_live_tickets('{fan}', '{event}')");
    // Once to warm the connection's catalog caches (a first call reads the catalogs), then
    // measured.
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    (buffers_of(&mut conn, &sql).await, count)
}

#[tokio::test]
async fn the_fan_limit_check_reads_the_fans_own_reservations_not_the_whole_on_sale() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let event = event_on_sale(&pool).await;
    let all = seats(&pool, event, 10).await;
    let fan = Uuid::new_v4();
    // The fan holds two seats; 5,000 other fans hold one pending reservation each, as in the
    // middle of an on-sale (the old filter read every one of them on every hold).
    sqlx::query(
        "WITH r AS (
            INSERT INTO ticket.reservations (reservation_number, user_id, event_id, total_amount, expires_at)
            VALUES ('TK-FAN', $1, $2, 20000, now() + interval '5 minutes') RETURNING id)
         INSERT INTO ticket.reservation_seats (reservation_id, seat_id, price)
         SELECT r.id, s, 10000 FROM r, unnest($3::uuid[]) s",
    )
    .bind(fan)
    .bind(event)
    .bind(&all[..2])
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ticket.reservations (reservation_number, user_id, event_id, total_amount, expires_at)
         SELECT 'TK-OTHER-' || i, gen_random_uuid(), $1, 10000, now() + interval '5 minutes'
         FROM generate_series(1, 5000) i",
    )
    .bind(event)
    .execute(&pool)
    .await
    .unwrap();

    // Right after the rush began (statistics still say the table is empty) and once they are
    // current: a few index pages and the fan's rows either way, never ~100 heap pages of others.
    let (stale, count) = fan_count_buffers(&pool, fan, event).await;
    assert_eq!(count, 2);
    sqlx::query("ANALYZE ticket.reservations")
        .execute(&pool)
        .await
        .unwrap();
    let (fresh, count) = fan_count_buffers(&pool, fan, event).await;
    assert_eq!(count, 2);
    assert!(stale <= 30, "stale statistics: {stale} buffers");
    assert!(fresh <= 30, "current statistics: {fresh} buffers");
}

#[tokio::test]
async fn the_ticket_service_alone_pushes_seat_selected_after_a_hold() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // The ticket service run on its own, with a state whose push hub this test watches.
    let infra =
        tiketi_core::Infra::with_pool(tiketi_tests::test_config(&[]), pool.clone()).expect("infra");
    let tokens = tiketi_core::testing::TestTokens::install(&infra);
    let state = tiketi_ticket::AppState::new(infra);
    let mut pushes = state.realtime.subscribe();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(tiketi_ticket::run(listener, state, shutdown.clone()));

    let event = event_on_sale(&pool).await;
    let s = seats(&pool, event, 2).await;
    let (fan, token) = tokens.fan();
    let response = tiketi_core::outbound::client(std::time::Duration::from_secs(30))
        .post(format!("http://{addr}/api/seats/reserve"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "eventId": event, "seatIds": s }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let push = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let push = pushes.recv().await.expect("push channel open");
            if push.event == "seat-selected" {
                return push;
            }
        }
    })
    .await
    .expect("seat-selected pushed");
    assert_eq!(push.room, tiketi_ticket::realtime::Room::SeatMap(event));
    assert_eq!(push.payload["userId"], fan.id.to_string());
    assert_eq!(push.payload["status"], "locked");
    let mut pushed: Vec<String> = push.payload["seatIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    pushed.sort();
    let mut want: Vec<String> = s.iter().map(Uuid::to_string).collect();
    want.sort();
    assert_eq!(pushed, want);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn holds_made_in_one_batch_keep_their_own_checks_and_answers() {
    use tiketi_ticket::hold_batches::{HoldBatches, HoldRequest};
    let db = test_db().await;
    let pool = db.pool.clone();
    let event = event_on_sale(&pool).await;
    let all = seats(&pool, event, 10).await;
    let request = |fan: Uuid, seats: &[Uuid], number: &str| HoldRequest {
        event_id: event,
        seat_ids: seats.to_vec(),
        reservation_id: Uuid::new_v4(),
        number: number.to_owned(),
        user_id: fan,
        ttl_secs: 300,
        max: 4,
    };
    // One connection: the holds sent together wait for it and go as one batch.
    let batches = HoldBatches::new(pool.clone(), 1);
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (first, second, third, fourth, fifth, sixth) = tokio::join!(
        batches.hold(request(a, &all[0..2], "TK-B-1")),
        // The same seat as the first hold: one of the two gets it.
        batches.hold(request(b, &all[1..2], "TK-B-2")),
        // Fan c within the limit, then over it (4 + 1 > 4) in the same batch.
        batches.hold(request(c, &all[2..6], "TK-B-3")),
        batches.hold(request(c, &all[6..7], "TK-B-4")),
        // Two holds with the same reservation number: the batch fails as a whole and each hold
        // is made again alone, so only the second of them is refused.
        batches.hold(request(Uuid::new_v4(), &all[7..8], "TK-B-5")),
        batches.hold(request(Uuid::new_v4(), &all[8..9], "TK-B-5")),
    );
    let held = |rows: &Vec<tiketi_ticket::http::holds::HoldRow>| {
        rows.iter().filter(|r| r.seat_id().is_some()).count()
    };
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        u8::from(held(&first) > 0) + u8::from(held(&second) > 0),
        1,
        "seat 1 went to exactly one fan"
    );
    assert_eq!(held(&third.unwrap()), 4);
    assert_eq!(held(&fourth.unwrap()), 0);
    assert_eq!(held(&fifth.unwrap()), 1);
    match sixth {
        Err(sqlx::Error::Database(e)) => {
            assert_eq!(e.constraint(), Some("reservations_number_key"))
        }
        other => panic!("a clashing number must fail alone: {other:?}"),
    }
    audit_no_double_allocation(&pool).await;
    let held_seats: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.seats WHERE status = 'held'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let expected = if held(&first) > 0 {
        2 + 4 + 1
    } else {
        1 + 4 + 1
    };
    assert_eq!(held_seats, expected);
}
