//! Signing a user in: an access token from the active key, a refresh token in a new family,
//! the answer shape of register/login/google (`{message, token, user}` plus `refreshToken` and
//! `expiresIn`), and the refresh cookie the web client relies on.
//!
//! The refresh token travels both in the body (mobile apps, scripts) and in an HttpOnly,
//! SameSite=Strict cookie scoped to `/api/auth` (browsers: scripts never see it).

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tiketi_core::ApiError;
use tiketi_core::config::Environment;

use crate::AppState;
use crate::users::User;

/// The refresh cookie's name.
pub const REFRESH_COOKIE: &str = "tiketi_refresh";

/// Tokens for `user`, in a fresh refresh family.
pub struct Session {
    /// The access token (JWT).
    pub access: String,
    /// The refresh token (opaque).
    pub refresh: crate::refresh::Issued,
}

/// Mints an access token and starts a refresh family.
pub async fn start(state: &AppState, user: &User) -> Result<Session, ApiError> {
    let refresh = crate::refresh::issue(
        &state.infra.db,
        user.id,
        state.infra.config.jwt.refresh_ttl_secs,
    )
    .await?;
    continue_with(state, user, refresh).await
}

/// [`start`] for a password sign-in: the family starts only if the password checked is still
/// the account's (see [`crate::refresh::issue_for_password`]).
pub async fn start_with_password(
    state: &AppState,
    user: &User,
    checked_hash: &str,
) -> Result<Session, ApiError> {
    let refresh = crate::refresh::issue_for_password(
        &state.infra.db,
        user.id,
        checked_hash,
        state.infra.config.jwt.refresh_ttl_secs,
    )
    .await?;
    continue_with(state, user, refresh).await
}

/// Mints an access token next to an already issued refresh token (after a rotation).
pub async fn continue_with(
    state: &AppState,
    user: &User,
    refresh: crate::refresh::Issued,
) -> Result<Session, ApiError> {
    let key = state.keys.signing_key().await?;
    // The token names its sign-in (`sid`): ending the sign-in refuses the token at once.
    let access = key.mint_session(
        &user.identity(),
        refresh.family,
        state.infra.verifier.now(),
        state.infra.config.jwt.access_ttl_secs,
    )?;
    Ok(Session { access, refresh })
}

/// The JSON answer plus the refresh cookie.
pub fn respond(
    state: &AppState,
    status: StatusCode,
    message: &str,
    user: &User,
    session: &Session,
) -> Response {
    let body = json!({
        "message": message,
        "token": session.access,
        "refreshToken": session.refresh.token,
        "expiresIn": state.infra.config.jwt.access_ttl_secs,
        "user": user.public(),
    });
    let mut response = (status, axum::Json(body)).into_response();
    let max_age = (session.refresh.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    set_cookie(state, &mut response, &session.refresh.token, max_age);
    response
}

/// Sets (or with `max_age` 0, clears) the refresh cookie.
pub fn set_cookie(state: &AppState, response: &mut Response, value: &str, max_age: i64) {
    let secure = if state.infra.config.environment == Environment::Production {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{REFRESH_COOKIE}={value}; Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
}

/// The refresh cookie's value, if sent.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == REFRESH_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}
