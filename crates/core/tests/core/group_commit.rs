//! Group commit on SQLite: concurrent writes are batched into one transaction with a savepoint
//! per job. Every acknowledged write must land, and a job that fails (or panics) inside a batch
//! must be rolled back alone, without undoing its neighbours.

use crate::helpers::*;
use std::any::Any;
use tokio::task::JoinSet;
use walletd_core::ledger::{self, AccountKind, Leg};
use walletd_core::storage::{Access, Job, Tx};
use walletd_core::{CoreError, StorageError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_top_ups_all_land_and_failing_ones_leave_no_trace() {
    let t = spawn_wallet().await;
    let before = t.wallet.accounts().await.unwrap().len();
    let users = [ALICE, BOB];
    let mut tasks = JoinSet::new();
    for i in 0..520i64 {
        let wallet = t.wallet.clone();
        // Every 26th request tops up a user who does not exist.
        let user = if i % 26 == 25 {
            "ghost"
        } else {
            users[(i % 2) as usize]
        };
        tasks.spawn(async move { (user, i + 1, wallet.top_up(user, usd_minor(i + 1)).await) });
    }
    let (mut ok, mut failed) = (0, 0);
    let mut expected = [ALICE_USD, BOB_USD];
    while let Some(joined) = tasks.join_next().await {
        let (user, amount, result) = joined.expect("task ran");
        if user == "ghost" {
            assert!(matches!(result, Err(CoreError::NotFound(_))), "{result:?}");
            failed += 1;
        } else {
            result.expect("top-up of an existing user");
            expected[usize::from(user == BOB)] += amount;
            ok += 1;
        }
    }
    assert_eq!((ok, failed), (500, 20));
    assert_eq!(t.user_balance(ALICE, usd()).await.0, expected[0]);
    assert_eq!(t.user_balance(BOB, usd()).await.0, expected[1]);
    assert!(t.account(AccountKind::UserWallet, "ghost", usd()).await.is_none());
    assert_eq!(
        t.wallet.accounts().await.unwrap().len(),
        before,
        "no account was created for the ghost"
    );
    let top_ups = count_transfers(&t, |code, _| code == "top_up").await;
    assert_eq!(
        top_ups,
        3 + 500,
        "three from spawn_wallet, then one per good request"
    );
    assert_books_sound(&t.wallet).await;
}

fn boxed<T: Send + 'static>(v: T) -> Box<dyn Any + Send> {
    Box::new(v)
}

/// A top-up of alice written straight through the ledger, tagged with `reference`.
fn top_up_alice(tx: &mut dyn Tx, amount_minor: i64, reference: &str) -> Result<(), CoreError> {
    let now = t0();
    let funding = ledger::funding_account(tx, usd(), now)?;
    let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), now)?;
    let legs = [Leg::Single {
        debit: funding.id,
        credit: wallet.id,
        amount_minor,
        code: ledger::TOP_UP_CODE.into(),
        reference: reference.into(),
    }];
    ledger::apply(tx, now, &legs)?.map_err(|e| CoreError::Invalid(e.to_string()))?;
    Ok(())
}

async fn count_transfers(t: &TestWallet, pred: fn(&str, &str) -> bool) -> usize {
    t.wallet
        .read(move |_, tx| {
            let mut n = 0;
            let mut after = 0;
            loop {
                let batch = tx.list_transfers(after, 1000)?;
                let Some(last) = batch.last() else { break };
                after = last.id;
                n += batch.iter().filter(|tr| pred(&tr.code, &tr.reference)).count();
            }
            Ok(n)
        })
        .await
        .expect("list transfers")
}

#[tokio::test]
async fn a_failing_or_panicking_job_in_a_batch_does_not_undo_its_neighbours() {
    let t = spawn_wallet().await;
    let store = t.wallet.storage().clone();

    // The first job holds the writer until every other job is queued, so the rest are taken
    // together: good jobs, jobs that write and then fail, a job that writes and then panics.
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let gate_job: Job = Box::new(move |_tx| {
        gate.recv_timeout(std::time::Duration::from_secs(60))
            .map_err(|e| CoreError::Storage(StorageError::Backend(format!("gate never opened: {e}"))))?;
        Ok(boxed(()))
    });
    let gate_reply = store.submit(Access::Write, gate_job);

    let mut replies = Vec::new();
    for i in 0..30i64 {
        let job: Job = match i % 3 {
            0 => Box::new(move |tx| top_up_alice(tx, 100 + i, &format!("good-{i}")).map(boxed)),
            1 => Box::new(move |tx| {
                top_up_alice(tx, 1_000_000, &format!("bad-{i}"))?;
                Err(CoreError::Invalid(
                    "this job changes its mind after writing".into(),
                ))
            }),
            _ if i == 14 => Box::new(move |tx| {
                top_up_alice(tx, 1_000_000, "panic")?;
                panic!("a job that panics after writing");
            }),
            _ => Box::new(move |tx| top_up_alice(tx, 100 + i, &format!("good-{i}")).map(boxed)),
        };
        replies.push((i, store.submit(Access::Write, job)));
    }
    open.send(()).expect("the gate job is waiting");
    gate_reply.await.expect("gate reply").expect("gate job");

    let mut expected = ALICE_USD;
    for (i, reply) in replies {
        let result = reply.await.expect("every job gets an answer");
        match (i % 3, i) {
            (1, _) => assert!(matches!(result, Err(CoreError::Invalid(_))), "job {i}"),
            (2, 14) => assert!(
                matches!(result, Err(CoreError::Invariant(_))),
                "job {i}: the panic is reported"
            ),
            _ => {
                result.unwrap_or_else(|e| panic!("job {i} must succeed: {e}"));
                expected += 100 + i;
            }
        }
    }
    assert_eq!(t.user_balance(ALICE, usd()).await.0, expected);
    assert_eq!(count_transfers(&t, |_, r| r.starts_with("good-")).await, 19);
    assert_eq!(
        count_transfers(&t, |_, r| r.starts_with("bad-") || r == "panic").await,
        0
    );
    assert_books_sound(&t.wallet).await;

    // The writer is still alive after the panic.
    t.wallet
        .top_up(BOB, usd_minor(1))
        .await
        .expect("writes still work");
    assert_eq!(t.user_balance(BOB, usd()).await.0, BOB_USD + 1);
}
