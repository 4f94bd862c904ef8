//! The Postgres pool and the embedded migrations.
//!
//! The pool connects lazily, so a service starts (and reports not-ready) while Postgres is down,
//! and heals by itself when it returns. Migrations live in `database/migrations/` and are
//! compiled into every binary; `tiketi migrate` applies them.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Config;

/// Every migration in `database/migrations/`, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../database/migrations");

/// Builds the pool without connecting. `acquire_timeout` bounds how long a request waits when
/// the database is down, so handlers answer 503 quickly instead of hanging.
pub fn connect_lazy(config: &Config) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(config.database_url.expose())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid Postgres URL: {e}"))?
        .application_name("tiketi");
    Ok(PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(3))
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options))
}

/// Whether `err` means the database could not be reached or went away (down, restarting,
/// failing over, out of connections), as opposed to a statement the database refused. Callers
/// answer these with 503 and `Retry-After`; the pool reconnects on its own once the server is
/// back. Covers: no connection within `acquire_timeout` (the server refuses or is still starting),
/// a connection cut mid-statement, and the SQLSTATEs of classes 08 (connection exception) and
/// 57P (the server shutting down, crashed, or not yet accepting connections), and 53300 (too
/// many connections).
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

/// Applies every pending migration. Safe to run twice and from several pods at once
/// (sqlx takes an advisory lock).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Creates the database named in `url` if it does not exist, by connecting to the `postgres`
/// maintenance database on the same server. Used by the local scripts, not by services.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let options = PgConnectOptions::from_str(url)?;
    let name = options
        .get_database()
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL names no database"))?
        .to_owned();
    let mut conn = sqlx::PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Identifiers cannot be bound; quote it ourselves.
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
