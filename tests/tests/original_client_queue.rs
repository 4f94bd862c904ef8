//! API.md, section "What the original clients rely on": the waiting room and Socket.IO as the
//! original Node.js Tiketi's clients use them (its React client's `useSocket.js` and
//! `WaitingRoomModal.js`, its `scripts/queue-load-test.js`), against the harness server.
//!
//! - Bullet "Queue on by default": every event has a waiting room at `QUEUE_THRESHOLD` unless
//!   an admin turns it off.
//! - Bullet "Socket.IO": `join-*` accept `{eventId}` or a bare id string; `ticket-updated`
//!   carries `availableQuantity`; `queue-updated` not so often that each waiting original client
//!   polls `/queue/status` every second.
//! - The original load script's protocol end to end (`tests/socketio/original_load.mjs`, with
//!   the official `socket.io-client` and `axios`): 200 fans at the default threshold, and at a
//!   threshold of 50 set by an admin so places in line are really handed out.

mod inventory_common;
mod queue_common;

use std::collections::BTreeSet;
use std::time::Duration;

use queue_common::*;
use reqwest::Method;
use serde_json::{Value, json};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// `GET /api/queue/admin/:eventId/settings` as an admin.
async fn settings_of(app: &TestApp, admin: &str, event_id: Uuid) -> Value {
    let (status, body) = app
        .send(
            Method::GET,
            &format!("/api/queue/admin/{event_id}/settings"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Bullet "Queue on by default": an event nobody configured has a waiting room at the process
/// defaults (`QUEUE_THRESHOLD`, here 2, and `QUEUE_PROCESSOR_INTERVAL`), exactly like an event
/// whose settings row holds the defaults; holding seats needs the admission; below the
/// threshold a join admits at once (as the original), above it the fan waits and the processor
/// admits it when a slot frees; an admin turns the queue off with `enabled: false`.
#[tokio::test]
async fn queue_on_by_default_every_event_has_a_waiting_room_at_the_default_threshold() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(
        pool.clone(),
        &[
            ("QUEUE_THRESHOLD", "2"),
            ("QUEUE_PROCESSOR_INTERVAL", "100"),
        ],
    )
    .await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let unset = event(&pool, -3600).await;
    let seats = inventory_common::seats(&pool, unset, 4).await;

    // The settings say the queue is on, at the defaults, and that they are the defaults.
    let s = settings_of(&app, &admin, unset).await;
    assert_eq!(s["enabled"], true, "{s}");
    assert_eq!(s["isDefault"], true, "{s}");
    assert_eq!(s["threshold"], 2, "{s}");
    assert_eq!(s["tickMs"], 100, "{s}");
    assert_eq!(s["mode"], "fifo", "{s}");
    assert_eq!(s["failOpen"], false, "{s}");

    // An event whose row holds the defaults (an admin saved the form unchanged) reads the same.
    let saved = event(&pool, -3600).await;
    put_settings(&app, &admin, saved, json!({})).await;
    let mut a = s.clone();
    let mut b = settings_of(&app, &admin, saved).await;
    assert_eq!(b["isDefault"], false, "{b}");
    for v in [&mut a, &mut b] {
        let o = v.as_object_mut().unwrap();
        for k in ["eventId", "isDefault", "saleStart"] {
            o.remove(k);
        }
    }
    assert_eq!(a, b, "no row and a row of defaults differ");

    // Holding a seat without joining is refused: the queue protects the sale.
    let (_, first) = tokens.fan();
    let held = inventory_common::hold(&app, &first, unset, &seats[..1]).await;
    assert_eq!(held.status(), 403);
    let body: Value = held.json().await.unwrap();
    assert_eq!(body["code"], "not_admitted", "{body}");

    // Below the threshold a join admits at once; the fields the original reads are there.
    let (status, body) = join(&app, &first, unset).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["queued"], false, "{body}");
    assert_eq!(body["threshold"], 2, "{body}");
    assert_eq!(body["currentUsers"], 1, "{body}");
    assert_eq!(body["queueEnabled"], true, "{body}");
    assert_eq!(body["eventInfo"]["title"], "Surge Night", "{body}");
    let held = inventory_common::hold(&app, &first, unset, &seats[..1]).await;
    assert_eq!(held.status(), 201);

    // At the threshold the next fan waits at place 1; when a slot frees the processor admits.
    let (_, second) = tokens.fan();
    assert_eq!(join(&app, &second, unset).await.1["queued"], false);
    let (_, third) = tokens.fan();
    let (_, body) = join(&app, &third, unset).await;
    assert_eq!(body["queued"], true, "{body}");
    assert_eq!(body["position"], 1, "{body}");
    let (_, status) = app
        .send(
            Method::GET,
            &format!("/api/queue/status/{unset}"),
            Some(&third),
            None,
        )
        .await;
    assert_eq!(status["status"], "queued", "{status}");
    let mut client = SocketClient::start(&app, &third, unset, "queue-entry-allowed").await;
    // Connected and in the queue room before a slot frees.
    let place = client.event("queue-position").await.expect("a place");
    assert_eq!(place["position"], 1);
    let (left, _) = app
        .send(
            Method::POST,
            &format!("/api/queue/leave/{unset}"),
            Some(&second),
            None,
        )
        .await;
    assert_eq!(left, 200);
    let allowed = client
        .event("queue-entry-allowed")
        .await
        .expect("the processor admits the waiting fan of an event without settings");
    assert_eq!(allowed["eventId"], unset.to_string());
    let (_, status) = app
        .send(
            Method::GET,
            &format!("/api/queue/status/{unset}"),
            Some(&third),
            None,
        )
        .await;
    assert_eq!(status["status"], "active", "{status}");

    // An admin turns it off: anyone may hold without joining, and joins say so.
    let off = settings_of(&app, &admin, unset).await;
    assert_eq!(off["enabled"], true);
    let s = put_settings(&app, &admin, unset, json!({"enabled": false})).await;
    assert_eq!(s["enabled"], false, "{s}");
    assert_eq!(s["isDefault"], false, "{s}");
    let (_, fourth) = tokens.fan();
    let held = inventory_common::hold(&app, &fourth, unset, &seats[1..2]).await;
    assert_eq!(held.status(), 201);
    let (_, body) = join(&app, &fourth, unset).await;
    assert_eq!(body["queued"], false, "{body}");
    assert_eq!(body["queueEnabled"], false, "{body}");
}

/// Runs `tests/socketio/original_load.mjs` against `app` and answers its summary. Bounded: the
/// script ends at `timeout` and is killed a minute after that.
async fn original_load(
    app: &TestApp,
    event_id: Uuid,
    users: usize,
    leave: bool,
    timeout: Duration,
) -> Value {
    let root = tiketi_tests::workspace_root();
    assert!(
        root.join("tests/node_modules/axios").exists()
            && root.join("tests/node_modules/socket.io-client").exists(),
        "axios and socket.io-client are not installed: run `npm ci --prefix tests` (scripts/test.sh does)"
    );
    let opts = json!({
        "apiUrl": app.url(""),
        "socketUrl": app.url(""),
        "eventId": event_id,
        "users": users,
        "emailPrefix": format!("loadtest-{}-", Uuid::new_v4().simple()),
        "leave": leave,
        "timeoutMs": timeout.as_millis() as u64,
        "concurrency": 8,
    });
    let run = tokio::process::Command::new("node")
        .arg(root.join("tests/socketio/original_load.mjs"))
        .arg(opts.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout + Duration::from_secs(60), run)
        .await
        .expect("the load script ended")
        .expect("node runs the load script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "summary");
    summary.unwrap_or_else(|| {
        panic!(
            "no summary; stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The gaps, in ms, between consecutive `queue-updated` one socket heard.
fn update_gaps(summary: &Value) -> Vec<i64> {
    let mut gaps = Vec::new();
    for times in summary["updates"].as_object().unwrap().values() {
        let times: Vec<i64> = times
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_i64().unwrap())
            .collect();
        gaps.extend(times.windows(2).map(|w| w[1] - w[0]));
    }
    gaps
}

/// The original load script's protocol (register, login, `POST /api/queue/check/:id`, socket
/// `join-queue`, `queue-entry-allowed`, `queue-updated`, `GET /api/queue/status/:id`) with 200
/// fans from one address (the `LOAD_TEST=1` profile's limits) on an event nobody configured:
/// the default threshold (1000) admits all 200 at once, with 0 errors.
#[tokio::test]
async fn the_original_load_script_protocol_with_200_fans_at_the_default_threshold_has_no_errors() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("LOAD_TEST", "1")]).await;
    assert!(
        app.infra.config.load_test,
        "{:?}",
        app.infra.config.login_limits
    );
    assert!(
        app.infra.config.login_limits.per_ip_per_minute > 1000,
        "{:?}",
        app.infra.config.login_limits
    );
    let event_id = event(&pool, -3600).await;
    let summary = original_load(&app, event_id, 200, false, Duration::from_secs(120)).await;
    assert_eq!(summary["errors"], json!([]), "{summary}");
    assert_eq!(summary["ready"], 200, "{summary}");
    assert_eq!(summary["joins"], 200, "{summary}");
    assert_eq!(summary["timedOut"], false, "{summary}");
    assert_eq!(summary["thresholds"], json!([1000]), "{summary}");
    // 200 < 1000: everyone is admitted at once, as the original did below its threshold.
    assert_eq!(summary["allowedImmediately"], 200, "{summary}");
    assert_eq!(summary["queued"], 0, "{summary}");
    assert_eq!(summary["notAdmitted"], json!([]), "{summary}");
    // Positions are distinct (none was handed out), and nobody was told twice.
    let positions: Vec<u64> = serde_json::from_value(summary["positions"].clone()).unwrap();
    assert_eq!(
        positions.iter().collect::<BTreeSet<_>>().len(),
        positions.len()
    );
    assert_eq!(summary["told"], json!({}), "{summary}");
    assert_eq!(summary["sample"]["status"], "active", "{summary}");
    // The waiting room counts all 200 as shopping.
    let (_, admin) = app.tokens().admin();
    assert_eq!(
        admin_view(&app, &admin, event_id).await["currentUsers"],
        200
    );
}

/// The same protocol with a threshold of 50 set by an admin: 50 fans are admitted at once, the
/// other 150 wait at the distinct places 1..=150, and as admitted fans leave
/// (`POST /api/queue/leave/:id`, as the original's dynamic test does) every waiting fan is told
/// `queue-entry-allowed` exactly once, within the time bound, with 0 errors; `queue-updated`
/// reaches each socket at most once per 5 s.
#[tokio::test]
async fn the_original_load_script_protocol_at_a_threshold_of_50_hands_out_distinct_places_and_admits_each_fan_once()
 {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("LOAD_TEST", "1")]).await;
    let (_, admin) = app.tokens().admin();
    let event_id = event(&pool, -3600).await;
    put_settings(&app, &admin, event_id, json!({"threshold": 50})).await;
    let summary = original_load(&app, event_id, 200, true, Duration::from_secs(90)).await;
    assert_eq!(summary["errors"], json!([]), "{summary}");
    assert_eq!(summary["ready"], 200, "{summary}");
    assert_eq!(summary["joins"], 200, "{summary}");
    assert_eq!(summary["timedOut"], false, "{summary}");
    assert_eq!(summary["notAdmitted"], json!([]), "{summary}");
    assert_eq!(summary["thresholds"], json!([50]), "{summary}");
    assert_eq!(summary["allowedImmediately"], 50, "{summary}");
    assert_eq!(summary["queued"], 150, "{summary}");
    let mut positions: Vec<u64> = serde_json::from_value(summary["positions"].clone()).unwrap();
    positions.sort_unstable();
    assert_eq!(
        positions,
        (1..=150).collect::<Vec<u64>>(),
        "every waiting fan has its own place"
    );
    // Each waiting fan was told once; nobody admitted at once was told.
    let told = summary["told"].as_object().unwrap();
    let queued: BTreeSet<String> = summary["queuedFans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        told.keys().cloned().collect::<BTreeSet<_>>(),
        queued,
        "{summary}"
    );
    assert!(told.values().all(|n| n == 1), "told twice: {summary}");
    for gap in update_gaps(&summary) {
        assert!(gap >= 4000, "queue-updated {gap} ms apart: {summary}");
    }
}

/// Runs `tests/socketio/joins.mjs` as the fan holding `token`, sending `joins` as bare ids, and
/// keeps it listening for `linger`; answers its output lines as they come.
fn joins_client(
    app: &TestApp,
    token: &str,
    joins: &[(&str, Uuid)],
    linger: Duration,
) -> (
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    tokio::process::Child,
) {
    use tokio::io::AsyncBufReadExt;
    let list: Vec<_> = joins.iter().map(|(e, id)| json!([e, id, true])).collect();
    let mut child = tokio::process::Command::new("node")
        .arg(tiketi_tests::workspace_root().join("tests/socketio/joins.mjs"))
        .args([
            app.url("").trim_end_matches('/'),
            token,
            &serde_json::to_string(&list).unwrap(),
            &linger.as_millis().to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the client");
    let stdout = child.stdout.take().unwrap();
    (tokio::io::BufReader::new(stdout).lines(), child)
}

/// Bullet "Socket.IO": `join-event`, `join-queue` and `join-seat-selection` sent with the bare
/// id string are accepted (ack `{ok: true}` and `room-info {eventId, userCount}`), and the event
/// room then hears `ticket-updated` with `availableQuantity` (camelCase, the name the original
/// client reads) when a fan reserves general-admission tickets.
#[tokio::test]
async fn bare_id_joins_are_accepted_and_ticket_updated_carries_available_quantity() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let tokens = app.tokens();
    let event_id = event(&pool, -3600).await;
    let standing = inventory_common::ticket_type(&pool, event_id, 10, 50_000).await;
    let (_, watcher) = tokens.fan();
    let (mut lines, _child) = joins_client(
        &app,
        &watcher,
        &[
            ("join-event", event_id),
            ("join-queue", event_id),
            ("join-seat-selection", event_id),
        ],
        Duration::from_secs(20),
    );
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["type"] == "joined" || v["type"] == "done" {
            break;
        }
        seen.push(v);
    }
    let acks: Vec<&Value> = seen.iter().filter(|l| l["type"] == "ack").collect();
    assert_eq!(acks.len(), 3, "{seen:?}");
    for ack in &acks {
        assert_eq!(ack["data"]["ok"], true, "{ack}");
        assert_eq!(ack["data"]["eventId"], event_id.to_string(), "{ack}");
    }
    let infos: Vec<&Value> = seen
        .iter()
        .filter(|l| l["type"] == "event" && l["event"] == "room-info")
        .collect();
    assert_eq!(infos.len(), 3, "{seen:?}");
    assert!(
        infos
            .iter()
            .all(|i| i["data"]["eventId"] == event_id.to_string()
                && i["data"]["userCount"].as_u64() >= Some(1))
    );

    // A buyer joins (admitted at once: the queue is on, below its threshold) and reserves two.
    let (_, buyer) = tokens.fan();
    assert_eq!(join(&app, &buyer, event_id).await.1["queued"], false);
    let reserved = inventory_common::reserve(&app, &buyer, event_id, standing, 2).await;
    assert_eq!(reserved.status(), 201);
    let update = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("ticket-updated before the client ended");
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["type"] == "event" && v["event"] == "ticket-updated" {
            break v["data"].clone();
        }
    };
    assert_eq!(update["eventId"], event_id.to_string(), "{update}");
    assert_eq!(update["ticketTypeId"], standing.to_string(), "{update}");
    assert_eq!(update["availableQuantity"], 8, "{update}");
}

/// Bullet "Socket.IO", `queue-updated`: the original client re-fetches `/queue/status` on each
/// one, so it goes to the queue room only when its values change and at most once every 5 s,
/// not every tick. Over 11 s of a 100 ms tick with a fan joining every 300 ms (the queue's size
/// changes nearly every tick), the waiting fan's socket hears at most three, each with the
/// original's fields, while its own `queue-position` (our clients' feed) still comes each tick.
#[tokio::test]
async fn queue_updated_comes_when_its_values_change_and_at_most_every_five_seconds() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let (tokens, _admin, event_id) =
        on_sale_queue(&app, json!({"threshold": 1, "tickMs": 100})).await;
    let (_, holder) = tokens.fan();
    assert_eq!(join(&app, &holder, event_id).await.1["queued"], false);
    let (_, waiting) = tokens.fan();
    assert_eq!(join(&app, &waiting, event_id).await.1["position"], 1);
    let mut client = SocketClient::start(&app, &waiting, event_id, "never").await;
    client
        .event("queue-position")
        .await
        .expect("the waiting fan hears its place");
    let started = std::time::Instant::now();
    let mut arrivals = tokio::time::interval(Duration::from_millis(300));
    while started.elapsed() < Duration::from_secs(11) {
        arrivals.tick().await;
        let (_, fan) = tokens.fan();
        let (status, body) = join(&app, &fan, event_id).await;
        assert_eq!(status, 200, "{body}");
    }
    // The client ends by itself 30 s after it started.
    let mut updates = Vec::new();
    let mut positions = 0;
    while let Some(v) = client.until(|v| v["type"] == "event").await {
        match v["event"].as_str() {
            Some("queue-updated") => updates.push(v),
            Some("queue-position") => positions += 1,
            _ => {}
        }
    }
    assert!(!updates.is_empty(), "no queue-updated at all");
    for u in &updates {
        let d = &u["data"];
        assert_eq!(d["eventId"], event_id.to_string(), "{d}");
        assert_eq!(d["threshold"], 1, "{d}");
        assert_eq!(d["currentUsers"], 1, "{d}");
        assert!(d["queueSize"].as_u64() >= Some(1), "{d}");
    }
    // ~30 s of listening, values changing for the first 11: at most one per 5 s while they
    // change, none once they stop, and never two with the same values in a row.
    assert!(
        updates.len() <= 4,
        "{} queue-updated: {updates:?}",
        updates.len()
    );
    for pair in updates.windows(2) {
        let gap = pair[1]["at"].as_i64().unwrap() - pair[0]["at"].as_i64().unwrap();
        assert!(gap >= 4000, "queue-updated {gap} ms apart");
        assert_ne!(pair[0]["data"], pair[1]["data"], "the same summary twice");
    }
    assert!(
        positions >= 20,
        "queue-position is still per tick: {positions}"
    );
}
