//! A stand-in for Google's identity provider, for tests of Google sign-in: a small axum app on
//! 127.0.0.1:0 serving a JWKS, an authorization endpoint and a token endpoint. It is strict the
//! way Google is: codes are single-use and bound to the client, the redirect URI and the PKCE
//! challenge (S256 only), client authentication is checked, and ID tokens are RS256-signed with
//! `aud` = the client id and the nonce of the authorization request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The RSA key the stand-in signs with (a test fixture, not a secret of anything real).
const KEY_PEM: &str = include_str!("../fixtures/idp-test-key.pem");

/// Who "signs in at Google" next.
#[derive(Debug, Clone)]
pub struct GoogleUser {
    /// Google's account id.
    pub sub: String,
    /// Email.
    pub email: String,
    /// Whether Google verified it.
    pub email_verified: bool,
    /// Name.
    pub name: String,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    user: GoogleUser,
}

#[derive(Default)]
struct Shared {
    next_user: Option<GoogleUser>,
    codes: HashMap<String, Grant>,
    token_requests: u32,
}

#[derive(Clone)]
struct IdpState {
    shared: Arc<Mutex<Shared>>,
    client_id: String,
    client_secret: String,
    issuer: String,
    key: EncodingKey,
    kid: String,
}

/// A running stand-in provider.
pub struct FakeGoogle {
    /// Its address.
    pub addr: SocketAddr,
    /// The client id it knows (set `GOOGLE_CLIENT_ID` to this).
    pub client_id: String,
    /// The client secret it expects.
    pub client_secret: String,
    state: IdpState,
}

impl FakeGoogle {
    /// Starts the provider on a free port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = IdpState {
            shared: Arc::default(),
            client_id: format!("tiketi-test-{}.apps.example", uuid::Uuid::new_v4().simple()),
            client_secret: uuid::Uuid::new_v4().to_string(),
            issuer: format!("http://{addr}"),
            key: EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).expect("fixture key"),
            kid: "fake-google-1".to_owned(),
        };
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            client_id: state.client_id.clone(),
            client_secret: state.client_secret.clone(),
            state,
        }
    }

    /// The `GOOGLE_*` settings that point Tiketi at this provider.
    pub fn settings(&self, redirect_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("GOOGLE_CLIENT_ID", self.client_id.clone()),
            ("GOOGLE_CLIENT_SECRET", self.client_secret.clone()),
            ("GOOGLE_REDIRECT_URL", redirect_url.to_owned()),
            ("GOOGLE_AUTH_URL", format!("http://{}/authorize", self.addr)),
            ("GOOGLE_TOKEN_URL", format!("http://{}/token", self.addr)),
            ("GOOGLE_JWKS_URL", format!("http://{}/jwks", self.addr)),
            ("GOOGLE_ISSUERS", self.state.issuer.clone()),
        ]
    }

    /// The account the next authorization signs in as.
    pub fn sign_in_as(&self, user: GoogleUser) {
        self.state.shared.lock().unwrap().next_user = Some(user);
    }

    /// How many code exchanges were attempted.
    pub fn token_requests(&self) -> u32 {
        self.state.shared.lock().unwrap().token_requests
    }

    /// An ID token as Google's button would hand the browser; `aud` and the expiry offset are
    /// parameters so tests can make bad ones.
    pub fn id_token(&self, user: &GoogleUser, aud: &str, expires_in_secs: i64) -> String {
        self.state.id_token(user, aud, None, expires_in_secs)
    }
}

impl IdpState {
    fn id_token(
        &self,
        user: &GoogleUser,
        aud: &str,
        nonce: Option<&str>,
        expires_in_secs: i64,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.issuer, "aud": aud, "sub": user.sub, "email": user.email,
            "email_verified": user.email_verified, "name": user.name,
            "picture": format!("https://pictures.example/{}.png", user.sub),
            "iat": now, "exp": now + expires_in_secs,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign")
    }
}

async fn jwks(State(s): State<IdpState>) -> Json<JwkSet> {
    let mut jwk = Jwk::from_encoding_key(&s.key, Algorithm::RS256).expect("jwk");
    jwk.common.key_id = Some(s.kid.clone());
    Json(JwkSet { keys: vec![jwk] })
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

async fn authorize(
    State(s): State<IdpState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code"
        || get("client_id") != s.client_id
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
        || get("state").is_empty()
        || !get("scope").split(' ').any(|sc| sc == "openid")
    {
        return oauth_error("invalid_request");
    }
    let Some(user) = s.shared.lock().unwrap().next_user.clone() else {
        return oauth_error("access_denied");
    };
    let code = uuid::Uuid::new_v4().simple().to_string();
    s.shared.lock().unwrap().codes.insert(
        code.clone(),
        Grant {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            challenge: get("code_challenge"),
            nonce: q.get("nonce").cloned(),
            user,
        },
    );
    let location = format!("{}?code={code}&state={}", get("redirect_uri"), get("state"));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = STANDARD.decode(value.strip_prefix("Basic ")?).ok()?;
    let (id, secret) = String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))?;
    // oauth2 form-url-encodes both parts inside Basic auth (RFC 6749 2.3.1).
    Some((url_decode(&id), url_decode(&secret)))
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(v) = u8::from_str_radix(hex, 16) {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn token(
    State(s): State<IdpState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    s.shared.lock().unwrap().token_requests += 1;
    let (client_id, client_secret) = match basic_auth(&headers) {
        Some(pair) => pair,
        None => (
            form.client_id.unwrap_or_default(),
            form.client_secret.unwrap_or_default(),
        ),
    };
    if client_id != s.client_id || client_secret != s.client_secret {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    if form.grant_type != "authorization_code" {
        return oauth_error("unsupported_grant_type");
    }
    // Single use: the code is removed whether or not the rest checks out.
    let Some(grant) = s.shared.lock().unwrap().codes.remove(&form.code) else {
        return oauth_error("invalid_grant");
    };
    let verifier_ok = form
        .code_verifier
        .as_deref()
        .map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == grant.challenge)
        .unwrap_or(false);
    if grant.client_id != client_id || grant.redirect_uri != form.redirect_uri || !verifier_ok {
        return oauth_error("invalid_grant");
    }
    let id_token = s.id_token(&grant.user, &s.client_id, grant.nonce.as_deref(), 3600);
    Json::<Value>(json!({
        "access_token": uuid::Uuid::new_v4().to_string(),
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "openid email profile",
        "id_token": id_token,
    }))
    .into_response()
}
