//! The waiting room over Socket.IO with the official clients, JavaScript (socket.io-client 4.8)
//! and Python (python-socketio 5): tokens checked at connect, rooms, live positions, a place kept
//! across a dropped socket for `idle_grace` (and lost after it), admission told to the fan
//! alone, a fan connected to one replica told of an admission decided on another (Redis
//! adapter), and clients limited to HTTP long-polling, alone and behind haproxy in front of two
//! replicas (with the ALB's stickiness cookie, which polling needs and WebSockets do not).

mod queue_common;

use queue_common::*;
use serde_json::json;
use tiketi_core::testing::test_db;
use tiketi_tests::{TestApp, tick_of};
use tiketi_ticket::AppState;
use tiketi_ticket::queue::{self, Standing};

use uuid::Uuid;

/// Where `user` stands, read without counting as a sign of life (unlike the HTTP status call).
async fn standing(state: &AppState, user: Uuid, event_id: Uuid) -> Standing {
    queue::status(state, user, event_id, false)
        .await
        .expect("queue status")
        .standing
}

#[tokio::test]
async fn a_bad_token_is_refused_at_connect() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let event_id = event(&pool, -3600).await;
    let mut client = SocketClient::start(&app, "not-a-token", event_id, "never").await;
    let first = client
        .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
        .await
        .expect("the client reports its connection");
    assert_eq!(first["type"], "connect_error", "{first}");
}

#[tokio::test]
async fn a_waiting_fan_hears_its_position_keeps_it_across_a_reconnect_then_hears_its_admission() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("QUEUE_PROCESSOR_INTERVAL", "100")]).await;
    let (tokens, _, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    assert_eq!(join(&app, &first, event_id).await.1["queued"], false);
    assert_eq!(join(&app, &second_token, event_id).await.1["position"], 1);

    let mut client =
        SocketClient::start(&app, &second_token, event_id, "queue-entry-allowed").await;
    let info = client.event("room-info").await.expect("room-info");
    assert_eq!(info["eventId"], json!(event_id));
    let position = client.event("queue-position").await.expect("a position");
    assert_eq!(position["position"], 1);
    assert_eq!(position["queueSize"], 1);
    assert!(position["estimatedWait"].as_u64().is_some());

    // The socket drops and comes back within idle_grace: the place is the fan's, not the socket's.
    drop(client);
    let mut client =
        SocketClient::start(&app, &second_token, event_id, "queue-entry-allowed").await;
    let position = client.event("queue-position").await.expect("a position");
    assert_eq!(position["position"], 1);

    // The first fan finishes: the slot frees at once and the processor admits the second.
    let res = app
        .client
        .post(app.url(&format!("/api/queue/leave/{event_id}")))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let allowed = client
        .event("queue-entry-allowed")
        .await
        .expect("told of the admission");
    assert_eq!(allowed["userId"], json!(second.id));
    assert_eq!(allowed["eventId"], json!(event_id));
}

#[tokio::test]
async fn a_fan_whose_socket_drops_keeps_its_place_among_others_within_idle_grace_and_a_silent_fan_loses_its()
 {
    let db = test_db().await;
    let pool = db.pool.clone();
    // The processor is driven by the test with a chosen clock: idle grace passes without waiting.
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let (tokens, admin, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 1, "admissionTtlSec": 86400, "idleGraceSec": 60}),
    )
    .await;
    // One fan takes the only slot for the whole test, so nobody moves up by admission; five wait.
    let fans: Vec<_> = (0..6).map(|_| tokens.fan()).collect();
    let before = queue::now_ms();
    for (i, (_, token)) in fans.iter().enumerate() {
        let (status, body) = join(&app, token, event_id).await;
        assert_eq!(status, 200, "{body}");
        match i {
            0 => assert_eq!(body["queued"], false, "{body}"),
            _ => assert_eq!(body["position"].as_u64(), Some(i as u64), "{body}"),
        }
    }
    let state = AppState::new(app.infra.clone());
    let id = |i: usize| fans[i].0.id;

    // Fan 3 watches over Socket.IO, then the socket drops (the client process is killed).
    let mut client = SocketClient::start(&app, &fans[3].1, event_id, "never").await;
    let position = client.event("queue-position").await.expect("a position");
    assert_eq!(position["position"], 3, "{position}");
    drop(client);

    // 60 s later on the processor's clock: the whole grace since the earliest join, so within
    // everyone's. Nobody is dropped, nobody moves.
    let t = tick_of(&state, before + 60_000, event_id).await;
    assert_eq!((t.abandoned, t.waiting, t.admitted.len()), (0, 5, 0));

    // Fan 3 reconnects (strictly after `mark`): the same place, behind 1 and 2, ahead of 4 and 5.
    let mark = queue::now_ms();
    while queue::now_ms() <= mark {
        tokio::task::yield_now().await;
    }
    let mut client = SocketClient::start(&app, &fans[3].1, event_id, "never").await;
    let position = client.event("queue-position").await.expect("a position");
    assert_eq!(
        (
            position["position"].as_u64(),
            position["queueSize"].as_u64()
        ),
        (Some(3), Some(5)),
        "{position}"
    );
    for i in 1..=5 {
        assert_eq!(
            standing(&state, id(i), event_id).await,
            Standing::Queued { position: i as u64 },
            "fan {i}"
        );
    }

    // Fans 1, 4 and 5 send heartbeats and fan 3's socket joined the room, all after `mark`; fan 2
    // has been silent since it joined, before `mark`. Past fan 2's grace, within the others':
    // fan 2 alone is dropped and those behind it move up by one.
    for i in [1, 4, 5] {
        let res = app
            .client
            .post(app.url(&format!("/api/queue/heartbeat/{event_id}")))
            .bearer_auth(&fans[i].1)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let t = tick_of(&state, mark + 60_001, event_id).await;
    assert_eq!((t.abandoned, t.waiting, t.admitted.len()), (1, 4, 0));
    assert_eq!(
        standing(&state, id(2), event_id).await,
        Standing::NotInQueue
    );
    for (i, position) in [(1, 1), (3, 2), (4, 3), (5, 4)] {
        assert_eq!(
            standing(&state, id(i), event_id).await,
            Standing::Queued { position },
            "fan {i}"
        );
    }
    let view = admin_view(&app, &admin, event_id).await;
    assert_eq!(view["totals"]["abandoned"], 1, "{view}");
    assert_eq!(view["queueSize"], 4, "{view}");
    drop(client);
}

#[tokio::test]
async fn a_fan_on_replica_a_is_told_of_an_admission_decided_on_replica_b() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let prefix = tiketi_core::testing::unique_redis_prefix();
    // A's processor ticks only at start-up (no queue yet); B's every 100 ms, so B admits.
    let a = TestApp::spawn_with(pool.clone(), &[("REDIS_KEY_PREFIX", &prefix), MANUAL_TICKS]).await;
    let b = TestApp::spawn_with(
        pool.clone(),
        &[
            ("REDIS_KEY_PREFIX", &prefix),
            ("QUEUE_PROCESSOR_INTERVAL", "100"),
        ],
    )
    .await;
    let tokens = a.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&pool, -3600).await;
    put_settings(
        &a,
        &admin,
        event_id,
        json!({"threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    assert_eq!(join(&a, &first, event_id).await.1["queued"], false);
    assert_eq!(join(&a, &second_token, event_id).await.1["position"], 1);

    let mut client = SocketClient::start(&a, &second_token, event_id, "queue-entry-allowed").await;
    client.event("room-info").await.expect("connected to A");
    // The first position answers join-queue on A; the next ones come from B's processor ticks,
    // through the Redis adapter, to the socket on A.
    for _ in 0..2 {
        let position = client.event("queue-position").await.expect("a position");
        assert_eq!(position["position"], 1);
    }
    // The lease (`<replica>:<fencing token>`) names B: B is the admitter, A is not.
    assert_ne!(a.replica, b.replica);
    let lease = admin_view(&a, &admin, event_id).await["lease"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        lease.split_once(':').map(|(replica, _)| replica),
        Some(b.replica.as_str()),
        "the lease {lease:?} is not B's ({}); A is {}",
        b.replica,
        a.replica
    );

    let res = a
        .client
        .post(a.url(&format!("/api/queue/leave/{event_id}")))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let allowed = client
        .event("queue-entry-allowed")
        .await
        .expect("told of the admission decided on B");
    assert_eq!(allowed["userId"], json!(second.id));
    // The admit script runs only under the exact lease value, and any other replica taking the
    // lease would have drawn a new fencing token: the same value after the admission means B,
    // and only B, decided it (the first fan was admitted at its join, the second by that tick).
    let view = admin_view(&a, &admin, event_id).await;
    assert_eq!(view["lease"], json!(lease), "the lease moved: {view}");
    assert_eq!(view["totals"]["admitted"], 2, "{view}");
    drop(b);
}

#[tokio::test]
async fn the_python_client_is_refused_a_bad_token_and_hears_its_position_then_its_admission() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("QUEUE_PROCESSOR_INTERVAL", "100")]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let event_id = event(&pool, -3600).await;

    let mut refused = SocketClient::start_python(&app, "not-a-token", event_id, "never").await;
    let first = refused
        .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
        .await
        .expect("the client reports its connection");
    assert_eq!(first["type"], "connect_error", "{first}");

    put_settings(
        &app,
        &admin,
        event_id,
        json!({"threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    assert_eq!(join(&app, &first, event_id).await.1["queued"], false);
    assert_eq!(join(&app, &second_token, event_id).await.1["position"], 1);

    let mut client =
        SocketClient::start_python(&app, &second_token, event_id, "queue-entry-allowed").await;
    let connected = client
        .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
        .await
        .expect("the client reports its connection");
    assert_eq!(connected["type"], "connect", "{connected}");
    assert!(
        connected["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("python-socketio 5.")),
        "{connected}"
    );
    let info = client.event("room-info").await.expect("room-info");
    assert_eq!(info["eventId"], json!(event_id));
    let position = client.event("queue-position").await.expect("a position");
    assert_eq!(position["position"], 1);
    assert_eq!(position["queueSize"], 1);
    assert!(position["estimatedWait"].as_u64().is_some());

    let res = app
        .client
        .post(app.url(&format!("/api/queue/leave/{event_id}")))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let allowed = client
        .event("queue-entry-allowed")
        .await
        .expect("told of the admission");
    assert_eq!(allowed["userId"], json!(second.id));
    assert_eq!(allowed["eventId"], json!(event_id));
}

/// Three fans for one place, joined on `app`: the first is admitted at its join; the second and
/// third wait at 1 and 2 and watch over HTTP long-polling only, through `url` (a server, or a
/// load balancer in front of several), the second with the JavaScript client and the third with
/// the Python one. Each hears its position, and its admission once the fan ahead leaves.
async fn polling_fans_hear_positions_and_admissions(
    app: &TestApp,
    url: &str,
    tokens: &tiketi_core::testing::TestTokens,
    event_id: uuid::Uuid,
) {
    let (_, first) = tokens.fan();
    let (second, second_token) = tokens.fan();
    let (third, third_token) = tokens.fan();
    assert_eq!(join(app, &first, event_id).await.1["queued"], false);
    assert_eq!(join(app, &second_token, event_id).await.1["position"], 1);
    assert_eq!(join(app, &third_token, event_id).await.1["position"], 2);

    let mut js = SocketClient::start_at(
        url,
        Lang::JavaScript,
        Transport::Polling,
        &second_token,
        event_id,
        "queue-entry-allowed",
    );
    let mut py = SocketClient::start_at(
        url,
        Lang::Python,
        Transport::Polling,
        &third_token,
        event_id,
        "queue-entry-allowed",
    );
    for (client, position) in [(&mut js, 1), (&mut py, 2)] {
        let connected = client
            .until(|v| v["type"] != "event")
            .await
            .expect("the client reports its connection");
        assert_eq!(connected["type"], "connect", "{connected}");
        assert_eq!(connected["transport"], "polling", "{connected}");
        let heard = client.event("queue-position").await.expect("a position");
        assert_eq!(heard["position"], position, "{heard}");
        assert_eq!(heard["queueSize"], 2, "{heard}");
        assert!(heard["estimatedWait"].as_u64().is_some(), "{heard}");
    }

    let leave = |token: String| async move {
        let res = app
            .client
            .post(app.url(&format!("/api/queue/leave/{event_id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    };
    leave(first).await;
    let allowed = js
        .event("queue-entry-allowed")
        .await
        .expect("the JavaScript polling client is told of its admission");
    assert_eq!(allowed["userId"], json!(second.id));
    // The third fan moves up, then is admitted when the second leaves.
    py.until(|v| v["event"] == "queue-position" && v["data"]["position"] == 1)
        .await
        .expect("the Python polling client hears it moved up");
    leave(second_token).await;
    let allowed = py
        .event("queue-entry-allowed")
        .await
        .expect("the Python polling client is told of its admission");
    assert_eq!(allowed["userId"], json!(third.id));
}

#[tokio::test]
async fn clients_limited_to_http_long_polling_hear_their_positions_and_admissions() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[("QUEUE_PROCESSOR_INTERVAL", "100")]).await;
    let (tokens, _, event_id) = on_sale_queue(
        &app,
        json!({"threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    polling_fans_hear_positions_and_admissions(&app, &app.url(""), &tokens, event_id).await;
}

#[tokio::test]
async fn behind_a_balancer_polling_needs_the_stickiness_cookie_and_websockets_do_not() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let prefix = tiketi_core::testing::unique_redis_prefix();
    let replica = [
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("QUEUE_PROCESSOR_INTERVAL", "100"),
    ];
    let a = TestApp::spawn_with(pool.clone(), &replica).await;
    let b = TestApp::spawn_with(pool.clone(), &replica).await;
    let (tokens, _, event_id) = on_sale_queue(
        &a,
        json!({"threshold": 1, "admissionTtlSec": 600, "idleGraceSec": 600}),
    )
    .await;
    tokens.trusted_by(&b.infra);

    // With the cookie (the ALB's `lb_cookie` stickiness), every request of a polling session
    // reaches the replica that opened it.
    let sticky = Balancer::start(&[&a, &b], true).await;
    polling_fans_hear_positions_and_admissions(&a, &sticky.url, &tokens, event_id).await;

    // Without it: a WebSocket is one connection, so it stays on one replica anyway...
    let plain = Balancer::start(&[&a, &b], false).await;
    let (_, fourth) = tokens.fan();
    assert_eq!(join(&a, &fourth, event_id).await.1["position"], 1);
    let mut ws = SocketClient::start_at(
        &plain.url,
        Lang::JavaScript,
        Transport::WebSocket,
        &fourth,
        event_id,
        "never",
    );
    let heard = ws.event("queue-position").await.expect("a position");
    assert_eq!(heard["position"], 1);
    // ...but a polling session's requests alternate between the replicas, and the one that did
    // not open the session refuses it (Engine.IO "Session ID unknown"): the client never gets
    // to hear anything.
    let mut polling = SocketClient::start_at(
        &plain.url,
        Lang::JavaScript,
        Transport::Polling,
        &fourth,
        event_id,
        "never",
    );
    let outcome = polling
        .until(|v| {
            v["type"] == "connect_error" || v["type"] == "disconnect" || v["type"] == "event"
        })
        .await
        .expect("the client reports how it ended");
    assert!(
        outcome["type"] == "connect_error" || outcome["type"] == "disconnect",
        "without stickiness a polling client still heard from the server: {outcome}"
    );
}

/// Runs `tests/socketio/joins.mjs` (socket.io-client 4.8) as the fan holding `token`: it sends
/// each `(event, eventId, bare)` (`{eventId}`, or the bare id) and waits for its
/// acknowledgement. Answers every line it printed.
async fn send_joins(
    app: &TestApp,
    token: &str,
    joins: &[(&str, Uuid, bool)],
) -> Vec<serde_json::Value> {
    let list: Vec<_> = joins
        .iter()
        .map(|(e, id, bare)| json!([e, id, bare]))
        .collect();
    let out = tokio::process::Command::new("node")
        .arg(tiketi_tests::workspace_root().join("tests/socketio/joins.mjs"))
        .args([
            app.url("").trim_end_matches('/'),
            token,
            &serde_json::to_string(&list).unwrap(),
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs the client");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("the client prints JSON"))
        .collect()
}

/// The answers to the joins, in order: each ack's data, or `null` where none came.
fn acks(lines: &[serde_json::Value]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter(|l| l["type"] == "ack" || l["type"] == "no-ack")
        .map(|l| l["data"].clone())
        .collect()
}

#[tokio::test]
async fn socket_joins_are_capped_per_socket_checked_against_known_events_and_rate_limited_per_fan()
{
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(
        pool.clone(),
        &[MANUAL_TICKS, ("SOCKET_EVENTS_PER_MINUTE", "30")],
    )
    .await;
    let mut events = Vec::new();
    for _ in 0..9 {
        events.push(event(&pool, -3600).await);
    }
    let (_, token) = app.tokens().fan();
    let unknown = Uuid::new_v4();
    let mut joins = vec![("join-queue", unknown, false)];
    joins.extend(events.iter().map(|e| ("join-queue", *e, false)));
    // Another room of an event the socket already follows is not one more event (sent as the
    // bare id, as the original client does).
    joins.push(("join-event", events[0], true));
    let lines = send_joins(&app, &token, &joins).await;
    let answers = acks(&lines);
    assert_eq!(
        answers.len(),
        joins.len(),
        "a join went unanswered: {lines:?}"
    );
    assert_eq!(answers[0]["code"], "event_not_found", "{lines:?}");
    for a in &answers[1..9] {
        assert_eq!(a["ok"], true, "{a}");
    }
    assert_eq!(answers[9]["code"], "too_many_events", "{lines:?}");
    assert_eq!(answers[10]["ok"], true, "{lines:?}");
    let refused: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "request-refused")
        .map(|l| l["data"]["code"].clone())
        .collect();
    assert_eq!(
        refused,
        vec![json!("event_not_found"), json!("too_many_events")]
    );

    // Another fan floods random ids: refused as unknown until the fan's rate is spent, then as
    // rate-limited, and a second socket of the same fan is limited too.
    let (_, flooder) = app.tokens().fan();
    let flood: Vec<_> = (0..40)
        .map(|_| ("join-queue", Uuid::new_v4(), false))
        .collect();
    let lines = send_joins(&app, &flooder, &flood).await;
    let codes: Vec<_> = acks(&lines).iter().map(|a| a["code"].clone()).collect();
    assert_eq!(codes.len(), 40, "{lines:?}");
    assert!(
        codes[..30].iter().all(|c| *c == "event_not_found"),
        "{codes:?}"
    );
    assert!(
        codes[35..].iter().all(|c| *c == "rate_limited"),
        "{codes:?}"
    );
    let lines = send_joins(&app, &flooder, &[("join-queue", events[0], false)]).await;
    assert_eq!(acks(&lines)[0]["code"], "rate_limited", "{lines:?}");
}

/// Runs `tests/socketio/tabs.mjs`: `tabs` tabs of the fan holding `token` on the original
/// client's waiting room for `seconds` seconds (a new socket per tab per second, each sending
/// `join-queue`). Answers every line it printed.
async fn churning_tabs(
    app: &TestApp,
    token: &str,
    event_id: Uuid,
    tabs: u32,
    seconds: u32,
) -> Vec<serde_json::Value> {
    let out = tokio::process::Command::new("node")
        .arg(tiketi_tests::workspace_root().join("tests/socketio/tabs.mjs"))
        .args([
            app.url("").trim_end_matches('/'),
            token,
            &event_id.to_string(),
            &tabs.to_string(),
            &seconds.to_string(),
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs the client");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("the client prints JSON"))
        .collect()
}

#[tokio::test]
async fn the_original_clients_waiting_room_churning_a_socket_a_second_in_five_tabs_is_never_refused_and_a_flood_still_is()
 {
    // The allowance scaled down (30 a minute, a quarter of the default) so the run is short:
    // before the fix, five tabs at one join a second spent it in under 7 s.
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(
        pool.clone(),
        &[MANUAL_TICKS, ("SOCKET_EVENTS_PER_MINUTE", "30")],
    )
    .await;
    let event_id = event(&pool, -3600).await;
    let (_, token) = app.tokens().fan();
    let lines = churning_tabs(&app, &token, event_id, 5, 10).await;
    let answers: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "ack" || l["type"] == "no-ack")
        .collect();
    assert!(
        answers.len() >= 45,
        "five tabs for 10 s made only {} joins: {lines:?}",
        answers.len()
    );
    let refused: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] != "ack" && l["type"] != "done" && l["event"] != "queue-updated")
        .collect();
    assert!(
        refused.is_empty(),
        "the original client was refused {} times: {refused:?}",
        refused.len()
    );
    assert!(
        answers.iter().all(|a| a["data"]["ok"] == true),
        "{answers:?}"
    );

    // The same fan flooding distinct ids is still refused once its allowance is spent, told
    // when to come back.
    let flood: Vec<_> = (0..60)
        .map(|_| ("join-queue", Uuid::new_v4(), false))
        .collect();
    let lines = send_joins(&app, &token, &flood).await;
    let answers = acks(&lines);
    assert_eq!(answers.len(), 60, "{lines:?}");
    let limited: Vec<_> = answers
        .iter()
        .filter(|a| a["code"] == "rate_limited")
        .collect();
    assert!(limited.len() >= 25, "{answers:?}");
    for a in &limited {
        let wait = a["retryAfterMs"].as_u64().unwrap_or(0);
        assert!((1..=60_000).contains(&wait), "{a}");
    }
    let told = lines
        .iter()
        .find(|l| l["event"] == "request-refused" && l["data"]["code"] == "rate_limited")
        .expect("request-refused for rate_limited");
    assert!(
        told["data"]["retryAfterMs"].as_u64().unwrap_or(0) > 0,
        "{told}"
    );

    // A flood of joins of the one event a fan already follows costs less each but is bounded
    // too (another fan, so the allowance is whole).
    let (_, repeater) = app.tokens().fan();
    let flood: Vec<_> = (0..400).map(|_| ("join-queue", event_id, false)).collect();
    let lines = send_joins(&app, &repeater, &flood).await;
    let answers = acks(&lines);
    assert_eq!(answers.len(), 400, "{lines:?}");
    assert_eq!(answers[0]["ok"], true, "{lines:?}");
    assert_eq!(answers[399]["code"], "rate_limited", "{lines:?}");
}

#[tokio::test]
async fn leaving_an_events_rooms_frees_its_place_among_the_events_a_socket_may_follow() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(pool.clone(), &[MANUAL_TICKS]).await;
    let mut events = Vec::new();
    for _ in 0..10 {
        events.push(event(&pool, -3600).await);
    }
    let (_, token) = app.tokens().fan();
    // One socket opens the event page, the seat map and the queue of eight events, leaving
    // each afterwards, then the ninth and tenth.
    let mut joins = Vec::new();
    for e in &events[..8] {
        for room in ["event", "seat-selection", "queue"] {
            joins.push((
                match room {
                    "event" => "join-event",
                    "seat-selection" => "join-seat-selection",
                    _ => "join-queue",
                },
                *e,
                false,
            ));
        }
        joins.push(("leave-event", *e, false));
        joins.push(("leave-seat-selection", *e, false));
        joins.push(("leave-queue", *e, false));
    }
    joins.push(("join-queue", events[8], false));
    joins.push(("join-event", events[9], true));
    let lines = send_joins(&app, &token, &joins).await;
    let answers = acks(&lines);
    assert_eq!(answers.len(), joins.len(), "{lines:?}");
    for (a, j) in answers.iter().zip(&joins) {
        assert_eq!(a["ok"], true, "{j:?}: {a}");
    }
    assert!(
        !lines.iter().any(|l| l["event"] == "request-refused"),
        "{lines:?}"
    );

    // Leaving one room kind of an event leaves the others: the place frees when the socket is
    // in none of the event's rooms, and the refusal says how to free one.
    let mut joins: Vec<_> = events[..8]
        .iter()
        .flat_map(|e| [("join-event", *e, false), ("join-queue", *e, false)])
        .collect();
    joins.push(("leave-event", events[0], false));
    joins.push(("join-queue", events[8], false));
    joins.push(("leave-queue", events[0], false));
    joins.push(("join-queue", events[8], false));
    let lines = send_joins(&app, &token, &joins).await;
    let answers = acks(&lines);
    assert_eq!(answers.len(), joins.len(), "{lines:?}");
    assert!(answers[..17].iter().all(|a| a["ok"] == true), "{answers:?}");
    assert_eq!(answers[17]["code"], "too_many_events", "{answers:?}");
    let message = answers[17]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("leave-queue") && message.contains("leave-event"),
        "{message}"
    );
    assert_eq!(answers[18]["ok"], true, "{answers:?}");
    assert_eq!(answers[19]["ok"], true, "{answers:?}");
}

#[tokio::test]
async fn a_fans_concurrent_sockets_are_capped_per_process_and_a_closed_one_frees_its_place_at_once()
{
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn_with(
        pool.clone(),
        &[MANUAL_TICKS, ("SOCKET_MAX_CONNECTIONS_PER_USER", "3")],
    )
    .await;
    let event_id = event(&pool, -3600).await;
    let (_, token) = app.tokens().fan();
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut client = SocketClient::start(&app, &token, event_id, "never").await;
        let first = client
            .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
            .await
            .expect("the client reports its connection");
        assert_eq!(first["type"], "connect", "{first}");
        open.push(client);
    }
    let mut fourth = SocketClient::start(&app, &token, event_id, "never").await;
    let refused = fourth
        .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
        .await
        .expect("the client reports its connection");
    assert_eq!(refused["type"], "connect_error", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(message.contains("too many connections"), "{message}");

    // Another fan is not affected.
    let (_, other) = app.tokens().fan();
    let mut client = SocketClient::start(&app, &other, event_id, "never").await;
    let first = client
        .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
        .await
        .expect("the client reports its connection");
    assert_eq!(first["type"], "connect", "{first}");

    // A tab closes (its client process ends, the socket closes): a new socket is let in as soon
    // as the server has seen the close.
    drop(open.pop());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut again = SocketClient::start(&app, &token, event_id, "never").await;
        let first = again
            .until(|v| v["type"] == "connect" || v["type"] == "connect_error")
            .await
            .expect("the client reports its connection");
        if first["type"] == "connect" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a closed socket still counted after 10 s: {first}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
