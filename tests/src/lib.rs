//! The harness every cross-service test uses: a real `tiketi` (all four services) served on
//! `127.0.0.1:0` in this process, on the test's own database (from `test_db()`) and its own
//! Redis key prefix, with an HTTP client pointed at it.
//!
//! ```ignore
//! #[tokio::test]
//! async fn health_answers() {
//!     let db = test_db().await;
//!     let app = TestApp::spawn(db.pool.clone()).await;
//!     assert_eq!(app.get("/health").await.status(), 200);
//! }
//! ```

pub mod idp;
pub mod postgres;
pub mod smtp;
pub mod toss;

use std::net::SocketAddr;
use std::path::PathBuf;

use sqlx::PgPool;
use tiketi_core::Infra;
pub use tiketi_core::testing::{database_url_of, empty_test_db, free_port, test_config, test_db};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use postgres::{PostgresServer, StopMode};

/// A running all-in-one server. Dropping it shuts the server down.
pub struct TestApp {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// Its infrastructure handles (database pool, Redis with the test's prefix, config).
    pub infra: Infra,
    /// A client without a cookie jar or redirects, for asserting raw answers.
    pub client: reqwest::Client,
    /// This server's identity in the waiting room: the `<replica>` of the admitter leases
    /// (`<replica>:<token>`) its queue processor takes, so tests with several servers can tell
    /// which one admits.
    pub replica: String,
    shutdown: CancellationToken,
}

impl TestApp {
    /// Starts `tiketi` on the given per-test database with default test settings.
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(pool, &[]).await
    }

    /// Starts `tiketi` with configuration overrides (environment names, e.g. `REDIS_URL`).
    /// `{addr}` in a value is replaced by the server's own `host:port`.
    pub async fn spawn_with(pool: PgPool, overrides: &[(&str, &str)]) -> Self {
        Self::start(pool, overrides, true).await
    }

    /// [`TestApp::spawn_with`] without the background workers (hold sweeper, event statuses,
    /// queue processor, reconciler) and without Socket.IO: nothing changes the data but the
    /// requests the test sends.
    pub async fn spawn_without_workers(pool: PgPool, overrides: &[(&str, &str)]) -> Self {
        Self::start(pool, overrides, false).await
    }

    async fn start(pool: PgPool, overrides: &[(&str, &str)], workers: bool) -> Self {
        // Bind first: the port is known before anything connects, so no test waits for start-up.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let frontend = workspace_root().join("frontend-dist");
        // The caller's overrides come first: the first setting of a name wins.
        let mut all: Vec<(&str, String)> = overrides
            .iter()
            .map(|(k, v)| (*k, v.replace("{addr}", &addr.to_string())))
            .collect();
        all.push((
            "FRONTEND_DIR",
            frontend.to_str().expect("utf-8 path").to_owned(),
        ));
        // Payment reaches the ticket service's internal interface on this same server.
        all.push(("TICKET_INTERNAL_URL", format!("http://{addr}")));
        all.push(("PAYMENT_INTERNAL_URL", format!("http://{addr}")));
        // Every test client is 127.0.0.1 and many are one fan: the general limits would meter
        // the tests instead of the code under test. The layer still runs (with huge allowances);
        // the rate-limit tests set real ones.
        for name in [
            "RATE_LIMIT_IP_PER_MINUTE",
            "RATE_LIMIT_USER_PER_MINUTE",
            "RATE_LIMIT_QUEUE_JOIN_PER_MINUTE",
            "RATE_LIMIT_PAYMENT_PER_MINUTE",
            "RATE_LIMIT_NEWS_POSTS_PER_HOUR",
        ] {
            all.push((name, "1000000".to_owned()));
        }
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let config = test_config(&all);
        let infra = Infra::with_pool(config, pool).expect("test infrastructure builds");
        // The revoked-session list, loaded before the first request as the auth service does at
        // start (its periodic sync runs too with the workers): without it every service answers
        // tokens that name a session 503. A test whose Redis is down goes on without it.
        let _ = tiketi_auth::revocation::republish(&infra.db, &infra.redis).await;
        let shutdown = CancellationToken::new();
        let ticket = tiketi_ticket::AppState::new(infra.clone());
        let replica = ticket.queue.replica.to_string();
        if workers {
            tokio::spawn(tiketi::run_with(listener, ticket, shutdown.clone()));
        } else {
            let payment = tiketi_payment::AppState::new(infra.clone());
            let app = tiketi::app_with(infra.clone(), ticket, payment, None);
            let grace = std::time::Duration::from_secs(1);
            tokio::spawn(tiketi_core::server::serve(
                listener,
                app,
                shutdown.clone(),
                grace,
            ));
        }
        let client = tiketi_core::outbound::client(std::time::Duration::from_secs(60));
        Self {
            addr,
            infra,
            client,
            replica,
            shutdown,
        }
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Moves the clock the server's token checks (and its minting) see `secs` forward:
    /// simulated time, for lifetimes without waiting.
    pub fn advance_clock(&self, secs: i64) {
        self.infra.verifier.advance_clock(secs);
    }

    /// Tokens for made-up fans and admins that this server trusts (without going through auth).
    pub fn tokens(&self) -> tiketi_core::testing::TestTokens {
        tiketi_core::testing::TestTokens::install(&self.infra)
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns the status and
    /// the JSON answer (`Null` when the body is not JSON). The one request helper tests share.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The workspace's top directory (where `frontend-dist/`, `k8s/` and `database/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A `redis-server` of the test's own, on its own port, for tests that stop and restart Redis
/// without touching the shared one. Killed when dropped.
pub struct RedisServer {
    /// The port it listens on.
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl RedisServer {
    /// Starts `redis-server` on `port` and returns once it says it accepts connections
    /// (read from its own log on stdout, not by sleeping).
    pub async fn start(port: u16) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (scripts/test.sh installs it)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = async {
            while let Some(line) = lines.next_line().await.expect("read redis-server output") {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        };
        let ready = tokio::time::timeout(std::time::Duration::from_secs(20), ready)
            .await
            .unwrap_or(false);
        assert!(ready, "redis-server on port {port} did not start");
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            port,
            child: Some(child),
        }
    }

    /// The URL to reach it.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it and waits until the process is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }
}

/// One queue-processor tick of every live queue at `now`, answering what it did for `event_id`.
/// Other tests' events are never in this process's Redis prefix, but a test may have several
/// live queues of its own (every event has a queue by default), and the registry is a set whose
/// order is arbitrary: a test must pick its event's outcome by id, never by place.
pub async fn tick_of(
    state: &tiketi_ticket::AppState,
    now: i64,
    event_id: uuid::Uuid,
) -> tiketi_ticket::workers::queue_processor::EventTick {
    tiketi_ticket::workers::queue_processor::tick(state, now)
        .await
        .expect("queue tick")
        .into_iter()
        .find(|t| t.event_id == event_id)
        .unwrap_or_else(|| panic!("event {event_id} has no live queue to tick"))
}
