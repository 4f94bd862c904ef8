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

/// Test identities: a signing key the test's server trusts, and tokens minted with it.
pub struct TestTokens {
    key: crate::auth::SigningKey,
}

impl TestTokens {
    /// Generates a key and makes `infra`'s verifier trust it, next to auth's own keys.
    pub fn install(infra: &crate::Infra) -> Self {
        let key = crate::auth::SigningKey::generate().expect("key generation");
        let public = jsonwebtoken::DecodingKey::from_jwk(&key.public_jwk().expect("public jwk"))
            .expect("decoding key");
        infra.verifier.keys.pin(&key.kid, public);
        Self { key }
    }

    /// An access token for a fan with a fresh id.
    pub fn fan(&self) -> (crate::auth::AuthUser, String) {
        self.token_for(crate::auth::Role::User)
    }

    /// An access token for an admin with a fresh id.
    pub fn admin(&self) -> (crate::auth::AuthUser, String) {
        self.token_for(crate::auth::Role::Admin)
    }

    fn token_for(&self, role: crate::auth::Role) -> (crate::auth::AuthUser, String) {
        let id = uuid::Uuid::new_v4();
        let user = crate::auth::AuthUser {
            id,
            email: format!("{}@test.tiketi.example", id.simple()),
            role,
        };
        let token = self.key.mint(&user, 900).expect("mint");
        (user, token)
    }

    /// The key itself, for tokens with unusual claims.
    pub fn key(&self) -> &crate::auth::SigningKey {
        &self.key
    }
}
