//! Refresh tokens: opaque random strings, stored only as SHA-256 hashes, rotated on every use.
//!
//! Each sign-in starts a family; every refresh marks the presented token used and issues its
//! successor in the same family. Presenting a token that was already used means two parties hold
//! it (theft or a replay), so the whole family is revoked and both must sign in again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tiketi_core::ApiError;
use tiketi_core::redis::Redis;
use uuid::Uuid;

/// A freshly issued refresh token (the plain value is shown to the client once).
#[derive(Debug)]
pub struct Issued {
    /// The token to hand to the client.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The sign-in (family) it belongs to: the `sid` of the access tokens minted beside it.
    pub family: Uuid,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Starts a new family for `user_id` (a sign-in).
pub async fn issue(db: &PgPool, user_id: Uuid, ttl_secs: u64) -> Result<Issued, ApiError> {
    let mut conn = db.acquire().await?;
    let (issued, _) = insert(&mut conn, user_id, Uuid::new_v4(), ttl_secs).await?;
    Ok(issued)
}

/// Starts a new family for a password sign-in, only if the account's password is still the
/// one that was checked (`checked_hash`). Under the account's lock, like revocation: a password
/// checked just before an admin promotion or a Google link replaced or dropped it, and the
/// revocation that came with that, cannot start a session after it.
pub async fn issue_for_password(
    db: &PgPool,
    user_id: Uuid,
    checked_hash: &str,
    ttl_secs: u64,
) -> Result<Issued, ApiError> {
    let mut tx = db.begin().await?;
    lock_account(&mut tx, user_id).await?;
    let current: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM auth.users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if current.flatten().as_deref() != Some(checked_hash) {
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "email or password is incorrect",
        ));
    }
    let (issued, _) = insert(&mut tx, user_id, Uuid::new_v4(), ttl_secs).await?;
    tx.commit().await?;
    Ok(issued)
}

async fn insert(
    db: &mut PgConnection,
    user_id: Uuid,
    family: Uuid,
    ttl_secs: u64,
) -> Result<(Issued, Uuid), ApiError> {
    let token = new_token()?;
    let expires_at = Utc::now() + Duration::seconds(ttl_secs as i64);
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO auth.refresh_tokens (user_id, family_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(family)
    .bind(hash(&token))
    .bind(expires_at)
    .fetch_one(&mut *db)
    .await?;
    Ok((
        Issued {
            token,
            expires_at,
            family,
        },
        id,
    ))
}

/// Serialises rotation and revocation of one account's refresh tokens until the transaction
/// ends. Row locks alone do not: a revocation's `UPDATE ... WHERE family_id = $1` does not see
/// a successor inserted by a rotation that commits after the revocation's statement began, so
/// that successor would outlive its revoked family. Per account, not per family, so revoking
/// every session of an account (`revoke_user`) is serialised with rotations too.
async fn lock_account(tx: &mut PgConnection, user_id: Uuid) -> Result<(), ApiError> {
    // Two-key advisory lock: the first key names this use, the second hashes the account.
    sqlx::query("SELECT pg_advisory_xact_lock(1952805748, hashtext($1::text))")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn invalid() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is invalid or expired; sign in again",
    )
}

/// Uses `token` once: returns its user and a successor in the same family. A token used before
/// revokes its family (401 `refresh_token_reused`).
///
/// One transaction under the account's lock: the token is marked used and its successor
/// inserted only if the family is not revoked, and a concurrent revocation waits for the
/// successor to exist (and then revokes it too) or happens first (and then there is none).
pub async fn rotate(db: &PgPool, token: &str, ttl_secs: u64) -> Result<(Uuid, Issued), ApiError> {
    rotate_inner(db, token, ttl_secs).await.map_err(|(e, _)| e)
}

/// [`rotate`], publishing a family revoked for reuse to every service's revocation list, so
/// its access tokens stop working at once too.
pub async fn rotate_publishing(
    db: &PgPool,
    redis: &Redis,
    token: &str,
    ttl_secs: u64,
) -> Result<(Uuid, Issued), ApiError> {
    match rotate_inner(db, token, ttl_secs).await {
        Ok(rotated) => Ok(rotated),
        Err((e, revoked)) => {
            if let Some(family) = revoked {
                crate::revocation::publish_or_defer(redis, &[family]).await;
            }
            Err(e)
        }
    }
}

/// The error, and the family it revoked (on reuse).
type RotateError = (ApiError, Option<Uuid>);

async fn rotate_inner(
    db: &PgPool,
    token: &str,
    ttl_secs: u64,
) -> Result<(Uuid, Issued), RotateError> {
    let plain = |e: ApiError| (e, None);
    let token_hash = hash(token);
    let owner: Option<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM auth.refresh_tokens WHERE token_hash = $1")
            .bind(&token_hash)
            .fetch_optional(db)
            .await
            .map_err(|e| plain(e.into()))?;
    let Some(owner) = owner else {
        return Err(plain(invalid()));
    };
    let mut tx = db.begin().await.map_err(|e| plain(e.into()))?;
    lock_account(&mut tx, owner).await.map_err(plain)?;
    let row: Option<(Uuid, Uuid, bool, bool)> = sqlx::query_as(
        "SELECT id, family_id, used_at IS NOT NULL, revoked_at IS NULL AND expires_at > now()
         FROM auth.refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(&token_hash)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| plain(e.into()))?;
    let Some((id, family, used, live)) = row else {
        return Err(plain(invalid()));
    };
    if used {
        revoke_family_locked(&mut tx, family).await.map_err(plain)?;
        tx.commit().await.map_err(|e| plain(e.into()))?;
        tracing::warn!(family = %family, "refresh token reused: family revoked");
        return Err((
            ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every session of this sign-in was ended",
            ),
            Some(family),
        ));
    }
    if !live {
        return Err(plain(invalid()));
    }
    let (next, next_id) = insert(&mut tx, owner, family, ttl_secs)
        .await
        .map_err(plain)?;
    sqlx::query("UPDATE auth.refresh_tokens SET used_at = now(), replaced_by = $2 WHERE id = $1")
        .bind(id)
        .bind(next_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| plain(e.into()))?;
    tx.commit().await.map_err(|e| plain(e.into()))?;
    Ok((owner, next))
}

/// Marks every token of `family` not yet revoked revoked; returns how many there were (none: the
/// family had ended before).
async fn revoke_family_locked(tx: &mut PgConnection, family: Uuid) -> Result<u64, ApiError> {
    let done = sqlx::query("UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}

/// What [`revoke`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The sign-in was live and is ended now.
    Ended(Uuid),
    /// The sign-in had ended before (an earlier logout, a reuse, a password change).
    AlreadyEnded(Uuid),
}

/// Ends the sign-in `token` belongs to (logout) and says whether it was still live. Unknown
/// tokens are `None`.
pub async fn revoke(db: &PgPool, token: &str) -> Result<Option<Revoked>, ApiError> {
    let found: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT user_id, family_id FROM auth.refresh_tokens WHERE token_hash = $1")
            .bind(hash(token))
            .fetch_optional(db)
            .await?;
    if let Some((user_id, family)) = found {
        let mut tx = db.begin().await?;
        lock_account(&mut tx, user_id).await?;
        let live = revoke_family_locked(&mut tx, family).await?;
        tx.commit().await?;
        return Ok(Some(if live > 0 {
            Revoked::Ended(family)
        } else {
            Revoked::AlreadyEnded(family)
        }));
    }
    Ok(None)
}

/// Ends sign-in `family` of `user_id` (a logout with its access token, whose `sid` names the
/// family). A family with no refresh token left in the database is ended all the same by
/// publishing it: the caller publishes `family` whatever this finds.
pub async fn revoke_family(db: &PgPool, user_id: Uuid, family: Uuid) -> Result<(), ApiError> {
    let mut tx = db.begin().await?;
    lock_account(&mut tx, user_id).await?;
    sqlx::query(
        "UPDATE auth.refresh_tokens SET revoked_at = now()
         WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sign-ins ended by [`revoke_user`].
#[derive(Debug, Default)]
pub struct Ended {
    /// How many were live (could still refresh).
    pub live: u64,
    /// Every family revoked (live or not: their access tokens may still be), to publish to
    /// the revocation list once the transaction commits ([`crate::revocation::publish`]).
    pub families: Vec<Uuid>,
}

/// Ends every sign-in of `user_id` inside the caller's transaction (an admin promotion, a
/// Google identity taking over an unproven account).
pub async fn revoke_user(tx: &mut PgConnection, user_id: Uuid) -> Result<Ended, ApiError> {
    lock_account(tx, user_id).await?;
    let rows: Vec<(Uuid, bool)> = sqlx::query_as(
        "WITH revoked AS (
             UPDATE auth.refresh_tokens SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL
             RETURNING family_id, used_at IS NULL AND expires_at > now() AS live
         )
         SELECT family_id, bool_or(live) FROM revoked GROUP BY family_id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(Ended {
        live: rows.iter().filter(|(_, live)| *live).count() as u64,
        families: rows.into_iter().map(|(family, _)| family).collect(),
    })
}
