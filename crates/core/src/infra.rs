//! The handles every service holds: configuration, the Postgres pool and the Redis pool.
//! Each service wraps this in its own state with what only it needs.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::redis::Redis;

/// Shared infrastructure. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Infra {
    /// Start-up configuration.
    pub config: Arc<Config>,
    /// Postgres; each service writes only its own schema.
    pub db: PgPool,
    /// Redis with the deployment's key prefix.
    pub redis: Redis,
    /// Access-token verification with auth's public keys.
    pub verifier: Arc<TokenVerifier>,
}

impl AsRef<Infra> for Infra {
    fn as_ref(&self) -> &Infra {
        self
    }
}

impl Infra {
    /// Builds the pools (lazily: nothing connects yet).
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let db = crate::db::connect_lazy(&config)?;
        Self::with_pool(config, db)
    }

    /// Uses an existing pool (tests hand in their per-test database).
    pub fn with_pool(config: Config, db: PgPool) -> anyhow::Result<Self> {
        let redis = Redis::new(&config)?;
        let verifier = match &config.jwt.public_key {
            Some(pem) => TokenVerifier::with_public_key(&config.jwt.public_key_id, pem.expose())?,
            None => TokenVerifier::new(config.jwt.jwks_url.clone()),
        };
        verifier
            .keys
            .set_refresh_every(std::time::Duration::from_secs(config.jwt.jwks_refresh_secs));
        verifier.set_revocations(redis.clone());
        Ok(Self {
            config: Arc::new(config),
            db,
            redis,
            verifier: Arc::new(verifier),
        })
    }
}
