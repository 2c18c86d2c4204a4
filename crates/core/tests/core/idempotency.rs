//! Idempotency (docs/mini-program.md §14, ARCHITECTURE.md "The storage seam"): the same key with
//! the same content gets the first outcome again, failures included; other content gets
//! REPEAT_REQ_INCONSISTENT; and concurrent repeats create exactly one record.

use crate::helpers::*;
use std::collections::BTreeSet;
use tokio::task::JoinSet;
use walletd_core::payments::{PayOutcome, PaymentStatus};
use walletd_core::refunds::RefundOutcome;
use walletd_protocol::ResultCode;

#[tokio::test]
async fn same_payment_request_and_content_returns_the_same_payment() {
    let t = spawn_wallet().await;
    let first = t.accepted_payment(t.pay_cmd("req-1", 900)).await;
    // Fields outside the fingerprint (title, urls) do not make a repeat inconsistent.
    let mut repeat = t.pay_cmd("req-1", 900);
    repeat.order_title = "Coffee, again".into();
    let second = t.accepted_payment(repeat).await;
    assert_eq!(second.payment_id, first.payment_id);
    assert_eq!(t.wallet.list_payments(None, 100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn same_payment_request_with_other_content_is_refused_with_repeat_req_inconsistent() {
    let t = spawn_wallet().await;
    let first = t.accepted_payment(t.pay_cmd("req-1", 900)).await;
    let other_amount = t.wallet.pay(t.pay_cmd("req-1", 901)).await.unwrap();
    assert_eq!(pay_rejection(&other_amount), ResultCode::RepeatReqInconsistent);
    let mut other_currency = t.pay_cmd("req-1", 900);
    other_currency.amount = positive(money(eur(), 900));
    assert_eq!(
        pay_rejection(&t.wallet.pay(other_currency).await.unwrap()),
        ResultCode::RepeatReqInconsistent
    );
    let mut other_payer = t.pay_cmd("req-1", 900);
    t.grant_named_payer(ALICE).await;
    other_payer.payer_user_id = Some(ALICE.into());
    assert_eq!(
        pay_rejection(&t.wallet.pay(other_payer).await.unwrap()),
        ResultCode::RepeatReqInconsistent
    );
    // The first payment is untouched, and no hold was taken for the inconsistent repeat.
    assert_eq!(t.payment(&first.payment_id).await, first);
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(t.wallet.list_payments(None, 100).await.unwrap().len(), 1);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn stored_rejection_is_replayed_even_after_the_cause_went_away() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-jpy", 100);
    cmd.amount = positive(money(jpy(), 100));
    let first = t.wallet.pay(cmd.clone()).await.unwrap();
    assert_eq!(pay_rejection(&first), ResultCode::CurrencyNotSupport);
    // The merchant is now allowed JPY, but the key already holds its answer.
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.currencies.push(jpy());
            Ok(())
        })
        .await
        .unwrap();
    let again = t.wallet.pay(cmd).await.unwrap();
    assert_eq!(again, first, "the stored rejection, message included");
    assert!(t.wallet.list_payments(None, 100).await.unwrap().is_empty());
    // A fresh key is evaluated afresh.
    let mut fresh = t.pay_cmd("req-jpy-2", 100);
    fresh.amount = positive(money(jpy(), 100));
    t.accepted_payment(fresh).await;
}

#[tokio::test]
async fn repeat_after_success_answers_succeeded_with_the_same_payment() {
    let t = spawn_wallet().await;
    let paid = t.paid_payment("req-1", 900, ALICE).await;
    match t.wallet.pay(t.pay_cmd("req-1", 900)).await.unwrap() {
        PayOutcome::Succeeded(p) => assert_eq!(p, paid),
        other => panic!("expected Succeeded, got {other:?}"),
    }
    assert_eq!(
        t.user_balance(ALICE, usd()).await.0,
        ALICE_USD - 900,
        "the repeat took no money"
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn repeat_after_expiry_answers_closed_with_the_failed_payment() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 900)).await;
    t.advance_secs(t.config.payment_expiry_secs);
    assert_eq!(t.wallet.expire_due(10).await.unwrap(), 1);
    match t.wallet.pay(t.pay_cmd("req-1", 900)).await.unwrap() {
        PayOutcome::Closed(c) => {
            assert_eq!(c.payment_id, p.payment_id);
            assert_eq!(c.status, PaymentStatus::Fail);
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn payment_request_ids_are_scoped_per_client() {
    let t = spawn_wallet().await;
    let mine = t.accepted_payment(t.pay_cmd("req-1", 900)).await;
    let mut theirs = t.pay_cmd("req-1", 900);
    theirs.client_id = OTHER_CLIENT.into();
    theirs.app_id = None;
    let theirs = t.accepted_payment(theirs).await;
    assert_ne!(mine.payment_id, theirs.payment_id);
    assert_eq!(theirs.client_id, OTHER_CLIENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_pays_create_exactly_one_payment() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-race", 1_000);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let (wallet, cmd) = (t.wallet.clone(), cmd.clone());
        tasks.spawn(async move { wallet.pay(cmd).await });
    }
    let mut ids = BTreeSet::new();
    let mut answers = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task ran").expect("pay ran") {
            PayOutcome::Accepted(p) => ids.insert(p.payment_id),
            other => panic!("every answer must be the accepted payment, got {other:?}"),
        };
        answers += 1;
    }
    assert_eq!(answers, 50);
    assert_eq!(ids.len(), 1, "all answers name one payment: {ids:?}");
    assert_eq!(t.wallet.list_payments(None, 100).await.unwrap().len(), 1);
    assert_eq!(
        t.user_balance(ALICE, usd()).await,
        (ALICE_USD, ALICE_USD - 1_000),
        "held once"
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_identical_refunds_move_the_money_once() {
    let t = spawn_wallet().await;
    let paid = t.paid_payment("req-1", 3_000, ALICE).await;
    let cmd = t.refund_cmd("refund-race", &paid.payment_id, usd_minor(1_000));
    let mut tasks = JoinSet::new();
    for _ in 0..10 {
        let (wallet, cmd) = (t.wallet.clone(), cmd.clone());
        tasks.spawn(async move { wallet.refund(cmd).await });
    }
    let mut ids = BTreeSet::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task ran").expect("refund ran") {
            RefundOutcome::Succeeded(r) => ids.insert(r.refund_id),
            other => panic!("every answer must be the refund, got {other:?}"),
        };
    }
    assert_eq!(ids.len(), 1, "all answers name one refund: {ids:?}");
    assert_eq!(t.user_balance(ALICE, usd()).await.0, ALICE_USD - 3_000 + 1_000);
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 2_000);
    assert_eq!(t.payment(&paid.payment_id).await.refunded_minor, 1_000);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_repeat_with_other_content_is_refused_and_a_refused_refund_is_replayed() {
    let t = spawn_wallet().await;
    let paid = t.paid_payment("req-1", 3_000, ALICE).await;
    let first = t
        .refund_ok(t.refund_cmd("rf-1", &paid.payment_id, usd_minor(1_000)))
        .await;
    let same = t
        .refund_ok(t.refund_cmd("rf-1", &paid.payment_id, usd_minor(1_000)))
        .await;
    assert_eq!(same, first);
    let other = t
        .wallet
        .refund(t.refund_cmd("rf-1", &paid.payment_id, usd_minor(999)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&other), ResultCode::RepeatReqInconsistent);

    let too_much = t.refund_cmd("rf-2", &paid.payment_id, usd_minor(2_001));
    let refused = t.wallet.refund(too_much.clone()).await.unwrap();
    assert_eq!(refund_rejection(&refused), ResultCode::RefundAmountExceed);
    assert_eq!(t.wallet.refund(too_much).await.unwrap(), refused);
    assert_eq!(t.payment(&paid.payment_id).await.refunded_minor, 1_000);
    assert_books_sound(&t.wallet).await;
}
