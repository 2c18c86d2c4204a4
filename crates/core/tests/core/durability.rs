//! Durability: everything a caller was told survives closing and reopening the SQLite file.

use crate::helpers::*;
use walletd_core::outbox::OutboxKind;
use walletd_core::payments::{PayOutcome, PaymentStatus};
use walletd_core::refunds::RefundRef;

#[tokio::test]
async fn payments_balances_refunds_and_outbox_survive_a_reopen() {
    let t = spawn_wallet().await;
    let paid = t.paid_payment("req-paid", 3_000, ALICE).await;
    let mut cmd = t.refund_cmd("rf-1", &paid.payment_id, usd_minor(1_000));
    cmd.notify_url = Some(NOTIFY_URL.into());
    let refund = t.refund_ok(cmd).await;
    let mut held = t.pay_cmd("req-held", 2_000);
    t.grant_named_payer(BOB).await;
    held.payer_user_id = Some(BOB.into());
    let held = t.accepted_payment(held).await;
    let accounts = t.wallet.accounts().await.unwrap();
    let notices = t.wallet.list_notifications(100).await.unwrap();
    assert_eq!(notices.len(), 2);

    let t = t.reopen();
    assert_eq!(t.payment(&paid.payment_id).await.status, PaymentStatus::Success);
    assert_eq!(t.payment(&paid.payment_id).await.refunded_minor, 1_000);
    assert_eq!(t.payment(&held.payment_id).await, held);
    assert_eq!(t.wallet.accounts().await.unwrap(), accounts);
    assert_eq!(t.user_balance(ALICE, usd()).await.0, ALICE_USD - 2_000);
    assert_eq!(t.user_balance(BOB, usd()).await, (BOB_USD, BOB_USD - 2_000));
    assert_eq!(t.wallet.list_notifications(100).await.unwrap(), notices);
    assert_eq!(
        t.notices_about(&paid.payment_id).await[0].kind,
        OutboxKind::PaymentResult
    );
    let by_request = RefundRef {
        refund_id: None,
        refund_request_id: Some("rf-1".into()),
    };
    assert_eq!(
        t.wallet.inquire_refund(CLIENT, by_request).await.unwrap(),
        Some(refund.clone())
    );
    assert_books_sound(&t.wallet).await;

    // Idempotency keys survive too, and the reopened wallet keeps working.
    match t.wallet.pay(t.pay_cmd("req-paid", 3_000)).await.unwrap() {
        PayOutcome::Succeeded(p) => assert_eq!(p.payment_id, paid.payment_id),
        other => panic!("expected the stored success, got {other:?}"),
    }
    assert_eq!(
        t.refund_ok(t.refund_cmd("rf-1", &paid.payment_id, usd_minor(1_000)))
            .await,
        refund
    );
    t.wallet.confirm_payment(&held.payment_id, BOB).await.unwrap();
    assert_eq!(
        t.user_balance(BOB, usd()).await,
        (BOB_USD - 2_000, BOB_USD - 2_000)
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn a_hold_survives_a_reopen_and_still_expires() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 2_000);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    let p = t.accepted_payment(cmd).await;
    let t = t.reopen();
    t.advance_secs(t.config.payment_expiry_secs);
    assert_eq!(t.wallet.expire_due(10).await.unwrap(), 1);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Fail);
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_books_sound(&t.wallet).await;
}
