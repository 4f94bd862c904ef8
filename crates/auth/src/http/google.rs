//! Google sign-in routes: `POST /api/auth/google {credential}` (an ID token from Google's
//! button) and the redirect flow `GET /api/auth/google/start` -> Google ->
//! `GET /api/auth/google/callback`, which sets the refresh cookie and sends the browser back;
//! the web client then calls `/refresh` to get its access token (no token in any URL).
//! `GET /api/auth/config` tells a client which of these are on.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::AsyncCommands;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::config::Environment;
use tiketi_core::{ApiError, ApiResult, AppJson, AppQuery};

use crate::AppState;
use crate::google::{self, Google, PendingLogin};
use crate::session;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a started Google sign-in may take.
const PENDING_TTL_SECS: u64 = 600;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_sign_in_options))
        .routes(routes!(sign_in_with_id_token))
        .routes(routes!(start))
        .routes(routes!(callback))
}

fn google(state: &AppState) -> Result<&Google, ApiError> {
    state.google.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "google_sign_in_disabled",
            "Google sign-in is not configured here",
        )
    })
}

/// `GET /api/auth/config` (public): which sign-in methods this server offers, so a client can
/// decide whether to show a Google button without starting a sign-in.
/// `{google: {enabled, redirect, clientId}}`: `enabled` when `GOOGLE_CLIENT_ID` is set (ID
/// tokens accepted at `POST /google`), `redirect` when the code flow (`/google/start`) works too.
#[utoipa::path(
    get,
    path = "/api/auth/config",
    tag = "auth",
    responses(
        (status = 200, description = "`{password: true, google: {enabled, redirect, clientId}}`", body = Object)
    )
)]
async fn get_sign_in_options(State(state): State<AppState>) -> AppJson<Value> {
    let google = state.google.as_deref();
    AppJson(json!({
        "password": true,
        "google": {
            "enabled": google.is_some(),
            "redirect": google.is_some_and(Google::has_code_flow),
            "clientId": google.map(Google::client_id),
        },
    }))
}

/// Body of `POST /google`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GoogleCredential {
    credential: String,
}

/// Signs in with an ID token from Google's button.
#[utoipa::path(
    post,
    path = "/api/auth/google",
    tag = "auth",
    request_body = GoogleCredential,
    responses(
        (status = 200, description = "Signed in: `{message, token, refreshToken, expiresIn, user}`; also sets the `refreshToken` cookie (HttpOnly, Path=/api/auth)", body = Object),
        (status = 400, description = "Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "The ID token is invalid or expired", body = ErrorBody),
        (status = 403, description = "Google has not verified the email (`google_email_unverified`), or the address belongs to an admin account not linked to this Google identity (`google_link_refused_admin`: admins sign in with their password)", body = ErrorBody),
        (status = 404, description = "Google sign-in is not configured (`google_sign_in_disabled`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    )
)]
async fn sign_in_with_id_token(
    State(state): State<AppState>,
    AppJson(body): AppJson<GoogleCredential>,
) -> ApiResult<Response> {
    let identity = google(&state)?.verify(&body.credential, None).await?;
    let (user, linked) = google::find_or_create_user(&state.infra.db, &identity).await?;
    if let Some(linked) = linked {
        crate::revocation::publish_or_defer(&state.infra.redis, &linked.ended_sessions).await;
        crate::verification::notify_google_linked(&state, &user, linked.password_dropped);
    }
    let session = session::start(&state, &user).await?;
    Ok(session::respond(
        &state,
        StatusCode::OK,
        "signed in with Google",
        &user,
        &session,
    ))
}

/// Query of `/google/start`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Start {
    /// A path on this site to come back to.
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
}

/// Whether `path` is a plain path on this site, read the way a browser reads a `Location`:
/// browsers drop tabs and newlines, treat `\` as `/`, and some decode `%2F`, so
/// `/%09/evil.example` is `//evil.example`, another site. So the path and its percent-decoded
/// forms must start with exactly one `/` and hold no `//`, no backslash, no whitespace and no
/// control characters.
pub fn is_safe_return_to(path: &str) -> bool {
    fn plain(p: &str) -> bool {
        p.starts_with('/')
            && !p.contains("//")
            && !p.contains('\\')
            && !p.chars().any(|c| c.is_whitespace() || c.is_control())
    }
    if path.len() > 2048 || !plain(path) {
        return false;
    }
    // Decoded until it stops changing (a few rounds at most), every form checked.
    let mut current = path.to_owned();
    for _ in 0..4 {
        let Ok(decoded) = percent_encoding::percent_decode_str(&current).decode_utf8() else {
            return false;
        };
        if decoded == current {
            return true;
        }
        if !plain(&decoded) {
            return false;
        }
        current = decoded.into_owned();
    }
    false
}

/// Only same-site paths (see [`is_safe_return_to`]); anything else goes home.
fn safe_return_to(path: Option<String>) -> String {
    path.filter(|p| is_safe_return_to(p))
        .unwrap_or_else(|| "/".to_owned())
}

/// The cookie that ties a started Google sign-in to the browser that started it: a random value
/// set at `/start` (its hash kept with the pending sign-in) and required at `/callback`. Without
/// it an attacker could stop their own sign-in at Google's redirect back and make a victim's
/// browser finish it, signing the victim in to the attacker's account (login CSRF).
/// SameSite=Lax: Google's redirect back is a cross-site top-level GET, which Lax lets through.
const BINDING_COOKIE: &str = "tiketi_google_binding";

fn binding_hash(value: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn binding_cookie(state: &AppState, value: &str, max_age: u64) -> Option<HeaderValue> {
    let secure = if state.infra.config.environment == Environment::Production {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{BINDING_COOKIE}={value}; Path=/api/auth/google; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// The binding cookie values the browser sent (several when more than one sign-in was started).
fn binding_values(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == BINDING_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
        .collect()
}

fn pending_key(state: &AppState, oauth_state: &str) -> String {
    state
        .infra
        .redis
        .key(&format!("auth:google:pending:{oauth_state}"))
}

/// Starts the Google redirect sign-in.
#[utoipa::path(
    get,
    path = "/api/auth/google/start",
    tag = "auth",
    params(Start),
    responses(
        (status = 302, description = "Redirect to Google's consent page; sets the `tiketi_google_binding` cookie (HttpOnly, SameSite=Lax, Path=/api/auth/google) the callback requires"),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 404, description = "Google sign-in is not configured (`google_sign_in_disabled`)", body = ErrorBody)
    )
)]
async fn start(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<Start>,
) -> ApiResult<Response> {
    let mut binding = [0u8; 32];
    getrandom::fill(&mut binding).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let binding = URL_SAFE_NO_PAD.encode(binding);
    let (url, oauth_state, pending) =
        google(&state)?.start(safe_return_to(query.return_to), binding_hash(&binding))?;
    let mut conn = state.infra.redis.conn().await?;
    let _: () = conn
        .set_ex(
            pending_key(&state, &oauth_state),
            serde_json::to_string(&pending).map_err(anyhow::Error::from)?,
            PENDING_TTL_SECS,
        )
        .await?;
    let mut response = (StatusCode::FOUND, [(header::LOCATION, url)]).into_response();
    if let Some(cookie) = binding_cookie(&state, &binding, PENDING_TTL_SECS) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Query of `/google/callback`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Google's redirect back: signs in and sends the browser on.
#[utoipa::path(
    get,
    path = "/api/auth/google/callback",
    tag = "auth",
    params(Callback),
    responses(
        (status = 302, description = "Signed in: the refresh cookie is set and the browser is sent to `returnTo`; the client then calls `/api/auth/refresh`"),
        (status = 400, description = "Missing, expired or reused sign-in state (`invalid_oauth_state`), a browser that did not start this sign-in (`oauth_state_mismatch`) or a missing code (`invalid_oauth_code`)", body = ErrorBody),
        (status = 401, description = "Google refused the sign-in (`google_sign_in_refused`) or its token is invalid", body = ErrorBody),
        (status = 404, description = "Google sign-in is not configured (`google_sign_in_disabled`)", body = ErrorBody)
    )
)]
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppQuery(query): AppQuery<Callback>,
) -> ApiResult<Response> {
    let google = google(&state)?;
    let oauth_state = query
        .state
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request("invalid_oauth_state", "the sign-in state is missing")
        })?;
    // One use only: GETDEL, so a replayed callback finds nothing.
    let mut conn = state.infra.redis.conn().await?;
    let pending: Option<String> = conn.get_del(pending_key(&state, &oauth_state)).await?;
    let pending: PendingLogin = pending
        .and_then(|p| serde_json::from_str(&p).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_oauth_state",
                "this sign-in expired or was already used; start again",
            )
        })?;
    // The browser must be the one that started this sign-in. The pending sign-in is used up
    // either way: a forced callback also burns the attacker's attempt.
    let bound = binding_values(&headers)
        .iter()
        .any(|value| binding_hash(value) == pending.browser);
    if !bound {
        metrics::counter!("auth_google_callback_unbound_total").increment(1);
        return Err(ApiError::bad_request(
            "oauth_state_mismatch",
            "this sign-in was started in another browser; start it again here",
        ));
    }
    if let Some(error) = query.error {
        return Err(ApiError::unauthorized(
            "google_sign_in_refused",
            format!("Google sign-in did not complete: {error}"),
        ));
    }
    let code = query.code.filter(|c| !c.is_empty()).ok_or_else(|| {
        ApiError::bad_request("invalid_oauth_code", "the authorization code is missing")
    })?;
    let identity = google.finish(code, &pending).await?;
    let (user, linked) = google::find_or_create_user(&state.infra.db, &identity).await?;
    if let Some(linked) = linked {
        crate::revocation::publish_or_defer(&state.infra.redis, &linked.ended_sessions).await;
        crate::verification::notify_google_linked(&state, &user, linked.password_dropped);
    }
    let session = session::start(&state, &user).await?;
    let mut response = (
        StatusCode::FOUND,
        [(header::LOCATION, pending.return_to.clone())],
    )
        .into_response();
    let max_age = (session.refresh.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    session::set_cookie(&state, &mut response, &session.refresh.token, max_age);
    if let Some(cookie) = binding_cookie(&state, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_safe_return_to;

    #[test]
    fn only_plain_same_site_paths_are_return_paths() {
        for ok in [
            "/",
            "/my/tickets",
            "/events/42?tab=seats",
            "/search?q=k-pop",
            "/100%",
        ] {
            assert!(is_safe_return_to(ok), "{ok:?} refused");
        }
        for bad in [
            "",
            "my/tickets",
            "//evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%0d%0a/evil.example",
            "/%2F/evil.example",
            "/%252F%252Fevil.example",
            "/\\evil.example",
            "/%5Cevil.example",
            "/ /evil.example",
            "/%E2%80%A8/evil.example",
            "https://evil.example",
            "/a//b",
            "/%ff",
            // Conservative: an encoded space is refused too (the fan lands on the home page).
            "/search?q=a%20b",
        ] {
            assert!(!is_safe_return_to(bad), "{bad:?} let through");
        }
    }
}
