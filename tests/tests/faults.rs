//! Fault tests: Postgres restarted during a surge, Redis restarted during a surge (and, with a
//! fan watching over Socket.IO, the processor's ticks and the pushes after it), and the
//! payment provider going silent. Each checks the outcome docs/FAILURES.md defines: 503 with
//! `Retry-After` while a dependency is down (never a 500, never a hang), recovery in the same
//! process without a restart, and afterwards no seat held twice, no order charged twice, no
//! paid reservation lost and none paid without its tickets.
//!
//! (A replica killed mid-surge is `crates/tiketi/tests/scale_out.rs`; a payment process killed
//! between the provider's approval and issuing the tickets is the crash test in
//! `crates/tiketi/tests/cli.rs`.)

mod inventory_common;
mod queue_common;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inventory_common::{audit_no_double_allocation, created_id, event_on_sale, hold, seats};
use queue_common::{MANUAL_TICKS, SocketClient, put_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::{test_config, test_db};
use tiketi_payment::provider::sandbox::payment_key_for;
use tiketi_tests::toss::{FakeToss, Outage};
use tiketi_tests::{PostgresServer, RedisServer, StopMode, TestApp, free_port};
use uuid::Uuid;

/// Every answer a surge got, by `"<op> <status> <code>"`, and the ones outside the defined set.
struct Tally {
    /// Codes a non-2xx answer may carry in this test.
    allowed: &'static [&'static str],
    seen: Mutex<BTreeMap<String, u64>>,
    bad: Mutex<Vec<String>>,
    slowest_ms: AtomicU64,
}

impl Tally {
    fn new(allowed: &'static [&'static str]) -> Arc<Self> {
        Arc::new(Self {
            allowed,
            seen: Mutex::default(),
            bad: Mutex::default(),
            slowest_ms: AtomicU64::new(0),
        })
    }

    /// Sends a request, checks the answer is a defined one, counts it and returns it. A 5xx
    /// must be a 503 with `Retry-After` and an allowed code.
    async fn call(
        &self,
        app: &TestApp,
        op: &str,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let started = Instant::now();
        let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let retry_after = response.headers().contains_key("retry-after");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        self.slowest_ms
            .fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let code = body["code"].as_str().unwrap_or("").to_owned();
        let key = format!("{op} {} {code}", status.as_u16());
        *self.seen.lock().unwrap().entry(key.clone()).or_default() += 1;
        let defined = status.is_success()
            || (self.allowed.contains(&code.as_str())
                && (status != StatusCode::SERVICE_UNAVAILABLE || retry_after)
                && (!status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE));
        if !defined {
            self.bad
                .lock()
                .unwrap()
                .push(format!("{key} retry-after={retry_after} {body}"));
        }
        (status, body)
    }

    /// How many answers matched `"<op> <status> <code>"` (a prefix: `"hold 201"` counts every
    /// 201 to a hold).
    fn count(&self, prefix: &str) -> u64 {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Every answer was a defined one and none took longer than `max`.
    fn assert_clean(&self, max: Duration) {
        let bad = self.bad.lock().unwrap();
        assert!(
            bad.is_empty(),
            "undefined answers ({}): {:?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
        let slowest = self.slowest_ms.load(Ordering::Relaxed);
        assert!(
            slowest < max.as_millis() as u64,
            "a request took {slowest} ms"
        );
        println!(
            "answers: {:?}; slowest {slowest} ms",
            self.seen.lock().unwrap()
        );
    }
}

/// Polls `condition` every 50 ms until it holds; panics naming `what` after `within`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A random element of `items`.
fn pick<T: Copy>(items: &[T]) -> T {
    items[(Uuid::new_v4().as_u128() % items.len() as u128) as usize]
}

async fn ready(app: &TestApp) -> (StatusCode, bool, Value) {
    let response = app.get("/ready").await;
    let status = response.status();
    let retry_after = response.headers().contains_key("retry-after");
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn postgres_restarted_during_a_surge_answers_503_and_the_same_process_recovers() {
    let mut pg = PostgresServer::start().await;
    let url = pg.database_url();
    let overrides = [("DATABASE_URL", url.as_str())];
    // The pool a deployment builds (lazy, 3 s acquire timeout), not the tests' patient one.
    let pool = tiketi_core::db::connect_lazy(&test_config(&overrides)).expect("pool");
    let app = Arc::new(TestApp::spawn_with(pool.clone(), &overrides).await);
    let tokens = Arc::new(app.tokens());
    let (_, admin) = tokens.admin();
    let event = event_on_sale(&pool).await;
    let seat_ids = Arc::new(seats(&pool, event, 3000).await);
    // A waiting room with room for everyone: a join admits at once and touches only Redis.
    put_settings(
        &app,
        &admin,
        event,
        json!({"enabled": true, "threshold": 100000, "admissionTtlSec": 600, "idleGraceSec": 3600}),
    )
    .await;

    // The surge: a stream of new fans, each joining and then holding one random seat.
    let tally = Tally::new(&["database_unavailable", "seat_unavailable"]);
    let held = Arc::new(Mutex::new(Vec::<(Uuid, Uuid)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..12 {
        let (app, tokens, tally, held, stop, seat_ids) = (
            app.clone(),
            tokens.clone(),
            tally.clone(),
            held.clone(),
            stop.clone(),
            seat_ids.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut pace = tokio::time::interval(Duration::from_millis(40));
            while !stop.load(Ordering::Relaxed) {
                pace.tick().await;
                let (_, token) = tokens.fan();
                let path = format!("/api/queue/check/{event}");
                let (status, _) = tally
                    .call(&app, "join", Method::POST, &path, &token, None)
                    .await;
                if !status.is_success() {
                    continue;
                }
                let seat = pick(&seat_ids);
                let body = json!({"eventId": event, "seatIds": [seat]});
                let (status, body) = tally
                    .call(
                        &app,
                        "hold",
                        Method::POST,
                        "/api/seats/reserve",
                        &token,
                        Some(body),
                    )
                    .await;
                if status == StatusCode::CREATED {
                    let id = body["reservation"]["id"].as_str().unwrap().parse().unwrap();
                    held.lock().unwrap().push((id, seat));
                }
            }
        }));
    }
    eventually("holds succeed", Duration::from_secs(30), || async {
        tally.count("hold 201") >= 20
    })
    .await;

    // Postgres goes away in the middle of it, twice: a clean restart (`-m fast` ends every
    // session, as maintenance or a failover does) and a crash (`-m immediate` kills it).
    for mode in [StopMode::Fast, StopMode::Immediate] {
        pg.stop(mode).await;
        let down = tally.count("hold 503 database_unavailable");
        let joins_before = tally.count("join 200");
        eventually(
            "holds answer 503 database_unavailable",
            Duration::from_secs(30),
            || async { tally.count("hold 503 database_unavailable") >= down + 10 },
        )
        .await;
        let (status, retry_after, body) = ready(&app).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(retry_after);
        assert!(
            body["checks"]["postgres"]
                .as_str()
                .unwrap()
                .starts_with("unavailable"),
            "{body}"
        );
        assert_eq!(body["checks"]["redis"], "ok");
        // The waiting room lives in Redis and keeps admitting meanwhile.
        eventually(
            "joins are still answered while the database is down",
            Duration::from_secs(30),
            || async { tally.count("join 200") >= joins_before + 10 },
        )
        .await;

        // It comes back on the same port; the same process serves holds again.
        pg.start_again().await;
        let recovered_from = tally.count("hold 201");
        eventually(
            "holds succeed again without a restart",
            Duration::from_secs(30),
            || async { tally.count("hold 201") >= recovered_from + 20 },
        )
        .await;
        eventually("/ready is 200 again", Duration::from_secs(30), || async {
            ready(&app).await.0 == StatusCode::OK
        })
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    // No 500, nothing hung past the pool's acquire timeout (3 s) by much.
    tally.assert_clean(Duration::from_secs(10));
    // No seat in two live reservations, no seat held without one.
    audit_no_double_allocation(&pool).await;
    // Every hold a fan was told about survived the crash, holding exactly its seat.
    let held = held.lock().unwrap().clone();
    for (reservation, seat) in &held {
        let (status, holder): (String, Option<Uuid>) = sqlx::query_as(
            "SELECT r.status, s.holder_reservation_id FROM ticket.reservations r
             JOIN ticket.seats s ON s.id = $2 WHERE r.id = $1",
        )
        .bind(reservation)
        .bind(seat)
        .fetch_one(&pool)
        .await
        .expect("an acknowledged hold exists");
        assert_eq!(
            (status.as_str(), holder),
            ("pending", Some(*reservation)),
            "hold {reservation} of seat {seat}"
        );
    }
    // A hold committed just as the connection died was never acknowledged: it is a normal
    // pending hold that lapses after HOLD_TTL_SECS. Count them, to show what happened.
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.reservations WHERE event_id = $1 AND status = 'pending'",
    )
    .bind(event)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(live >= held.len() as i64);
    println!(
        "acknowledged holds {}, live holds {live} (committed but unanswered: {})",
        held.len(),
        live - held.len() as i64
    );
}

#[tokio::test]
async fn a_process_started_while_postgres_is_down_answers_503_for_tokens_it_cannot_check_yet() {
    let mut pg = PostgresServer::start().await;
    let url = pg.database_url();
    let overrides = [("DATABASE_URL", url.as_str())];
    let pool = || tiketi_core::db::connect_lazy(&test_config(&overrides)).expect("pool");
    let running = TestApp::spawn_with(pool(), &overrides).await;
    let (status, body) = running
        .send(
            Method::POST,
            "/api/auth/register",
            None,
            Some(&json!({"email": "outage@example.com", "password": "correct horse battery", "name": "O"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let mine = "/api/reservations/my";
    assert_eq!(
        running.send(Method::GET, mine, Some(&token), None).await.0,
        StatusCode::OK
    );

    pg.stop(StopMode::Fast).await;
    // A replica that started during the outage has never seen the signing keys (they live in
    // Postgres): it cannot tell a good token from a forged one, so it says "retry", not 401
    // (which would make the web client drop the session).
    let started = TestApp::spawn_with(pool(), &overrides).await;
    for (app, code) in [
        (&running, "database_unavailable"),
        (&started, "auth_unavailable"),
    ] {
        let response = app
            .client
            .get(app.url(mine))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(response.json::<Value>().await.unwrap()["code"], code);
    }

    pg.start_again().await;
    eventually(
        "the new replica verifies the token",
        Duration::from_secs(30),
        || async { started.send(Method::GET, mine, Some(&token), None).await.0 == StatusCode::OK },
    )
    .await;
    // A token signed by no key of ours is still a 401 there.
    let forged = tiketi_core::auth::SigningKey::generate()
        .unwrap()
        .mint(
            &started.infra.verifier.verify(&token).await.unwrap().into(),
            60,
        )
        .unwrap();
    let (status, body) = started.send(Method::GET, mine, Some(&forged), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

/// One surge fan's story, shared with the test for the audit.
#[derive(Default)]
struct Fan {
    token: String,
    /// A join of this fan was answered 2xx at least once.
    joined: AtomicBool,
    /// Times the queue no longer knew this fan and it joined again.
    rejoins: AtomicU64,
    /// The reservation holding this fan's own seat.
    held: Mutex<Option<Uuid>>,
}

async fn prepare(app: &TestApp, token: &str, reservation: Uuid) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/payments/prepare",
        Some(token),
        Some(&json!({"reservationId": reservation, "amount": 10000})),
    )
    .await
}

async fn confirm(app: &TestApp, token: &str, key: &str, order: &str) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/payments/confirm",
        Some(token),
        Some(&json!({"paymentKey": key, "orderId": order, "amount": 10000})),
    )
    .await
}

async fn reservation_status(pool: &PgPool, id: Uuid) -> (String, String) {
    sqlx::query_as("SELECT status, payment_status FROM ticket.reservations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn seat_status(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM ticket.seats WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn redis_restarted_during_a_surge_answers_503_and_fans_who_rejoin_are_each_in_line_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let mut redis = RedisServer::start(free_port()).await;
    let url = redis.url();
    let app = Arc::new(
        TestApp::spawn_with(
            pool.clone(),
            &[("REDIS_URL", &url), ("QUEUE_PROCESSOR_INTERVAL", "100")],
        )
        .await,
    );
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let settings =
        json!({"enabled": true, "admitPerTick": 5, "admissionTtlSec": 600, "idleGraceSec": 3600});
    let surge = event_on_sale(&pool).await;
    let surge_seats = seats(&pool, surge, 30).await;
    let mut s = settings.clone();
    s["threshold"] = json!(10);
    put_settings(&app, &admin, surge, s).await;
    // A quiet event: two admitted fans hold a seat each, one has started paying.
    let quiet = event_on_sale(&pool).await;
    let quiet_seats = seats(&pool, quiet, 2).await;
    let mut s = settings.clone();
    s["threshold"] = json!(5);
    put_settings(&app, &admin, quiet, s).await;
    let (_, paying) = tokens.fan();
    let (_, holding) = tokens.fan();
    let check = |event: Uuid| format!("/api/queue/check/{event}");
    for token in [&paying, &holding] {
        let (status, body) = app
            .send(Method::POST, &check(quiet), Some(token), None)
            .await;
        assert_eq!((status, &body["queued"]), (StatusCode::OK, &json!(false)));
    }
    let paying_reservation = created_id(hold(&app, &paying, quiet, &[quiet_seats[0]]).await).await;
    let holding_reservation =
        created_id(hold(&app, &holding, quiet, &[quiet_seats[1]]).await).await;
    let (status, body) = prepare(&app, &paying, paying_reservation).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order = body["orderId"].as_str().unwrap().to_owned();

    // The surge: 30 fans for 10 places. Each joins until a join is answered, then sends
    // heartbeats, joins again when the queue no longer knows it (as the web client does), and
    // holds its own seat once admitted.
    let fans: Arc<Vec<Fan>> = Arc::new(
        (0..30)
            .map(|_| Fan {
                token: tokens.fan().1,
                ..Fan::default()
            })
            .collect(),
    );
    let tally = Tally::new(&["redis_unavailable", "not_admitted"]);
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..fans.len() {
        let (app, fans, tally, stop) = (app.clone(), fans.clone(), tally.clone(), stop.clone());
        let seat = surge_seats[i];
        workers.push(tokio::spawn(async move {
            let fan = &fans[i];
            let mut in_line = false;
            let mut pace = tokio::time::interval(Duration::from_millis(60));
            while !stop.load(Ordering::Relaxed) {
                pace.tick().await;
                if !in_line {
                    let path = format!("/api/queue/check/{surge}");
                    let (status, _) = tally
                        .call(&app, "join", Method::POST, &path, &fan.token, None)
                        .await;
                    if status.is_success() {
                        in_line = true;
                        fan.joined.store(true, Ordering::Relaxed);
                    }
                    continue;
                }
                let path = format!("/api/queue/heartbeat/{surge}");
                let (status, body) = tally
                    .call(&app, "heartbeat", Method::POST, &path, &fan.token, None)
                    .await;
                if !status.is_success() {
                    continue;
                }
                match body["status"].as_str() {
                    Some("not_in_queue") => {
                        in_line = false;
                        fan.rejoins.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("active") if fan.held.lock().unwrap().is_none() => {
                        let body = json!({"eventId": surge, "seatIds": [seat]});
                        let (status, body) = tally
                            .call(
                                &app,
                                "hold",
                                Method::POST,
                                "/api/seats/reserve",
                                &fan.token,
                                Some(body),
                            )
                            .await;
                        if status == StatusCode::CREATED {
                            let id = body["reservation"]["id"].as_str().unwrap().parse().unwrap();
                            *fan.held.lock().unwrap() = Some(id);
                        }
                    }
                    _ => {}
                }
            }
        }));
    }
    let holders = |fans: &[Fan]| {
        fans.iter()
            .filter(|f| f.held.lock().unwrap().is_some())
            .count()
    };
    eventually(
        "everyone is in line and the admitted hold their seats",
        Duration::from_secs(30),
        || async { fans.iter().all(|f| f.joined.load(Ordering::Relaxed)) && holders(&fans) == 10 },
    )
    .await;
    let held_before: Vec<Uuid> = fans
        .iter()
        .filter_map(|f| *f.held.lock().unwrap())
        .collect();

    // Redis dies in the middle of it and comes back empty (it keeps nothing on disk).
    redis.stop().await;
    let down = tally.count("heartbeat 503 redis_unavailable");
    eventually(
        "queue calls answer 503 redis_unavailable",
        Duration::from_secs(30),
        || async { tally.count("heartbeat 503 redis_unavailable") >= down + 30 },
    )
    .await;
    let (status, retry_after, body) = ready(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(retry_after);
    assert_eq!(body["checks"]["postgres"], "ok");
    let _redis = RedisServer::start(redis.port).await;

    // The fans learn the queue lost them and join again; the same process serves them.
    let view = |app: Arc<TestApp>, admin: String| async move {
        app.send(
            Method::GET,
            &format!("/api/queue/admin/{surge}"),
            Some(&admin),
            None,
        )
        .await
    };
    eventually("every fan is back in line", Duration::from_secs(30), || {
        let view = view(app.clone(), admin.clone());
        async move {
            let (status, v) = view.await;
            status == StatusCode::OK
                && v["queueSize"].as_u64().unwrap() + v["currentUsers"].as_u64().unwrap() == 30
                && v["currentUsers"] == 10
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    tally.assert_clean(Duration::from_secs(10));
    let rejoins: u64 = fans.iter().map(|f| f.rejoins.load(Ordering::Relaxed)).sum();
    assert!(
        rejoins >= 30,
        "every fan found itself forgotten and rejoined"
    );
    // Each fan is in line exactly once: 30 fans, 30 places (waiting or admitted), 10 admitted.
    let (_, v) = view(app.clone(), admin.clone()).await;
    assert_eq!(
        (v["queueSize"].as_u64(), v["currentUsers"].as_u64()),
        (Some(20), Some(10)),
        "{v}"
    );
    for fan in fans.iter() {
        let (status, body) = app
            .send(
                Method::GET,
                &format!("/api/queue/status/{surge}"),
                Some(&fan.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body["status"] == "queued" || body["status"] == "active",
            "{body}"
        );
    }
    // Holds live in Postgres: every hold made before the restart is still there.
    for reservation in &held_before {
        assert_eq!(reservation_status(&pool, *reservation).await.0, "pending");
    }
    audit_no_double_allocation(&pool).await;
    let surge_holds: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.reservations WHERE event_id = $1 AND status = 'pending'",
    )
    .bind(surge)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        surge_holds,
        holders(&fans) as i64,
        "one hold per fan at most"
    );
    println!(
        "rejoins {rejoins}, holds before the restart {}, after {}",
        held_before.len(),
        holders(&fans)
    );

    // The quiet event: the fan who had started paying finishes without the queue (confirm
    // needs no admission), and gets the tickets.
    let (status, body) = confirm(&app, &paying, &payment_key_for("card"), &order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        reservation_status(&pool, paying_reservation).await,
        ("confirmed".to_owned(), "completed".to_owned())
    );
    // The fan who only held keeps the hold, but paying starts with an admission the restart
    // lost: 403 not_admitted, join again (an empty queue admits at once), then pay.
    let (status, body) = prepare(&app, &holding, holding_reservation).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_admitted")),
        "{body}"
    );
    let (status, body) = app
        .send(Method::POST, &check(quiet), Some(&holding), None)
        .await;
    assert_eq!((status, &body["queued"]), (StatusCode::OK, &json!(false)));
    let (status, body) = prepare(&app, &holding, holding_reservation).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order = body["orderId"].as_str().unwrap();
    let (status, body) = confirm(&app, &holding, &payment_key_for("card"), order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        reservation_status(&pool, holding_reservation).await.0,
        "confirmed"
    );
}

/// Two replicas on the Redis at `url`, sharing its keys: the first's processor ticks only at
/// start-up (so it never admits), the second's every 100 ms (so it does).
async fn two_replicas(pool: &PgPool, url: &str) -> (TestApp, TestApp) {
    let prefix = tiketi_core::testing::unique_redis_prefix();
    let shared = [("REDIS_URL", url), ("REDIS_KEY_PREFIX", prefix.as_str())];
    let quiet = TestApp::spawn_with(pool.clone(), &[shared[0], shared[1], MANUAL_TICKS]).await;
    let admitter = TestApp::spawn_with(
        pool.clone(),
        &[shared[0], shared[1], ("QUEUE_PROCESSOR_INTERVAL", "100")],
    )
    .await;
    (quiet, admitter)
}

#[tokio::test]
async fn after_a_redis_restart_the_same_processes_admit_by_ticks_and_push_across_replicas() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let mut redis = RedisServer::start(free_port()).await;
    let url = redis.url();
    // The fan's socket is on `app`, whose processor only ticks at start-up; `admitter` ticks
    // every 100 ms. So every tick's push reaches the socket from the other replica, through
    // Redis: a replica that lost its Socket.IO adapter's connection would never hear it.
    let (app, admitter) = two_replicas(&pool, &url).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event = event_on_sale(&pool).await;
    put_settings(
        &app,
        &admin,
        event,
        json!({"enabled": true, "threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    let check = format!("/api/queue/check/{event}");
    let join = |token: String| {
        let (app, check) = (&app, &check);
        async move { app.send(Method::POST, check, Some(&token), None).await }
    };
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    assert_eq!(join(first.clone()).await.1["queued"], false);
    assert_eq!(join(second_token.clone()).await.1["position"], 1);

    // The second fan watches over Socket.IO (one connection, kept through the outage). A
    // position stamped `sentAt` comes from a processor tick, not from the answer to join-queue.
    let mut client = SocketClient::start(&app, &second_token, event, "queue-entry-allowed").await;
    let tick_position = |after: i64| {
        move |v: &Value| {
            v["event"] == "queue-position"
                && v["data"]["sentAt"].is_i64()
                && v["at"].as_i64().is_some_and(|at| at > after)
        }
    };
    let heard = client
        .until(tick_position(0))
        .await
        .expect("a tick's position before the outage");
    assert_eq!(heard["data"]["position"], 1, "{heard}");

    // Redis dies and comes back empty on the same port; the process is not restarted.
    redis.stop().await;
    eventually(
        "/ready reports Redis down",
        Duration::from_secs(30),
        || async {
            let (status, _, body) = ready(&app).await;
            status == StatusCode::SERVICE_UNAVAILABLE && body["checks"]["redis"] != "ok"
        },
    )
    .await;
    let (status, _) = join(second_token.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let _redis = RedisServer::start(redis.port).await;
    let back = wall_ms();

    // The queue forgot both fans; they join again (as the web client does on `not_in_queue`).
    eventually(
        "joins are answered again",
        Duration::from_secs(30),
        || async { join(first.clone()).await.0 == StatusCode::OK },
    )
    .await;
    let (_, body) = join(second_token.clone()).await;
    assert_eq!(body["position"], 1, "{body}");

    // The socket, still connected, hears the ticks' positions again: the processor pushes and
    // the positions channel delivers.
    let heard = client
        .until(tick_position(back))
        .await
        .expect("a tick's position after Redis came back");
    assert_eq!(heard["data"]["position"], 1, "{heard}");

    // The first fan leaves; the second is admitted by a tick (not at a join: it waited).
    let leave = format!("/api/queue/leave/{event}");
    let (status, _) = app.send(Method::POST, &leave, Some(&first), None).await;
    assert_eq!(status, StatusCode::OK);
    let status_path = format!("/api/queue/status/{event}");
    eventually(
        "a tick admits the waiting fan",
        Duration::from_secs(10),
        || async {
            let (_, body) = app
                .send(Method::GET, &status_path, Some(&second_token), None)
                .await;
            body["status"] == "active"
        },
    )
    .await;
    // ...and the fan's socket is told, through the Socket.IO adapter (a tick is 100 ms; 10 s
    // is ample, and says "never" sooner than the client's own 30 s).
    let told = tokio::time::timeout(
        Duration::from_secs(10),
        client.until(|v| v["event"] == "queue-entry-allowed"),
    )
    .await
    .ok()
    .flatten();
    let Some(allowed) = told else {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        let push_errors: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("socket_push_errors_total"))
            .collect();
        panic!(
            "the processor admitted the fan after Redis came back, but queue-entry-allowed \
             never reached its socket (push errors: {push_errors:?})"
        );
    };
    assert_eq!(allowed["data"]["userId"], json!(second.id), "{allowed}");
    drop(admitter);
}

#[tokio::test]
async fn replicas_started_while_redis_is_down_push_to_each_others_sockets_once_it_is_up() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let mut redis = RedisServer::start(free_port()).await;
    let url = redis.url();
    redis.stop().await;
    // Both replicas start with no Redis to reach; their Socket.IO adapters keep trying.
    let (app, admitter) = two_replicas(&pool, &url).await;
    // A process serves only once its Socket.IO layer is built: both adapters were made without
    // Redis.
    for replica in [&app, &admitter] {
        assert_eq!(replica.get("/health").await.status(), StatusCode::OK);
    }
    let _redis = RedisServer::start(redis.port).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event = event_on_sale(&pool).await;
    put_settings(
        &app,
        &admin,
        event,
        json!({"enabled": true, "threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    let check = format!("/api/queue/check/{event}");
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    eventually("joins are answered", Duration::from_secs(30), || async {
        app.send(Method::POST, &check, Some(&first), None).await.0 == StatusCode::OK
    })
    .await;
    let (_, body) = app
        .send(Method::POST, &check, Some(&second_token), None)
        .await;
    assert_eq!(body["position"], 1, "{body}");
    let mut client = SocketClient::start(&app, &second_token, event, "queue-entry-allowed").await;
    // A position from a tick (stamped `sentAt`, so not the answer to join-queue): the socket is
    // connected and the other replica's batches reach it.
    let heard = client
        .until(|v| v["event"] == "queue-position" && v["data"]["sentAt"].is_i64())
        .await
        .expect("a tick's position");
    assert_eq!(heard["data"]["position"], 1, "{heard}");
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/queue/leave/{event}"),
            Some(&first),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Only the other replica admits, so this push crossed Redis to the socket on `app`.
    let told = tokio::time::timeout(
        Duration::from_secs(10),
        client.until(|v| v["event"] == "queue-entry-allowed"),
    )
    .await
    .ok()
    .flatten()
    .expect("queue-entry-allowed reached the socket on the replica that did not admit");
    assert_eq!(told["data"]["userId"], json!(second.id), "{told}");
    drop(admitter);
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A fan of a fresh event holding one 10,000 won seat, with a prepared order:
/// (token, reservation, seat, order id).
async fn prepared(app: &TestApp, pool: &PgPool) -> (String, Uuid, Uuid, String) {
    let event = event_on_sale(pool).await;
    let seat = seats(pool, event, 1).await[0];
    let (_, token) = app.tokens().fan();
    let reservation = created_id(hold(app, &token, event, &[seat]).await).await;
    let (status, body) = prepare(app, &token, reservation).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order = body["orderId"].as_str().unwrap().to_owned();
    (token, reservation, seat, order)
}

/// A confirm while the provider is silent: a 503 `provider_unavailable` with `Retry-After`,
/// within the request's time. Returns how long it took.
async fn confirm_unanswered(app: &TestApp, token: &str, key: &str, order: &str) -> Duration {
    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/api/payments/confirm"))
        .bearer_auth(token)
        .json(&json!({"paymentKey": key, "orderId": order, "amount": 10000}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "after {took:?}"
    );
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "provider_unavailable", "{body}");
    took
}

async fn payment_row(pool: &PgPool, order: &str) -> (String, i32) {
    sqlx::query_as("SELECT status, refunded_amount FROM payment.payments WHERE order_id = $1")
        .bind(order)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// No money kept without tickets, no tickets without money kept.
async fn audit_paid_means_ticketed(pool: &PgPool) {
    let broken: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT p.order_id, p.status, r.status FROM payment.payments p
         JOIN ticket.reservations r ON r.id = p.reservation_id
         WHERE (p.status IN ('approved', 'completed') AND r.status <> 'confirmed')
            OR (r.status = 'confirmed' AND p.status NOT IN ('completed', 'partially_refunded'))",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        broken.is_empty(),
        "paid without tickets or the reverse: {broken:?}"
    );
}

async fn toss_app(pool: &PgPool, toss: &FakeToss, extra: &[(&str, &str)]) -> TestApp {
    let settings = toss.settings();
    let mut overrides: Vec<(&str, &str)> = extra.to_vec();
    overrides.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    TestApp::spawn_with(pool.clone(), &overrides).await
}

/// Provider calls time out after 900 ms and are tried three times (3.3 s with backoff); with
/// the lookup after an unanswered confirm that is 6.6 s, past the 6 s request timeout. The
/// confirm must stop asking in time (at 4.5 s) and answer 503 itself, not the request timeout's 504.
const SLOW_PROVIDER: [(&str, &str); 2] = [
    ("PAYMENT_PROVIDER_TIMEOUT_MS", "900"),
    ("REQUEST_TIMEOUT_SECS", "6"),
];

#[tokio::test]
async fn a_silent_provider_gets_a_503_in_time_and_once_it_recovers_each_order_is_charged_once() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(5)).await;
    let app = toss_app(&pool, &toss, &SLOW_PROVIDER).await;
    let (a_token, a_reservation, _, a_order) = prepared(&app, &pool).await;
    let (b_token, b_reservation, _, b_order) = prepared(&app, &pool).await;

    // Toss takes the charges but its answers never arrive, nor do lookups.
    toss.outage(Outage::AnswersLost);
    let (a_took, b_took) = tokio::join!(
        confirm_unanswered(&app, &a_token, "toss_key_a", &a_order),
        confirm_unanswered(&app, &b_token, "toss_key_b", &b_order),
    );
    assert!(
        a_took.max(b_took) < Duration::from_secs(6),
        "{a_took:?} {b_took:?}"
    );
    assert_eq!(toss.charges(), 2);
    for (reservation, order) in [(a_reservation, &a_order), (b_reservation, &b_order)] {
        assert_eq!(reservation_status(&pool, reservation).await.0, "pending");
        assert_eq!(payment_row(&pool, order).await.0, "ready");
    }
    toss.recover();

    // Fan B retries: the same order id is the provider's idempotency key, so the retry gets the
    // first charge's answer instead of a second charge.
    let (status, body) = confirm(&app, &b_token, "toss_key_b", &b_order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Fan A never comes back: the reconciler looks the order up and issues the tickets.
    let state = tiketi_payment::AppState::new(app.infra.clone());
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    let pass = tiketi_payment::workers::reconciler::reconcile(&state, later)
        .await
        .unwrap();
    assert_eq!((pass.finished, pass.pending), (1, 0), "{pass:?}");
    // When A does come back, the stored success.
    let (status, body) = confirm(&app, &a_token, "toss_key_a", &a_order).await;
    assert_eq!(
        (status, body["success"].as_bool()),
        (StatusCode::OK, Some(true))
    );

    assert_eq!(toss.charges(), 2, "nothing charged twice");
    for (reservation, order) in [(a_reservation, &a_order), (b_reservation, &b_order)] {
        assert_eq!(
            reservation_status(&pool, reservation).await,
            ("confirmed".to_owned(), "completed".to_owned())
        );
        assert_eq!(payment_row(&pool, order).await, ("completed".to_owned(), 0));
    }
    audit_paid_means_ticketed(&pool).await;

    // A refund asked for during an outage: 503 in time, nothing recorded; asked again after
    // it, refunded once.
    toss.outage(Outage::Unreachable);
    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/api/payments/toss_key_a/cancel"))
        .bearer_auth(&a_token)
        .json(&json!({"cancelReason": "changed my mind"}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "after {took:?}"
    );
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "provider_unavailable"
    );
    assert_eq!(
        payment_row(&pool, &a_order).await,
        ("completed".to_owned(), 0)
    );
    toss.recover();
    let (status, body) = app
        .send(
            Method::POST,
            "/api/payments/toss_key_a/cancel",
            Some(&a_token),
            Some(&json!({"cancelReason": "changed my mind"})),
        )
        .await;
    assert_eq!(
        (status, body["refundAmount"].as_i64()),
        (StatusCode::OK, Some(10000)),
        "{body}"
    );
    assert_eq!(
        payment_row(&pool, &a_order).await,
        ("refunded".to_owned(), 10000)
    );
    assert_eq!(toss.payment("toss_key_a").unwrap()["status"], "CANCELED");
    assert_eq!(
        reservation_status(&pool, a_reservation).await.0,
        "cancelled"
    );
    audit_paid_means_ticketed(&pool).await;
}

#[tokio::test]
async fn a_provider_outage_that_outlasts_the_hold_charges_nothing_or_refunds_and_frees_the_seat() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let toss = FakeToss::start(Duration::from_secs(5)).await;
    let app = toss_app(&pool, &toss, &SLOW_PROVIDER).await;
    let (c_token, c_reservation, c_seat, c_order) = prepared(&app, &pool).await;
    let (d_token, d_reservation, d_seat, d_order) = prepared(&app, &pool).await;
    let (e_token, e_reservation, e_seat, e_order) = prepared(&app, &pool).await;

    // C and D confirm while Toss is unreachable (nothing charged)...
    toss.outage(Outage::Unreachable);
    tokio::join!(
        confirm_unanswered(&app, &c_token, "toss_key_c", &c_order),
        confirm_unanswered(&app, &d_token, "toss_key_d", &d_order),
    );
    // ...E while Toss charges but cannot answer.
    toss.outage(Outage::AnswersLost);
    confirm_unanswered(&app, &e_token, "toss_key_e", &e_order).await;
    assert_eq!(toss.charges(), 1);

    // The outage outlasts the three holds; the sweeper releases their seats.
    sqlx::query(
        "UPDATE ticket.reservations SET expires_at = now() - interval '1 second'
         WHERE id = ANY($1)",
    )
    .bind(vec![c_reservation, d_reservation, e_reservation])
    .execute(&pool)
    .await
    .unwrap();
    let ticket = tiketi_ticket::AppState::new(app.infra.clone());
    tiketi_ticket::workers::hold_sweeper::sweep_expired(
        &pool,
        &ticket.realtime,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    toss.recover();

    // C retries after the hold lapsed: refused, nothing charged.
    let (status, body) = confirm(&app, &c_token, "toss_key_c", &c_order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reservation_expired")),
        "{body}"
    );
    // The reconciler: E was charged, and its hold is gone, so it is refunded in full; D was
    // never charged, so it waits (Toss may yet report it) and is given up after 30 minutes.
    let state = tiketi_payment::AppState::new(app.infra.clone());
    let now = chrono::Utc::now();
    let pass =
        tiketi_payment::workers::reconciler::reconcile(&state, now + chrono::Duration::minutes(5))
            .await
            .unwrap();
    assert_eq!((pass.finished, pass.pending), (1, 1), "{pass:?}");
    let pass =
        tiketi_payment::workers::reconciler::reconcile(&state, now + chrono::Duration::minutes(31))
            .await
            .unwrap();
    assert_eq!((pass.finished, pass.pending), (1, 0), "{pass:?}");

    assert_eq!(payment_row(&pool, &c_order).await.0, "failed");
    assert_eq!(payment_row(&pool, &d_order).await.0, "failed");
    assert_eq!(
        payment_row(&pool, &e_order).await,
        ("refunded".to_owned(), 10000)
    );
    assert_eq!(toss.charges(), 1);
    assert_eq!(toss.payment("toss_key_e").unwrap()["status"], "CANCELED");
    for (reservation, seat) in [
        (c_reservation, c_seat),
        (d_reservation, d_seat),
        (e_reservation, e_seat),
    ] {
        assert_ne!(reservation_status(&pool, reservation).await.0, "confirmed");
        assert_eq!(seat_status(&pool, seat).await, "available");
    }
    // The fans asking again get the stored outcomes.
    let (status, body) = confirm(&app, &e_token, "toss_key_e", &e_order).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reservation_expired_refunded")),
        "{body}"
    );
    let (status, _) = confirm(&app, &d_token, "toss_key_d", &d_order).await;
    assert_eq!(status, StatusCode::CONFLICT);
    audit_paid_means_ticketed(&pool).await;
}
