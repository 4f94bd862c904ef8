//! Contract tests for API.md's section "What the original clients rely on", the ticket service's
//! part: each test sends the requests the original React client sends (as its pages and
//! `services/api.js` show) to a real server, and asserts the fields those pages read, with their
//! value words. The bullet each test covers is named in its comment.
//!
//! The waiting room: every test that holds or reserves turns the event's queue off explicitly
//! (`enabled: false`, as an admin may), so they test the answers, not admission.

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use inventory_common::{created_id, event_on_sale, hold, reserve, ticket_type};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::auth::AuthUser;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// A layout whose stored config has more than `sections`: the seat map answers all of it.
const LAYOUT_CONFIG: &str = r#"{
    "sections": [
        {"name": "A", "rows": 1, "seatsPerRow": 4, "price": 30000, "startRow": 1},
        {"name": "B", "rows": 1, "seatsPerRow": 4, "price": 20000, "startRow": 2}
    ],
    "stage": {"position": "top", "label": "MAIN STAGE"},
    "aisles": [2]
}"#;

async fn send(app: &TestApp, method: Method, token: &str, path: &str, body: Value) -> (u16, Value) {
    let body = (method != Method::GET && method != Method::DELETE).then_some(body);
    let (status, answer) = app.send(method, path, Some(token), body.as_ref()).await;
    (status.as_u16(), answer)
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, Method::GET, token, path, Value::Null).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The account row the admin pages and the news author read the name from.
async fn account(pool: &PgPool, user: &AuthUser, name: &str) {
    sqlx::query(
        "INSERT INTO auth.users (id, email, password_hash, name, role)
         VALUES ($1, $2, 'not-a-real-hash', $3, $4)",
    )
    .bind(user.id)
    .bind(&user.email)
    .bind(name)
    .bind(if user.is_admin() { "admin" } else { "user" })
    .execute(pool)
    .await
    .expect("insert account");
}

/// Turns the event's waiting room off, as an admin may (the tests are about the answers).
async fn no_waiting_room(app: &TestApp, admin: &str, event: &str) {
    let (status, body) = send(
        app,
        Method::PUT,
        admin,
        &format!("/api/queue/admin/{event}/settings"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn layout(pool: &PgPool) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO ticket.seat_layouts (name, description, total_seats, layout_config)
         VALUES ('contract_hall', 'Two rows', 8, $1::jsonb) RETURNING id",
    )
    .bind(LAYOUT_CONFIG)
    .fetch_one(pool)
    .await
    .expect("insert layout")
}

/// `at` as the admin form's `datetime-local` value plus `:00`, in Seoul's wall-clock time.
fn seoul_form_time(at: DateTime<Utc>) -> String {
    let seoul = FixedOffset::east_opt(9 * 3600).unwrap();
    at.with_timezone(&seoul)
        .format("%Y-%m-%dT%H:%M:00")
        .to_string()
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("time in {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// The body EventForm.js sends on create: dates without an offset, `posterImageUrl` empty,
/// `seatLayoutId` a layout id or null, ticket types with numbers typed into text inputs.
fn event_form(sale_start: DateTime<Utc>, seat_layout: Option<Uuid>) -> Value {
    let event_date = sale_start + Duration::days(30);
    json!({
        "title": "Original form concert",
        "description": "Made with the original admin form",
        "venue": "Olympic Hall",
        "address": "424 Olympic-ro, Songpa-gu, Seoul",
        "eventDate": seoul_form_time(event_date),
        "saleStartDate": seoul_form_time(sale_start),
        "saleEndDate": seoul_form_time(event_date - Duration::days(1)),
        "posterImageUrl": "",
        "artistName": "The Testers",
        "seatLayoutId": seat_layout,
        "ticketTypes": if seat_layout.is_some() { json!([]) } else {
            json!([
                {"name": "Standing", "price": "50000", "totalQuantity": "100", "description": ""},
                {"name": "VIP", "price": "120000", "totalQuantity": "20", "description": "front"}
            ])
        },
    })
}

/// A seated event on sale now, made through the admin form; its id.
async fn seated_event(app: &TestApp, pool: &PgPool, admin: &str) -> String {
    let layout = layout(pool).await;
    let sale_start = Utc::now() - Duration::hours(1);
    let (status, body) = send(
        app,
        Method::POST,
        admin,
        "/api/admin/events",
        event_form(sale_start, Some(layout)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["event"]["id"].as_str().unwrap().to_owned();
    no_waiting_room(app, admin, &id).await;
    id
}

async fn seat_ids_by_label(app: &TestApp, token: &str, event: &str) -> Vec<(String, String)> {
    let map = get(app, token, &format!("/api/seats/events/{event}")).await;
    map["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["seat_label"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn seat(seats: &[(String, String)], label: &str) -> Uuid {
    seats
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("seat {label}"))
        .1
        .parse()
        .unwrap()
}

/// Bullet "Seats": `GET /api/seats/events/:id` (SeatSelection.js) answers `available`,
/// `locked` (held) and `reserved` (sold), and `layout` is the layout's whole stored config.
#[tokio::test]
async fn the_seat_map_speaks_the_original_status_words_and_layout() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    let (_, buyer) = tokens.fan();
    let event = seated_event(&app, &pool, &admin).await;
    let seats = seat_ids_by_label(&app, &fan, &event).await;
    assert_eq!(seats.len(), 8);

    let held =
        created_id(hold(&app, &fan, event.parse().unwrap(), &[seat(&seats, "A-1-1")]).await).await;
    let sold = created_id(
        hold(
            &app,
            &buyer,
            event.parse().unwrap(),
            &[seat(&seats, "B-2-1")],
        )
        .await,
    )
    .await;
    let (status, body) = send(
        &app,
        Method::PATCH,
        &admin,
        &format!("/api/admin/reservations/{sold}/status"),
        json!({"status": "confirmed"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let map = get(&app, &fan, &format!("/api/seats/events/{event}")).await;
    assert_eq!(map["event"]["id"], event.as_str());
    assert_eq!(map["event"]["title"], "Original form concert");
    let expected: Value = serde_json::from_str(LAYOUT_CONFIG).unwrap();
    assert_eq!(map["layout"], expected, "the whole layout_config");
    assert_eq!(map["layout"]["sections"][0]["seatsPerRow"], 4);
    assert_eq!(map["layout"]["stage"]["label"], "MAIN STAGE");
    let status_of = |label: &str| {
        map["seats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["seat_label"] == label)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of("A-1-1"), "locked");
    assert_eq!(status_of("B-2-1"), "reserved");
    assert_eq!(status_of("A-1-2"), "available");
    for s in map["seats"].as_array().unwrap() {
        for field in [
            "id",
            "section",
            "row_number",
            "seat_number",
            "seat_label",
            "price",
        ] {
            assert!(!s[field].is_null(), "{field} in {s}");
        }
        let word = s["status"].as_str().unwrap();
        assert!(
            ["available", "locked", "reserved"].contains(&word),
            "{word}"
        );
    }
    // The database keeps its own words.
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM ticket.seats WHERE holder_reservation_id IN ($1, $2) ORDER BY status",
    )
    .bind(held)
    .bind(sold)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(stored, ["held", "sold"]);

    // An event without a seat map has no sections (the page falls back to ticket types).
    let plain = event_on_sale(&pool).await;
    let map = get(&app, &fan, &format!("/api/seats/events/{plain}")).await;
    assert_eq!(map["layout"]["sections"], json!([]));
    assert_eq!(map["seats"], json!([]));
}

/// Bullet "Reservation lines": the checkout pages (Payment.js, PaymentSuccess.js through
/// `GET /api/seats/reservation/:id`) read `seats[].seatLabel` and `price`; "my reservations"
/// (MyReservations.js) and the receipt (ReservationDetail.js) print `items` and must name
/// every seat, beside ticket-type lines.
#[tokio::test]
async fn reservation_answers_name_every_seat_as_the_original_pages_read_them() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (fan_user, fan) = tokens.fan();
    account(&pool, &fan_user, "Kim Minji").await;
    let event = seated_event(&app, &pool, &admin).await;
    let seats = seat_ids_by_label(&app, &fan, &event).await;
    let event_id: Uuid = event.parse().unwrap();

    let response = hold(
        &app,
        &fan,
        event_id,
        &[seat(&seats, "A-1-2"), seat(&seats, "B-2-3")],
    )
    .await;
    assert_eq!(response.status(), 201);
    let held: Value = response.json().await.unwrap();
    let id = held["reservation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(held["reservation"]["totalAmount"], 50000);
    assert!(held["reservation"]["reservationNumber"].is_string());
    assert!(held["reservation"]["expiresAt"].is_string());

    // Payment.js / PaymentSuccess.js.
    let checkout = get(&app, &fan, &format!("/api/seats/reservation/{id}")).await;
    let r = &checkout["reservation"];
    assert_eq!(r["event_id"], event.as_str());
    assert_eq!(r["event_title"], "Original form concert");
    assert_eq!(r["venue"], "Olympic Hall");
    assert!(r["event_date"].is_string());
    assert!(r["expires_at"].is_string());
    assert_eq!(r["total_amount"], 50000);
    assert_eq!(r["payment_status"], "pending");
    assert_eq!(
        r["reservation_number"],
        held["reservation"]["reservationNumber"]
    );
    assert_eq!(r["isExpired"], false);
    assert_eq!(r["user_name"], "Kim Minji");
    let lines = r["seats"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["seatId"], seat(&seats, "A-1-2").to_string());
    assert_eq!(lines[0]["seatLabel"], "A-1-2");
    assert_eq!(lines[0]["section"], "A");
    assert_eq!(lines[0]["rowNumber"], 1);
    assert_eq!(lines[0]["seatNumber"], 2);
    assert_eq!(lines[0]["price"], 30000);
    assert_eq!(lines[1]["seatLabel"], "B-2-3");
    assert_eq!(lines[1]["price"], 20000);
    // Our own names stay beside.
    assert_eq!(lines[0]["seat_label"], "A-1-2");
    assert_eq!(lines[0]["row_number"], 1);

    // MyReservations.js.
    let mine = get(&app, &fan, "/api/reservations/my").await;
    let r = &mine["reservations"][0];
    for field in [
        "id",
        "reservation_number",
        "event_title",
        "venue",
        "event_date",
        "created_at",
    ] {
        assert!(r[field].is_string(), "{field} in {r}");
    }
    assert_eq!(r["status"], "pending");
    assert_eq!(r["payment_status"], "pending");
    assert_eq!(r["total_amount"], 50000);
    let items = r["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["ticketTypeName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A-1-2", "B-2-3"]);
    assert_eq!(items[0]["quantity"], 1);
    assert_eq!(items[0]["unitPrice"], 30000);
    assert_eq!(items[0]["subtotal"], 30000);
    assert_eq!(items[1]["subtotal"], 20000);

    // ReservationDetail.js.
    let detail = get(&app, &fan, &format!("/api/reservations/{id}")).await;
    let r = &detail["reservation"];
    assert_eq!(r["address"], "424 Olympic-ro, Songpa-gu, Seoul");
    assert_eq!(r["items"][1]["ticketTypeName"], "B-2-3");
    assert_eq!(r["items"][1]["quantity"], 1);
    assert_eq!(r["items"][1]["unitPrice"], 20000);
    assert_eq!(r["items"][1]["seatLabel"], "B-2-3");
    assert_eq!(r["seats"][0]["seat_label"], "A-1-2");

    // A general-admission reservation: the checkout's `seats` carry the ticket-type line that
    // PaymentSuccess.js prints as "<ticketTypeName> × <quantity>".
    let ga = event_on_sale(&pool).await;
    no_waiting_room(&app, &admin, &ga.to_string()).await;
    let standing = ticket_type(&pool, ga, 10, 40000).await;
    let ga_id = created_id(reserve(&app, &fan, ga, standing, 2).await).await;
    let checkout = get(&app, &fan, &format!("/api/seats/reservation/{ga_id}")).await;
    let line = &checkout["reservation"]["seats"][0];
    assert_eq!(line["ticketTypeName"], "Standing");
    assert_eq!(line["quantity"], 2);
    assert_eq!(line["price"], 40000);
    assert!(line["seatLabel"].is_null());
    let detail = get(&app, &fan, &format!("/api/reservations/{ga_id}")).await;
    assert_eq!(
        detail["reservation"]["items"][0]["ticketTypeName"],
        "Standing"
    );
    assert_eq!(detail["reservation"]["items"][0]["subtotal"], 80000);
}

/// Bullet "Admin event form": EventForm.js creates (general admission and seated) and edits
/// with dates `YYYY-MM-DDTHH:mm:00` read in `EVENT_TIMEZONE`, numbers as strings, and
/// `seatLayoutId` null or ""; it then reads the event back; ticket types are added and edited
/// with string numbers too.
#[tokio::test]
async fn the_original_event_form_creates_and_edits_events() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let sale_start = (Utc::now() - Duration::hours(1))
        .date_naive()
        .and_hms_opt(3, 0, 0)
        .unwrap()
        .and_utc();

    // General admission.
    let form = event_form(sale_start, None);
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        "/api/admin/events",
        form.clone(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let event = &body["event"];
    let id = event["id"].as_str().unwrap().to_owned();
    assert_eq!(
        instant(&event["sale_start_date"]),
        sale_start,
        "read in Asia/Seoul"
    );
    assert_eq!(
        instant(&event["event_date"]),
        sale_start + Duration::days(30)
    );
    let types = event["ticketTypes"].as_array().unwrap();
    assert_eq!(types.len(), 2);
    let standing = types.iter().find(|t| t["name"] == "Standing").unwrap();
    assert_eq!(standing["price"], 50000);
    assert_eq!(standing["total_quantity"], 100);
    assert_eq!(standing["available_quantity"], 100);

    // What the edit page reads back (EventForm.js, Events.js).
    let (_, read) = app
        .send(Method::GET, &format!("/api/events/{id}"), None, None)
        .await;
    let e = &read["event"];
    for field in [
        "title",
        "description",
        "venue",
        "address",
        "artist_name",
        "status",
    ] {
        assert!(e[field].is_string(), "{field} in {e}");
    }
    assert!(e["poster_image_url"].is_null());
    assert!(e["seat_layout_id"].is_null());
    assert_eq!(e["status"], "on_sale");
    assert_eq!(read["ticketTypes"].as_array().unwrap().len(), 2);

    // Edit: the form sends the basic fields only, dates again without an offset.
    let edit = json!({
        "title": "Original form concert (new date)",
        "description": form["description"],
        "venue": form["venue"],
        "address": form["address"],
        "eventDate": seoul_form_time(sale_start + Duration::days(31)),
        "saleStartDate": form["saleStartDate"],
        "saleEndDate": form["saleEndDate"],
        "posterImageUrl": "",
        "artistName": form["artistName"],
    });
    let (status, body) = send(
        &app,
        Method::PUT,
        &admin,
        &format!("/api/admin/events/{id}"),
        edit,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["title"], "Original form concert (new date)");
    assert_eq!(
        instant(&body["event"]["event_date"]),
        sale_start + Duration::days(31)
    );
    assert_eq!(body["event"]["status"], "on_sale");

    // Dates with an offset keep working.
    let (status, body) = send(
        &app,
        Method::PUT,
        &admin,
        &format!("/api/admin/events/{id}"),
        json!({"eventDate": (sale_start + Duration::days(32)).to_rfc3339()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        instant(&body["event"]["event_date"]),
        sale_start + Duration::days(32)
    );

    // Ticket types from the admin pages, numbers as strings.
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        &format!("/api/admin/events/{id}/tickets"),
        json!({"name": "Balcony", "price": "30000", "totalQuantity": "40", "description": ""}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ticketType"]["price"], 30000);
    let balcony = body["ticketType"]["id"].as_str().unwrap().to_owned();
    let (status, body) = send(
        &app,
        Method::PUT,
        &admin,
        &format!("/api/admin/tickets/{balcony}"),
        json!({"name": "Balcony", "price": "35000", "totalQuantity": "45", "description": ""}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ticketType"]["price"], 35000);
    assert_eq!(body["ticketType"]["total_quantity"], 45);
    assert_eq!(body["ticketType"]["available_quantity"], 45);

    // Seated: seatLayoutId a layout, ticketTypes empty; an empty seatLayoutId means none.
    let layout = layout(&pool).await;
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        "/api/admin/events",
        event_form(sale_start, Some(layout)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["event"]["seat_layout_id"], layout.to_string());
    assert_eq!(body["event"]["seatCount"], 8);
    let mut no_layout = event_form(sale_start, None);
    no_layout["seatLayoutId"] = json!("");
    let (status, body) = send(&app, Method::POST, &admin, "/api/admin/events", no_layout).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["event"]["seat_layout_id"].is_null());
}

/// Bullet "Admin event form": what the form can get wrong is a 400 naming the field, never a
/// 500: a date that is no time, a time the venue's clocks skip, a non-numeric number.
#[tokio::test]
async fn event_form_mistakes_are_400s_naming_the_field() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // A zone with daylight saving time, to have a gap.
    let app = TestApp::spawn_with(pool.clone(), &[("EVENT_TIMEZONE", "Europe/Berlin")]).await;
    let (_, admin) = app.tokens().admin();
    let sale_start = Utc::now() - Duration::hours(1);
    let cases = [
        ("/eventDate", json!("2027-02-30T19:00:00"), "eventDate"),
        ("/saleStartDate", json!("next friday"), "saleStartDate"),
        ("/eventDate", json!("2030-03-31T02:30:00"), "eventDate"),
        (
            "/ticketTypes/0/price",
            json!("fifty thousand"),
            "ticketTypes[0].price",
        ),
        (
            "/ticketTypes/1/totalQuantity",
            json!("12.5"),
            "ticketTypes[1].totalQuantity",
        ),
        ("/seatLayoutId", json!("small theater"), "seatLayoutId"),
    ];
    for (pointer, value, field) in cases {
        let mut form = event_form(sale_start, None);
        *form.pointer_mut(pointer).unwrap() = value.clone();
        let (status, body) = send(&app, Method::POST, &admin, "/api/admin/events", form).await;
        assert_eq!(status, 400, "{pointer}={value}: {body}");
        assert_eq!(body["code"], "validation_failed", "{body}");
        assert!(body["fields"][field].is_string(), "{field} in {body}");
    }
    // In Berlin, a local time is read in Berlin's offset (summer: +02:00).
    let mut form = event_form(sale_start, None);
    form["eventDate"] = json!("2030-07-01T20:00:00");
    let (status, body) = send(&app, Method::POST, &admin, "/api/admin/events", form).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        instant(&body["event"]["event_date"]),
        DateTime::parse_from_rfc3339("2030-07-01T18:00:00Z").unwrap()
    );
    let event = body["event"]["id"].as_str().unwrap().to_owned();
    let ticket = body["event"]["ticketTypes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(
        &app,
        Method::PUT,
        &admin,
        &format!("/api/admin/tickets/{ticket}"),
        json!({"price": "abc"}),
    )
    .await;
    assert_eq!(
        (status, body["fields"]["price"].is_string()),
        (400, true),
        "{body}"
    );
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        &format!("/api/admin/events/{event}/tickets"),
        json!({"name": "Late", "price": "1000", "totalQuantity": "many"}),
    )
    .await;
    assert_eq!(
        (status, body["fields"]["totalQuantity"].is_string()),
        (400, true),
        "{body}"
    );
}

/// Bullet "Admin event form": Events.js asks `GET /api/events?limit=1000`; every list route
/// lowers a large `limit` to its maximum instead of refusing; 0 or a negative stays a 400.
#[tokio::test]
async fn a_large_limit_is_clamped_on_every_list_route() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    event_on_sale(&pool).await;
    for path in [
        "/api/events?limit=1000",
        "/api/admin/reservations?limit=1000",
        "/api/news?limit=1000",
    ] {
        let body = get(&app, &admin, path).await;
        assert_eq!(body["pagination"]["limit"], 100, "{path}: {body}");
        assert_eq!(body["pagination"]["page"], 1, "{path}");
    }
    let events = get(&app, &admin, "/api/events?limit=1000").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    for path in [
        "/api/events?limit=0",
        "/api/news?limit=-1",
        "/api/admin/reservations?limit=ten",
    ] {
        let (status, body) = send(&app, Method::GET, &admin, path, Value::Null).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_query")),
            "{path}"
        );
    }
}

/// Bullet "News": News.js posts `{title, content, author, author_id, is_pinned}` as any signed-in
/// user and lists `author` and `is_pinned`; NewsDetail.js lets the author edit and the author
/// or an admin delete. The author is the account, whatever the body claims.
#[tokio::test]
async fn news_has_its_author_and_only_the_author_or_an_admin_changes_it() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (admin_user, admin) = tokens.admin();
    let (fan_user, fan) = tokens.fan();
    let (other_user, other) = tokens.fan();
    account(&pool, &admin_user, "Operator Park").await;
    account(&pool, &fan_user, "Lee Seojun").await;
    verified(&pool, &fan_user).await;

    let (status, body) = send(
        &app,
        Method::POST,
        &fan,
        "/api/news",
        json!({"title": "Queue tips", "content": "Arrive early", "author": "Operator Park",
               "author_id": other_user.id, "is_pinned": false}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let news = body["news"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["news"]["author"], "Lee Seojun");
    assert_eq!(body["news"]["author_id"], fan_user.id.to_string());
    assert_eq!(body["news"]["is_pinned"], false);

    // Pinning is the operators' (the original form offers it to admins only).
    let (status, _) = send(
        &app,
        Method::POST,
        &fan,
        "/api/news",
        json!({"title": "Look here", "content": "x", "author": "Lee Seojun", "is_pinned": true}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        "/api/news",
        json!({"title": "Doors at six", "content": "Bring ID", "author": "Operator Park",
               "author_id": admin_user.id, "is_pinned": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["news"]["is_pinned"], true);
    assert_eq!(body["news"]["author"], "Operator Park");

    let list = get(&app, &fan, "/api/news").await;
    let first = &list["news"][0];
    assert_eq!(first["title"], "Doors at six");
    assert_eq!(first["is_pinned"], true);
    assert_eq!(list["news"][1]["author"], "Lee Seojun");
    assert!(list["news"][1]["created_at"].is_string());
    assert_eq!(list["news"][1]["views"], 0);

    // NewsDetail.js: the author edits; another fan may neither edit nor delete.
    let path = format!("/api/news/{news}");
    let (status, body) = send(
        &app,
        Method::PUT,
        &other,
        &path,
        json!({"title": "Mine now", "content": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_news_author"))
    );
    let (status, _) = send(&app, Method::DELETE, &other, &path, Value::Null).await;
    assert_eq!(status, 403);
    let (status, body) = send(
        &app,
        Method::PUT,
        &fan,
        &path,
        json!({"title": "Queue tips (2)", "content": "Arrive early, eat first"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["news"]["title"], "Queue tips (2)");
    assert_eq!(body["news"]["author"], "Lee Seojun");
    let detail = get(&app, &other, &path).await;
    assert_eq!(detail["news"]["content"], "Arrive early, eat first");
    assert_eq!(detail["news"]["author"], "Lee Seojun");
    // An admin moderates.
    let (status, _) = send(&app, Method::DELETE, &admin, &path, Value::Null).await;
    assert_eq!(status, 200);
}

/// Bullet "Admin reservations and dashboard": Reservations.js and Dashboard.js print
/// `user_name` and `user_email` with each row, and the fields beside them.
#[tokio::test]
async fn admin_rows_name_the_fan() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (fan_user, fan) = tokens.fan();
    account(&pool, &fan_user, "Choi Yuna").await;
    let event = event_on_sale(&pool).await;
    no_waiting_room(&app, &admin, &event.to_string()).await;
    let standing = ticket_type(&pool, event, 10, 15000).await;
    created_id(reserve(&app, &fan, event, standing, 2).await).await;

    let listed = get(&app, &admin, "/api/admin/reservations").await;
    let row = &listed["reservations"][0];
    assert_eq!(row["user_name"], "Choi Yuna");
    assert_eq!(row["user_email"], fan_user.email.as_str());
    assert_eq!(row["event_title"], "Inventory test");
    assert_eq!(row["venue"], "Test hall");
    assert_eq!(row["total_amount"], 30000);
    assert_eq!(row["status"], "pending");
    assert_eq!(row["payment_status"], "pending");
    for field in ["id", "reservation_number", "event_date", "created_at"] {
        assert!(row[field].is_string(), "{field} in {row}");
    }
    let filtered = get(&app, &admin, "/api/admin/reservations?status=pending").await;
    assert_eq!(filtered["reservations"][0]["user_name"], "Choi Yuna");

    let dashboard = get(&app, &admin, "/api/admin/dashboard/stats").await;
    for field in [
        "totalEvents",
        "totalReservations",
        "totalRevenue",
        "todayReservations",
    ] {
        assert!(
            dashboard["stats"][field].is_number(),
            "{field} in {dashboard}"
        );
    }
    let recent = &dashboard["recentReservations"][0];
    assert_eq!(recent["user_name"], "Choi Yuna");
    assert_eq!(recent["user_email"], fan_user.email.as_str());
    assert_eq!(recent["event_title"], "Inventory test");
    assert_eq!(recent["status"], "pending");
    assert_eq!(recent["total_amount"], 30000);
    for field in ["id", "reservation_number", "created_at"] {
        assert!(recent[field].is_string(), "{field} in {recent}");
    }
}

/// The original's public pages (Home.js, Search.js, EventCard.js, EventDetail.js): the event
/// `status` words they compare with, the card's prices, and the ticket types' quantities.
#[tokio::test]
async fn event_pages_get_the_fields_and_words_they_compare_with() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, fan) = app.tokens().fan();
    let on_sale = event_on_sale(&pool).await;
    ticket_type(&pool, on_sale, 10, 15000).await;
    ticket_type(&pool, on_sale, 5, 99000).await;
    let upcoming = inventory_common::event_with_window(&pool, 3600, 86_400).await;

    // Home.js: `status=on_sale` by default; EventCard.js reads these.
    let home = get(&app, &fan, "/api/events?status=on_sale").await;
    let card = &home["events"][0];
    assert_eq!(card["id"], on_sale.to_string());
    assert_eq!(card["status"], "on_sale");
    assert_eq!(card["min_price"], 15000);
    assert_eq!(card["max_price"], 99000);
    for field in [
        "title",
        "venue",
        "event_date",
        "sale_start_date",
        "sale_end_date",
    ] {
        assert!(card[field].is_string(), "{field} in {card}");
    }
    let soon = get(&app, &fan, "/api/events?status=upcoming").await;
    assert_eq!(soon["events"][0]["id"], upcoming.to_string());
    assert_eq!(soon["events"][0]["status"], "upcoming");
    // Search.js: `q` with a status.
    let found = get(&app, &fan, "/api/events?status=on_sale&q=Test%20hall").await;
    assert_eq!(found["events"].as_array().unwrap().len(), 1);

    // EventDetail.js.
    let detail = get(&app, &fan, &format!("/api/events/{on_sale}")).await;
    assert_eq!(detail["event"]["status"], "on_sale");
    assert!(detail["event"]["seat_layout_id"].is_null());
    let ticket = &detail["ticketTypes"][0];
    for field in ["id", "name"] {
        assert!(ticket[field].is_string(), "{field} in {ticket}");
    }
    assert_eq!(ticket["price"], 15000);
    assert_eq!(ticket["available_quantity"], 10);
    assert_eq!(ticket["total_quantity"], 10);
    assert!(ticket.get("description").is_some());
}

/// Marks the account's email as proven, as opening the verification link does.
async fn verified(pool: &PgPool, user: &AuthUser) {
    sqlx::query("UPDATE auth.users SET email_verified = true WHERE id = $1")
        .bind(user.id)
        .execute(pool)
        .await
        .expect("verify account");
}

/// Bullet "News", found by attacking it: a fresh account named like the operator cannot pass a
/// post off as the operator's. Posting needs a verified email (403 `email_not_verified`), and
/// every item says who wrote it: `author_role` and `is_official`, from the account, not the body.
#[tokio::test]
async fn news_needs_a_verified_email_and_tells_staff_posts_apart() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (admin_user, admin) = tokens.admin();
    let (fan_user, fan) = tokens.fan();
    account(&pool, &admin_user, "Operator Park").await;
    account(&pool, &fan_user, "Operator Park").await;
    let notice = json!({"title": "[공지] 결제 오류 안내",
        "content": "Please re-pay at http://evil.example", "author": "Operator Park",
        "author_id": admin_user.id, "is_pinned": false});

    let (status, body) = send(&app, Method::POST, &fan, "/api/news", notice.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("email_not_verified")),
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.news")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 0);
    // A token for an account that is gone is no better.
    let (_, ghost) = tokens.fan();
    let (status, body) = send(&app, Method::POST, &ghost, "/api/news", notice.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("email_not_verified"))
    );

    verified(&pool, &fan_user).await;
    let (status, body) = send(&app, Method::POST, &fan, "/api/news", notice).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["news"]["author"], "Operator Park");
    assert_eq!(body["news"]["author_role"], "user");
    assert_eq!(body["news"]["is_official"], false);
    let fan_post = body["news"]["id"].as_str().unwrap().to_owned();

    // The operator's account is not verified here: admins post all the same.
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        "/api/news",
        json!({"title": "Doors at six", "content": "Bring ID", "is_pinned": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["news"]["author_role"], "admin");
    assert_eq!(body["news"]["is_official"], true);

    let list = get(&app, &fan, "/api/news").await;
    assert_eq!(list["news"][0]["is_official"], true);
    assert_eq!(list["news"][0]["author_role"], "admin");
    assert_eq!(list["news"][1]["is_official"], false);
    assert_eq!(list["news"][1]["author_role"], "user");
    let detail = get(&app, &fan, &format!("/api/news/{fan_post}")).await;
    assert_eq!(detail["news"]["is_official"], false);
    assert_eq!(detail["news"]["author_role"], "user");
}

/// Bullet "News", found by attacking it: a fan posts at most `RATE_LIMIT_NEWS_POSTS_PER_HOUR`
/// items (429 with `Retry-After` past it; admins are not limited), titles and contents have a
/// size (400 naming the field), and the list page (News.js shows title, author, date, views)
/// carries an excerpt of long contents, flagged, while the detail page has all of it.
#[tokio::test]
async fn news_posting_is_limited_per_fan_and_sizes_are_capped() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("RATE_LIMIT_NEWS_POSTS_PER_HOUR", "3")]).await;
    let tokens = app.tokens();
    let (admin_user, admin) = tokens.admin();
    let (fan_user, fan) = tokens.fan();
    account(&pool, &admin_user, "Operator Park").await;
    account(&pool, &fan_user, "Lee Seojun").await;
    verified(&pool, &fan_user).await;

    // The sizes hold for admins too (a fan's refused attempt would count against the fan's
    // allowance: every posting attempt does).
    for (field, body) in [
        ("title", json!({"title": "t".repeat(201), "content": "x"})),
        (
            "content",
            json!({"title": "Long", "content": "c".repeat(10_001)}),
        ),
    ] {
        let (status, answer) = send(&app, Method::POST, &admin, "/api/news", body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("validation_failed")),
            "{answer}"
        );
        assert!(answer["fields"][field].is_string(), "{field}: {answer}");
    }

    let long = "가".repeat(10_000);
    let mut fan_statuses = Vec::new();
    for n in 0..4 {
        let response = app
            .client
            .post(app.url("/api/news"))
            .bearer_auth(&fan)
            .json(&json!({"title": format!("Post {n}"), "content": long}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status == 429 {
            let wait: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait >= 1, "Retry-After {wait}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
        }
        fan_statuses.push(status);
    }
    assert_eq!(fan_statuses, [201, 201, 201, 429]);
    for n in 0..6 {
        let (status, body) = send(
            &app,
            Method::POST,
            &admin,
            "/api/news",
            json!({"title": format!("Notice {n}"), "content": long}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }

    // Anyone's list: excerpts of long contents, flagged; the detail page reads the whole.
    let response = app.get("/api/news?limit=1000").await;
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    let items = list["news"].as_array().unwrap();
    assert_eq!(items.len(), 9);
    for item in items {
        let content = item["content"].as_str().unwrap();
        assert!(
            content.chars().count() <= 300,
            "{} chars",
            content.chars().count()
        );
        assert!(long.starts_with(content));
        assert_eq!(item["content_truncated"], true);
        assert!(item["author"].is_string() && item["is_pinned"].is_boolean());
    }
    let id = items[0]["id"].as_str().unwrap();
    let detail = get(&app, &fan, &format!("/api/news/{id}")).await;
    assert_eq!(detail["news"]["content"], long.as_str());
    assert_eq!(detail["news"]["content_truncated"], false);
}

/// Bullet "News", found by attacking it: once an admin pins a fan's item it is the operators'
/// notice; its author may neither rewrite, unpin nor delete it (403 `news_pinned`); only admins
/// change `is_pinned`. The author still edits an item that is not pinned (NewsDetail.js sends
/// `{title, content}`).
#[tokio::test]
async fn a_pinned_item_is_changed_by_admins_only() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (admin_user, admin) = tokens.admin();
    let (fan_user, fan) = tokens.fan();
    account(&pool, &admin_user, "Operator Park").await;
    account(&pool, &fan_user, "Lee Seojun").await;
    verified(&pool, &fan_user).await;
    let (status, body) = send(
        &app,
        Method::POST,
        &fan,
        "/api/news",
        json!({"title": "Meet-up at gate 3", "content": "See you", "is_pinned": false}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let path = format!("/api/news/{}", body["news"]["id"].as_str().unwrap());
    let (status, body) = send(
        &app,
        Method::PUT,
        &fan,
        &path,
        json!({"title": "Meet-up at gate 4", "content": "See you there"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&app, Method::PUT, &fan, &path, json!({"is_pinned": true})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_only")));

    let (status, body) = send(&app, Method::PUT, &admin, &path, json!({"is_pinned": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["news"]["is_pinned"], true);
    for (method, change) in [
        (
            Method::PUT,
            json!({"title": "Re-pay here", "content": "http://evil.example"}),
        ),
        (Method::PUT, json!({"is_pinned": false})),
        (Method::PUT, json!({"isPinned": false})),
        (Method::DELETE, Value::Null),
    ] {
        let (status, body) = send(&app, method.clone(), &fan, &path, change.clone()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("news_pinned")),
            "{method} {change}: {body}"
        );
    }
    let detail = get(&app, &fan, &path).await;
    assert_eq!(detail["news"]["title"], "Meet-up at gate 4");
    assert_eq!(detail["news"]["is_pinned"], true);
    // The operators edit and unpin it; then it is its author's again.
    let (status, body) = send(
        &app,
        Method::PUT,
        &admin,
        &path,
        json!({"title": "Meet-up moved", "is_pinned": false}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["news"]["is_pinned"], false);
    let (status, _) = send(&app, Method::DELETE, &fan, &path, Value::Null).await;
    assert_eq!(status, 200);
}

/// Bullet "Admin event form", found by attacking it: dates outside 2000..=2100 and a seconds
/// value of 60 are refused (400 naming the field), and so is a `status` an admin cannot set
/// through the form (the status follows the sale window; cancelling has its own route).
#[tokio::test]
async fn the_event_form_refuses_absurd_dates_and_a_status_it_cannot_set() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    let sale_start = Utc::now() + Duration::days(1);
    for (field, value) in [
        ("eventDate", "0000-01-03T00:00:00"),
        ("eventDate", "-0100-01-03T00:00:00"),
        ("eventDate", "2101-01-01T00:00:00"),
        ("saleStartDate", "1999-12-31T23:59:00"),
        ("saleStartDate", "1969-12-31T23:59:00Z"),
        ("saleEndDate", "2027-05-01T19:00:60"),
        ("saleEndDate", "2027-05-01T19:00:60Z"),
    ] {
        let mut body = event_form(sale_start, None);
        body[field] = json!(value);
        let (status, answer) = send(&app, Method::POST, &admin, "/api/admin/events", body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("validation_failed")),
            "{field} {value}: {answer}"
        );
        assert!(
            answer["fields"][field].is_string(),
            "{field} {value}: {answer}"
        );
    }
    let (status, body) = send(
        &app,
        Method::POST,
        &admin,
        "/api/admin/events",
        event_form(sale_start, None),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let path = format!(
        "/api/admin/events/{}",
        body["event"]["id"].as_str().unwrap()
    );
    for status_word in ["bogus", "on_sale", "cancelled"] {
        let (status, answer) = send(
            &app,
            Method::PUT,
            &admin,
            &path,
            json!({"status": status_word}),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("validation_failed")),
            "{status_word}: {answer}"
        );
        assert!(answer["fields"]["status"].is_string(), "{answer}");
    }
    // The status it has already (a client sending the event back as it read it) is no change.
    let (status, answer) = send(
        &app,
        Method::PUT,
        &admin,
        &path,
        json!({"status": "upcoming", "venue": "Jamsil Arena"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["event"]["status"], "upcoming");
    assert_eq!(answer["event"]["venue"], "Jamsil Arena");
}

/// Bullet "Admin event form": a `limit` too large for 64 bits is still a large limit, clamped
/// like `limit=1000` on every list route; 0, negative and non-numeric limits stay 400.
#[tokio::test]
async fn a_limit_beyond_64_bits_is_clamped_too() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    let huge = "99999999999999999999";
    for path in ["/api/events", "/api/admin/reservations", "/api/news"] {
        let body = get(&app, &admin, &format!("{path}?limit={huge}")).await;
        assert_eq!(body["pagination"]["limit"], 100, "{path}: {body}");
    }
    let body = get(&app, &admin, &format!("/api/payments/user/me?limit={huge}")).await;
    assert_eq!(body["pagination"]["limit"], 100, "{body}");
    let body = get(&app, &admin, &format!("/api/stats/events?limit={huge}")).await;
    assert_eq!(body["limit"], 100, "{body}");
    for limit in ["0", "-1", "-99999999999999999999", "ten", "1e3", ""] {
        let path = format!("/api/news?limit={limit}");
        let (status, body) = send(&app, Method::GET, &admin, &path, Value::Null).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_query")),
            "{path}: {body}"
        );
    }
}
