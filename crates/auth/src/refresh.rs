//! Refresh tokens: opaque random strings, stored only as SHA-256 hashes, rotated on every use.
//!
//! Each sign-in starts a family; every refresh marks the presented token used and issues its
//! successor in the same family. Presenting a token that was already used means two parties hold
//! it (theft or a replay), so the whole family is revoked and both must sign in again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tiketi_core::ApiError;
use uuid::Uuid;

/// A freshly issued refresh token (the plain value is shown to the client once).
#[derive(Debug)]
pub struct Issued {
    /// The token to hand to the client.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
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
    insert(db, user_id, Uuid::new_v4(), ttl_secs).await
}

async fn insert(
    db: &PgPool,
    user_id: Uuid,
    family: Uuid,
    ttl_secs: u64,
) -> Result<Issued, ApiError> {
    let token = new_token()?;
    let expires_at = Utc::now() + Duration::seconds(ttl_secs as i64);
    sqlx::query(
        "INSERT INTO auth.refresh_tokens (user_id, family_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(family)
    .bind(hash(&token))
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(Issued { token, expires_at })
}

fn invalid() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is invalid or expired; sign in again",
    )
}

/// Uses `token` once: returns its user and a successor in the same family. A token used before
/// revokes its family (401 `refresh_token_reused`).
pub async fn rotate(db: &PgPool, token: &str, ttl_secs: u64) -> Result<(Uuid, Issued), ApiError> {
    let token_hash = hash(token);
    let used: Option<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "UPDATE auth.refresh_tokens SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
         RETURNING id, user_id, family_id",
    )
    .bind(&token_hash)
    .fetch_optional(db)
    .await?;
    let Some((id, user_id, family)) = used else {
        let seen: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT family_id, used_at IS NOT NULL FROM auth.refresh_tokens WHERE token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(db)
        .await?;
        if let Some((family, true)) = seen {
            revoke_family(db, family).await?;
            tracing::warn!(family = %family, "refresh token reused: family revoked");
            return Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every session of this sign-in was ended",
            ));
        }
        return Err(invalid());
    };
    let next = insert(db, user_id, family, ttl_secs).await?;
    sqlx::query(
        "UPDATE auth.refresh_tokens SET replaced_by = (SELECT id FROM auth.refresh_tokens WHERE token_hash = $2)
         WHERE id = $1",
    )
    .bind(id)
    .bind(hash(&next.token))
    .execute(db)
    .await?;
    Ok((user_id, next))
}

async fn revoke_family(db: &PgPool, family: Uuid) -> Result<(), ApiError> {
    sqlx::query("UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends the sign-in `token` belongs to (logout). Unknown tokens are ignored: logging out twice
/// is not an error.
pub async fn revoke(db: &PgPool, token: &str) -> Result<(), ApiError> {
    let family: Option<Uuid> =
        sqlx::query_scalar("SELECT family_id FROM auth.refresh_tokens WHERE token_hash = $1")
            .bind(hash(token))
            .fetch_optional(db)
            .await?;
    if let Some(family) = family {
        revoke_family(db, family).await?;
    }
    Ok(())
}
