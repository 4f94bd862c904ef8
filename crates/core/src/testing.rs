//! Test helpers shared by every crate's tests (feature `testing`): a configuration pointing at
//! the local Postgres and Redis with a Redis key prefix no other test uses.
//!
//! Databases come from `#[sqlx::test(migrator = "tiketi_core::db::MIGRATOR")]`, which gives
//! each test its own freshly migrated database on the server named by `DATABASE_URL`.

use crate::config::Config;

/// A Redis key prefix unique to one test, so tests sharing a Redis never see each other's keys.
pub fn unique_redis_prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4().simple())
}

/// Configuration for a test: the process environment (so `REDIS_URL` and friends apply), port 0,
/// a unique Redis prefix and a small queue tick, with `overrides` applied last.
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    let prefix = unique_redis_prefix();
    Config::from_lookup(0, |name| {
        if let Some((_, v)) = overrides.iter().find(|(k, _)| *k == name) {
            return Some((*v).to_owned());
        }
        match name {
            "REDIS_KEY_PREFIX" => Some(prefix.clone()),
            "PORT" => Some("0".to_owned()),
            "BIND_ADDR" => Some("127.0.0.1".to_owned()),
            _ => std::env::var(name).ok(),
        }
    })
    .expect("test configuration is valid")
}

/// A `DATABASE_URL` for the database `pool` is connected to (to hand to a child process).
pub fn database_url_of(pool: &sqlx::PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for tests");
    let name = pool
        .connect_options()
        .get_database()
        .expect("test pool names its database")
        .to_owned();
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (base.as_str(), String::new()),
    };
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database part");
    format!("{server}/{name}{query}")
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}
