//! The admin side of inventory on a real server: events created with validation, seats
//! generated and deleted, ticket types, cancel and delete rules, reservation list and status,
//! dashboard numbers, and news.

mod inventory_common;

use inventory_common::*;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn new_event(layout: Option<Uuid>) -> Value {
    let now = chrono::Utc::now();
    json!({
        "title": "  IU Golden Hour  ",
        "description": "Live at the stadium",
        "venue": "Olympic Park",
        "address": "Seoul",
        "eventDate": now + chrono::Duration::days(30),
        "saleStartDate": now - chrono::Duration::hours(1),
        "saleEndDate": now + chrono::Duration::days(29),
        "posterImageUrl": null,
        "artistName": "IU",
        "seatLayoutId": layout,
        "ticketTypes": [{ "name": "Standing", "price": 99000, "totalQuantity": 100, "description": "Floor" }],
    })
}

#[tokio::test]
async fn an_admin_creates_an_event_with_seats_and_ticket_types_that_fans_can_buy() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    let layout: Uuid =
        sqlx::query_scalar("SELECT id FROM ticket.seat_layouts WHERE name = 'small_theater'")
            .fetch_one(&pool)
            .await
            .unwrap();

    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &fan,
        "/api/admin/events",
        Some(new_event(None)),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_only")));

    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/admin/events",
        Some(new_event(Some(layout))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let event = &body["event"];
    assert_eq!(event["title"], "IU Golden Hour");
    assert_eq!(event["status"], "on_sale");
    assert_eq!(event["seatCount"], 265);
    assert_eq!(event["ticketTypes"][0]["available_quantity"], 100);
    let event_id: Uuid = event["id"].as_str().unwrap().parse().unwrap();
    // Seats and ticket types are the subject here, not admission: the admin turns the event's
    // waiting room (on by default) off.
    let path = format!("/api/queue/admin/{event_id}/settings");
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        &path,
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!((status, body["enabled"].as_bool()), (200, Some(false)));

    // Generating again creates nothing new.
    let path = format!("/api/admin/events/{event_id}/generate-seats");
    let (status, body) = send(&app, reqwest::Method::POST, &admin, &path, None).await;
    assert_eq!(
        (
            status,
            body["created"].as_u64(),
            body["totalSeats"].as_u64()
        ),
        (201, Some(0), Some(265))
    );

    // A fan holds a seat; seats can then not be deleted.
    let seat: Uuid = sqlx::query_scalar(
        "SELECT id FROM ticket.seats WHERE event_id = $1 AND section = 'VIP' LIMIT 1",
    )
    .bind(event_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let held = created_id(hold(&app, &fan, event_id, &[seat]).await).await;
    let seats_path = format!("/api/admin/events/{event_id}/seats");
    let (status, body) = send(&app, reqwest::Method::DELETE, &admin, &seats_path, None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("seats_in_use")));

    // Ticket types: a new one, and a total lowered below what is reserved is refused.
    let path = format!("/api/admin/events/{event_id}/tickets");
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        &path,
        Some(json!({"name": "VIP", "price": 200000, "totalQuantity": 2})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let vip: Uuid = body["ticketType"]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(reserve(&app, &fan, event_id, vip, 2).await.status(), 201);
    let path = format!("/api/admin/tickets/{vip}");
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        &path,
        Some(json!({"totalQuantity": 1})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("quantity_below_reserved"))
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        &path,
        Some(json!({"totalQuantity": 5, "price": 210000})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ticketType"]["available_quantity"], 3);
    assert_eq!(body["ticketType"]["price"], 210000);

    // The admin list and the status change.
    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        &admin,
        "/api/admin/reservations?status=pending&limit=1",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pagination"]["total"], 2);
    assert_eq!(body["pagination"]["totalPages"], 2);
    assert_eq!(body["reservations"].as_array().unwrap().len(), 1);
    let path = format!("/api/admin/reservations/{held}/status");
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &admin,
        &path,
        Some(json!({"status": "expired"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &admin,
        &path,
        Some(json!({"status": "confirmed"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reservation"]["status"], "confirmed");
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &admin,
        &path,
        Some(json!({"status": "cancelled"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("refund_required"))
    );

    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        &admin,
        "/api/admin/dashboard/stats",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stats"]["totalEvents"], 1);
    assert_eq!(body["stats"]["totalReservations"], 2);
    assert_eq!(body["stats"]["totalRevenue"], 150000);
    assert_eq!(body["stats"]["todayReservations"], 2);
    assert_eq!(body["recentReservations"].as_array().unwrap().len(), 2);

    // A paid reservation blocks deletion; cancelling lists it for a refund and ends pending holds.
    let path = format!("/api/admin/events/{event_id}");
    let (status, body) = send(&app, reqwest::Method::DELETE, &admin, &path, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("event_has_confirmed_reservations"))
    );
    let path = format!("/api/admin/events/{event_id}/cancel");
    let (status, body) = send(&app, reqwest::Method::POST, &admin, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["status"], "cancelled");
    assert_eq!(body["cancelledPendingReservations"], 1);
    // Confirmed by an admin without a payment: nothing to refund, so it is simply cancelled.
    assert_eq!(body["cancelledPaidReservations"], 1);
    assert_eq!(body["refundsNeeded"], json!([]));
    let status: String = sqlx::query_scalar("SELECT status FROM ticket.reservations WHERE id = $1")
        .bind(held)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    let left: i32 =
        sqlx::query_scalar("SELECT available_quantity FROM ticket.ticket_types WHERE id = $1")
            .bind(vip)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        left, 5,
        "the cancelled pending reservation returned its tickets"
    );
    let response = hold(&app, &fan, event_id, &[seat]).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "event_cancelled"
    );
}

#[tokio::test]
async fn event_input_is_validated_field_by_field() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    let mut bad = new_event(Some(Uuid::new_v4()));
    bad["title"] = json!("");
    bad["saleEndDate"] = bad["saleStartDate"].clone();
    bad["ticketTypes"][0]["price"] = json!(-1);
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/admin/events",
        Some(bad),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed")),
        "{body}"
    );
    for field in [
        "title",
        "saleEndDate",
        "seatLayoutId",
        "ticketTypes[0].price",
    ] {
        assert!(
            body["fields"][field].is_string(),
            "no message for {field}: {body}"
        );
    }
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/admin/events",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 400);
    for field in [
        "title",
        "venue",
        "eventDate",
        "saleStartDate",
        "saleEndDate",
    ] {
        assert!(
            body["fields"][field].is_string(),
            "no message for {field}: {body}"
        );
    }
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/admin/events",
        Some(json!({"eventDate": "tomorrow"})),
    )
    .await;
    // A date that is no date is named in `fields`, like any other invalid field.
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed"))
    );
    assert!(
        body["fields"]["eventDate"]
            .as_str()
            .is_some_and(|m| m.contains("tomorrow")),
        "{body}"
    );

    // Updates merge over the stored event and validate the result.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/admin/events",
        Some(new_event(None)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let path = format!(
        "/api/admin/events/{}",
        body["event"]["id"].as_str().unwrap()
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        &path,
        Some(json!({"venue": "Gocheok Sky Dome"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["venue"], "Gocheok Sky Dome");
    assert_eq!(body["event"]["title"], "IU Golden Hour");
    let far = chrono::Utc::now() + chrono::Duration::days(400);
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        &path,
        Some(json!({"saleEndDate": far})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed"))
    );
    let unknown = format!("/api/admin/events/{}", Uuid::new_v4());
    let (status, _) = send(&app, reqwest::Method::DELETE, &admin, &unknown, None).await;
    assert_eq!(status, 404);
    let (status, body) = send(&app, reqwest::Method::DELETE, &admin, &path, None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn everyone_reads_news_pinned_first_and_only_admins_pin_it() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();

    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &fan,
        "/api/news",
        Some(json!({"title": "x", "content": "y", "isPinned": true})),
    )
    .await;
    assert_eq!(status, 403);
    let mut ids = Vec::new();
    for (title, pinned) in [("first", false), ("pinned", true), ("latest", false)] {
        let (status, body) = send(
            &app,
            reqwest::Method::POST,
            &admin,
            "/api/news",
            Some(json!({"title": title, "content": "text", "isPinned": pinned})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["news"]["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/news",
        Some(json!({"title": ""})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed"))
    );

    let list: Value = app.get("/api/news?limit=2").await.json().await.unwrap();
    let titles: Vec<&str> = list["news"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["pinned", "latest"]);
    assert_eq!(list["pagination"]["total"], 3);

    let one: Value = app
        .get(&format!("/api/news/{}", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["news"]["views"], 1);
    let path = format!("/api/news/{}", ids[0]);
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        &path,
        Some(json!({"isPinned": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(&app, reqwest::Method::DELETE, &fan, &path, None).await;
    assert_eq!(status, 403);
    let (status, _) = send(&app, reqwest::Method::DELETE, &admin, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&path).await.status(), 404);
    assert_eq!(app.get("/api/news/not-a-uuid").await.status(), 400);
}
