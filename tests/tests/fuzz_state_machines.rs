//! Property tests: random sequences of operations on the waiting room and on seat holds, run
//! against the real server, Redis and Postgres, each step compared with a small model of what
//! must happen. proptest shrinks a failing sequence to a minimal one.
//!
//! The queue model: one FIFO line, a set of admitted fans capped by the threshold; a join admits
//! at once only when nobody waits, a slot is free and admissions are not paused; a re-join keeps
//! the place; leaving frees a slot or a place at once; a tick admits from the head in order.
//! The hold model: each seat is available or held by one reservation; a hold is all or nothing;
//! a fan holds at most `MAX_SEATS_PER_FAN` seats across pending reservations; cancel and expiry
//! give the seats back.

mod inventory_common;
mod queue_common;

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use reqwest::Method;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use tiketi_ticket::AppState;
use tiketi_ticket::queue;
use tiketi_ticket::workers::queue_processor::tick_event;
use uuid::Uuid;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

const FANS: usize = 6;

#[derive(Debug, Clone)]
enum QueueOp {
    Join(usize),
    Leave(usize),
    Status(usize),
    Tick,
    Pause(bool),
}

fn queue_op() -> impl Strategy<Value = QueueOp> {
    prop_oneof![
        5 => (0..FANS).prop_map(QueueOp::Join),
        2 => (0..FANS).prop_map(QueueOp::Leave),
        2 => (0..FANS).prop_map(QueueOp::Status),
        3 => Just(QueueOp::Tick),
        1 => any::<bool>().prop_map(QueueOp::Pause),
    ]
}

#[derive(Debug, Default)]
struct QueueModel {
    threshold: usize,
    per_tick: Option<usize>,
    line: Vec<usize>,
    active: HashSet<usize>,
    paused: bool,
}

impl QueueModel {
    fn position(&self, fan: usize) -> Option<u64> {
        self.line
            .iter()
            .position(|f| *f == fan)
            .map(|i| i as u64 + 1)
    }
}

/// `(queued, position)` of a join or status answer.
fn standing(body: &Value) -> (bool, Option<u64>) {
    (
        body["queued"].as_bool().unwrap_or(false),
        body["position"].as_u64().filter(|p| *p > 0),
    )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        max_shrink_iters: 200,
        // The minimal failing sequence is printed; nothing is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn the_waiting_room_follows_its_model() {
    let rt = runtime();
    let db = rt.block_on(test_db());
    let app = rt.block_on(TestApp::spawn_with(
        db.pool.clone(),
        &[queue_common::MANUAL_TICKS],
    ));
    let strategy = (
        1usize..4,
        proptest::option::of(1usize..3),
        proptest::collection::vec(queue_op(), 1..40),
    );
    let result = TestRunner::new(config()).run(&strategy, |(threshold, per_tick, ops)| {
        rt.block_on(run_queue_case(&app, threshold, per_tick, ops))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn run_queue_case(
    app: &TestApp,
    threshold: usize,
    per_tick: Option<usize>,
    ops: Vec<QueueOp>,
) -> Result<(), TestCaseError> {
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let pool = app.infra.db.clone();
    let event_id = queue_common::event(&pool, -3600).await;
    queue_common::put_settings(
        app,
        &admin,
        event_id,
        json!({
            "threshold": threshold,
            "admitPerTick": per_tick,
            "admissionTtlSec": 86400,
            "idleGraceSec": 86400,
        }),
    )
    .await;
    let fans: Vec<(Uuid, String)> = (0..FANS)
        .map(|_| {
            let (user, token) = tokens.fan();
            (user.id, token)
        })
        .collect();
    let index: HashMap<Uuid, usize> = fans.iter().enumerate().map(|(i, f)| (f.0, i)).collect();
    let state = AppState::new(app.infra.clone());
    let mut model = QueueModel {
        threshold,
        per_tick,
        ..QueueModel::default()
    };
    for op in ops {
        match op {
            QueueOp::Join(f) => {
                let (status, body) = queue_common::join(app, &fans[f].1, event_id).await;
                prop_assert_eq!(status, 200, "{}", body);
                let expected = if model.active.contains(&f) {
                    (false, None)
                } else if let Some(p) = model.position(f) {
                    (true, Some(p))
                } else if model.line.is_empty()
                    && model.active.len() < model.threshold
                    && !model.paused
                {
                    model.active.insert(f);
                    (false, None)
                } else {
                    model.line.push(f);
                    (true, Some(model.line.len() as u64))
                };
                prop_assert_eq!(standing(&body), expected, "join of fan {}: {}", f, body);
                prop_assert_eq!(
                    body["currentUsers"].as_u64(),
                    Some(model.active.len() as u64)
                );
            }
            QueueOp::Leave(f) => {
                let was = queue::leave(&state, fans[f].0, event_id)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let expected = if model.active.remove(&f) {
                    "active"
                } else if let Some(p) = model.position(f) {
                    model.line.remove(p as usize - 1);
                    "queued"
                } else {
                    "none"
                };
                prop_assert_eq!(was, expected, "leave of fan {}", f);
            }
            QueueOp::Status(f) => {
                let (status, body) = app
                    .send(
                        Method::GET,
                        &format!("/api/queue/status/{event_id}"),
                        Some(&fans[f].1),
                        None,
                    )
                    .await;
                prop_assert_eq!(status.as_u16(), 200, "{}", body);
                let position = body["position"].as_u64().filter(|p| *p > 0);
                prop_assert_eq!(position, model.position(f), "status of fan {}: {}", f, body);
                let size = model.position(f).map(|_| model.line.len() as u64);
                prop_assert_eq!(body["queueSize"].as_u64(), size, "{}", body);
                prop_assert_eq!(body["queued"].as_bool(), Some(size.is_some()), "{}", body);
                prop_assert_eq!(
                    body["currentUsers"].as_u64(),
                    Some(model.active.len() as u64)
                );
                if model.active.contains(&f) {
                    prop_assert_eq!(body["status"].as_str(), Some("active"), "{}", body);
                }
            }
            QueueOp::Tick => {
                let done = tick_event(&state, event_id, queue::now_ms())
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let admitted: Vec<usize> = done.admitted.iter().map(|id| index[id]).collect();
                let free = model.threshold.saturating_sub(model.active.len());
                let n = if model.paused {
                    0
                } else {
                    free.min(model.per_tick.unwrap_or(usize::MAX))
                        .min(model.line.len())
                };
                let expected: Vec<usize> = model.line.drain(..n).collect();
                model.active.extend(expected.iter().copied());
                prop_assert_eq!(admitted, expected, "tick admitted the wrong fans");
                prop_assert_eq!(done.waiting, model.line.len() as u64);
                prop_assert_eq!(done.active, model.active.len() as u64);
            }
            QueueOp::Pause(paused) => {
                let path = if paused { "pause" } else { "resume" };
                let (status, body) = app
                    .send(
                        Method::POST,
                        &format!("/api/queue/admin/{path}/{event_id}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                prop_assert_eq!(status.as_u16(), 200, "{}", body);
                model.paused = paused;
            }
        }
        prop_assert!(model.active.len() <= model.threshold);
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum HoldOp {
    /// A fan holds these seats (indexes; may repeat or be many).
    Hold(usize, Vec<usize>),
    /// A fan cancels its n-th live reservation (modulo how many it has).
    Cancel(usize, usize),
    /// The clock passes every pending hold and the sweeper runs.
    ExpireAll,
}

const SEATS: usize = 8;
const HOLDERS: usize = 3;

fn hold_op() -> impl Strategy<Value = HoldOp> {
    prop_oneof![
        6 => (0..HOLDERS, proptest::collection::vec(0..SEATS, 1..6)).prop_map(|(f, s)| HoldOp::Hold(f, s)),
        3 => (0..HOLDERS, 0usize..4).prop_map(|(f, n)| HoldOp::Cancel(f, n)),
        1 => Just(HoldOp::ExpireAll),
    ]
}

#[test]
fn seat_holds_follow_their_model() {
    let rt = runtime();
    let db = rt.block_on(test_db());
    let app = rt.block_on(TestApp::spawn(db.pool.clone()));
    let strategy = proptest::collection::vec(hold_op(), 1..30);
    let result =
        TestRunner::new(config()).run(&strategy, |ops| rt.block_on(run_hold_case(&app, ops)));
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn run_hold_case(app: &TestApp, ops: Vec<HoldOp>) -> Result<(), TestCaseError> {
    let pool = app.infra.db.clone();
    let max = app.infra.config.inventory.max_seats_per_fan as usize;
    let event = inventory_common::event_on_sale(&pool).await;
    let seats = inventory_common::seats(&pool, event, SEATS as i32).await;
    let fans: Vec<String> = (0..HOLDERS).map(|_| app.tokens().fan().1).collect();
    // Model: seat -> reservation; reservation -> (fan, seats).
    let mut holder: HashMap<usize, Uuid> = HashMap::new();
    let mut live: Vec<(Uuid, usize, Vec<usize>)> = Vec::new();
    for op in ops {
        match op {
            HoldOp::Hold(f, wanted) => {
                let ids: Vec<Uuid> = wanted.iter().map(|i| seats[*i]).collect();
                let response = inventory_common::hold(app, &fans[f], event, &ids).await;
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let distinct: HashSet<usize> = wanted.iter().copied().collect();
                let held_by_fan: usize = live
                    .iter()
                    .filter(|(_, owner, _)| *owner == f)
                    .map(|(_, _, s)| s.len())
                    .sum();
                if distinct.len() != wanted.len() {
                    prop_assert_eq!(status, 400, "duplicate seats: {}", body);
                } else if held_by_fan + wanted.len() > max {
                    prop_assert!(
                        status == 409 || status == 400,
                        "over the limit got {}: {}",
                        status,
                        body
                    );
                    prop_assert_ne!(
                        body["code"].as_str(),
                        Some("seat_unavailable"),
                        "limit before availability: {}",
                        body
                    );
                } else if wanted.iter().any(|s| holder.contains_key(s)) {
                    prop_assert_eq!(status, 409, "{}", body);
                    prop_assert_eq!(body["code"].as_str(), Some("seat_unavailable"), "{}", body);
                } else {
                    prop_assert_eq!(status, 201, "{}", body);
                    let id: Uuid = body["reservation"]["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| TestCaseError::fail(format!("no reservation id: {body}")))?;
                    for s in &wanted {
                        holder.insert(*s, id);
                    }
                    live.push((id, f, wanted));
                }
            }
            HoldOp::Cancel(f, n) => {
                let mine: Vec<usize> = live
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, owner, _))| *owner == f)
                    .map(|(i, _)| i)
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let (id, _, released) = live.remove(mine[n % mine.len()]);
                let response = inventory_common::post_empty(
                    app,
                    &fans[f],
                    &format!("/api/reservations/{id}/cancel"),
                )
                .await;
                prop_assert_eq!(response.status().as_u16(), 200);
                for s in released {
                    holder.remove(&s);
                }
            }
            HoldOp::ExpireAll => {
                let later = chrono::Utc::now() + chrono::Duration::hours(1);
                let realtime = tiketi_ticket::realtime::Realtime::new();
                tiketi_ticket::workers::hold_sweeper::sweep_expired(&pool, &realtime, later)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                live.clear();
                holder.clear();
            }
        }
        // The database agrees with the model, seat by seat.
        for (i, seat) in seats.iter().enumerate() {
            let (status, by) = inventory_common::seat_state(&pool, *seat).await;
            match holder.get(&i) {
                Some(r) => {
                    prop_assert_eq!(status.as_str(), "held");
                    prop_assert_eq!(by, Some(*r));
                }
                None => prop_assert_eq!((status.as_str(), by), ("available", None)),
            }
        }
    }
    inventory_common::audit_no_double_allocation(&pool).await;
    Ok(())
}
