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

/// Which official Socket.IO client a test drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `socket.io-client` 4.8 under node (`tests/socketio/watch.mjs`).
    JavaScript,
    /// `python-socketio` 5 from the project venv (`tests/socketio/watch.py`).
    Python,
}

/// The one Engine.IO transport a client is limited to. Real clients start with HTTP
/// long-polling and upgrade; limiting each test client to one transport makes the test say
/// which one it exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One WebSocket per client.
    WebSocket,
    /// HTTP long-polling: every packet is its own request, so behind a load balancer every
    /// request of the session must reach the same replica.
    Polling,
}

/// An official Socket.IO client connected as one fan: `socket.io-client` 4.8 (node,
/// `tests/socketio/watch.mjs`) or `python-socketio` 5 (`tests/socketio/watch.py`, from the
/// project venv). Both print one JSON value per line, in the same shapes.
pub struct SocketClient {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    _child: tokio::process::Child,
}

impl SocketClient {
    /// Starts the JavaScript client (WebSocket) against `app` for `event_id`; it exits after
    /// `exit_on` arrives.
    pub async fn start(app: &TestApp, token: &str, event_id: Uuid, exit_on: &str) -> Self {
        Self::start_at(
            &app.url(""),
            Lang::JavaScript,
            Transport::WebSocket,
            token,
            event_id,
            exit_on,
        )
    }

    /// Starts the Python client (WebSocket) against `app` (`python-socketio`, installed in
    /// `.tiketi/venv` by `scripts/test.sh` from `scripts/requirements-test-clients.txt`).
    pub async fn start_python(app: &TestApp, token: &str, event_id: Uuid, exit_on: &str) -> Self {
        Self::start_at(
            &app.url(""),
            Lang::Python,
            Transport::WebSocket,
            token,
            event_id,
            exit_on,
        )
    }

    /// Starts `lang`'s client limited to `transport` against `base_url` (a server, or a load
    /// balancer in front of several); it exits after `exit_on` arrives, or after 30 s.
    pub fn start_at(
        base_url: &str,
        lang: Lang,
        transport: Transport,
        token: &str,
        event_id: Uuid,
        exit_on: &str,
    ) -> Self {
        let root = tiketi_tests::workspace_root();
        let mut command = match lang {
            Lang::JavaScript => {
                assert!(
                    root.join("tests/node_modules/socket.io-client").exists(),
                    "socket.io-client is not installed: run `npm ci --prefix tests` (scripts/test.sh does)"
                );
                let mut command = tokio::process::Command::new("node");
                command.arg(root.join("tests/socketio/watch.mjs"));
                command
            }
            Lang::Python => {
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
                command
            }
        };
        let transport = match transport {
            Transport::WebSocket => "websocket",
            Transport::Polling => "polling",
        };
        let mut child = command
            .args([
                base_url.trim_end_matches('/'),
                token,
                &event_id.to_string(),
                exit_on,
                "30000",
                transport,
            ])
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

/// haproxy in front of several servers, configured like the ALB's ticket target group:
/// round-robin, and with `sticky` the `AWSALB` stickiness cookie (`lb_cookie` stickiness,
/// `k8s/base/ingress.yaml`). Killed on drop.
pub struct Balancer {
    /// Where it listens, `http://127.0.0.1:<port>`.
    pub url: String,
    _child: tokio::process::Child,
    config: std::path::PathBuf,
}

impl Balancer {
    /// Starts haproxy before `servers` and returns once it routes a request to one of them.
    pub async fn start(servers: &[&TestApp], sticky: bool) -> Self {
        let port = tiketi_tests::free_port();
        let mut config = format!(
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  \
             timeout server 60s\n  timeout tunnel 1h\n\n\
             frontend alb\n  bind 127.0.0.1:{port}\n  default_backend ticket\n\n\
             backend ticket\n  balance roundrobin\n"
        );
        if sticky {
            config.push_str("  cookie AWSALB insert indirect nocache\n");
        }
        for (i, server) in servers.iter().enumerate() {
            let cookie = if sticky {
                format!(" cookie t{}", i + 1)
            } else {
                String::new()
            };
            config.push_str(&format!("  server t{} {}{cookie}\n", i + 1, server.addr));
        }
        let path = std::env::temp_dir().join(format!("tiketi-balancer-{}.cfg", Uuid::new_v4()));
        std::fs::write(&path, config).expect("write the haproxy configuration");
        // The Debian package puts it in /usr/sbin, which a non-root PATH may lack.
        let haproxy = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("haproxy");
        let child = tokio::process::Command::new(haproxy)
            .arg("-f")
            .arg(&path)
            .arg("-db")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy is installed (scripts/test.sh installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let client = tiketi_core::outbound::client(std::time::Duration::from_secs(5));
        let routed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                if let Ok(res) = client.get(format!("{url}/health")).send().await
                    && res.status() == 200
                {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(routed.is_ok(), "haproxy did not route /health within 10 s");
        Self {
            url,
            _child: child,
            config: path,
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
    }
}
