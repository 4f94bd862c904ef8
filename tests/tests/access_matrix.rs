//! The access-control matrix: every route of every service, called as an anonymous visitor, as
//! the fan who owns the fixtures, as another fan, and as an admin, with the status each must get.
//! A route served without a row here fails the test (the route list comes from the services'
//! OpenAPI documents, which are built from the routers themselves).
//!
//! Calls that change something run against a fresh world (event, seats, a pending hold and a
//! paid reservation of the owner, news) per caller, so one caller's success cannot change what
//! the next one sees.

mod routes_common;

use std::collections::BTreeSet;

use reqwest::Method;
use routes_common::{CALLERS, LOGOUT, World, fresh_session, person, rows, served_routes};
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;

#[tokio::test]
async fn every_route_has_a_row_and_every_row_is_a_route() {
    let rows: BTreeSet<(String, String)> = rows()
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_owned()))
        .collect();
    let served = served_routes();
    let missing: Vec<_> = served.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the access matrix: {missing:?}"
    );
    assert!(stale.is_empty(), "rows for routes nobody serves: {stale:?}");
    assert_eq!(rows.len(), self::rows().len(), "a route has two rows");
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_matrix_says() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let app = TestApp::spawn(pool.clone()).await;
    let owner = person(&app, &pool, false).await;
    let other = person(&app, &pool, false).await;
    let admin = person(&app, &pool, true).await;
    let tokens = [
        None,
        Some(&owner.token),
        Some(&other.token),
        Some(&admin.token),
    ];
    let shared = World::build(&app, &pool, &owner, &admin).await;
    let mut wrong = Vec::new();
    for row in rows() {
        let changes = row.method != Method::GET;
        for (i, token) in tokens.iter().enumerate() {
            // A call that may change something gets a world of its own.
            let fresh;
            let world = if changes {
                fresh = World::build(&app, &pool, &owner, &admin).await;
                &fresh
            } else {
                &shared
            };
            let path = world.fill(row.call);
            let body = row.body.as_ref().map(|b| world.body(b));
            // Logout ends the sign-in it is sent with: a sign-in of the caller's own, made for it.
            let session = match (row.route, i) {
                (LOGOUT, 1) => Some(fresh_session(&app, &owner).await),
                (LOGOUT, 2) => Some(fresh_session(&app, &other).await),
                (LOGOUT, 3) => Some(fresh_session(&app, &admin).await),
                _ => token.cloned(),
            };
            let (status, answer) = app
                .send(row.method.clone(), &path, session.as_deref(), body.as_ref())
                .await;
            if status.as_u16() != row.expect[i] {
                wrong.push(format!(
                    "{} {} as {}: got {} want {} ({})",
                    row.method,
                    row.route,
                    CALLERS[i],
                    status.as_u16(),
                    row.expect[i],
                    answer
                ));
            }
            if status.is_client_error() || status.is_server_error() {
                assert!(
                    answer["code"].is_string(),
                    "{} {} as {}: {} without a code: {answer}",
                    row.method,
                    row.route,
                    CALLERS[i],
                    status
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
