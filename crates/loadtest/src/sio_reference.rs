//! The Socket.IO reference the waiting-room benchmark compares itself with (`scripts/bench-queue`):
//! bare socketioxide, the version and defaults Tiketi builds on, with nothing of ours in it, and
//! a client that measures it the way the surge tool measures Tiketi.
//!
//! - `tiketi-bench-sio server --port P`: an axum server whose only routes are Socket.IO (every
//!   socket joins room `all`), `POST /burst?n=K`, which emits K events to the room as fast as
//!   socketioxide takes them, and `GET /trivial`, the trivial axum handler whose rate under
//!   `wrk` is the ceiling HTTP joins are compared with.
//! - `tiketi-bench-sio client --url U --sockets N --serverPid PID`: opens N WebSocket-only
//!   Socket.IO connections (Engine.IO v4, as the surge tool does), reads the server's resident
//!   memory before and after (the two processes share this machine), then asks for bursts and
//!   counts what arrives: memory per idle connection and fan-out messages per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::post;
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use tokio_tungstenite::tungstenite::Message;

/// `tiketi-bench-sio`'s flags.
#[derive(Parser, Debug)]
#[command(
    name = "tiketi-bench-sio",
    about = "Bare socketioxide, measured: the waiting-room benchmark's reference"
)]
pub struct SioArgs {
    /// Which side to run.
    #[command(subcommand)]
    pub role: Role,
}

/// The two sides of the reference.
#[derive(Subcommand, Debug)]
pub enum Role {
    /// Serve bare Socket.IO on 127.0.0.1.
    Server {
        /// Listening port.
        #[arg(long)]
        port: u16,
    },
    /// Connect sockets to a reference server and measure it.
    Client {
        /// The server's base URL.
        #[arg(long)]
        url: String,
        /// How many sockets.
        #[arg(long, default_value_t = 10_000)]
        sockets: usize,
        /// The server's process id, to read its resident memory.
        #[arg(long = "serverPid")]
        server_pid: u32,
        /// Broadcasts to the room of all sockets in the fan-out measurement.
        #[arg(long, default_value_t = 30)]
        bursts: u64,
    },
}

/// What the client measured.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SioReport {
    /// Sockets connected.
    pub connected: usize,
    /// Server RSS before the sockets connected, KiB.
    pub rss_idle_kib: u64,
    /// Server RSS with every socket connected and idle, KiB.
    pub rss_connected_kib: u64,
    /// `(connected - idle) / sockets`.
    pub kib_per_connection: f64,
    /// Messages the fan-out delivered (bursts x sockets).
    pub messages: u64,
    /// From asking for the bursts to the last message read.
    pub seconds: f64,
    /// `messages / seconds`.
    pub messages_per_second: f64,
}

/// Runs the side `args` names; the client answers its report.
pub async fn run(args: SioArgs) -> anyhow::Result<Option<SioReport>> {
    match args.role {
        Role::Server { port } => {
            serve(port).await?;
            Ok(None)
        }
        Role::Client {
            url,
            sockets,
            server_pid,
            bursts,
        } => Ok(Some(measure(&url, sockets, server_pid, bursts).await?)),
    }
}

#[derive(serde::Deserialize)]
struct Burst {
    n: u64,
}

async fn serve(port: u16) -> anyhow::Result<()> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |socket: SocketRef| socket.join("all"));
    let app = Router::new()
        .route("/trivial", axum::routing::get(async || "ok"))
        .route(
            "/burst",
            post(async |State(io): State<SocketIo>, Query(b): Query<Burst>| {
                for i in 0..b.n {
                    let _ = io.to("all").emit("tick", &i).await;
                }
            }),
        )
        .with_state(io)
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Resident memory of process `pid`, KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

async fn measure(
    url: &str,
    sockets: usize,
    server_pid: u32,
    bursts: u64,
) -> anyhow::Result<SioReport> {
    let rss_idle_kib = rss_kib(server_pid)?;
    let received = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(AtomicU64::new(0));
    // Connections open a few hundred at a time (as fans arrive over a ramp): a single instant
    // burst of thousands overflows the listen backlog, which measures the kernel, not Socket.IO.
    let opening = Arc::new(tokio::sync::Semaphore::new(256));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..sockets {
        let (received, connected, opening, stop) = (
            received.clone(),
            connected.clone(),
            opening.clone(),
            stop.clone(),
        );
        let url = url.to_owned();
        tasks.spawn(async move {
            let permit = opening.acquire_owned().await;
            let mut ws = crate::open_socketio(&url, "{}").await?.0;
            drop(permit);
            connected.fetch_add(1, Ordering::Relaxed);
            loop {
                let msg = tokio::select! {
                    m = ws.next() => m,
                    _ = stop.notified() => break,
                };
                match msg {
                    Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                        ws.send(Message::text("3")).await?;
                    }
                    Some(Ok(Message::Text(t))) if t.as_str().starts_with("42") => {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
            anyhow::Ok(())
        });
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while (connected.load(Ordering::Relaxed) as usize) < sockets {
        if Instant::now() > deadline
            || tasks
                .try_join_next()
                .is_some_and(|r| !matches!(r, Ok(Ok(()))))
        {
            bail!(
                "only {} of {sockets} sockets connected",
                connected.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the connection tasks settle before reading the server's memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected_kib = rss_kib(server_pid)?;

    let expected = bursts * sockets as u64;
    tiketi_core::outbound::install_crypto_provider();
    let started = Instant::now();
    reqwest::Client::new()
        .post(format!("{url}/burst?n={bursts}"))
        .send()
        .await?
        .error_for_status()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let messages = received.load(Ordering::Relaxed);
    stop.notify_waiters();
    tasks.abort_all();
    Ok(SioReport {
        connected: sockets,
        rss_idle_kib,
        rss_connected_kib,
        kib_per_connection: round(
            rss_connected_kib.saturating_sub(rss_idle_kib) as f64 / sockets as f64,
        ),
        messages,
        seconds: round(seconds),
        messages_per_second: round(messages as f64 / seconds),
    })
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
