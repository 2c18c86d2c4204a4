//! The rules under concurrency: many calls at once, spread over two nodes of one database. On
//! SQLite the two nodes are two stores on one file (two writers taking turns); on PostgreSQL two
//! connection pools whose transactions really overlap.

use crate::backend::{Fixture, ALICE, ALICE_USD, BOB, CLIENT};
use std::collections::BTreeSet;
use tokio::task::JoinSet;
use walletd_core::parties::Limits;
use walletd_core::payments::{ApprovalOutcome, CancelOutcome, PayOutcome, PaymentRef, PaymentStatus};
use walletd_core::refunds::RefundOutcome;
use walletd_core::Wallet;
use walletd_protocol::ResultCode;

for_each_backend!(
    concurrent_duplicate_pays_make_one_payment,
    concurrent_refunds_never_exceed_the_payment,
    concurrent_holds_never_overdraw_a_wallet,
    racing_confirm_and_cancel_leave_consistent_books,
    concurrent_expiry_sweeps_expire_each_payment_once,
    concurrent_notification_claims_take_each_entry_once,
    concurrent_claims_of_one_value_succeed_once,
    concurrent_changes_of_one_user_lose_nothing,
    daily_limits_hold_under_concurrent_pays,
);

/// Node 1 for even `i`, node 2 for odd.
fn node<'a>(i: usize, one: &'a Wallet, two: &'a Wallet) -> Wallet {
    if i % 2 == 0 {
        one.clone()
    } else {
        two.clone()
    }
}

async fn concurrent_duplicate_pays_make_one_payment(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    let mut calls = JoinSet::new();
    for i in 0..12 {
        let (w, cmd) = (node(i, &f.wallet, &two), f.pay_cmd("req-dup", 1_000, Some(ALICE)));
        calls.spawn(async move { w.pay(cmd).await });
    }
    let mut ids = BTreeSet::new();
    while let Some(r) = calls.join_next().await {
        match r.expect("task").expect("pay") {
            PayOutcome::Accepted(p) => {
                ids.insert(p.payment_id);
            }
            other => panic!("every duplicate answers the first payment, got {other:?}"),
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let payments = f.wallet.list_payments(Some(CLIENT.into()), 100).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(
        f.balance(ALICE).await,
        (ALICE_USD, ALICE_USD - 1_000),
        "held once"
    );
    f.assert_sound().await;
}

async fn concurrent_refunds_never_exceed_the_payment(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    let p = f.accepted("req-1", 6_000, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&p.payment_id, ALICE)
        .await
        .expect("confirm");
    let mut calls = JoinSet::new();
    for i in 0..10 {
        let (w, cmd) = (
            node(i, &f.wallet, &two),
            f.refund_cmd(&format!("rf-{i}"), &p.payment_id, 2_500),
        );
        calls.spawn(async move { w.refund(cmd).await });
    }
    let (mut ok, mut exceeded) = (0, 0);
    while let Some(r) = calls.join_next().await {
        match r.expect("task").expect("refund") {
            RefundOutcome::Succeeded(_) => ok += 1,
            RefundOutcome::Rejected {
                code: ResultCode::RefundAmountExceed,
                ..
            } => exceeded += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((ok, exceeded), (2, 8), "two refunds of 25.00 fit in 60.00");
    let stored = f
        .wallet
        .get_payment(&p.payment_id)
        .await
        .unwrap()
        .expect("payment");
    assert_eq!(stored.refunded_minor, 5_000);
    assert_eq!(f.balance(ALICE).await.0, ALICE_USD - 6_000 + 5_000);
    assert_eq!(f.merchant_balance().await, 1_000);
    f.assert_sound().await;
}

async fn concurrent_holds_never_overdraw_a_wallet(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    let mut calls = JoinSet::new();
    for i in 0..20 {
        let (w, cmd) = (
            node(i, &f.wallet, &two),
            f.pay_cmd(&format!("req-{i}"), 1_500, Some(ALICE)),
        );
        calls.spawn(async move { w.pay(cmd).await });
    }
    let (mut held, mut refused) = (0, 0);
    while let Some(r) = calls.join_next().await {
        match r.expect("task").expect("pay") {
            PayOutcome::Accepted(_) => held += 1,
            PayOutcome::Rejected {
                code: ResultCode::UserBalanceNotEnough,
                ..
            } => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((held, refused), (6, 14), "six holds of 15.00 fit in 100.00");
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD - 6 * 1_500));
    f.assert_sound().await;
}

async fn racing_confirm_and_cancel_leave_consistent_books(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    for round in 0..6 {
        let p = f.accepted(&format!("req-{round}"), 1_000, Some(ALICE)).await;
        let (w1, w2) = (f.wallet.clone(), two.clone());
        let (id1, id2) = (p.payment_id.clone(), p.payment_id.clone());
        let confirm = tokio::spawn(async move { w1.confirm_payment(&id1, ALICE).await });
        let cancel = tokio::spawn(async move {
            let r = PaymentRef {
                payment_id: Some(id2),
                payment_request_id: None,
            };
            w2.cancel_payment(CLIENT, None, r).await
        });
        let confirmed = confirm.await.expect("task").expect("confirm");
        let cancelled = cancel.await.expect("task").expect("cancel");
        assert!(
            matches!(cancelled, CancelOutcome::Cancelled { .. }),
            "{cancelled:?}"
        );
        // Either the confirm came first (paid, then returned by the cancel) or the cancel did
        // (the confirm is refused). Both end cancelled with the money back with alice.
        match confirmed {
            ApprovalOutcome::Done(p) => assert_eq!(p.status, PaymentStatus::Success),
            ApprovalOutcome::Refused { code, .. } => assert_eq!(code, ResultCode::OrderStatusInvalid),
        }
        let end = f
            .wallet
            .get_payment(&p.payment_id)
            .await
            .unwrap()
            .expect("payment");
        assert_eq!(end.status, PaymentStatus::Cancelled, "round {round}");
        assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD), "round {round}");
    }
    assert_eq!(f.merchant_balance().await, 0);
    f.assert_sound().await;
}

async fn concurrent_expiry_sweeps_expire_each_payment_once(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    for i in 0..8 {
        f.accepted(&format!("req-{i}"), 500, Some(ALICE)).await;
    }
    assert_eq!(f.balance(ALICE).await.1, ALICE_USD - 8 * 500);
    f.advance_secs(16 * 60);
    let mut sweeps = JoinSet::new();
    for i in 0..4 {
        let w = node(i, &f.wallet, &two);
        sweeps.spawn(async move { w.expire_due(3).await });
    }
    let mut expired = 0;
    while let Some(r) = sweeps.join_next().await {
        expired += r.expect("task").expect("sweep");
    }
    // Four sweeps of at most three: together at most twelve; whatever is left, one more finds.
    expired += f.wallet.expire_due(100).await.expect("last sweep");
    assert_eq!(expired, 8, "each payment expired exactly once");
    assert_eq!(f.wallet.expire_due(100).await.unwrap(), 0);
    let notes = f.wallet.list_notifications(100).await.unwrap();
    let subjects: BTreeSet<_> = notes.iter().map(|n| n.subject_id.clone()).collect();
    assert_eq!(
        (notes.len(), subjects.len()),
        (8, 8),
        "one notification per payment"
    );
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD));
    f.assert_sound().await;
}

async fn concurrent_notification_claims_take_each_entry_once(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    for i in 0..10 {
        let p = f.accepted(&format!("req-{i}"), 100, Some(ALICE)).await;
        f.wallet
            .confirm_payment(&p.payment_id, ALICE)
            .await
            .expect("confirm");
    }
    let mut claims = JoinSet::new();
    for i in 0..4 {
        let w = node(i, &f.wallet, &two);
        claims.spawn(async move { w.claim_notifications(60, 4).await });
    }
    let mut seen = Vec::new();
    while let Some(r) = claims.join_next().await {
        seen.extend(r.expect("task").expect("claim").into_iter().map(|e| e.id));
    }
    let distinct: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), seen.len(), "an entry was claimed twice: {seen:?}");
    assert_eq!(seen.len(), 10, "four claims of four cover all ten");
    assert!(f.wallet.claim_notifications(60, 100).await.unwrap().is_empty());
}

async fn concurrent_claims_of_one_value_succeed_once(f: Fixture) {
    let two = f.another_node();
    let mut claims = JoinSet::new();
    for i in 0..10 {
        let w = node(i, &f.wallet, &two);
        claims.spawn(async move { w.claim_once("nonce", "n-1", 300).await });
    }
    let mut won = 0;
    while let Some(r) = claims.join_next().await {
        if r.expect("task").expect("claim") {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

async fn concurrent_changes_of_one_user_lose_nothing(f: Fixture) {
    // A wrong PIN counted on two nodes at once must count twice (the lock-out depends on it).
    let f = f.seeded().await;
    let two = f.another_node();
    let mut changes = JoinSet::new();
    for i in 0..10 {
        let w = node(i, &f.wallet, &two);
        changes.spawn(async move {
            w.update_user(ALICE, |u| {
                u.failed_pin_attempts += 1;
                Ok(())
            })
            .await
        });
    }
    while let Some(r) = changes.join_next().await {
        r.expect("task").expect("update");
    }
    let alice = f.wallet.get_user(ALICE).await.unwrap().expect("alice");
    assert_eq!(alice.failed_pin_attempts, 10);
}

async fn daily_limits_hold_under_concurrent_pays(f: Fixture) {
    let f = f.seeded().await;
    let two = f.another_node();
    let daily = |minor: i64| Limits {
        per_payment_minor: None,
        daily_minor: Some(minor),
    };
    f.wallet
        .update_user(BOB, move |u| {
            u.limits.insert("USD".into(), daily(3_000));
            Ok(())
        })
        .await
        .expect("bob's limit");
    let count = |outcomes: Vec<PayOutcome>, refusal: ResultCode| {
        let held = outcomes
            .iter()
            .filter(|o| matches!(o, PayOutcome::Accepted(_)))
            .count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, PayOutcome::Rejected { code, .. } if *code == refusal))
            .count();
        assert_eq!(held + refused, outcomes.len(), "{outcomes:?}");
        held
    };
    let pays = |prefix: &'static str, payer: &'static str| {
        let mut calls = JoinSet::new();
        for i in 0..10 {
            let (w, cmd) = (
                node(i, &f.wallet, &two),
                f.pay_cmd(&format!("{prefix}-{i}"), 500, Some(payer)),
            );
            calls.spawn(async move { w.pay(cmd).await });
        }
        async move {
            let mut out = Vec::new();
            while let Some(r) = calls.join_next().await {
                out.push(r.expect("task").expect("pay"));
            }
            out
        }
    };
    let bob = pays("bob", BOB).await;
    assert_eq!(
        count(bob, ResultCode::UserAmountExceedLimit),
        6,
        "30.00 a day in 5.00 holds"
    );

    f.wallet
        .update_client(CLIENT, move |_, c| {
            c.limits.insert("USD".into(), daily(3_000 + 2_000));
            Ok(())
        })
        .await
        .expect("the client's limit");
    let alice = pays("alice", ALICE).await;
    assert_eq!(
        count(alice, ResultCode::PaymentAmountExceedLimit),
        4,
        "the client took 30.00 from bob already; 20.00 more fit"
    );
    f.assert_sound().await;
}
