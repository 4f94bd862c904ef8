//! The auth service's signing keys (`auth.signing_keys`): Ed25519, one active key signs, every
//! key whose tokens may still be alive is published in the JWKS.
//!
//! Rotation (`tiketi keys rotate`) adds a new active key and retires the old ones with
//! `verify_until = now + access-token lifetime + margin`, so tokens signed just before the
//! rotation keep verifying until they expire. Each replica reloads the table at most every
//! [`RELOAD_EVERY`] (or `JWT_JWKS_REFRESH_SECS` when shorter), so a rotation done by any process
//! reaches every replica within that time.
//!
//! A leaked key is retired at once (`tiketi keys retire <kid>`, or `tiketi keys rotate
//! --retire-old` for every older key): its `verify_until` becomes now, so it leaves the JWKS at
//! the next reload and services that fetch the JWKS stop trusting it at their next scheduled
//! refresh (`JWT_JWKS_REFRESH_SECS`), even for tokens that have not expired yet.
//!
//! The private keys are in the database, readable only by the auth service's role; a
//! compromised ticket, payment or stats pod holds only public keys.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use sqlx::PgPool;
use tiketi_core::auth::{KeySource, SigningKey, TokenVerifier};
use tokio::sync::RwLock;

/// How long a replica trusts its loaded key set before reading the table again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// Extra time a retired key stays in the JWKS beyond the access-token lifetime: it covers the
/// tokens the old key signs until every auth replica reloads ([`RELOAD_EVERY`]) and the clock
/// leeway of the checks.
const RETIRE_MARGIN_SECS: i64 = 120;
const _: () = assert!(
    RETIRE_MARGIN_SECS as u64 > RELOAD_EVERY.as_secs() + tiketi_core::auth::LEEWAY_SECS,
    "a rotated key must verify every token it signed until its expiry"
);

struct Loaded {
    signing: SigningKey,
    jwks: JwkSet,
    at: Instant,
}

/// Loads, creates and publishes signing keys; hands the public half to the in-process verifier.
pub struct KeyStore {
    db: PgPool,
    verifier: Arc<TokenVerifier>,
    loaded: RwLock<Option<Loaded>>,
    /// [`RELOAD_EVERY`], or the verifier's refresh interval when shorter.
    reload_every: Duration,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore").finish_non_exhaustive()
    }
}

impl KeyStore {
    /// A key store over `db` that keeps `verifier` in step with the keys it loads.
    pub fn new(db: PgPool, verifier: Arc<TokenVerifier>) -> Arc<Self> {
        let store = Arc::new(Self {
            db,
            verifier: verifier.clone(),
            loaded: RwLock::new(None),
            reload_every: RELOAD_EVERY.min(verifier.keys.refresh_every()),
        });
        verifier.keys.set_source(store.clone());
        store
    }

    /// The key that signs new tokens.
    pub async fn signing_key(&self) -> anyhow::Result<SigningKey> {
        self.with_loaded(|l| l.signing.clone()).await
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub async fn jwks(&self) -> anyhow::Result<JwkSet> {
        self.with_loaded(|l| l.jwks.clone()).await
    }

    async fn with_loaded<T>(&self, f: impl Fn(&Loaded) -> T) -> anyhow::Result<T> {
        {
            let guard = self.loaded.read().await;
            if let Some(l) = guard
                .as_ref()
                .filter(|l| l.at.elapsed() < self.reload_every)
            {
                return Ok(f(l));
            }
        }
        let mut guard = self.loaded.write().await;
        if let Some(l) = guard
            .as_ref()
            .filter(|l| l.at.elapsed() < self.reload_every)
        {
            return Ok(f(l));
        }
        let fresh = self.load().await?;
        self.verifier.keys.set_keys(&fresh.jwks);
        let out = f(&fresh);
        *guard = Some(fresh);
        Ok(out)
    }

    /// Forgets the loaded set, so the next use reads the table (after a rotation here).
    pub async fn invalidate(&self) {
        *self.loaded.write().await = None;
    }

    async fn load(&self) -> anyhow::Result<Loaded> {
        let mut tx = self.db.begin().await?;
        // Two replicas starting on an empty table must not both create "the" first key.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tiketi-signing-keys'))")
            .execute(&mut *tx)
            .await?;
        let mut rows = live_keys(&mut tx).await?;
        if !rows.iter().any(|r| !r.retired) {
            insert_new_key(&mut tx).await?;
            rows = live_keys(&mut tx).await?;
        }
        tx.commit().await?;
        let active = rows
            .iter()
            .rev()
            .find(|r| !r.retired)
            .ok_or_else(|| anyhow::anyhow!("no active signing key"))?;
        let signing = SigningKey::from_pem(&active.kid, &active.private_key_pem)?;
        let keys = rows
            .iter()
            .map(|r| serde_json::from_value::<Jwk>(r.public_jwk.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Loaded {
            signing,
            jwks: JwkSet { keys },
            at: Instant::now(),
        })
    }

    /// Adds a new signing key and retires the others after `access_ttl_secs` (plus a margin).
    /// Returns the new `kid`. The old keys verify for at least the longest lifetime a token may
    /// have been minted with ([`MAX_ACCESS_TTL_SECS`](tiketi_core::config::MAX_ACCESS_TTL_SECS)):
    /// the command may run with another `JWT_ACCESS_TTL_SECS` than the servers, and tokens live
    /// 12 hours by default; a retired key that is not leaked costs nothing to keep trusting.
    pub async fn rotate(db: &PgPool, access_ttl_secs: u64) -> anyhow::Result<String> {
        let lifetime = access_ttl_secs.max(tiketi_core::config::MAX_ACCESS_TTL_SECS);
        Self::rotate_keeping_old_for(db, lifetime as i64 + RETIRE_MARGIN_SECS).await
    }

    /// Adds a new signing key and retires the others at once (`keys rotate --retire-old`): tokens
    /// they signed stop verifying within the refresh interval, so their holders sign in again.
    /// Returns the new `kid`.
    pub async fn rotate_retiring_old(db: &PgPool) -> anyhow::Result<String> {
        Self::rotate_keeping_old_for(db, 0).await
    }

    async fn rotate_keeping_old_for(db: &PgPool, keep_secs: i64) -> anyhow::Result<String> {
        let mut tx = db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tiketi-signing-keys'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE auth.signing_keys
             SET retired_at = now(), verify_until = now() + make_interval(secs => $1)
             WHERE retired_at IS NULL",
        )
        .bind(keep_secs as f64)
        .execute(&mut *tx)
        .await?;
        let kid = insert_new_key(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(kid, keep_secs, "signing key rotated");
        Ok(kid)
    }

    /// Stops trusting `kid` at once (a leaked key): it leaves the JWKS at every replica's next
    /// reload and tokens it signed are refused from then on, expired or not. Retiring the active
    /// key creates a new one to sign with. Errors when no live key is named `kid`.
    pub async fn retire(db: &PgPool, kid: &str) -> anyhow::Result<()> {
        let mut tx = db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tiketi-signing-keys'))")
            .execute(&mut *tx)
            .await?;
        let retired = sqlx::query(
            "UPDATE auth.signing_keys
             SET retired_at = COALESCE(retired_at, now()), verify_until = now()
             WHERE kid = $1 AND (verify_until IS NULL OR verify_until > now())",
        )
        .bind(kid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if retired == 0 {
            anyhow::bail!("no live signing key is named {kid}");
        }
        if !live_keys(&mut tx).await?.iter().any(|r| !r.retired) {
            insert_new_key(&mut tx).await?;
        }
        tx.commit().await?;
        tracing::warn!(kid, "signing key retired at once");
        Ok(())
    }
}

impl KeySource for KeyStore {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<JwkSet>> + Send + '_>> {
        Box::pin(async move {
            self.invalidate().await;
            self.jwks().await
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    private_key_pem: String,
    public_jwk: serde_json::Value,
    retired: bool,
}

async fn live_keys(tx: &mut sqlx::PgConnection) -> anyhow::Result<Vec<KeyRow>> {
    Ok(sqlx::query_as(
        "SELECT kid, private_key_pem, public_jwk, retired_at IS NOT NULL AS retired
         FROM auth.signing_keys
         WHERE verify_until IS NULL OR verify_until > now()
         ORDER BY created_at, kid",
    )
    .fetch_all(tx)
    .await?)
}

async fn insert_new_key(tx: &mut sqlx::PgConnection) -> anyhow::Result<String> {
    let key = SigningKey::generate()?;
    sqlx::query(
        "INSERT INTO auth.signing_keys (kid, algorithm, private_key_pem, public_jwk)
         VALUES ($1, 'EdDSA', $2, $3)",
    )
    .bind(&key.kid)
    .bind(key.to_pem())
    .bind(serde_json::to_value(key.public_jwk()?)?)
    .execute(tx)
    .await?;
    Ok(key.kid)
}
