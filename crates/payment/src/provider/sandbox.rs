//! The sandbox provider. The payment key names the outcome, the way test card numbers do at a
//! real company: `sandbox_<method>_<random>`, where the method is one of
//!
//! | method | outcome |
//! |---|---|
//! | `card`, `naver_pay`, `kakao_pay`, `bank_transfer` | approved |
//! | `sandbox_decline` | declined (`REJECT_CARD_PAYMENT`), nothing charged |
//! | `sandbox_timeout` | no answer in time, nothing charged |
//! | `sandbox_lost` | approved, but the answer is lost (a timeout): only a lookup reveals it |
//!
//! Approvals and refunds are kept in `payment.sandbox_transactions` / `sandbox_cancels`, so the
//! sandbox remembers them across restarts and honours idempotency keys like a real provider.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{ProviderError, ProviderPayment};

/// Methods the sandbox approves.
pub const APPROVING_METHODS: &[&str] = &["card", "naver_pay", "kakao_pay", "bank_transfer"];
/// Every method the sandbox knows.
pub const METHODS: &[&str] = &[
    "card",
    "naver_pay",
    "kakao_pay",
    "bank_transfer",
    "sandbox_decline",
    "sandbox_timeout",
    "sandbox_lost",
];

/// The sandbox, keeping its ledger in the payment schema.
#[derive(Debug, Clone)]
pub struct Sandbox {
    db: PgPool,
}

/// A payment key for `method`, as the sandbox "widget" would hand the browser.
pub fn payment_key_for(method: &str) -> String {
    format!("sandbox_{method}_{}", uuid::Uuid::new_v4().simple())
}

/// The method a sandbox payment key names.
pub fn method_of(payment_key: &str) -> Option<&'static str> {
    let rest = payment_key.strip_prefix("sandbox_")?;
    METHODS
        .iter()
        .copied()
        .filter(|m| rest.starts_with(&format!("{m}_")))
        .max_by_key(|m| m.len())
}

#[derive(sqlx::FromRow)]
struct Row {
    payment_key: String,
    order_id: String,
    amount: i32,
    method: String,
    status: String,
    balance_amount: i32,
    approved_at: DateTime<Utc>,
}

impl From<Row> for ProviderPayment {
    fn from(r: Row) -> Self {
        ProviderPayment {
            receipt_url: Some(format!(
                "https://sandbox.tiketi.invalid/receipts/{}",
                r.payment_key
            )),
            payment_key: r.payment_key,
            order_id: r.order_id,
            status: r.status,
            method: Some(r.method),
            total_amount: i64::from(r.amount),
            balance_amount: i64::from(r.balance_amount),
            approved_at: Some(r.approved_at),
            deposit_due: None,
            deposit_account: None,
            deposit_secret: None,
        }
    }
}

const COLUMNS: &str = "payment_key, order_id, amount, method, status, balance_amount, approved_at";

fn unavailable(e: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(format!("sandbox ledger: {e}"))
}

impl Sandbox {
    /// A sandbox over `db`.
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }

    pub(super) async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
    ) -> Result<ProviderPayment, ProviderError> {
        let method = method_of(payment_key).ok_or_else(|| ProviderError::Rejected {
            code: "INVALID_PAYMENT_KEY".into(),
            message: "not a sandbox payment key".into(),
        })?;
        match method {
            "sandbox_decline" => {
                return Err(ProviderError::Declined {
                    code: "REJECT_CARD_PAYMENT".into(),
                    message: "the sandbox card was declined".into(),
                });
            }
            "sandbox_timeout" => return Err(ProviderError::Timeout),
            _ => {}
        }
        let amount = i32::try_from(amount).map_err(|_| ProviderError::Rejected {
            code: "INVALID_AMOUNT".into(),
            message: "amount out of range".into(),
        })?;
        // Idempotent by order id: the first approval stands; a repeat gets it back.
        sqlx::query(
            "INSERT INTO payment.sandbox_transactions (payment_key, order_id, amount, method, balance_amount)
             VALUES ($1, $2, $3, $4, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(payment_key)
        .bind(order_id)
        .bind(amount)
        .bind(method)
        .execute(&self.db)
        .await
        .map_err(unavailable)?;
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payment.sandbox_transactions WHERE order_id = $1"
        )))
        .bind(order_id)
        .fetch_one(&self.db)
        .await
        .map_err(unavailable)?;
        if row.payment_key != payment_key || row.amount != amount {
            return Err(ProviderError::Rejected {
                code: "ALREADY_PROCESSED_PAYMENT".into(),
                message: "this order was already paid with another key or amount".into(),
            });
        }
        if method == "sandbox_lost" {
            // Approved and recorded, but the answer never arrives.
            return Err(ProviderError::Timeout);
        }
        Ok(row.into())
    }

    pub(super) async fn cancel(
        &self,
        payment_key: &str,
        amount: i64,
        _reason: &str,
        idempotency_key: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        let amount = i32::try_from(amount).map_err(|_| ProviderError::Rejected {
            code: "INVALID_AMOUNT".into(),
            message: "amount out of range".into(),
        })?;
        let mut tx = self.db.begin().await.map_err(unavailable)?;
        let first_time = sqlx::query(
            "INSERT INTO payment.sandbox_cancels (idempotency_key, payment_key, amount) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(idempotency_key)
        .bind(payment_key)
        .bind(amount)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected()
            == 1;
        if first_time {
            let updated = sqlx::query(
                "UPDATE payment.sandbox_transactions
                 SET balance_amount = balance_amount - $2,
                     status = CASE WHEN balance_amount - $2 = 0 THEN 'CANCELED' ELSE 'PARTIAL_CANCELED' END,
                     updated_at = now()
                 WHERE payment_key = $1 AND balance_amount >= $2",
            )
            .bind(payment_key)
            .bind(amount)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?
            .rows_affected();
            if updated == 0 {
                return Err(ProviderError::Rejected {
                    code: "NOT_CANCELABLE_AMOUNT".into(),
                    message: "nothing (or not that much) left to refund".into(),
                });
            }
        }
        tx.commit().await.map_err(unavailable)?;
        self.lookup_by_key(payment_key)
            .await?
            .ok_or(ProviderError::Rejected {
                code: "NOT_FOUND_PAYMENT".into(),
                message: "no such payment".into(),
            })
    }

    pub(super) async fn lookup_by_order(
        &self,
        order_id: &str,
    ) -> Result<Option<ProviderPayment>, ProviderError> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payment.sandbox_transactions WHERE order_id = $1"
        )))
        .bind(order_id)
        .fetch_optional(&self.db)
        .await
        .map_err(unavailable)?;
        Ok(row.map(Into::into))
    }

    pub(super) async fn lookup_by_key(
        &self,
        payment_key: &str,
    ) -> Result<Option<ProviderPayment>, ProviderError> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payment.sandbox_transactions WHERE payment_key = $1"
        )))
        .bind(payment_key)
        .fetch_optional(&self.db)
        .await
        .map_err(unavailable)?;
        Ok(row.map(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_keys_name_their_method() {
        for method in METHODS {
            assert_eq!(method_of(&payment_key_for(method)), Some(*method));
        }
        assert_eq!(method_of("toss_abc"), None);
        assert_eq!(method_of("sandbox_bitcoin_123"), None);
    }
}
