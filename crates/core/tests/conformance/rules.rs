//! The idempotency and ledger rules, through the `Wallet`, on every backend.

use crate::backend::{usd_minor, Fixture, ALICE, ALICE_USD, BOB, BOB_USD, CLIENT, NOTIFY_URL};
use walletd_core::outbox::{Attempt, OutboxKind, OutboxStatus};
use walletd_core::payments::{
    ApprovalOutcome, CancelOutcome, PayOutcome, PaymentRef, PaymentStatus, EXPIRED_REASON,
};
use walletd_core::refunds::RefundOutcome;
use walletd_protocol::ResultCode;

for_each_backend!(
    a_confirmed_payment_moves_money_and_is_notified,
    a_declined_payment_releases_its_hold,
    cancel_closes_unpaid_and_returns_paid_payments,
    an_expired_payment_fails_once_and_releases_its_hold,
    refunds_are_partial_bounded_and_idempotent,
    a_pay_request_id_keeps_its_first_outcome,
    a_hold_larger_than_the_balance_is_refused,
    notifications_are_leased_and_recorded,
    one_time_values_through_the_wallet,
);

async fn a_confirmed_payment_moves_money_and_is_notified(f: Fixture) {
    let f = f.seeded().await;
    let p = f.accepted("req-1", 2_500, None).await;
    assert_eq!(p.status, PaymentStatus::Processing);
    assert_eq!(
        f.balance(ALICE).await,
        (ALICE_USD, ALICE_USD),
        "nothing held before the cashier"
    );
    let done = match f
        .wallet
        .confirm_payment(&p.payment_id, ALICE)
        .await
        .expect("confirm")
    {
        ApprovalOutcome::Done(p) => p,
        other => panic!("expected Done, got {other:?}"),
    };
    assert_eq!(done.status, PaymentStatus::Success);
    assert_eq!(done.payer_user_id.as_deref(), Some(ALICE));
    assert_eq!(f.balance(ALICE).await, (ALICE_USD - 2_500, ALICE_USD - 2_500));
    assert_eq!(f.merchant_balance().await, 2_500);

    let again = f
        .wallet
        .confirm_payment(&p.payment_id, ALICE)
        .await
        .expect("confirm again");
    assert!(
        matches!(
            again,
            ApprovalOutcome::Refused {
                code: ResultCode::OrderStatusInvalid,
                ..
            }
        ),
        "{again:?}"
    );
    assert_eq!(f.balance(ALICE).await.0, ALICE_USD - 2_500, "paid once");

    let notes = f.wallet.list_notifications(10).await.expect("list");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].subject_id, p.payment_id);
    assert_eq!(notes[0].kind, OutboxKind::PaymentResult);
    assert_eq!(notes[0].url, NOTIFY_URL);
    assert_eq!(notes[0].status, OutboxStatus::Pending);
    assert_eq!(notes[0].snapshot["status"], "SUCCESS");
    f.assert_sound().await;
}

async fn a_declined_payment_releases_its_hold(f: Fixture) {
    let f = f.seeded().await;
    let p = f.accepted("req-1", 4_000, Some(BOB)).await;
    assert_eq!(
        f.balance(BOB).await,
        (BOB_USD, BOB_USD - 4_000),
        "held, not taken"
    );
    let out = f
        .wallet
        .decline_payment(&p.payment_id, "The user declined.")
        .await
        .expect("decline");
    let ApprovalOutcome::Done(failed) = out else {
        panic!("expected Done, got {out:?}")
    };
    assert_eq!(failed.status, PaymentStatus::Fail);
    assert_eq!(failed.fail_reason.as_deref(), Some("The user declined."));
    assert_eq!(f.balance(BOB).await, (BOB_USD, BOB_USD));
    assert_eq!(f.merchant_balance().await, 0);
    let notes = f.wallet.list_notifications(10).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].snapshot["status"], "FAIL");
    f.assert_sound().await;
}

async fn cancel_closes_unpaid_and_returns_paid_payments(f: Fixture) {
    let f = f.seeded().await;
    let by_id = |id: &str| PaymentRef {
        payment_id: Some(id.into()),
        payment_request_id: None,
    };
    let unpaid = f.accepted("req-unpaid", 1_000, Some(ALICE)).await;
    let out = f
        .wallet
        .cancel_payment(CLIENT, None, by_id(&unpaid.payment_id))
        .await
        .expect("cancel");
    let CancelOutcome::Cancelled { payment, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(payment.status, PaymentStatus::Cancelled);
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD), "hold released");

    let paid = f.accepted("req-paid", 3_000, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&paid.payment_id, ALICE)
        .await
        .expect("confirm");
    assert_eq!(f.balance(ALICE).await.0, ALICE_USD - 3_000);
    let out = f
        .wallet
        .cancel_payment(CLIENT, None, by_id(&paid.payment_id))
        .await
        .expect("cancel");
    assert!(matches!(out, CancelOutcome::Cancelled { .. }), "{out:?}");
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD), "money returned");
    assert_eq!(f.merchant_balance().await, 0);

    let repeat = f
        .wallet
        .cancel_payment(
            CLIENT,
            None,
            PaymentRef {
                payment_id: None,
                payment_request_id: Some("req-paid".into()),
            },
        )
        .await
        .expect("cancel again");
    assert!(matches!(repeat, CancelOutcome::Cancelled { .. }), "{repeat:?}");
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD), "returned once");
    let missing = f
        .wallet
        .cancel_payment(CLIENT, None, by_id("nope"))
        .await
        .expect("cancel");
    assert!(
        matches!(
            missing,
            CancelOutcome::Rejected {
                code: ResultCode::OrderNotExist,
                ..
            }
        ),
        "{missing:?}"
    );
    f.assert_sound().await;
}

async fn an_expired_payment_fails_once_and_releases_its_hold(f: Fixture) {
    let f = f.seeded().await;
    let held = f.accepted("req-held", 2_000, Some(ALICE)).await;
    let unheld = f.accepted("req-unheld", 500, None).await;
    f.advance_secs(14 * 60);
    assert_eq!(f.wallet.expire_due(100).await.unwrap(), 0, "not yet");
    f.advance_secs(60);
    assert_eq!(f.wallet.expire_due(100).await.unwrap(), 2);
    assert_eq!(
        f.wallet.expire_due(100).await.unwrap(),
        0,
        "each payment expires once"
    );
    for id in [&held.payment_id, &unheld.payment_id] {
        let p = f.wallet.get_payment(id).await.unwrap().expect("payment");
        assert_eq!(p.status, PaymentStatus::Fail);
        assert_eq!(p.fail_reason.as_deref(), Some(EXPIRED_REASON));
    }
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD));
    assert_eq!(f.wallet.list_notifications(10).await.unwrap().len(), 2);
    let late = f
        .wallet
        .confirm_payment(&held.payment_id, ALICE)
        .await
        .expect("confirm");
    assert!(matches!(late, ApprovalOutcome::Refused { .. }), "{late:?}");
    f.assert_sound().await;
}

async fn refunds_are_partial_bounded_and_idempotent(f: Fixture) {
    let f = f.seeded().await;
    let p = f.accepted("req-1", 6_000, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&p.payment_id, ALICE)
        .await
        .expect("confirm");

    let first = match f
        .wallet
        .refund(f.refund_cmd("rf-1", &p.payment_id, 2_500))
        .await
        .unwrap()
    {
        RefundOutcome::Succeeded(r) => r,
        other => panic!("{other:?}"),
    };
    let replay = f
        .wallet
        .refund(f.refund_cmd("rf-1", &p.payment_id, 2_500))
        .await
        .unwrap();
    assert_eq!(
        replay,
        RefundOutcome::Succeeded(first.clone()),
        "the same refund again"
    );
    let inconsistent = f
        .wallet
        .refund(f.refund_cmd("rf-1", &p.payment_id, 100))
        .await
        .unwrap();
    assert!(
        matches!(
            inconsistent,
            RefundOutcome::Rejected {
                code: ResultCode::RepeatReqInconsistent,
                ..
            }
        ),
        "{inconsistent:?}"
    );
    let too_much = f
        .wallet
        .refund(f.refund_cmd("rf-2", &p.payment_id, 3_501))
        .await
        .unwrap();
    assert!(
        matches!(
            too_much,
            RefundOutcome::Rejected {
                code: ResultCode::RefundAmountExceed,
                ..
            }
        ),
        "{too_much:?}"
    );
    let rest = f
        .wallet
        .refund(f.refund_cmd("rf-3", &p.payment_id, 3_500))
        .await
        .unwrap();
    assert!(matches!(rest, RefundOutcome::Succeeded(_)), "{rest:?}");
    let none_left = f
        .wallet
        .refund(f.refund_cmd("rf-4", &p.payment_id, 1))
        .await
        .unwrap();
    assert!(
        matches!(none_left, RefundOutcome::Rejected { .. }),
        "{none_left:?}"
    );
    // The refused request keeps its refusal.
    let replayed_refusal = f
        .wallet
        .refund(f.refund_cmd("rf-2", &p.payment_id, 3_501))
        .await
        .unwrap();
    assert_eq!(replayed_refusal, too_much);

    let stored = f
        .wallet
        .get_payment(&p.payment_id)
        .await
        .unwrap()
        .expect("payment");
    assert_eq!(stored.refunded_minor, 6_000);
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, ALICE_USD));
    assert_eq!(f.merchant_balance().await, 0);
    f.assert_sound().await;
}

async fn a_pay_request_id_keeps_its_first_outcome(f: Fixture) {
    let f = f.seeded().await;
    let first = f.accepted("req-1", 1_000, None).await;
    let again = f.wallet.pay(f.pay_cmd("req-1", 1_000, None)).await.unwrap();
    assert_eq!(again, PayOutcome::Accepted(first.clone()), "the same payment");
    let other = f.wallet.pay(f.pay_cmd("req-1", 1_001, None)).await.unwrap();
    assert!(
        matches!(
            other,
            PayOutcome::Rejected {
                code: ResultCode::RepeatReqInconsistent,
                ..
            }
        ),
        "{other:?}"
    );
    f.wallet
        .confirm_payment(&first.payment_id, BOB)
        .await
        .expect("confirm");
    let after = f.wallet.pay(f.pay_cmd("req-1", 1_000, None)).await.unwrap();
    assert!(
        matches!(&after, PayOutcome::Succeeded(p) if p.payment_id == first.payment_id),
        "a repeat reports the payment as it is now: {after:?}"
    );

    // A refusal is an outcome too: topping up does not turn a repeat into a payment.
    let refused = f
        .wallet
        .pay(f.pay_cmd("req-2", BOB_USD, Some(BOB)))
        .await
        .unwrap();
    assert!(
        matches!(
            refused,
            PayOutcome::Rejected {
                code: ResultCode::UserBalanceNotEnough,
                ..
            }
        ),
        "{refused:?}"
    );
    f.wallet.top_up(BOB, usd_minor(100_000)).await.expect("top up");
    let repeat = f
        .wallet
        .pay(f.pay_cmd("req-2", BOB_USD, Some(BOB)))
        .await
        .unwrap();
    assert_eq!(repeat, refused);
    let payments = f.wallet.list_payments(Some(CLIENT.into()), 100).await.unwrap();
    assert_eq!(payments.len(), 1, "{payments:?}");
    f.assert_sound().await;
}

async fn a_hold_larger_than_the_balance_is_refused(f: Fixture) {
    let f = f.seeded().await;
    let out = f
        .wallet
        .pay(f.pay_cmd("req-big", ALICE_USD + 1, Some(ALICE)))
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            PayOutcome::Rejected {
                code: ResultCode::UserBalanceNotEnough,
                ..
            }
        ),
        "{out:?}"
    );
    let exact = f.accepted("req-exact", ALICE_USD, Some(ALICE)).await;
    assert_eq!(f.balance(ALICE).await, (ALICE_USD, 0));
    let one_more = f.wallet.pay(f.pay_cmd("req-one", 1, Some(ALICE))).await.unwrap();
    assert!(
        matches!(
            one_more,
            PayOutcome::Rejected {
                code: ResultCode::UserBalanceNotEnough,
                ..
            }
        ),
        "{one_more:?}"
    );
    // A cashier payment confirmed without funds leaves the payment payable.
    let cashier = f.accepted("req-cashier", 1, None).await;
    let refused = f
        .wallet
        .confirm_payment(&cashier.payment_id, ALICE)
        .await
        .unwrap();
    assert!(
        matches!(
            refused,
            ApprovalOutcome::Refused {
                code: ResultCode::UserBalanceNotEnough,
                ..
            }
        ),
        "{refused:?}"
    );
    let still = f
        .wallet
        .get_payment(&cashier.payment_id)
        .await
        .unwrap()
        .expect("payment");
    assert_eq!(still.status, PaymentStatus::Processing);
    f.wallet
        .confirm_payment(&exact.payment_id, ALICE)
        .await
        .expect("confirm");
    assert_eq!(f.balance(ALICE).await, (0, 0));
    f.assert_sound().await;
}

async fn notifications_are_leased_and_recorded(f: Fixture) {
    let f = f.seeded().await;
    let p = f.accepted("req-1", 100, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&p.payment_id, ALICE)
        .await
        .expect("confirm");
    let claimed = f.wallet.claim_notifications(30, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        f.wallet.claim_notifications(30, 10).await.unwrap().is_empty(),
        "leased"
    );
    let attempt = |delivered: bool| Attempt {
        at: f.wallet.now(),
        http_status: Some(if delivered { 200 } else { 500 }),
        latency_ms: 12,
        answer: if delivered {
            "SUCCESS".into()
        } else {
            "oops".into()
        },
        delivered,
        sent: None,
    };
    let retry_at = f.wallet.now() + chrono::Duration::seconds(10);
    let e = f
        .wallet
        .record_attempt(&claimed[0].id, attempt(false), Some(retry_at))
        .await
        .unwrap();
    assert_eq!(
        (e.status, e.lease_until, e.attempts.len()),
        (OutboxStatus::Pending, None, 1)
    );
    assert!(
        f.wallet.claim_notifications(30, 10).await.unwrap().is_empty(),
        "not due yet"
    );
    f.advance_secs(10);
    let again = f.wallet.claim_notifications(30, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, claimed[0].id, "a re-delivery carries the same id");
    let e = f
        .wallet
        .record_attempt(&again[0].id, attempt(true), None)
        .await
        .unwrap();
    assert_eq!((e.status, e.attempts.len()), (OutboxStatus::Delivered, 2));
    f.advance_secs(3600);
    assert!(
        f.wallet.claim_notifications(30, 10).await.unwrap().is_empty(),
        "delivered"
    );
    let resent = f.wallet.resend_notification(&e.id).await.unwrap();
    assert_eq!(resent.status, OutboxStatus::Pending);
    assert_eq!(
        f.wallet.claim_notifications(30, 10).await.unwrap().len(),
        1,
        "an operator's resend"
    );
}

async fn one_time_values_through_the_wallet(f: Fixture) {
    assert!(f.wallet.claim_once("alphapay-nonce", "abc", 300).await.unwrap());
    assert!(!f.wallet.claim_once("alphapay-nonce", "abc", 300).await.unwrap());
    f.advance_secs(300);
    assert!(f.wallet.claim_once("alphapay-nonce", "abc", 300).await.unwrap());
}
