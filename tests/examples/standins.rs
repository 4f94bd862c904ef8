//! The test stand-ins for Google and TossPayments as one process, for trying a running
//! `tiketi` by hand the way the suite does (a security review, a new user's walk-through):
//!
//! ```sh
//! cargo run -p tiketi-tests --example standins -- http://127.0.0.1:8080/api/auth/google/callback
//! ```
//!
//! It prints the environment (`GOOGLE_*`, `PAYMENT_PROVIDER=toss`, `TOSS_*`) to start `tiketi`
//! with, then serves a control route on its own port: `POST /next-google-user` with
//! `{"sub", "email", "email_verified", "name"}` chooses who "signs in at Google" next, and
//! `POST /id-token` with the same body plus `aud` answers an ID token as Google's button would
//! hand the browser. Everything listens on 127.0.0.1 only; it runs until interrupted.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use tiketi_tests::idp::{FakeGoogle, GoogleUser};
use tiketi_tests::toss::FakeToss;

#[derive(Deserialize)]
struct User {
    sub: String,
    email: String,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    aud: Option<String>,
}

impl User {
    fn google(&self) -> GoogleUser {
        GoogleUser {
            sub: self.sub.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            name: self.name.clone().unwrap_or_else(|| "Google Fan".to_owned()),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redirect = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080/api/auth/google/callback".to_owned());
    let google = Arc::new(FakeGoogle::start().await);
    let toss = FakeToss::start(Duration::from_secs(15)).await;
    let control = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    for (name, value) in google
        .settings(&redirect)
        .into_iter()
        .chain(toss.settings())
    {
        println!("export {name}='{value}'");
    }
    println!("# control: http://{}", control.local_addr()?);
    let app = Router::new()
        .route(
            "/next-google-user",
            post(
                |State(g): State<Arc<FakeGoogle>>, Json(u): Json<User>| async move {
                    g.sign_in_as(u.google());
                    "ok"
                },
            ),
        )
        .route(
            "/id-token",
            post(
                |State(g): State<Arc<FakeGoogle>>, Json(u): Json<User>| async move {
                    let aud = u.aud.clone().unwrap_or_else(|| g.client_id.clone());
                    g.id_token(&u.google(), &aud, 3600)
                },
            ),
        )
        .with_state(google.clone());
    // Keep the Toss stand-in alive as long as the process.
    let _toss = toss;
    axum::serve(control, app).await?;
    Ok(())
}
