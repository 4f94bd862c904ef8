//! The revoked-session list every service checks access tokens against (see
//! [`tiketi_core::auth`]): Redis keys naming each revoked sign-in (refresh-token family), kept
//! for [`REVOCATION_TTL_SECS`], longer than any access token lives.
//!
//! Postgres stays the truth (`auth.refresh_tokens.revoked_at`); Redis is its published copy:
//! - a revocation (logout, refresh-token reuse, admin promotion, a Google link that drops an
//!   unproven password) publishes its sessions as soon as it commits ([`publish`]);
//! - at start and every [`SYNC_EVERY`], auth publishes what was revoked since its last look
//!   ([`sync`]), which catches a revocation whose own publication failed (Redis unreachable at
//!   that moment, or a CLI run that could not reach it);
//! - when the list's marker ([`REVOCATIONS_LOADED_KEY`]) is missing (Redis flushed, or restarted
//!   without persistence), the whole list of the last [`REVOCATION_TTL_SECS`] is published again
//!   ([`republish`]) before the marker is set; until then every service answers session tokens
//!   503, never trusting a token whose revocation Redis may have forgotten.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tiketi_core::auth::{REVOCATION_TTL_SECS, REVOCATIONS_LOADED_KEY, revoked_session_key};
use tiketi_core::redis::Redis;
use tiketi_core::{ApiError, Infra};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often auth looks for revocations to publish, and for a lost list.
pub const SYNC_EVERY: Duration = Duration::from_secs(10);

/// How far back each periodic look reaches before the previous one: a revocation's
/// `revoked_at` is its transaction's start, which may precede the previous look while its
/// commit follows it.
const SYNC_OVERLAP_SECS: f64 = 120.0;

/// Marks `families` revoked in Redis for [`REVOCATION_TTL_SECS`].
pub async fn publish(redis: &Redis, families: &[Uuid]) -> Result<(), ApiError> {
    if families.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for family in families {
        pipe.cmd("SET")
            .arg(redis.key(&revoked_session_key(*family)))
            .arg(1)
            .arg("EX")
            .arg(REVOCATION_TTL_SECS)
            .ignore();
    }
    let mut conn = redis.shared().await?;
    let _: () = pipe.query_async(&mut conn).await?;
    Ok(())
}

/// [`publish`], for a revocation already committed in Postgres: a failure is logged, and the
/// periodic [`sync`] publishes it within [`SYNC_EVERY`] (meanwhile, with Redis unreachable,
/// every service refuses session tokens anyway).
pub async fn publish_or_defer(redis: &Redis, families: &[Uuid]) {
    if let Err(e) = publish(redis, families).await {
        tracing::warn!(error = %e, sessions = families.len(), "cannot publish revoked sessions now; the periodic sync will");
    }
}

/// Sessions revoked within the last [`REVOCATION_TTL_SECS`] (or after `since`), with how many
/// seconds each stays listed, and the database's clock.
async fn revoked_since(
    db: &PgPool,
    since: Option<DateTime<Utc>>,
) -> Result<(Vec<(Uuid, i64)>, DateTime<Utc>), sqlx::Error> {
    let rows: Vec<(Uuid, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT family_id,
                ceil(extract(epoch FROM max(revoked_at) + make_interval(secs => $1) - now()))::bigint,
                now()
         FROM auth.refresh_tokens
         WHERE revoked_at > greatest(now() - make_interval(secs => $1),
                                     coalesce($2 - make_interval(secs => $3), '-infinity'))
         GROUP BY family_id",
    )
    .bind(REVOCATION_TTL_SECS as f64)
    .bind(since)
    .bind(SYNC_OVERLAP_SECS)
    .fetch_all(db)
    .await?;
    let now = match rows.first() {
        Some((_, _, now)) => *now,
        None => sqlx::query_scalar("SELECT now()").fetch_one(db).await?,
    };
    Ok((
        rows.into_iter()
            .filter(|(_, ttl, _)| *ttl > 0)
            .map(|(family, ttl, _)| (family, ttl))
            .collect(),
        now,
    ))
}

async fn publish_with_ttls(redis: &Redis, sessions: &[(Uuid, i64)]) -> Result<(), ApiError> {
    let mut conn = redis.shared().await?;
    for chunk in sessions.chunks(1000) {
        let mut pipe = redis::pipe();
        for (family, ttl) in chunk {
            pipe.cmd("SET")
                .arg(redis.key(&revoked_session_key(*family)))
                .arg(1)
                .arg("EX")
                .arg(*ttl)
                .ignore();
        }
        let _: () = pipe.query_async(&mut conn).await?;
    }
    Ok(())
}

/// Publishes every session revoked within [`REVOCATION_TTL_SECS`], then marks the list loaded.
/// Returns how many sessions were published and the database time the list was read at.
pub async fn republish(db: &PgPool, redis: &Redis) -> anyhow::Result<(usize, DateTime<Utc>)> {
    let (sessions, at) = revoked_since(db, None).await?;
    publish_with_ttls(redis, &sessions).await?;
    let mut conn = redis.shared().await?;
    let _: () = redis::cmd("SET")
        .arg(redis.key(REVOCATIONS_LOADED_KEY))
        .arg(at.to_rfc3339())
        .query_async(&mut conn)
        .await?;
    tracing::info!(
        sessions = sessions.len(),
        "revoked-session list published to Redis"
    );
    Ok((sessions.len(), at))
}

/// One periodic look: the whole list again when Redis lost it (or on the first look, `since`
/// `None`), else what was revoked since the previous look. Returns the time to look from next.
pub async fn sync(
    db: &PgPool,
    redis: &Redis,
    since: Option<DateTime<Utc>>,
) -> anyhow::Result<DateTime<Utc>> {
    let loaded: bool = match since {
        None => false,
        Some(_) => {
            let mut conn = redis.shared().await?;
            redis::cmd("EXISTS")
                .arg(redis.key(REVOCATIONS_LOADED_KEY))
                .query_async(&mut conn)
                .await?
        }
    };
    if !loaded {
        if since.is_some() {
            tracing::warn!("the revoked-session list is gone from Redis; publishing it again");
        }
        return Ok(republish(db, redis).await?.1);
    }
    let (sessions, at) = revoked_since(db, since).await?;
    publish_with_ttls(redis, &sessions).await?;
    Ok(at)
}

/// Runs [`sync`] now (waiting up to 5 s for it, so the process serves with the list loaded when
/// Postgres and Redis answer) and then every [`SYNC_EVERY`] until `shutdown`.
pub async fn start_sync(infra: &Infra, shutdown: CancellationToken) {
    let db = infra.db.clone();
    let redis = infra.redis.clone();
    let first = tokio::time::timeout(Duration::from_secs(5), sync(&db, &redis, None)).await;
    let mut since = match first {
        Ok(Ok(at)) => Some(at),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot publish the revoked-session list yet; retrying");
            None
        }
        Err(_) => None,
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(SYNC_EVERY) => {}
            }
            match sync(&db, &redis, since).await {
                Ok(at) => since = Some(at),
                Err(e) => tracing::warn!(error = %e, "revoked-session sync failed; retrying"),
            }
        }
    });
}
