//! The waiting room when things fail: Redis stopped (503 with `Retry-After`, or admit when the
//! event fails open, then recovery without a restart), and admitter leases moving between
//! replicas with fencing.

mod queue_common;

use queue_common::*;
use serde_json::json;
use tiketi_core::testing::test_db;
use tiketi_tests::{RedisServer, TestApp, free_port};
use tiketi_ticket::AppState;
use tiketi_ticket::queue;
use tiketi_ticket::workers::queue_processor::tick_event;

#[tokio::test]
async fn joins_answer_503_with_retry_after_while_redis_is_down_and_recover_without_a_restart() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let mut redis = RedisServer::start(free_port()).await;
    let url = redis.url();
    let app = TestApp::spawn_with(pool.clone(), &[("REDIS_URL", &url), MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let closed = event(&pool, -3600).await;
    let open = event(&pool, -3600).await;
    put_settings(&app, &admin, closed, json!({"threshold": 10})).await;
    put_settings(
        &app,
        &admin,
        open,
        json!({"threshold": 10, "failOpen": true}),
    )
    .await;
    let (fan, token) = tokens.fan();
    let (_, before) = join(&app, &token, closed).await;
    assert_eq!(before["queued"], false);

    redis.stop().await;
    let res = app
        .client
        .post(app.url(&format!("/api/queue/check/{closed}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let (status, body) = join(&app, &token, open).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["queued"], false);
    assert_eq!(body["failOpen"], true);
    let state = AppState::new(app.infra.clone());
    let err = queue::require_admission(&state, fan.id, closed)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 503);
    queue::require_admission(&state, fan.id, open)
        .await
        .unwrap();
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("queue_redis_failures_total") && l.contains("fail_open")),
        "{metrics}"
    );

    // Redis comes back (empty: it kept nothing on disk); the queue works again, same process.
    let _redis = RedisServer::start(redis.port).await;
    let mut status = 0;
    for _ in 0..5 {
        status = join(&app, &token, closed).await.0;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "joins did not recover after Redis came back");
}

#[tokio::test]
async fn only_the_lease_holder_admits_and_a_replica_that_lost_its_lease_is_fenced_out() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, _, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 1, "admissionTtlSec": 30, "idleGraceSec": 3600}),
    )
    .await;
    for _ in 0..4 {
        join(&app, &tokens.fan().1, event_id).await;
    }
    let a = AppState::new(app.infra.clone());
    let b = AppState::new(app.infra.clone());
    let mut now = queue::now_ms();
    let ta = tick_event(&a, event_id, now).await.unwrap();
    let tb = tick_event(&b, event_id, now).await.unwrap();
    assert!(ta.led && !tb.led, "exactly one admitter");
    let old_lease = ta.lease.unwrap();

    // A's lease runs out (a stalled replica): B takes over with a higher fencing token...
    let keys = tiketi_ticket::queue::keys::EventKeys::new(&app.infra.redis, event_id);
    {
        let mut conn = app.infra.redis.conn().await.unwrap();
        let () = redis::cmd("DEL")
            .arg(keys.lease())
            .query_async(&mut *conn)
            .await
            .unwrap();
    }
    now += 31_000;
    let tb = tick_event(&b, event_id, now).await.unwrap();
    assert!(tb.led);
    assert_eq!(tb.admitted.len(), 1);
    let new_lease = tb.lease.unwrap();
    let token = |l: &str| l.rsplit(':').next().unwrap().parse::<u64>().unwrap();
    assert!(token(&new_lease) > token(&old_lease));
    // ...and A, waking up, admits nobody: its fenced admit is refused and its lease bid fails.
    now += 31_000;
    let ta = tick_event(&a, event_id, now).await.unwrap();
    assert!(!ta.led && ta.admitted.is_empty());
    let mut conn = app.infra.redis.conn().await.unwrap();
    let mut admit = tiketi_ticket::queue::scripts::SCRIPTS
        .admit
        .prepare_invoke();
    for k in keys.all() {
        admit.key(k);
    }
    admit.arg(now).arg(&old_lease).arg(100);
    let refused: Vec<i64> = admit.invoke_async(&mut *conn).await.unwrap();
    assert_eq!(refused, vec![-1], "a stale fencing token cannot admit");
}

#[tokio::test]
async fn when_the_lease_holding_replica_stops_another_replica_takes_over_admission() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let prefix = tiketi_core::testing::unique_redis_prefix();
    let overrides = [
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("QUEUE_PROCESSOR_INTERVAL", "100"),
    ];
    // Replica A starts alone, so its processor is the one that takes the lease.
    let first = TestApp::spawn_with(pool.clone(), &overrides).await;
    let tokens = first.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&pool, -3600).await;
    put_settings(
        &first,
        &admin,
        event_id,
        json!({"threshold": 100, "admitPerTick": 1, "admissionTtlSec": 600, "idleGraceSec": 3600,
               "paused": true}),
    )
    .await;
    // Paused while the line forms, so the first fan does not walk straight in.
    for _ in 0..60 {
        join(&first, &tokens.fan().1, event_id).await;
    }
    put_settings(&first, &admin, event_id, json!({"paused": false})).await;
    let mut holder = String::new();
    for _ in 0..100 {
        let v = admin_view(&first, &admin, event_id).await;
        if v["currentUsers"].as_u64().unwrap() >= 3 {
            holder = v["lease"].as_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!holder.is_empty(), "replica A admits");

    // Replica B joins the deployment; A keeps the lease while it lives.
    let second = TestApp::spawn_with(pool.clone(), &overrides).await;
    // Each server trusts its own test key; B's admin token comes from B's.
    let (_, admin_b) = second.tokens().admin();
    let v = admin_view(&second, &admin_b, event_id).await;
    assert_eq!(
        v["lease"].as_str().unwrap().split(':').next(),
        holder.split(':').next(),
        "A still holds the lease"
    );
    drop(first);

    // B takes over within a few ticks and admissions continue with a newer fencing token.
    let before = admin_view(&second, &admin_b, event_id).await["currentUsers"]
        .as_u64()
        .unwrap();
    let mut after = before;
    for _ in 0..100 {
        after = admin_view(&second, &admin_b, event_id).await["currentUsers"]
            .as_u64()
            .unwrap();
        if after >= before + 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        after >= before + 5,
        "admission stalled after the holder stopped ({before} -> {after})"
    );
    let v = admin_view(&second, &admin_b, event_id).await;
    let lease = v["lease"].as_str().unwrap();
    assert_ne!(
        lease.split(':').next(),
        holder.split(':').next(),
        "B holds the lease now"
    );
    let token = |l: &str| l.rsplit(':').next().unwrap().parse::<u64>().unwrap();
    assert!(token(lease) > token(&holder));
    assert_eq!(
        v["queueSize"].as_u64().unwrap() + v["currentUsers"].as_u64().unwrap(),
        60,
        "no fan lost"
    );
}

#[tokio::test]
async fn settings_changed_behind_the_apis_back_reach_the_processor_once_its_copy_ages() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&pool, -3600).await;
    put_settings(&app, &admin, event_id, json!({"threshold": 1})).await;
    for _ in 0..3 {
        join(&app, &tokens.fan().1, event_id).await;
    }
    sqlx::query("UPDATE ticket.queue_settings SET max_active = 3 WHERE event_id = $1")
        .bind(event_id)
        .execute(&pool)
        .await
        .unwrap();
    let keys = tiketi_ticket::queue::keys::EventKeys::new(&app.infra.redis, event_id);
    {
        // Age the cached copy instead of waiting for it to age.
        let mut conn = app.infra.redis.conn().await.unwrap();
        let () = redis::cmd("HSET")
            .arg(keys.cfg())
            .arg("loaded_ms")
            .arg(0)
            .query_async(&mut *conn)
            .await
            .unwrap();
    }
    let state = AppState::new(app.infra.clone());
    let t = tick_event(&state, event_id, queue::now_ms()).await.unwrap();
    assert_eq!(t.admitted.len(), 2, "the new threshold of 3 applies");
    assert_eq!(t.active, 3);
}
