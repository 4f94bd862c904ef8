//! Seat holds run in batches on a few kept Postgres connections: the holds that arrive while
//! earlier ones are running wait in one queue, and a free connection takes every waiting hold
//! (up to [`MAX_BATCH`]) and makes them in one call of `ticket.hold_seats_batch`, one
//! transaction (migration `20261203000090_hold_batches.sql`). Each hold keeps its own checks and
//! its own answer; only the transaction around them is shared.
//!
//! Why: most of what a hold costs Postgres is the transaction around it (commit and WAL flush,
//! snapshot, call, protocol), so ten holds in one transaction cost about half as much CPU each
//! as ten transactions (BENCHMARKS.md). And why few connections: every hold of an on-sale
//! writes the same rightmost index pages, so on a small database server many backends holding
//! at once wait for each other's page locks and for the CPU. Kept connections also skip the
//! pool's ping on every checkout and return (a round trip each).
//!
//! Under light load a batch is one hold, made as soon as it arrives: nothing waits for a batch
//! to fill. A connection unused for a while is pinged before use (as the pool would), so a
//! database restart during a quiet spell costs no request; one that fails mid-call is dropped
//! and a new one taken from the pool for the next batch. When a batch fails as a whole with an
//! error from the database (a reservation-number clash, a deadlock), each of its holds is made
//! again on its own, so one hold's error is only that hold's.

use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, Postgres};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::http::holds::HoldRow;

/// At most this many holds share one transaction (the row locks of a batch are held until it
/// commits, so it stays short).
pub const MAX_BATCH: usize = 32;

/// Kept connections unused for longer than this are pinged before a batch runs on them.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// One fan's hold, as `ticket.hold_seats` takes it.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    /// The event.
    pub event_id: Uuid,
    /// The seats asked for.
    pub seat_ids: Vec<Uuid>,
    /// The new reservation's id.
    pub reservation_id: Uuid,
    /// The new reservation's number.
    pub number: String,
    /// The fan.
    pub user_id: Uuid,
    /// How long the hold lasts, seconds.
    pub ttl_secs: i32,
    /// The fan's ticket limit for the event.
    pub max: i32,
}

type Reply = oneshot::Sender<Result<Vec<HoldRow>, sqlx::Error>>;

/// The queue of holds and the connections that make them.
#[derive(Debug)]
pub struct HoldBatches {
    pool: PgPool,
    connections: u32,
    queue: mpsc::UnboundedSender<(HoldRequest, Reply)>,
    waiting: Arc<Mutex<mpsc::UnboundedReceiver<(HoldRequest, Reply)>>>,
    started: Once,
}

/// A batch row: the hold's place in the batch and one row of its answer.
#[derive(sqlx::FromRow)]
struct BatchRow {
    i: i32,
    #[sqlx(flatten)]
    row: HoldRow,
}

impl HoldBatches {
    /// Holds on at most `connections` connections of `pool` (at least one).
    pub fn new(pool: PgPool, connections: u32) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        Self {
            pool,
            connections: connections.max(1),
            queue,
            waiting: Arc::new(Mutex::new(waiting)),
            started: Once::new(),
        }
    }

    /// Makes `request`'s hold and answers `ticket.hold_seats`'s rows for it.
    pub async fn hold(&self, request: HoldRequest) -> Result<Vec<HoldRow>, sqlx::Error> {
        // The workers start with the first hold, inside the runtime that serves it.
        self.started.call_once(|| {
            for _ in 0..self.connections {
                tokio::spawn(worker(self.pool.clone(), self.waiting.clone()));
            }
        });
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((request, reply))
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// Takes every waiting hold (up to [`MAX_BATCH`]) as soon as one is there, makes them, answers
/// each, and again, until the service stops (the queue's sender is dropped with the state).
async fn worker(pool: PgPool, waiting: Arc<Mutex<mpsc::UnboundedReceiver<(HoldRequest, Reply)>>>) {
    let mut kept: Option<(PoolConnection<Postgres>, Instant)> = None;
    loop {
        let mut batch = Vec::new();
        {
            // One worker at a time collects; the others are busy making their batches.
            let mut queue = waiting.lock().await;
            match queue.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        let mut conn = match connection(&pool, kept.take()).await {
            Ok(conn) => conn,
            Err(e) => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(unavailable(&e)));
                }
                continue;
            }
        };
        let broken = run(&mut conn, batch).await;
        if !broken {
            kept = Some((conn, Instant::now()));
        }
    }
}

/// The kept connection (pinged first if it sat unused), or a new one from the pool.
async fn connection(
    pool: &PgPool,
    kept: Option<(PoolConnection<Postgres>, Instant)>,
) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    if let Some((mut conn, since)) = kept
        && (since.elapsed() < PING_AFTER_IDLE || conn.ping().await.is_ok())
    {
        return Ok(conn);
    }
    // A broken kept connection is dropped here: the pool disposes of it.
    pool.acquire().await
}

/// Makes the batch's holds and answers each; true when the connection may be broken.
async fn run(conn: &mut PoolConnection<Postgres>, mut batch: Vec<(HoldRequest, Reply)>) -> bool {
    if batch.len() == 1 {
        let (request, reply) = batch.remove(0);
        let answer = single(conn, &request).await;
        let broken = is_broken(&answer);
        let _ = reply.send(answer);
        return broken;
    }
    match together(conn, &batch).await {
        Ok(answers) => {
            for ((_, reply), rows) in batch.into_iter().zip(answers) {
                let _ = reply.send(Ok(rows));
            }
            false
        }
        // The database refused the batch: make each hold alone, so the error is only its own.
        Err(sqlx::Error::Database(_)) => {
            metrics::counter!("seat_hold_batches_retried_total").increment(1);
            let mut jobs = batch.into_iter();
            for (request, reply) in jobs.by_ref() {
                let answer = single(conn, &request).await;
                let broken = is_broken(&answer);
                let _ = reply.send(answer);
                if broken {
                    let e = sqlx::Error::PoolClosed;
                    for (_, reply) in jobs {
                        let _ = reply.send(Err(unavailable(&e)));
                    }
                    return true;
                }
            }
            false
        }
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(unavailable(&e)));
            }
            true
        }
    }
}

/// A statement the database refused leaves the connection as good as before; anything else
/// (cut, timed out, the server going away) may not.
fn is_broken<T>(answer: &Result<T, sqlx::Error>) -> bool {
    matches!(answer, Err(e) if !matches!(e, sqlx::Error::Database(_)))
}

/// One hold on its own (`ticket.hold_seats`).
async fn single(
    conn: &mut PoolConnection<Postgres>,
    r: &HoldRequest,
) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as(crate::http::holds::HOLD_SQL)
        .bind(r.event_id)
        .bind(&r.seat_ids)
        .bind(r.reservation_id)
        .bind(&r.number)
        .bind(r.user_id)
        .bind(r.ttl_secs)
        .bind(r.max)
        .fetch_all(&mut **conn)
        .await
}

/// The batch in one call; the answers in the batch's order.
async fn together(
    conn: &mut PoolConnection<Postgres>,
    batch: &[(HoldRequest, Reply)],
) -> Result<Vec<Vec<HoldRow>>, sqlx::Error> {
    let requests: Vec<&HoldRequest> = batch.iter().map(|(r, _)| r).collect();
    // One lifetime and limit per call: the service's settings, the same for every hold it makes.
    let (ttl, max) = (requests[0].ttl_secs, requests[0].max);
    if requests.iter().any(|r| r.ttl_secs != ttl || r.max != max) {
        let mut answers = Vec::with_capacity(requests.len());
        for r in requests {
            answers.push(single(conn, r).await?);
        }
        return Ok(answers);
    }
    let counts: Vec<i32> = requests
        .iter()
        .map(|r| i32::try_from(r.seat_ids.len()).unwrap_or(i32::MAX))
        .collect();
    let seats: Vec<Uuid> = requests.iter().flat_map(|r| r.seat_ids.clone()).collect();
    let rows: Vec<BatchRow> =
        sqlx::query_as("SELECT * FROM ticket.hold_seats_batch($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(requests.iter().map(|r| r.event_id).collect::<Vec<_>>())
            .bind(counts)
            .bind(seats)
            .bind(
                requests
                    .iter()
                    .map(|r| r.reservation_id)
                    .collect::<Vec<_>>(),
            )
            .bind(
                requests
                    .iter()
                    .map(|r| r.number.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(requests.iter().map(|r| r.user_id).collect::<Vec<_>>())
            .bind(ttl)
            .bind(max)
            .fetch_all(&mut **conn)
            .await?;
    let mut answers: Vec<Vec<HoldRow>> = (0..batch.len()).map(|_| Vec::new()).collect();
    for BatchRow { i, row } in rows {
        let slot = usize::try_from(i - 1)
            .ok()
            .and_then(|k| answers.get_mut(k))
            .ok_or_else(|| sqlx::Error::Protocol(format!("hold batch answered for #{i}")))?;
        slot.push(row);
    }
    Ok(answers)
}

/// The error every hold of a batch gets when the database could not be reached: a 503 for
/// the handler (`tiketi_core::db::is_unavailable`).
fn unavailable(cause: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "database unavailable for seat holds: {cause}"
    )))
}
