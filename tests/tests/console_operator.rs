//! What the operator console needs from the server (issue 18): events saved as drafts that fans
//! can neither see nor book until published, while the original client's creation form (which
//! knows no drafts) still creates published events; a message to the fans waiting in a queue;
//! reservations searchable by buyer or number, and one reservation in full for the order view.

mod inventory_common;

use inventory_common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// The console's event form for a general-admission event on sale now: two ticket types.
fn console_event(published: Option<bool>) -> Value {
    let now = chrono::Utc::now();
    let mut body = json!({
        "title": "Draft night",
        "venue": "Blue Square",
        "eventDate": now + chrono::Duration::days(30),
        "saleStartDate": now - chrono::Duration::hours(1),
        "saleEndDate": now + chrono::Duration::days(29),
        "ticketTypes": [
            { "name": "Standing", "price": "55000", "totalQuantity": "100" },
            { "name": "VIP", "price": 150000, "totalQuantity": 10 },
        ],
    });
    if let Some(published) = published {
        body["published"] = json!(published);
    }
    body
}

fn id_of(body: &Value) -> Uuid {
    body["event"]["id"]
        .as_str()
        .expect("event id")
        .parse()
        .expect("uuid")
}

fn listed(body: &Value, id: Uuid) -> bool {
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e["id"] == json!(id))
}

#[tokio::test]
async fn a_draft_is_invisible_and_unbookable_for_fans_until_an_admin_publishes_it() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();

    let (status, body) = app
        .send(
            Method::POST,
            "/api/admin/events",
            Some(&admin),
            Some(&console_event(Some(false))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["event"]["published"], json!(false));
    assert_eq!(body["event"]["published_at"], Value::Null);
    let event = id_of(&body);
    let standing: Uuid = body["event"]["ticketTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Standing")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .parse()
        .unwrap();
    // Queue off so that a refusal below is the draft's, not the waiting room's.
    queue_off(&pool, event).await;
    let seat = seats(&pool, event, 1).await;

    // Fans and anonymous readers: not listed, no page, no seat map.
    for token in [None, Some(fan.as_str())] {
        let (status, list) = app.send(Method::GET, "/api/events", token, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!listed(&list, event), "a draft is not listed: {list}");
        let (status, page) = app
            .send(Method::GET, &format!("/api/events/{event}"), token, None)
            .await;
        assert_eq!(
            (status, page["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("event_not_found"))
        );
        let (status, _) = app
            .send(
                Method::GET,
                &format!("/api/seats/events/{event}"),
                token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .send(
                Method::GET,
                &format!("/api/tickets/event/{event}"),
                token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .send(
                Method::GET,
                &format!("/api/tickets/availability/{standing}"),
                token,
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a draft's ticket type is public"
        );
    }
    // Nor bookable: no hold, no reservation, no place in a waiting room.
    let response = hold(&app, &fan, event, &seat).await;
    assert_eq!(response.status(), 404);
    let response = reserve(&app, &fan, event, standing, 1).await;
    assert_eq!(response.status(), 404);
    let booked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.reservations WHERE event_id = $1")
            .bind(event)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(booked, 0);
    sqlx::query("DELETE FROM ticket.queue_settings WHERE event_id = $1")
        .bind(event)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/api/queue/check/{event}"),
            Some(&fan),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("event_not_found")),
        "{body}"
    );

    // Admins see the draft: its page and the console's list, which says it is a draft.
    let (status, page) = app
        .send(
            Method::GET,
            &format!("/api/events/{event}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["event"]["published"], json!(false));
    let (status, list) = app
        .send(Method::GET, "/api/admin/events", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let row = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == json!(event))
        .expect("the draft is in the admin list");
    assert_eq!(row["published"], json!(false));
    let (status, body) = app
        .send(Method::GET, "/api/admin/events", Some(&fan), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admin_only"))
    );
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/admin/events/{event}/publish"),
            Some(&fan),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Published: listed, readable, and fans join the queue and buy.
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/api/admin/events/{event}/publish"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["event"]["published"], json!(true));
    let (_, list) = app.send(Method::GET, "/api/events", None, None).await;
    assert!(listed(&list, event), "published events are listed: {list}");
    let (status, _) = app
        .send(Method::GET, &format!("/api/events/{event}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .send(
            Method::GET,
            &format!("/api/tickets/availability/{standing}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/api/queue/check/{event}"),
            Some(&fan),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queued"], json!(false), "{body}");
    assert_eq!(hold(&app, &fan, event, &seat).await.status(), 201);
    assert_eq!(reserve(&app, &fan, event, standing, 2).await.status(), 201);

    // Booked events cannot go back to draft.
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/api/admin/events/{event}"),
            Some(&admin),
            Some(&json!({ "published": false })),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("event_has_reservations"))
    );
}

#[tokio::test]
async fn an_event_created_without_the_draft_field_is_published_as_before() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let (_, admin) = app.tokens().admin();
    // The original client's form: no `published` field.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/admin/events",
            Some(&admin),
            Some(&console_event(None)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["event"]["published"], json!(true));
    let event = id_of(&body);
    let (_, list) = app.send(Method::GET, "/api/events", None, None).await;
    assert!(listed(&list, event));
    let (status, _) = app
        .send(Method::GET, &format!("/api/events/{event}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // A draft made by a PUT, then published the same way.
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/api/admin/events/{event}"),
            Some(&admin),
            Some(&json!({ "published": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .send(Method::GET, &format!("/api/events/{event}"), None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app
        .send(
            Method::PUT,
            &format!("/api/admin/events/{event}"),
            Some(&admin),
            Some(&json!({ "published": true })),
        )
        .await;
    assert_eq!(
        (status, &body["event"]["published"]),
        (StatusCode::OK, &json!(true))
    );
}

#[tokio::test]
async fn the_message_to_waiting_fans_is_answered_and_pushed_when_it_changes() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // The ticket service on its own, so that this test watches its push hub.
    let infra =
        tiketi_core::Infra::with_pool(tiketi_tests::test_config(&[]), pool.clone()).expect("infra");
    let tokens = tiketi_core::testing::TestTokens::install(&infra);
    let state = tiketi_ticket::AppState::new(infra);
    let mut pushes = state.realtime.subscribe();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(tiketi_ticket::run(listener, state, shutdown.clone()));
    let client = reqwest::Client::new();
    let call = |method: Method, path: String, token: String, body: Option<Value>| {
        let mut request = client
            .request(method, format!("http://{addr}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("request");
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    // Queue on (the default), so the fan's join and status answers are the waiting room's.
    let event = queued_event(&pool).await;
    let settings = format!("/api/queue/admin/{event}/settings");

    let (status, body) = call(Method::GET, settings.clone(), admin.clone(), None).await;
    assert_eq!((status, &body["message"]), (StatusCode::OK, &Value::Null));
    let (status, body) = call(
        Method::PUT,
        settings.clone(),
        fan.clone(),
        Some(json!({ "message": "hi" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(
        Method::PUT,
        settings.clone(),
        admin.clone(),
        Some(json!({ "message": "x".repeat(501) })),
    )
    .await;
    assert_eq!(
        (
            status,
            body["code"].as_str(),
            body["fields"]["message"].is_string()
        ),
        (StatusCode::BAD_REQUEST, Some("validation_failed"), true),
        "{body}"
    );

    let note = "입장 곧 재개합니다 / Doors reopen soon";
    let (status, body) = call(
        Method::PUT,
        settings.clone(),
        admin.clone(),
        Some(json!({ "message": format!("  {note}  ") })),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(note))
    );
    let push = next_message(&mut pushes).await;
    assert_eq!(push.room, tiketi_ticket::realtime::Room::Queue(event));
    assert_eq!(push.payload, json!({ "eventId": event, "message": note }));

    let (status, body) = call(
        Method::POST,
        format!("/api/queue/check/{event}"),
        fan.clone(),
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(note)),
        "{body}"
    );
    let (status, body) = call(
        Method::GET,
        format!("/api/queue/status/{event}"),
        fan.clone(),
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(note)),
        "{body}"
    );

    // Another setting changed: no new push. Cleared with null: pushed as null, answered as null.
    let (status, _) = call(
        Method::PUT,
        settings.clone(),
        admin.clone(),
        Some(json!({ "threshold": 5 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        Method::PUT,
        settings.clone(),
        admin.clone(),
        Some(json!({ "message": null })),
    )
    .await;
    assert_eq!((status, &body["message"]), (StatusCode::OK, &Value::Null));
    let push = next_message(&mut pushes).await;
    assert_eq!(push.payload, json!({ "eventId": event, "message": null }));
    let (_, body) = call(
        Method::GET,
        format!("/api/queue/status/{event}"),
        fan.clone(),
        None,
    )
    .await;
    assert_eq!(body["message"], Value::Null, "{body}");

    shutdown.cancel();
    let _ = server.await;
}

/// An event on sale with its waiting room on (the default: no settings row).
async fn queued_event(pool: &PgPool) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO ticket.events (title, venue, event_date, sale_start_date, sale_end_date)
         VALUES ('Queue message test', 'Test hall', now() + interval '30 days',
                 now() - interval '1 hour', now() + interval '1 day')
         RETURNING id",
    )
    .fetch_one(pool)
    .await
    .expect("insert event")
}

/// The next `queue-message` push (others skipped), within ten seconds.
async fn next_message(
    pushes: &mut tokio::sync::broadcast::Receiver<tiketi_ticket::realtime::Push>,
) -> tiketi_ticket::realtime::Push {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let push = pushes.recv().await.expect("push channel open");
            if push.event == "queue-message" {
                return push;
            }
        }
    })
    .await
    .expect("a queue-message push")
}

/// A buyer account (the reservation lists read names and emails from auth.users).
async fn buyer(pool: &PgPool, id: Uuid, name: &str, email: &str) {
    sqlx::query(
        "INSERT INTO auth.users (id, email, name, password_hash, phone)
         VALUES ($1, $2, $3, 'x', '010-1234-5678')",
    )
    .bind(id)
    .bind(email)
    .bind(name)
    .execute(pool)
    .await
    .expect("insert buyer");
}

#[tokio::test]
async fn operators_search_reservations_by_buyer_or_number_and_open_one_in_full() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (kim, kim_token) = tokens.fan();
    let (lee, lee_token) = tokens.fan();
    buyer(&pool, kim.id, "김민지", "minji@example.com").await;
    buyer(&pool, lee.id, "Lee 100%", "lee@example.com").await;
    let event = event_on_sale(&pool).await;
    let standing = ticket_type(&pool, event, 10, 30000).await;
    let seat = seats(&pool, event, 1).await;
    let kims = created_id(reserve(&app, &kim_token, event, standing, 2).await).await;
    let lees = created_id(hold(&app, &lee_token, event, &seat).await).await;
    let number: String =
        sqlx::query_scalar("SELECT reservation_number FROM ticket.reservations WHERE id = $1")
            .bind(lees)
            .fetch_one(&pool)
            .await
            .unwrap();

    let search = |q: &str| {
        let url = reqwest::Url::parse_with_params(
            &app.url("/api/admin/reservations"),
            [("q", q), ("limit", "20")],
        )
        .unwrap();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let app = &app;
        let admin = admin.clone();
        async move {
            let (status, body) = app.send(Method::GET, &path, Some(&admin), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let ids: Vec<Uuid> = body["reservations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().parse().unwrap())
                .collect();
            assert_eq!(body["pagination"]["total"], json!(ids.len()), "{body}");
            (ids, body)
        }
    };
    let (ids, body) = search("민지").await;
    assert_eq!(ids, vec![kims]);
    assert_eq!(body["reservations"][0]["user_name"], "김민지");
    assert_eq!(body["reservations"][0]["user_email"], "minji@example.com");
    assert_eq!(search("MINJI@EXAMPLE").await.0, vec![kims]);
    assert_eq!(search(&number).await.0, vec![lees]);
    // `%` is a character, not a wildcard: only Lee's name has it.
    assert_eq!(search("100%").await.0, vec![lees]);
    assert!(search("nobody-like-this").await.0.is_empty());
    let (ids, _) = search("example.com").await;
    assert_eq!(ids.len(), 2);
    // The existing filters still apply beside it.
    let (status, body) = app
        .send(
            Method::GET,
            "/api/admin/reservations?status=confirmed&q=example.com",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, body["reservations"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, body) = app
        .send(
            Method::GET,
            &format!("/api/admin/reservations?q={}", "a".repeat(101)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );

    // The order view: lines, payment state and buyer.
    let (status, body) = app
        .send(
            Method::GET,
            &format!("/api/admin/reservations/{kims}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = &body["reservation"];
    assert_eq!(r["id"], json!(kims));
    assert_eq!(r["user_name"], "김민지");
    assert_eq!(r["user_email"], "minji@example.com");
    assert_eq!(r["user_phone"], "010-1234-5678");
    assert_eq!(r["payment_status"], "pending");
    assert_eq!(r["status"], "pending");
    assert_eq!(r["total_amount"], json!(60000));
    assert_eq!(r["items"][0]["quantity"], json!(2));
    assert_eq!(r["items"][0]["unitPrice"], json!(30000));

    // Fans are refused, unknown ids are 404, malformed ones 400.
    let (status, body) = app
        .send(
            Method::GET,
            &format!("/api/admin/reservations/{kims}"),
            Some(&kim_token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("admin_only"))
    );
    let (status, _) = app
        .send(
            Method::GET,
            "/api/admin/reservations?q=minji",
            Some(&kim_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .send(
            Method::GET,
            &format!("/api/admin/reservations/{}", Uuid::new_v4()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("reservation_not_found"))
    );
    let (status, _) = app
        .send(
            Method::GET,
            "/api/admin/reservations/not-a-uuid",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
