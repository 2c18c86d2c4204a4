//! PostgreSQL only: the pool outlives its connections. A connection cut while idle is replaced
//! before the next job; a job whose connection is cut before COMMIT is run again on a new one
//! (its first run was rolled back by the server), so it happens exactly once.

use crate::backend::{t0, usd_minor, Fixture, ALICE, BOB, POSTGRES_URL_VAR};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use walletd_core::parties::Client;

/// Ends every server session of the fixture's pools (found by their application name) from a
/// connection of its own; returns how many it ended.
fn cut_connections(f: &Fixture) -> i64 {
    let base = std::env::var(POSTGRES_URL_VAR).expect("a PostgreSQL test");
    let app = f.postgres_schema().expect("a PostgreSQL fixture").to_owned();
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
        let row = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&app],
            )
            .expect("terminate");
        row.get::<_, i64>(0)
    })
    .join()
    .expect("the admin thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_goes_on_after_its_connections_are_cut() {
    let Some(f) = Fixture::postgres().await else {
        return;
    };
    let f = f.seeded().await;
    assert!(cut_connections(&f) >= 1, "the pool had sessions to cut");
    // Every worker meets its dead connection; every call still succeeds.
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..12 {
        let w = f.wallet.clone();
        calls.spawn(async move { w.top_up(if i % 2 == 0 { ALICE } else { BOB }, usd_minor(1)).await });
    }
    while let Some(r) = calls.join_next().await {
        r.expect("task").expect("a top-up after the cut");
    }
    f.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_off_before_commit_runs_again_and_happens_once() {
    let Some(f) = Fixture::postgres().await else {
        return;
    };
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let base = std::env::var(POSTGRES_URL_VAR).expect("url");
    let app = f.postgres_schema().expect("schema").to_owned();
    f.write(move |tx| {
        let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let mut c = Client::new("c-cut", "Cut Shop", t0());
        c.partner_id = "p-cut".into();
        tx.insert_client(&c)?;
        if run == 1 {
            // Our own session, in the middle of this transaction, is ended by the server.
            let (base, app) = (base.clone(), app.clone());
            std::thread::spawn(move || {
                let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
                admin
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND state = 'idle in transaction'",
                        &[&app],
                    )
                    .expect("terminate");
            })
            .join()
            .expect("admin thread");
        }
        tx.insert_user(&walletd_core::parties::User::new("u-cut", "+9", "Cut", t0()))?;
        Ok(run)
    })
    .await
    .expect("the job succeeds on its second run");
    assert_eq!(runs.load(Ordering::SeqCst), 2, "run once, cut, run again");
    let clients = f.wallet.list_clients().await.unwrap();
    assert_eq!(clients.iter().filter(|c| c.client_id == "c-cut").count(), 1);
    assert!(f.wallet.get_user("u-cut").await.unwrap().is_some());
}
