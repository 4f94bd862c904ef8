//! `tiketi-loadtest`, the surge tool behind `scripts/queue-load-test`: N fans sign in, open a
//! Socket.IO connection each, join one event's queue (`--delay` ms apart, or spread over
//! `--ramp` seconds), wait for `queue-entry-allowed`, shop for `--holdMs` and leave (freeing the
//! slot), and the tool prints what it measured: joins per second, join latency p50/p99, time to
//! admission p50/p99, position updates per second, FIFO inversions, fans lost, fans admitted
//! twice, the largest `currentUsers` seen against the threshold, and errors by kind.
//!
//! With `--reserve` an admitted fan, after its `--holdMs`, buys instead of leaving: it holds
//! `--seatsPerFan` seats (or general-admission tickets when the event has no seats) and pays with
//! the sandbox (`--payMethod`), and the report adds fans who held, paid or found the event sold
//! out, and hold and pay latency p50/p99. A fan who paid does not leave: the purchase freed its
//! slot on the server. `src/buy.rs` tells how fans pick seats without colliding.
//!
//! Fans sign in through `/api/auth/register` (or log in when the account exists, as on a second
//! run with the same `--runId`). For benches without the auth service, `--signingKey` mints
//! tokens with a local Ed25519 key the server trusts through `JWT_PUBLIC_KEY` (`--keygen` writes
//! one and prints the server settings).
//!
//! The Socket.IO client is written here (Engine.IO v4 over a WebSocket, the packets `0`, `2`/`3`,
//! `40`, `42`, `44`): a task and a socket per fan, so ten thousand fans fit in one process.
//! A fan whose WebSocket drops (a replica stopped) reconnects with the same token, re-sends
//! `join-queue` and asks `/api/queue/status` once, so an admission decided while it was away is
//! not missed; the server keeps its place for `idle_grace`. Behind a load balancer with an
//! `AWSALB` stickiness cookie the tool records which backend each fan's socket landed on.
//! The report lists the slowest ticks' deliveries next to the run's percentiles, and at the end
//! the fans still waiting check their status a few at a time, not all at once.
//!
//! `--noSocket` with `--signingKey` measures joins alone: fans join over `--connections`
//! keep-alive connections, one join after another on each (`lanes`).
//!
//! Run it against 127.0.0.1 only. The seat-hold benchmark's load generator is [`holds`].

mod buy;
pub mod holds;
mod lanes;
pub mod sio_reference;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
pub use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use uuid::Uuid;

/// The surge tool's flags (the old script's names: `--users --eventId --apiUrl --socketUrl
/// --delay`, plus ramp, duration and hold options).
#[derive(Parser, Debug, Clone)]
#[command(
    name = "tiketi-loadtest",
    about = "Surge a Tiketi queue with many fans and measure it"
)]
pub struct Args {
    /// How many fans.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// The event whose queue they join.
    #[arg(long = "eventId")]
    pub event_id: Option<Uuid>,
    /// Base URL of the API.
    #[arg(long = "apiUrl", default_value = "http://127.0.0.1:8080")]
    pub api_url: String,
    /// Base URL of Socket.IO (defaults to --apiUrl).
    #[arg(long = "socketUrl")]
    pub socket_url: Option<String>,
    /// Milliseconds between two fans' starts.
    #[arg(long, default_value_t = 0)]
    pub delay: u64,
    /// Spread the starts evenly over this many seconds instead (overrides --delay).
    #[arg(long, default_value_t = 0)]
    pub ramp: u64,
    /// How long fans wait for admission, seconds, before the run ends.
    #[arg(long, default_value_t = 120)]
    pub duration: u64,
    /// How long an admitted fan shops before leaving (and freeing the slot), milliseconds; with
    /// --reserve, before it holds.
    #[arg(long = "holdMs", default_value_t = 500)]
    pub hold_ms: u64,
    /// The queue's tick, for the FIFO check's tolerance (fans admitted in one tick are unordered).
    #[arg(long = "tickMs", default_value_t = 1000)]
    pub tick_ms: u64,
    /// Join over HTTP only, without Socket.IO (measures joins alone; nobody waits).
    #[arg(long = "noSocket")]
    pub no_socket: bool,
    /// With --noSocket: how many joins may be in flight at once (HTTP connections).
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// Mint tokens with this Ed25519 private key (PEM) instead of registering fans.
    #[arg(long = "signingKey")]
    pub signing_key: Option<PathBuf>,
    /// The key id the server knows the signing key by.
    #[arg(long, default_value = "loadtest")]
    pub kid: String,
    /// Write a new signing key to this file, print the server settings that trust it, and exit.
    #[arg(long)]
    pub keygen: Option<PathBuf>,
    /// The fans' password when registering.
    #[arg(long, default_value = "surge-password-2026")]
    pub password: String,
    /// Names the fans' accounts (`surge-<runId>-<i>@loadtest.example`); a second run with the
    /// same id logs the same fans in instead of registering new ones. Random by default.
    #[arg(long = "runId")]
    pub run_id: Option<String>,
    /// Admitted fans buy: hold seats (or general-admission tickets) and pay, instead of leaving
    /// after --holdMs (which becomes the time they look at the seat map first).
    #[arg(long, conflicts_with = "no_socket")]
    pub reserve: bool,
    /// With --reserve: seats (or tickets) each fan holds.
    #[arg(long = "seatsPerFan", default_value_t = 1)]
    pub seats_per_fan: usize,
    /// With --reserve: the sandbox payment method (`card`, `kakao_pay`, ... or `sandbox_decline`).
    #[arg(long = "payMethod", default_value = "card")]
    pub pay_method: String,
    /// In-process callers (tests) may watch the surge: one message per join and admission.
    #[arg(skip)]
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<Progress>>,
}

/// What a surge reports as it happens, to an in-process watcher ([`Args::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A fan's join answered 2xx.
    Joined,
    /// A fan learnt of its admission.
    Admitted,
}

/// One fan's outcome, for callers that check more than the totals (not printed).
#[derive(Debug, Clone, Default)]
pub struct FanOutcome {
    /// The `AWSALB` cookie value the load balancer set on the fan's first socket (its backend).
    pub backend: Option<String>,
    /// When the fan learnt of its admission (Unix ms).
    pub admitted_wall_ms: Option<i64>,
    /// The fan learnt of it from a `queue-entry-allowed` push (not from the join or a status
    /// check after a reconnect).
    pub admitted_by_push: bool,
    /// Times the fan's socket dropped and was opened again.
    pub reconnects: u32,
}

/// p50 and p99 of a sample, milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// How one tick's `queue-position` messages (those sharing a `sentAt` stamp) arrived.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickDelivery {
    /// The tick's `sentAt` stamp, in seconds since the run started.
    pub at_second: f64,
    /// Positions of that tick received.
    pub received: usize,
    /// Delivery of that tick's positions, ms.
    pub delivery_ms: Percentiles,
    /// The slowest one, ms.
    pub max_ms: f64,
}

/// What a surge measured.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Fans started.
    pub fans: usize,
    /// Fans whose join answered 2xx.
    pub joined: usize,
    /// Successful joins over the span from the first join sent to the last answered.
    pub joins_per_second: f64,
    /// HTTP join latency.
    pub join_latency_ms: Percentiles,
    /// Fans admitted (at once or told by `queue-entry-allowed`).
    pub admitted: usize,
    /// From sending the join to being admitted.
    pub time_to_admission_ms: Percentiles,
    /// `queue-position` messages received per second of the run.
    pub position_updates_per_second: f64,
    /// `queue-position` messages received in all.
    pub position_updates: u64,
    /// From the server's `sentAt` stamp to receipt of each `queue-position`.
    pub position_delivery_ms: Percentiles,
    /// The ticks whose positions arrived slowest (by their p99), worst first: one stalled tick
    /// is enough to set the run's p99, and this tells it from a slow run.
    pub slowest_ticks: Vec<TickDelivery>,
    /// From the admission decision (`decidedAt`) to receipt of `queue-entry-allowed`.
    pub admission_delivery_ms: Percentiles,
    /// Pairs admitted out of join order by more than a tick.
    pub fifo_inversions: u64,
    /// Fans who were queued, never admitted, and are no longer in the queue.
    pub fans_lost: usize,
    /// Fans told `queue-entry-allowed` more than once.
    pub fans_admitted_twice: usize,
    /// The largest `currentUsers` any fan saw.
    pub max_active_observed: u64,
    /// The queue's threshold as the join answers gave it.
    pub threshold: u64,
    /// Errors by kind.
    pub errors: BTreeMap<String, usize>,
    /// Socket reconnects after a drop, all fans.
    pub reconnects: u64,
    /// With `--reserve`: fans whose hold (seats or tickets) answered 201.
    pub fans_held: usize,
    /// With `--reserve`: fans whose payment was confirmed.
    pub fans_paid: usize,
    /// With `--reserve`: admitted fans who found nothing left to hold.
    pub fans_sold_out: usize,
    /// With `--reserve`: the hold request that succeeded.
    pub hold_latency_ms: Percentiles,
    /// With `--reserve`: prepare and confirm together, for fans who paid.
    pub pay_latency_ms: Percentiles,
    /// With `--reserve`: holds refused `seat_unavailable` and tried again with other seats.
    pub hold_retries: u64,
    /// Wall time of the run.
    pub elapsed_seconds: f64,
    /// Per fan, in start order.
    #[serde(skip)]
    pub outcomes: Vec<FanOutcome>,
}

/// What happened to one fan.
#[derive(Debug, Default, Clone)]
struct Fan {
    join_sent: Option<Instant>,
    join_done: Option<Instant>,
    queued: bool,
    admitted_at: Option<Instant>,
    admissions: u32,
    positions: u64,
    max_current: u64,
    threshold: u64,
    lost: bool,
    errors: Vec<String>,
    /// Each `queue-position`'s server stamp (`sentAt`, Unix ms) and delay to receipt, ms.
    position_delays: Vec<(i64, f64)>,
    /// Admission decision to receipt of `queue-entry-allowed`, ms.
    admission_delay: Option<f64>,
    outcome: FanOutcome,
    /// With `--reserve`.
    purchase: buy::Purchase,
}

/// Runs the surge described by `args` (or `--keygen`) and returns the measurements.
pub async fn run(args: Args) -> anyhow::Result<Option<Report>> {
    if let Some(path) = &args.keygen {
        keygen(path, &args.kid)?;
        return Ok(None);
    }
    let Some(event_id) = args.event_id else {
        bail!("--eventId is required");
    };
    if args.run_id.as_ref().is_some_and(|id| {
        id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }) {
        bail!("--runId must be letters, digits and dashes (it goes into e-mail addresses)");
    }
    let signer = match &args.signing_key {
        Some(path) => Some(tiketi_core::auth::SigningKey::from_pem(
            &args.kid,
            &std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?,
        )?),
        None => None,
    };
    tiketi_core::outbound::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(30))
        .build()?;
    // Read before the clock, like a fan who has the seat map open before the on-sale.
    let stock = if args.reserve {
        Some(Arc::new(buy::Stock::load(&client, &args, event_id).await?))
    } else {
        None
    };
    let started = Instant::now();
    let fans: Arc<Mutex<Vec<Fan>>> = Arc::new(Mutex::new(vec![Fan::default(); args.users]));
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| Uuid::new_v4().simple().to_string()[..8].to_owned());
    let spacing = if args.ramp > 0 {
        Duration::from_secs(args.ramp) / args.users.max(1) as u32
    } else {
        Duration::from_millis(args.delay)
    };
    let deadline =
        Instant::now() + Duration::from_secs(args.duration) + spacing * args.users as u32;
    eprintln!(
        "surge: {} fans on event {event_id} via {} (run {run_id})",
        args.users, args.api_url
    );
    if let Some(stock) = &stock {
        eprintln!("surge: fans buy: {}", stock.describe());
    }
    // Tokens first, so minting does not pace the joins.
    let mut minted: Vec<Option<String>> = Vec::with_capacity(args.users);
    for i in 0..args.users {
        minted.push(match &signer {
            Some(key) => {
                let user = tiketi_core::auth::AuthUser {
                    id: Uuid::new_v4(),
                    email: format!("surge-{run_id}-{i}@loadtest.example"),
                    role: tiketi_core::auth::Role::User,
                };
                Some(key.mint(&user, 3600)?)
            }
            None => None,
        });
    }
    if args.no_socket && signer.is_some() {
        let tokens = minted.into_iter().flatten().collect();
        let fans = lanes::join_all(
            &args.api_url,
            event_id,
            tokens,
            args.connections,
            spacing,
            args.progress.clone(),
        )
        .await?;
        return Ok(Some(report(&args, &fans, started.elapsed())));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(args.connections.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, token) in minted.into_iter().enumerate() {
        let limit = limit.clone();
        let (args, client, fans) = (args.clone(), client.clone(), fans.clone());
        let (run_id, stock) = (run_id.clone(), stock.clone());
        tasks.spawn(async move {
            let mut fan = Fan::default();
            let token = match token {
                Some(t) => Ok(t),
                None => sign_in(&client, &args, &run_id, i).await,
            };
            match token {
                Ok(token) => {
                    let permit = if args.no_socket {
                        limit.acquire_owned().await.ok()
                    } else {
                        None
                    };
                    let stock = stock.as_deref();
                    if let Err(e) =
                        run_fan(&args, &client, event_id, &token, deadline, stock, &mut fan).await
                    {
                        fan.errors.push(error_kind(&e));
                    }
                    drop(permit);
                }
                Err(e) => fan.errors.push(format!("sign-in: {}", error_kind(&e))),
            }
            fans.lock().await[i] = fan;
        });
        if !spacing.is_zero() {
            tokio::time::sleep(spacing).await;
        }
    }
    while tasks.join_next().await.is_some() {}
    let fans = fans.lock().await.clone();
    Ok(Some(report(&args, &fans, started.elapsed())))
}

fn keygen(path: &PathBuf, kid: &str) -> anyhow::Result<()> {
    let generated = tiketi_core::auth::SigningKey::generate()?;
    let key = tiketi_core::auth::SigningKey::from_pem(kid, &generated.to_pem())?;
    std::fs::write(path, key.to_pem())?;
    println!("JWT_PUBLIC_KEY_ID={kid}");
    println!("JWT_PUBLIC_KEY='{}'", public_key_pem(&key)?);
    Ok(())
}

/// The PEM public key (`JWT_PUBLIC_KEY`) a server needs to trust tokens minted with `key`.
pub fn public_key_pem(key: &tiketi_core::auth::SigningKey) -> anyhow::Result<String> {
    use base64::Engine;
    let jwk = key.public_jwk()?;
    let jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) = jwk.algorithm else {
        bail!("not an Ed25519 key");
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(okp.x)?;
    // SubjectPublicKeyInfo for Ed25519 (RFC 8410): fixed prefix, then the 32-byte key.
    let mut der = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    der.extend_from_slice(&raw);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    Ok(format!(
        "-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----"
    ))
}

async fn sign_in(
    client: &reqwest::Client,
    args: &Args,
    run_id: &str,
    i: usize,
) -> anyhow::Result<String> {
    let email = format!("surge-{run_id}-{i}@loadtest.example");
    let res = client
        .post(format!("{}/api/auth/register", args.api_url))
        .json(&json!({"email": email, "password": args.password, "name": format!("Surge fan {i}")}))
        .send()
        .await?;
    let res = if res.status() == 409 {
        client
            .post(format!("{}/api/auth/login", args.api_url))
            .json(&json!({"email": email, "password": args.password}))
            .send()
            .await?
    } else {
        res
    };
    if !res.status().is_success() {
        bail!("http {}", res.status().as_u16());
    }
    let body: Value = res.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the sign-in answer")
}

/// A client WebSocket.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a Socket.IO connection with `auth: {token}` and joins the event's queue room.
/// Also returns the `AWSALB` cookie a load balancer set on the handshake, if any.
async fn connect_socket(
    args: &Args,
    token: &str,
    event_id: Uuid,
) -> anyhow::Result<(Ws, Option<String>)> {
    let base = args.socket_url.as_deref().unwrap_or(&args.api_url);
    let (mut ws, response) = open_socketio(base, &json!({"token": token}).to_string()).await?;
    let backend = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("AWSALB="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned());
    let join = json!(["join-queue", {"eventId": event_id}]);
    ws.send(Message::text(format!("42{join}"))).await?;
    Ok((ws, backend))
}

/// Opens a WebSocket-only Socket.IO connection to the default namespace of the server at `base`
/// (`http://host:port`) with the CONNECT payload `auth` (JSON), and waits for the server to
/// accept it. Answers the socket and the handshake's HTTP response.
pub async fn open_socketio(
    base: &str,
    auth: &str,
) -> anyhow::Result<(
    Ws,
    tokio_tungstenite::tungstenite::handshake::client::Response,
)> {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    );
    // tungstenite zero-fills its whole read buffer before every read (128 KiB by default): with
    // thousands of sockets that memset was half of the tool's CPU (perf), time taken from the
    // server it measures on the same cores. Server packets here are a few hundred bytes.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut ws, response) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .context("socket")?;
    // Engine.IO open packet first, then the Socket.IO CONNECT with the auth payload.
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        bail!("socket: unexpected open packet");
    }
    ws.send(Message::text(format!("40{auth}"))).await?;
    loop {
        let packet = next_text(&mut ws).await?;
        if packet.starts_with("40") {
            return Ok((ws, response));
        }
        if packet.starts_with("44") {
            bail!("socket: connect refused");
        }
        if packet == "2" {
            ws.send(Message::text("3")).await?;
        }
    }
}

/// The end-of-run status checks of fans still waiting, in flight at once (across every surge
/// of the process).
static END_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(32);

/// How many times a fan opens its socket again after it dropped.
const RECONNECT_ATTEMPTS: u32 = 20;

/// Opens the socket (first time or again after a drop), retrying while the load balancer still
/// routes to a stopped backend (a short backoff between tries, bounded by `deadline`).
async fn reconnect(
    args: &Args,
    token: &str,
    event_id: Uuid,
    deadline: Instant,
) -> anyhow::Result<(Ws, Option<String>)> {
    let mut last = None;
    for attempt in 1..=RECONNECT_ATTEMPTS {
        if Instant::now() >= deadline {
            break;
        }
        match connect_socket(args, token, event_id).await {
            Ok(opened) => return Ok(opened),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("socket: reconnect ran out of time")))
}

/// Sends an HTTP request, again when a load balancer answers 502/503/504 because the backend it
/// chose just stopped (joins, status checks, leaves, payment prepares and confirms are
/// idempotent; holds are not and do not come here).
async fn send_retrying(
    build: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<reqwest::Response> {
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        let res = build().send().await;
        let retry = match &res {
            Ok(r) => matches!(r.status().as_u16(), 502..=504),
            Err(e) => e.is_connect() || e.is_request(),
        };
        if !retry || attempt >= 5 {
            return Ok(res?);
        }
        tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
    }
}

/// The fields of the join answer the tool reads.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinAnswer {
    queued: bool,
    threshold: Option<u64>,
    current_users: Option<u64>,
}

/// A Socket.IO event packet's array, `[name, payload]`, with the payload fields the tool reads.
#[derive(serde::Deserialize)]
struct Pushed<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>, PushedData);

/// The payload fields the tool reads; the rest are skipped.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PushedData {
    /// `queue-position`: when the admitter made it.
    sent_at: Option<i64>,
    /// `queue-updated`: fans admitted.
    current_users: Option<u64>,
    /// `queue-entry-allowed`: when the admitter decided it.
    decided_at: Option<i64>,
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<Utf8Bytes> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t),
            Some(Ok(Message::Close(_))) | None => bail!("socket: closed"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("socket: {e}"),
        }
    }
}

async fn run_fan(
    args: &Args,
    client: &reqwest::Client,
    event_id: Uuid,
    token: &str,
    deadline: Instant,
    stock: Option<&buy::Stock>,
    fan: &mut Fan,
) -> anyhow::Result<()> {
    let mut ws = if args.no_socket {
        None
    } else {
        // The first connect retries too: the load balancer may pick a replica that just stopped.
        let (ws, backend) = reconnect(args, token, event_id, deadline).await?;
        fan.outcome.backend = backend;
        Some(ws)
    };
    let sent = Instant::now();
    fan.join_sent = Some(sent);
    let res = send_retrying(|| {
        client
            .post(format!("{}/api/queue/check/{event_id}", args.api_url))
            .bearer_auth(token)
    })
    .await
    .context("join")?;
    if !res.status().is_success() {
        bail!("join: http {}", res.status().as_u16());
    }
    let body: JoinAnswer = res.json().await.context("join")?;
    fan.join_done = Some(Instant::now());
    fan.threshold = body.threshold.unwrap_or(0);
    fan.max_current = body.current_users.unwrap_or(0);
    fan.queued = body.queued;
    notify(args, Progress::Joined);
    if !fan.queued {
        fan.admitted_at = fan.join_done;
        fan.outcome.admitted_wall_ms = Some(wall_ms());
        fan.admissions = 1;
        notify(args, Progress::Admitted);
    }
    let Some(ws) = ws.as_mut() else {
        return Ok(());
    };
    let mut leave_at = fan
        .admitted_at
        .map(|_| Instant::now() + Duration::from_millis(args.hold_ms));
    // An admission learnt from a status check after a reconnect: a `queue-entry-allowed`
    // decided before that check is the same admission arriving late, not a second one.
    let mut admitted_by_status_at: Option<i64> = None;
    loop {
        let until = leave_at.unwrap_or(deadline).min(deadline);
        let packet = match tokio::time::timeout_at(until.into(), next_text(ws)).await {
            Ok(Ok(p)) => p,
            // Admitted and shopping: the socket is no longer needed; leave as planned.
            Ok(Err(_)) if fan.admitted_at.is_some() => break,
            Ok(Err(_)) => {
                // The socket dropped (its replica stopped): same token, same place in line.
                *ws = reconnect(args, token, event_id, until).await?.0;
                fan.outcome.reconnects += 1;
                // The fan's user room is joined once the connect is acknowledged: an admission
                // decided from now on arrives as a push, one decided while away shows here.
                let status: Value = send_retrying(|| {
                    client
                        .get(format!("{}/api/queue/status/{event_id}", args.api_url))
                        .bearer_auth(token)
                })
                .await?
                .json()
                .await?;
                if status["status"] == "active" {
                    fan.admissions += 1;
                    fan.admitted_at = Some(Instant::now());
                    fan.outcome.admitted_wall_ms = Some(wall_ms());
                    admitted_by_status_at = Some(wall_ms());
                    leave_at = Some(Instant::now() + Duration::from_millis(args.hold_ms));
                    notify(args, Progress::Admitted);
                }
                continue;
            }
            Err(_) => break,
        };
        if packet == "2" {
            ws.send(Message::text("3")).await?;
            continue;
        }
        let Some(event) = packet.strip_prefix("42") else {
            continue;
        };
        // Only the fields measured here, read straight from the text (no JSON tree per packet:
        // ten thousand fans parse a packet each per tick on the cores the server uses).
        let Ok(Pushed(name, data)) = serde_json::from_str::<Pushed>(event) else {
            continue;
        };
        match name.as_ref() {
            // A position read after the deadline waited behind the run's end (the tool stops
            // reading then): outside the measured window.
            "queue-position" => {
                fan.positions += 1;
                if let Some(sent) = data.sent_at {
                    fan.position_delays.push((sent, (wall_ms() - sent) as f64));
                }
            }
            "queue-updated" => {
                fan.max_current = fan.max_current.max(data.current_users.unwrap_or(0));
            }
            "queue-entry-allowed" => {
                let decided = data.decided_at;
                if admitted_by_status_at.is_some_and(|at| decided.is_some_and(|d| d <= at)) {
                    continue;
                }
                fan.admissions += 1;
                if fan.admitted_at.is_none() {
                    fan.admitted_at = Some(Instant::now());
                    fan.outcome.admitted_wall_ms = Some(wall_ms());
                    fan.outcome.admitted_by_push = true;
                    notify(args, Progress::Admitted);
                    fan.admission_delay = decided.map(|d| (wall_ms() - d) as f64);
                    leave_at = Some(Instant::now() + Duration::from_millis(args.hold_ms));
                }
            }
            _ => {}
        }
    }
    let paid = match stock {
        Some(stock) if fan.admitted_at.is_some() => {
            let bought = buy::buy(client, args, stock, event_id, token, &mut fan.purchase).await;
            if let Err(e) = bought {
                fan.errors.push(error_kind(&e));
            }
            fan.purchase.paid
        }
        _ => false,
    };
    // A fan who paid does not leave: the purchase freed its slot on the server (see buy::buy).
    if fan.admitted_at.is_some() && !paid {
        // Done shopping (or sold out, or the purchase failed): free the slot at once.
        let _ = send_retrying(|| {
            client
                .post(format!("{}/api/queue/leave/{event_id}", args.api_url))
                .bearer_auth(token)
        })
        .await;
    } else if fan.admitted_at.is_none() {
        // Never admitted: still waiting is fine (the run ended); gone from the queue is lost.
        // Every waiting fan asks at the same deadline: a few at a time, so the tool's own
        // bookkeeping does not flood the server it measures.
        let _permit = END_CHECKS.acquire().await;
        let status: Value = send_retrying(|| {
            client
                .get(format!("{}/api/queue/status/{event_id}", args.api_url))
                .bearer_auth(token)
        })
        .await?
        .json()
        .await?;
        fan.lost = status["status"] == "not_in_queue";
    }
    let _ = ws.close(None).await;
    Ok(())
}

fn notify(args: &Args, progress: Progress) {
    if let Some(tx) = &args.progress {
        // The watcher may have stopped listening; the surge goes on.
        let _ = tx.send(progress);
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn error_kind(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    text.split(':').take(2).collect::<Vec<_>>().join(":")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(args: &Args, fans: &[Fan], elapsed: Duration) -> Report {
    let joined: Vec<&Fan> = fans.iter().filter(|f| f.join_done.is_some()).collect();
    let mut latencies: Vec<f64> = joined
        .iter()
        .map(|f| ms(f.join_done.unwrap() - f.join_sent.unwrap()))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let first = joined.iter().filter_map(|f| f.join_sent).min();
    let last = joined.iter().filter_map(|f| f.join_done).max();
    let join_window = match (first, last) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    let mut to_admission: Vec<f64> = fans
        .iter()
        .filter_map(|f| Some(ms(f.admitted_at? - f.join_sent?)))
        .collect();
    to_admission.sort_by(f64::total_cmp);
    let positions: u64 = fans.iter().map(|f| f.positions).sum();
    let mut by_tick: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (sent, delay) in fans.iter().flat_map(|f| f.position_delays.iter().copied()) {
        by_tick.entry(sent).or_default().push(delay);
    }
    let mut position_delays: Vec<f64> = by_tick.values().flatten().copied().collect();
    position_delays.sort_by(f64::total_cmp);
    let started_ms = wall_ms() - elapsed.as_millis() as i64;
    let mut slowest_ticks: Vec<TickDelivery> = by_tick
        .into_iter()
        .map(|(sent, mut delays)| {
            delays.sort_by(f64::total_cmp);
            TickDelivery {
                at_second: round((sent - started_ms) as f64 / 1000.0),
                received: delays.len(),
                delivery_ms: Percentiles {
                    p50: round(percentile(&delays, 50.0)),
                    p99: round(percentile(&delays, 99.0)),
                },
                max_ms: round(delays.last().copied().unwrap_or(f64::NAN)),
            }
        })
        .collect();
    slowest_ticks.sort_by(|a, b| b.delivery_ms.p99.total_cmp(&a.delivery_ms.p99));
    slowest_ticks.truncate(5);
    let mut admission_delays: Vec<f64> = fans.iter().filter_map(|f| f.admission_delay).collect();
    admission_delays.sort_by(f64::total_cmp);
    let admitted = fans.iter().filter(|f| f.admitted_at.is_some()).count();
    let twice = fans.iter().filter(|f| f.admissions > 1).count();
    let lost = fans.iter().filter(|f| f.lost).count();
    let max_current = fans.iter().map(|f| f.max_current).max().unwrap_or(0);
    let threshold = fans.iter().map(|f| f.threshold).max().unwrap_or(0);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for e in fans.iter().flat_map(|f| f.errors.iter()) {
        *errors.entry(e.clone()).or_default() += 1;
    }
    // FIFO: a fan whose join finished before another's began must not be admitted more than a
    // tick after it (fans admitted in one tick are told in no particular order).
    let mut queued: Vec<(Instant, Instant, Instant)> = fans
        .iter()
        .filter(|f| f.queued)
        .filter_map(|f| Some((f.join_sent?, f.join_done?, f.admitted_at?)))
        .collect();
    queued.sort_by_key(|q| q.1);
    let tolerance = Duration::from_millis(args.tick_ms);
    let mut inversions = 0u64;
    for (i, a) in queued.iter().enumerate() {
        for b in &queued[i + 1..] {
            if a.1 < b.0 && b.2 + tolerance < a.2 {
                inversions += 1;
            }
        }
    }
    let wait_window = elapsed.as_secs_f64().max(1e-9);
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        Percentiles {
            p50: round(percentile(&v, 50.0)),
            p99: round(percentile(&v, 99.0)),
        }
    };
    let purchases: Vec<&buy::Purchase> = fans.iter().map(|f| &f.purchase).collect();
    Report {
        fans: fans.len(),
        joined: joined.len(),
        joins_per_second: round(joined.len() as f64 / join_window.max(1e-9)),
        join_latency_ms: Percentiles {
            p50: round(percentile(&latencies, 50.0)),
            p99: round(percentile(&latencies, 99.0)),
        },
        admitted,
        time_to_admission_ms: Percentiles {
            p50: round(percentile(&to_admission, 50.0)),
            p99: round(percentile(&to_admission, 99.0)),
        },
        position_updates_per_second: round(positions as f64 / wait_window),
        position_updates: positions,
        position_delivery_ms: Percentiles {
            p50: round(percentile(&position_delays, 50.0)),
            p99: round(percentile(&position_delays, 99.0)),
        },
        slowest_ticks,
        admission_delivery_ms: Percentiles {
            p50: round(percentile(&admission_delays, 50.0)),
            p99: round(percentile(&admission_delays, 99.0)),
        },
        fifo_inversions: inversions,
        fans_lost: lost,
        fans_admitted_twice: twice,
        max_active_observed: max_current,
        threshold,
        errors,
        reconnects: fans.iter().map(|f| u64::from(f.outcome.reconnects)).sum(),
        fans_held: purchases.iter().filter(|p| p.held).count(),
        fans_paid: purchases.iter().filter(|p| p.paid).count(),
        fans_sold_out: purchases.iter().filter(|p| p.sold_out).count(),
        hold_latency_ms: sorted(purchases.iter().filter_map(|p| p.hold_ms).collect()),
        pay_latency_ms: sorted(purchases.iter().filter_map(|p| p.pay_ms).collect()),
        hold_retries: purchases.iter().map(|p| u64::from(p.hold_retries)).sum(),
        elapsed_seconds: round(elapsed.as_secs_f64()),
        outcomes: fans.iter().map(|f| f.outcome.clone()).collect(),
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
