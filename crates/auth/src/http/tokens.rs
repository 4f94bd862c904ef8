//! Token routes: `POST /refresh` (rotate), `POST /logout` (revoke), `GET /me`,
//! `POST /verify-token`, and the public keys at `GET /.well-known/jwks.json`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::auth::AuthUser;
use tiketi_core::{ApiError, ApiResult, AppJson};

use crate::AppState;
use crate::session;
use crate::users;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(verify_token))
        .routes(routes!(jwks))
}

/// Body of `/refresh` and `/logout`; browsers send the cookie instead.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    #[serde(rename = "refreshToken")]
    refresh_token: Option<String>,
}

/// Refuses a request a browser sent on behalf of another site (login CSRF: a cross-site form
/// posting the attacker's token would otherwise get the attacker's session cookie planted in
/// the victim's browser): `Sec-Fetch-Site: cross-site`, or an `Origin` that is none of the
/// allowed browser origins (`SOCKET_IO_CORS_ORIGIN`), the site's `PUBLIC_URL` and this site
/// itself (same `Host`).
/// Requests without these headers (apps, scripts, older browsers) pass; browsers always send
/// `Origin` on a cross-site POST.
fn refuse_cross_site(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::forbidden(
            "cross_site_request",
            "this request came from another site; sign in on this site instead",
        )
    };
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if fetch_site.eq_ignore_ascii_case("cross-site") {
        return Err(refused());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| refused())?
        .trim_end_matches('/');
    let config = &state.infra.config;
    if config
        .cors_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    // The site's public address (`PUBLIC_URL`), where the web client runs behind a proxy.
    if reqwest::Url::parse(&config.mail.public_url).is_ok_and(|u| {
        u.origin()
            .ascii_serialization()
            .eq_ignore_ascii_case(origin)
    }) {
        return Ok(());
    }
    // Same origin: the web client served by this process at the address the browser used.
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(refused()),
    }
}

/// Whether the request says its body is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads the optional JSON body without requiring one (a browser's cookie-only refresh sends
/// no body): an absent or empty body is fine, a malformed one is a 400. A body must be
/// `application/json` (415 otherwise): a browser cannot send that cross-site without a CORS
/// preflight, which CORS refuses for other origins, while a form's `text/plain` needs none.
fn refresh_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, ApiError> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType {
            message: "a refresh token in the body must be sent as application/json".into(),
        });
    } else {
        serde_json::from_slice::<RefreshBody>(body)
            .map_err(|e| ApiError::bad_request("invalid_body", format!("invalid body: {e}")))?
            .refresh_token
    };
    Ok(from_body.or_else(|| session::cookie_token(headers)))
}

/// Rotates the refresh token and mints a new access token.
///
/// The refresh token comes from the body or, for browsers, the `refreshToken` cookie; the body is optional.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = Option<RefreshBody>,
    responses(
        (status = 200, description = "Signed in: `{message, token, refreshToken, expiresIn, user}`; also sets the `refreshToken` cookie (HttpOnly, Path=/api/auth)", body = Object),
        (status = 400, description = "Malformed body (`invalid_body`)", body = ErrorBody),
        (status = 403, description = "Sent by a browser on behalf of another site (`cross_site_request`)", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 401, description = "No refresh token (`missing_refresh_token`), or it is invalid, expired or reused, or the account is gone (`account_not_found`)", body = ErrorBody)
    )
)]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    refuse_cross_site(&state, &headers)?;
    let token = refresh_token(&headers, &body)?.ok_or_else(|| {
        ApiError::unauthorized("missing_refresh_token", "no refresh token was sent")
    })?;
    let (user_id, next) = crate::refresh::rotate_publishing(
        &state.infra.db,
        &state.infra.redis,
        &token,
        state.infra.config.jwt.refresh_ttl_secs,
    )
    .await?;
    // Read the account again: a role change or deletion takes effect here.
    let user = users::by_id(&state.infra.db, user_id)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("account_not_found", "this account no longer exists")
        })?;
    let session = session::continue_with(&state, &user, next).await?;
    Ok(session::respond(
        &state,
        StatusCode::OK,
        "refreshed",
        &user,
        &session,
    ))
}

/// Signs out: ends the sign-in named by the bearer access token (its `sid`) and the one of
/// the refresh token (body or cookie), and clears the cookie.
///
/// The original client keeps only its access token and signs out with it alone; our web client
/// sends its refresh cookie. Either ends the sign-in at once in every service. A request with
/// nothing to end is not answered "signed out": 401 `nothing_to_sign_out` when it sends no token,
/// 401 with the access token's refusal (`session_revoked`, `token_expired`, `invalid_token`),
/// `session_revoked` for a refresh token whose sign-in had ended before, or
/// `invalid_refresh_token` when what it sends ends nothing, 400 `no_session` for an access
/// token that names no sign-in (such tokens cannot be revoked; they expire).
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    request_body = Option<RefreshBody>,
    responses(
        (status = 200, description = "Signed out: `{message}`; the sign-in's access tokens are refused from now on in every service", body = Object),
        (status = 503, description = "The sign-out could not be published to every service (`redis_unavailable`), or the access token cannot be checked now (`auth_unavailable`), with `Retry-After`; retry it", body = ErrorBody),
        (status = 400, description = "Malformed body (`invalid_body`), or an access token that names no sign-in and nothing else to end (`no_session`)", body = ErrorBody),
        (status = 401, description = "Nothing to end: no token (`nothing_to_sign_out`), or the access token is refused (`session_revoked`, `token_expired`, `invalid_token`) and no live refresh token was sent (`session_revoked` for one whose sign-in had ended before, `invalid_refresh_token` otherwise)", body = ErrorBody),
        (status = 403, description = "Sent by a browser on behalf of another site (`cross_site_request`)", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security((), ("bearer" = []))
)]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    refuse_cross_site(&state, &headers)?;
    let refresh = refresh_token(&headers, &body)?;
    let mut ended = Vec::new();
    // Why nothing was ended, when nothing was: the access token's answer comes first.
    let mut refusal = None;
    if let Some(bearer) = bearer_of(&headers) {
        match state.infra.verifier.verify(bearer).await {
            Ok(claims) => match claims.sid {
                Some(sid) => {
                    crate::refresh::revoke_family(&state.infra.db, claims.user_id, sid).await?;
                    ended.push(sid);
                }
                None => {
                    refusal = Some(ApiError::bad_request(
                        "no_session",
                        "this access token names no sign-in, so signing out cannot end it; it stays valid until it expires",
                    ));
                }
            },
            Err(e) if e.status() == StatusCode::UNAUTHORIZED => refusal = Some(e),
            // The token could not be checked (503): it may be good, so say retry.
            Err(e) => return Err(e),
        }
    }
    if let Some(token) = refresh {
        match crate::refresh::revoke(&state.infra.db, &token).await? {
            Some(crate::refresh::Revoked::Ended(family)) => ended.push(family),
            // Ended before: nothing to end now, so not "signed out" again. Its revocation is
            // published again (idempotent), so a retry after a sign-out whose publishing
            // failed (503) still reaches every service, or is a 503 again.
            Some(crate::refresh::Revoked::AlreadyEnded(family)) => {
                crate::revocation::publish(&state.infra.redis, &[family]).await?;
                refusal.get_or_insert_with(|| {
                    ApiError::unauthorized(
                        "session_revoked",
                        "this sign-in has ended already; there is nothing left to sign out",
                    )
                });
            }
            None => {
                refusal.get_or_insert_with(|| {
                    ApiError::unauthorized(
                        "invalid_refresh_token",
                        "the refresh token is invalid or expired; there is no sign-in to end",
                    )
                });
            }
        }
    }
    if ended.is_empty() {
        let refusal = refusal.unwrap_or_else(|| {
            ApiError::unauthorized(
                "nothing_to_sign_out",
                "nothing to sign out: send the access token (Authorization: Bearer) or the refresh token",
            )
        });
        let mut response = refusal.into_response();
        session::set_cookie(&state, &mut response, "", 0);
        return Ok(response);
    }
    // The sign-in's access tokens stop working in every service now. If Redis cannot take it,
    // the sign-out is not confirmed (503; retrying publishes again): the ended session is in
    // Postgres and the periodic sync publishes it, but the fan should not be told they are
    // signed out while their token could still work.
    ended.dedup();
    crate::revocation::publish(&state.infra.redis, &ended).await?;
    let mut response = axum::Json(json!({ "message": "signed out" })).into_response();
    session::set_cookie(&state, &mut response, "", 0);
    Ok(response)
}

/// The bearer token of `headers`, if any.
fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The signed-in account.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    responses(
        (status = 200, description = "`{user}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn me(State(state): State<AppState>, caller: AuthUser) -> ApiResult<AppJson<Value>> {
    let user = users::by_id(&state.infra.db, caller.id)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("account_not_found", "this account no longer exists")
        })?;
    Ok(AppJson(json!({ "user": user.public() })))
}

/// Body of `POST /verify-token`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyToken {
    token: String,
}

/// Checks an access token.
#[utoipa::path(
    post,
    path = "/api/auth/verify-token",
    tag = "auth",
    request_body = VerifyToken,
    responses(
        (status = 200, description = "`{valid: true, user: {id, userId, email, name, role}, expiresAt}`", body = Object),
        (status = 400, description = "Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "`{valid: false, code, error, message}`: the token is invalid (`invalid_token`), expired (`token_expired`), its session ended (`session_revoked`) or its account is gone (`account_not_found`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The token cannot be checked right now (`auth_unavailable`), with `Retry-After`", body = ErrorBody)
    )
)]
async fn verify_token(
    State(state): State<AppState>,
    AppJson(body): AppJson<VerifyToken>,
) -> ApiResult<Response> {
    let refused = |e: ApiError| {
        // A 503 (the token could not be checked) stays a 503: the token may well be good.
        if e.status() != StatusCode::UNAUTHORIZED {
            return e.into_response();
        }
        let text = e.to_string();
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "valid": false, "code": e.code(), "error": text, "message": text })),
        )
            .into_response()
    };
    let claims = match state.infra.verifier.verify(&body.token).await {
        Ok(claims) => claims,
        Err(e) => return Ok(refused(e)),
    };
    let Some(user) = users::by_id(&state.infra.db, claims.user_id).await? else {
        return Ok(refused(ApiError::unauthorized(
            "account_not_found",
            "this account no longer exists",
        )));
    };
    Ok(axum::Json(json!({
        "valid": true,
        "user": {
            "id": user.id,
            "userId": user.id,
            "email": user.email,
            "name": user.name,
            // The role the token carries: what every service will act on.
            "role": claims.role.as_str(),
        },
        "expiresAt": claims.exp,
    }))
    .into_response())
}

/// The public keys that verify access tokens (JWKS).
#[utoipa::path(
    get,
    path = "/api/auth/.well-known/jwks.json",
    tag = "auth",
    responses(
        (status = 200, description = "`{keys: [...]}` (RFC 7517), cacheable for 60 s", body = Object)
    )
)]
async fn jwks(State(state): State<AppState>) -> ApiResult<Response> {
    let jwks = state.keys.jwks().await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        axum::Json(jwks),
    )
        .into_response())
}
