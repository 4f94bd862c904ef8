//! Verifying access tokens, in every service. Tokens are minted only by the auth service, signed
//! with Ed25519 (`EdDSA`) keys that carry a `kid`; everyone else verifies them with auth's
//! public keys, never with a shared secret.
//!
//! Where the public keys come from:
//! - in the auth service and the all-in-one binary, auth's key store is the verifier's
//!   [`KeySource`] and hands it every key set it loads ([`KeyCache::set_keys`]);
//! - a service running alone fetches auth's JWKS (`JWT_JWKS_URL`), caches it, and fetches again
//!   when a token names a `kid` it does not know (at most every [`JWKS_MIN_REFRESH`]), which is
//!   how a key rotation reaches it, and on a schedule (`JWT_JWKS_REFRESH_SECS`, see
//!   [`KeyCache::set_refresh_every`]), which is how a retirement reaches it: a key auth no
//!   longer publishes (`tiketi keys retire`) stops verifying within that time, without a restart;
//! - or a fixed public key is configured (`JWT_PUBLIC_KEY` with `JWT_PUBLIC_KEY_ID`).
//!
//! A token whose `kid` is not cached while the key source cannot be reached (auth or its
//! database down, in a process that started meanwhile) is answered 503 `auth_unavailable` with
//! `Retry-After`, not 401: a 401 would make the client drop a perfectly good session.
//!
//! The same [`KeyCache`] serves the auth service's check of Google's RS256 ID tokens.
//!
//! Sessions: every token auth mints names its sign-in (`sid`, the refresh-token family), and
//! every verification asks Redis, in one round trip (`MGET`), whether that session was revoked
//! ([`revoked_session_key`]) and whether the revocation list is loaded at all
//! ([`REVOCATIONS_LOADED_KEY`], which the auth service sets after publishing the list from
//! Postgres). A revoked session is 401 `session_revoked` at once in every service, however long
//! its token would live; a list that cannot be read (Redis down, or flushed and not yet
//! republished) is 503 `auth_unavailable` with `Retry-After`: never a possibly revoked token
//! accepted. Tokens without `sid` (minted before sessions were named) are checked by their
//! signature and expiry alone.
//!
//! Only `EdDSA` is accepted for access tokens: `alg: none`, HS256 signed with a public key as the secret, and every
//! other algorithm are refused before any key is looked at.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::infra::Infra;
use crate::redis::Redis;

/// `iss` of every access token.
pub const ISSUER: &str = "tiketi-auth";
/// `aud` of every access token.
pub const AUDIENCE: &str = "tiketi";
/// The one signing algorithm accepted.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;
/// A stale JWKS is fetched again at most this often, so forged `kid`s cannot make us hammer auth.
pub const JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// After a failed fetch the source is asked again this soon, so verification recovers quickly
/// once auth is back.
pub const JWKS_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// How old fetched keys may get before the next verification fetches them again, unless
/// configured otherwise (`JWT_JWKS_REFRESH_SECS`).
pub const JWKS_REFRESH_DEFAULT: Duration = Duration::from_secs(60);
/// Clock skew tolerated between pods when checking `exp`.
pub const LEEWAY_SECS: u64 = 5;
/// How long Redis remembers a revoked session: longer than any access token may live
/// ([`crate::config::MAX_ACCESS_TTL_SECS`], whatever `JWT_ACCESS_TTL_SECS` says now), plus the
/// leeway and a margin for a token minted just as its session was revoked.
pub const REVOCATION_TTL_SECS: u64 = crate::config::MAX_ACCESS_TTL_SECS + LEEWAY_SECS + 600;
/// Set (without expiry) by the auth service once it published the revocation list from
/// Postgres. Missing means Redis lost it (a flush, a restart without persistence): until auth
/// publishes again, session tokens are answered 503, not trusted.
pub const REVOCATIONS_LOADED_KEY: &str = "auth:revoked-sessions:loaded";

/// The Redis key (before the deployment prefix) that marks session `sid` revoked.
pub fn revoked_session_key(sid: Uuid) -> String {
    format!("auth:revoked-session:{sid}")
}

/// A fan or an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A fan.
    User,
    /// An operator: event and queue control, statistics.
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

/// Access-token claims. `userId`, `email` and `role` are what the contract promises clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT convention).
    pub sub: String,
    /// The user id again, under the name existing clients read.
    #[serde(rename = "userId")]
    pub user_id: Uuid,
    /// The account's email.
    pub email: String,
    /// `user` or `admin`, read by every service's admin checks.
    pub role: Role,
    /// Always [`ISSUER`].
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Token id.
    pub jti: String,
    /// The sign-in this token belongs to (its refresh-token family): revoking the sign-in
    /// refuses the token at once. Absent in tokens minted before sessions were named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

/// The caller, from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// User id.
    pub id: Uuid,
    /// Email at the time the token was minted.
    pub email: String,
    /// Role at the time the token was minted; tokens are short-lived, so a demotion takes
    /// effect within one token lifetime.
    pub role: Role,
}

impl AuthUser {
    /// True for operators.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl From<Claims> for AuthUser {
    fn from(c: Claims) -> Self {
        Self {
            id: c.user_id,
            email: c.email,
            role: c.role,
        }
    }
}

/// Where a [`KeyCache`] gets keys when it meets a `kid` it does not know.
pub trait KeySource: Send + Sync {
    /// The current key set.
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<JwkSet>> + Send + '_>>;
}

/// A JWKS served over HTTP (auth's `/.well-known/jwks.json`, Google's certs).
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
}

impl RemoteJwks {
    /// Fetches from `url` with a 5 s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            client: crate::outbound::client(Duration::from_secs(5)),
        }
    }
}

impl KeySource for RemoteJwks {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<JwkSet>> + Send + '_>> {
        Box::pin(async move {
            let response = self
                .client
                .get(&self.url)
                .send()
                .await?
                .error_for_status()?;
            Ok(response.json::<JwkSet>().await?)
        })
    }
}

/// Public keys by `kid`, refreshed from a [`KeySource`] on an unknown `kid` (at most every
/// [`JWKS_MIN_REFRESH`], so forged `kid`s cannot make us hammer the source) and once they are
/// older than the refresh interval, so a key the source dropped is no longer trusted.
pub struct KeyCache {
    keys: RwLock<Arc<HashMap<String, DecodingKey>>>,
    /// When `keys` were last replaced.
    keys_at: RwLock<Option<Instant>>,
    /// How old `keys` may get before a verification fetches them again, in milliseconds.
    refresh_every_ms: std::sync::atomic::AtomicU64,
    /// Keys trusted regardless of the source: `JWT_PUBLIC_KEY`, and test keys.
    pinned: RwLock<HashMap<String, DecodingKey>>,
    source: RwLock<Option<Arc<dyn KeySource>>>,
    /// When the source was last asked, and whether it answered.
    last_fetch: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

/// The key source could not be reached, so an unknown `kid` may yet be a valid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysUnavailable;

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self
            .keys
            .read()
            .map(|k| k.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("KeyCache")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// An empty cache that asks `source` (if any) for keys.
    pub fn new(source: Option<Arc<dyn KeySource>>) -> Self {
        Self {
            keys: RwLock::new(Arc::new(HashMap::new())),
            keys_at: RwLock::new(None),
            refresh_every_ms: std::sync::atomic::AtomicU64::new(
                JWKS_REFRESH_DEFAULT.as_millis() as u64
            ),
            pinned: RwLock::new(HashMap::new()),
            source: RwLock::new(source),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    /// Replaces the source (the auth service hands in its own key store).
    pub fn set_source(&self, source: Arc<dyn KeySource>) {
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    /// Replaces the fetched keys with those of `jwks` that carry a `kid` and parse.
    pub fn set_keys(&self, jwks: &JwkSet) {
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) {
                keys.insert(kid, key);
            }
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        *self.keys_at.write().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// How old the fetched keys may get before a verification fetches them again
    /// (`JWT_JWKS_REFRESH_SECS`): the longest a key the source stopped publishing stays trusted.
    pub fn set_refresh_every(&self, every: Duration) {
        self.refresh_every_ms.store(
            every.as_millis().max(1) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// See [`set_refresh_every`](Self::set_refresh_every).
    pub fn refresh_every(&self) -> Duration {
        Duration::from_millis(
            self.refresh_every_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// The fetched keys are older than the refresh interval (never true without a source).
    fn stale(&self) -> bool {
        if self
            .source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            return false;
        }
        self.keys_at
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|at| at.elapsed() >= self.refresh_every())
    }

    /// Trusts `key` under `kid` for the life of this cache, whatever the source says.
    pub fn pin(&self, kid: &str, key: DecodingKey) {
        self.pinned
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kid.to_owned(), key);
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        let fetched = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .cloned();
        fetched.or_else(|| {
            self.pinned
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(kid)
                .cloned()
        })
    }

    /// The key named `kid`, asking the source again when it is unknown.
    pub async fn get(&self, kid: &str) -> Option<DecodingKey> {
        self.lookup(kid).await.ok().flatten()
    }

    /// Like [`get`](Self::get), but tells an unknown `kid` (`Ok(None)`) from one that could
    /// not be checked because the source is unreachable (`Err`).
    pub async fn lookup(&self, kid: &str) -> Result<Option<DecodingKey>, KeysUnavailable> {
        if self.stale() {
            // The scheduled refresh, by whichever verification comes first (the others go on
            // with the keys they have meanwhile). A key the source no longer publishes is
            // dropped here. When the source cannot be reached the keys at hand stay in use: auth
            // being down must not sign everyone out.
            if let Ok(last) = self.last_fetch.try_lock() {
                let _ = self.refresh_with(last).await;
            }
        }
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        self.refresh().await?;
        Ok(self.cached(kid))
    }

    async fn refresh(&self) -> Result<(), KeysUnavailable> {
        let last = self.last_fetch.lock().await;
        self.refresh_with(last).await
    }

    async fn refresh_with(
        &self,
        mut last: tokio::sync::MutexGuard<'_, Option<(Instant, bool)>>,
    ) -> Result<(), KeysUnavailable> {
        let source = self
            .source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(source) = source else { return Ok(()) };
        match *last {
            Some((at, true)) if at.elapsed() < JWKS_MIN_REFRESH.min(self.refresh_every()) => {
                return Ok(());
            }
            Some((at, false)) if at.elapsed() < JWKS_RETRY_AFTER_FAILURE => {
                return Err(KeysUnavailable);
            }
            _ => {}
        }
        let fetched = source.fetch().await;
        *last = Some((Instant::now(), fetched.is_ok()));
        match fetched {
            Ok(jwks) => {
                tracing::info!(keys = jwks.keys.len(), "fetched signing keys");
                self.set_keys(&jwks);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot fetch signing keys");
                Err(KeysUnavailable)
            }
        }
    }
}

/// Verifies access tokens against auth's public keys.
#[derive(Debug)]
pub struct TokenVerifier {
    /// Auth's public keys.
    pub keys: KeyCache,
    /// Public keys already decoded into curve points, by their 32 bytes (not by `kid`: which
    /// keys are trusted is [`KeyCache`]'s business, this only saves decoding the same bytes on
    /// every request).
    decoded: RwLock<HashMap<[u8; 32], ed25519_dalek::VerifyingKey>>,
    /// Where revoked sessions are listed (the deployment's Redis); set by [`Infra`].
    revocations: std::sync::OnceLock<Redis>,
    /// Seconds added to the wall clock: only tests move it ([`TokenVerifier::advance_clock`]).
    clock_offset_secs: std::sync::atomic::AtomicI64,
}

/// At most this many decoded keys are remembered (a handful are live at once: the current key
/// and the ones before a rotation).
const DECODED_KEYS_MAX: usize = 64;

/// The token's header fields the check reads.
#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    kid: Option<String>,
}

impl TokenVerifier {
    /// A verifier that fetches auth's JWKS from `jwks_url` when it meets an unknown `kid`
    /// (with `None`, keys come from [`KeyCache::set_keys`] or [`KeyCache::set_source`]).
    pub fn new(jwks_url: Option<String>) -> Self {
        let source = jwks_url.map(|url| Arc::new(RemoteJwks::new(url)) as Arc<dyn KeySource>);
        Self {
            keys: KeyCache::new(source),
            decoded: RwLock::new(HashMap::new()),
            revocations: std::sync::OnceLock::new(),
            clock_offset_secs: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// Checks the sessions of tokens against the revocation list in `redis` (once; later calls
    /// are ignored). Without it, a token that names a session is refused 503.
    pub fn set_revocations(&self, redis: Redis) {
        let _ = self.revocations.set(redis);
    }

    /// Now, in seconds since the epoch, as the expiry checks and the auth service's minting
    /// see it.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
            + self
                .clock_offset_secs
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Moves this verifier's clock (and the minting clock of the auth service sharing it)
    /// `secs` forward: simulated time for tests. Only built with the `testing` feature.
    #[cfg(any(test, feature = "testing"))]
    pub fn advance_clock(&self, secs: i64) {
        self.clock_offset_secs
            .fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses a token of a revoked session: 401 `session_revoked`; 503 `auth_unavailable`
    /// when the revocation list cannot be read or is not loaded. One Redis round trip.
    async fn check_session(&self, sid: Uuid) -> Result<(), ApiError> {
        let unavailable = || {
            ApiError::unavailable(
                "auth_unavailable",
                "your sign-in cannot be checked right now, please retry shortly",
            )
        };
        let Some(redis) = self.revocations.get() else {
            return Err(unavailable());
        };
        let ask = async {
            let mut conn = redis.shared().await?;
            let found: Vec<Option<String>> = ::redis::cmd("MGET")
                .arg(redis.key(&revoked_session_key(sid)))
                .arg(redis.key(REVOCATIONS_LOADED_KEY))
                .query_async(&mut conn)
                .await?;
            Ok::<_, ApiError>(found)
        };
        let found = tokio::time::timeout(Duration::from_secs(2), ask).await;
        match found.as_ref().map(|r| r.as_ref().map(Vec::as_slice)) {
            Ok(Ok([None, Some(_)])) => Ok(()),
            Ok(Ok([Some(_), _])) => {
                metrics::counter!("auth_revoked_session_refused_total").increment(1);
                Err(ApiError::unauthorized(
                    "session_revoked",
                    "this sign-in has ended (signed out, or the account changed); sign in again",
                ))
            }
            Ok(Ok(_)) => {
                tracing::warn!(
                    "the revoked-session list is not loaded in Redis: refusing session tokens until auth publishes it"
                );
                Err(unavailable())
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the revoked-session list");
                Err(unavailable())
            }
            Err(_) => {
                tracing::warn!("reading the revoked-session list timed out");
                Err(unavailable())
            }
        }
    }

    /// A verifier with one fixed Ed25519 public key (PEM), for `JWT_PUBLIC_KEY`.
    pub fn with_public_key(kid: &str, pem: &str) -> anyhow::Result<Self> {
        let key = DecodingKey::from_ed_pem(pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("JWT_PUBLIC_KEY is not an Ed25519 public key: {e}"))?;
        let verifier = Self::new(None);
        verifier.keys.pin(kid, key);
        Ok(verifier)
    }

    /// Verifies `token` and returns its claims; 401 `token_expired` or `invalid_token`, or 503
    /// `auth_unavailable` when its key is not cached and the key source cannot be reached.
    ///
    /// Every request of every service comes through here, so it is written out rather than
    /// left to `jsonwebtoken::decode`, which decodes the public key from its bytes, the header
    /// twice and the claims twice on each call. The checks are the same: `alg` is EdDSA, the
    /// Ed25519 signature over `header.claims` verifies (strictly: no malleable or small-order
    /// encodings) against the key of the token's `kid`, and the claims carry every field
    /// ([`Claims`]) with our issuer and audience and an expiry not past (give or take
    /// [`LEEWAY_SECS`]).
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let invalid = |why: &str| {
            ApiError::unauthorized("invalid_token", format!("invalid access token: {why}"))
        };
        let (signed, signature) = token.rsplit_once('.').ok_or_else(|| invalid("malformed"))?;
        let (header, claims) = signed.split_once('.').ok_or_else(|| invalid("malformed"))?;
        let header: TokenHeader = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(|| invalid("malformed"))?;
        if header.alg != "EdDSA" {
            return Err(invalid("unsupported algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let key = self
            .keys
            .lookup(&kid)
            .await
            .map_err(|KeysUnavailable| {
                ApiError::unavailable(
                    "auth_unavailable",
                    "your sign-in cannot be checked right now, please retry shortly",
                )
            })?
            .ok_or_else(|| invalid("unknown signing key"))?;
        let key = self
            .decoded_key(&key)
            .ok_or_else(|| invalid("unusable signing key"))?;
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| invalid("malformed signature"))?;
        key.verify_strict(
            signed.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature),
        )
        .map_err(|_| invalid("InvalidSignature"))?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(claims)
            .ok()
            .and_then(|c| serde_json::from_slice(&c).ok())
            .ok_or_else(|| invalid("malformed claims"))?;
        if claims.iss != ISSUER {
            return Err(invalid("InvalidIssuer"));
        }
        if claims.aud != AUDIENCE {
            return Err(invalid("InvalidAudience"));
        }
        self.check_still_valid(claims.sid, claims.exp).await?;
        Ok(claims)
    }

    /// The checks of [`verify`](Self::verify) that can change after a token was verified once:
    /// its expiry `exp` (401 `token_expired`) and its session `sid` (401 `session_revoked`, or
    /// 503 `auth_unavailable`; one Redis round trip). For connections that outlive the
    /// verification of their token (Socket.IO), run on each action.
    pub async fn check_still_valid(&self, sid: Option<Uuid>, exp: i64) -> Result<(), ApiError> {
        if exp < self.now() - LEEWAY_SECS as i64 {
            return Err(ApiError::unauthorized(
                "token_expired",
                "the access token has expired; refresh it or sign in again",
            ));
        }
        if let Some(sid) = sid {
            self.check_session(sid).await?;
        }
        Ok(())
    }

    /// `key` as a curve point, decoded once per distinct key.
    fn decoded_key(&self, key: &DecodingKey) -> Option<ed25519_dalek::VerifyingKey> {
        let bytes: [u8; 32] = key.try_get_as_bytes().ok()?.get(..32)?.try_into().ok()?;
        if let Some(decoded) = self
            .decoded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&bytes)
        {
            return Some(*decoded);
        }
        let decoded = ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?;
        let mut cache = self.decoded.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= DECODED_KEYS_MAX {
            cache.clear();
        }
        cache.insert(bytes, decoded);
        Some(decoded)
    }
}

/// The bearer token of a request, if any.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: AsRef<Infra> + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized("missing_token", "sign in first: no access token was sent")
        })?;
        let claims = state.as_ref().verifier.verify(token).await?;
        let user = AuthUser::from(claims);
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// An admin caller: 401 without a valid token, 403 `admin_only` for fans.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl<S> FromRequestParts<S> for AdminUser
where
    S: AsRef<Infra> + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::forbidden(
                "admin_only",
                "this needs an admin account",
            ))
        }
    }
}

/// An Ed25519 signing key with its id: the auth service's keys, and test keys.
#[derive(Clone)]
pub struct SigningKey {
    /// The `kid` tokens carry.
    pub kid: String,
    encoding: jsonwebtoken::EncodingKey,
    pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    /// A new random key with a random `kid`.
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let kid = format!("ed25519-{}", &Uuid::new_v4().simple().to_string()[..16]);
        Ok(Self::from_pkcs8_der(kid, der))
    }

    fn from_pkcs8_der(kid: String, der: Vec<u8>) -> Self {
        Self {
            kid,
            encoding: jsonwebtoken::EncodingKey::from_ed_der(&der),
            pkcs8_der: der,
        }
    }

    /// Loads a key saved with [`to_pem`](Self::to_pem).
    pub fn from_pem(kid: &str, pem: &str) -> anyhow::Result<Self> {
        use base64::Engine;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| anyhow::anyhow!("signing key {kid} is not PEM: {e}"))?;
        if der.len() != 48 || der[..16] != ED25519_PKCS8_PREFIX {
            anyhow::bail!("signing key {kid} is not an Ed25519 PKCS#8 key");
        }
        Ok(Self::from_pkcs8_der(kid.to_owned(), der))
    }

    /// The private key as PKCS#8 PEM, for storage.
    pub fn to_pem(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.pkcs8_der);
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    }

    /// The public half as a JWK (`kid`, `alg: EdDSA`, `use: sig`), for the JWKS.
    pub fn public_jwk(&self) -> anyhow::Result<jsonwebtoken::jwk::Jwk> {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&self.encoding, ALGORITHM)?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Ok(jwk)
    }

    /// Signs an access token for `user`, valid for `ttl_secs`, that names no session (test
    /// identities, load generators): it cannot be revoked before it expires.
    pub fn mint(&self, user: &AuthUser, ttl_secs: u64) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        self.mint_at(user, None, now, ttl_secs)
    }

    /// Signs an access token for `user` in session `sid` (the refresh-token family), issued at
    /// `now` (seconds since the epoch) and valid for `ttl_secs`: what the auth service hands out.
    pub fn mint_session(
        &self,
        user: &AuthUser,
        sid: Uuid,
        now: i64,
        ttl_secs: u64,
    ) -> anyhow::Result<String> {
        self.mint_at(user, Some(sid), now, ttl_secs)
    }

    fn mint_at(
        &self,
        user: &AuthUser,
        sid: Option<Uuid>,
        now: i64,
        ttl_secs: u64,
    ) -> anyhow::Result<String> {
        self.mint_claims(&Claims {
            sub: user.id.to_string(),
            user_id: user.id,
            email: user.email.clone(),
            role: user.role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + ttl_secs as i64,
            jti: Uuid::new_v4().to_string(),
            sid,
        })
    }

    /// Signs arbitrary claims (tests use it for expired or wrong-audience tokens).
    pub fn mint_claims(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = jsonwebtoken::Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};

    use super::*;

    fn fan() -> AuthUser {
        AuthUser {
            id: Uuid::new_v4(),
            email: "fan@example.com".to_owned(),
            role: Role::User,
        }
    }

    fn verifier_trusting(key: &SigningKey) -> TokenVerifier {
        let verifier = TokenVerifier::new(None);
        verifier.keys.set_keys(&JwkSet {
            keys: vec![key.public_jwk().unwrap()],
        });
        verifier
    }

    fn claims_for(user: &AuthUser, exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: user.id.to_string(),
            user_id: user.id,
            email: user.email.clone(),
            role: user.role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + exp_offset,
            jti: "t".to_owned(),
            sid: None,
        }
    }

    async fn code_of(verifier: &TokenVerifier, token: &str) -> &'static str {
        verifier.verify(token).await.unwrap_err().code()
    }

    #[tokio::test]
    async fn a_token_signed_by_a_trusted_key_verifies() {
        let key = SigningKey::generate().unwrap();
        let user = fan();
        let claims = verifier_trusting(&key)
            .verify(&key.mint(&user, 60).unwrap())
            .await
            .unwrap();
        assert_eq!(AuthUser::from(claims), user);
    }

    #[tokio::test]
    async fn keys_survive_a_pem_round_trip() {
        let key = SigningKey::generate().unwrap();
        let loaded = SigningKey::from_pem(&key.kid, &key.to_pem()).unwrap();
        let token = loaded.mint(&fan(), 60).unwrap();
        assert!(verifier_trusting(&key).verify(&token).await.is_ok());
    }

    #[tokio::test]
    async fn expired_tokens_are_401_token_expired() {
        let key = SigningKey::generate().unwrap();
        let token = key.mint_claims(&claims_for(&fan(), -120)).unwrap();
        assert_eq!(
            code_of(&verifier_trusting(&key), &token).await,
            "token_expired"
        );
    }

    #[tokio::test]
    async fn a_token_from_another_key_is_refused() {
        let trusted = SigningKey::generate().unwrap();
        let mut forger = SigningKey::generate().unwrap();
        // Even claiming the trusted key's id does not help.
        forger.kid = trusted.kid.clone();
        let token = forger.mint(&fan(), 60).unwrap();
        assert_eq!(
            code_of(&verifier_trusting(&trusted), &token).await,
            "invalid_token"
        );
    }

    #[tokio::test]
    async fn a_tampered_payload_is_refused() {
        let key = SigningKey::generate().unwrap();
        let token = key.mint(&fan(), 60).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(
            code_of(&verifier_trusting(&key), &parts.join(".")).await,
            "invalid_token"
        );
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let key = SigningKey::generate().unwrap();
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid));
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims_for(&fan(), 60)).unwrap());
        let token = format!("{header}.{body}.");
        assert_eq!(
            code_of(&verifier_trusting(&key), &token).await,
            "invalid_token"
        );
    }

    #[tokio::test]
    async fn hs256_signed_with_the_public_key_is_refused() {
        let key = SigningKey::generate().unwrap();
        let AlgorithmParameters::OctetKeyPair(okp) = key.public_jwk().unwrap().algorithm else {
            panic!("an Ed25519 JWK")
        };
        let public = URL_SAFE_NO_PAD.decode(okp.x).unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &claims_for(&fan(), 60),
            &jsonwebtoken::EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert_eq!(
            code_of(&verifier_trusting(&key), &token).await,
            "invalid_token"
        );
    }

    #[tokio::test]
    async fn wrong_audience_or_issuer_is_refused() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_trusting(&key);
        let mut wrong_aud = claims_for(&fan(), 60);
        wrong_aud.aud = "someone-else".to_owned();
        assert_eq!(
            code_of(&verifier, &key.mint_claims(&wrong_aud).unwrap()).await,
            "invalid_token"
        );
        let mut wrong_iss = claims_for(&fan(), 60);
        wrong_iss.iss = "evil".to_owned();
        assert_eq!(
            code_of(&verifier, &key.mint_claims(&wrong_iss).unwrap()).await,
            "invalid_token"
        );
    }

    #[tokio::test]
    async fn a_token_missing_a_claim_or_with_a_cut_signature_is_refused() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_trusting(&key);
        // Signed by the trusted key, but without `exp`.
        let mut claims = serde_json::to_value(claims_for(&fan(), 60)).unwrap();
        claims.as_object_mut().unwrap().remove("exp");
        let mut header = jsonwebtoken::Header::new(ALGORITHM);
        header.kid = Some(key.kid.clone());
        let no_exp = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
        assert_eq!(code_of(&verifier, &no_exp).await, "invalid_token");
        // A good token with its signature shortened by one byte.
        let good = key.mint(&fan(), 60).unwrap();
        let (signed, signature) = good.rsplit_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
        raw.pop();
        let cut = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(raw));
        assert_eq!(code_of(&verifier, &cut).await, "invalid_token");
        // Expired a moment ago, within the clock-skew leeway: still good.
        let just = key.mint_claims(&claims_for(&fan(), -2)).unwrap();
        assert!(verifier.verify(&just).await.is_ok());
    }

    #[tokio::test]
    async fn garbage_is_refused() {
        let key = SigningKey::generate().unwrap();
        assert_eq!(
            code_of(&verifier_trusting(&key), "not.a.jwt").await,
            "invalid_token"
        );
        assert_eq!(code_of(&verifier_trusting(&key), "").await, "invalid_token");
    }

    struct Source(Option<JwkSet>);

    impl KeySource for Source {
        fn fetch(&self) -> Pin<Box<dyn Future<Output = anyhow::Result<JwkSet>> + Send + '_>> {
            let answer = self
                .0
                .clone()
                .ok_or_else(|| anyhow::anyhow!("auth is down"));
            Box::pin(async move { answer })
        }
    }

    #[tokio::test]
    async fn an_unknown_key_is_503_while_the_source_is_down_and_401_once_it_answers() {
        let key = SigningKey::generate().unwrap();
        let token = key.mint(&fan(), 60).unwrap();
        let down = TokenVerifier::new(None);
        down.keys.set_source(Arc::new(Source(None)));
        let err = down.verify(&token).await.unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.code()),
            (503, "auth_unavailable")
        );
        // Asked again at once: still 503, without asking the source again.
        assert_eq!(code_of(&down, &token).await, "auth_unavailable");

        let other = SigningKey::generate().unwrap();
        let up = TokenVerifier::new(None);
        up.keys.set_source(Arc::new(Source(Some(JwkSet {
            keys: vec![other.public_jwk().unwrap()],
        }))));
        assert_eq!(code_of(&up, &token).await, "invalid_token");
    }
}
