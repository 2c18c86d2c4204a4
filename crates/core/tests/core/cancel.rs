//! Cancel (docs/mini-program.md §11): an unpaid payment closes and releases its hold; a paid one is
//! returned in full within the cancel window; a cancelled one answers S again.

use crate::helpers::*;
use walletd_core::payments::{CancelOutcome, Payment, PaymentStatus};
use walletd_protocol::ResultCode;

async fn cancel(t: &TestWallet, payment_id: &str) -> CancelOutcome {
    t.wallet
        .cancel_payment(CLIENT, None, by_id(payment_id))
        .await
        .expect("cancel runs")
}

fn cancelled(outcome: CancelOutcome) -> (Payment, chrono::DateTime<chrono::Utc>) {
    match outcome {
        CancelOutcome::Cancelled { payment, cancel_time } => (payment, cancel_time),
        other => panic!("expected Cancelled, got {other:?}"),
    }
}

fn cancel_rejection(outcome: &CancelOutcome) -> ResultCode {
    match outcome {
        CancelOutcome::Rejected { code, .. } => *code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn cancel_of_an_unpaid_payment_closes_it_and_releases_the_hold() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 4_000);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    let p = t.accepted_payment(cmd).await;
    assert_eq!(t.user_balance(ALICE, usd()).await.1, ALICE_USD - 4_000);
    t.advance_secs(5);
    let (c, at) = cancelled(cancel(&t, &p.payment_id).await);
    assert_eq!(c.status, PaymentStatus::Cancelled);
    assert_eq!(at, t.wallet.now());
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Cancelled);
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 0);
    // A cancelled payment can no longer be paid, and the sweeper leaves it alone.
    let late = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&late), ResultCode::OrderStatusInvalid);
    t.advance_secs(t.config.payment_expiry_secs);
    assert_eq!(t.wallet.expire_due(10).await.unwrap(), 0);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancel_of_a_cashier_payment_nobody_paid_yet_closes_it() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 4_000)).await;
    let before = t.wallet.accounts().await.unwrap();
    let (c, _) = cancelled(
        t.wallet
            .cancel_payment(CLIENT, None, by_request("req-1"))
            .await
            .unwrap(),
    );
    assert_eq!(c.payment_id, p.payment_id);
    assert_eq!(t.wallet.accounts().await.unwrap(), before);
}

#[tokio::test]
async fn cancel_of_a_paid_payment_within_the_window_returns_the_money_in_full() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 4_000, ALICE).await;
    t.advance_secs(t.config.cancel_window_secs);
    let (c, _) = cancelled(cancel(&t, &p.payment_id).await);
    assert_eq!(c.status, PaymentStatus::Cancelled);
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 0);
    // Nor can it be refunded afterwards.
    let refund = t
        .wallet
        .refund(t.refund_cmd("rf-1", &p.payment_id, usd_minor(1)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&refund), ResultCode::OrderStatusInvalid);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancel_of_a_paid_payment_after_the_window_is_refused_with_cancel_window_exceed() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 4_000, ALICE).await;
    t.advance_secs(t.config.cancel_window_secs + 1);
    let before = t.wallet.accounts().await.unwrap();
    assert_eq!(
        cancel_rejection(&cancel(&t, &p.payment_id).await),
        ResultCode::CancelWindowExceed
    );
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Success);
    assert_eq!(t.wallet.accounts().await.unwrap(), before);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancelling_twice_answers_cancelled_both_times_and_returns_the_money_once() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 4_000, ALICE).await;
    let (_, first_time) = cancelled(cancel(&t, &p.payment_id).await);
    t.advance_secs(60);
    let (again, second_time) = cancelled(cancel(&t, &p.payment_id).await);
    assert_eq!(again.status, PaymentStatus::Cancelled);
    assert_eq!(
        second_time, first_time,
        "the repeat reports the original cancel time"
    );
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 0);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancel_of_a_failed_payment_is_refused_with_order_status_invalid() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 100)).await;
    t.wallet
        .decline_payment(&p.payment_id, "User declined.")
        .await
        .unwrap();
    assert_eq!(
        cancel_rejection(&cancel(&t, &p.payment_id).await),
        ResultCode::OrderStatusInvalid
    );
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Fail);
}

#[tokio::test]
async fn cancel_of_an_unknown_or_foreign_payment_is_refused_with_order_not_exist() {
    let t = spawn_wallet().await;
    assert_eq!(
        cancel_rejection(&cancel(&t, "no-such-payment").await),
        ResultCode::OrderNotExist
    );
    let p = t.paid_payment("req-1", 100, ALICE).await;
    let foreign = t
        .wallet
        .cancel_payment(OTHER_CLIENT, None, by_id(&p.payment_id))
        .await
        .unwrap();
    assert_eq!(cancel_rejection(&foreign), ResultCode::OrderNotExist);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Success);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancel_of_a_paid_payment_with_a_refund_is_refused_with_order_status_invalid() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 4_000, ALICE).await;
    t.refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(1_000)))
        .await;
    let before = t.wallet.accounts().await.unwrap();
    assert_eq!(
        cancel_rejection(&cancel(&t, &p.payment_id).await),
        ResultCode::OrderStatusInvalid
    );
    assert_eq!(t.wallet.accounts().await.unwrap(), before);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Success);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancel_when_the_merchant_balance_is_too_low_is_refused_with_merchant_balance_not_enough() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 4_000, ALICE).await;
    t.paid_payment("req-2", 1_000, BOB).await;
    // The merchant was paid out most of what it took.
    t.pay_out_merchant(2_000).await;
    let before = t.wallet.accounts().await.unwrap();
    assert_eq!(
        cancel_rejection(&cancel(&t, &p.payment_id).await),
        ResultCode::MerchantBalanceNotEnough
    );
    assert_eq!(t.wallet.accounts().await.unwrap(), before);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Success);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn cancel_with_another_clients_partner_id_is_refused_with_access_denied() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 100)).await;
    let out = t
        .wallet
        .cancel_payment(CLIENT, Some(OTHER_PARTNER.into()), by_id(&p.payment_id))
        .await
        .unwrap();
    assert_eq!(cancel_rejection(&out), ResultCode::AccessDenied);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Processing);
}
