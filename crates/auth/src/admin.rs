//! Admin bootstrap: `tiketi admin create --email --password` ends here. There is no default
//! admin; the password is hashed at once and never logged.

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{email::Email, password};

/// What happened to the account.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// A new admin account was created.
    Created(Uuid),
    /// An account with that email existed; it is now an admin and its password was reset.
    Promoted(Uuid),
}

/// Creates an admin account, or promotes the existing account with that email (and sets its
/// password), so the command is safe to run twice.
pub async fn create_admin(
    db: &PgPool,
    email: &str,
    name: Option<&str>,
    plain: &str,
) -> anyhow::Result<AdminOutcome> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    password::check_policy(plain).map_err(|e| anyhow::anyhow!("{e}"))?;
    let phc = password::hash_blocking(plain.to_owned()).await?;
    let name = name.unwrap_or("Administrator");
    let (id, inserted): (Uuid, bool) = sqlx::query_as(
        "INSERT INTO auth.users (email, password_hash, name, role, email_verified)
         VALUES ($1, $2, $3, 'admin', false)
         ON CONFLICT ON CONSTRAINT users_email_key
         DO UPDATE SET role = 'admin', password_hash = EXCLUDED.password_hash
         RETURNING id, (xmax = 0) AS inserted",
    )
    .bind(email.as_str())
    .bind(&phc)
    .bind(name)
    .fetch_one(db)
    .await?;
    tracing::info!(user_id = %id, email = email.as_str(), "admin account ready");
    Ok(if inserted {
        AdminOutcome::Created(id)
    } else {
        AdminOutcome::Promoted(id)
    })
}
