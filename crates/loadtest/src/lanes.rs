//! Joins without sockets (`--noSocket` with `--signingKey`): `--connections` keep-alive HTTP/1.1
//! connections ("lanes"), each sending the next fan's join as soon as its previous one is
//! answered, until every fan has joined. This measures the server's join path, so the client
//! stays out of its way: requests go straight to hyper's client connection, with no connection
//! pool, URL parsing or redirect handling per request. (Through reqwest the tool spent about as
//! much CPU per join as the server did, on the same two cores; see BENCHMARKS.md.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, HOST};
use hyper_util::rt::TokioIo;
use uuid::Uuid;

use crate::{Fan, JoinAnswer, Progress, error_kind, wall_ms};

/// Attempts per join when the connection breaks (a new connection each time).
const ATTEMPTS: u32 = 3;

/// Joins `tokens.len()` fans to `event_id`'s queue through the API at `api_url` (`http://host:port`),
/// fan `i` no earlier than `i * spacing` after the start; answers each fan's outcome, in order.
pub(crate) async fn join_all(
    api_url: &str,
    event_id: Uuid,
    tokens: Vec<String>,
    connections: usize,
    spacing: Duration,
    progress: Option<tokio::sync::mpsc::UnboundedSender<Progress>>,
) -> anyhow::Result<Vec<Fan>> {
    let url = reqwest::Url::parse(api_url).context("--apiUrl")?;
    if url.scheme() != "http" {
        bail!("--noSocket joins speak plain HTTP/1.1: give an http:// --apiUrl");
    }
    let host = url.host_str().context("--apiUrl has no host")?;
    let authority = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let path = format!(
        "{}/api/queue/check/{event_id}",
        url.path().trim_end_matches('/')
    );
    let tokens: Arc<Vec<String>> = Arc::new(tokens);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (tokens, next) = (tokens.clone(), next.clone());
        let (authority, path, progress) = (authority.clone(), path.clone(), progress.clone());
        lanes.spawn(async move {
            let mut done = Vec::new();
            let mut conn: Option<SendRequest<Empty<Bytes>>> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(i) else {
                    return done;
                };
                if !spacing.is_zero() {
                    tokio::time::sleep_until((started + spacing * i as u32).into()).await;
                }
                let mut fan = Fan::default();
                match join(&authority, &path, token, &mut conn, &mut fan).await {
                    Ok(()) => {
                        if let Some(tx) = &progress {
                            // The watcher may have stopped listening; the surge goes on.
                            let _ = tx.send(Progress::Joined);
                            if fan.admitted_at.is_some() {
                                let _ = tx.send(Progress::Admitted);
                            }
                        }
                    }
                    Err(e) => fan.errors.push(error_kind(&e)),
                }
                done.push((i, fan));
            }
        });
    }
    let mut fans = vec![Fan::default(); tokens.len()];
    while let Some(lane) = lanes.join_next().await {
        for (i, fan) in lane? {
            fans[i] = fan;
        }
    }
    Ok(fans)
}

async fn connect(authority: &str) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .context("join: connect")?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .context("join: connect")?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One fan's join on the lane's connection (opened, or opened again, as needed).
async fn join(
    authority: &str,
    path: &str,
    token: &str,
    conn: &mut Option<SendRequest<Empty<Bytes>>>,
    fan: &mut Fan,
) -> anyhow::Result<()> {
    let bearer = format!("Bearer {token}");
    let sent = Instant::now();
    fan.join_sent = Some(sent);
    let mut attempt = 0;
    let res = loop {
        attempt += 1;
        let sender = match conn {
            Some(sender) if sender.is_ready() => sender,
            _ => conn.insert(connect(authority).await?),
        };
        let req = hyper::Request::post(path)
            .header(HOST, authority)
            .header(AUTHORIZATION, &bearer)
            .body(Empty::<Bytes>::new())?;
        match sender.send_request(req).await {
            Ok(res) => break res,
            // The server closed a kept-alive connection: the join never ran; send it again.
            Err(_) if attempt < ATTEMPTS => *conn = None,
            Err(e) => return Err(anyhow::Error::new(e).context("join")),
        }
    };
    let status = res.status();
    let body = res.into_body().collect().await.context("join")?.to_bytes();
    if !status.is_success() {
        bail!("join: http {}", status.as_u16());
    }
    let answer: JoinAnswer = serde_json::from_slice(&body).context("join")?;
    let done = Instant::now();
    fan.join_done = Some(done);
    fan.threshold = answer.threshold.unwrap_or(0);
    fan.max_current = answer.current_users.unwrap_or(0);
    fan.queued = answer.queued;
    if !fan.queued {
        fan.admitted_at = Some(done);
        fan.outcome.admitted_wall_ms = Some(wall_ms());
        fan.admissions = 1;
    }
    Ok(())
}
