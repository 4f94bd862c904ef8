//! Payment providers. [`Provider`] is what the payment flows call: confirm a payment, cancel
//! (refund) it, and look it up by payment key or order id. Two implementations:
//!
//! - [`sandbox::Sandbox`], the default for local runs and tests: outcomes decided by the method
//!   named in the payment key, and a ledger of its own so it behaves like a real company (it
//!   remembers approvals, honours idempotency keys). No money moves, and every answer says so.
//! - [`toss::Toss`], an adapter for TossPayments' REST API.
//!
//! Every call that changes money carries an idempotency key, which is what makes retries after
//! a timeout safe. Providers are never called while a database transaction holds row locks.

pub mod sandbox;
pub mod toss;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a provider says about a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPayment {
    /// The provider's id for the payment.
    pub payment_key: String,
    /// Our order id.
    pub order_id: String,
    /// `DONE`, `CANCELED`, `PARTIAL_CANCELED`, `ABORTED`, ... as the provider names it.
    pub status: String,
    /// How it was paid.
    pub method: Option<String>,
    /// The amount charged.
    pub total_amount: i64,
    /// What is left after refunds.
    pub balance_amount: i64,
    /// When it was approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// A receipt page.
    pub receipt_url: Option<String>,
    /// A virtual account's deadline for the deposit (`virtualAccount.dueDate`), while
    /// [`ProviderPayment::is_awaiting_deposit`].
    #[serde(default)]
    pub deposit_due: Option<DateTime<Utc>>,
    /// Where the fan pays a virtual account (Toss' `virtualAccount`: `accountNumber`,
    /// `bankCode`, `customerName`, `dueDate`), while awaiting the deposit.
    #[serde(default)]
    pub deposit_account: Option<serde_json::Value>,
    /// The secret Toss repeats in the payment's `DEPOSIT_CALLBACK`s (virtual accounts only);
    /// never serialized, so it never reaches the payment log.
    #[serde(skip)]
    pub deposit_secret: Option<String>,
}

impl ProviderPayment {
    /// True when money was taken (and not all given back). Only these issue tickets.
    pub fn is_approved(&self) -> bool {
        matches!(self.status.as_str(), "DONE" | "PARTIAL_CANCELED")
    }

    /// True for a virtual account issued but not yet paid into (`WAITING_FOR_DEPOSIT`): the
    /// provider answered the confirm with success, but no money has moved yet.
    pub fn is_awaiting_deposit(&self) -> bool {
        self.status == "WAITING_FOR_DEPOSIT"
    }

    /// True when the provider says this payment will never take money (expired virtual
    /// account, aborted, cancelled before any deposit).
    pub fn is_dead(&self) -> bool {
        matches!(self.status.as_str(), "EXPIRED" | "ABORTED" | "CANCELED")
    }
}

/// Why a provider call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The payment was refused (card declined, limit...): nothing was charged.
    #[error("declined: {code}: {message}")]
    Declined {
        /// The provider's code.
        code: String,
        /// The provider's message.
        message: String,
    },
    /// The provider refused the request itself (bad key, already processed...).
    #[error("rejected: {code}: {message}")]
    Rejected {
        /// The provider's code.
        code: String,
        /// The provider's message.
        message: String,
    },
    /// No answer in time: the outcome is unknown until a lookup says.
    #[error("timed out")]
    Timeout,
    /// The provider could not be reached or failed (5xx) on every retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// The configured provider.
#[derive(Debug)]
pub enum Provider {
    /// Local sandbox.
    Sandbox(sandbox::Sandbox),
    /// TossPayments.
    Toss(toss::Toss),
}

impl Provider {
    /// `sandbox` or `toss`, as stored in `payments.provider`.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Sandbox(_) => "sandbox",
            Provider::Toss(_) => "toss",
        }
    }

    /// True for the sandbox, whose answers move no money.
    pub fn is_sandbox(&self) -> bool {
        matches!(self, Provider::Sandbox(_))
    }

    /// Approves `payment_key` for `order_id` and `amount`. Idempotent by `order_id`.
    pub async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
    ) -> Result<ProviderPayment, ProviderError> {
        match self {
            Provider::Sandbox(p) => p.confirm(payment_key, order_id, amount).await,
            Provider::Toss(p) => p.confirm(payment_key, order_id, amount).await,
        }
    }

    /// Refunds `amount` of `payment_key`. Idempotent by `idempotency_key`.
    pub async fn cancel(
        &self,
        payment_key: &str,
        amount: i64,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        match self {
            Provider::Sandbox(p) => p.cancel(payment_key, amount, reason, idempotency_key).await,
            Provider::Toss(p) => p.cancel(payment_key, amount, reason, idempotency_key).await,
        }
    }

    /// The payment for `order_id`, if the provider knows one.
    pub async fn lookup_by_order(
        &self,
        order_id: &str,
    ) -> Result<Option<ProviderPayment>, ProviderError> {
        match self {
            Provider::Sandbox(p) => p.lookup_by_order(order_id).await,
            Provider::Toss(p) => p.lookup_by_order(order_id).await,
        }
    }

    /// The payment `payment_key`, if the provider knows it.
    pub async fn lookup_by_key(
        &self,
        payment_key: &str,
    ) -> Result<Option<ProviderPayment>, ProviderError> {
        match self {
            Provider::Sandbox(p) => p.lookup_by_key(payment_key).await,
            Provider::Toss(p) => p.lookup_by_key(payment_key).await,
        }
    }
}
