//! `POST /api/auth/register` and `POST /api/auth/login`.
//!
//! Login answers the same 401 for an unknown email and a wrong password, and spends the same
//! argon2 work on both, so neither the answer nor its timing tells whether an account exists.
//!
//! Registration cannot hide it as completely: the contract (and the original clients) want a
//! new account signed in at once (201 with a token), which a taken address cannot get. So a
//! taken address gets a 409 that names nothing about the account, after the same argon2 work,
//! database round trip and mail hand-off as a registration, and the address's owner is mailed
//! that someone tried. Guessing is braked like sign-in (per IP).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tiketi_core::config::RegistrationMode;
use tiketi_core::{ApiError, ApiResult, AppJson};

use crate::AppState;
use crate::domain::email::Email;
use crate::domain::password;
use crate::session;
use crate::users::{self, USER_COLUMNS, User};
use crate::verification;
use tiketi_core::http::ClientIp;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
}

/// Body of `POST /register`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Register {
    email: String,
    password: String,
    name: String,
    phone: Option<String>,
}

fn check_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

/// Creates an account, signs it in and mails a link that verifies its email
/// (`user.emailVerified` is false until then).
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    request_body = Register,
    responses(
        (status = 201, description = "Signed in: `{message, token, refreshToken, expiresIn, user}`; also sets the `refreshToken` cookie (HttpOnly, Path=/api/auth)", body = Object),
        (status = 202, description = "`REGISTRATION_MODE=verify-first`: `{message, email, verificationRequired: true}`, the same whether or not the address has an account; the account is created when the mailed link is opened", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed` with `fields`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 409, description = "This email cannot be registered (`email_taken`); the address's owner is mailed that someone tried", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address (`rate_limited`), with `Retry-After`", body = ErrorBody),
        (status = 503, description = "Too many registrations being checked at once (`auth_busy`), with `Retry-After`", body = ErrorBody)
    )
)]
async fn register(
    State(state): State<AppState>,
    AppJson(body): AppJson<Register>,
) -> ApiResult<Response> {
    let mut problems = Map::new();
    let email = Email::parse(&body.email)
        .map_err(|e| problems.insert("email".into(), json!(e)))
        .ok();
    if let Err(e) = password::check_policy(&body.password) {
        problems.insert("password".into(), json!(e));
    }
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        problems.insert("name".into(), json!("name must be 1 to 100 characters"));
    }
    let phone = body
        .phone
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    if phone.as_deref().is_some_and(|p| !check_phone(p)) {
        problems.insert("phone".into(), json!("phone must be 7 to 15 digits"));
    }
    let Some(email) = email.filter(|_| problems.is_empty()) else {
        return Err(ApiError::validation(Value::Object(problems)));
    };

    let hash = state.hasher.hash(body.password).await?;
    if state.infra.config.mail.registration == RegistrationMode::VerifyFirst {
        verification::register_pending(&state, email.as_str(), &hash, &name, phone.as_deref())
            .await?;
        return Ok((
            StatusCode::ACCEPTED,
            AppJson(json!({
                "message": "check your email: open the link we sent to finish registering, then sign in",
                "email": email.as_str(),
                "verificationRequired": true,
            })),
        )
            .into_response());
    }
    // ON CONFLICT DO NOTHING: a taken address costs the same statement as a new one, and is
    // told apart by the missing row, not by an error.
    let inserted: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO auth.users (email, password_hash, name, phone)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING
         RETURNING {USER_COLUMNS}"
    )))
    .bind(email.as_str())
    .bind(hash)
    .bind(&name)
    .bind(&phone)
    .fetch_optional(&state.infra.db)
    .await?;
    let Some(user) = inserted else {
        metrics::counter!("auth_registrations_refused_total").increment(1);
        verification::notify_taken(&state, email.as_str()).await;
        return Err(ApiError::conflict(
            "email_taken",
            "this email cannot be registered; if it is yours, sign in instead",
        ));
    };
    metrics::counter!("auth_registrations_total").increment(1);
    verification::send_link(&state, &user).await?;
    let session = session::start(&state, &user).await?;
    Ok(session::respond(
        &state,
        StatusCode::CREATED,
        "registered",
        &user,
        &session,
    ))
}

/// Longest email a sign-in reads (bytes, normalised): the longest an account can have.
const MAX_EMAIL_LEN: usize = 254;

/// Body of `POST /login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Login {
    email: String,
    password: String,
}

/// Signs in with email and password.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "Signed in: `{message, token, refreshToken, expiresIn, user}`; also sets the `refreshToken` cookie (HttpOnly, Path=/api/auth)", body = Object),
        (status = 400, description = "Email longer than 254 characters or password too long (`invalid_body`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "Email or password is incorrect (`invalid_credentials`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 429, description = "Too many attempts on this account from this address, from this address, or on this account from everywhere (`rate_limited`), with `Retry-After`", body = ErrorBody),
        (status = 503, description = "Too many sign-ins being checked at once (`auth_busy`), with `Retry-After`", body = ErrorBody)
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<Login>,
) -> ApiResult<Response> {
    // No account has an email over 254 bytes (what registration accepts): such a sign-in is
    // refused before any work, so junk emails neither cost a hash nor reach the throttle.
    // Up to that, a malformed email cannot match an account, but it still costs a hash: same
    // answer, same time.
    let account_key = body.email.trim().to_lowercase();
    if account_key.len() > MAX_EMAIL_LEN {
        return Err(ApiError::bad_request("invalid_body", "email is too long"));
    }
    let email = Email::parse(&body.email).ok();
    state
        .throttle
        .check_login(&state.infra.redis, &account_key, ip)
        .await?;
    if body.password.chars().count() > password::MAX_LENGTH {
        return Err(ApiError::bad_request(
            "invalid_body",
            "password is too long",
        ));
    }
    let user = match &email {
        Some(email) => users::by_email(&state.infra.db, email.as_str()).await?,
        None => None,
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = state.hasher.verify(body.password, hash).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            metrics::counter!("auth_logins_total", "outcome" => "refused").increment(1);
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "email or password is incorrect",
            ));
        }
    };
    metrics::counter!("auth_logins_total", "outcome" => "ok").increment(1);
    let checked = user.password_hash.clone().unwrap_or_default();
    let session = session::start_with_password(&state, &user, &checked).await?;
    state
        .throttle
        .remember(&state.infra.redis, &account_key, ip)
        .await;
    Ok(session::respond(
        &state,
        StatusCode::OK,
        "signed in",
        &user,
        &session,
    ))
}
