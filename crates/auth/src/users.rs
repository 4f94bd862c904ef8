//! Account rows (`auth.users`) as the auth routes read them.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgExecutor;
use tiketi_core::auth::{AuthUser, Role};
use uuid::Uuid;

/// An account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Optional phone number.
    pub phone: Option<String>,
    /// `user` or `admin`.
    pub role: String,
    /// Google profile picture, when signed in with Google.
    pub picture_url: Option<String>,
    /// argon2id PHC string; `None` for Google-only accounts.
    pub password_hash: Option<String>,
    /// Whether the owner proved the address (a mailed link, or Google saying so).
    pub email_verified: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The columns [`User`] reads.
pub const USER_COLUMNS: &str =
    "id, email, name, phone, role, picture_url, password_hash, email_verified, created_at";

impl User {
    /// The identity tokens carry.
    pub fn identity(&self) -> AuthUser {
        AuthUser {
            id: self.id,
            email: self.email.clone(),
            role: if self.role == "admin" {
                Role::Admin
            } else {
                Role::User
            },
        }
    }

    /// The `user` object of auth answers: `{id, userId, email, name, role}` plus what is known
    /// (`userId` repeats `id`: the original clients read that name).
    pub fn public(&self) -> Value {
        let mut user = json!({
            "id": self.id,
            "userId": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "emailVerified": self.email_verified,
            "createdAt": self.created_at,
        });
        if let Some(phone) = &self.phone {
            user["phone"] = json!(phone);
        }
        if let Some(picture) = &self.picture_url {
            user["picture"] = json!(picture);
        }
        user
    }
}

/// The account with this id.
pub async fn by_id<'e>(db: impl PgExecutor<'e>, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM auth.users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The account with this (normalised) email.
pub async fn by_email<'e>(
    db: impl PgExecutor<'e>,
    email: &str,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM auth.users WHERE email = $1"
    )))
    .bind(email)
    .fetch_optional(db)
    .await
}
