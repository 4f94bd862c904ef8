//! Admin bootstrap: `tiketi admin create --email --password` ends here. There is no default
//! admin; the password is hashed at once and never logged.
//!
//! Promoting an existing account is where a squatter could win: whoever registered the address
//! first holds its sessions. So a promotion ends every session of the account (the new admin
//! signs in with the new password), and an account whose address nobody proved is promoted only
//! when the operator says so (`--promote-unverified`).
//!
//! The operator vouches for the address of every account this command leaves an admin: it is
//! stored verified (an unverified address is one a Google sign-in may take over). Google
//! sign-in never links to an admin account anyway (see [`crate::google::find_or_create_user`]).

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{email::Email, password};
use crate::users::{USER_COLUMNS, User};

/// What happened to the account.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// A new admin account was created, its email marked verified.
    Created(Uuid),
    /// An account with that email existed; it is now an admin, its password was reset, its
    /// email marked verified and its sessions were ended.
    Promoted {
        /// The account.
        id: Uuid,
        /// How many live sign-ins (refresh-token families) were ended.
        sessions_revoked: u64,
        /// A Google identity was linked to the account and was unlinked: whoever signed in with
        /// it may not be the operator, and admins sign in with their password.
        google_unlinked: bool,
        /// Every sign-in ended (refresh-token families), for the revocation list
        /// ([`crate::revocation::publish`]): their access tokens must stop working at once.
        ended_sessions: Vec<Uuid>,
    },
}

/// Why an account was not promoted.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The existing account's address was never verified; pass `promote_unverified` to promote
    /// it anyway.
    #[error(
        "the account {0} has an email address nobody verified (anyone could have registered it); \
         have its owner verify it first, or pass --promote-unverified if you are sure the account is yours"
    )]
    Unverified(Uuid),
    /// Bad input or a database failure.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Creates an admin account, or promotes the existing account with that email (sets its
/// password and ends its sessions), so the command is safe to run twice. An existing non-admin
/// account whose email is not verified is refused unless `promote_unverified`.
pub async fn create_admin(
    db: &PgPool,
    email: &str,
    name: Option<&str>,
    plain: &str,
    promote_unverified: bool,
) -> Result<AdminOutcome, AdminError> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    password::check_policy(plain).map_err(|e| anyhow::anyhow!("{e}"))?;
    let phc = password::hash_blocking(plain.to_owned()).await?;
    let name = name.unwrap_or("Administrator");
    let mut tx = db.begin().await.map_err(anyhow::Error::from)?;
    let existing: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM auth.users WHERE email = $1 FOR UPDATE"
    )))
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(anyhow::Error::from)?;
    let outcome = match existing {
        // An admin already (this command ran before): re-running it is no escalation.
        Some(user) if !user.email_verified && user.role != "admin" && !promote_unverified => {
            return Err(AdminError::Unverified(user.id));
        }
        Some(user) => {
            // A Google identity linked before the promotion (anyone could have signed in with
            // Google first) is unlinked: it must not become an admin's way in. Admins sign in with
            // their password; Google never links to an admin by email afterwards.
            let google_unlinked: bool = sqlx::query_scalar(
                "UPDATE auth.users u SET role = 'admin', password_hash = $2, email_verified = true,
                     google_sub = NULL
                 FROM auth.users old WHERE u.id = $1 AND old.id = u.id
                 RETURNING old.google_sub IS NOT NULL",
            )
            .bind(user.id)
            .bind(&phc)
            .fetch_one(&mut *tx)
            .await
            .map_err(anyhow::Error::from)?;
            let ended = crate::refresh::revoke_user(&mut tx, user.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            AdminOutcome::Promoted {
                id: user.id,
                sessions_revoked: ended.live,
                google_unlinked,
                ended_sessions: ended.families,
            }
        }
        None => {
            // A concurrent registration of the same address makes this fail on the unique
            // constraint; running the command again promotes (or refuses) that account.
            let id: Uuid = sqlx::query_scalar(
                "INSERT INTO auth.users (email, password_hash, name, role, email_verified)
                 VALUES ($1, $2, $3, 'admin', true) RETURNING id",
            )
            .bind(email.as_str())
            .bind(&phc)
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(anyhow::Error::from)?;
            AdminOutcome::Created(id)
        }
    };
    tx.commit().await.map_err(anyhow::Error::from)?;
    match &outcome {
        AdminOutcome::Created(id) => tracing::info!(user_id = %id, "admin account created"),
        AdminOutcome::Promoted {
            id,
            sessions_revoked,
            google_unlinked,
            ..
        } => tracing::info!(
            user_id = %id,
            sessions_revoked,
            google_unlinked,
            "existing account promoted to admin; its sessions were ended"
        ),
    }
    Ok(outcome)
}

/// Publishes the sign-ins a promotion ended to every service's revocation list, so their
/// access tokens are refused at once (`tiketi admin create` calls it after [`create_admin`]).
/// If Redis cannot be reached, the running auth service publishes them within
/// [`crate::revocation::SYNC_EVERY`] of Redis answering again (Postgres holds the revocation).
pub async fn publish_ended_sessions(
    redis: &tiketi_core::redis::Redis,
    outcome: &AdminOutcome,
) -> Result<(), tiketi_core::ApiError> {
    match outcome {
        AdminOutcome::Promoted { ended_sessions, .. } => {
            crate::revocation::publish(redis, ended_sessions).await
        }
        AdminOutcome::Created(_) => Ok(()),
    }
}
