//! Contract tests for API.md, section "What the original clients rely on": the bullets about
//! accounts and sessions, error bodies, health probes and Google sign-in. Each test sends what
//! the original React client (`frontend/src` of the original repository) sends and reads the
//! fields it reads; each names the bullet it covers:
//! - **Users**: `user.userId` beside `id` in every answer with a user; a bad token to
//!   `/verify-token` is a 401.
//! - **Sessions**: the original client keeps one bearer token, never refreshes and signs out
//!   on the first 401: its sign-in lasts through a two-hour on-sale, and a revoked session is
//!   refused at once in every service.
//! - **Health**: `/health/db`, `/health/redis`, `/health/all` beside `/health` and `/ready`.
//! - **Payments** (its last clause, which holds for every service): error bodies carry `message`
//!   beside `error` and `code`.
//! - Google sign-in from the original client (issue 17, "Deliver"): the content security policy
//!   lets Google's sign-in button load when `GOOGLE_CLIENT_ID` is set, and only then.

mod queue_common;

use queue_common::SocketClient;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::idp::{FakeGoogle, GoogleUser};
use tiketi_tests::{RedisServer, TestApp, free_port};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

/// Registers `email` as the original client's sign-up page does; returns the answer.
async fn register(app: &TestApp, email: &str) -> Value {
    let (status, body) = app
        .send(
            Method::POST,
            "/api/auth/register",
            None,
            Some(&json!({"email": email, "password": PASSWORD, "name": "Kim Fan", "phone": "010-1234-5678"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Signs in as the original client does (`authAPI.login`); returns the answer, whose `token`
/// the client keeps in localStorage.
async fn login(app: &TestApp, email: &str) -> Value {
    let (status, body) = app
        .send(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn token_of(answer: &Value) -> String {
    answer["token"].as_str().expect("a token").to_owned()
}

/// Users: `userId` beside `id` in register, login, `/me`, `/verify-token` (with `name`) and
/// Google sign-in; a bad token to `/verify-token` is 401 `{valid: false}`.
#[tokio::test]
async fn users_every_answer_with_a_user_carries_user_id() {
    let db = test_db().await;
    let google = FakeGoogle::start().await;
    let settings = google.settings("http://{addr}/api/auth/google/callback");
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(db.pool.clone(), &overrides).await;

    let registered = register(&app, "userid@example.com").await;
    let id = registered["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(registered["user"]["userId"], id.as_str(), "{registered}");
    assert_eq!(registered["user"]["name"], "Kim Fan");
    assert_eq!(registered["user"]["role"], "user");

    let signed_in = login(&app, "userid@example.com").await;
    assert_eq!(signed_in["user"]["userId"], id.as_str(), "{signed_in}");
    assert_eq!(signed_in["user"]["id"], id.as_str());
    let token = token_of(&signed_in);

    let (status, me) = app
        .send(Method::GET, "/api/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["userId"], id.as_str(), "{me}");
    assert_eq!(me["user"]["email"], "userid@example.com");
    assert!(me["user"]["createdAt"].is_string(), "{me}");

    let (status, verified) = app
        .send(
            Method::POST,
            "/api/auth/verify-token",
            None,
            Some(&json!({"token": token})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["user"]["userId"], id.as_str(), "{verified}");
    assert_eq!(verified["user"]["name"], "Kim Fan");
    assert_eq!(verified["user"]["email"], "userid@example.com");
    assert_eq!(verified["user"]["role"], "user");

    for bad in ["x.y.z", "not-a-token", ""] {
        let (status, refused) = app
            .send(
                Method::POST,
                "/api/auth/verify-token",
                None,
                Some(&json!({"token": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:?}: {refused}");
        assert_eq!(refused["valid"], false);
        assert_eq!(refused["code"], "invalid_token");
        assert_eq!(refused["message"], refused["error"]);
    }

    let fan = GoogleUser {
        sub: format!("g-{}", Uuid::new_v4().simple()),
        email: "googler@example.com".to_owned(),
        email_verified: true,
        name: "Park Google".to_owned(),
    };
    let credential = google.id_token(&fan, &google.client_id, 600);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/auth/google",
            None,
            Some(&json!({"credential": credential})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].is_string(), "{body}");
    assert_eq!(body["user"]["userId"], body["user"]["id"], "{body}");
    assert!(body["user"]["userId"].is_string());
    assert_eq!(body["user"]["name"], "Park Google");
}

/// Every route the original client's fan uses after signing in, one per service, and the
/// Socket.IO connect: the status each answers `token` with. `admin` routes use `admin_token`.
struct Probe<'a> {
    app: &'a TestApp,
    event_id: Uuid,
}

impl Probe<'_> {
    /// Auth `/me`, ticket `/reservations/my`, payment `/payments/user/me`: their statuses.
    async fn fan_routes(&self, token: &str) -> Vec<(&'static str, StatusCode, Value)> {
        let mut out = Vec::new();
        for path in [
            "/api/auth/me",
            "/api/reservations/my",
            "/api/payments/user/me",
        ] {
            let (status, body) = self.app.send(Method::GET, path, Some(token), None).await;
            out.push((path, status, body));
        }
        out
    }

    /// Stats, as an admin.
    async fn stats(&self, token: &str) -> (StatusCode, Value) {
        self.app
            .send(Method::GET, "/api/stats/overview", Some(token), None)
            .await
    }

    /// Whether the official Socket.IO client connects with `token`.
    async fn socket_connects(&self, token: &str) -> (bool, Value) {
        let mut client = SocketClient::start(self.app, token, self.event_id, "never").await;
        let first = client
            .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
            .await
            .expect("the client reports its connection");
        (first["type"] == "connect", first)
    }

    async fn assert_signed_in(&self, fan: &str, admin: &str) {
        for (path, status, body) in self.fan_routes(fan).await {
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
        let (status, body) = self.stats(admin).await;
        assert_eq!(status, StatusCode::OK, "stats: {body}");
        let (connected, first) = self.socket_connects(fan).await;
        assert!(connected, "socket: {first}");
    }

    /// Every service refuses `token` with 401 and `code` (the original client then signs out),
    /// and the socket is refused at connect.
    async fn assert_refused(&self, token: &str, as_admin: bool, code: &str) {
        for (path, status, body) in self.fan_routes(token).await {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
            assert_eq!(body["code"], code, "{path}: {body}");
            assert_eq!(body["message"], body["error"], "{path}: {body}");
        }
        if as_admin {
            let (status, body) = self.stats(token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "stats: {body}");
            assert_eq!(body["code"], code, "stats: {body}");
        }
        let (connected, first) = self.socket_connects(token).await;
        assert!(!connected, "socket connected with a refused token: {first}");
    }
}

/// An operator account, signed in: the login answer.
async fn make_admin(app: &TestApp, email: &str) -> Value {
    tiketi_auth::admin::create_admin(&app.infra.db, email, Some("Ops"), PASSWORD, false)
        .await
        .expect("admin created");
    login(app, email).await
}

/// Sessions: a fan signed in with the original client (login, keep `token`, never refresh) is
/// still signed in after two hours of simulated time in every service and on Socket.IO; after
/// signing out with our route the same token is refused at once everywhere, with a 401.
#[tokio::test]
async fn sessions_an_old_client_stays_signed_in_through_a_two_hour_on_sale_and_logout_ends_it_at_once()
 {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let event_id = queue_common::event(&app.infra.db, -3600).await;
    let probe = Probe {
        app: &app,
        event_id,
    };
    register(&app, "longqueue@example.com").await;
    let signed_in = login(&app, "longqueue@example.com").await;
    let fan = token_of(&signed_in);
    let admin_answer = make_admin(&app, "ops@example.com").await;
    let admin = token_of(&admin_answer);

    // The on-sale: two hours pass; the old client never refreshes.
    app.advance_clock(2 * 3600);
    probe.assert_signed_in(&fan, &admin).await;
    // Our lifetime, announced to our client: long enough for the old one too.
    assert!(
        signed_in["expiresIn"].as_u64().unwrap() >= 2 * 3600,
        "{signed_in}"
    );

    // Sign out with our route (our web client sends its refresh token).
    let (status, body) = app
        .send(
            Method::POST,
            "/api/auth/logout",
            None,
            Some(&json!({"refreshToken": signed_in["refreshToken"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    probe.assert_refused(&fan, false, "session_revoked").await;
    // The same for an admin's token: stats refuses it at once too.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/auth/logout",
            None,
            Some(&json!({"refreshToken": admin_answer["refreshToken"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    probe.assert_refused(&admin, true, "session_revoked").await;
    // `/verify-token` says so too.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/auth/verify-token",
            None,
            Some(&json!({"token": fan})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "session_revoked");
}

/// Sessions: promoting an account to admin (`tiketi admin create` on an existing account) ends
/// its sessions: the token the old client kept is refused at once in every service.
#[tokio::test]
async fn sessions_admin_promotion_ends_the_accounts_sessions_at_once() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let event_id = queue_common::event(&app.infra.db, -3600).await;
    let probe = Probe {
        app: &app,
        event_id,
    };
    let fan = token_of(&register(&app, "squatter@example.com").await);
    let admin = token_of(&make_admin(&app, "ops@example.com").await);
    probe.assert_signed_in(&fan, &admin).await;

    // What `tiketi admin create --email squatter@example.com --promote-unverified` does.
    let outcome = tiketi_auth::admin::create_admin(
        &app.infra.db,
        "squatter@example.com",
        None,
        "a brand new passphrase",
        true,
    )
    .await
    .unwrap();
    tiketi_auth::admin::publish_ended_sessions(&app.infra.redis, &outcome)
        .await
        .unwrap();
    // The old token would now even carry the wrong role: refused, never an admin.
    probe.assert_refused(&fan, true, "session_revoked").await;
}

/// Sessions: a token past its lifetime is refused (401 `token_expired`) in every service.
#[tokio::test]
async fn sessions_a_token_past_its_lifetime_is_refused() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let event_id = queue_common::event(&app.infra.db, -3600).await;
    let probe = Probe {
        app: &app,
        event_id,
    };
    register(&app, "late@example.com").await;
    let signed_in = login(&app, "late@example.com").await;
    let admin = token_of(&make_admin(&app, "ops@example.com").await);
    let lifetime = signed_in["expiresIn"].as_i64().unwrap();
    app.advance_clock(lifetime + 60);
    probe
        .assert_refused(&token_of(&signed_in), false, "token_expired")
        .await;
    probe.assert_refused(&admin, true, "token_expired").await;
}

/// Sessions (finding: logout with the bearer alone): the original client signs out with the
/// one thing it keeps, its bearer token, and no refresh token (none, `{}`, or one it made up).
/// That ends the token's sign-in at once in every service and on Socket.IO; the account's other
/// sign-ins stay. A logout with nothing to end is not answered "signed out".
#[tokio::test]
async fn sessions_logout_with_only_the_bearer_token_ends_that_session() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let event_id = queue_common::event(&app.infra.db, -3600).await;
    let probe = Probe {
        app: &app,
        event_id,
    };
    register(&app, "bearer@example.com").await;
    let other_device = token_of(&login(&app, "bearer@example.com").await);
    for body in [
        None,
        Some(json!({})),
        Some(json!({"refreshToken": "garbage"})),
    ] {
        // The original client keeps `token` only.
        let fan = token_of(&login(&app, "bearer@example.com").await);
        let (status, answer) = app
            .send(Method::POST, "/api/auth/logout", Some(&fan), body.as_ref())
            .await;
        assert_eq!(status, StatusCode::OK, "{body:?}: {answer}");
        probe.assert_refused(&fan, false, "session_revoked").await;
        // Signing out again with it: nothing is left to end, and the answer says why.
        let (status, again) = app
            .send(Method::POST, "/api/auth/logout", Some(&fan), body.as_ref())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:?}: {again}");
        assert_eq!(again["code"], "session_revoked", "{again}");
    }
    // Only the signed-out sign-ins ended.
    let (status, me) = app
        .send(Method::GET, "/api/auth/me", Some(&other_device), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");

    // Nothing to end: no token at all, or only a made-up refresh token.
    for body in [
        None,
        Some(json!({})),
        Some(json!({"refreshToken": "garbage"})),
    ] {
        let (status, answer) = app
            .send(Method::POST, "/api/auth/logout", None, body.as_ref())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:?}: {answer}");
        let expected = if body.is_some_and(|b| b.get("refreshToken").is_some()) {
            "invalid_refresh_token"
        } else {
            "nothing_to_sign_out"
        };
        assert_eq!(answer["code"], expected, "{answer}");
        assert_eq!(answer["message"], answer["error"], "{answer}");
    }
    // A token that names no session (minted for tests and load generators) cannot be ended by
    // a logout, and the answer says so instead of "signed out".
    let (_, sessionless) = app.tokens().fan();
    let (status, answer) = app
        .send(Method::POST, "/api/auth/logout", Some(&sessionless), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["code"], "no_session", "{answer}");
}

/// The official Socket.IO client driven line by line (`tests/socketio/session.mjs`): it sends
/// each `[event, eventId]` written to it and prints the ack.
struct DrivenSocket {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stdin: tokio::process::ChildStdin,
    /// Lines read past while looking for another, in order.
    skipped: Vec<Value>,
    _child: tokio::process::Child,
}

impl DrivenSocket {
    /// Connects as `token`; returns once connected.
    async fn connect(app: &TestApp, token: &str) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new("node")
            .arg(tiketi_tests::workspace_root().join("tests/socketio/session.mjs"))
            .args([app.url("").trim_end_matches('/'), token])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node is installed");
        let mut socket = Self {
            lines: tokio::io::BufReader::new(child.stdout.take().unwrap()).lines(),
            stdin: child.stdin.take().unwrap(),
            skipped: Vec::new(),
            _child: child,
        };
        let first = socket.next(|_| true).await.expect("the client reports");
        assert_eq!(first["type"], "connect", "{first}");
        socket
    }

    /// The next line satisfying `pred` (those read past before first), or `None` once the
    /// client ended.
    async fn next(&mut self, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.skipped.iter().position(&pred) {
            return Some(self.skipped.remove(i));
        }
        while let Ok(Some(line)) = self.lines.next_line().await {
            let value: Value = serde_json::from_str(&line).expect("the client prints JSON");
            if pred(&value) {
                return Some(value);
            }
            self.skipped.push(value);
        }
        None
    }

    /// Sends `event` with `{eventId}`; returns its ack.
    async fn emit(&mut self, event: &str, event_id: Uuid) -> Value {
        use tokio::io::AsyncWriteExt;
        let line = format!("{}\n", json!([event, event_id]));
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        let ack = self
            .next(|v| (v["type"] == "ack" || v["type"] == "no-ack") && v["event"] == event)
            .await
            .expect("the client reports the ack");
        ack["data"].clone()
    }
}

/// Sessions (finding: sockets outlived their session): a socket connected before its sign-in
/// ended is refused at its next action: `join-queue`, `join-event` and `join-seat-selection`
/// are answered `session_revoked` (ack and `request-refused`), and the server disconnects it.
/// A socket that only waits in the queue room is disconnected by the next presence round, so
/// it no longer keeps the signed-out session's place alive.
#[tokio::test]
async fn sessions_a_socket_connected_before_logout_is_refused_and_disconnected() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let event_id = queue_common::event(&app.infra.db, -3600).await;
    register(&app, "socket@example.com").await;
    let signed_in = login(&app, "socket@example.com").await;
    let fan = token_of(&signed_in);
    let mut sockets = Vec::new();
    for event in ["join-queue", "join-event", "join-seat-selection"] {
        let mut socket = DrivenSocket::connect(&app, &fan).await;
        // Not the queue room yet: only the join after logout may decide this socket's fate.
        let ack = socket.emit("join-event", event_id).await;
        assert_eq!(ack["ok"], true, "join-event before logout: {ack}");
        sockets.push((event, socket));
    }
    let mut waiting = DrivenSocket::connect(&app, &fan).await;
    let ack = waiting.emit("join-queue", event_id).await;
    assert_eq!(ack["ok"], true, "join-queue before logout: {ack}");

    let (status, body) = app
        .send(
            Method::POST,
            "/api/auth/logout",
            None,
            Some(&json!({"refreshToken": signed_in["refreshToken"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for (event, mut socket) in sockets {
        let ack = socket.emit(event, event_id).await;
        assert_eq!(ack["ok"], false, "{event} after logout: {ack}");
        assert_eq!(ack["code"], "session_revoked", "{event}: {ack}");
        let told = socket
            .next(|v| v["type"] == "event" && v["event"] == "request-refused")
            .await
            .expect("request-refused");
        assert_eq!(told["data"]["code"], "session_revoked", "{told}");
        assert_eq!(told["data"]["event"], event, "{told}");
        let gone = socket.next(|v| v["type"] == "disconnect").await;
        assert!(gone.is_some(), "{event}: the socket stays connected");
    }
    // The socket that sends nothing more: gone within a presence round (the client gives up
    // after 30 s and prints `timeout` instead).
    let gone = waiting
        .next(|v| v["type"] == "disconnect" || v["type"] == "timeout")
        .await;
    assert_eq!(
        gone.as_ref().map(|v| v["type"].clone()),
        Some(json!("disconnect")),
        "the waiting socket stays connected: {gone:?}"
    );
}

/// Sessions (finding: sockets in event and seat-map rooms outlived their session): a socket
/// that joined the seat map and the event, then only listens, is disconnected within a
/// presence round of its sign-in ending, instead of receiving other fans' seat selections until
/// it sends something (the client gives up after 30 s and prints `timeout`).
#[tokio::test]
async fn sessions_a_listening_socket_in_event_rooms_is_disconnected_after_logout() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let event_id = queue_common::event(&app.infra.db, -3600).await;
    register(&app, "listener@example.com").await;
    let signed_in = login(&app, "listener@example.com").await;
    let fan = token_of(&signed_in);
    let mut socket = DrivenSocket::connect(&app, &fan).await;
    for event in ["join-seat-selection", "join-event"] {
        let ack = socket.emit(event, event_id).await;
        assert_eq!(ack["ok"], true, "{event} before logout: {ack}");
    }
    let (status, body) = app
        .send(Method::POST, "/api/auth/logout", Some(&fan), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gone = tokio::time::timeout(
        std::time::Duration::from_secs(40),
        socket.next(|v| v["type"] == "disconnect" || v["type"] == "timeout"),
    )
    .await
    .expect("the client reports within its own time limit");
    assert_eq!(
        gone.as_ref().map(|v| v["type"].clone()),
        Some(json!("disconnect")),
        "the listening socket stays connected after logout: {gone:?}"
    );
}

/// Sessions (finding: a repeated logout with an ended refresh token was answered "signed
/// out"): the first logout with the refresh cookie (same-site `Origin`) or the body's
/// `refreshToken` is 200; every repeat with the same, now ended, refresh token alone is
/// 401 `session_revoked`, as a repeat with the bearer token is.
#[tokio::test]
async fn sessions_logout_again_with_an_ended_refresh_token_is_refused() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    register(&app, "twice@example.com").await;
    let origin = app.url("").trim_end_matches('/').to_owned();

    // The refresh cookie, as our web client sends it from this site.
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "twice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pair = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    for round in 0..3 {
        let logout = app
            .client
            .post(app.url("/api/auth/logout"))
            .header("cookie", &pair)
            .header("origin", &origin)
            .send()
            .await
            .unwrap();
        let status = logout.status();
        let body: Value = logout.json().await.unwrap();
        if round == 0 {
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["message"], "signed out", "{body}");
        } else {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "cookie, round {round}: {body}"
            );
            assert_eq!(body["code"], "session_revoked", "{body}");
        }
    }

    // The body's `refreshToken`.
    let signed_in = login(&app, "twice@example.com").await;
    for round in 0..3 {
        let (status, body) = app
            .send(
                Method::POST,
                "/api/auth/logout",
                None,
                Some(&json!({"refreshToken": signed_in["refreshToken"]})),
            )
            .await;
        if round == 0 {
            assert_eq!(status, StatusCode::OK, "{body}");
        } else {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "body, round {round}: {body}"
            );
            assert_eq!(body["code"], "session_revoked", "{body}");
            assert_eq!(body["message"], body["error"], "{body}");
        }
    }
}

/// Every key of this test's Redis namespace deleted: what a `FLUSHALL` or a Redis restart
/// without persistence does to it (the shared Redis serves other tests too).
async fn flush_namespace(app: &TestApp) {
    let mut conn = app.infra.redis.conn().await.unwrap();
    let pattern = format!("{}*", app.infra.redis.prefix());
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

/// Sessions: Redis losing the revocation list never brings a revoked session back: until auth
/// publishes it again session tokens are 503 (`auth_unavailable`, with `Retry-After`), and
/// after it the revoked one is 401 again while a live one works.
#[tokio::test]
async fn sessions_a_revoked_session_stays_refused_after_redis_is_flushed() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    register(&app, "flush@example.com").await;
    let ended = login(&app, "flush@example.com").await;
    let live = token_of(&login(&app, "flush@example.com").await);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/auth/logout",
            None,
            Some(&json!({"refreshToken": ended["refreshToken"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ended = token_of(&ended);

    flush_namespace(&app).await;
    for token in [&ended, &live] {
        let response = app
            .client
            .get(app.url("/api/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "auth_unavailable", "{body}");
    }

    // What auth does at start and whenever its sync finds the list gone.
    let (published, _) = tiketi_auth::revocation::republish(&app.infra.db, &app.infra.redis)
        .await
        .unwrap();
    assert!(published >= 1);
    let (status, body) = app
        .send(Method::GET, "/api/auth/me", Some(&ended), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_revoked")),
        "{body}"
    );
    let (status, body) = app
        .send(Method::GET, "/api/reservations/my", Some(&live), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The periodic sync notices a lost list by itself.
    flush_namespace(&app).await;
    tiketi_auth::revocation::sync(&app.infra.db, &app.infra.redis, Some(chrono::Utc::now()))
        .await
        .unwrap();
    let (status, _) = app
        .send(Method::GET, "/api/auth/me", Some(&ended), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Sessions: a revocation that could not reach Redis when it happened (`tiketi admin create`
/// run where Redis is unreachable) is published by auth's periodic sync from Postgres.
#[tokio::test]
async fn sessions_a_revocation_redis_missed_is_published_by_the_periodic_sync() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let fan = token_of(&register(&app, "missed@example.com").await);
    let before: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&app.infra.db)
        .await
        .unwrap();
    // Promoted, its sessions ended in Postgres, nothing told Redis.
    tiketi_auth::admin::create_admin(
        &app.infra.db,
        "missed@example.com",
        None,
        "a brand new passphrase",
        true,
    )
    .await
    .unwrap();
    let (status, _) = app
        .send(Method::GET, "/api/auth/me", Some(&fan), None)
        .await;
    assert_eq!(status, StatusCode::OK, "nothing published yet");
    // The next periodic look (every 10 s in a running auth service).
    tiketi_auth::revocation::sync(&app.infra.db, &app.infra.redis, Some(before))
        .await
        .unwrap();
    for path in [
        "/api/auth/me",
        "/api/reservations/my",
        "/api/payments/user/me",
    ] {
        let (status, body) = app.send(Method::GET, path, Some(&fan), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("session_revoked")),
            "{path}: {body}"
        );
    }
}

/// Sessions (Redis down) and Health: with Redis stopped, a session token is answered 503
/// `auth_unavailable` with `Retry-After` (never accepted unchecked), and the original's probes
/// say which dependency is down.
#[tokio::test]
async fn sessions_and_health_with_redis_down() {
    let db = test_db().await;
    let mut redis = RedisServer::start(free_port()).await;
    let url = redis.url();
    let app = TestApp::spawn_with(db.pool.clone(), &[("REDIS_URL", &url)]).await;
    let token = token_of(&register(&app, "outage@example.com").await);
    let (status, _) = app
        .send(Method::GET, "/api/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let all = app.get("/health/all").await;
    assert_eq!(all.status(), StatusCode::OK);
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["status"], "ok", "{all}");

    redis.stop().await;
    for path in [
        "/api/auth/me",
        "/api/reservations/my",
        "/api/payments/user/me",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(response.headers().contains_key("retry-after"), "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "auth_unavailable", "{path}: {body}");
        assert_eq!(body["message"], body["error"]);
    }

    let db_probe = app.get("/health/db").await;
    assert_eq!(db_probe.status(), StatusCode::OK);
    let db_probe: Value = db_probe.json().await.unwrap();
    assert_eq!(db_probe["status"], "ok");
    assert_eq!(db_probe["service"], "database");

    let redis_probe = app.get("/health/redis").await;
    assert_eq!(redis_probe.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(redis_probe.headers().contains_key("retry-after"));
    let redis_probe: Value = redis_probe.json().await.unwrap();
    assert_eq!(redis_probe["status"], "error", "{redis_probe}");
    assert_eq!(redis_probe["service"], "redis");
    assert!(redis_probe["message"].is_string());

    let all = app.get("/health/all").await;
    assert_eq!(all.status(), StatusCode::SERVICE_UNAVAILABLE);
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["status"], "degraded", "{all}");
    assert_eq!(all["checks"]["database"]["status"], "ok");
    assert_eq!(all["checks"]["redis"]["status"], "error");
    assert_eq!(all["checks"]["server"]["status"], "ok");

    // Redis back, empty (it keeps nothing on disk): the revocation list is gone, so session
    // tokens stay 503 until auth publishes it again (its periodic sync, run here directly).
    let _redis = RedisServer::start(redis.port).await;
    let mut answered = StatusCode::OK;
    for _ in 0..50 {
        answered = app
            .send(Method::GET, "/api/auth/me", Some(&token), None)
            .await
            .0;
        if answered == StatusCode::SERVICE_UNAVAILABLE {
            // The list is missing (or the connection is still being opened again).
            let redis_up = app.infra.redis.ping().await.is_ok();
            if redis_up {
                break;
            }
        }
    }
    assert_eq!(answered, StatusCode::SERVICE_UNAVAILABLE);
    tiketi_auth::revocation::sync(&app.infra.db, &app.infra.redis, Some(chrono::Utc::now()))
        .await
        .unwrap();
    let (status, body) = app
        .send(Method::GET, "/api/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Health: the original's probes in their shapes, in the all-in-one binary and in each service
/// binary's router.
#[tokio::test]
async fn health_the_originals_probes_answer_beside_ours() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let mut bases = vec![app.url("")];
    for service in [
        tiketi_core::Service::Auth,
        tiketi_core::Service::Ticket,
        tiketi_core::Service::Payment,
        tiketi_core::Service::Stats,
    ] {
        let infra =
            tiketi_core::Infra::with_pool(tiketi_core::testing::test_config(&[]), db.pool.clone())
                .unwrap();
        let router = match service {
            tiketi_core::Service::Auth => tiketi_auth::router(tiketi_auth::AppState::new(infra)),
            tiketi_core::Service::Ticket => {
                tiketi_ticket::router(tiketi_ticket::AppState::new(infra))
            }
            tiketi_core::Service::Payment => {
                tiketi_payment::router(tiketi_payment::AppState::new(infra))
            }
            tiketi_core::Service::Stats => tiketi_stats::router(tiketi_stats::AppState::new(infra)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        bases.push(format!("http://{addr}"));
    }
    for base in &bases {
        let get = |path: &str| app.client.get(format!("{base}{path}")).send();
        for (path, service) in [("/health/db", "database"), ("/health/redis", "redis")] {
            let response = get(path).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{base}{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], "ok", "{base}{path}: {body}");
            assert_eq!(body["service"], service);
            let time = body["responseTime"].as_str().unwrap();
            assert!(
                time.ends_with("ms") && time.trim_end_matches("ms").parse::<u64>().is_ok(),
                "{time}"
            );
        }
        let response = get("/health/all").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{base}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok", "{body}");
        assert_eq!(body["checks"]["database"]["status"], "ok");
        assert_eq!(body["checks"]["redis"]["status"], "ok");
        assert!(body["checks"]["server"]["uptime"].is_number());
        assert!(body["timestamp"].is_string());
        // Ours stay.
        assert_eq!(get("/health").await.unwrap().status(), StatusCode::OK);
        assert_eq!(get("/ready").await.unwrap().status(), StatusCode::OK);
    }
}

/// Error `message` (API.md, Payments bullet; every service): each error body carries
/// `message`, the same text as `error`, beside `code`, whichever service or layer answers.
#[tokio::test]
async fn error_bodies_carry_message_beside_error_and_code() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let fan = token_of(&register(&app, "errors@example.com").await);
    let raw_post = |path: &str, body: &'static str| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let mut answers: Vec<(String, StatusCode, Value)> = Vec::new();
    let mut push = |what: &str, status: StatusCode, body: Value| {
        answers.push((what.to_owned(), status, body));
    };
    // Auth: wrong password (401), malformed JSON (400).
    let (s, b) = app
        .send(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({"email": "errors@example.com", "password": "wrong wrong wrong"})),
        )
        .await;
    push("login", s, b);
    let r = raw_post("/api/auth/login", "{not json").await.unwrap();
    push("bad json", r.status(), r.json().await.unwrap());
    // Ticket: a malformed id (400), an unknown event (404).
    let (s, b) = app
        .send(Method::GET, "/api/events/not-a-uuid", None, None)
        .await;
    push("bad id", s, b);
    let (s, b) = app
        .send(
            Method::GET,
            &format!("/api/events/{}", Uuid::new_v4()),
            None,
            None,
        )
        .await;
    push("no event", s, b);
    // Payment: no token (401). Stats: a fan (403).
    let (s, b) = app
        .send(Method::GET, "/api/payments/user/me", None, None)
        .await;
    push("payment without token", s, b);
    let (s, b) = app
        .send(Method::GET, "/api/stats/overview", Some(&fan), None)
        .await;
    push("stats as a fan", s, b);
    // The fallbacks: an unknown route (404), a wrong method (405).
    let (s, b) = app
        .send(Method::GET, "/api/no-such-route", None, None)
        .await;
    push("no route", s, b);
    let (s, b) = app
        .send(Method::DELETE, "/api/auth/login", None, None)
        .await;
    push("wrong method", s, b);
    let expected = [
        StatusCode::UNAUTHORIZED,
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::NOT_FOUND,
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED,
    ];
    for ((what, status, body), want) in answers.iter().zip(expected) {
        assert_eq!(*status, want, "{what}: {body}");
        let error = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert!(!error.is_empty());
        assert_eq!(body["message"], error, "{what}: {body}");
        assert!(body["code"].is_string(), "{what}: {body}");
    }

    // The rate limiters answer 429 in the same shape.
    let limited = TestApp::spawn_with(db.pool.clone(), &[("RATE_LIMIT_IP_PER_MINUTE", "2")]).await;
    let mut saw = None;
    for _ in 0..10 {
        let (status, body) = limited.send(Method::GET, "/api/events", None, None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            saw = Some(body);
            break;
        }
    }
    let body = saw.expect("the IP limit refuses within 10 requests");
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["message"], body["error"], "{body}");
}

/// Google sign-in from the original client: its button loads Google Identity Services
/// (`https://accounts.google.com/gsi/client`) into the page `tiketi` serves; the content
/// security policy allows exactly what that needs when `GOOGLE_CLIENT_ID` is set, and
/// nothing of Google's without it.
#[tokio::test]
async fn google_csp_allows_the_sign_in_button_only_when_google_is_configured() {
    let db = test_db().await;
    let csp_of = |app: &TestApp| {
        let url = app.url("/");
        let client = app.client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let directive = |csp: &str, name: &str| -> Vec<String> {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(|d| d.split_whitespace().skip(1).map(str::to_owned).collect())
            .unwrap_or_default()
    };

    let plain = TestApp::spawn(db.pool.clone()).await;
    let csp = csp_of(&plain).await;
    assert!(!csp.contains("accounts.google.com"), "{csp}");

    let google = TestApp::spawn_with(
        db.pool.clone(),
        &[("GOOGLE_CLIENT_ID", "1234-test.apps.googleusercontent.com")],
    )
    .await;
    let csp = csp_of(&google).await;
    let has = |name: &str, source: &str| directive(&csp, name).iter().any(|s| s == source);
    assert!(
        has("script-src", "https://accounts.google.com/gsi/client"),
        "{csp}"
    );
    assert!(
        has("frame-src", "https://accounts.google.com/gsi/"),
        "{csp}"
    );
    assert!(
        has("connect-src", "https://accounts.google.com/gsi/"),
        "{csp}"
    );
    assert!(
        has("style-src", "https://accounts.google.com/gsi/style"),
        "{csp}"
    );
    // Nothing more of Google's: no whole-host source, no other directive.
    for d in csp.split(';').map(str::trim) {
        for source in d.split_whitespace().skip(1) {
            if source.contains("google") {
                assert!(
                    source.starts_with("https://accounts.google.com/gsi/"),
                    "{source} in {d}"
                );
            }
        }
    }
    for d in ["img-src", "form-action", "default-src", "object-src"] {
        assert!(
            !directive(&csp, d).iter().any(|s| s.contains("google")),
            "{d}: {csp}"
        );
    }
    // The rest of the policy is the same as without Google.
    let strip = |csp: &str| -> Vec<String> {
        csp.split(';')
            .map(|d| {
                d.split_whitespace()
                    .filter(|s| !s.contains("accounts.google.com"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(strip(&csp), strip(&csp_of(&plain).await));
}
