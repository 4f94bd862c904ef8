//! The waiting room's guarantees against a real server and a real Redis: concurrent joins never
//! exceed the threshold and get distinct places, admission follows join order, the scheduled
//! pre-queue draw is reproducible, admission is enforced, and the admin controls work.

mod queue_common;

use std::collections::HashSet;

use queue_common::*;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::{TestApp, tick_of};
use tiketi_ticket::queue::{self, draw};
use tiketi_ticket::workers::queue_processor::{self, tick};
use tiketi_ticket::{AppState, realtime::Room};
use uuid::Uuid;

#[tokio::test]
async fn two_thousand_concurrent_joins_with_threshold_50_admit_50_and_queue_the_rest_once_each() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, admin, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 50, "admissionTtlSec": 60, "idleGraceSec": 86400}),
    )
    .await;

    let fans: Vec<(Uuid, String)> = (0..2000)
        .map(|_| {
            let (user, token) = tokens.fan();
            (user.id, token)
        })
        .collect();
    let app = std::sync::Arc::new(app);
    let mut set = tokio::task::JoinSet::new();
    for (id, token) in fans.clone() {
        let app = app.clone();
        set.spawn(async move { (id, join(&app, &token, event_id).await) });
    }
    let mut admitted = HashSet::new();
    let mut positions = Vec::new();
    let mut position_of = std::collections::HashMap::new();
    while let Some(done) = set.join_next().await {
        let (id, (status, body)) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["currentUsers"].as_u64().unwrap() <= 50, "{body}");
        if body["queued"] == false {
            admitted.insert(id);
        } else {
            let p = body["position"].as_u64().unwrap();
            positions.push(p);
            position_of.insert(id, p);
        }
    }
    assert_eq!(admitted.len(), 50);
    positions.sort_unstable();
    assert_eq!(positions, (1..=1950).collect::<Vec<u64>>());

    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(view["currentUsers"], 50);
    assert_eq!(view["queueSize"], 1950);
    assert_eq!(view["available"], 0);

    // Re-joining gives the same place back.
    let (_, again) = join(&app, &fans[7].1, event_id).await;
    match position_of.get(&fans[7].0) {
        Some(p) => assert_eq!(again["position"].as_u64(), Some(*p)),
        None => assert_eq!(again["queued"], false),
    }

    // Drive the processor: each tick jumps past the admission lifetime, so the 50 slots are
    // reclaimed and the next 50 in line admitted. Everyone gets in exactly once, in join order.
    let state = AppState::new(app.infra.clone());
    let mut now = queue::now_ms();
    let mut order = Vec::new();
    for _ in 0..40 {
        now += 61_000;
        let ticks = tick(&state, now).await.unwrap();
        let t = ticks.iter().find(|t| t.event_id == event_id).unwrap();
        assert!(t.led);
        assert!(t.active <= 50, "active {} exceeds the threshold", t.active);
        order.extend(t.admitted.iter().copied());
    }
    assert_eq!(order.len(), 1950, "every waiting fan admitted");
    let unique: HashSet<_> = order.iter().collect();
    assert_eq!(unique.len(), 1950, "nobody admitted twice");
    assert!(unique.iter().all(|id| !admitted.contains(id)));
    let joined_order: Vec<u64> = order.iter().map(|id| position_of[id]).collect();
    assert_eq!(joined_order, (1..=1950).collect::<Vec<u64>>(), "FIFO order");
}

#[tokio::test]
async fn two_thousand_joins_over_three_replicas_with_live_processors_keep_the_same_guarantees() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let prefix = tiketi_core::testing::unique_redis_prefix();
    // Three replicas on one Redis, each with its processor ticking every 100 ms: they compete
    // for the event's lease, and whichever holds it admits.
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let settings = [
            ("REDIS_KEY_PREFIX", prefix.as_str()),
            ("QUEUE_PROCESSOR_INTERVAL", "100"),
        ];
        replicas.push(std::sync::Arc::new(
            TestApp::spawn_with(pool.clone(), &settings).await,
        ));
    }
    let (tokens, admin, event_id) = on_sale_queue(
        &replicas[0],
        json!({"threshold": 50, "admissionTtlSec": 600, "idleGraceSec": 86400}),
    )
    .await;
    for replica in &replicas[1..] {
        tokens.trusted_by(&replica.infra);
    }
    let keys = queue::keys::EventKeys::new(&replicas[0].infra.redis, event_id);
    let mut redis = replicas[0].infra.redis.conn().await.unwrap();

    // Active never exceeds the threshold, sampled every 20 ms for the whole test.
    let over = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let sampler = {
        let (over, stop) = (over.clone(), stop.clone());
        let (key, mut conn) = (
            keys.active().to_owned(),
            replicas[1].infra.redis.conn().await.unwrap(),
        );
        tokio::spawn(async move {
            let mut max = 0;
            while !stop.is_cancelled() {
                let now = queue::now_ms();
                let active: u64 = redis::cmd("ZCOUNT")
                    .arg(&key)
                    .arg(format!("({now}"))
                    .arg("+inf")
                    .query_async(&mut *conn)
                    .await
                    .unwrap();
                max = max.max(active);
                if active > 50 {
                    over.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            max
        })
    };

    // 2,000 fans join at once, spread over the replicas.
    let fans: Vec<(Uuid, String)> = (0..2000)
        .map(|_| {
            let (user, token) = tokens.fan();
            (user.id, token)
        })
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for (i, (id, token)) in fans.iter().cloned().enumerate() {
        let replica = replicas[i % 3].clone();
        set.spawn(async move { (id, join(&replica, &token, event_id).await) });
    }
    let mut first_in = Vec::new();
    let mut by_position = std::collections::BTreeMap::new();
    while let Some(done) = set.join_next().await {
        let (id, (status, body)) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        if body["queued"] == false {
            first_in.push(id);
        } else {
            by_position.insert(body["position"].as_u64().unwrap(), id);
        }
    }
    assert_eq!(first_in.len(), 50);
    assert_eq!(
        by_position.keys().copied().collect::<Vec<u64>>(),
        (1..=1950).collect::<Vec<u64>>(),
        "distinct places 1..1950 across the three replicas"
    );

    // Waves: the 50 shoppers leave (through any replica); the lease holder admits the next 50
    // in line, and only them.
    let in_line: Vec<Uuid> = by_position.into_values().collect();
    let mut shoppers = first_in;
    let mut admitted_once = HashSet::new();
    for (wave, expected) in in_line.chunks(50).enumerate() {
        let mut leaves = tokio::task::JoinSet::new();
        for (i, id) in shoppers.iter().enumerate() {
            let token = fans.iter().find(|(f, _)| f == id).unwrap().1.clone();
            let replica = replicas[(i + wave) % 3].clone();
            leaves.spawn(async move {
                let res = replica
                    .client
                    .post(replica.url(&format!("/api/queue/leave/{event_id}")))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            });
        }
        while leaves.join_next().await.is_some() {}
        let expected: HashSet<Uuid> = expected.iter().copied().collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let now_active = loop {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(keys.active())
                .arg(0)
                .arg(-1)
                .query_async(&mut *redis)
                .await
                .unwrap();
            let members: HashSet<Uuid> = members.iter().map(|m| m.parse().unwrap()).collect();
            if members.len() == expected.len() || std::time::Instant::now() > deadline {
                break members;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(
            now_active, expected,
            "wave {wave}: the next in line, and only them"
        );
        for id in &now_active {
            assert!(admitted_once.insert(*id), "{id} admitted twice");
        }
        shoppers = now_active.into_iter().collect();
    }
    assert_eq!(
        admitted_once.len(),
        1950,
        "every waiting fan admitted, none lost"
    );
    stop.cancel();
    let max = sampler.await.unwrap();
    assert_eq!(
        over.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "active went over 50"
    );
    assert_eq!(max, 50);
    let view = admin_view(&replicas[2], &admin, event_id).await;
    assert_eq!(view["queueSize"], 0, "{view}");
}

#[tokio::test]
async fn admission_follows_join_order_and_each_fan_is_told_alone() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, _, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 1, "admitPerTick": 1, "admissionTtlSec": 30, "idleGraceSec": 600}),
    )
    .await;
    let fans: Vec<_> = (0..6).map(|_| tokens.fan()).collect();
    for (i, (_, token)) in fans.iter().enumerate() {
        let (status, body) = join(&app, token, event_id).await;
        assert_eq!(status, 200);
        if i == 0 {
            assert_eq!(body["queued"], false);
        } else {
            assert_eq!(body["position"].as_u64(), Some(i as u64), "{body}");
            assert_eq!(body["queueSize"].as_u64(), Some(i as u64));
            assert!(body["estimatedWait"].as_u64().unwrap() > 0);
            assert_eq!(body["eventInfo"]["title"], "Surge Night");
        }
    }
    // The second fan leaves: everyone behind moves up by one, exactly.
    let res = app
        .client
        .post(app.url(&format!("/api/queue/leave/{event_id}")))
        .bearer_auth(&fans[2].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let status: Value = app
        .client
        .get(app.url(&format!("/api/queue/status/{event_id}")))
        .bearer_auth(&fans[5].1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "queued");
    assert_eq!(status["position"], 4);

    let state = AppState::new(app.infra.clone());
    let mut pushes = state.realtime.subscribe();
    // The first fan finishes buying: the slot frees at once and the next fan gets in.
    queue::complete(&state, fans[0].0.id, event_id)
        .await
        .unwrap();
    let mut now = queue::now_ms();
    let mut order = vec![];
    for _ in 0..4 {
        let t = tick_of(&state, now, event_id).await;
        assert_eq!(t.admitted.len(), 1);
        order.push(t.admitted[0]);
        now += 31_000;
    }
    let expected: Vec<Uuid> = [1, 3, 4, 5].iter().map(|i| fans[*i].0.id).collect();
    assert_eq!(order, expected);

    // Admissions went to each fan's own room; every waiting fan's exact position went out.
    let mut allowed = vec![];
    let mut first_positions = std::collections::HashMap::new();
    while let Ok(push) = pushes.try_recv() {
        match (push.event, push.room) {
            ("queue-entry-allowed", Room::User(id)) => {
                assert_eq!(push.payload["userId"], json!(id));
                allowed.push(id);
            }
            ("queue-entry-allowed", room) => panic!("admission told to {room:?}"),
            (tiketi_ticket::realtime::POSITIONS, Room::Queue(_)) => {
                // Each fan's own `queue-position`, as every replica derives it from the batch.
                for (id, position) in push.positions.as_ref().unwrap().positions() {
                    first_positions.entry(id).or_insert(position.position);
                }
            }
            _ => {}
        }
    }
    assert_eq!(allowed, expected);
    // After the first tick admitted fan 1, fans 3, 4, 5 stood at 1, 2, 3.
    assert_eq!(first_positions[&fans[3].0.id], 1);
    assert_eq!(first_positions[&fans[5].0.id], 3);
}

/// A scheduled on-sale starting in an hour with `threshold`, and `count` fans in its pre-queue
/// (each `(user, token)`).
async fn pre_queued(
    app: &TestApp,
    threshold: u32,
    count: usize,
) -> (Uuid, Vec<(tiketi_core::auth::AuthUser, String)>) {
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&app.infra.db, 1800).await;
    put_settings(
        app,
        &admin,
        event_id,
        json!({"threshold": threshold, "mode": "scheduled", "idleGraceSec": 86400}),
    )
    .await;
    let fans: Vec<_> = (0..count).map(|_| tokens.fan()).collect();
    for (_, token) in &fans {
        let (status, body) = join(app, token, event_id).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["queued"], true,
            "before sale start everyone waits: {body}"
        );
        assert_eq!(body["preQueue"], true);
    }
    (event_id, fans)
}

#[tokio::test]
async fn the_pre_queue_draw_is_a_permutation_reproducible_from_its_seed() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (event_id, fans) = pre_queued(&app, 5, 40).await;
    let state = AppState::new(app.infra.clone());
    // A tick before sale start draws nothing and admits nobody.
    let t = tick_of(&state, queue::now_ms(), event_id).await;
    assert!(t.draw_seed.is_none() && t.admitted.is_empty());

    let sale_start = queue::now_ms() + 3_601_000;
    let t = tick_of(&state, sale_start, event_id).await;
    let seed = t.draw_seed.expect("the draw ran at sale start");
    assert_eq!(t.admitted.len(), 5);

    let (stored_seed, participants, drawn): (
        String,
        sqlx::types::Json<Vec<String>>,
        sqlx::types::Json<Vec<String>>,
    ) = sqlx::query_as(
        "SELECT seed, participants, drawn_order FROM ticket.queue_draws WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored_seed, seed.to_string());
    let (applied, placed): (bool, Option<i32>) = sqlx::query_as(
        "SELECT applied_at IS NOT NULL, placed FROM ticket.queue_draws WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(applied, "the draw that placed the fans is marked applied");
    assert_eq!(placed, Some(40));
    let mut ids: Vec<String> = fans.iter().map(|(u, _)| u.id.to_string()).collect();
    ids.sort();
    assert_eq!(participants.0, ids, "every pre-queued fan took part");
    let replayed = draw::draw_order(stored_seed.parse().unwrap(), &participants.0);
    assert_eq!(
        replayed, drawn.0,
        "the draw is reproducible from the stored seed"
    );
    let mut sorted = drawn.0.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "the draw is a permutation");

    // The queue follows the draw: the first five were admitted, the rest stand in drawn order.
    let admitted: Vec<String> = t.admitted.iter().map(Uuid::to_string).collect();
    assert_eq!(admitted, drawn.0[..5]);
    for (i, id) in drawn.0[5..].iter().enumerate() {
        let (_, token) = fans.iter().find(|(u, _)| u.id.to_string() == *id).unwrap();
        let (_, body) = join(&app, token, event_id).await;
        assert_eq!(body["position"].as_u64(), Some(i as u64 + 1));
    }
    // Latecomers after the draw queue FIFO behind the drawn fans.
    let (_, late) = app.tokens().fan();
    let (_, body) = join(&app, &late, event_id).await;
    assert_eq!(body["position"].as_u64(), Some(36));

    // The cached settings vanish (a retired queue, an eviction): the draw never runs again.
    let keys = queue::keys::EventKeys::new(&app.infra.redis, event_id);
    {
        let mut conn = app.infra.redis.conn().await.unwrap();
        let () = redis::cmd("DEL")
            .arg(keys.cfg())
            .query_async(&mut *conn)
            .await
            .unwrap();
    }
    for _ in 0..2 {
        let t = tick_of(&state, sale_start + 1000, event_id).await;
        assert!(t.draw_seed.is_none());
    }
    let draws: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.queue_draws WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(draws, 1);
}

/// Runs one Redis command on the test's own key prefix.
async fn redis_run(app: &TestApp, cmd: &redis::Cmd) -> redis::Value {
    let mut conn = app.infra.redis.conn().await.unwrap();
    cmd.query_async(&mut *conn).await.unwrap()
}

/// The `ticket.queue_draws` rows of `event_id` in the order they were recorded: id, seed,
/// drawn order, whether marked applied, fans placed.
async fn draw_records(
    pool: &sqlx::PgPool,
    event_id: Uuid,
) -> Vec<(
    i64,
    String,
    sqlx::types::Json<Vec<String>>,
    bool,
    Option<i32>,
)> {
    sqlx::query_as(
        "SELECT id, seed, drawn_order, applied_at IS NOT NULL, placed
         FROM ticket.queue_draws WHERE event_id = $1 ORDER BY id",
    )
    .bind(event_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_draw_refused_for_a_lost_lease_stays_on_record_unapplied_and_only_the_draw_that_placed_the_fans_is_marked()
 {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (event_id, _) = pre_queued(&app, 2, 12).await;
    let keys = queue::keys::EventKeys::new(&app.infra.redis, event_id);

    // Replica A leads before sale start, then stalls: its lease lapses (deleted here rather than
    // waited out) and replica B takes over with a new fencing token.
    let a = AppState::new(app.infra.clone());
    let stale = tick(&a, queue::now_ms()).await.unwrap().remove(0).lease;
    let stale = stale.expect("A leads");
    redis_run(&app, redis::cmd("DEL").arg(keys.lease())).await;
    let b = AppState::new(app.infra.clone());
    let t = tick(&b, queue::now_ms()).await.unwrap().remove(0);
    assert!(t.led && t.lease.as_deref() != Some(stale.as_str()));

    // A wakes up at sale start and draws with the lease it no longer holds: recorded, refused,
    // and nobody placed.
    let sale_start = queue::now_ms() + 3_601_000;
    let refused = queue_processor::run_draw(&a, event_id, &stale, sale_start)
        .await
        .unwrap();
    assert_eq!(refused.placed, None);
    assert!(refused.refused_for_lease);
    let (_, admin) = app.tokens().admin();
    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(
        (view["preQueueSize"].as_u64(), view["queueSize"].as_u64()),
        (Some(12), Some(0))
    );

    // B draws at sale start with a seed of its own.
    let t = tick(&b, sale_start).await.unwrap().remove(0);
    let seed = t.draw_seed.expect("B's draw applied");
    assert_eq!(t.admitted.len(), 2);
    let records = draw_records(&pool, event_id).await;
    assert_eq!(records.len(), 2, "both attempts are on record");
    let (refused_id, ref refused_seed, _, refused_applied, refused_placed) = records[0];
    assert_eq!(refused_id, refused.record_id);
    assert_eq!(*refused_seed, refused.seed.to_string());
    assert_eq!(
        (refused_applied, refused_placed),
        (false, None),
        "never applied"
    );
    let (applied_id, ref applied_seed, ref order, applied, placed) = records[1];
    assert_eq!(*applied_seed, seed.to_string());
    assert_eq!(
        (applied, placed),
        (true, Some(12)),
        "the draw that placed the fans"
    );
    // The line is the marked draw's order: its first two admitted, the other ten after them.
    let admitted: Vec<String> = t.admitted.iter().map(Uuid::to_string).collect();
    assert_eq!(admitted, order.0[..2]);
    for (i, id) in order.0[2..].iter().enumerate() {
        let standing = queue::status(&b, id.parse().unwrap(), event_id, false)
            .await
            .unwrap()
            .standing;
        assert_eq!(
            standing,
            queue::Standing::Queued {
                position: i as u64 + 1
            }
        );
    }
    assert_eq!(
        redis_run(&app, redis::cmd("GET").arg(keys.draw())).await,
        redis::Value::Nil,
        "the applied draw's marker is gone once its record is marked"
    );

    // B dies between the draw script and marking the record (or loses Redis's answer): the
    // record is unmarked and the script's marker is left in Redis. The next tick marks it.
    sqlx::query("UPDATE ticket.queue_draws SET applied_at = NULL, placed = NULL WHERE id = $1")
        .bind(applied_id)
        .execute(&pool)
        .await
        .unwrap();
    redis_run(
        &app,
        redis::cmd("SET")
            .arg(keys.draw())
            .arg(format!("{applied_id}:12")),
    )
    .await;
    let t = tick(&b, sale_start + 1000).await.unwrap().remove(0);
    assert!(t.led && t.draw_seed.is_none(), "no second draw");
    let marks: Vec<(bool, Option<i32>)> = draw_records(&pool, event_id)
        .await
        .into_iter()
        .map(|r| (r.3, r.4))
        .collect();
    assert_eq!(marks, vec![(false, None), (true, Some(12))]);
    assert_eq!(
        redis_run(&app, redis::cmd("GET").arg(keys.draw())).await,
        redis::Value::Nil,
        "the applied draw's marker is gone once its record is marked"
    );
}

#[tokio::test]
async fn a_fan_who_pre_queues_while_the_draw_is_being_recorded_follows_the_drawn_fans() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (event_id, fans) = pre_queued(&app, 1, 6).await;
    let state = AppState::new(app.infra.clone());
    let lease = tick_of(&state, queue::now_ms(), event_id).await.lease;
    let lease = lease.expect("this replica leads");
    // The processor read the participants when five had pre-queued; the sixth arrived before
    // the draw script ran. The script is given the five, shuffled.
    let drawn: Vec<String> = [3, 0, 4, 1, 2]
        .iter()
        .map(|i| fans[*i].0.id.to_string())
        .collect();
    let keys = queue::keys::EventKeys::new(&app.infra.redis, event_id);
    let mut draw = queue::scripts::SCRIPTS.draw.prepare_invoke();
    for k in keys.all() {
        draw.key(k);
    }
    draw.arg(&lease).arg(queue::now_ms() + 3_601_000).arg(0);
    for id in &drawn {
        draw.arg(id);
    }
    let mut conn = app.infra.redis.conn().await.unwrap();
    let placed: i64 = draw.invoke_async(&mut *conn).await.unwrap();
    assert_eq!(placed, 5, "the drawn fans are placed");
    for (i, id) in drawn.iter().enumerate() {
        let standing = queue::status(&state, id.parse().unwrap(), event_id, false)
            .await
            .unwrap()
            .standing;
        assert_eq!(
            standing,
            queue::Standing::Queued {
                position: i as u64 + 1
            }
        );
    }
    let late = queue::status(&state, fans[5].0.id, event_id, false)
        .await
        .unwrap()
        .standing;
    assert_eq!(
        late,
        queue::Standing::Queued { position: 6 },
        "the late arrival is in line behind the drawn fans, not dropped"
    );
}

#[tokio::test]
async fn shopping_requires_an_unexpired_admission_when_the_event_has_a_queue() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let state = AppState::new(app.infra.clone());
    let (fan, fan_token) = tokens.fan();
    // No settings: the queue is on at the defaults. Shopping needs an admission, and below the
    // threshold a join admits at once.
    let default_event = event(&pool, -3600).await;
    assert!(
        queue::require_admission(&state, fan.id, default_event)
            .await
            .is_err()
    );
    let (_, body) = join(&app, &fan_token, default_event).await;
    assert_eq!(body["queued"], false);
    assert_eq!(body["queueEnabled"], true);
    assert_eq!(body["threshold"], app.infra.config.queue.threshold);
    queue::require_admission(&state, fan.id, default_event)
        .await
        .unwrap();
    // Turned off by an admin: everyone may shop, and joining admits at once.
    let open_event = event(&pool, -3600).await;
    put_settings(&app, &admin, open_event, json!({"enabled": false})).await;
    queue::require_admission(&state, fan.id, open_event)
        .await
        .unwrap();
    let (_, body) = join(&app, &fan_token, open_event).await;
    assert_eq!(body["queued"], false);
    assert_eq!(body["queueEnabled"], false);

    let event_id = event(&pool, -3600).await;
    put_settings(
        &app,
        &admin,
        event_id,
        json!({"threshold": 1, "admissionTtlSec": 30}),
    )
    .await;
    let err = queue::require_admission(&state, fan.id, event_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(format!("{:?}", err).contains("not_admitted"));

    let (_, body) = join(&app, &fan_token, event_id).await;
    assert_eq!(body["queued"], false);
    queue::require_admission(&state, fan.id, event_id)
        .await
        .unwrap();
    // A second fan waits and is not admitted.
    let (other, other_token) = tokens.fan();
    let (_, body) = join(&app, &other_token, event_id).await;
    assert_eq!(body["position"], 1);
    assert!(
        queue::require_admission(&state, other.id, event_id)
            .await
            .is_err()
    );

    // The admission expires: the processor reclaims it and admits the next fan.
    let t = tick_of(&state, queue::now_ms() + 31_000, event_id).await;
    assert_eq!(t.reclaimed, 1);
    assert_eq!(t.admitted, vec![other.id]);
    // (require_admission uses the wall clock; the first fan's record was reclaimed.)
    assert!(
        queue::require_admission(&state, fan.id, event_id)
            .await
            .is_err()
    );
    queue::require_admission(&state, other.id, event_id)
        .await
        .unwrap();
}

#[tokio::test]
async fn admins_pause_resume_clear_and_edit_settings_live_and_fans_may_not() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    let event_id = event(&pool, -3600).await;

    let res = app
        .client
        .get(app.url(&format!("/api/queue/admin/{event_id}/settings")))
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let defaults: Value = app
        .client
        .get(app.url(&format!("/api/queue/admin/{event_id}/settings")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // No settings stored: the queue is on at the process defaults, and the answer says so.
    assert_eq!(defaults["enabled"], true);
    assert_eq!(defaults["isDefault"], true);
    assert_eq!(defaults["threshold"], app.infra.config.queue.threshold);
    assert_eq!(defaults["tickMs"], app.infra.config.queue.tick_ms);

    let bad = app
        .client
        .put(app.url(&format!("/api/queue/admin/{event_id}/settings")))
        .bearer_auth(&admin)
        .json(&json!({"tickMs": 5, "idleGraceSec": 5, "mode": "fifo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["code"], "validation_failed");
    assert!(bad["fields"]["tickMs"].is_string() && bad["fields"]["idleGraceSec"].is_string());
    let s = put_settings(
        &app,
        &admin,
        event_id,
        json!({"threshold": 2, "admitPerTick": 1, "tickMs": 500, "admissionTtlSec": 120,
               "idleGraceSec": 30, "mode": "fifo", "failOpen": false}),
    )
    .await;
    assert_eq!(s["enabled"], true);
    assert_eq!(s["isDefault"], false);
    assert_eq!(s["threshold"], 2);
    assert_eq!(s["admitPerTick"], 1);
    assert_eq!(s["tickMs"], 500);

    let post = |path: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.client
                .post(app.url(&path))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        post(format!("/api/queue/admin/pause/{event_id}"))
            .await
            .status(),
        200
    );
    // Paused: even the first fan queues instead of walking in.
    let (_, body) = join(&app, &fan, event_id).await;
    assert_eq!(body["queued"], true);
    let state = AppState::new(app.infra.clone());
    let t = tick_of(&state, queue::now_ms(), event_id).await;
    assert!(t.admitted.is_empty());
    assert_eq!(
        post(format!("/api/queue/admin/resume/{event_id}"))
            .await
            .status(),
        200
    );
    let t = tick_of(&state, queue::now_ms(), event_id).await;
    assert_eq!(t.admitted.len(), 1);

    let (_, other) = tokens.fan();
    let (_, third) = tokens.fan();
    join(&app, &other, event_id).await;
    join(&app, &third, event_id).await;
    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(view["currentUsers"], 2);
    assert_eq!(view["queueSize"], 1);

    let cleared = post(format!("/api/queue/admin/clear/{event_id}")).await;
    assert_eq!(cleared.status(), 200);
    let body: Value = cleared.json().await.unwrap();
    assert_eq!(body["removed"]["waiting"], 1);
    assert_eq!(body["removed"]["active"], 2);
    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(view["currentUsers"], 0);
    assert_eq!(view["queueSize"], 0);

    let missing = Uuid::new_v4();
    let (status, body) = join(&app, &fan, missing).await;
    assert_eq!(status, 404, "{body}");
    let res = app
        .client
        .post(app.url("/api/queue/check/not-a-uuid"))
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn silent_waiting_fans_are_dropped_after_idle_grace_and_a_heartbeat_keeps_the_place() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, admin, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 1, "admissionTtlSec": 86400, "idleGraceSec": 10}),
    )
    .await;
    let fans: Vec<_> = (0..5).map(|_| tokens.fan()).collect();
    let before = queue::now_ms();
    for (_, token) in &fans {
        assert_eq!(join(&app, token, event_id).await.0, 200);
    }
    let after = queue::now_ms();
    let state = AppState::new(app.infra.clone());

    // Within the grace nobody is dropped (the slot is taken, so nobody is admitted either).
    let t = tick_of(&state, before + 9_000, event_id).await;
    assert_eq!((t.abandoned, t.waiting), (0, 4));

    // Fan 3 shows a sign of life later than everyone's join; the others stay silent.
    while queue::now_ms() <= after {
        tokio::task::yield_now().await;
    }
    let res = app
        .client
        .post(app.url(&format!("/api/queue/heartbeat/{event_id}")))
        .bearer_auth(&fans[3].1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t = tick_of(&state, after + 10_001, event_id).await;
    assert_eq!(t.abandoned, 3, "the silent fans are dropped");
    assert_eq!(t.waiting, 1);
    let (_, body) = join(&app, &fans[3].1, event_id).await;
    assert_eq!(body["position"], 1, "{body}");
    assert_eq!(body["queueSize"], 1);
    // A dropped fan who comes back queues again, at the tail.
    let (_, body) = join(&app, &fans[1].1, event_id).await;
    assert_eq!(body["position"], 2, "{body}");
    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(view["totals"]["abandoned"], 3);
}

#[tokio::test]
async fn replicas_whose_clocks_disagree_neither_admit_past_the_threshold_nor_cut_admissions_short()
{
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, _, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 2, "admissionTtlSec": 30, "idleGraceSec": 3600}),
    )
    .await;
    let steady = AppState::new(app.infra.clone());
    // One replica's clock runs ahead by more than an admission's lifetime (to it, every
    // admission has run out), another's as far behind.
    let mut ahead = AppState::new(app.infra.clone());
    ahead.queue.clock_skew_ms = 31_000;
    let mut behind = AppState::new(app.infra.clone());
    behind.queue.clock_skew_ms = -31_000;
    let fans: Vec<_> = (0..4).map(|_| tokens.fan().0).collect();

    for fan in &fans[..2] {
        let joined = queue::join(&steady, fan.id, event_id).await.unwrap();
        assert!(matches!(joined.standing, queue::Standing::Active { .. }));
    }
    // Two of two slots are taken: the replica ahead must not count them as run out.
    let third = queue::join(&ahead, fans[2].id, event_id).await.unwrap();
    assert_eq!(
        third.standing,
        queue::Standing::Queued { position: 1 },
        "a replica whose clock runs ahead admitted past the threshold"
    );
    let fourth = queue::join(&behind, fans[3].id, event_id).await.unwrap();
    assert_eq!(fourth.standing, queue::Standing::Queued { position: 2 });
    let report = queue::status(&steady, fans[0].id, event_id, false)
        .await
        .unwrap();
    assert_eq!(report.current_users, 2);

    // On another event, the replica behind admits a fan: the admission lasts its 30 s on every
    // replica.
    let (_, _, other) = on_sale_queue(
        &app,
        json!({"threshold": 2, "admissionTtlSec": 30, "idleGraceSec": 3600}),
    )
    .await;
    let first = queue::join(&behind, fans[0].id, other).await.unwrap();
    assert!(matches!(first.standing, queue::Standing::Active { .. }));
    queue::require_admission(&steady, fans[0].id, other)
        .await
        .expect("an admission granted by a replica whose clock is behind is cut short");
}

#[tokio::test]
async fn switching_a_scheduled_event_to_fifo_before_the_draw_puts_the_pre_queue_first() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (_, admin) = app.tokens().admin();
    let (event_id, fans) = pre_queued(&app, 2, 3).await;
    put_settings(&app, &admin, event_id, json!({"mode": "fifo"})).await;

    // A newcomer after the switch joins behind the pre-queued fans, not ahead of them.
    let (_, newcomer_token) = app.tokens().fan();
    let (status, body) = join(&app, &newcomer_token, event_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["queued"].as_bool(), body["position"].as_u64()),
        (Some(true), Some(4)),
        "a newcomer was let in ahead of the pre-queue: {body}"
    );
    // The pre-queued fans stand in line in arrival order, no longer in a pre-queue.
    for (i, (_, token)) in fans.iter().enumerate() {
        let (_, body) = join(&app, token, event_id).await;
        assert_ne!(body["preQueue"], true, "{body}");
        assert_eq!(body["position"].as_u64(), Some(i as u64 + 1), "{body}");
    }
    let state = AppState::new(app.infra.clone());
    // Nobody is admitted before sale start (an hour away), in FIFO mode as well; at the start
    // the pre-queued fans go first.
    let t = tick_of(&state, queue::now_ms(), event_id).await;
    assert!(t.admitted.is_empty(), "admitted before sale start: {t:?}");
    let t = tick_of(&state, queue::now_ms() + 3_601_000, event_id).await;
    assert_eq!(t.admitted, vec![fans[0].0.id, fans[1].0.id]);
    let (_, body) = join(&app, &newcomer_token, event_id).await;
    assert_eq!(body["position"].as_u64(), Some(2), "{body}");
}

#[tokio::test]
async fn after_a_switch_to_fifo_the_processor_admits_the_pre_queue_even_if_nobody_else_joins() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (_, admin) = app.tokens().admin();
    let (event_id, fans) = pre_queued(&app, 2, 3).await;
    put_settings(&app, &admin, event_id, json!({"mode": "fifo"})).await;
    let state = AppState::new(app.infra.clone());
    // At sale start (an hour away; nobody is admitted before it).
    let t = tick_of(&state, queue::now_ms() + 3_601_000, event_id).await;
    assert_eq!(
        t.admitted,
        vec![fans[0].0.id, fans[1].0.id],
        "the pre-queue is stranded after the switch to FIFO"
    );
    assert_eq!(t.waiting, 1);
    let (_, body) = join(&app, &fans[2].1, event_id).await;
    assert_ne!(body["preQueue"], true, "{body}");
    assert_eq!(body["position"].as_u64(), Some(1), "{body}");
}
