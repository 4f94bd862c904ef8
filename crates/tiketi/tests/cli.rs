//! The real `tiketi` binary: subcommands against a fresh database, a bad setting refused at
//! start-up, and `serve` answering and stopping cleanly on SIGTERM.

use std::process::{Command, Output, Stdio};

use sqlx::PgPool;
use tiketi_core::testing::{database_url_of, empty_test_db, test_db, unique_redis_prefix};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

fn tiketi(pool: &PgPool, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiketi"))
        .args(args)
        .env("DATABASE_URL", database_url_of(pool))
        .env("REDIS_KEY_PREFIX", unique_redis_prefix())
        .output()
        .expect("tiketi runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn migrate_succeeds_twice_on_an_empty_database() {
    let db = empty_test_db().await;
    let pool = db.pool.clone();
    for run in 1..=2 {
        let out = tiketi(&pool, &["migrate"]);
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout(&out).contains("migrations applied"));
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('auth', 'ticket', 'payment')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(tables >= 15, "only {tables} tables");
}

#[tokio::test]
async fn seed_demo_creates_the_demo_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let first = tiketi(&pool, &["seed-demo"]);
    assert!(first.status.success());
    assert!(
        stdout(&first).contains("2 events and 265 seats created"),
        "{}",
        stdout(&first)
    );
    let second = tiketi(&pool, &["seed-demo"]);
    assert!(stdout(&second).contains("0 events and 0 seats created"));
}

#[tokio::test]
async fn admin_create_reads_the_password_from_stdin_and_never_prints_it() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let secret = "a very private admin passphrase";
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tiketi"))
        .args([
            "admin",
            "create",
            "--email",
            "root@tiketi.example",
            "--password-stdin",
        ])
        .env("DATABASE_URL", database_url_of(&pool))
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{secret}\n").as_bytes())
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains("admin created"));
    assert!(!printed.contains(secret), "the password reached the output");
    let role: String =
        sqlx::query_scalar("SELECT role FROM auth.users WHERE email = 'root@tiketi.example'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(role, "admin");
    // The operator vouches for the address: stored verified, and the command says so.
    let verified: bool = sqlx::query_scalar(
        "SELECT email_verified FROM auth.users WHERE email = 'root@tiketi.example'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        verified,
        "an admin created by the operator is stored unverified"
    );
    assert!(printed.contains("email marked verified"), "{printed}");
}

#[tokio::test]
async fn a_malformed_setting_stops_start_up_naming_it() {
    let db = empty_test_db().await;
    let pool = db.pool.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_tiketi"))
        .arg("serve")
        .env("DATABASE_URL", database_url_of(&pool))
        .env("QUEUE_PROCESSOR_INTERVAL", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QUEUE_PROCESSOR_INTERVAL"));
}

#[tokio::test]
async fn serve_answers_health_and_stops_on_sigterm() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tiketi"))
        .arg("serve")
        .env("DATABASE_URL", database_url_of(&pool))
        .env("REDIS_KEY_PREFIX", unique_redis_prefix())
        .env("PORT", "0")
        .env("BIND_ADDR", "127.0.0.1")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The server logs its bound address; reading it is how we know it is up.
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        let log: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
        if log["message"] == "listening" {
            addr = log["addr"].as_str().map(str::to_owned);
            break;
        }
    }
    let addr = addr.expect("the server logged where it listens");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let client = tiketi_core::outbound::client(std::time::Duration::from_secs(10));
    let health = client
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = client
        .get(format!("http://{addr}/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().await.unwrap();
    assert!(status.success(), "tiketi exited with {status}");
}

#[tokio::test]
async fn keys_rotate_adds_a_signing_key_and_retires_the_old_one() {
    let db = test_db().await;
    let pool = db.pool.clone();
    for _ in 0..2 {
        let out = tiketi(&pool, &["keys", "rotate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout(&out).contains("new signing key ed25519-"));
    }
    let (active, retired): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE retired_at IS NULL), count(*) FILTER (WHERE retired_at IS NOT NULL)
         FROM auth.signing_keys",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((active, retired), (1, 1));
}

#[tokio::test]
async fn keys_retire_and_rotate_retire_old_stop_trusting_a_key_at_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let out = tiketi(&pool, &["keys", "rotate"]);
    assert!(out.status.success());
    let live = || async {
        let kids: Vec<String> = sqlx::query_scalar(
            "SELECT kid FROM auth.signing_keys WHERE verify_until IS NULL OR verify_until > now()
             ORDER BY created_at",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        kids
    };
    let before = live().await;
    assert_eq!(before.len(), 1);
    // Retiring the active key: it is no longer live (so no longer in the JWKS) and a new key
    // signs instead.
    let out = tiketi(&pool, &["keys", "retire", &before[0]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("retired"));
    let after = live().await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0], before[0]);
    // An unknown key is an error, not a silent success.
    let out = tiketi(&pool, &["keys", "retire", "ed25519-nosuchkey"]);
    assert!(!out.status.success());

    let out = tiketi(&pool, &["keys", "rotate", "--retire-old"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated = live().await;
    assert_eq!(
        rotated.len(),
        1,
        "the older key is still published: {rotated:?}"
    );
    assert_ne!(rotated[0], after[0]);
}

/// Starts `tiketi serve` on `port` and returns once it logged that it listens.
async fn serve(
    db_url: &str,
    prefix: &str,
    port: u16,
    extra: &[(&str, &str)],
) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tiketi"));
    command
        .arg("serve")
        .env("DATABASE_URL", db_url)
        .env("REDIS_KEY_PREFIX", prefix)
        .env("PORT", port.to_string())
        .env("BIND_ADDR", "127.0.0.1")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in extra {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("\"listening\"") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

#[tokio::test]
async fn a_payment_process_killed_after_approval_ends_in_issued_tickets_after_restart() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let event: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, venue, event_date, sale_start_date, sale_end_date)
         VALUES ('Crash test', 'Hall', now() + interval '30 days', now() - interval '1 hour', now() + interval '1 day')
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // This test is about payment, not admission: the event's waiting room is turned off, as an
    // admin would (every event has one by default).
    sqlx::query("INSERT INTO ticket.queue_settings (event_id, enabled) VALUES ($1, false)")
        .bind(event)
        .execute(&pool)
        .await
        .unwrap();
    let seat: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.seats (event_id, section, row_number, seat_number, seat_label, price)
         VALUES ($1, 'A', 1, 1, 'A-1-1', 10000) RETURNING id",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .unwrap();
    let prefix = unique_redis_prefix();
    let port = tiketi_core::testing::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = tiketi_core::outbound::client(std::time::Duration::from_secs(30));

    let mut doomed = serve(
        &db.url(),
        &prefix,
        port,
        &[("PAYMENT_FAULT", "crash_after_approval")],
    )
    .await;
    let fan: serde_json::Value = client
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({"email": "crash@example.com", "password": "correct horse battery", "name": "C"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = fan["token"].as_str().unwrap().to_owned();
    let held: serde_json::Value = client
        .post(format!("{base}/api/seats/reserve"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"eventId": event, "seatIds": [seat]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reservation = held["reservation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("hold refused: {held}"))
        .to_owned();
    let prepared: serde_json::Value = client
        .post(format!("{base}/api/payments/prepare"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"reservationId": reservation, "amount": 10000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    let confirm = serde_json::json!({
        "paymentKey": tiketi_payment::provider::sandbox::payment_key_for("card"),
        "orderId": order,
        "amount": 10000
    });
    // The process dies between the provider's approval and issuing the tickets.
    let died = client
        .post(format!("{base}/api/payments/confirm"))
        .bearer_auth(&token)
        .json(&confirm)
        .send()
        .await;
    assert!(
        died.is_err(),
        "the confirm should have lost its connection: {died:?}"
    );
    assert!(!doomed.wait().await.unwrap().success());
    let (payment_status, reservation_status): (String, String) = sqlx::query_as(
        "SELECT p.status, r.status FROM payment.payments p JOIN ticket.reservations r ON r.id = p.reservation_id
         WHERE p.order_id = $1",
    )
    .bind(&order)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (payment_status.as_str(), reservation_status.as_str()),
        ("approved", "pending")
    );

    // Restarted, the reconciler finishes what the crash interrupted.
    let mut restarted = serve(
        &db.url(),
        &prefix,
        port,
        &[
            ("PAYMENT_RECONCILE_INTERVAL_SECS", "1"),
            ("PAYMENT_RECONCILE_MIN_AGE_SECS", "0"),
        ],
    )
    .await;
    let mut finished = false;
    for _ in 0..100 {
        let status: String =
            sqlx::query_scalar("SELECT status FROM ticket.reservations WHERE id = $1::uuid")
                .bind(&reservation)
                .fetch_one(&pool)
                .await
                .unwrap();
        if status == "confirmed" {
            finished = true;
            break;
        }
        // Waiting for the reconciler's next pass (it runs every second), not for a server.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(finished, "the reconciler did not issue the tickets");
    let (status, charges): (String, i64) = sqlx::query_as(
        "SELECT p.status, (SELECT count(*) FROM payment.sandbox_transactions s WHERE s.order_id = p.order_id)
         FROM payment.payments p WHERE p.order_id = $1",
    )
    .bind(&order)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), charges), ("completed", 1));
    // The fan's retry gets the success.
    let retry: serde_json::Value = client
        .post(format!("{base}/api/payments/confirm"))
        .bearer_auth(&token)
        .json(&confirm)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retry["success"], true);
    let pid = restarted.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(restarted.wait().await.unwrap().success());
}

/// An account as a stranger could have registered it: a password, sessions, and an email
/// address nobody proved (unless `verified`).
async fn squatted_account(pool: &PgPool, email: &str, verified: bool) -> (uuid::Uuid, String) {
    let hash = tiketi_auth::domain::password::hash_blocking("squatter's own password".to_owned())
        .await
        .unwrap();
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO auth.users (email, password_hash, name, email_verified)
         VALUES ($1, $2, 'Squatter', $3) RETURNING id",
    )
    .bind(email)
    .bind(hash)
    .bind(verified)
    .fetch_one(pool)
    .await
    .unwrap();
    let session = tiketi_auth::refresh::issue(pool, id, 3600).await.unwrap();
    tiketi_auth::refresh::issue(pool, id, 3600).await.unwrap();
    (id, session.token)
}

async fn live_sessions(pool: &PgPool, id: uuid::Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn role_of(pool: &PgPool, id: uuid::Uuid) -> String {
    sqlx::query_scalar("SELECT role FROM auth.users WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Finding: promoting an existing email kept that account's refresh tokens, so whoever had
/// registered the address first refreshed into admin tokens. Promotion now signs every session
/// out, and an address nobody proved is promoted only when the operator says so.
#[tokio::test]
async fn admin_create_signs_out_a_promoted_account_and_refuses_unverified_ones_unless_told() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let password = "the operator's admin passphrase";

    let (id, _) = squatted_account(&pool, "ops@tiketi.example", false).await;
    let refused = tiketi(
        &pool,
        &[
            "admin",
            "create",
            "--email",
            "ops@tiketi.example",
            "--password",
            password,
        ],
    );
    assert!(
        !refused.status.success(),
        "an unverified account was promoted"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--promote-unverified"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(role_of(&pool, id).await, "user");
    assert_eq!(live_sessions(&pool, id).await, 2);

    let promoted = tiketi(
        &pool,
        &[
            "admin",
            "create",
            "--email",
            "ops@tiketi.example",
            "--password",
            password,
            "--promote-unverified",
        ],
    );
    assert!(
        promoted.status.success(),
        "{}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    assert!(
        stdout(&promoted).contains("2 sessions signed out"),
        "{}",
        stdout(&promoted)
    );
    assert_eq!(role_of(&pool, id).await, "admin");
    assert_eq!(live_sessions(&pool, id).await, 0);

    // A verified account needs no flag, and loses its sessions all the same.
    let (id, token) = squatted_account(&pool, "lead@tiketi.example", true).await;
    let promoted = tiketi(
        &pool,
        &[
            "admin",
            "create",
            "--email",
            "lead@tiketi.example",
            "--password",
            password,
        ],
    );
    assert!(
        promoted.status.success(),
        "{}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    assert_eq!(role_of(&pool, id).await, "admin");
    assert!(
        tiketi_auth::refresh::rotate(&pool, &token, 3600)
            .await
            .is_err(),
        "a session from before the promotion still refreshes"
    );
}
