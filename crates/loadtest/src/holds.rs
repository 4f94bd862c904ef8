//! The seat-hold load generator behind `scripts/bench-holds`: `--concurrency` fans at a time
//! each `POST /api/seats/reserve` the next seats of a shuffled list (so every seat is asked for
//! once and a hold is refused only when the server is wrong or the sale is), and it prints holds
//! per second, seats per second and latency percentiles as JSON.
//!
//! Every hold is a new fan: its token is minted before the clock starts (a fan signs in before
//! the on-sale, not while holding), with a local Ed25519 key the server trusts through
//! `JWT_PUBLIC_KEY`. With `--probe auth` each request sends an empty seat list instead: the
//! server checks the token and the body and answers 400 without touching Redis or Postgres,
//! which measures the floor this client, HTTP and token checking set on this machine.
//!
//! It is bounded (the seats run out, or `--max-seconds`) and only talks to 127.0.0.1.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;
use uuid::Uuid;

/// Flags of `tiketi-bench-holds`.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "tiketi-bench-holds",
    about = "Hold seats through the HTTP API as fast as N fans can"
)]
pub struct HoldArgs {
    /// Base URL of the ticket API (127.0.0.1 only).
    #[arg(long)]
    pub url: String,
    /// The on-sale event.
    #[arg(long)]
    pub event: Uuid,
    /// A file of seat ids, one per line (every seat of the event).
    #[arg(long)]
    pub seats: PathBuf,
    /// The Ed25519 private key (PEM, as `tiketi-loadtest --keygen` writes it) tokens are signed with.
    #[arg(long)]
    pub key: PathBuf,
    /// The key id the server knows that key by.
    #[arg(long, default_value = "bench")]
    pub kid: String,
    /// Fans holding at the same time (one HTTP connection each).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seats per hold.
    #[arg(long = "seats-per-hold", default_value_t = 1)]
    pub seats_per_hold: usize,
    /// Stop after this many seconds even if seats are left.
    #[arg(long = "max-seconds", default_value_t = 60)]
    pub max_seconds: u64,
    /// `auth`: send empty seat lists (the HTTP + token floor, see the module docs).
    #[arg(long)]
    pub probe: Option<String>,
    /// Before the clock starts, hold every seat of this other event the same way (new fans,
    /// same concurrency): the server's connections are open and its plans made, as they are
    /// when an on-sale opens on a running service. Not counted.
    #[arg(long = "warmup-event")]
    pub warmup_event: Option<Uuid>,
    /// The warm-up event's seat ids, one per line.
    #[arg(long = "warmup-seats")]
    pub warmup_seats: Option<PathBuf>,
}

/// One prepared request: a new fan's token and the seats it asks for.
struct Job {
    authorization: String,
    body: Vec<u8>,
    seats: usize,
}

/// What one request came back with.
struct Outcome {
    /// When it was sent, seconds after the first request of its phase.
    started_s: f64,
    status: u16,
    latency_ms: f64,
    seats: usize,
}

/// Reads a file of seat ids, one per line, shuffled.
fn seat_list(path: &PathBuf) -> anyhow::Result<Vec<Uuid>> {
    let mut seats: Vec<Uuid> = std::fs::read_to_string(path)
        .with_context(|| format!("{path:?}"))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(Uuid::parse_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("a line of {path:?} is not a seat id"))?;
    shuffle(&mut seats);
    Ok(seats)
}

/// One new fan (a token of its own) per `per_hold` seats of `seats`, for `event`.
fn jobs_for(
    key: &tiketi_core::auth::SigningKey,
    event: Uuid,
    seats: &[Uuid],
    per_hold: usize,
    probe: bool,
) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::with_capacity(seats.len() / per_hold);
    for chunk in seats.chunks_exact(per_hold) {
        let fan = Uuid::new_v4();
        let user = tiketi_core::auth::AuthUser {
            id: fan,
            email: format!("{fan}@bench.tiketi.example"),
            role: tiketi_core::auth::Role::User,
        };
        let asked: &[Uuid] = if probe { &[] } else { chunk };
        jobs.push(Job {
            authorization: format!("Bearer {}", key.mint(&user, 3600)?),
            body: serde_json::to_vec(&json!({"eventId": event, "seatIds": asked}))?,
            seats: chunk.len(),
        });
    }
    Ok(jobs)
}

/// Sends `jobs` with `concurrency` requests in flight until they run out or `stop_at`.
async fn fire(
    client: &reqwest::Client,
    url: &reqwest::Url,
    jobs: Vec<Job>,
    concurrency: usize,
    stop_at: Instant,
) -> anyhow::Result<Vec<Outcome>> {
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (jobs, next, client, url) = (jobs.clone(), next.clone(), client.clone(), url.clone());
        workers.spawn(async move {
            let mut outcomes = Vec::new();
            while Instant::now() < stop_at {
                let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let t0 = Instant::now();
                let status = match client
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header("authorization", &job.authorization)
                    .body(job.body.clone())
                    .send()
                    .await
                {
                    // Read the answer to the end so the connection is reused.
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let _ = res.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                outcomes.push(Outcome {
                    started_s: t0.duration_since(started).as_secs_f64(),
                    status,
                    latency_ms: t0.elapsed().as_secs_f64() * 1000.0,
                    seats: job.seats,
                });
            }
            outcomes
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = workers.join_next().await {
        outcomes.extend(done?);
    }
    Ok(outcomes)
}

/// Runs the holds (after the warm-up, when asked for) and returns the JSON report.
pub async fn run(args: HoldArgs) -> anyhow::Result<serde_json::Value> {
    let base = reqwest::Url::parse(&args.url).context("--url")?;
    if base.host_str() != Some("127.0.0.1") {
        bail!("bench-holds only runs against 127.0.0.1");
    }
    if args.seats_per_hold == 0 || args.concurrency == 0 {
        bail!("--seats-per-hold and --concurrency must be at least 1");
    }
    let probe = match args.probe.as_deref() {
        None => false,
        Some("auth") => true,
        Some(other) => bail!("unknown --probe {other} (only `auth`)"),
    };
    let pem = std::fs::read_to_string(&args.key).with_context(|| format!("{:?}", args.key))?;
    let key = tiketi_core::auth::SigningKey::from_pem(&args.kid, &pem)?;
    // Tokens and bodies up front, so neither signing nor JSON counts against the server.
    let seats = seat_list(&args.seats)?;
    let jobs = jobs_for(&key, args.event, &seats, args.seats_per_hold, probe)?;
    let warmup = match (&args.warmup_event, &args.warmup_seats) {
        (Some(event), Some(path)) => {
            jobs_for(&key, *event, &seat_list(path)?, args.seats_per_hold, probe)?
        }
        (None, None) => Vec::new(),
        _ => bail!("--warmup-event and --warmup-seats go together"),
    };
    let url = base.join("/api/seats/reserve")?;
    tiketi_core::outbound::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut warmed = BTreeMap::<u16, usize>::new();
    if !warmup.is_empty() {
        let bound = Instant::now() + Duration::from_secs(args.max_seconds);
        for o in fire(&client, &url, warmup, args.concurrency, bound).await? {
            *warmed.entry(o.status).or_default() += 1;
        }
    }
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(args.max_seconds);
    let outcomes = fire(&client, &url, jobs, args.concurrency, stop_at).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut report = report(&args, &outcomes, seconds);
    report["warmupStatuses"] = json!(warmed);
    Ok(report)
}

fn report(args: &HoldArgs, outcomes: &[Outcome], seconds: f64) -> serde_json::Value {
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for o in outcomes {
        let key = if o.status == 0 {
            "connection_error".to_owned()
        } else {
            o.status.to_string()
        };
        *statuses.entry(key).or_default() += 1;
    }
    let holds = outcomes.iter().filter(|o| o.status == 201).count();
    let seats: usize = outcomes
        .iter()
        .filter(|o| o.status == 201)
        .map(|o| o.seats)
        .sum();
    let mut latencies: Vec<f64> = outcomes.iter().map(|o| o.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * latencies.len() as f64) as usize;
        (latencies[i.min(latencies.len() - 1)] * 10.0).round() / 10.0
    };
    // Latency by the second the request was sent in: a tail from a slow start shows here.
    let mut by_second: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for o in outcomes {
        by_second
            .entry(o.started_s as u64)
            .or_default()
            .push(o.latency_ms);
    }
    let seconds_view: Vec<serde_json::Value> = by_second
        .into_iter()
        .map(|(second, mut l)| {
            l.sort_by(f64::total_cmp);
            let at = |p: f64| {
                let i = ((p / 100.0) * l.len() as f64) as usize;
                (l[i.min(l.len() - 1)] * 10.0).round() / 10.0
            };
            json!({"second": second, "requests": l.len(), "p50": at(50.0), "p99": at(99.0)})
        })
        .collect();
    json!({
        "bySecond": seconds_view,
        "concurrency": args.concurrency,
        "seatsPerHold": args.seats_per_hold,
        "requests": outcomes.len(),
        "statuses": statuses,
        "seconds": (seconds * 100.0).round() / 100.0,
        "holdsPerSecond": (holds as f64 / seconds).round(),
        "seatsHeldPerSecond": (seats as f64 / seconds).round(),
        "latencyMs": {"p50": pct(50.0), "p90": pct(90.0), "p99": pct(99.0), "max": pct(100.0)},
    })
}

/// Fisher-Yates with a v4 UUID's randomness (no RNG crate needed for a benchmark's shuffle).
pub(crate) fn shuffle(items: &mut [Uuid]) {
    for i in (1..items.len()).rev() {
        let r = u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([0; 8]));
        let j = (r % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
