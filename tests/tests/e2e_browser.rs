//! End-to-end tests of the web client (`frontend-dist/`) in headless Chromium: each test starts
//! the real all-in-one server on its own database, seeds what the scenario needs (SQL and admin
//! API calls with tokens the server trusts), and runs a Playwright script from `tests/e2e/`
//! (`node tests/e2e/<scenario>.mjs <baseUrl> <json>`), asserting its exit status, its output and
//! what it left in the database. Screenshots land in `docs/screenshots/`.
//!
//! Needs Debian's `/usr/bin/chromium` and `npm ci` in `tests/e2e` (scripts/lib.sh,
//! `ensure_browser_tests`, installs both). Without them the tests fail and say how to install.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_tests::idp::{FakeGoogle, GoogleUser};
use tiketi_tests::toss::FakeToss;
use tiketi_tests::{TestApp, workspace_root};
use uuid::Uuid;

const CHROMIUM: &str = "/usr/bin/chromium";
/// A whole scenario, browser start-up included; the scripts bound each of their own waits.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs `tests/e2e/<scenario>.mjs` against `app` with `args` (JSON); returns its stdout.
async fn run_scenario(app: &TestApp, scenario: &str, args: Value) -> String {
    let root = workspace_root();
    let e2e = root.join("tests/e2e");
    assert!(
        PathBuf::from(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/test.sh (or apt-get install chromium)"
    );
    assert!(
        e2e.join("node_modules/playwright-core").exists()
            && e2e.join("node_modules/axe-core").exists(),
        "tests/e2e/node_modules (playwright-core, axe-core) is missing: run `npm ci` in tests/e2e (scripts/test.sh does)"
    );
    let shots = root.join("docs/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let child = tokio::process::Command::new("node")
        .arg(e2e.join(format!("{scenario}.mjs")))
        .arg(app.url(""))
        .arg(args.to_string())
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", CHROMIUM)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let out = tokio::time::timeout(SCENARIO_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{scenario} did not finish in {SCENARIO_TIMEOUT:?}"))
        .expect("scenario output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{scenario} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // Shown with --nocapture: which steps ran and what the scripts noticed (e.g. the upload).
    println!("--- {scenario}\n{stdout}");
    stdout
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Value,
) -> Value {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// An event on sale now with two priced sections (A 30,000 won, B 50,000 won; 2 rows x 8).
async fn event_with_seats(pool: &PgPool, title: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, artist_name, venue, address, event_date,
                                    sale_start_date, sale_end_date, description)
         VALUES ($1, 'The Testers', 'Olympic Hall', 'Seoul', now() + interval '30 days',
                 now() - interval '1 hour', now() + interval '1 day', 'A show for the browser test')
         RETURNING id",
    )
    .bind(title)
    .fetch_one(pool)
    .await
    .expect("insert event");
    sqlx::query("UPDATE ticket.events SET status = 'on_sale' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("status");
    sqlx::query(
        "INSERT INTO ticket.seats (event_id, section, row_number, seat_number, seat_label, price)
         SELECT $1, s.name, r, n, format('%s-%s-%s', s.name, r, n), s.price
         FROM (VALUES ('A', 30000), ('B', 50000)) s(name, price),
              generate_series(1, 2) r, generate_series(1, 8) n",
    )
    .bind(id)
    .execute(pool)
    .await
    .expect("insert seats");
    id
}

/// A fan registers, waits behind a full queue (threshold 1) and sees the place move, is admitted
/// when the active fan leaves, holds a seat that a second browser sees taken at once, pays in
/// the sandbox, sees the ticket's QR code, then cancels and sees the refund.
#[tokio::test]
async fn a_fan_queues_holds_a_seat_pays_sees_the_qr_code_and_gets_a_refund() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let event = event_with_seats(&pool, "Browser Fest 2026").await;
    let (_, admin) = app.tokens().admin();
    full_queue(&app, &admin, event).await;
    // One fan shopping (the queue is full) and one waiting ahead of the browser's fan.
    let (_, active) = app.tokens().fan();
    let (_, ahead) = app.tokens().fan();
    let first = call(
        &app,
        reqwest::Method::POST,
        &active,
        &format!("/api/queue/check/{event}"),
        json!({}),
    )
    .await;
    assert_eq!(
        first["queued"],
        json!(false),
        "the first fan is admitted: {first}"
    );
    let second = call(
        &app,
        reqwest::Method::POST,
        &ahead,
        &format!("/api/queue/check/{event}"),
        json!({}),
    )
    .await;
    assert_eq!(
        second["queued"],
        json!(true),
        "the second fan waits: {second}"
    );
    let (_, watcher) = app.tokens().fan();

    let email = format!("fan-{}@example.com", Uuid::new_v4().simple());
    let out = run_scenario(
        &app,
        "fan_journey",
        json!({"eventId": event, "email": email, "password": "correct horse battery",
               "activeToken": active, "aheadToken": ahead, "adminToken": admin,
               "watcherToken": watcher}),
    )
    .await;
    for step in [
        "searched",
        "registered",
        "queued at 2",
        "moved to 1",
        "admitted",
        "seat taken in second browser",
        "paid",
        "session refreshed",
        "qr shown",
        "refunded",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    // What the browser did is what the database holds: one reservation, cancelled and refunded.
    let (status, payment_status): (String, String) = sqlx::query_as(
        "SELECT r.status, r.payment_status FROM ticket.reservations r
         JOIN auth.users u ON u.id = r.user_id WHERE u.email = $1",
    )
    .bind(&email)
    .fetch_one(&pool)
    .await
    .expect("the fan's reservation");
    assert_eq!(
        (status.as_str(), payment_status.as_str()),
        ("cancelled", "refunded")
    );
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.seats WHERE event_id = $1 AND status <> 'available'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .expect("seats");
    assert_eq!(held, 0, "the refunded seat is released");
}

/// An operator signs in (a wrong password told in Korean), creates an event (a sale ending before
/// it starts is told under its field first; trying the poster upload), finds it on the home page,
/// changes its queue threshold and opens the statistics charts.
#[tokio::test]
async fn an_admin_creates_an_event_sets_its_queue_threshold_and_opens_the_charts() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    // A real account made an operator: the browser signs in with it through the page.
    let email = format!("ops-{}@example.com", Uuid::new_v4().simple());
    let password = "operators only please";
    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .json(&json!({"email": email, "password": password, "name": "Operator"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    sqlx::query("UPDATE auth.users SET role = 'admin' WHERE email = $1")
        .bind(&email)
        .execute(&pool)
        .await
        .expect("make admin");
    // Something for the charts to show.
    event_with_seats(&pool, "Charted Show").await;

    let title = format!("Admin Made {}", &Uuid::new_v4().simple().to_string()[..6]);
    let out = run_scenario(
        &app,
        "admin_console",
        json!({"email": email, "password": password, "title": title}),
    )
    .await;
    for step in [
        "error in words",
        "signed in",
        "field error next to its field",
        "event created",
        "on home page",
        "threshold saved",
        "back after sign-in",
        "charts drawn",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    let event: Uuid = sqlx::query_scalar("SELECT id FROM ticket.events WHERE title = $1")
        .bind(&title)
        .fetch_one(&pool)
        .await
        .expect("the event the admin created");
    let seats: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.seats WHERE event_id = $1")
        .bind(event)
        .fetch_one(&pool)
        .await
        .expect("seats");
    assert_eq!(
        seats, 265,
        "the small theatre layout's seats were generated"
    );
    let (_, admin) = app.tokens().admin();
    let settings = call(
        &app,
        reqwest::Method::GET,
        &admin,
        &format!("/api/queue/admin/{event}/settings"),
        Value::Null,
    )
    .await;
    assert_eq!(settings["threshold"], json!(3), "{settings}");
    assert_eq!(settings["enabled"], json!(true), "{settings}");
}

/// With Google configured, the sign-in page offers Google, and the code flow signs the fan in and
/// returns to the page asked for (the callback's refresh cookie becomes an access token).
#[tokio::test]
async fn google_sign_in_appears_when_configured_and_brings_the_fan_back_signed_in() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let google = FakeGoogle::start().await;
    let settings = google.settings("http://{addr}/api/auth/google/callback");
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(pool.clone(), &overrides).await;
    let email = format!("g-{}@gmail.example", Uuid::new_v4().simple());
    google.sign_in_as(GoogleUser {
        sub: format!("g-{}", Uuid::new_v4().simple()),
        email: email.clone(),
        email_verified: true,
        name: "Google Fan".to_owned(),
    });

    let out = run_scenario(&app, "google_sign_in", json!({})).await;
    for step in ["google button shown", "signed in with google"] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users WHERE email = $1")
        .bind(&email)
        .fetch_one(&pool)
        .await
        .expect("users");
    assert_eq!(accounts, 1, "the Google account was created once");
}

/// Queue settings for a waiting room that is full with one fan shopping: threshold 1, fast ticks.
async fn full_queue(app: &TestApp, admin: &str, event: Uuid) {
    call(
        app,
        reqwest::Method::PUT,
        admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"enabled": true, "threshold": 1, "admitPerTick": 1, "tickMs": 200,
               "admissionTtlSec": 600, "idleGraceSec": 86400}),
    )
    .await;
}

/// The controls around a live queue and an event, in two browsers: the fan leaves the waiting
/// room with its button and joins again; the operator pauses (a freed slot stays free), resumes
/// (the queue moves), clears (the fan is told and may join again), edits the event and cancels it.
#[tokio::test]
async fn an_operator_pauses_resumes_and_clears_a_queue_then_edits_and_cancels_the_event() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let event = event_with_seats(&pool, "Queue Control Live").await;
    let (_, admin) = app.tokens().admin();
    full_queue(&app, &admin, event).await;
    let (_, active) = app.tokens().fan();
    let (_, ahead) = app.tokens().fan();
    for (token, queued) in [(&active, false), (&ahead, true)] {
        let answer = call(
            &app,
            reqwest::Method::POST,
            token,
            &format!("/api/queue/check/{event}"),
            json!({}),
        )
        .await;
        assert_eq!(answer["queued"], json!(queued), "{answer}");
    }
    let (_, fan) = app.tokens().fan();
    let new_title = format!("Renamed Show {}", &Uuid::new_v4().simple().to_string()[..6]);

    let out = run_scenario(
        &app,
        "operator_controls",
        json!({"eventId": event, "fanToken": fan, "adminToken": admin,
               "activeToken": active, "newTitle": new_title}),
    )
    .await;
    for step in [
        "left the queue",
        "rejoined",
        "paused holds admissions",
        "resumed",
        "cleared",
        "joined again after clear",
        "event edited",
        "event cancelled",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    let (title, artist, status): (String, Option<String>, String) =
        sqlx::query_as("SELECT title, artist_name, status FROM ticket.events WHERE id = $1")
            .bind(event)
            .fetch_one(&pool)
            .await
            .expect("the event");
    assert_eq!(title, new_title);
    assert_eq!(artist, None, "the emptied artist field cleared the artist");
    assert_eq!(status, "cancelled");
}

/// With TossPayments configured (its REST API stood in by `FakeToss`), the payment page renders
/// Toss' widget through the vendored SDK loader (the SDK script it fetches from Toss' CDN is
/// served by the scenario from `tests/e2e/toss_sdk_standin.js`); a closed checkout lands on the
/// fail page, a second try pays, replaying the success address does not charge twice, and the
/// refund goes back through Toss.
#[tokio::test]
async fn with_toss_configured_the_fan_pays_through_the_widget_and_is_refunded_through_toss() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let settings = toss.settings();
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(pool.clone(), &overrides).await;
    let event = event_with_seats(&pool, "Toss Night").await;
    let email = format!("toss-{}@example.com", Uuid::new_v4().simple());
    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .json(&json!({"email": email, "password": "pay with toss please", "name": "Toss Fan"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let registered: Value = res.json().await.expect("register answer");

    let out = run_scenario(
        &app,
        "toss_payment",
        json!({"eventId": event, "token": registered["token"], "user": registered["user"]}),
    )
    .await;
    for step in [
        "sdk outage in words",
        "widget rendered",
        "fail page in words",
        "paid with toss",
        "success address replayed",
        "refunded through toss",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    let (provider, key, status): (String, String, String) = sqlx::query_as(
        "SELECT p.provider, p.payment_key, p.status FROM payment.payments p
         JOIN auth.users u ON u.id = p.user_id WHERE u.email = $1",
    )
    .bind(&email)
    .fetch_one(&pool)
    .await
    .expect("the fan's payment");
    assert_eq!(provider, "toss");
    assert_eq!(
        toss.charges(),
        1,
        "one charge at Toss, however often confirmed"
    );
    let at_toss = toss.payment(&key).expect("Toss knows the payment");
    assert_eq!(at_toss["status"], "CANCELED", "{at_toss}");
    assert_eq!(at_toss["totalAmount"], 30000);
    let (r_status, r_payment): (String, String) = sqlx::query_as(
        "SELECT r.status, r.payment_status FROM ticket.reservations r
         JOIN auth.users u ON u.id = r.user_id WHERE u.email = $1",
    )
    .bind(&email)
    .fetch_one(&pool)
    .await
    .expect("the fan's reservation");
    assert_eq!(
        (r_status.as_str(), r_payment.as_str()),
        ("cancelled", "refunded")
    );
    assert_eq!(status, "refunded");
}

/// An event on sale now on one of the standard layouts, its seats generated through the admin
/// API (`POST /api/admin/events/:id/generate-seats`); returns the event's id.
async fn event_on_layout(
    app: &TestApp,
    pool: &PgPool,
    admin: &str,
    title: &str,
    layout: &str,
) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, artist_name, venue, address, event_date,
                                    sale_start_date, sale_end_date, description, seat_layout_id)
         VALUES ($1, 'The Testers', 'Jamsil', 'Seoul', now() + interval '30 days',
                 now() - interval '1 hour', now() + interval '1 day', 'A big show',
                 (SELECT id FROM ticket.seat_layouts WHERE name = $2))
         RETURNING id",
    )
    .bind(title)
    .bind(layout)
    .fetch_one(pool)
    .await
    .expect("insert event");
    sqlx::query("UPDATE ticket.events SET status = 'on_sale' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("status");
    call(
        app,
        reqwest::Method::POST,
        admin,
        &format!("/api/admin/events/{id}/generate-seats"),
        json!({}),
    )
    .await;
    id
}

/// Holds the seats labelled `labels` of `event` for the fan of `token` (admitted first); returns
/// the reservation's id.
async fn hold_by_label(
    app: &TestApp,
    pool: &PgPool,
    token: &str,
    event: Uuid,
    labels: &[&str],
) -> Uuid {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM ticket.seats WHERE event_id = $1 AND seat_label = ANY($2)",
    )
    .bind(event)
    .bind(labels)
    .fetch_all(pool)
    .await
    .expect("seat ids");
    assert_eq!(ids.len(), labels.len(), "every seat of {labels:?} exists");
    call(
        app,
        reqwest::Method::POST,
        token,
        &format!("/api/queue/check/{event}"),
        json!({}),
    )
    .await;
    let held = call(
        app,
        reqwest::Method::POST,
        token,
        "/api/seats/reserve",
        json!({"eventId": event, "seatIds": ids}),
    )
    .await;
    held["reservation"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a reservation id in {held}"))
}

/// The 4,900-seat stadium on a phone: the section overview in the layout's order, one section
/// drawn at 44 px, arrow keys within the grid, a live hold in a section not drawn, and "best
/// available 2" held; the database holds exactly those two adjacent seats for that fan. Then a
/// small theatre on a desktop, centred under the stage.
#[tokio::test]
async fn on_a_phone_a_fan_holds_the_best_two_seats_of_a_stadium_section() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    let stadium = event_on_layout(&app, &pool, &admin, "Stadium Night", "sports_stadium").await;
    let theatre = event_on_layout(&app, &pool, &admin, "Small Room", "small_theater").await;
    // Section A row 1 (seats 1-80, centre 40.5): 39-42 held and 43-44 sold by others, so the
    // best pair nearest the centre is 37-38 (45-46 is further off).
    let (_, rival) = app.tokens().fan();
    hold_by_label(
        &app,
        &pool,
        &rival,
        stadium,
        &["A-1-39", "A-1-40", "A-1-41", "A-1-42"],
    )
    .await;
    let (_, buyer) = app.tokens().fan();
    let sold = hold_by_label(&app, &pool, &buyer, stadium, &["A-1-43", "A-1-44"]).await;
    sqlx::query("UPDATE ticket.seats SET status = 'sold' WHERE holder_reservation_id = $1")
        .bind(sold)
        .execute(&pool)
        .await
        .expect("sold");
    sqlx::query(
        "UPDATE ticket.reservations SET status = 'confirmed', payment_status = 'completed',
                confirmed_at = now() WHERE id = $1",
    )
    .bind(sold)
    .execute(&pool)
    .await
    .expect("confirmed");
    // Holds a seat in section B while the browser shows section A.
    let (_, live) = app.tokens().fan();
    call(
        &app,
        reqwest::Method::POST,
        &live,
        &format!("/api/queue/check/{stadium}"),
        json!({}),
    )
    .await;
    let (fan, fan_token) = app.tokens().fan();

    let out = run_scenario(
        &app,
        "stadium_phone",
        json!({"eventId": stadium, "smallEventId": theatre, "fanToken": fan_token, "liveToken": live}),
    )
    .await;
    for step in [
        "overview in layout order",
        "section drawn at 44 px",
        "arrow keys",
        "best available 2",
        "live update of a section not drawn",
        "held",
        "desktop small venue",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    let mut held: Vec<String> = sqlx::query_scalar(
        "SELECT s.seat_label FROM ticket.seats s
         JOIN ticket.reservations r ON r.id = s.holder_reservation_id
         WHERE s.event_id = $1 AND s.status = 'held' AND r.user_id = $2",
    )
    .bind(stadium)
    .bind(fan.id)
    .fetch_all(&pool)
    .await
    .expect("the fan's held seats");
    held.sort();
    assert_eq!(
        held,
        ["A-1-37", "A-1-38"],
        "the best two adjacent seats of section A, held by the fan"
    );
}

/// With the page in Korean, a wrong password, a taken email, invalid fields and a hold of a seat
/// someone else took are all told in Korean (each field's problem next to it), never in the
/// server's English sentences; switching the language keeps the typed form and the chosen seat.
#[tokio::test]
async fn a_korean_page_tells_every_error_in_korean_and_never_shows_the_servers_english() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let event = event_with_seats(&pool, "한국어 오류 공연").await;
    let email = format!("ko-{}@example.com", Uuid::new_v4().simple());
    let password = "a registered password";
    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .json(&json!({"email": email, "password": password, "name": "Registered Fan"}))
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let (_, other) = app.tokens().fan();

    let out = run_scenario(
        &app,
        "korean_errors",
        json!({"eventId": event, "email": email, "password": password, "otherToken": other}),
    )
    .await;
    for step in [
        "wrong password in korean",
        "email taken in korean",
        "field errors next to their fields in korean",
        "language switch keeps the form",
        "language switch keeps the seat",
        "taken seat in korean",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }
    // The browser's fan holds nothing: the one held seat is the other fan's.
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.seats WHERE event_id = $1 AND status <> 'available'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .expect("seats");
    assert_eq!(held, 1, "only the other fan's seat is held");
}

/// A general-admission event on sale now, with its queue on (room for 10 shopping fans):
/// "Standing" 50,000 won with 100 left, "VIP" 120,000 won sold out. Returns the event and the
/// ids of both types.
async fn event_with_ticket_types(app: &TestApp, pool: &PgPool, title: &str) -> (Uuid, Uuid, Uuid) {
    let event: Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, artist_name, venue, address, event_date,
                                    sale_start_date, sale_end_date, description, status)
         VALUES ($1, 'The Testers', 'Yes24 Live Hall', 'Seoul', now() + interval '30 days',
                 now() - interval '1 hour', now() + interval '1 day', 'Standing room only',
                 'on_sale')
         RETURNING id",
    )
    .bind(title)
    .fetch_one(pool)
    .await
    .expect("insert event");
    let insert_type = |name: &'static str, price: i32, total: i32, available: i32| {
        sqlx::query_scalar::<_, Uuid>(
            "INSERT INTO ticket.ticket_types
                (event_id, name, price, total_quantity, available_quantity, description)
             VALUES ($1, $2, $3, $4, $5, 'General admission') RETURNING id",
        )
        .bind(event)
        .bind(name)
        .bind(price)
        .bind(total)
        .bind(available)
        .fetch_one(pool)
    };
    let standing = insert_type("Standing", 50_000, 100, 100)
        .await
        .expect("standing");
    let vip = insert_type("VIP", 120_000, 10, 0).await.expect("vip");
    let (_, admin) = app.tokens().admin();
    call(
        app,
        reqwest::Method::PUT,
        &admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"enabled": true, "threshold": 10, "admitPerTick": 10, "tickMs": 200,
               "admissionTtlSec": 600, "idleGraceSec": 86400}),
    )
    .await;
    (event, standing, vip)
}

/// General admission in the browser: the fan picks 2 "Standing" on the quantity picker (held to
/// the per-fan limit, the sold-out type shown and locked), pays in the sandbox and sees the 2
/// tickets; a second fan's picker shows the count drop live, and its refusal after leaving the
/// queue is in Korean. The database then holds 2 tickets sold and 2 fewer available.
#[tokio::test]
async fn a_fan_buys_two_general_admission_tickets_and_a_second_fan_sees_the_count_drop_live() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // Not the default 4: the picker shows the limit the server tells it.
    let app = TestApp::spawn_with(pool.clone(), &[("MAX_SEATS_PER_FAN", "3")]).await;
    let (event, standing, vip) = event_with_ticket_types(&app, &pool, "GA Night 2026").await;
    let types: Value = app
        .get(&format!("/api/tickets/event/{event}"))
        .await
        .json()
        .await
        .expect("ticket types");
    assert_eq!(types["maxPerFan"], json!(3), "{types}");
    let (watcher_id, watcher) = app.tokens().fan();
    let email = format!("ga-{}@example.com", Uuid::new_v4().simple());

    let out = run_scenario(
        &app,
        "ga_purchase",
        json!({"eventId": event, "email": email, "password": "correct horse battery",
               "watcherToken": watcher, "typeName": "Standing", "soldOutName": "VIP",
               "startCount": 100, "maxPerFan": 3}),
    )
    .await;
    for step in [
        "picker shown",
        "sold out shown",
        "limit held",
        "selection kept",
        "second fan watching",
        "reserved",
        "count dropped live",
        "continue payment offered",
        "paid",
        "tickets shown",
        "sold-out refusal clean",
        "refusal in korean",
        "upcoming waits for the line",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    // One confirmed, paid reservation of 2 "Standing" at 50,000 won for the fan, nothing else.
    let (status, payment_status, total, quantity, type_id): (String, String, i32, i32, Uuid) =
        sqlx::query_as(
            "SELECT r.status, r.payment_status, r.total_amount, i.quantity, i.ticket_type_id
             FROM ticket.reservations r
             JOIN auth.users u ON u.id = r.user_id
             JOIN ticket.reservation_items i ON i.reservation_id = r.id
             WHERE u.email = $1",
        )
        .bind(&email)
        .fetch_one(&pool)
        .await
        .expect("the fan's one reservation line");
    assert_eq!(
        (status.as_str(), payment_status.as_str(), total, quantity),
        ("confirmed", "completed", 100_000, 2)
    );
    assert_eq!(type_id, standing);
    let left: Vec<(Uuid, i32, i32)> = sqlx::query_as(
        "SELECT id, total_quantity, available_quantity FROM ticket.ticket_types
         WHERE event_id = $1 ORDER BY price",
    )
    .bind(event)
    .fetch_all(&pool)
    .await
    .expect("ticket types");
    assert_eq!(
        left,
        vec![(standing, 100, 98), (vip, 10, 0)],
        "2 Standing sold, VIP untouched"
    );
    let sold: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(i.quantity), 0)::bigint FROM ticket.reservation_items i
         JOIN ticket.reservations r ON r.id = i.reservation_id
         WHERE r.event_id = $1 AND r.status = 'confirmed'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .expect("sold");
    assert_eq!(sold, 2, "2 tickets sold for the event");
    let watcher_reservations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.reservations WHERE user_id = $1")
            .bind(watcher_id.id)
            .fetch_one(&pool)
            .await
            .expect("watcher");
    assert_eq!(watcher_reservations, 0, "the refused fan holds nothing");
}

/// The operator console of issue 18 in one browser: a general-admission event made with two
/// ticket types is a draft fans cannot see until it is published; a reservation is found by the
/// buyer's email and opened as an order; a message reaches the waiting fans' status answer; Clear
/// asks first; the statistics page draws the stats service's views, the threshold as a line.
#[tokio::test]
async fn an_operator_drafts_and_publishes_an_event_finds_an_order_and_messages_the_queue() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();

    // A fan with an account and a held seat (queue off on that event: a plain booking).
    let buyers_show = event_with_seats(&pool, "Console Buyers Show").await;
    call(
        &app,
        reqwest::Method::PUT,
        &admin,
        &format!("/api/queue/admin/{buyers_show}/settings"),
        json!({"enabled": false}),
    )
    .await;
    let (buyer, buyer_token) = tokens.fan();
    let buyer_email = format!(
        "minji-{}@example.com",
        &Uuid::new_v4().simple().to_string()[..6]
    );
    sqlx::query(
        "INSERT INTO auth.users (id, email, name, password_hash) VALUES ($1, $2, '김민지', 'x')",
    )
    .bind(buyer.id)
    .bind(&buyer_email)
    .execute(&pool)
    .await
    .expect("buyer account");
    let seat: Uuid = sqlx::query_scalar(
        "SELECT id FROM ticket.seats WHERE event_id = $1 AND seat_label = 'A-1-1'",
    )
    .bind(buyers_show)
    .fetch_one(&pool)
    .await
    .expect("seat");
    let held = call(
        &app,
        reqwest::Method::POST,
        &buyer_token,
        "/api/seats/reserve",
        json!({"eventId": buyers_show, "seatIds": [seat]}),
    )
    .await;
    let number = held["reservation"]["reservationNumber"]
        .as_str()
        .expect("number")
        .to_owned();

    // A live queue: one fan shopping, one waiting.
    let queued = event_with_seats(&pool, "Console Queue Show").await;
    full_queue(&app, &admin, queued).await;
    let (_, active) = tokens.fan();
    let (_, waiting) = tokens.fan();
    for token in [&active, &waiting] {
        call(
            &app,
            reqwest::Method::POST,
            token,
            &format!("/api/queue/check/{queued}"),
            json!({}),
        )
        .await;
    }

    let title = format!(
        "Console Draft {}",
        &Uuid::new_v4().simple().to_string()[..6]
    );
    let message = "입장 곧 재개합니다 · Doors reopen at 8";
    let out = run_scenario(
        &app,
        "console_operator",
        json!({"adminToken": admin, "fanToken": waiting, "queueEventId": queued,
               "buyerEmail": buyer_email, "buyerName": "김민지", "reservationNumber": number,
               "defaultThreshold": app.infra.config.queue.threshold,
               "title": title, "message": message}),
    )
    .await;
    for step in [
        "draft created with ticket types",
        "draft hidden from fans",
        "published",
        "reservation found and opened",
        "message sent",
        "pause and resume apply",
        "clear confirmed",
        "statistics drawn",
        "phone",
        "korean errors",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }

    let (published, types): (bool, Vec<(String, i32, i32)>) = (
        sqlx::query_scalar("SELECT published_at IS NOT NULL FROM ticket.events WHERE title = $1")
            .bind(&title)
            .fetch_one(&pool)
            .await
            .expect("the event"),
        sqlx::query_as(
            "SELECT t.name, t.price, t.total_quantity FROM ticket.ticket_types t
             JOIN ticket.events e ON e.id = t.event_id WHERE e.title = $1 ORDER BY t.price",
        )
        .bind(&title)
        .fetch_all(&pool)
        .await
        .expect("ticket types"),
    );
    assert!(published, "the operator published the draft");
    assert_eq!(
        types,
        vec![("Standing".into(), 55000, 100), ("VIP".into(), 150000, 12)]
    );
    let stored: Option<String> =
        sqlx::query_scalar("SELECT message FROM ticket.queue_settings WHERE event_id = $1")
            .bind(queued)
            .fetch_one(&pool)
            .await
            .expect("settings");
    assert_eq!(stored.as_deref(), Some(message));
}

/// The on-sale moment in two browsers: a desktop page opened before the sale turns bookable at
/// the start without a reload; two early fans of a FIFO queue (one shopper at a time) are not
/// admitted before the start and are admitted in arrival order after it.
#[tokio::test]
async fn a_page_open_before_the_sale_turns_bookable_and_early_fans_are_admitted_in_arrival_order() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    // No poster, a seat layout with section prices (the standard small theatre).
    let event: Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, artist_name, venue, address, event_date,
                                    sale_start_date, sale_end_date, description, seat_layout_id)
         VALUES ('Opening Night', 'The Testers', 'Olympic Hall', 'Seoul', now() + interval '30 days',
                 now() + interval '1 hour', now() + interval '1 day', 'On sale soon',
                 (SELECT id FROM ticket.seat_layouts WHERE name = 'small_theater'))
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .expect("insert event");
    call(
        &app,
        reqwest::Method::POST,
        &admin,
        &format!("/api/admin/events/{event}/generate-seats"),
        json!({}),
    )
    .await;
    call(
        &app,
        reqwest::Method::PUT,
        &admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"mode": "fifo", "threshold": 1, "admitPerTick": 1, "tickMs": 200,
               "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    let (early, early_token) = app.tokens().fan();
    let (fan, fan_token) = app.tokens().fan();
    // The sale starts 40 s from now (this machine's clock, which the database and Redis share):
    // lead time for two browsers to open and queue before it. Moved through the admin API, so
    // the queue's cached sale start follows it as it would for an operator.
    let start = chrono::Utc::now() + chrono::Duration::seconds(40);
    call(
        &app,
        reqwest::Method::PUT,
        &admin,
        &format!("/api/admin/events/{event}"),
        json!({"saleStartDate": start.to_rfc3339()}),
    )
    .await;
    let out = run_scenario(
        &app,
        "on_sale",
        json!({"eventId": event, "saleStartMs": start.timestamp_millis(),
               "earlyToken": early_token, "fanToken": fan_token}),
    )
    .await;
    for step in [
        "event page before the sale",
        "early fans wait before the start",
        "page became bookable without reload",
        "first arrival admitted first",
        "second arrival admitted",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }
    // The line's record: both fans were admitted, the early one first, and none before the start.
    let state = tiketi_ticket::AppState::new(app.infra.clone());
    let first = tiketi_ticket::queue::status(&state, early.id, event, false)
        .await
        .expect("status");
    assert_eq!(first.standing, tiketi_ticket::queue::Standing::NotInQueue);
    let second = tiketi_ticket::queue::status(&state, fan.id, event, false)
        .await
        .expect("status");
    match second.standing {
        tiketi_ticket::queue::Standing::Active { expires_ms } => assert!(
            expires_ms >= start.timestamp_millis() + 600_000,
            "the admission clock started before the sale"
        ),
        other => panic!("the second fan is not admitted: {other:?}"),
    }
}

/// The shopping clock: the admission's countdown on the seat map lapses into the way back with
/// nothing held; the hold's countdown on the payment page, "continue payment" for the fan's own
/// hold after going back, and choosing again when the hold runs out.
#[tokio::test]
async fn the_admission_and_hold_countdowns_lapse_into_a_way_back_with_nothing_held() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("HOLD_TTL_SECS", "30")]).await;
    let event = event_with_seats(&pool, "Clock Night").await;
    let (_, admin) = app.tokens().admin();
    call(
        &app,
        reqwest::Method::PUT,
        &admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"threshold": 5, "tickMs": 200, "admissionTtlSec": 15, "idleGraceSec": 600}),
    )
    .await;
    let (fan, fan_token) = app.tokens().fan();
    let out = run_scenario(
        &app,
        "shopping_clock",
        json!({"eventId": event, "fanToken": fan_token, "adminToken": admin}),
    )
    .await;
    for step in [
        "admission countdown visible",
        "admission lapsed with the way back",
        "hold countdown visible",
        "continued the own hold",
        "hold over, choose again",
    ] {
        assert!(
            out.contains(&format!("STEP {step}")),
            "missing step {step:?} in:\n{out}"
        );
    }
    // One hold in all (going back offered the same one), and nothing left held.
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM ticket.reservations WHERE user_id = $1")
            .bind(fan.id)
            .fetch_all(&pool)
            .await
            .expect("reservations");
    assert_eq!(statuses.len(), 1, "a second hold was made: {statuses:?}");
    assert_ne!(statuses[0], "pending", "the expired hold is still pending");
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.seats WHERE event_id = $1 AND status <> 'available'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .expect("seats");
    assert_eq!(held, 0, "seats left held");
}
