//! The hostile-input corpus: every route of every service (the route table of the access matrix)
//! called as an admin, so authorization is passed and parsing is what is tested, with hostile
//! path parameters, query strings and bodies: malformed JSON, wrong types, missing fields, huge
//! strings and arrays, unicode edge cases, SQL and script injection, bad UUIDs, negative and
//! overflowing numbers. Every answer must be a 4xx with a code or a success; never a 5xx; and a
//! refused request changes nothing in the database.

mod routes_common;

use reqwest::Method;
use routes_common::{LOGOUT, Row, World, person, rows};
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;

/// Strings no route should choke on.
fn hostile_strings() -> Vec<String> {
    vec![
        "not-a-uuid".into(),
        "00000000-0000-0000-0000-00000000000g".into(),
        "' OR '1'='1' --".into(),
        "1; DROP TABLE ticket.events; --".into(),
        "<script>alert(1)</script>".into(),
        "\"><img src=x onerror=alert(1)>".into(),
        "../../../../etc/passwd".into(),
        "%00%ff".into(),
        "\u{0}".into(),
        "\u{202e}gnp.exe".into(),
        "\u{1F4A5}\u{FE0F}\u{200D}".into(),
        "\u{FFFF}\u{D7FF}".into(),
        "-1".into(),
        "99999999999999999999999999".into(),
        "a".repeat(100_000),
    ]
}

/// Values of the wrong type or shape for any JSON field.
fn hostile_values() -> Vec<Value> {
    let mut values: Vec<Value> = hostile_strings().into_iter().map(Value::String).collect();
    values.extend([
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(-2147483649i64),
        json!(i64::MAX),
        json!(1e308),
        json!(0.5),
        json!([]),
        json!({}),
        json!({"$ne": null}),
        json!(vec!["00000000-0000-0000-0000-000000000000"; 10_000]),
        json!(vec![json!({"ticketTypeId": null, "quantity": -1}); 1_000]),
    ]);
    values
}

/// A fingerprint of what the services store, to show a refused request changed nothing.
async fn fingerprint(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(concat_ws('|',
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM ticket.events t),
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM ticket.seats t),
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM ticket.ticket_types t),
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM ticket.reservations t),
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM ticket.news t),
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM payment.payments t),
            (SELECT string_agg(md5(t::text), ',' ORDER BY t.id) FROM auth.users t)))",
    )
    .fetch_one(pool)
    .await
    .expect("fingerprint")
}

/// What went wrong with one call, if anything. Counts the statuses seen.
fn judge(
    seen: &mut std::collections::BTreeMap<u16, usize>,
    what: &str,
    status: reqwest::StatusCode,
    answer: &Value,
) -> Option<String> {
    *seen.entry(status.as_u16()).or_default() += 1;
    if status.is_server_error() {
        return Some(format!("{what}: {status} {answer}"));
    }
    if status.is_client_error() && !answer["code"].is_string() {
        return Some(format!("{what}: {status} without a code: {answer}"));
    }
    None
}

/// The call's path with each `{placeholder}` in turn replaced by `value` (URL-encoded).
fn paths_with(row: &Row, world: &World, value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = row.call;
    let mut prefix = String::new();
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map(|e| start + e + 1).unwrap();
        let encoded: String = url_encode(value);
        out.push(world.fill(&format!(
            "{prefix}{}{encoded}{}",
            &rest[..start],
            &rest[end..]
        )));
        prefix.push_str(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Bodies built from the row's valid body: each field missing, and each field replaced by each
/// hostile value; plus bodies that are not the right shape at all.
fn hostile_bodies(valid: &Value) -> Vec<Value> {
    let mut bodies = vec![json!([]), json!("text"), json!(42), Value::Null, json!({})];
    if let Value::Object(fields) = valid {
        for name in fields.keys() {
            let mut missing = fields.clone();
            missing.remove(name);
            bodies.push(Value::Object(missing));
            for value in hostile_values() {
                let mut changed = fields.clone();
                changed.insert(name.clone(), value);
                bodies.push(Value::Object(changed));
            }
        }
        let mut extra = fields.clone();
        extra.insert("__proto__".into(), json!({"role": "admin"}));
        extra.insert("role".into(), json!("admin"));
        bodies.push(Value::Object(extra));
    }
    bodies
}

/// Raw bodies that are not JSON, or not what the content type says.
fn raw_bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("application/json", b"{".to_vec()),
        ("application/json", b"{\"a\":}".to_vec()),
        ("application/json", vec![0xff, 0xfe, 0x00]),
        ("application/json", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]".to_vec()),
        ("application/json", format!("{{\"x\":\"{}\"}}", "a".repeat(300 * 1024)).into_bytes()),
        ("text/plain", b"{}".to_vec()),
        ("application/x-www-form-urlencoded", b"eventId=1&seatIds=2".to_vec()),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nnot a png\r\n--x--\r\n".to_vec()),
    ]
}

#[tokio::test]
async fn no_hostile_input_gets_a_500_and_refused_ones_change_nothing() {
    let db = test_db().await;
    let pool = db.pool.clone();
    // No background workers: the data changes only by the corpus's own requests.
    let app = TestApp::spawn_without_workers(pool.clone(), &[]).await;
    let owner = person(&app, &pool, false).await;
    let admin = person(&app, &pool, true).await;
    let world = World::build(&app, &pool, &owner, &admin).await;
    let mut problems = Vec::new();
    let mut calls = 0usize;
    let mut seen = std::collections::BTreeMap::new();

    // Logout would end the admin's sign-in, which the other rows need: it gets a token that
    // names no sign-in (what it then refuses is still parsed and judged).
    let (_, sessionless_admin) = app.tokens().admin();
    for row in rows() {
        let token = if row.route == LOGOUT {
            sessionless_admin.clone()
        } else {
            admin.token.clone()
        };
        // Hostile path parameters and query strings (capped at 2,000 characters: URLs longer than 64 KiB
        // ones are refused by the HTTP layer before any route sees them).
        for value in hostile_strings() {
            let value: String = value.chars().take(2_000).collect();
            for path in paths_with(&row, &world, &value) {
                let body = row.body.as_ref().map(|b| world.body(b));
                let before = fingerprint(&pool).await;
                let (status, answer) = app
                    .send(row.method.clone(), &path, Some(&token), body.as_ref())
                    .await;
                calls += 1;
                let what = format!("{} {} path {:.60}", row.method, row.route, path);
                problems.extend(judge(&mut seen, &what, status, &answer));
                if status.is_client_error() && fingerprint(&pool).await != before {
                    problems.push(format!("{what}: refused with {status} but changed data"));
                }
            }
            let separator = if row.call.contains('?') { '&' } else { '?' };
            let query = format!(
                "{}{separator}page={v}&limit={v}&days={v}&status={v}&q={v}&eventId={v}&sortBy={v}&period={v}&offset={v}",
                world.fill(row.call),
                v = url_encode(&value)
            );
            if row.method == Method::GET {
                let (status, answer) = app.send(Method::GET, &query, Some(&token), None).await;
                calls += 1;
                problems.extend(judge(
                    &mut seen,
                    &format!("GET {} query {:.40}", row.route, value),
                    status,
                    &answer,
                ));
            }
        }
        // Hostile bodies on routes that take one.
        if row.method == Method::GET || row.method == Method::DELETE {
            continue;
        }
        let valid = row
            .body
            .as_ref()
            .map(|b| world.body(b))
            .unwrap_or(json!({}));
        for body in hostile_bodies(&valid) {
            let before = fingerprint(&pool).await;
            let path = world.fill(row.call);
            let (status, answer) = app
                .send(row.method.clone(), &path, Some(&token), Some(&body))
                .await;
            calls += 1;
            let shown = body.to_string();
            let what = format!("{} {} body {:.80}", row.method, row.route, shown);
            problems.extend(judge(&mut seen, &what, status, &answer));
            if status.is_client_error() && fingerprint(&pool).await != before {
                problems.push(format!("{what}: refused with {status} but changed data"));
            }
        }
        for (content_type, bytes) in raw_bodies() {
            let response = app
                .client
                .request(row.method.clone(), app.url(&world.fill(row.call)))
                .bearer_auth(&token)
                .header("content-type", content_type)
                .body(bytes)
                .send()
                .await
                .expect("request sent");
            calls += 1;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            problems.extend(judge(
                &mut seen,
                &format!("{} {} raw {content_type}", row.method, row.route),
                status,
                &answer,
            ));
        }
    }
    eprintln!("{calls} calls, answers by status: {seen:?}");
    assert!(calls > 2_500, "the corpus ran only {calls} calls");
    // The corpus reaches the parsers: most answers are validation refusals, not the doors.
    let refused_as_bad = seen.get(&400).copied().unwrap_or(0);
    assert!(
        refused_as_bad * 2 > calls,
        "only {refused_as_bad} of {calls} calls were refused as bad input: {seen:?}"
    );
    assert!(
        problems.is_empty(),
        "{} problems in {calls} calls:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
