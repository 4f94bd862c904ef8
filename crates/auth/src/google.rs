//! Google sign-in: verifying Google ID tokens (RS256, Google's JWKS, `aud` = our client id,
//! `iss`, `exp`, and the `nonce` we sent), the authorization-code flow with PKCE through the
//! `oauth2` crate, and finding or creating the account.
//!
//! Every Google endpoint is configuration (`GOOGLE_AUTH_URL`, `GOOGLE_TOKEN_URL`,
//! `GOOGLE_JWKS_URL`, `GOOGLE_ISSUERS`), so tests run the flows against a stand-in provider.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::PgPool;
use tiketi_core::ApiError;
use tiketi_core::auth::{KeyCache, KeySource, RemoteJwks};
use tiketi_core::config::GoogleConfig;

use crate::users::{USER_COLUMNS, User};

/// The token endpoint's answer: the standard fields plus the OpenID Connect `id_token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenFields {
    /// The ID token (a JWT signed by Google).
    pub id_token: String,
}
impl oauth2::ExtraTokenFields for IdTokenFields {}

type TokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What a verified Google ID token says about the person.
#[derive(Debug, Clone, Deserialize)]
pub struct GoogleIdentity {
    /// Google's stable account id.
    pub sub: String,
    /// Email, when the `email` scope was granted.
    pub email: Option<String>,
    /// Whether Google verified that email. Google sends a boolean (older tokens: a string).
    #[serde(default, deserialize_with = "bool_or_string")]
    pub email_verified: bool,
    /// Full name.
    pub name: Option<String>,
    /// Profile picture URL.
    pub picture: Option<String>,
    /// The nonce of the authorization request, when there was one.
    pub nonce: Option<String>,
}

fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    Ok(match Option::<B>::deserialize(d)? {
        Some(B::Bool(b)) => b,
        Some(B::Str(s)) => s.eq_ignore_ascii_case("true"),
        None => false,
    })
}

/// A started authorization: where to send the browser, and what to remember until it returns.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The PKCE verifier (secret until the code exchange).
    pub pkce_verifier: String,
    /// The nonce the ID token must echo.
    pub nonce: String,
    /// Where to send the browser afterwards (a path on this site).
    pub return_to: String,
    /// SHA-256 (hex) of the binding cookie set in the browser that started the sign-in; the
    /// callback must come with that cookie.
    pub browser: String,
}

/// Google sign-in, configured.
pub struct Google {
    client_id: String,
    issuers: Vec<String>,
    keys: KeyCache,
    oauth: Option<OAuthClient>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Google {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Google")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Google {
    /// `None` when `GOOGLE_CLIENT_ID` is unset (Google sign-in off). The code flow also needs
    /// `GOOGLE_CLIENT_SECRET` and `GOOGLE_REDIRECT_URL`.
    pub fn from_config(config: &GoogleConfig) -> anyhow::Result<Option<Arc<Self>>> {
        let Some(client_id) = config.client_id.clone() else {
            return Ok(None);
        };
        let oauth = match (&config.client_secret, &config.redirect_url) {
            (Some(secret), Some(redirect)) => Some(
                oauth2::Client::new(ClientId::new(client_id.clone()))
                    .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
                    .set_auth_uri(AuthUrl::new(config.auth_url.clone())?)
                    .set_token_uri(TokenUrl::new(config.token_url.clone())?)
                    .set_redirect_uri(RedirectUrl::new(redirect.clone())?),
            ),
            _ => None,
        };
        let source: Arc<dyn KeySource> = Arc::new(RemoteJwks::new(config.jwks_url.clone()));
        Ok(Some(Arc::new(Self {
            client_id,
            issuers: config.issuers.clone(),
            keys: KeyCache::new(Some(source)),
            oauth,
            http: tiketi_core::outbound::client(Duration::from_secs(10)),
        })))
    }

    /// Verifies a Google ID token. With `nonce`, the token must carry it.
    pub async fn verify(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<GoogleIdentity, ApiError> {
        let invalid = |why: &str| {
            ApiError::unauthorized(
                "invalid_google_token",
                format!("invalid Google credential: {why}"),
            )
        };
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| invalid("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid("unsupported algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let key = self
            .keys
            .get(&kid)
            .await
            .ok_or_else(|| invalid("unknown signing key"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.client_id]);
        validation.set_issuer(&self.issuers);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let identity = jsonwebtoken::decode::<GoogleIdentity>(id_token, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => invalid("expired"),
                _ => invalid(&e.to_string()),
            })?
            .claims;
        if let Some(expected) = nonce
            && identity.nonce.as_deref() != Some(expected)
        {
            return Err(invalid("nonce mismatch"));
        }
        Ok(identity)
    }

    /// The OAuth client id (public: Google's button and the redirect carry it).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// True when the redirect (authorization-code) flow is configured, not only ID tokens.
    pub fn has_code_flow(&self) -> bool {
        self.oauth.is_some()
    }

    fn oauth(&self) -> Result<&OAuthClient, ApiError> {
        self.oauth.as_ref().ok_or_else(|| {
            ApiError::not_found(
                "google_code_flow_disabled",
                "Google redirect sign-in is not configured here",
            )
        })
    }

    /// Starts the code flow: the URL to send the browser to, its `state`, and what to remember
    /// (with `browser`, the hash of the cookie binding the flow to the browser that started it).
    pub fn start(
        &self,
        return_to: String,
        browser: String,
    ) -> Result<(String, String, PendingLogin), ApiError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let (url, state) = self
            .oauth()?
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_extra_param("nonce", nonce.clone())
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            state.secret().clone(),
            PendingLogin {
                pkce_verifier: verifier.secret().clone(),
                nonce,
                return_to,
                browser,
            },
        ))
    }

    /// Exchanges `code` (with the PKCE verifier) and verifies the ID token it returns.
    pub async fn finish(
        &self,
        code: String,
        pending: &PendingLogin,
    ) -> Result<GoogleIdentity, ApiError> {
        let http = |request: oauth2::HttpRequest| {
            let client = self.http.clone();
            async move {
                let request = reqwest::Request::try_from(request)?;
                let response = client.execute(request).await?;
                let mut builder = oauth2::http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    builder = builder.header(name, value);
                }
                let body = response.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>(
                    builder
                        .body(body)
                        .expect("status and headers came from a response"),
                )
            }
        };
        let tokens = self
            .oauth()?
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "Google code exchange failed");
                ApiError::unauthorized(
                    "google_code_rejected",
                    "Google did not accept the sign-in; try again",
                )
            })?;
        self.verify(&tokens.extra_fields().id_token, Some(&pending.nonce))
            .await
    }
}

/// Finds the account for a Google identity, linking or creating it. An existing account is
/// linked by email only when Google says the email is verified; an unverified email never signs
/// anyone in. Linking to an account whose own email was never verified drops its password and
/// ends its sessions (whoever registered it may have been someone else). An admin account is
/// never linked by email (403 `google_link_refused_admin`); only a Google identity already
/// linked to it signs in to it.
pub async fn find_or_create_user(
    db: &PgPool,
    identity: &GoogleIdentity,
) -> Result<(User, Option<Linked>), ApiError> {
    let unverified = || {
        ApiError::forbidden(
            "google_email_unverified",
            "Google has not verified this account's email, so it cannot sign in here",
        )
    };
    let mut tx = db.begin().await?;
    let linked: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM auth.users WHERE google_sub = $1"
    )))
    .bind(&identity.sub)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user) = linked {
        tx.commit().await?;
        return Ok((user, None));
    }
    let email = identity
        .email
        .as_deref()
        .and_then(|e| crate::domain::email::Email::parse(e).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "google_email_missing",
                "Google did not share an email address",
            )
        })?;
    if !identity.email_verified {
        return Err(unverified());
    }
    // Linking to an existing account by email. If nobody ever proved that address (a password
    // account whose owner never opened the verification link), whoever set the password may
    // not be the address's owner: Google has just proven who is, so the unproven password is
    // dropped and every session it started is ended. The account is then the Google user's.
    let existing: Option<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM auth.users WHERE email = $1 AND google_sub IS NULL FOR UPDATE"
    )))
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let mut ended_sessions = Vec::new();
    let existing = match existing {
        // An admin account is never linked by email: the address being Google's is not enough
        // to hand out admin rights (nor to drop the operator's password). Admins sign in with
        // their password; an operator may link their Google identity by hand.
        Some(account) if account.role == "admin" => {
            metrics::counter!("auth_google_admin_link_refused_total").increment(1);
            tracing::warn!(user_id = %account.id, "Google sign-in refused: the address belongs to an admin account");
            return Err(ApiError::forbidden(
                "google_link_refused_admin",
                "this address belongs to an admin account; admins sign in with their password",
            ));
        }
        Some(account) => {
            let unproven = !account.email_verified;
            let linked: User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE auth.users SET google_sub = $2, picture_url = COALESCE($3, picture_url),
                     email_verified = true,
                     password_hash = CASE WHEN $4 THEN NULL ELSE password_hash END
                 WHERE id = $1 RETURNING {USER_COLUMNS}"
            )))
            .bind(account.id)
            .bind(&identity.sub)
            .bind(&identity.picture)
            .bind(unproven)
            .fetch_one(&mut *tx)
            .await?;
            if unproven {
                let ended = crate::refresh::revoke_user(&mut tx, account.id).await?;
                ended_sessions = ended.families;
                // Links mailed to the address before are moot now; none may be used later.
                sqlx::query(
                    "UPDATE auth.email_verifications SET used_at = now()
                     WHERE user_id = $1 AND used_at IS NULL",
                )
                .bind(account.id)
                .execute(&mut *tx)
                .await?;
                metrics::counter!("auth_unproven_password_dropped_total").increment(1);
                tracing::info!(
                    user_id = %account.id,
                    sessions_ended = ended.live,
                    "Google linked to an account with an unverified email: its password was dropped and its sessions ended"
                );
            }
            Some((
                linked,
                Linked {
                    password_dropped: unproven,
                    ended_sessions: std::mem::take(&mut ended_sessions),
                },
            ))
        }
        None => None,
    };
    let (user, linked) = match existing {
        Some((user, linked)) => (user, Some(linked)),
        None => {
            let name = identity
                .name
                .clone()
                .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("fan").to_owned());
            let created: User = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO auth.users (email, name, google_sub, picture_url, email_verified)
                 VALUES ($1, $2, $3, $4, true) RETURNING {USER_COLUMNS}"
            )))
            .bind(email.as_str())
            .bind(name)
            .bind(&identity.sub)
            .bind(&identity.picture)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                // The email belongs to an account already linked to another Google account.
                ApiError::from_db(
                    e,
                    &[("users_email_key", || {
                        ApiError::conflict("email_taken", "this email belongs to another account")
                    })],
                )
            })?;
            (created, None)
        }
    };
    tx.commit().await?;
    Ok((user, linked))
}

/// A Google identity was just linked to an existing account (by its email): the account's
/// owner is told by mail, since signing in works differently from now on.
#[derive(Debug, Clone)]
pub struct Linked {
    /// The account's password was dropped (nobody had proven the address).
    pub password_dropped: bool,
    /// The sign-ins ended with it (committed; the caller publishes them to the revocation list).
    pub ended_sessions: Vec<uuid::Uuid>,
}
