//! The auth service on a real server: accounts, tokens, refresh rotation, key rotation, login
//! throttling, Google sign-in both ways against a stand-in provider, and tokens minted by auth
//! accepted (and foreign ones refused) by the ticket, payment and stats services running alone.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::auth::{AuthUser, Role, SigningKey};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use tiketi_tests::idp::{FakeGoogle, GoogleUser};
use tiketi_tests::smtp::FakeSmtp;

async fn post(app: &TestApp, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
    app.send(reqwest::Method::POST, path, token, Some(&body))
        .await
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    app.send(reqwest::Method::GET, path, token, None).await
}

async fn register(app: &TestApp, email: &str) -> Value {
    let (status, body) = post(
        app,
        "/api/auth/register",
        json!({"email": email, "password": "correct horse battery", "name": "Kim Fan"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test]
async fn a_fan_registers_signs_in_and_reads_their_account() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let registered = register(&app, "  Kim.Fan@Example.COM ").await;
    assert_eq!(registered["user"]["email"], "kim.fan@example.com");
    assert_eq!(registered["user"]["role"], "user");
    assert!(registered["token"].as_str().unwrap().split('.').count() == 3);
    assert!(registered["refreshToken"].is_string());

    let (status, login) = post(
        &app,
        "/api/auth/login",
        json!({"email": "KIM.FAN@example.com", "password": "correct horse battery"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login["message"], "signed in");
    let token = login["token"].as_str().unwrap();

    let (status, me) = get(&app, "/api/auth/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["email"], "kim.fan@example.com");
    assert_eq!(me["user"]["name"], "Kim Fan");
    assert!(me["user"]["createdAt"].is_string());

    let (status, missing) = get(&app, "/api/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing["code"], "missing_token");
}

#[tokio::test]
async fn a_second_account_with_the_same_email_is_a_conflict() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    register(&app, "dup@example.com").await;
    let (status, body) = post(
        &app,
        "/api/auth/register",
        json!({"email": "DUP@example.com", "password": "another long password", "name": "Other"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "email_taken");
}

#[tokio::test]
async fn bad_registrations_are_400s_naming_the_fields() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let (status, body) = post(
        &app,
        "/api/auth/register",
        json!({"email": "not-an-email", "password": "short", "name": "", "phone": "call me"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "validation_failed");
    for field in ["email", "password", "name", "phone"] {
        assert!(
            body["fields"][field].is_string(),
            "{field} not named in {body}"
        );
    }
    let (status, body) = post(
        &app,
        "/api/auth/register",
        json!({"email": "a@example.com", "password": "password123", "name": "A"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["fields"]["password"]
            .as_str()
            .unwrap()
            .contains("common")
    );
    let (status, body) = post(&app, "/api/auth/register", json!({"email": 5}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_body");
}

/// The original React client's sign-up page lets a 6-character password through and shows only
/// the answer's `error` (it never reads `fields`): that text must say what is wrong.
#[tokio::test]
async fn a_refused_registration_says_why_in_error_and_message_not_only_in_fields() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    let (status, body) = post(
        &app,
        "/api/auth/register",
        json!({"email": "six@example.com", "password": "abc123", "name": "Six"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "validation_failed");
    let reason = body["fields"]["password"].as_str().expect("password named");
    for key in ["error", "message"] {
        let text = body[key].as_str().unwrap_or_default();
        assert!(
            text.contains("password") && text.contains(reason),
            "{key} does not say why: {body}"
        );
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    register(&app, "real@example.com").await;
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..3 {
        let started = Instant::now();
        let (status, body) = post(
            &app,
            "/api/auth/login",
            json!({"email": "real@example.com", "password": format!("wrong password {i}")}),
            None,
        )
        .await;
        wrong.push(started.elapsed());
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        bodies.push(body);
        let started = Instant::now();
        let (status, body) = post(
            &app,
            "/api/auth/login",
            json!({"email": format!("nobody{i}@example.com"), "password": "whatever it is"}),
            None,
        )
        .await;
        unknown.push(started.elapsed());
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "answers differ: {bodies:?}"
    );
    assert_eq!(bodies[0]["code"], "invalid_credentials");
    // Both paths run argon2: an unknown email must not be answered in a fraction of the time.
    wrong.sort();
    unknown.sort();
    let (w, u) = (wrong[1], unknown[1]);
    assert!(
        u * 2 >= w && w * 2 >= u,
        "median wrong-password {w:?} vs unknown-email {u:?}"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_family() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let first = register(&app, "rotate@example.com").await["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, second) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": first}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let second_token = second["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second_token, first);
    assert_eq!(
        get(&app, "/api/auth/me", second["token"].as_str()).await.0,
        StatusCode::OK
    );

    // The first token again: somebody else has it. Both it and its successor stop working.
    let (status, reused) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": first}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused["code"], "refresh_token_reused");
    let (status, after) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": second_token}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(after["code"], "invalid_refresh_token");

    let (status, body) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": "made-up"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_refresh_token");
}

#[tokio::test]
async fn the_refresh_cookie_works_and_logout_revokes_it() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let response = app
        .client
        .post(app.url("/api/auth/register"))
        .json(&json!({"email": "cookie@example.com", "password": "correct horse battery", "name": "C"}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/api/auth")
    );
    let pair = cookie.split(';').next().unwrap().to_owned();

    let refreshed = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let next_pair = refreshed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let logout = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("cookie", &next_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("cookie", &next_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn verify_token_tells_valid_from_invalid() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let token = register(&app, "verify@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = post(
        &app,
        "/api/auth/verify-token",
        json!({"token": token}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true);
    assert_eq!(body["user"]["email"], "verify@example.com");
    let (status, body) = post(
        &app,
        "/api/auth/verify-token",
        json!({"token": "x.y.z"}),
        None,
    )
    .await;
    // A 401, as the original answered a bad token.
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "invalid_token");
}

#[tokio::test]
async fn tokens_from_other_keys_expired_or_tampered_are_401() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let registered = register(&app, "victim@example.com").await;
    let user = AuthUser {
        id: registered["user"]["id"].as_str().unwrap().parse().unwrap(),
        email: "victim@example.com".to_owned(),
        role: Role::Admin,
    };
    let forger = SigningKey::generate().unwrap();
    let (status, body) = get(&app, "/api/auth/me", Some(&forger.mint(&user, 60).unwrap())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );

    let real = registered["token"].as_str().unwrap();
    let tampered = format!("{}x", &real[..real.len() - 1]);
    assert_eq!(
        get(&app, "/api/auth/me", Some(&tampered)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let now = chrono::Utc::now().timestamp();
    let expired_token = app
        .tokens()
        .key()
        .mint_claims(&tiketi_core::auth::Claims {
            sub: user.id.to_string(),
            user_id: user.id,
            email: user.email.clone(),
            role: Role::User,
            iss: tiketi_core::auth::ISSUER.to_owned(),
            aud: tiketi_core::auth::AUDIENCE.to_owned(),
            iat: now - 3600,
            exp: now - 1800,
            jti: "old".to_owned(),
            sid: None,
        })
        .unwrap();
    let (status, body) = get(&app, "/api/auth/me", Some(&expired_token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_expired"))
    );
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_publishes_both_keys() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let old_token = register(&app, "rotation@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, jwks) = get(&app, "/api/auth/.well-known/jwks.json", None).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let old_kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "the JWKS leaks a private key"
    );

    let new_kid = tiketi_auth::keys::KeyStore::rotate(&pool, 900)
        .await
        .unwrap();
    // A new server process sees the rotation at once (a running one within its reload time).
    let app = TestApp::spawn(pool).await;
    let (_, jwks) = get(&app, "/api/auth/.well-known/jwks.json", None).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );

    assert_eq!(
        get(&app, "/api/auth/me", Some(&old_token)).await.0,
        StatusCode::OK
    );
    let (_, login) = post(
        &app,
        "/api/auth/login",
        json!({"email": "rotation@example.com", "password": "correct horse battery"}),
        None,
    )
    .await;
    let header = jsonwebtoken::decode_header(login["token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_with_429() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool, &[("AUTH_LOGIN_PER_MINUTE_ACCOUNT", "3")]).await;
    register(&app, "target@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": "target@example.com", "password": "guess guess guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry));
        }
    }
    assert_eq!(
        statuses,
        vec![
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Another account from the same place is not locked by it.
    let (status, _) = post(
        &app,
        "/api/auth/login",
        json!({"email": "someone-else@example.com", "password": "guess guess guess"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn google_user(email: &str, verified: bool) -> GoogleUser {
    GoogleUser {
        sub: format!("g-{}", uuid::Uuid::new_v4().simple()),
        email: email.to_owned(),
        email_verified: verified,
        name: "Lee Google".to_owned(),
    }
}

async fn app_with_google(pool: PgPool) -> (TestApp, FakeGoogle) {
    let google = FakeGoogle::start().await;
    let settings = google.settings("http://{addr}/api/auth/google/callback");
    let overrides: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(pool, &overrides).await;
    (app, google)
}

#[tokio::test]
async fn google_id_tokens_sign_in_create_and_link_only_verified_emails() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let (app, google) = app_with_google(pool).await;

    let newcomer = google_user("newcomer@gmail.example", true);
    let credential = google.id_token(&newcomer, &google.client_id, 600);
    let (status, body) = post(
        &app,
        "/api/auth/google",
        json!({"credential": credential}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["email"], "newcomer@gmail.example");
    assert!(
        body["user"]["picture"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    // Signing in again finds the same account.
    let (_, again) = post(
        &app,
        "/api/auth/google",
        json!({"credential": credential}),
        None,
    )
    .await;
    assert_eq!(again["user"]["id"], body["user"]["id"]);

    // An existing password account: an unverified Google email must not take it over...
    let owner_id = register(&app, "owner@example.com").await["user"]["id"].clone();
    let impostor = google_user("owner@example.com", false);
    let (status, refused) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&impostor, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["code"], "google_email_unverified");
    // ...a verified one is linked to it.
    let owner = google_user("owner@example.com", true);
    let (status, linked) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&owner, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(linked["user"]["id"], owner_id);

    // Wrong audience, expired, or garbage: 401.
    for credential in [
        google.id_token(&newcomer, "someone-elses-client-id", 600),
        google.id_token(&newcomer, &google.client_id, -3600),
        "not-a-jwt".to_owned(),
    ] {
        let (status, body) = post(
            &app,
            "/api/auth/google",
            json!({"credential": credential}),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "invalid_google_token");
    }
}

#[tokio::test]
async fn the_google_code_flow_uses_pkce_and_state_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let (app, google) = app_with_google(pool).await;
    google.sign_in_as(google_user("flow@gmail.example", true));

    let start = app.get("/api/auth/google/start?returnTo=/my/tickets").await;
    assert_eq!(start.status(), StatusCode::FOUND);
    // The browser keeps the cookie that binds the sign-in to it.
    let binding = set_cookie(&start, "tiketi_google_binding").expect("binding cookie");
    let to_google = reqwest::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = to_google.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], google.client_id);
    assert!(query.contains_key("state") && query.contains_key("nonce"));

    // The browser goes to Google, which sends it back with a code.
    let at_google = app.client.get(to_google).send().await.unwrap();
    assert_eq!(at_google.status(), StatusCode::FOUND);
    let back = at_google.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&app.url("/api/auth/google/callback")));

    let callback = app
        .client
        .get(&back)
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), StatusCode::FOUND);
    assert_eq!(callback.headers()["location"], "/my/tickets");
    let cookie = set_cookie(&callback, "tiketi_refresh").expect("refresh cookie");
    let refreshed = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    assert_eq!(body["user"]["email"], "flow@gmail.example");

    // Replaying the callback: the state was used up.
    let replay = app
        .client
        .get(&back)
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["code"],
        "invalid_oauth_state"
    );
    assert_eq!(google.token_requests(), 1);

    // Open redirects are refused: the return path stays on this site.
    let (back, cookies) = google_flow_to_callback(&app, "//evil.example/").await;
    let callback = app
        .client
        .get(&back)
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.headers()["location"], "/");
}

#[tokio::test]
async fn google_sign_in_is_a_clear_404_when_not_configured() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool).await;
    let (status, body) = post(&app, "/api/auth/google", json!({"credential": "x"}), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "google_sign_in_disabled");
    let (status, body) = get(&app, "/api/auth/config", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["google"],
        json!({"enabled": false, "redirect": false, "clientId": null})
    );
}

/// The public config says whether Google sign-in is on, without starting a sign-in (the web
/// client used to probe `/google/start`, which leaves a pending login behind each time).
#[tokio::test]
async fn the_auth_config_tells_a_client_which_sign_ins_are_on() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let (app, google) = app_with_google(pool.clone()).await;
    let (status, body) = get(&app, "/api/auth/config", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["password"], true);
    assert_eq!(
        body["google"],
        json!({"enabled": true, "redirect": true, "clientId": google.client_id})
    );
    // Only an ID-token setup (no secret, no redirect URL): Google is on, the redirect is not.
    let id_only =
        TestApp::spawn_with(pool, &[("GOOGLE_CLIENT_ID", google.client_id.as_str())]).await;
    let (_, body) = get(&id_only, "/api/auth/config", None).await;
    assert_eq!(body["google"]["enabled"], true);
    assert_eq!(body["google"]["redirect"], false);
}

/// Each service as its own process would run it: its own router and its own verifier, which
/// learns auth's keys only from auth's JWKS over HTTP.
async fn spawn_service(pool: &PgPool, service: tiketi_core::Service, jwks_url: &str) -> String {
    spawn_service_with(pool, service, jwks_url, &[]).await
}

/// [`spawn_service`] with more configuration.
async fn spawn_service_with(
    pool: &PgPool,
    service: tiketi_core::Service,
    jwks_url: &str,
    overrides: &[(&str, &str)],
) -> String {
    // One Redis namespace per test database, shared by the test's services as a deployment's
    // services share `REDIS_KEY_PREFIX` (the revoked-session list is read by all of them).
    let prefix = format!(
        "test:{}:",
        pool.connect_options().get_database().unwrap_or("db")
    );
    let mut all = vec![("JWT_JWKS_URL", jwks_url)];
    all.extend_from_slice(overrides);
    all.push(("REDIS_KEY_PREFIX", prefix.as_str()));
    let config = tiketi_core::testing::test_config(&all);
    let infra = tiketi_core::Infra::with_pool(config, pool.clone()).unwrap();
    // What auth publishes at start; idempotent, so every service may do it here.
    tiketi_auth::revocation::republish(&infra.db, &infra.redis)
        .await
        .unwrap();
    let router = match service {
        tiketi_core::Service::Auth => tiketi_auth::router(tiketi_auth::AppState::new(infra)),
        tiketi_core::Service::Ticket => tiketi_ticket::router(tiketi_ticket::AppState::new(infra)),
        tiketi_core::Service::Payment => {
            tiketi_payment::router(tiketi_payment::AppState::new(infra))
        }
        tiketi_core::Service::Stats => tiketi_stats::router(tiketi_stats::AppState::new(infra)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn tokens_minted_by_auth_are_accepted_by_every_service_and_others_refused() {
    let db = test_db().await;
    let pool = db.pool.clone();
    use tiketi_core::Service;
    let auth = spawn_service(&pool, Service::Auth, "http://127.0.0.1:9/unused").await;
    let jwks_url = format!("{auth}/api/auth/.well-known/jwks.json");
    let client = tiketi_core::outbound::client(Duration::from_secs(30));
    let registered: Value = client
        .post(format!("{auth}/api/auth/register"))
        .json(&json!({"email": "admin-to-be@example.com", "password": "correct horse battery", "name": "Op"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Promote, then sign in again: the role travels in the token.
    tiketi_auth::admin::create_admin(
        &pool,
        "admin-to-be@example.com",
        None,
        "correct horse battery",
        true,
    )
    .await
    .unwrap();
    let login: Value = client
        .post(format!("{auth}/api/auth/login"))
        .json(&json!({"email": "admin-to-be@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let user = AuthUser {
        id: registered["user"]["id"].as_str().unwrap().parse().unwrap(),
        email: "admin-to-be@example.com".to_owned(),
        role: Role::Admin,
    };
    let forged = SigningKey::generate().unwrap().mint(&user, 600).unwrap();

    for (service, path) in [
        (Service::Ticket, "/api/reservations/my"),
        (Service::Payment, "/api/payments/user/me"),
        (Service::Stats, "/api/stats/overview"),
        (Service::Auth, "/api/auth/me"),
    ] {
        let base = spawn_service(&pool, service, &jwks_url).await;
        let accepted = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            accepted.status(),
            StatusCode::OK,
            "{service:?} refused auth's token"
        );
        let refused = client
            .get(format!("{base}{path}"))
            .bearer_auth(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "{service:?} accepted a forged token"
        );
        let fan: Value = client
            .post(format!("{auth}/api/auth/register"))
            .json(&json!({
                "email": format!("fan-{}@example.com", service.name()),
                "password": "correct horse battery",
                "name": "F"
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let fan_token = fan["token"].as_str().unwrap();
        let as_fan = client
            .get(format!("{base}{path}"))
            .bearer_auth(fan_token)
            .send()
            .await
            .unwrap();
        let expected = if service == Service::Stats {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(as_fan.status(), expected, "{service:?} as a fan");
    }
}

#[tokio::test]
async fn a_retired_key_is_refused_by_a_payment_service_running_alone_within_its_refresh_without_a_restart()
 {
    let db = test_db().await;
    let pool = db.pool.clone();
    use tiketi_core::Service;
    let refresh = [("JWT_JWKS_REFRESH_SECS", "1")];
    let auth =
        spawn_service_with(&pool, Service::Auth, "http://127.0.0.1:9/unused", &refresh).await;
    let jwks_url = format!("{auth}/api/auth/.well-known/jwks.json");
    let payment = spawn_service_with(&pool, Service::Payment, &jwks_url, &refresh).await;
    let client = tiketi_core::outbound::client(Duration::from_secs(30));
    let register = |email: &'static str| {
        let client = client.clone();
        let auth = auth.clone();
        async move {
            let body: Value = client
                .post(format!("{auth}/api/auth/register"))
                .json(&json!({"email": email, "password": "correct horse battery", "name": "F"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let leaked = register("leaked@example.com").await;
    let my_payments = |token: String| {
        let client = client.clone();
        let url = format!("{payment}/api/payments/user/me");
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The payment service learned the key and trusts it.
    assert_eq!(my_payments(leaked.clone()).await, StatusCode::OK);
    let kid = jsonwebtoken::decode_header(&leaked).unwrap().kid.unwrap();

    tiketi_auth::keys::KeyStore::retire(&pool, &kid)
        .await
        .unwrap();
    // Within the refresh interval (1 s here, plus auth's own reload), with no restart, the
    // payment service refuses the unexpired token the retired key signed.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = my_payments(leaked.clone()).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            Instant::now() < deadline,
            "the payment service still accepts a token signed by a retired key"
        );
        // Polling a condition with a deadline (a few requests a second, well under the rate
        // limits).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jwks: Value = client
        .get(&jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != kid.as_str()),
        "the JWKS still publishes the retired key: {jwks}"
    );
    // Auth signs with a new key, which the payment service accepts.
    let fresh = register("fresh@example.com").await;
    assert_ne!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.unwrap(),
        kid
    );
    assert_eq!(my_payments(fresh).await, StatusCode::OK);
}

/// The `name=value` part of the `Set-Cookie` header naming `name`, if any.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")))
}

/// Runs the Google redirect flow up to Google's redirect back: returns the callback URL and the
/// cookies `/start` set in the browser that started it.
async fn google_flow_to_callback(app: &TestApp, return_to: &str) -> (String, Vec<String>) {
    let start = app
        .client
        .get(app.url("/api/auth/google/start"))
        .query(&[("returnTo", return_to)])
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::FOUND, "returnTo {return_to:?}");
    let cookies: Vec<String> = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let to_google = start.headers()["location"].to_str().unwrap().to_owned();
    let at_google = app.client.get(to_google).send().await.unwrap();
    assert_eq!(at_google.status(), StatusCode::FOUND);
    let back = at_google.headers()["location"].to_str().unwrap().to_owned();
    (back, cookies)
}

/// Login CSRF: the attacker starts a Google sign-in in their own browser, stops at Google's
/// redirect back, and makes the victim's browser open it. The callback must refuse a browser
/// that did not start the flow, or the victim ends up signed in to the attacker's account.
#[tokio::test]
async fn a_google_callback_is_refused_in_a_browser_that_did_not_start_the_sign_in() {
    let db = test_db().await;
    let (app, google) = app_with_google(db.pool.clone()).await;
    google.sign_in_as(google_user("attacker@gmail.example", true));
    // The victim's browser either never started a sign-in, or started one of its own (so it
    // has a binding cookie, just not the attacker's); then it is sent to the attacker's callback.
    let (_, victim_cookies) = google_flow_to_callback(&app, "/").await;
    for cookies in [vec![], victim_cookies] {
        let (back, _attacker_cookies) = google_flow_to_callback(&app, "/").await;
        let mut request = app.client.get(&back);
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        let forced = request.send().await.unwrap();
        assert_eq!(forced.status(), StatusCode::BAD_REQUEST);
        assert!(
            set_cookie(&forced, "tiketi_refresh").is_none_or(|c| c == "tiketi_refresh="),
            "a session was handed to a browser that did not start the sign-in"
        );
        assert_eq!(
            forced.json::<Value>().await.unwrap()["code"],
            "oauth_state_mismatch"
        );
    }

    // The browser that started it still finishes its own sign-in.
    google.sign_in_as(google_user("fan@gmail.example", true));
    let (back, cookies) = google_flow_to_callback(&app, "/my/tickets?tab=1").await;
    let finished = app
        .client
        .get(&back)
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::FOUND);
    assert_eq!(finished.headers()["location"], "/my/tickets?tab=1");
    assert!(set_cookie(&finished, "tiketi_refresh").is_some());
}

/// `returnTo` must be a plain path on this site: browsers strip tabs and newlines and treat a
/// backslash as a slash, so `/%09/evil.example` becomes `//evil.example`, another site.
#[tokio::test]
async fn google_return_paths_that_a_browser_would_read_as_another_site_go_home() {
    let db = test_db().await;
    let (app, google) = app_with_google(db.pool.clone()).await;
    let fan = google_user("ret@gmail.example", true);
    for hostile in [
        "/%09/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/%0a/evil.example",
        "/%2F/evil.example",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        "/\\evil.example",
        "//evil.example/",
        "/ok//evil.example",
        "https://evil.example/",
        "%2F%2Fevil.example",
        "/ /evil.example",
        "/%20/evil.example",
        "/%00/evil.example",
    ] {
        google.sign_in_as(fan.clone());
        let (back, cookies) = google_flow_to_callback(&app, hostile).await;
        let callback = app
            .client
            .get(&back)
            .header("cookie", cookies.join("; "))
            .send()
            .await
            .unwrap();
        assert_eq!(callback.status(), StatusCode::FOUND, "{hostile:?}");
        assert_eq!(callback.headers()["location"], "/", "{hostile:?}");
    }
}

/// Account takeover through Google: anyone may register a fan's email with a password (the
/// address was never proven). When the fan later signs in with Google, the account is theirs:
/// the squatter's password and sessions must stop working.
#[tokio::test]
async fn google_sign_in_to_an_unverified_password_account_ends_the_squatters_password_and_sessions()
{
    let db = test_db().await;
    let pool = db.pool.clone();
    let google = FakeGoogle::start().await;
    let smtp = FakeSmtp::start().await;
    let smtp_url = smtp.url();
    let mut overrides: Vec<(&str, String)> =
        google.settings("http://{addr}/api/auth/google/callback");
    overrides.push(("SMTP_URL", smtp_url));
    overrides.push(("MAIL_FROM", "Tiketi <no-reply@tiketi.example>".to_owned()));
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(pool.clone(), &overrides).await;
    let squatter = register(&app, "victim@example.com").await;
    let squatter_refresh = squatter["refreshToken"].as_str().unwrap().to_owned();

    let victim = google_user("victim@example.com", true);
    let (status, signed_in) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&victim, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user"]["id"], squatter["user"]["id"]);

    let (status, body) = post(
        &app,
        "/api/auth/login",
        json!({"email": "victim@example.com", "password": "correct horse battery"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": squatter_refresh}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(squatter["user"]["emailVerified"], false);
    assert_eq!(signed_in["user"]["emailVerified"], true);
    // The address's owner is told why the password no longer works.
    let mails = smtp.wait_for("victim@example.com", 2).await;
    let notice = mails
        .iter()
        .map(|m| m.text())
        .find(|t| t.contains("linked"))
        .expect("a notice of the Google link");
    assert!(
        notice.contains("password") && notice.contains("removed"),
        "{notice}"
    );
    // The fan's own Google session works.
    let (status, _) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": signed_in["refreshToken"]}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // An account whose owner proved the address keeps its password when Google is linked.
    register(&app, "proven@example.com").await;
    sqlx::query("UPDATE auth.users SET email_verified = true WHERE email = 'proven@example.com'")
        .execute(&pool)
        .await
        .unwrap();
    let proven = google_user("proven@example.com", true);
    let (status, _) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&proven, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &app,
        "/api/auth/login",
        json!({"email": "proven@example.com", "password": "correct horse battery"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mails = smtp.wait_for("proven@example.com", 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.text().contains("linked") && m.text().contains("as before")),
        "the owner of a proven account is told of the link"
    );
}

async fn app_with_mail(pool: PgPool) -> (TestApp, FakeSmtp) {
    let smtp = FakeSmtp::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(
        pool,
        &[
            ("SMTP_URL", url.as_str()),
            ("MAIL_FROM", "Tiketi <no-reply@tiketi.example>"),
            ("PUBLIC_URL", "http://{addr}"),
        ],
    )
    .await;
    (app, smtp)
}

/// Opens a mailed verification link as a browser (or a mail scanner) would, checks that doing so
/// only sends it to the web client's confirmation page, then confirms as the page's button does.
async fn confirm_link(app: &TestApp, link: &str) -> (StatusCode, Value) {
    let token = link.split("token=").nth(1).unwrap().to_owned();
    for method in [reqwest::Method::HEAD, reqwest::Method::GET] {
        let opened = app.client.request(method, link).send().await.unwrap();
        assert_eq!(opened.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            opened.headers()["location"],
            format!("/#/verify-email?token={token}").as_str()
        );
    }
    post(app, "/api/auth/verify-email", json!({"token": token}), None).await
}

#[tokio::test]
async fn a_password_account_verifies_its_email_through_the_mailed_link() {
    let db = test_db().await;
    let (app, smtp) = app_with_mail(db.pool.clone()).await;
    let registered = register(&app, "Mailed@Example.com").await;
    assert_eq!(registered["user"]["emailVerified"], false);
    let token = registered["token"].as_str().unwrap().to_owned();

    let mail = smtp.wait_for("mailed@example.com", 1).await;
    assert!(
        !mail[0].text().contains("correct horse battery"),
        "a password went into a mail"
    );
    let link = mail[0]
        .link_containing("/api/auth/verify-email?token=")
        .expect("the mail carries a verification link");
    assert!(
        link.starts_with(&app.url("/api/auth/verify-email?token=")),
        "{link}"
    );

    // Opening the link (a browser, or a scanner fetching it) changes nothing until the fan
    // confirms on the page it opens.
    let (_, me) = get(&app, "/api/auth/me", Some(&token)).await;
    assert_eq!(me["user"]["emailVerified"], false);
    let (status, body) = confirm_link(&app, &link).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = get(&app, "/api/auth/me", Some(&token)).await;
    assert_eq!(me["user"]["emailVerified"], true);
    // Used once; a second use is refused.
    let used = link.split("token=").nth(1).unwrap().to_owned();
    let (status, body) = post(&app, "/api/auth/verify-email", json!({"token": used}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_verification_token");
    let (status, body) = post(
        &app,
        "/api/auth/verify-email/resend",
        json!({}),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "email_already_verified");

    // A fan who lost the first mail asks for another and verifies with the API call.
    let other = register(&app, "resend@example.com").await;
    let other_token = other["token"].as_str().unwrap().to_owned();
    smtp.wait_for("resend@example.com", 1).await;
    let (status, body) = post(
        &app,
        "/api/auth/verify-email/resend",
        json!({}),
        Some(&other_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mails = smtp.wait_for("resend@example.com", 2).await;
    let link = mails[1]
        .link_containing("/api/auth/verify-email?token=")
        .unwrap();
    let fresh = link.split("token=").nth(1).unwrap().to_owned();
    let (status, body) = post(
        &app,
        "/api/auth/verify-email",
        json!({"token": fresh}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["emailVerified"], true);
    assert_eq!(body["user"]["email"], "resend@example.com");
    // Asking again at once is a 409 now (verified), and a signed-out caller is a 401.
    let (status, _) = post(&app, "/api/auth/verify-email/resend", json!({}), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = post(
        &app,
        "/api/auth/verify-email",
        json!({"token": "made-up"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_verification_token");
}

/// Registration must not tell a stranger which emails have accounts any more than the contract
/// forces (register signs a new account in, so a taken address cannot get the same answer):
/// the refusal names nothing about the account, takes as long as a registration, and the
/// address's owner is told someone tried.
#[tokio::test]
async fn registering_a_taken_email_tells_its_owner_and_reveals_nothing_else() {
    let db = test_db().await;
    let (app, smtp) = app_with_mail(db.pool.clone()).await;
    register(&app, "owner@example.com").await;
    smtp.wait_for("owner@example.com", 1).await;

    let mut fresh = Vec::new();
    let mut taken = Vec::new();
    for i in 0..3 {
        let started = Instant::now();
        let (status, _) = post(
            &app,
            "/api/auth/register",
            json!({"email": format!("new{i}@example.com"), "password": "another long password", "name": "N"}),
            None,
        )
        .await;
        fresh.push(started.elapsed());
        assert_eq!(status, StatusCode::CREATED);
        let started = Instant::now();
        let (status, body) = post(
            &app,
            "/api/auth/register",
            json!({"email": "OWNER@example.com", "password": format!("attacker password {i}"), "name": "Mallory"}),
            None,
        )
        .await;
        taken.push(started.elapsed());
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        // Nothing about the account: the code and the sentence (`message` repeats `error`).
        assert_eq!(keys, ["code", "error", "message"], "{body}");
        assert_eq!(body["message"], body["error"]);
    }
    fresh.sort();
    taken.sort();
    let (f, t) = (fresh[1], taken[1]);
    assert!(
        t * 2 >= f && f * 2 >= t,
        "median new-email {f:?} vs taken-email {t:?}"
    );

    // The owner hears about it (once per attempt), and nothing of the attempt's password.
    let mails = smtp.wait_for("owner@example.com", 4).await;
    let notice = mails[1].text();
    assert!(notice.contains("register"), "{notice}");
    assert!(!notice.contains("attacker password"), "{notice}");
    assert!(
        mails[1].link_containing("/api/auth/verify-email").is_none(),
        "the notice must not carry a verification link the attacker could want"
    );
}

/// Finding 10 in full: with `REGISTRATION_MODE=verify-first` registration answers the same
/// whether or not the address has an account (status, body, and no account until the link), so
/// it reveals nothing; the address's owner gets a notice, a new address a link that creates the
/// account, verified. (In the default mode registration must sign the fan in, as the original
/// clients expect, so a taken address cannot get the same answer; see SECURITY.md.)
#[tokio::test]
async fn in_verify_first_mode_registration_answers_alike_for_taken_and_new_addresses() {
    let db = test_db().await;
    let smtp = FakeSmtp::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(
        db.pool.clone(),
        &[
            ("SMTP_URL", url.as_str()),
            ("MAIL_FROM", "Tiketi <no-reply@tiketi.example>"),
            ("PUBLIC_URL", "http://{addr}"),
            ("REGISTRATION_MODE", "verify-first"),
        ],
    )
    .await;
    // An existing account (made with the admin command: no registration route makes one here).
    tiketi_auth::admin::create_admin(
        &db.pool,
        "taken@example.com",
        Some("Owner"),
        "the owners long password",
        true,
    )
    .await
    .expect("an existing account");

    let attempt = |email: &str, password: &str| {
        post(
            &app,
            "/api/auth/register",
            json!({"email": email, "password": password, "name": "Someone"}),
            None,
        )
    };
    let (taken_status, taken_body) = attempt("Taken@Example.com", "an attackers password").await;
    let (new_status, new_body) = attempt("Fresh@Example.com", "a new fans password").await;
    assert_eq!(taken_status, StatusCode::ACCEPTED, "{taken_body}");
    assert_eq!(new_status, StatusCode::ACCEPTED, "{new_body}");
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("email");
        v
    };
    assert_eq!(
        strip(taken_body.clone()),
        strip(new_body.clone()),
        "registration tells a taken address apart"
    );
    assert!(taken_body.get("token").is_none() && new_body.get("token").is_none());
    // Nothing to sign in to before the link: a new address is as unknown as before.
    let (status, body) = post(
        &app,
        "/api/auth/login",
        json!({"email": "fresh@example.com", "password": "a new fans password"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "invalid_credentials");

    // The owner is told, with no link; the new address gets the link that creates the account.
    let notice = smtp.wait_for("taken@example.com", 1).await;
    assert!(
        notice[0]
            .link_containing("/api/auth/verify-email")
            .is_none()
    );
    assert!(!notice[0].text().contains("attackers password"));
    let mail = smtp.wait_for("fresh@example.com", 1).await;
    assert!(!mail[0].text().contains("a new fans password"));
    let link = mail[0]
        .link_containing("/api/auth/verify-email?token=")
        .expect("a link finishes the registration");
    let (status, body) = confirm_link(&app, &link).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(
        &app,
        "/api/auth/login",
        json!({"email": "fresh@example.com", "password": "a new fans password"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["emailVerified"], true);
    assert_eq!(body["user"]["name"], "Someone");
    // The link works once; the owner's account and password are untouched.
    let (status, _) = confirm_link(&app, &link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &app,
        "/api/auth/login",
        json!({"email": "taken@example.com", "password": "the owners long password"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &app,
        "/api/auth/login",
        json!({"email": "taken@example.com", "password": "an attackers password"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Two registrations of one free address: the first link opened wins, the other is spent.
    attempt("twice@example.com", "first long password").await;
    attempt("twice@example.com", "second long password").await;
    let mails = smtp.wait_for("twice@example.com", 2).await;
    let links: Vec<String> = mails
        .iter()
        .map(|m| m.link_containing("/api/auth/verify-email?token=").unwrap())
        .collect();
    assert_eq!(confirm_link(&app, &links[1]).await.0, StatusCode::OK);
    assert_eq!(
        confirm_link(&app, &links[0]).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _) = post(
        &app,
        "/api/auth/login",
        json!({"email": "twice@example.com", "password": "second long password"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// From the attack on the fixes: the mail Tiketi sends must not become a way to flood or phish
/// an address. Notices of refused registrations are capped per address, verification links per
/// account even under parallel requests, and no mail carries the name a registrant typed.
#[tokio::test]
async fn registration_mail_is_capped_per_address_and_carries_no_strangers_words() {
    let db = test_db().await;
    let (app, smtp) = app_with_mail(db.pool.clone()).await;
    let (status, body) = post(
        &app,
        "/api/auth/register",
        json!({"email": "inbox@example.com", "password": "correct horse battery",
               "name": "Re-enter your card at http://evil.example"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let first = smtp.wait_for("inbox@example.com", 1).await;
    assert!(
        !first[0].text().contains("evil.example"),
        "{}",
        first[0].text()
    );

    // Six refused registrations at once: the owner hears of three.
    let attempts = (0..6).map(|i| {
        post(
            &app,
            "/api/auth/register",
            json!({"email": "inbox@example.com", "password": format!("guess number {i} here"),
                   "name": "Mallory"}),
            None,
        )
    });
    for (status, _) in futures_util::future::join_all(attempts).await {
        assert_eq!(status, StatusCode::CONFLICT);
    }
    smtp.wait_for("inbox@example.com", 4).await;
    // Twenty resends at once make at most the window's three links (the first one counts).
    let resends = (0..20).map(|_| {
        post(
            &app,
            "/api/auth/verify-email/resend",
            json!({}),
            Some(&token),
        )
    });
    let answers = futures_util::future::join_all(resends).await;
    let sent = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(sent, 2, "resends past the cap: {answers:?}");
    let links: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth.email_verifications v JOIN auth.users u ON u.id = v.user_id
         WHERE u.email = 'inbox@example.com'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(links, 3);
    // Had a fourth notice gone out, it was sent before these links: the three mails after the
    // four above are the links, not notices.
    let mails = smtp.wait_for("inbox@example.com", 6).await;
    let notices = mails
        .iter()
        .filter(|m| m.link_containing("/api/auth/verify-email").is_none())
        .count();
    assert_eq!(notices, 3, "notices past the cap");
}

/// Finding: ten wrong guesses from anywhere locked the fan out. Guesses now count per account
/// and client address (and per address), so a stranger slows only themselves, under a much
/// higher ceiling per account that still bounds a distributed attack.
#[tokio::test]
async fn a_strangers_wrong_guesses_do_not_lock_the_fan_out() {
    let db = test_db().await;
    let app = TestApp::spawn_with(
        db.pool.clone(),
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT", "3"),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING", "8"),
        ],
    )
    .await;
    register(&app, "fan@example.com").await;
    let login = |from: &'static str, password: &'static str| {
        let request = app
            .client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"email": "fan@example.com", "password": password}));
        async move { request.send().await.unwrap().status() }
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(login("203.0.113.66", "guess guess guess").await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
        ]
    );
    // The fan, elsewhere, signs in; the stranger stays slowed, even with the right password.
    assert_eq!(
        login("198.51.100.7", "correct horse battery").await,
        StatusCode::OK
    );
    assert_eq!(
        login("203.0.113.66", "correct horse battery").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Many addresses together still meet the per-account ceiling (8 attempts a minute here).
    let mut refused = 0;
    for from in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"] {
        for _ in 0..3 {
            if login(from, "guess guess guess").await == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
    }
    assert!(
        refused >= 4,
        "only {refused} of 12 distributed guesses were refused"
    );
    assert_eq!(
        login("198.51.100.8", "correct horse battery").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Finding (read in the code): rotation marked the token used and inserted its successor in two
/// statements outside a transaction, so a reuse revoking the family between them left the
/// successor alive. Rotation and revocation now serialise per account in one transaction each.
#[tokio::test]
async fn a_rotation_racing_a_reuse_never_leaves_a_live_token_in_a_revoked_family() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let user: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO auth.users (email, password_hash, name) VALUES ('race@example.com', 'x', 'R')
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    use tiketi_auth::refresh;
    for i in 0..200 {
        let first = refresh::issue(&pool, user, 3600).await.unwrap();
        let (_, second) = refresh::rotate(&pool, &first.token, 3600).await.unwrap();
        // The thief replays the used token while the holder rotates its successor. The holder
        // starts 0 to 3 database round trips later, so the runs cover the interleavings of the
        // two (the window is one round trip wide).
        let holder = async {
            for _ in 0..i % 4 {
                sqlx::query("SELECT 1").execute(&pool).await.unwrap();
            }
            refresh::rotate(&pool, &second.token, 3600).await
        };
        let (rotated, reused) = tokio::join!(holder, refresh::rotate(&pool, &first.token, 3600));
        assert!(reused.is_err());
        if let Ok((_, third)) = rotated {
            assert!(refresh::rotate(&pool, &third.token, 3600).await.is_err());
        }
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 0, "successors survived their family's revocation");
}

/// Finding (outside testers, login CSRF): `/refresh` read the token from a body of any content
/// type, so a cross-site `enctype=text/plain` form planted the attacker's session cookie in the
/// victim's browser. A body token now needs `application/json`, and a cross-site request (its
/// `Origin` not an allowed one, or `Sec-Fetch-Site: cross-site`) is refused.
#[tokio::test]
async fn a_cross_site_form_cannot_plant_a_session_through_refresh_or_logout() {
    let db = test_db().await;
    let app = TestApp::spawn_with(
        db.pool.clone(),
        &[
            ("SOCKET_IO_CORS_ORIGIN", "https://tiketi.example"),
            ("PUBLIC_URL", "https://tickets.example/"),
        ],
    )
    .await;
    let token = register(&app, "csrf@example.com").await["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let form_body = format!(r#"{{"refreshToken":"{token}","x":"="}}"#);
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        let plain = app
            .client
            .post(app.url(path))
            .header("content-type", "text/plain")
            .body(form_body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}");
        assert!(plain.headers().get("set-cookie").is_none(), "{path}");
        for (name, value) in [
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let cross = app
                .client
                .post(app.url(path))
                .header(name, value)
                .json(&json!({"refreshToken": token}))
                .send()
                .await
                .unwrap();
            assert_eq!(cross.status(), StatusCode::FORBIDDEN, "{path} {name}");
            assert!(cross.headers().get("set-cookie").is_none(), "{path} {name}");
            let body: Value = cross.json().await.unwrap();
            assert_eq!(body["code"], "cross_site_request", "{path} {name}");
        }
    }
    // The token survived all of that: JSON from the allowed origin, then with no Origin, works.
    let same_site = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("origin", "https://tiketi.example")
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"refreshToken": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::OK);
    assert!(same_site.headers().get("set-cookie").is_some());
    let next: Value = same_site.json().await.unwrap();
    // The site's own public address (PUBLIC_URL) is not another site.
    let public = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("origin", "https://tickets.example")
        .json(&json!({"refreshToken": next["refreshToken"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    let next: Value = public.json().await.unwrap();
    let (status, body) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": next["refreshToken"]}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A cookie-only refresh (the web client: no body, no content type) from the allowed origin
    // still works, and logout with a JSON body still revokes.
    let cookie_only = app
        .client
        .post(app.url("/api/auth/refresh"))
        .header("origin", "https://tiketi.example")
        .header(
            "cookie",
            format!("tiketi_refresh={}", body["refreshToken"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_only.status(), StatusCode::OK);
    let last: Value = cookie_only.json().await.unwrap();
    let (status, _) = post(
        &app,
        "/api/auth/logout",
        json!({"refreshToken": last["refreshToken"]}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &app,
        "/api/auth/refresh",
        json!({"refreshToken": last["refreshToken"]}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Finding (outside testers): an admin made by `tiketi admin create` was stored unverified, so
/// the first Google sign-in to its address linked to it, dropped the operator's password and
/// signed the Google user in as an admin. Google now never links to an admin account that is
/// not already linked to that same Google identity.
#[tokio::test]
async fn google_sign_in_never_takes_over_an_admin_account() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let (app, google) = app_with_google(pool.clone()).await;
    let password = "the operator's admin passphrase";
    tiketi_auth::admin::create_admin(&pool, "root@example.com", None, password, false)
        .await
        .unwrap();
    let verified: bool = sqlx::query_scalar(
        "SELECT email_verified FROM auth.users WHERE email = 'root@example.com'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(verified, "the operator vouches for the address it creates");

    let stranger = google_user("root@example.com", true);
    let (status, body) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&stranger, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "google_link_refused_admin");
    assert!(body.get("token").is_none());
    // Nothing changed: the operator's password still works and no Google identity is linked.
    let (status, signed_in) = post(
        &app,
        "/api/auth/login",
        json!({"email": "root@example.com", "password": password}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user"]["role"], "admin");
    let sub: Option<String> =
        sqlx::query_scalar("SELECT google_sub FROM auth.users WHERE email = 'root@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(sub, None);

    // An admin whose Google identity was linked to it before (by an operator) still signs in
    // with it.
    let own = google_user("root@example.com", true);
    sqlx::query("UPDATE auth.users SET google_sub = $1 WHERE email = 'root@example.com'")
        .bind(&own.sub)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&own, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "admin");

    // From the re-check of the fixes: a stranger signs in with Google first (a verified,
    // Google-linked fan account), then the operator promotes that address. The promotion
    // unlinks the Google identity, so the stranger's Google sign-in is refused, not an admin.
    let early = google_user("ops@example.com", true);
    let (status, body) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&early, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome = tiketi_auth::admin::create_admin(&pool, "ops@example.com", None, password, false)
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            tiketi_auth::admin::AdminOutcome::Promoted {
                google_unlinked: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (status, body) = post(
        &app,
        "/api/auth/google",
        json!({"credential": google.id_token(&early, &google.client_id, 600)}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "google_link_refused_admin");
}

/// The auth service alone on `pool` with `overrides`; its state stays readable by the test.
async fn spawn_auth(pool: &PgPool, overrides: &[(&str, &str)]) -> (String, tiketi_auth::AppState) {
    let config = tiketi_core::testing::test_config(overrides);
    let infra = tiketi_core::Infra::with_pool(config, pool.clone()).unwrap();
    tiketi_auth::revocation::republish(&infra.db, &infra.redis)
        .await
        .unwrap();
    let state = tiketi_auth::AppState::new(infra);
    let router = tiketi_auth::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    (format!("http://{addr}"), state)
}

async fn concurrent_logins(base: &str, n: usize) -> Vec<reqwest::Response> {
    let client = tiketi_core::outbound::client(Duration::from_secs(60));
    let attempts: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(
                client
                    .post(format!("{base}/api/auth/login"))
                    .json(&json!({"email": format!("nobody{i}@example.com"), "password": "guess guess guess"}))
                    .send(),
            )
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.unwrap().unwrap());
    }
    answers
}

/// Finding (outside testers): 60 simultaneous sign-ins ran 60 argon2 hashes at once (19 MiB
/// each, ~840 MB) in a pod limited to 384 MiB. Hashes now wait for one of
/// `AUTH_HASH_CONCURRENCY` permits.
#[tokio::test]
async fn simultaneous_sign_ins_never_run_more_hashes_at_once_than_allowed() {
    let db = test_db().await;
    let (base, state) = spawn_auth(&db.pool, &[("AUTH_HASH_CONCURRENCY", "2")]).await;
    let answers = concurrent_logins(&base, 12).await;
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let most = state.hasher.high_water();
    assert!(
        (1..=2).contains(&most),
        "{most} hashes ran at once with 2 allowed"
    );
}

/// Past the wait for a hashing permit, a sign-in is told to come back (503 `auth_busy` with
/// `Retry-After`) instead of queueing without end.
#[tokio::test]
async fn a_sign_in_that_cannot_get_a_hashing_slot_in_time_is_told_to_retry() {
    let db = test_db().await;
    let (base, state) = spawn_auth(
        &db.pool,
        &[("AUTH_HASH_CONCURRENCY", "1"), ("AUTH_HASH_WAIT_MS", "0")],
    )
    .await;
    let answers = concurrent_logins(&base, 8).await;
    let mut busy = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert!(answer.headers().contains_key("retry-after"));
                let body: Value = answer.json().await.unwrap();
                assert_eq!(body["code"], "auth_busy");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy >= 1, "no sign-in was turned away");
    assert_eq!(state.hasher.high_water(), 1);
}

/// Finding (outside testers): the sign-in throttle kept a limiter per raw email string, so
/// refused sign-ins with 250 KB junk emails grew the process by 150 MB. No account has an email
/// over 254 characters, so such a sign-in is a 400 before any work; up to 254 an unknown email
/// still looks exactly like a wrong password.
#[tokio::test]
async fn an_email_too_long_to_be_an_account_is_refused_before_any_work() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;
    register(&app, "fan@example.com").await;
    let at_limit = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
    assert_eq!(at_limit.len(), 254);
    let (status, unknown) = post(
        &app,
        "/api/auth/login",
        json!({"email": at_limit, "password": "guess guess guess"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{unknown}");
    let (_, wrong) = post(
        &app,
        "/api/auth/login",
        json!({"email": "fan@example.com", "password": "guess guess guess"}),
        None,
    )
    .await;
    assert_eq!(unknown, wrong);
    for long in [
        format!("{}@example.com", "a".repeat(255 - "@example.com".len())),
        "x".repeat(250_000),
    ] {
        let (status, body) = post(
            &app,
            "/api/auth/login",
            json!({"email": long, "password": "guess guess guess"}),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "invalid_body");
    }
}

/// Signs in to `email` with `password` as if from `from` (through a trusted proxy).
async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Finding (outside testers): 11 addresses x 10 wrong guesses spent the account's ceiling and
/// the fan's right password then answered 429 from everywhere. An address that signed in to the
/// account before is no longer held to the ceiling (only to its own allowance), while a new
/// address still is.
#[tokio::test]
async fn strangers_spending_the_accounts_ceiling_do_not_lock_out_the_fans_known_address() {
    let db = test_db().await;
    let app = TestApp::spawn_with(
        db.pool.clone(),
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT", "3"),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING", "8"),
        ],
    )
    .await;
    let fan = "fan@example.com";
    let right = "correct horse battery";
    register(&app, fan).await;
    let home = "198.51.100.7";
    assert_eq!(
        login_from(&app, home, fan, right).await.status(),
        StatusCode::OK
    );

    let mut refused = 0;
    for i in 1..=11 {
        let from = format!("203.0.113.{i}");
        for _ in 0..3 {
            let status = login_from(&app, &from, fan, "guess guess guess")
                .await
                .status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
    }
    assert!(
        refused >= 33 - 8,
        "only {refused} of 33 guesses were refused"
    );
    // The fan's known address signs in; an address the account never signed in from does not.
    assert_eq!(
        login_from(&app, home, fan, right).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        login_from(&app, "198.51.100.9", fan, right).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The known address keeps its own allowance (3 a minute; two sign-ins spent already).
    assert_eq!(
        login_from(&app, home, fan, "guess guess guess")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, home, fan, right).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Finding (outside testers): a refusal announced the wait of the first limit that refused
/// (the in-process one's ~20 s) while the shared one-minute count stayed spent, so a fan who
/// waited as told was refused again. The announced wait is now the longest of the spent limits.
#[tokio::test]
async fn a_refused_sign_in_announces_the_longest_wait_of_the_spent_limits() {
    let db = test_db().await;
    let app = TestApp::spawn_with(
        db.pool.clone(),
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT", "3"),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING", "8"),
        ],
    )
    .await;
    let fan = "fan@example.com";
    register(&app, fan).await;
    for _ in 0..3 {
        let answer = login_from(&app, "203.0.113.1", fan, "guess guess guess").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = login_from(&app, "203.0.113.1", fan, "guess guess guess").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&refused);
    // The shared count's window started with the first guess, well under 5 s ago.
    assert!(
        (55..=60).contains(&wait),
        "announced {wait} s while the one-minute count is spent"
    );
    // The ceiling, spent by others, announces its window too to a new address.
    for i in 2..=3 {
        for _ in 0..3 {
            login_from(&app, &format!("203.0.113.{i}"), fan, "guess guess guess").await;
        }
    }
    let refused = login_from(&app, "198.51.100.9", fan, "correct horse battery").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&refused);
    assert!((55..=60).contains(&wait), "announced {wait} s");
}
