//! Email verification routes: `GET /api/auth/verify-email?token=` (the mailed link, opened in a
//! browser), `POST /api/auth/verify-email {token}` (the same for API clients) and
//! `POST /api/auth/verify-email/resend` (a signed-in fan asks for a new link).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::auth::AuthUser;
use tiketi_core::openapi::ErrorBody;
use tiketi_core::{ApiError, ApiResult, AppJson, AppQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::users;
use crate::verification;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_verification_link, verify_email))
        .routes(routes!(resend_verification))
}

/// Query of the mailed link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerificationLink {
    /// The token from the mail.
    token: Option<String>,
}

/// The mailed link. Opening it changes nothing: it sends the browser to the web client's
/// confirmation page (the token in the fragment, which browsers never send to a server), where
/// the fan confirms with `POST /verify-email`. A mail scanner or link preview that fetches the
/// link (GET or HEAD) therefore cannot verify an address, or finish a registration, on the
/// owner's behalf.
#[utoipa::path(
    get,
    path = "/api/auth/verify-email",
    tag = "auth",
    params(VerificationLink),
    responses(
        (status = 303, description = "To the web client's confirmation page, `/#/verify-email?token=...`"),
        (status = 400, description = "Malformed query (`invalid_query`)", body = ErrorBody)
    )
)]
async fn open_verification_link(AppQuery(query): AppQuery<VerificationLink>) -> Response {
    // Only URL-safe base64 is ever issued; anything else is passed on as empty, so nothing a
    // link carries is reflected into the page's address.
    let token = query
        .token
        .filter(|t| {
            t.len() <= 200
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_default();
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, format!("/#/verify-email?token={token}")),
            // The token is in this URL: nothing should carry it further.
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// Body of `POST /verify-email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyEmail {
    token: String,
}

/// Verifies the account's email with the token from the mailed link.
#[utoipa::path(
    post,
    path = "/api/auth/verify-email",
    tag = "auth",
    request_body = VerifyEmail,
    responses(
        (status = 200, description = "`{message, user}` with `user.emailVerified` true", body = Object),
        (status = 400, description = "The token is invalid, expired or used (`invalid_verification_token`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    AppJson(body): AppJson<VerifyEmail>,
) -> ApiResult<AppJson<Value>> {
    let user = verification::verify(&state, &body.token).await?;
    Ok(AppJson(
        json!({ "message": "email verified", "user": user.public() }),
    ))
}

/// Mails the signed-in account a new verification link.
#[utoipa::path(
    post,
    path = "/api/auth/verify-email/resend",
    tag = "auth",
    responses(
        (status = 200, description = "`{message}`: a new link is on its way", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`), or the account is gone (`account_not_found`)", body = ErrorBody),
        (status = 409, description = "The email is verified already (`email_already_verified`)", body = ErrorBody),
        (status = 429, description = "Too many links asked for lately (`rate_limited`), with `Retry-After`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn resend_verification(
    State(state): State<AppState>,
    caller: AuthUser,
) -> ApiResult<AppJson<Value>> {
    let user = users::by_id(&state.infra.db, caller.id)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("account_not_found", "this account no longer exists")
        })?;
    if user.email_verified {
        return Err(ApiError::conflict(
            "email_already_verified",
            "this account's email is verified already",
        ));
    }
    if let Some(wait) = verification::send_link(&state, &user).await? {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    Ok(AppJson(
        json!({ "message": "a new verification link was sent" }),
    ))
}
