//! TossPayments over its REST API (v1): `POST /v1/payments/confirm`,
//! `POST /v1/payments/{paymentKey}/cancel`, `GET /v1/payments/{paymentKey}` and
//! `GET /v1/payments/orders/{orderId}`, authenticated with HTTP Basic (the secret key and an empty
//! password).
//!
//! Every call has a timeout; calls that move money carry an `Idempotency-Key`, so a timeout or a
//! 5xx is retried (a few times, with backoff) without any risk of charging or refunding twice.

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::config::Secret;

use super::{ProviderError, ProviderPayment};

/// How many times a call is tried in all.
const ATTEMPTS: u32 = 3;

/// The TossPayments adapter.
#[derive(Debug)]
pub struct Toss {
    base_url: String,
    authorization: Secret,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TossPayment {
    payment_key: String,
    order_id: String,
    status: String,
    method: Option<String>,
    total_amount: i64,
    balance_amount: Option<i64>,
    approved_at: Option<DateTime<Utc>>,
    receipt: Option<Receipt>,
    virtual_account: Option<VirtualAccount>,
    secret: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VirtualAccount {
    due_date: Option<DateTime<Utc>>,
    account_number: Option<String>,
    bank_code: Option<String>,
    customer_name: Option<String>,
}

#[derive(Deserialize)]
struct Receipt {
    url: Option<String>,
}

#[derive(Deserialize)]
struct TossError {
    code: String,
    message: String,
}

impl From<TossPayment> for ProviderPayment {
    fn from(p: TossPayment) -> Self {
        ProviderPayment {
            balance_amount: p.balance_amount.unwrap_or(p.total_amount),
            payment_key: p.payment_key,
            order_id: p.order_id,
            status: p.status,
            method: p.method,
            total_amount: p.total_amount,
            approved_at: p.approved_at,
            receipt_url: p.receipt.and_then(|r| r.url),
            deposit_due: p.virtual_account.as_ref().and_then(|v| v.due_date),
            deposit_account: p.virtual_account.map(|v| {
                json!({
                    "accountNumber": v.account_number,
                    "bankCode": v.bank_code,
                    "customerName": v.customer_name,
                    "dueDate": v.due_date,
                })
            }),
            deposit_secret: p.secret,
        }
    }
}

/// Toss codes that mean the customer's payment was refused (as opposed to our request).
const DECLINE_CODES: &[&str] = &[
    "REJECT_CARD_PAYMENT",
    "REJECT_CARD_COMPANY",
    "EXCEED_MAX_DAILY_PAYMENT_COUNT",
    "EXCEED_MAX_PAYMENT_AMOUNT",
    "INVALID_CARD_EXPIRATION",
    "INVALID_STOPPED_CARD",
    "NOT_AVAILABLE_PAYMENT",
    "INVALID_CARD_LOST_OR_STOLEN",
    "PAY_PROCESS_CANCELED",
    "PAY_PROCESS_ABORTED",
];

impl Toss {
    /// An adapter for `base_url` (e.g. `https://api.tosspayments.com`) with the secret key;
    /// each attempt gives up after `timeout`.
    pub fn new(base_url: &str, secret_key: &Secret, timeout: Duration) -> Self {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", secret_key.expose()));
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            authorization: Secret::new(format!("Basic {basic}")),
            http: tiketi_core::outbound::client(timeout),
        }
    }

    /// Sends with retries on timeouts, connection failures and 5xx. `None` body: GET.
    async fn call(
        &self,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let url = format!("{}{}", self.base_url, path);
        let mut last = ProviderError::Unavailable("not tried".into());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt - 1))).await;
            }
            let mut request = match body {
                Some(body) => self.http.post(&url).json(body),
                None => self.http.get(&url),
            }
            .header(reqwest::header::AUTHORIZATION, self.authorization.expose());
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            metrics::counter!("payment_provider_calls_total", "provider" => "toss").increment(1);
            match request.send().await {
                Ok(response) if response.status().is_server_error() => {
                    last =
                        ProviderError::Unavailable(format!("toss answered {}", response.status()));
                }
                Ok(response) => {
                    let status = response.status();
                    let value = response.json::<Value>().await.unwrap_or(Value::Null);
                    return Ok((status, value));
                }
                Err(e) if e.is_timeout() => last = ProviderError::Timeout,
                Err(e) => last = ProviderError::Unavailable(e.to_string()),
            }
            tracing::warn!(path, attempt, error = %last, "toss call failed; retrying when attempts remain");
        }
        Err(last)
    }

    fn payment(status: StatusCode, value: Value) -> Result<ProviderPayment, ProviderError> {
        if status.is_success() {
            return serde_json::from_value::<TossPayment>(value)
                .map(Into::into)
                .map_err(|e| ProviderError::Unavailable(format!("unexpected toss answer: {e}")));
        }
        let error: TossError = serde_json::from_value(value).unwrap_or(TossError {
            code: format!("HTTP_{}", status.as_u16()),
            message: "unexpected error answer".into(),
        });
        if DECLINE_CODES.contains(&error.code.as_str()) {
            Err(ProviderError::Declined {
                code: error.code,
                message: error.message,
            })
        } else {
            Err(ProviderError::Rejected {
                code: error.code,
                message: error.message,
            })
        }
    }

    pub(super) async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
    ) -> Result<ProviderPayment, ProviderError> {
        let body = json!({ "paymentKey": payment_key, "orderId": order_id, "amount": amount });
        let (status, value) = self
            .call("/v1/payments/confirm", Some(&body), Some(order_id))
            .await?;
        Self::payment(status, value)
    }

    pub(super) async fn cancel(
        &self,
        payment_key: &str,
        amount: i64,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        let body = json!({ "cancelReason": reason, "cancelAmount": amount });
        let path = format!("/v1/payments/{}/cancel", urlencode(payment_key));
        let (status, value) = self.call(&path, Some(&body), Some(idempotency_key)).await?;
        Self::payment(status, value)
    }

    async fn lookup(&self, path: &str) -> Result<Option<ProviderPayment>, ProviderError> {
        let (status, value) = self.call(path, None, None).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::payment(status, value).map(Some)
    }

    pub(super) async fn lookup_by_order(
        &self,
        order_id: &str,
    ) -> Result<Option<ProviderPayment>, ProviderError> {
        self.lookup(&format!("/v1/payments/orders/{}", urlencode(order_id)))
            .await
    }

    pub(super) async fn lookup_by_key(
        &self,
        payment_key: &str,
    ) -> Result<Option<ProviderPayment>, ProviderError> {
        self.lookup(&format!("/v1/payments/{}", urlencode(payment_key)))
            .await
    }
}

/// Percent-encodes a path segment (payment keys and order ids are URL-safe in practice; this
/// keeps a hostile one from changing the path).
fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
