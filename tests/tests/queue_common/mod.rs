//! Helpers shared by the queue tests: an event row, admin settings calls, joins.

#![allow(dead_code)]

use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// The longest processor interval the configuration allows: the server's own processor ticks at
/// start-up (before any queue exists) and then not for a minute, so the test drives the ticks
/// itself with [`tiketi_ticket::workers::queue_processor::tick`]. Once the test's replica has
/// ticked it holds the event's lease (three intervals), so the server's processor stays out.
pub const MANUAL_TICKS: (&str, &str) = ("QUEUE_PROCESSOR_INTERVAL", "60000");

/// Inserts an event whose sale starts `sale_start_in_secs` from now (negative: already on sale).
pub async fn event(pool: &PgPool, sale_start_in_secs: i64) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO ticket.events (title, venue, event_date, sale_start_date, sale_end_date, artist_name)
         VALUES ('Surge Night', 'Olympic Hall', now() + interval '30 days',
                 now() + make_interval(secs => $1), now() + interval '20 days', 'The Queue')
         RETURNING id",
    )
    .bind(sale_start_in_secs as f64)
    .fetch_one(pool)
    .await
    .expect("insert event")
}

/// An event on sale for an hour whose waiting room has `settings` (set by an admin through the
/// API); answers the server's test tokens, that admin's token and the event.
pub async fn on_sale_queue(
    app: &TestApp,
    settings: Value,
) -> (tiketi_core::testing::TestTokens, String, Uuid) {
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&app.infra.db, -3600).await;
    put_settings(app, &admin, event_id, settings).await;
    (tokens, admin, event_id)
}

/// `PUT /api/queue/admin/:eventId/settings` as an admin; returns the answer.
pub async fn put_settings(app: &TestApp, admin: &str, event_id: Uuid, body: Value) -> Value {
    let res = app
        .client
        .put(app.url(&format!("/api/queue/admin/{event_id}/settings")))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "settings update refused");
    res.json().await.unwrap()
}

/// `POST /api/queue/check/:eventId` with `token`; returns status and body.
pub async fn join(app: &TestApp, token: &str, event_id: Uuid) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/queue/check/{event_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(json!(null)))
}

/// `GET /api/queue/admin/:eventId` as an admin.
pub async fn admin_view(app: &TestApp, admin: &str, event_id: Uuid) -> Value {
    let res = app
        .client
        .get(app.url(&format!("/api/queue/admin/{event_id}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// An official Socket.IO client connected as one fan: `socket.io-client` 4.8 (node,
/// `tests/socketio/watch.mjs`) or `python-socketio` 5 (`tests/socketio/watch.py`, from the
/// project venv). Both print one JSON value per line, in the same shapes.
pub struct SocketClient {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    _child: tokio::process::Child,
}

impl SocketClient {
    /// Starts the JavaScript client against `app` for `event_id`; it exits after `exit_on`
    /// arrives.
    pub async fn start(app: &TestApp, token: &str, event_id: Uuid, exit_on: &str) -> Self {
        let root = tiketi_tests::workspace_root().join("tests");
        assert!(
            root.join("node_modules/socket.io-client").exists(),
            "socket.io-client is not installed: run `npm ci --prefix tests` (scripts/test.sh does)"
        );
        let mut command = tokio::process::Command::new("node");
        command.arg(root.join("socketio/watch.mjs"));
        Self::spawn(command, app, token, event_id, exit_on)
    }

    /// Starts the Python client (`python-socketio`, installed in `.tiketi/venv` by
    /// `scripts/test.sh` from `scripts/requirements-test-clients.txt`).
    pub async fn start_python(app: &TestApp, token: &str, event_id: Uuid, exit_on: &str) -> Self {
        let root = tiketi_tests::workspace_root();
        let python = root.join(".tiketi/venv/bin/python");
        let installed = std::process::Command::new(&python)
            .args(["-c", "import socketio"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "python-socketio is not installed in {}: run scripts/test.sh (ensure_test_clients)",
            python.display()
        );
        let mut command = tokio::process::Command::new(python);
        command
            .arg(root.join("tests/socketio/watch.py"))
            .env("PYTHONUNBUFFERED", "1");
        Self::spawn(command, app, token, event_id, exit_on)
    }

    fn spawn(
        mut command: tokio::process::Command,
        app: &TestApp,
        token: &str,
        event_id: Uuid,
        exit_on: &str,
    ) -> Self {
        let mut child = command
            .args([&app.url(""), token, &event_id.to_string(), exit_on, "30000"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the client's interpreter is installed");
        let stdout = child.stdout.take().expect("piped stdout");
        use tokio::io::AsyncBufReadExt;
        Self {
            lines: tokio::io::BufReader::new(stdout).lines(),
            _child: child,
        }
    }

    /// The next line that satisfies `pred`, or `None` if the client ended first (bounded by the
    /// client's own 30 s timeout).
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        while let Ok(Some(line)) = self.lines.next_line().await {
            let value: Value = serde_json::from_str(&line).expect("client prints JSON");
            if pred(&value) {
                return Some(value);
            }
            if value["type"] == "timeout" {
                return None;
            }
        }
        None
    }

    /// The next server event named `event`.
    pub async fn event(&mut self, event: &str) -> Option<Value> {
        self.until(|v| v["type"] == "event" && v["event"] == event)
            .await
            .map(|v| v["data"].clone())
    }
}
