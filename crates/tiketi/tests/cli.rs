//! The real `tiketi` binary: subcommands against a fresh database, a bad setting refused at
//! start-up, and `serve` answering and stopping cleanly on SIGTERM.

use std::process::{Command, Output, Stdio};

use sqlx::PgPool;
use tiketi_core::testing::{database_url_of, unique_redis_prefix};
use tiketi_core::testing::{empty_test_db, test_db};
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
