//! Contract tests for API.md's section "What the original clients rely on", bullet
//! **Payments**: "`GET /order/:orderId` and `/user/me` rows as the original (snake_case row with
//! `reservation_number`, `event_title`, `toss_approved_at`, `toss_receipt_url`; status words of
//! the original); error bodies carry `message` beside `error` and `code`", and the other payment
//! answers the original React client reads (`cchriscode/tiketi`, branch `final`):
//! - `frontend/src/pages/Payment.js`: `POST /api/payments/process {reservationId,
//!   paymentMethod}` for `naver_pay` / `kakao_pay` / `bank_transfer`, reading `success` (and
//!   `error` when refused); for TossPayments `POST /api/payments/prepare {reservationId, amount:
//!   reservation.total_amount}`, reading `orderId`, `amount`, `clientKey`;
//! - `PaymentCallback.js` / `TossPaymentSuccess.js`: `POST /api/payments/confirm {paymentKey,
//!   orderId, amount: parseInt(amount)}`, reading `success` and `payment.{orderId, amount,
//!   method, receiptUrl}`, or `message` when refused;
//! - the original payment service's rows for `GET /order/:orderId` and `GET /user/me`
//!   (`services/payment-service/src/routes/payments.js`), whose status words are `pending`,
//!   `confirmed`, `failed`, `refunded`, and `POST /:paymentKey/cancel {cancelReason}` answering
//!   `{success, message, refundAmount}`.
//!
//! Every test buys through the real server (a seat held with the API, paid with the sandbox
//! provider) and checks values, not only keys.

#[path = "inventory_common/mod.rs"]
mod inventory_common;

use inventory_common::{created_id, event_on_sale, hold, seats};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_payment::provider::sandbox::payment_key_for;
use tiketi_tests::TestApp;
use uuid::Uuid;

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    app.send(Method::POST, path, Some(token), Some(&body)).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    app.send(Method::GET, path, Some(token), None).await
}

/// A fan holding one seat (10,000 won) of an on-sale event: (token, reservation id, its number).
async fn fan_with_hold(app: &TestApp, pool: &PgPool) -> (String, Uuid, String) {
    let event = event_on_sale(pool).await;
    let seat = seats(pool, event, 1).await[0];
    let (_, token) = app.tokens().fan();
    let reservation = created_id(hold(app, &token, event, &[seat]).await).await;
    let number: String =
        sqlx::query_scalar("SELECT reservation_number FROM ticket.reservations WHERE id = $1")
            .bind(reservation)
            .fetch_one(pool)
            .await
            .unwrap();
    (token, reservation, number)
}

/// Bullet "Payments": the one-step sandbox payment of `Payment.js` answers `success: true` and
/// `payment: {id, orderId, amount, method, reservationNumber}`; the rows of `GET /order/:orderId`
/// and `GET /user/me` then say `confirmed`, with the reservation's number, the event's title and
/// the approval time in the original's column names.
#[tokio::test]
async fn payments_process_then_order_and_user_me_rows_as_the_original() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, number) = fan_with_hold(&app, &pool).await;

    let (status, paid) = post(
        &app,
        &token,
        "/api/payments/process",
        json!({"reservationId": reservation, "paymentMethod": "naver_pay"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["success"], true);
    assert!(paid["message"].is_string(), "{paid}");
    let payment = &paid["payment"];
    assert!(payment["id"].is_string(), "{paid}");
    assert_eq!(payment["amount"], 10000);
    assert_eq!(payment["method"], "naver_pay");
    assert_eq!(payment["reservationNumber"], number.as_str());
    let order = payment["orderId"].as_str().unwrap().to_owned();

    let (status, one) = get(&app, &token, &format!("/api/payments/order/{order}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let row = &one["payment"];
    assert_eq!(row["id"], payment["id"]);
    assert_eq!(row["order_id"], order.as_str());
    assert_eq!(row["amount"], 10000);
    assert_eq!(row["method"], "naver_pay");
    assert_eq!(row["status"], "confirmed", "{row}");
    assert_eq!(row["toss_status"], "DONE", "{row}");
    assert!(row["payment_key"].is_string(), "{row}");
    assert!(row["toss_approved_at"].is_string(), "{row}");
    assert!(row.get("toss_receipt_url").is_some(), "{row}");
    assert!(row["created_at"].is_string(), "{row}");
    assert!(row["updated_at"].is_string(), "{row}");
    assert_eq!(row["reservation_number"], number.as_str());
    assert_eq!(row["reservation_amount"], 10000);
    // Ours beside the original's: the stored word, and the camelCase fields our client reads.
    assert_eq!(row["ledger_status"], "completed");
    assert_eq!(row["orderId"], order.as_str());
    assert_eq!(row["reservationId"], json!(reservation));

    let (status, mine) = get(&app, &token, "/api/payments/user/me").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(
        mine["pagination"],
        json!({"total": 1, "limit": 10, "offset": 0})
    );
    let rows = mine["payments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["id"], payment["id"]);
    assert_eq!(row["order_id"], order.as_str());
    assert_eq!(row["amount"], 10000);
    assert_eq!(row["method"], "naver_pay");
    assert_eq!(row["status"], "confirmed", "{row}");
    assert!(row["payment_key"].is_string(), "{row}");
    assert!(row["toss_approved_at"].is_string(), "{row}");
    assert!(row["created_at"].is_string(), "{row}");
    assert_eq!(row["reservation_number"], number.as_str());
    assert_eq!(row["event_title"], "Inventory test");
    assert_eq!(row["ledger_status"], "completed");
    assert_eq!(row["reservation_id"], json!(reservation));
}

/// Bullet "Payments": the TossPayments path of `Payment.js` and `PaymentCallback.js`: prepare
/// with the reservation's total answers 201 `{orderId, amount, clientKey}`; confirm with
/// `{paymentKey, orderId, amount}` answers `success: true` and `payment.{orderId, amount,
/// method}`; before the confirm the order's row is `pending`, after it `confirmed`; the refund
/// answers `{success, message, refundAmount}` and the rows then say `refunded`.
#[tokio::test]
async fn payments_prepare_confirm_cancel_and_the_status_words_along_the_way() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, number) = fan_with_hold(&app, &pool).await;

    let (status, prepared) = post(
        &app,
        &token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{prepared}");
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    assert_eq!(prepared["amount"], 10000);
    assert!(prepared["clientKey"].is_string(), "{prepared}");

    let (status, one) = get(&app, &token, &format!("/api/payments/order/{order}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["payment"]["status"], "pending", "{one}");
    assert_eq!(one["payment"]["toss_approved_at"], Value::Null);
    assert_eq!(one["payment"]["reservation_number"], number.as_str());

    let key = payment_key_for("card");
    let (status, confirmed) = post(
        &app,
        &token,
        "/api/payments/confirm",
        json!({"paymentKey": key, "orderId": order, "amount": 10000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed["success"], true);
    assert_eq!(confirmed["payment"]["orderId"], order.as_str());
    assert_eq!(confirmed["payment"]["amount"], 10000);
    assert_eq!(confirmed["payment"]["method"], "card");
    assert!(
        confirmed["payment"].get("receiptUrl").is_some(),
        "{confirmed}"
    );

    let (_, one) = get(&app, &token, &format!("/api/payments/order/{order}")).await;
    assert_eq!(one["payment"]["status"], "confirmed", "{one}");
    assert_eq!(one["payment"]["payment_key"], key.as_str());
    assert!(one["payment"]["toss_approved_at"].is_string(), "{one}");

    let (status, cancelled) = post(
        &app,
        &token,
        &format!("/api/payments/{key}/cancel"),
        json!({"cancelReason": "plans changed"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["success"], true);
    assert!(cancelled["message"].is_string(), "{cancelled}");
    assert_eq!(cancelled["refundAmount"], 10000);

    let (_, one) = get(&app, &token, &format!("/api/payments/order/{order}")).await;
    assert_eq!(one["payment"]["status"], "refunded", "{one}");
    assert_eq!(one["payment"]["toss_status"], "CANCELED", "{one}");
    assert_eq!(one["payment"]["ledger_status"], "refunded");
    let (_, mine) = get(&app, &token, "/api/payments/user/me").await;
    assert_eq!(mine["payments"][0]["status"], "refunded", "{mine}");
}

/// Bullet "Payments": a declined payment answers `success: false` with `message` beside
/// `error` and `code` (`TossPaymentSuccess.js` shows `message`), and its row says `failed`.
#[tokio::test]
async fn payments_a_declined_confirm_carries_message_and_its_row_says_failed() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;

    let (status, prepared) = post(
        &app,
        &token,
        "/api/payments/prepare",
        json!({"reservationId": reservation, "amount": 10000}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{prepared}");
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    let confirm = json!({"paymentKey": payment_key_for("sandbox_decline"), "orderId": order,
                         "amount": 10000});
    let (status, declined) = post(&app, &token, "/api/payments/confirm", confirm.clone()).await;
    assert!(status.is_client_error(), "{status}: {declined}");
    // A repeat (the client retrying) is answered the same, `message` included.
    let (again, repeated) = post(&app, &token, "/api/payments/confirm", confirm).await;
    assert_eq!((again, &repeated), (status, &declined));
    assert_eq!(declined["success"], false, "{declined}");
    assert!(declined["code"].is_string(), "{declined}");
    let message = declined["message"]
        .as_str()
        .expect("message for the client");
    assert!(!message.is_empty());
    assert_eq!(declined["message"], declined["error"]);

    let (_, one) = get(&app, &token, &format!("/api/payments/order/{order}")).await;
    assert_eq!(one["payment"]["status"], "failed", "{one}");
    let (_, mine) = get(&app, &token, "/api/payments/user/me").await;
    assert_eq!(mine["payments"][0]["status"], "failed", "{mine}");
    assert_eq!(mine["payments"][0]["ledger_status"], "failed", "{mine}");
}

/// Bullet "Payments": `/user/me?limit&offset` pages as the original (`{payments, pagination:
/// {total, limit, offset}}`, newest first); a page larger than we serve is served at our
/// largest instead of refused.
#[tokio::test]
async fn payments_user_me_pages_as_the_original() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (token, first, _) = fan_with_hold(&app, &pool).await;
    let (status, body) = post(
        &app,
        &token,
        "/api/payments/process",
        json!({"reservationId": first, "paymentMethod": "kakao_pay"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A second purchase by the same fan.
    let event = event_on_sale(&pool).await;
    let seat = seats(&pool, event, 1).await[0];
    let second = created_id(hold(&app, &token, event, &[seat]).await).await;
    let (status, body) = post(
        &app,
        &token,
        "/api/payments/process",
        json!({"reservationId": second, "paymentMethod": "bank_transfer"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, page) = get(&app, &token, "/api/payments/user/me?limit=1&offset=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["pagination"],
        json!({"total": 2, "limit": 1, "offset": 1})
    );
    let rows = page["payments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    // Newest first: the second page of one is the first purchase.
    assert_eq!(rows[0]["method"], "kakao_pay");
    assert_eq!(rows[0]["status"], "confirmed");

    let (status, all) = get(&app, &token, "/api/payments/user/me?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["pagination"]["limit"], 100);
    assert_eq!(all["payments"].as_array().unwrap().len(), 2);
    assert_eq!(all["payments"][0]["method"], "bank_transfer");
}
