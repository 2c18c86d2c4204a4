//! Refunds (docs/mini-program.md §12): partial and repeated, never above the paid amount, in the
//! payment's currency, within the window, paid from the merchant's balance.

use crate::helpers::*;
use walletd_core::outbox::OutboxKind;
use walletd_core::payments::PaymentStatus;
use walletd_core::refunds::{RefundRef, RefundStatus};
use walletd_protocol::ResultCode;

#[tokio::test]
async fn partial_refunds_add_up_to_the_paid_amount_and_never_beyond() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    let r1 = t
        .refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(1_000)))
        .await;
    assert_eq!(r1.status, RefundStatus::Success);
    assert_eq!(r1.amount_minor, 1_000);
    assert_eq!(r1.payment_id, p.payment_id);
    assert!(r1.refunded_at.is_some() && r1.transfer_id.is_some());
    t.refund_ok(t.refund_cmd("rf-2", &p.payment_id, usd_minor(1_500)))
        .await;

    let over = t
        .wallet
        .refund(t.refund_cmd("rf-3", &p.payment_id, usd_minor(501)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&over), ResultCode::RefundAmountExceed);
    t.refund_ok(t.refund_cmd("rf-4", &p.payment_id, usd_minor(500)))
        .await;
    let one_more = t
        .wallet
        .refund(t.refund_cmd("rf-5", &p.payment_id, usd_minor(1)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&one_more), ResultCode::RefundAmountExceed);

    let stored = t.payment(&p.payment_id).await;
    assert_eq!(stored.refunded_minor, 3_000);
    assert_eq!(
        stored.status,
        PaymentStatus::Success,
        "a refunded payment stays SUCCESS"
    );
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 0);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_of_more_than_the_payment_in_one_go_is_refused_with_refund_amount_exceed() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    t.paid_payment("req-2", 3_000, BOB).await; // the merchant could afford it
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-1", &p.payment_id, usd_minor(3_001)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::RefundAmountExceed);
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 6_000);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_by_payment_request_id_finds_the_payment() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    let mut cmd = t.refund_cmd("rf-1", "", usd_minor(300));
    cmd.payment = by_request("req-1");
    let r = t.refund_ok(cmd).await;
    assert_eq!(r.payment_id, p.payment_id);
    assert_eq!(r.payment_request_id, "req-1");
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_in_another_currency_is_refused_with_currency_not_support() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-1", &p.payment_id, money(eur(), 100)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::CurrencyNotSupport);
    assert_eq!(t.payment(&p.payment_id).await.refunded_minor, 0);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_of_an_unpaid_payment_is_refused_with_order_status_invalid() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 3_000)).await;
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-1", &p.payment_id, usd_minor(100)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::OrderStatusInvalid);
    t.wallet.decline_payment(&p.payment_id, "no").await.unwrap();
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-2", &p.payment_id, usd_minor(100)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::OrderStatusInvalid);
}

#[tokio::test]
async fn refund_of_an_unknown_payment_is_refused_with_order_not_exist() {
    let t = spawn_wallet().await;
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-1", "no-such-payment", usd_minor(100)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::OrderNotExist);
}

#[tokio::test]
async fn refund_window_ends_exactly_refund_window_secs_after_payment() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    t.advance_secs(t.config.refund_window_secs);
    t.refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(100)))
        .await;
    t.advance_secs(1);
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-2", &p.payment_id, usd_minor(100)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::RefundWindowExceed);
    assert_eq!(t.payment(&p.payment_id).await.refunded_minor, 100);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_window_counts_from_payment_not_creation() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 3_000)).await;
    t.advance_secs(600);
    t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    t.advance_secs(t.config.refund_window_secs);
    t.refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(100)))
        .await;
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_when_the_merchant_balance_is_too_low_is_refused_with_partner_balance_not_enough() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    t.pay_out_merchant(2_500).await;
    let before = t.wallet.accounts().await.unwrap();
    let out = t
        .wallet
        .refund(t.refund_cmd("rf-1", &p.payment_id, usd_minor(501)))
        .await
        .unwrap();
    assert_eq!(refund_rejection(&out), ResultCode::PartnerBalanceNotEnough);
    assert_eq!(t.wallet.accounts().await.unwrap(), before);
    assert_eq!(
        t.payment(&p.payment_id).await.refunded_minor,
        0,
        "a refused refund counts for nothing"
    );
    assert!(t
        .wallet
        .inquire_refund(
            CLIENT,
            RefundRef {
                refund_id: None,
                refund_request_id: Some("rf-1".into())
            }
        )
        .await
        .unwrap()
        .is_none());
    t.refund_ok(t.refund_cmd("rf-2", &p.payment_id, usd_minor(500)))
        .await;
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn inquire_refund_by_refund_id_or_request_id_and_refund_id_wins() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    let r1 = t
        .refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(100)))
        .await;
    let r2 = t
        .refund_ok(t.refund_cmd("rf-2", &p.payment_id, usd_minor(200)))
        .await;
    let by_refund_id = t.wallet.inquire_refund(
        CLIENT,
        RefundRef {
            refund_id: Some(r1.refund_id.clone()),
            refund_request_id: None,
        },
    );
    assert_eq!(by_refund_id.await.unwrap(), Some(r1.clone()));
    let by_request_id = t.wallet.inquire_refund(
        CLIENT,
        RefundRef {
            refund_id: None,
            refund_request_id: Some("rf-2".into()),
        },
    );
    assert_eq!(by_request_id.await.unwrap(), Some(r2.clone()));
    let both = RefundRef {
        refund_id: Some(r1.refund_id.clone()),
        refund_request_id: Some("rf-2".into()),
    };
    assert_eq!(t.wallet.inquire_refund(CLIENT, both).await.unwrap(), Some(r1));
    let unknown = RefundRef {
        refund_id: Some("no-such-refund".into()),
        refund_request_id: Some("rf-2".into()),
    };
    assert_eq!(
        t.wallet.inquire_refund(CLIENT, unknown).await.unwrap(),
        None,
        "refundId wins even when unknown"
    );
    assert_eq!(
        t.wallet
            .inquire_refund(CLIENT, RefundRef::default())
            .await
            .unwrap(),
        None
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn another_clients_payment_and_refunds_are_invisible() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    let r = t
        .refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(100)))
        .await;

    let mut foreign = t.refund_cmd("rf-x", &p.payment_id, usd_minor(100));
    foreign.client_id = OTHER_CLIENT.into();
    assert_eq!(
        refund_rejection(&t.wallet.refund(foreign).await.unwrap()),
        ResultCode::OrderNotExist
    );
    let mut foreign_by_request = t.refund_cmd("rf-y", "", usd_minor(100));
    foreign_by_request.client_id = OTHER_CLIENT.into();
    foreign_by_request.payment = by_request("req-1");
    assert_eq!(
        refund_rejection(&t.wallet.refund(foreign_by_request).await.unwrap()),
        ResultCode::OrderNotExist
    );

    let by_id = RefundRef {
        refund_id: Some(r.refund_id.clone()),
        refund_request_id: None,
    };
    assert_eq!(t.wallet.inquire_refund(OTHER_CLIENT, by_id).await.unwrap(), None);
    let by_req = RefundRef {
        refund_id: None,
        refund_request_id: Some("rf-1".into()),
    };
    assert_eq!(t.wallet.inquire_refund(OTHER_CLIENT, by_req).await.unwrap(), None);
    assert_eq!(t.payment(&p.payment_id).await.refunded_minor, 100);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn refund_with_a_notify_url_writes_a_refund_notice() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 3_000, ALICE).await;
    let quiet = t
        .refund_ok(t.refund_cmd("rf-1", &p.payment_id, usd_minor(100)))
        .await;
    assert!(t.notices_about(&quiet.refund_id).await.is_empty());
    let mut cmd = t.refund_cmd("rf-2", &p.payment_id, usd_minor(100));
    cmd.notify_url = Some(NOTIFY_URL.into());
    let loud = t.refund_ok(cmd).await;
    let notices = t.notices_about(&loud.refund_id).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, OutboxKind::RefundResult);
    assert_eq!(notices[0].url, NOTIFY_URL);
    assert_books_sound(&t.wallet).await;
}
