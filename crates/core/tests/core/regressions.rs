//! Regression tests for rules added after review, each named after what it pins down.

use crate::helpers::*;
use walletd_core::parties::PartyStatus;
use walletd_core::payments::{ApprovalOutcome, Channel, PaymentStatus};
use walletd_protocol::ResultCode;

#[tokio::test]
async fn a_merchant_frozen_after_pay_cannot_be_paid_and_the_payment_stays_payable() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("r-1", 1_000)).await;
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    let outcome = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&outcome), ResultCode::PartnerStatusAbnormal);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Processing);
    assert_eq!(t.user_balance(ALICE, usd()).await.0, ALICE_USD, "no money moved");
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.status = PartyStatus::Active;
            Ok(())
        })
        .await
        .unwrap();
    let outcome = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn an_expired_alphapay_payment_writes_no_notification_but_a_paid_one_does() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("ap-1", 500);
    cmd.channel = Channel::AlphaPay;
    let expired = t.accepted_payment(cmd).await;
    let mut cmd = t.pay_cmd("ap-2", 500);
    cmd.channel = Channel::AlphaPay;
    let paid = t.accepted_payment(cmd).await;
    t.wallet.confirm_payment(&paid.payment_id, ALICE).await.unwrap();
    t.advance_secs(t.config.payment_expiry_secs + 1);
    assert_eq!(t.wallet.expire_due(100).await.unwrap(), 1);
    assert_eq!(t.payment(&expired.payment_id).await.status, PaymentStatus::Fail);
    assert!(
        t.notices_about(&expired.payment_id).await.is_empty(),
        "AlphaPay only notifies successes"
    );
    assert_eq!(t.notices_about(&paid.payment_id).await.len(), 1);
    // The Mini Program notifies both.
    let mp = t.accepted_payment(t.pay_cmd("mp-1", 500)).await;
    t.advance_secs(t.config.payment_expiry_secs + 1);
    t.wallet.expire_due(100).await.unwrap();
    assert_eq!(t.notices_about(&mp.payment_id).await.len(), 1);
}

#[tokio::test]
async fn expired_one_time_values_are_purged_by_the_sweep_and_live_ones_kept() {
    let t = spawn_wallet().await;
    assert!(t.wallet.claim_once("nonce:test", "old", 60).await.unwrap());
    t.advance_secs(120);
    assert!(t.wallet.claim_once("nonce:test", "new", 60).await.unwrap());
    let count = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM once_values", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&t.db_path), 2);
    t.wallet.expire_due(100).await.unwrap();
    assert_eq!(count(&t.db_path), 1, "the expired value is gone");
    assert!(
        !t.wallet.claim_once("nonce:test", "new", 60).await.unwrap(),
        "the live one still counts"
    );
}
