//! Email verification for password accounts (`auth.email_verifications`): a random token mailed
//! as a link, stored only as its SHA-256, single-use, valid for [`TOKEN_TTL_HOURS`] and bound to
//! the address it was sent to. Also the notice an address's owner gets when someone tries to
//! register it again.
//!
//! An unverified account can queue and buy as before (the original clients have no verification
//! step); what it cannot do is keep its password when a Google identity is linked to it (see
//! `google::find_or_create_user`) or be promoted without `--promote-unverified`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use tiketi_core::ApiError;
use uuid::Uuid;

use crate::AppState;
use crate::mail::{self, Mail};
use crate::users::{USER_COLUMNS, User};

/// How long a mailed link works.
pub const TOKEN_TTL_HOURS: i64 = 24;

/// At most this many links per account within [`RESEND_WINDOW_MINUTES`] (the one sent at
/// registration counts): a squatter who registered someone else's address cannot use "send it
/// again" to flood that inbox.
pub const MAX_LINKS_PER_WINDOW: i64 = 3;

/// The window of [`MAX_LINKS_PER_WINDOW`].
pub const RESEND_WINDOW_MINUTES: i64 = 15;

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The link a fan opens: `PUBLIC_URL/api/auth/verify-email?token=...`.
fn link(state: &AppState, token: &str) -> String {
    format!(
        "{}/api/auth/verify-email?token={token}",
        state.infra.config.mail.public_url
    )
}

/// Creates a verification for `user` and mails its link in the background, unless
/// [`MAX_LINKS_PER_WINDOW`] links went out within [`RESEND_WINDOW_MINUTES`]: then nothing is
/// sent and the answer is the seconds until another may be. The count and the insert run under
/// a per-account lock, so parallel requests cannot slip past the cap.
pub async fn send_link(state: &AppState, user: &User) -> Result<Option<u64>, ApiError> {
    let token = new_token()?;
    let mut tx = state.infra.db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tiketi-verify-link'), hashtext($1::text))")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let recent: Vec<chrono::DateTime<Utc>> = sqlx::query_scalar(
        "SELECT created_at FROM auth.email_verifications
         WHERE user_id = $1 AND created_at > now() - make_interval(mins => $2::int)
         ORDER BY created_at DESC LIMIT $3",
    )
    .bind(user.id)
    .bind(RESEND_WINDOW_MINUTES as i32)
    .bind(MAX_LINKS_PER_WINDOW)
    .fetch_all(&mut *tx)
    .await?;
    if recent.len() as i64 >= MAX_LINKS_PER_WINDOW {
        let oldest = recent.last().copied().unwrap_or_else(Utc::now);
        let left = (oldest + Duration::minutes(RESEND_WINDOW_MINUTES) - Utc::now()).num_seconds();
        return Ok(Some(left.max(1) as u64));
    }
    sqlx::query(
        "INSERT INTO auth.email_verifications (user_id, email, token_hash, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(user.id)
    .bind(&user.email)
    .bind(hash(&token))
    .bind(Utc::now() + Duration::hours(TOKEN_TTL_HOURS))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // No name in the mail: the name is whatever the registrant typed, and the address may not be
    // theirs (a mail from Tiketi must not carry a stranger's words to the owner).
    let body = format!(
        "Hello,\n\n\
         Please confirm that this address belongs to your Tiketi account by opening this link:\n\n\
         {link}\n\n\
         The link works once and for {TOKEN_TTL_HOURS} hours. If you did not create a Tiketi \
         account, ignore this message: nothing happens unless you confirm on the page the link \
         opens.\n",
        link = link(state, &token),
    );
    mail::send_in_background(
        &state.mailer,
        "verify_email",
        Mail {
            to: user.email.clone(),
            subject: "Confirm your email address for Tiketi".to_owned(),
            body,
        },
    );
    Ok(None)
}

/// Tells the owner of `email` that someone tried to register it (no link, nothing the person
/// who tried typed), at most [`MAX_LINKS_PER_WINDOW`] times per address within
/// [`RESEND_WINDOW_MINUTES`] (counted in Redis across replicas, keyed by a hash of the address),
/// so the form cannot be used to flood an inbox. With Redis unreachable the notice is sent.
pub async fn notify_taken(state: &AppState, email: &str) {
    let digest = Sha256::digest(email.as_bytes());
    let key = state.infra.redis.key(&format!(
        "auth:register-notice:{}",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let counted: anyhow::Result<i64> = async {
        let mut conn = state
            .infra
            .redis
            .conn()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (n, _): (i64, bool) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .expire(&key, RESEND_WINDOW_MINUTES * 60)
            .arg("NX")
            .query_async(&mut *conn)
            .await?;
        Ok(n)
    }
    .await;
    match counted {
        Ok(n) if n > MAX_LINKS_PER_WINDOW => return,
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "register notice: redis unavailable, sending uncounted")
        }
    }
    let body = format!(
        "Hello,\n\n\
         Someone just tried to register a new Tiketi account with this email address, which \
         already has one. If it was you, sign in instead at {site} (with your password, or with \
         Google if that is how you signed up).\n\n\
         If it was not you, you need not do anything: no account was created and your account \
         is unchanged.\n",
        site = state.infra.config.mail.public_url,
    );
    mail::send_in_background(
        &state.mailer,
        "register_attempt",
        Mail {
            to: email.to_owned(),
            subject: "Someone tried to register with your email address".to_owned(),
            body,
        },
    );
}

/// Tells an account's owner that a Google identity was just linked to it by its address, and,
/// when the address had never been proven, that its password was removed (whoever set it may
/// not have been the owner): a fan who finds their password refused learns why.
pub fn notify_google_linked(state: &AppState, user: &User, password_dropped: bool) {
    let dropped = if password_dropped {
        "Because this address had never been confirmed, the password that was set on the account \
         was removed and every session it had was signed out: whoever set it may not have been \
         you. From now on, sign in with Google.\n\n"
    } else {
        "You can sign in with Google or with your password as before.\n\n"
    };
    let body = format!(
        "Hello,\n\n\
         The Google account for this address was just used to sign in to Tiketi, and is now \
         linked to your Tiketi account at {site}.\n\n\
         {dropped}\
         If this was not you, secure your Google account.\n",
        site = state.infra.config.mail.public_url,
    );
    mail::send_in_background(
        &state.mailer,
        "google_linked",
        Mail {
            to: user.email.clone(),
            subject: "Your Tiketi account is now linked to Google".to_owned(),
            body,
        },
    );
}

/// `REGISTRATION_MODE=verify-first`: a registration creates no account. When the address has
/// none, the registration is stored and its link mailed (at most [`MAX_LINKS_PER_WINDOW`]
/// within [`RESEND_WINDOW_MINUTES`] per address, so nobody floods an inbox through the form);
/// when it has one, its owner is told someone tried. The caller answers the same either way, so
/// the same queries run on both paths.
pub async fn register_pending(
    state: &AppState,
    email: &str,
    password_hash: &str,
    name: &str,
    phone: Option<&str>,
) -> Result<(), ApiError> {
    let (taken, recent): (bool, i64) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM auth.users WHERE email = $1),
                (SELECT count(*) FROM auth.pending_registrations
                 WHERE email = $1 AND created_at > now() - make_interval(mins => $2::int))",
    )
    .bind(email)
    .bind(RESEND_WINDOW_MINUTES as i32)
    .fetch_one(&state.infra.db)
    .await?;
    if taken {
        metrics::counter!("auth_registrations_refused_total").increment(1);
        notify_taken(state, email).await;
        return Ok(());
    }
    if recent >= MAX_LINKS_PER_WINDOW {
        return Ok(());
    }
    let token = new_token()?;
    sqlx::query(
        "INSERT INTO auth.pending_registrations
             (email, password_hash, name, phone, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(email)
    .bind(password_hash)
    .bind(name)
    .bind(phone)
    .bind(hash(&token))
    .bind(Utc::now() + Duration::hours(TOKEN_TTL_HOURS))
    .execute(&state.infra.db)
    .await?;
    let body = format!(
        "Hello,\n\n\
         To finish creating your Tiketi account for this address, open this link:\n\n\
         {link}\n\n\
         The link works once and for {TOKEN_TTL_HOURS} hours; confirm on the page it opens, then \
         sign in with the password you chose. If you did not register at Tiketi, ignore this \
         message: no account is created unless you confirm.\n",
        link = link(state, &token),
    );
    mail::send_in_background(
        &state.mailer,
        "finish_registration",
        Mail {
            to: email.to_owned(),
            subject: "Finish creating your Tiketi account".to_owned(),
            body,
        },
    );
    Ok(())
}

/// Uses a pending registration's `token` (verify-first mode): creates its account, verified,
/// unless the address has an account by now. `None` when the token is not a registration's.
async fn finish_registration(state: &AppState, token: &str) -> Result<Option<User>, ApiError> {
    let mut tx = state.infra.db.begin().await?;
    let used: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "UPDATE auth.pending_registrations SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING email, password_hash, name, phone",
    )
    .bind(hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, password_hash, name, phone)) = used else {
        return Ok(None);
    };
    let user: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO auth.users (email, password_hash, name, phone, email_verified)
         VALUES ($1, $2, $3, $4, true)
         ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING
         RETURNING {USER_COLUMNS}"
    )))
    .bind(&email)
    .bind(&password_hash)
    .bind(&name)
    .bind(&phone)
    .fetch_optional(&mut *tx)
    .await?;
    // The address got an account meanwhile (another of its links, Google): this link is spent.
    let user = user.ok_or_else(invalid)?;
    tx.commit().await?;
    metrics::counter!("auth_registrations_total").increment(1);
    metrics::counter!("auth_emails_verified_total").increment(1);
    Ok(Some(user))
}

fn invalid() -> ApiError {
    ApiError::bad_request(
        "invalid_verification_token",
        "this verification link is invalid, expired or already used; ask for a new one",
    )
}

/// Uses `token`: marks its account's address verified and returns the account.
pub async fn verify(state: &AppState, token: &str) -> Result<User, ApiError> {
    if token.is_empty() || token.len() > 200 {
        return Err(invalid());
    }
    let mut tx = state.infra.db.begin().await?;
    let used: Option<(Uuid, String)> = sqlx::query_as(
        "UPDATE auth.email_verifications SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id, email",
    )
    .bind(hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, email)) = used else {
        drop(tx);
        return finish_registration(state, token).await?.ok_or_else(invalid);
    };
    // Only while the account still has the address the link was sent to.
    let user: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE auth.users SET email_verified = true WHERE id = $1 AND email = $2
         RETURNING {USER_COLUMNS}"
    )))
    .bind(user_id)
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await?;
    let user = user.ok_or_else(invalid)?;
    tx.commit().await?;
    metrics::counter!("auth_emails_verified_total").increment(1);
    Ok(user)
}
