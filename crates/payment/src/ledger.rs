//! The payment rows (`payment.payments`) and the append-only log (`payment.payment_logs`): how
//! the flows read a payment and record every provider call and state change.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgExecutor;
use uuid::Uuid;

/// One payment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    /// Id.
    pub id: Uuid,
    /// Our order id (the provider's idempotency key for the charge).
    pub order_id: String,
    /// The reservation it pays for.
    pub reservation_id: Uuid,
    /// The fan.
    pub user_id: Uuid,
    /// Won.
    pub amount: i32,
    /// `sandbox` or `toss`.
    pub provider: String,
    /// How it was paid.
    pub method: Option<String>,
    /// The provider's payment id.
    pub payment_key: Option<String>,
    /// ready, awaiting_deposit, approved, completed, failed, refunded, partially_refunded.
    pub status: String,
    /// Won refunded so far.
    pub refunded_amount: i32,
    /// When the provider approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// Receipt page.
    pub receipt_url: Option<String>,
    /// The first confirm answer (`{status, body}`), replayed to repeats.
    pub confirm_response: Option<Value>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// A virtual account's deadline for the deposit (`awaiting_deposit` only).
    pub deposit_due: Option<DateTime<Utc>>,
    /// Where the fan pays a virtual account (`{accountNumber, bankCode, customerName, dueDate}`).
    pub deposit_account: Option<Value>,
    /// When the hold kept for the deposit ends (the due date capped; see the migration).
    pub deposit_hold_until: Option<DateTime<Utc>>,
}

/// The columns [`Payment`] reads.
pub const COLUMNS: &str = "id, order_id, reservation_id, user_id, amount, provider, method, payment_key, status, \
     refunded_amount, approved_at, receipt_url, confirm_response, created_at, deposit_due, \
     deposit_account, deposit_hold_until";

impl Payment {
    /// The `payment` object of the contract's answers.
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "orderId": self.order_id,
            "paymentKey": self.payment_key,
            "reservationId": self.reservation_id,
            "amount": self.amount,
            "method": self.method,
            "status": self.status,
            "refundedAmount": self.refunded_amount,
            "approvedAt": self.approved_at,
            "receiptUrl": self.receipt_url,
            "provider": self.provider,
            "createdAt": self.created_at,
            "virtualAccount": self.deposit_account,
            "holdUntil": self.deposit_hold_until,
        })
    }
}

/// The original service's status word for one of ours, for the row-shaped answers its clients
/// read (`pending`, `confirmed`, `failed`, `refunded`). Stored words are not changed: a payment
/// still waiting for the provider or for its deposit, or approved while its tickets are being
/// issued, is `pending`; a payment that settled (also when partly refunded: the rest stands) is
/// `confirmed`.
pub fn original_status(status: &str) -> &'static str {
    match status {
        "completed" | "partially_refunded" => "confirmed",
        "failed" => "failed",
        "refunded" => "refunded",
        _ => "pending",
    }
}

/// The provider's own status word for one of ours (TossPayments' vocabulary, which the sandbox
/// speaks too), as the original kept it in `toss_status`; null before the provider saw it.
pub fn provider_status(status: &str) -> Option<&'static str> {
    match status {
        "awaiting_deposit" => Some("WAITING_FOR_DEPOSIT"),
        "approved" | "completed" => Some("DONE"),
        "partially_refunded" => Some("PARTIAL_CANCELED"),
        "refunded" => Some("CANCELED"),
        _ => None,
    }
}

/// The payment with this order id.
pub async fn by_order<'e>(
    db: impl PgExecutor<'e>,
    order_id: &str,
) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payment.payments WHERE order_id = $1"
    )))
    .bind(order_id)
    .fetch_optional(db)
    .await
}

/// The payment with this provider key.
pub async fn by_key<'e>(
    db: impl PgExecutor<'e>,
    payment_key: &str,
) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payment.payments WHERE payment_key = $1"
    )))
    .bind(payment_key)
    .fetch_optional(db)
    .await
}

/// The payment of this reservation.
pub async fn by_reservation<'e>(
    db: impl PgExecutor<'e>,
    reservation_id: Uuid,
) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payment.payments WHERE reservation_id = $1"
    )))
    .bind(reservation_id)
    .fetch_optional(db)
    .await
}

/// Appends to the payment log. Logging must not fail a payment, so errors are only traced.
pub async fn log<'e>(db: impl PgExecutor<'e>, payment: &Payment, event: &str, detail: Value) {
    let result = sqlx::query("INSERT INTO payment.payment_logs (payment_id, order_id, event, detail) VALUES ($1, $2, $3, $4)")
        .bind(payment.id)
        .bind(&payment.order_id)
        .bind(event)
        .bind(&detail)
        .execute(db)
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, order_id = payment.order_id, event, "cannot write the payment log");
    }
}
