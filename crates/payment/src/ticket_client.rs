//! The ticket service's internal interface, as the payment service calls it: confirm a
//! reservation after the provider approved, cancel one after a refund. Both are idempotent on
//! the ticket side, so every call here may be repeated safely (the reconciler does).

use std::time::Duration;

use serde_json::{Value, json};
use tiketi_core::config::Secret;
use uuid::Uuid;

/// What the ticket service answered.
#[derive(Debug, PartialEq, Eq)]
pub enum TicketAnswer {
    /// Done (or already done).
    Ok,
    /// Refused for a reason that will not change: the hold expired, the reservation was
    /// cancelled, the seats are gone. The code says which.
    Refused(String),
}

/// Calls to the ticket service with the shared internal token.
#[derive(Debug, Clone)]
pub struct TicketClient {
    base_url: String,
    token: Secret,
    http: reqwest::Client,
}

/// Why a call could not be made (the outcome is unknown; try again later).
#[derive(Debug, thiserror::Error)]
#[error("ticket service unreachable: {0}")]
pub struct Unreachable(String);

impl TicketClient {
    /// A client for `base_url` presenting `token`.
    pub fn new(base_url: &str, token: Secret) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            http: tiketi_core::outbound::client(Duration::from_secs(10)),
        }
    }

    async fn post(&self, path: String, body: Value) -> Result<TicketAnswer, Unreachable> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("x-internal-token", self.token.expose());
        // The fan's request id follows the call, so logs of both services line up.
        if let Some(id) = tiketi_core::http::current_request_id() {
            request = request.header(tiketi_core::http::REQUEST_ID, id);
        }
        let response = request
            .json(&body)
            .send()
            .await
            .map_err(|e| Unreachable(e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(TicketAnswer::Ok)
        } else if status == reqwest::StatusCode::CONFLICT
            || (status == reqwest::StatusCode::NOT_FOUND && body["code"] == "reservation_not_found")
        {
            // Only the ticket service's own refusals count: a wrong URL (a 404 from elsewhere) or
            // a wrong token (401/403) must never look like "refund this payment".
            Ok(TicketAnswer::Refused(
                body["code"].as_str().unwrap_or("refused").to_owned(),
            ))
        } else {
            Err(Unreachable(format!("ticket answered {status}: {body}")))
        }
    }

    /// Confirms the reservation (seats sold, payment recorded on the ticket side).
    pub async fn confirm(
        &self,
        reservation_id: Uuid,
        method: Option<&str>,
    ) -> Result<TicketAnswer, Unreachable> {
        self.post(
            format!("/internal/reservations/{reservation_id}/confirm"),
            json!({ "paymentMethod": method }),
        )
        .await
    }

    /// Whether the reservation's fan is still admitted from the waiting room for its event
    /// (always, when the event has no queue): `Refused("not_admitted")` (a 409) otherwise.
    pub async fn check_admission(&self, reservation_id: Uuid) -> Result<TicketAnswer, Unreachable> {
        self.post(
            format!("/internal/reservations/{reservation_id}/admission"),
            json!({}),
        )
        .await
    }

    /// Keeps a pending reservation's hold (and its seats) until at least `until`: a virtual
    /// account waits for its deposit. `Refused` when the hold already lapsed or was cancelled.
    pub async fn extend(
        &self,
        reservation_id: Uuid,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<TicketAnswer, Unreachable> {
        self.post(
            format!("/internal/reservations/{reservation_id}/extend"),
            json!({ "until": until }),
        )
        .await
    }

    /// Cancels the reservation and releases what it holds.
    pub async fn cancel(&self, reservation_id: Uuid) -> Result<TicketAnswer, Unreachable> {
        self.post(
            format!("/internal/reservations/{reservation_id}/cancel"),
            json!({}),
        )
        .await
    }
}
