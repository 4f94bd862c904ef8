//! The foundation, end to end on a real server: probes, the path table, error shapes, the web
//! client, migrations and demo data.

use serde_json::Value;
use tiketi_core::paths::{PATH_TABLE, Service};
use tiketi_core::testing::{empty_test_db, test_db};
use tiketi_tests::{RedisServer, TestApp, free_port};

#[tokio::test]
async fn health_and_ready_answer_when_postgres_and_redis_are_up() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");
}

#[tokio::test]
async fn ready_goes_503_while_redis_is_down_and_recovers_without_a_restart() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let mut redis = RedisServer::start(free_port()).await;
    let url = redis.url();
    let app = TestApp::spawn_with(pool, &[("REDIS_URL", &url)]).await;
    assert_eq!(app.get("/ready").await.status(), 200);

    redis.stop().await;
    let down = app.get("/ready").await;
    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["code"], "not_ready");
    assert_eq!(body["checks"]["postgres"], "ok");
    assert!(
        body["checks"]["redis"]
            .as_str()
            .unwrap()
            .starts_with("unavailable")
    );

    let _redis = RedisServer::start(redis.port).await;
    // The pool notices the dead connections and dials again on the next request.
    let mut status = 0;
    for _ in 0..5 {
        status = app.get("/ready").await.status().as_u16();
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "/ready did not recover after Redis came back");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_request_counts() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    assert_eq!(app.get("/api/events").await.status(), 200);
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("service=\"ticket\"")
            && l.contains("route=\"/api/events\"")),
        "no request counter for /api/events in:\n{text}"
    );
    assert!(text.contains("db_pool_connections"));
}

#[tokio::test]
async fn every_prefix_of_the_path_table_reaches_its_service() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    for (_, prefixes) in PATH_TABLE {
        for prefix in *prefixes {
            if *prefix == "/socket.io" {
                continue; // Socket.IO answers its own protocol, not JSON errors.
            }
            let response = app.get(&format!("{prefix}/no/such/route/here")).await;
            assert_eq!(response.status(), 404, "{prefix}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["code"], "route_not_found",
                "{prefix} fell through to the web client"
            );
        }
    }
    // The service label on the request counters shows which router answered.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for service in Service::ALL {
        assert!(
            metrics.contains(&format!("service=\"{}\"", service.name())),
            "{service:?} answered no request"
        );
    }
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s_and_other_paths_get_the_web_client() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let api = app.get("/api/nothing").await;
    assert_eq!(api.status(), 404);
    assert_eq!(
        api.json::<Value>().await.unwrap()["code"],
        "route_not_found"
    );

    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<title>Tiketi</title>"));
    // Client-side routes fall back to the same page.
    let deep = app.get("/events/some-event").await;
    assert_eq!(deep.status(), 200);
    assert!(deep.text().await.unwrap().contains("<title>Tiketi</title>"));
}

#[tokio::test]
async fn responses_carry_a_request_id_and_keep_the_callers() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let minted = app.get("/health").await;
    let id = minted.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID request id: {id}");
    let kept = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "req-from-the-alb-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "req-from-the-alb-123");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_code() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    for (path, status, code) in [
        ("/api/events/not-a-uuid", 400, "invalid_id"),
        ("/api/events?page=abc", 400, "invalid_query"),
        ("/api/events?limit=0", 400, "invalid_query"),
        ("/api/events?limit=-1", 400, "invalid_query"),
        ("/api/events?status=bogus", 400, "invalid_query"),
        (
            "/api/events/00000000-0000-0000-0000-000000000000",
            404,
            "event_not_found",
        ),
        (
            "/api/seats/events/00000000-0000-0000-0000-000000000000",
            404,
            "event_not_found",
        ),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{path}");
        assert!(body["error"].is_string(), "{path}");
    }
    let wrong_method = app
        .client
        .delete(app.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_twice() {
    let db = empty_test_db().await;
    let pool = db.pool.clone();
    tiketi_core::db::migrate(&pool).await.expect("first run");
    tiketi_core::db::migrate(&pool).await.expect("second run");
    let layouts: Vec<(String, i32)> =
        sqlx::query_as("SELECT name, total_seats FROM ticket.seat_layouts ORDER BY total_seats")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        layouts,
        vec![
            ("small_theater".to_owned(), 265),
            ("large_theater".to_owned(), 1250),
            ("sports_stadium".to_owned(), 4900)
        ]
    );
}

#[tokio::test]
async fn the_schema_refuses_oversell() {
    let db = test_db().await;
    let pool = db.pool.clone();
    tiketi_ticket::demo::seed_demo(&pool).await.unwrap();
    let oversell = sqlx::query(
        "UPDATE ticket.ticket_types SET available_quantity = available_quantity - (total_quantity + 1)",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert_eq!(
        oversell.as_database_error().unwrap().constraint(),
        Some("ticket_types_available_quantity_check")
    );
    let holderless =
        sqlx::query("UPDATE ticket.seats SET status = 'held' WHERE seat_label = 'VIP-1-1'")
            .execute(&pool)
            .await
            .unwrap_err();
    assert_eq!(
        holderless.as_database_error().unwrap().constraint(),
        Some("seats_holder_matches_status")
    );
}

#[tokio::test]
async fn demo_data_is_seeded_once_and_shows_in_the_api() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let first = tiketi_ticket::demo::seed_demo(&pool).await.unwrap();
    assert_eq!(first.events_created, 2);
    assert_eq!(first.seats_created, 265);
    let again = tiketi_ticket::demo::seed_demo(&pool).await.unwrap();
    assert_eq!(again.events_created, 0);
    assert_eq!(again.seats_created, 0);

    let app = TestApp::spawn(pool).await;
    let list: Value = app.get("/api/events").await.json().await.unwrap();
    assert_eq!(list["pagination"]["total"], 2);
    let concert = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == tiketi_ticket::demo::DEMO_CONCERT)
        .expect("the demo concert is listed");
    assert_eq!(concert["status"], "on_sale");
    assert_eq!(concert["min_price"], 110000);
    assert_eq!(concert["max_price"], 150000);

    let on_sale: Value = app
        .get("/api/events?status=on_sale")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on_sale["pagination"]["total"], 1);

    // English finds the Korean artist name through the keyword table.
    let search: Value = app
        .get("/api/events?q=Han%20River%20Orchestra")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(search["pagination"]["total"], 1);
    assert_eq!(
        search["events"][0]["title"],
        tiketi_ticket::demo::DEMO_FESTIVAL
    );
    // Wildcards in the query are literal.
    let wildcard: Value = app.get("/api/events?q=%25").await.json().await.unwrap();
    assert_eq!(wildcard["pagination"]["total"], 0);

    let id = concert["id"].as_str().unwrap();
    let map: Value = app
        .get(&format!("/api/seats/events/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(map["seats"].as_array().unwrap().len(), 265);
    assert_eq!(map["layout"]["sections"].as_array().unwrap().len(), 2);
    assert_eq!(map["seats"][0]["status"], "available");

    let detail: Value = app
        .get(&format!("/api/events/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["event"]["title"], tiketi_ticket::demo::DEMO_CONCERT);
    assert!(detail["event"]["seat_layout_id"].is_string());
    assert!(detail["ticketTypes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn admin_create_makes_an_argon2_admin_and_is_safe_to_repeat() {
    let db = test_db().await;
    let pool = db.pool.clone();
    use tiketi_auth::admin::{AdminOutcome, create_admin};
    let created = create_admin(
        &pool,
        " Ops@Tiketi.Example ",
        None,
        "a long admin passphrase",
        false,
    )
    .await
    .unwrap();
    let AdminOutcome::Created(id) = created else {
        panic!("expected a new account, got {created:?}")
    };
    // Running it again on the admin it made needs no flag, though nobody verified the address.
    let again = create_admin(
        &pool,
        "ops@tiketi.example",
        None,
        "another long passphrase",
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        AdminOutcome::Promoted {
            id,
            sessions_revoked: 0,
            google_unlinked: false,
            ended_sessions: vec![],
        }
    );
    let (email, role, hash): (String, String, String) =
        sqlx::query_as("SELECT email, role, password_hash FROM auth.users WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(email, "ops@tiketi.example");
    assert_eq!(role, "admin");
    assert!(hash.starts_with("$argon2id$"));
    assert!(tiketi_auth::domain::password::verify(
        "another long passphrase",
        &hash
    ));
    assert!(
        create_admin(&pool, "weak@tiketi.example", None, "password", false)
            .await
            .is_err()
    );
}
