//! Rate limits, CORS and security headers, against the real server.

mod queue_common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tiketi_core::testing::{test_db, unique_redis_prefix};
use tiketi_tests::TestApp;

/// The `Retry-After` of a 429, checked to be a small positive number of seconds.
fn retry_after(response: &reqwest::Response) -> u64 {
    let secs: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    secs
}

async fn get_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.expect("request sent")
}

#[tokio::test]
async fn a_client_past_its_allowance_gets_429_with_retry_after_and_a_code() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool, &[("RATE_LIMIT_IP_PER_MINUTE", "5")]).await;
    for i in 0..5 {
        let response = get_from(&app, "/api/events", None).await;
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
    }
    let refused = get_from(&app, "/api/events", None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    retry_after(&refused);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited", "{body}");
    // Without a trusted proxy, X-Forwarded-For is the client's own claim: it changes nothing.
    let spoofed = get_from(&app, "/api/events", Some("203.0.113.77")).await;
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    // Probes are outside the limits: a throttled client does not make the pod look dead.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(
        pool,
        &[
            ("RATE_LIMIT_IP_PER_MINUTE", "2"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let first = Some("203.0.113.1");
    for _ in 0..2 {
        assert_eq!(
            get_from(&app, "/api/events", first).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        get_from(&app, "/api/events", first).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A client-supplied entry left of the proxy's own is not believed: the right-most
    // untrusted address (the one the proxy saw) is the client.
    assert_eq!(
        get_from(&app, "/api/events", Some("198.51.100.9, 203.0.113.1"))
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get_from(&app, "/api/events", Some("203.0.113.2"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn queue_joins_are_limited_per_fan_not_per_address() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("RATE_LIMIT_QUEUE_JOIN_PER_MINUTE", "2")]).await;
    let event_id = queue_common::event(&pool, -60).await;
    let tokens = app.tokens();
    let (_, fan) = tokens.fan();
    for _ in 0..2 {
        let (status, body) = queue_common::join(&app, &fan, event_id).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = queue_common::join(&app, &fan, event_id).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited");
    // The same fan can still ask for its status; another fan on the same address joins.
    let (status, _) = app
        .send(
            Method::GET,
            &format!("/api/queue/status/{event_id}"),
            Some(&fan),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, other) = tokens.fan();
    let (status, body) = queue_common::join(&app, &other, event_id).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn sign_in_attempts_per_account_are_counted_across_replicas() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // Two auth processes of one deployment: same database, same Redis key prefix.
    let prefix = unique_redis_prefix();
    let settings = [
        ("AUTH_LOGIN_PER_MINUTE_ACCOUNT", "3"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let a = TestApp::spawn_with(pool.clone(), &settings).await;
    let b = TestApp::spawn_with(pool, &settings).await;
    let (status, body) = a
        .send(
            Method::POST,
            "/api/auth/register",
            None,
            Some(&json!({"email": "spread@example.com", "password": "correct horse battery", "name": "Kim"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let guess = json!({"email": "spread@example.com", "password": "guess guess guess"});
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b] {
        let (status, _) = app
            .send(Method::POST, "/api/auth/login", None, Some(&guess))
            .await;
        statuses.push(status);
    }
    // Each process alone saw two attempts, under its allowance of 3; together they saw four.
    assert_eq!(
        statuses,
        vec![
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Even the right password waits now, from this address: the count is per account and
    // client address (another address is not slowed: see auth's
    // `a_strangers_wrong_guesses_do_not_lock_the_fan_out`).
    let (status, _) = b
        .send(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({"email": "spread@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn registration_is_limited_per_address() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool, &[("AUTH_LOGIN_PER_MINUTE_IP", "2")]).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let (status, _) = app
            .send(
                Method::POST,
                "/api/auth/register",
                None,
                Some(&json!({"email": format!("bot{i}@example.com"), "password": "correct horse battery", "name": "Bot"})),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        vec![
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // The rest of the API is not affected by the stricter sign-up limit.
    assert_eq!(app.get("/api/events").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn browsers_from_configured_origins_pass_cors_and_others_do_not() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(
        pool,
        &[("SOCKET_IO_CORS_ORIGIN", "https://tickets.example.com")],
    )
    .await;
    let preflight = |origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/seats/reserve"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://tickets.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://tickets.example.com"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // A simple request from the allowed origin names it once (no layer adds it twice).
    let simple = app
        .client
        .get(app.url("/api/events"))
        .header("origin", "https://tickets.example.com")
        .send()
        .await
        .unwrap();
    let values: Vec<_> = simple
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(values, vec!["https://tickets.example.com"]);
    let socket = app
        .client
        .get(app.url("/socket.io/?EIO=4&transport=polling"))
        .header("origin", "https://tickets.example.com")
        .send()
        .await
        .unwrap();
    let values: Vec<_> = socket
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(values, vec!["https://tickets.example.com"]);
}

#[tokio::test]
async fn the_web_client_is_served_with_security_headers() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    for path in ["/", "/js/app.js", "/events/some-event"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp} lacks {part}");
        }
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["referrer-policy"],
            "strict-origin-when-cross-origin"
        );
    }
    // The page itself has no inline script the policy would block.
    let page = app.get("/").await.text().await.unwrap();
    assert!(!page.contains("onclick="), "inline handler in index.html");
    assert!(!page.contains("<script>"), "inline script in index.html");
    // API answers are JSON that must not be sniffed into anything else.
    let api = app.get("/api/events").await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}
