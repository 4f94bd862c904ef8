//! Money-safety findings of the outside review (issue 16), each on real servers, real Postgres
//! and the TossPayments stand-in: virtual accounts issue tickets only on the deposit, webhooks
//! are verified before anything is stored, a charged payment is never reported as "nothing was
//! charged", a refusal that is not a decline never reopens an order, and nothing is charged for
//! a cancelled event.

#[path = "inventory_common/mod.rs"]
mod inventory_common;
#[path = "payment_common/mod.rs"]
mod payment_common;

use std::time::Duration;

use inventory_common::{event_on_sale, hold, seats};
use payment_common::*;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_payment::provider::sandbox::payment_key_for;
use tiketi_tests::TestApp;
use tiketi_tests::toss::{FakeToss, Misbehave, Outage};
use uuid::Uuid;

/// Polls `condition` every 20 ms until it holds, for at most 10 seconds.
async fn until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Finding 4: a virtual account (`WAITING_FOR_DEPOSIT`) is not money.

#[tokio::test]
async fn a_virtual_account_keeps_the_hold_and_only_the_verified_deposit_issues_the_tickets() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;

    let (status, body) = confirm(&app, &token, "toss_vbank_one", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "awaiting_deposit");
    assert_eq!(body["success"], false);
    assert!(body["payment"]["depositDueAt"].is_string(), "{body}");
    assert_eq!(reservation_status(&pool, reservation).await, "pending");
    assert_eq!(seat_status(&pool, seat).await, "held");
    assert_eq!(payment_status(&pool, &order).await, "awaiting_deposit");
    assert_eq!(toss.charges(), 0);
    // Asking again says the same, and charges nothing.
    assert_eq!(
        confirm(&app, &token, "toss_vbank_one", &order).await.0,
        StatusCode::ACCEPTED
    );

    // The hold outlives its normal TTL (300 s): an hour later the sweeper leaves it alone.
    let ticket = tiketi_ticket::AppState::new(app.infra.clone());
    tiketi_ticket::workers::hold_sweeper::sweep_expired(
        &pool,
        &ticket.realtime,
        chrono::Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(reservation_status(&pool, reservation).await, "pending");
    assert_eq!(seat_status(&pool, seat).await, "held");

    // The fan transfers the money; Toss calls back. A callback with another secret is refused
    // without changing anything; the genuine one issues the tickets.
    let callback = toss.deposit("toss_vbank_one");
    let mut forged = callback.clone();
    forged["secret"] = json!("ps_guessed");
    let (status, body) = webhook(&app, "dep-forged", &forged).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("webhook_unverified"))
    );
    assert_eq!(reservation_status(&pool, reservation).await, "pending");
    let (status, body) = webhook(&app, "dep-1", &callback).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["action"], "finished");
    assert_eq!(reservation_status(&pool, reservation).await, "confirmed");
    assert_eq!(seat_status(&pool, seat).await, "sold");
    assert_eq!(payment_status(&pool, &order).await, "completed");
    // The callback's secret is compared, not kept.
    let kept: String = sqlx::query_scalar("SELECT payload::text FROM payment.webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !kept.contains(callback["secret"].as_str().unwrap()),
        "{kept}"
    );
    let (status, body) = confirm(&app, &token, "toss_vbank_one", &order).await;
    assert_eq!(
        (status, body["success"].as_bool()),
        (StatusCode::OK, Some(true))
    );
}

#[tokio::test]
async fn a_virtual_account_that_ends_without_a_deposit_releases_the_seat() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;

    // Learned from the reconciler's lookup (no callback arrives).
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    let (status, body) = confirm(&app, &token, "toss_vbank_lapsed", &order).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    toss.end_deposit("toss_vbank_lapsed", "EXPIRED");
    let pass = reconcile(&app).await;
    assert_eq!(pass.finished, 1, "{pass:?}");
    assert_eq!(payment_status(&pool, &order).await, "failed");
    assert_eq!(reservation_status(&pool, reservation).await, "cancelled");
    assert_eq!(seat_status(&pool, seat).await, "available");

    // Learned from Toss' callback.
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    confirm(&app, &token, "toss_vbank_cancelled", &order).await;
    let callback = toss.end_deposit("toss_vbank_cancelled", "CANCELED");
    let (status, body) = webhook(&app, "dep-cancel", &callback).await;
    assert_eq!(
        (status, body["action"].as_str()),
        (StatusCode::OK, Some("released"))
    );
    assert_eq!(reservation_status(&pool, reservation).await, "cancelled");
    assert_eq!(seat_status(&pool, seat).await, "available");
    assert_eq!(toss.charges(), 0);
}

// Finding 8: webhooks are verified before anything is stored.

#[tokio::test]
async fn webhooks_are_small_known_and_verified_before_they_are_recorded() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_millis(400)).await;
    let app = toss_app(&pool, &toss, &[("PAYMENT_PROVIDER_TIMEOUT_MS", "200")]).await;
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM payment.webhook_events")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    // A large body is refused before it is read in full.
    let padding = "x".repeat(64 * 1024);
    let (status, body) = webhook(
        &app,
        "big",
        &json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "k", "pad": padding}}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // Orders and keys nobody here knows: refused without asking Toss, nothing stored.
    for n in 0..5 {
        let (status, body) = webhook(
            &app,
            &format!("unknown-{n}"),
            &json!({"eventType": "PAYMENT_STATUS_CHANGED",
                    "data": {"paymentKey": format!("made_up_{n}"), "orderId": format!("TKT-none-{n}")}}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("payment_not_found"))
        );
    }
    let (status, _) = webhook(
        &app,
        "unknown-deposit",
        &json!({"orderId": "TKT-none", "status": "DONE", "secret": "ps_x"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(toss.lookups(), 0, "an unknown order cost a call to Toss");
    assert_eq!(stored().await, 0);

    // A genuine notification whose lookup fails is not recorded, so Toss' retry of the same
    // transmission is processed.
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    assert_eq!(
        confirm(&app, &token, "toss_key_hooked", &order).await.0,
        StatusCode::OK
    );
    toss.cancel_from_dashboard("toss_key_hooked");
    let notice = toss.webhook_body("toss_key_hooked");
    toss.outage(Outage::Unreachable);
    let (status, body) = webhook(&app, "tx-retry", &notice).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(stored().await, 0);
    toss.recover();
    let (status, body) = webhook(&app, "tx-retry", &notice).await;
    assert_eq!(
        (status, body["action"].as_str()),
        (StatusCode::OK, Some("refunded")),
        "{body}"
    );
    assert_eq!(reservation_status(&pool, reservation).await, "cancelled");
    assert_eq!(seat_status(&pool, seat).await, "available");
    // Processed once: a replay is refused.
    let (status, body) = webhook(&app, "tx-retry", &notice).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("webhook_duplicate"))
    );
    assert_eq!(stored().await, 1);
}

#[tokio::test]
async fn webhooks_are_rate_limited_per_address() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[("RATE_LIMIT_WEBHOOK_PER_MINUTE_IP", "3")]).await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        let (status, _) = webhook(
            &app,
            &format!("flood-{n}"),
            &json!({"data": {"paymentKey": format!("flood_{n}")}}),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..3], &[StatusCode::NOT_FOUND; 3]);
    assert_eq!(&statuses[3..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
}

// Finding 11: a charged payment is never "nothing was charged".

#[tokio::test]
async fn cancelling_a_reservation_while_its_charged_payment_completes_never_keeps_the_money_without_a_ticket()
 {
    let db = test_db().await;
    let pool = db.pool.clone();
    // Two replicas: the fan confirms on one and cancels through the other.
    let a = std::sync::Arc::new(TestApp::spawn_without_workers(pool.clone(), &[]).await);
    let b = TestApp::spawn_without_workers(pool.clone(), &[]).await;
    let (token, reservation, seat) = fan_with_hold(&a, &pool).await;
    let order = order_of(&a, &token, reservation).await;
    let fan: tiketi_core::auth::AuthUser = a.infra.verifier.verify(&token).await.unwrap().into();
    let b_token = b.tokens().key().mint(&fan, 600).unwrap();

    // Pause the confirm between "tickets issued" and "payment completed": the step that
    // records `completed` waits for an advisory lock this test holds.
    sqlx::raw_sql(
        "CREATE FUNCTION public.test_pause_completion() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_advisory_xact_lock(734111); RETURN NEW; END $$;
         CREATE TRIGGER test_pause_completion BEFORE UPDATE ON payment.payments
             FOR EACH ROW WHEN (NEW.status = 'completed')
             EXECUTE FUNCTION public.test_pause_completion();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut gate = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(734111)")
        .execute(&mut *gate)
        .await
        .unwrap();
    let confirming = {
        let (app, token, order) = (a.clone(), token.clone(), order.clone());
        tokio::spawn(async move { confirm(&app, &token, &payment_key_for("card"), &order).await })
    };
    until("the reservation is confirmed", || async {
        reservation_status(&pool, reservation).await == "confirmed"
    })
    .await;
    assert_eq!(payment_status(&pool, &order).await, "approved");

    // The fan cancels now, through the other replica.
    let (cancel_status, cancel_body) = post(
        &b,
        &b_token,
        &format!("/api/reservations/{reservation}/cancel"),
        json!({}),
    )
    .await;
    sqlx::query("SELECT pg_advisory_unlock(734111)")
        .execute(&mut *gate)
        .await
        .unwrap();
    let (status, body) = confirming.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");

    // Either the cancel waited for the payment (refused, reservation kept) or it refunded:
    // never a cancelled reservation under a payment that kept the money.
    let outcome = (
        reservation_status(&pool, reservation).await,
        payment_status(&pool, &order).await,
    );
    assert!(
        outcome == ("confirmed".into(), "completed".into())
            || outcome == ("cancelled".into(), "refunded".into()),
        "cancel answered {cancel_status} {cancel_body}; now {outcome:?}"
    );
    assert_ne!(cancel_body["refunded"], json!(false), "{cancel_body}");

    // Once the payment completed, the fan's cancel refunds it and frees the seat.
    let (status, body) = post(
        &a,
        &token,
        &format!("/api/reservations/{reservation}/cancel"),
        json!({}),
    )
    .await;
    if outcome.0 == "confirmed" {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(payment_status(&pool, &order).await, "refunded");
    assert_eq!(reservation_status(&pool, reservation).await, "cancelled");
    assert_eq!(seat_status(&pool, seat).await, "available");
}

// Finding 12: a refusal that is not a decline is not a failure.

#[tokio::test]
async fn a_non_decline_refusal_leaves_the_order_in_doubt_and_the_reconciler_finds_the_one_charge() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    // Another replica's confirm of this order charged it, and its answer has not been
    // recorded yet; this replica's confirm is answered ALREADY_PROCESSED_PAYMENT (a 400).
    toss.charge("toss_key_twice", &order, 10000);
    let (status, body) = confirm(&app, &token, "toss_key_twice", &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_in_doubt")),
        "{body}"
    );
    assert_eq!(payment_status(&pool, &order).await, "ready");
    // Not reopened under a new order id (which would let the fan pay a second time).
    let (status, body) = prepare(&app, &token, reservation).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["orderId"], order.as_str());

    // The reconciler asks Toss by order id and finds the charge: tickets issued.
    let pass = reconcile(&app).await;
    assert_eq!(pass.finished, 1, "{pass:?}");
    assert_eq!(payment_status(&pool, &order).await, "completed");
    assert_eq!(reservation_status(&pool, reservation).await, "confirmed");
    assert_eq!(seat_status(&pool, seat).await, "sold");
    assert_eq!(toss.charges(), 1);
}

#[tokio::test]
async fn two_replicas_confirming_at_once_charge_once_when_the_second_is_refused_with_a_4xx() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // Toss answers the first confirm after a second (well within the client's timeout).
    let toss = FakeToss::start(Duration::from_secs(1)).await;
    let a = std::sync::Arc::new(
        toss_app(&pool, &toss, &[("PAYMENT_PROVIDER_TIMEOUT_MS", "5000")]).await,
    );
    let b = toss_app(&pool, &toss, &[("PAYMENT_PROVIDER_TIMEOUT_MS", "5000")]).await;
    let (token, reservation, seat) = fan_with_hold(&a, &pool).await;
    let fan: tiketi_core::auth::AuthUser = a.infra.verifier.verify(&token).await.unwrap().into();
    let b_token = b.tokens().key().mint(&fan, 600).unwrap();
    let order = order_of(&a, &token, reservation).await;

    toss.misbehave(Misbehave::Hang(1));
    let first = {
        let (a, token, order) = (a.clone(), token.clone(), order.clone());
        tokio::spawn(async move { confirm(&a, &token, "toss_key_race", &order).await })
    };
    until("the first confirm charged", || async {
        toss.charges() == 1
    })
    .await;
    // The second replica's confirm, while the first is being processed, is refused with a
    // 4xx that is not a decline.
    toss.refuse_next_confirm(StatusCode::BAD_REQUEST, "ALREADY_PROCESSED_PAYMENT");
    let (status, body) = confirm(&b, &b_token, "toss_key_race", &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_in_doubt")),
        "{body}"
    );
    assert_ne!(payment_status(&pool, &order).await, "failed");

    let (status, body) = first.await.unwrap();
    assert_eq!(
        (status, body["success"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    assert_eq!(payment_status(&pool, &order).await, "completed");
    assert_eq!(reservation_status(&pool, reservation).await, "confirmed");
    assert_eq!(seat_status(&pool, seat).await, "sold");
    // The second replica's fan now gets the same success; still one charge.
    let (status, again) = confirm(&b, &b_token, "toss_key_race", &order).await;
    assert_eq!((status, &again), (StatusCode::OK, &body));
    assert_eq!(toss.charges(), 1);
}

#[tokio::test]
async fn an_order_in_doubt_that_the_provider_never_charged_is_released_for_a_new_attempt() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(2)).await;
    let app = toss_app(&pool, &toss, &[]).await;
    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    toss.refuse_next_confirm(StatusCode::CONFLICT, "PROVIDER_ERROR");
    let (status, body) = confirm(&app, &token, "toss_key_refused", &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_in_doubt")),
        "{body}"
    );
    assert_eq!(payment_status(&pool, &order).await, "ready");
    // Toss knows no payment for the order: nothing was charged, so the order is given up and
    // the fan may try again under a new order id.
    let pass = reconcile(&app).await;
    assert_eq!(pass.finished, 1, "{pass:?}");
    assert_eq!(payment_status(&pool, &order).await, "failed");
    let (status, body) = prepare(&app, &token, reservation).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(body["orderId"], order.as_str());
    assert_eq!(toss.charges(), 0);
}

// Finding 13: nothing slips past an event's cancellation.

/// Whether some session of this test's database waits for a lock.
async fn someone_waits_for_a_lock(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_hold_racing_the_event_cancellation_never_stays_pending_on_the_cancelled_event() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = std::sync::Arc::new(TestApp::spawn_without_workers(pool.clone(), &[]).await);
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();

    // Deterministic: a hold that has read the event pauses (on the fan's own advisory lock,
    // which this test holds) while the admin cancels the event.
    let event = event_on_sale(&pool).await;
    let seat = seats(&pool, event, 1).await[0];
    let (fan, token) = tokens.fan();
    let mut gate = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 7))")
        .bind(format!("{}:{}", fan.id, event))
        .execute(&mut *gate)
        .await
        .unwrap();
    let holding = {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move { hold(&app, &token, event, &[seat]).await.status() })
    };
    until("the hold waits for the fan's lock", || {
        someone_waits_for_a_lock(&pool)
    })
    .await;
    let cancelling = {
        let (app, admin) = (app.clone(), admin.clone());
        tokio::spawn(async move {
            post(
                &app,
                &admin,
                &format!("/api/admin/events/{event}/cancel"),
                json!({}),
            )
            .await
        })
    };
    // The cancel either finishes (today) or waits for the hold's lock on the event.
    until("the cancel finished or waits", || async {
        cancelling.is_finished()
            || sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
                >= 2
    })
    .await;
    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *gate)
        .await
        .unwrap();
    drop(gate);
    let hold_status = holding.await.unwrap();
    let (status, body) = cancelling.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.reservations WHERE event_id = $1 AND status = 'pending'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pending, 0, "the hold answered {hold_status}");
    assert_eq!(seat_status(&pool, seat).await, "available");

    // Many holds racing one cancel.
    let event = event_on_sale(&pool).await;
    let all = seats(&pool, event, 40).await;
    let mut tasks = Vec::new();
    for seat in all {
        let (app, token) = (app.clone(), tokens.fan().1);
        tasks.push(tokio::spawn(async move {
            hold(&app, &token, event, &[seat]).await.status()
        }));
    }
    let (status, _) = post(
        &app,
        &admin,
        &format!("/api/admin/events/{event}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for task in tasks {
        task.await.unwrap();
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.reservations WHERE event_id = $1 AND status = 'pending'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn prepare_and_confirm_refuse_a_reservation_of_a_cancelled_event_and_charge_nothing() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_without_workers(pool.clone(), &[]).await;
    let cancel_event_of = |reservation: Uuid| {
        let pool = pool.clone();
        async move {
            // As if the reservation had slipped past the cancellation.
            sqlx::query(
                "UPDATE ticket.events SET status = 'cancelled'
                 WHERE id = (SELECT event_id FROM ticket.reservations WHERE id = $1)",
            )
            .bind(reservation)
            .execute(&pool)
            .await
            .unwrap();
        }
    };

    let (token, reservation, _) = fan_with_hold(&app, &pool).await;
    cancel_event_of(reservation).await;
    let (status, body) = prepare(&app, &token, reservation).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("event_cancelled")),
        "{body}"
    );

    let (token, reservation, seat) = fan_with_hold(&app, &pool).await;
    let order = order_of(&app, &token, reservation).await;
    cancel_event_of(reservation).await;
    let (status, body) = confirm(&app, &token, &payment_key_for("card"), &order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("event_cancelled")),
        "{body}"
    );
    let charges: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payment.sandbox_transactions WHERE order_id = $1")
            .bind(&order)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(charges, 0);
    assert_ne!(seat_status(&pool, seat).await, "sold");
}
