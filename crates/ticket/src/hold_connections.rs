//! The Postgres connections seat holds run on: a few connections taken from the pool and kept,
//! so a hold costs one round trip, and at most `HOLD_DB_CONNECTIONS` holds run at once.
//!
//! Why not the pool itself: sqlx's pool pings a connection when it hands it out and again when
//! it takes it back (a `Sync` round trip each), so every pooled query is three round trips, and
//! each wakes a Postgres backend. And why so few: every hold of an on-sale inserts into the same
//! rightmost pages of the same indexes and bumps the same counters, so on a small database
//! server twenty backends holding at once spend their time waiting for each other's page locks
//! and for the CPU; four hold more seats per second than twenty (BENCHMARKS.md).
//!
//! A kept connection that sat unused for a while is pinged before use (as the pool would), so a
//! database restart during a quiet spell costs no request; one that fails mid-statement is
//! given back to the pool, which checks it and drops it if broken.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, Postgres};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

/// Kept connections unused for longer than this are pinged before a hold runs on them.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The kept connections and the turn-taking in front of them.
#[derive(Debug)]
pub struct HoldConnections {
    turns: Arc<Semaphore>,
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
}

/// A kept connection lent to one hold; [`HoldConnections::give_back`] returns it.
#[derive(Debug)]
pub struct Lent {
    /// The connection to run the hold on.
    pub conn: PoolConnection<Postgres>,
    _turn: OwnedSemaphorePermit,
}

impl HoldConnections {
    /// Room for `n` holds at once (at least one).
    pub fn new(n: u32) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(n.max(1) as usize)),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Waits for a turn and lends a kept connection (or takes a new one from `pool`).
    pub async fn lend(&self, pool: &PgPool) -> Result<Lent, sqlx::Error> {
        let turn = self
            .turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let kept = self.idle.lock().await.pop();
            let Some((mut conn, since)) = kept else {
                let conn = pool.acquire().await?;
                return Ok(Lent { conn, _turn: turn });
            };
            if since.elapsed() < PING_AFTER_IDLE || conn.ping().await.is_ok() {
                return Ok(Lent { conn, _turn: turn });
            }
            // Broken while unused (a database restart): the pool disposes of it; try the next.
            drop(conn);
        }
    }

    /// Keeps `lent`'s connection for the next hold, unless the statement failed in a way that
    /// may have left it broken (then the pool checks it and drops it if it is).
    pub async fn give_back(&self, lent: Lent, broken: bool) {
        if !broken {
            self.idle.lock().await.push((lent.conn, Instant::now()));
        }
    }
}
