//! Sandbox mode: the reserved amounts 9901–9905 force their outcomes (`sandbox::pay_outcome`);
//! outside sandbox mode they are ordinary amounts.

use crate::helpers::*;
use walletd_core::payments::{PayOutcome, PaymentStatus};
use walletd_core::sandbox::pay_outcome;
use walletd_core::WalletConfig;
use walletd_protocol::{ResultCode, ResultStatus};

fn sandbox_config() -> WalletConfig {
    WalletConfig {
        sandbox: true,
        ..test_config()
    }
}

#[tokio::test]
async fn sandbox_amounts_that_end_in_f_are_refused_with_their_code_and_create_nothing() {
    let t = spawn_wallet_with(sandbox_config()).await;
    for (amount, code) in [
        (9901, ResultCode::RiskReject),
        (9902, ResultCode::UserStatusAbnormal),
        (9904, ResultCode::UserBalanceNotEnough),
    ] {
        let out = t
            .wallet
            .pay(t.pay_cmd(&format!("req-{amount}"), amount))
            .await
            .unwrap();
        assert_eq!(pay_rejection(&out), code, "amount {amount}");
        assert_eq!(code.status(), ResultStatus::Failed);
        // The refusal is stored like any other.
        assert_eq!(
            t.wallet
                .pay(t.pay_cmd(&format!("req-{amount}"), amount))
                .await
                .unwrap(),
            out
        );
    }
    assert!(t.wallet.list_payments(None, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn sandbox_amounts_that_end_in_u_answer_unknown_and_the_payment_exists() {
    let t = spawn_wallet_with(sandbox_config()).await;
    for (amount, code) in [
        (9903, ResultCode::UnknownException),
        (9905, ResultCode::PaymentInProcess),
    ] {
        let req = format!("req-{amount}");
        let out = t.wallet.pay(t.pay_cmd(&req, amount)).await.unwrap();
        let PayOutcome::Unknown {
            code: got,
            message,
            payment: Some(p),
        } = out
        else {
            panic!("amount {amount}: expected U with a payment, got {out:?}");
        };
        assert_eq!(got, code, "amount {amount}");
        assert_eq!(Some((code, message.as_str())), pay_outcome(amount));
        assert_eq!(p.status, PaymentStatus::Processing);
        let found = t.wallet.inquire_payment(CLIENT, by_request(&req)).await.unwrap();
        assert_eq!(found, Some(p.clone()), "inquiry finds the payment");
        // A repeat reports the payment as it now stands (docs/mini-program.md §14).
        match t.wallet.pay(t.pay_cmd(&req, amount)).await.unwrap() {
            PayOutcome::Accepted(again) => assert_eq!(again.payment_id, p.payment_id),
            other => panic!("amount {amount}: a repeat must report the payment, got {other:?}"),
        }
        // It can be paid like any other.
        t.wallet.top_up(ALICE, usd_minor(amount)).await.unwrap();
        t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
        assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Success);
    }
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn sandbox_leaves_other_amounts_alone() {
    let t = spawn_wallet_with(sandbox_config()).await;
    for amount in [9900, 9906, 99_010] {
        t.accepted_payment(t.pay_cmd(&format!("req-{amount}"), amount))
            .await;
    }
}

#[tokio::test]
async fn reserved_amounts_are_ordinary_outside_sandbox_mode() {
    let t = spawn_wallet().await;
    assert!(!t.config.sandbox);
    for amount in 9901..=9905 {
        let p = t
            .accepted_payment(t.pay_cmd(&format!("req-{amount}"), amount))
            .await;
        assert_eq!(p.amount_minor, amount);
    }
    let p = t
        .wallet
        .inquire_payment(CLIENT, by_request("req-9904"))
        .await
        .unwrap()
        .expect("exists");
    t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Success);
    assert_books_sound(&t.wallet).await;
}

#[test]
fn sandbox_table_covers_exactly_9901_to_9905() {
    for amount in 9890..9920 {
        assert_eq!(
            pay_outcome(amount).is_some(),
            (9901..=9905).contains(&amount),
            "amount {amount}"
        );
    }
}

// ---- refunds and captures (`walletd_core::sandbox`) ----

use walletd_core::captures::{CaptureCommand, CaptureOutcome};
use walletd_core::payments::{ApprovalOutcome, PayFactors, Payment};
use walletd_core::refunds::{RefundOutcome, RefundRef, RefundStatus};
use walletd_core::sandbox::{capture_outcome, refund_outcome};

/// A paid payment big enough for every reserved refund amount.
const PAID_MINOR: i64 = 50_000;

fn refund_by_request(refund_request_id: &str) -> RefundRef {
    RefundRef {
        refund_id: None,
        refund_request_id: Some(refund_request_id.into()),
    }
}

/// An authorization of `amount_minor` that alice approved (funds held, nothing captured).
async fn approved_authorization(t: &TestWallet, req: &str, amount_minor: i64) -> Payment {
    let mut cmd = t.pay_cmd(req, amount_minor);
    cmd.factors = PayFactors {
        authorization: true,
        evaluation: false,
    };
    let p = t.accepted_payment(cmd).await;
    match t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap() {
        ApprovalOutcome::Done(p) => p,
        other => panic!("expected the authorization to be approved, got {other:?}"),
    }
}

fn capture_cmd(req: &str, payment_id: &str, amount_minor: i64, is_last: bool) -> CaptureCommand {
    CaptureCommand {
        client_id: CLIENT.into(),
        partner_id: None,
        capture_request_id: req.into(),
        payment_id: payment_id.into(),
        amount: Some(positive(usd_minor(amount_minor))),
        is_last,
    }
}

#[tokio::test]
async fn sandbox_refund_amounts_that_end_in_f_are_refused_with_their_code_and_move_nothing() {
    let t = spawn_wallet_with(sandbox_config()).await;
    t.wallet.top_up(ALICE, usd_minor(PAID_MINOR)).await.unwrap();
    let p = t.paid_payment("pay-1", PAID_MINOR, ALICE).await;
    for (amount, code) in [
        (9911, ResultCode::RefundAmountExceed),
        (9912, ResultCode::PartnerBalanceNotEnough),
    ] {
        let before = t.wallet.accounts().await.unwrap();
        let req = format!("refund-{amount}");
        let out = t
            .wallet
            .refund(t.refund_cmd(&req, &p.payment_id, usd_minor(amount)))
            .await
            .unwrap();
        assert_eq!(refund_rejection(&out), code, "amount {amount}");
        assert_eq!(code.status(), ResultStatus::Failed);
        assert_no_money_moved(&before, &t.wallet.accounts().await.unwrap());
        // The refusal is stored like any other: a retry gets it again.
        let again = t
            .wallet
            .refund(t.refund_cmd(&req, &p.payment_id, usd_minor(amount)))
            .await
            .unwrap();
        assert_eq!(again, out);
        assert_eq!(
            t.wallet
                .inquire_refund(CLIENT, refund_by_request(&req))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(t.payment(&p.payment_id).await.refunded_minor, 0);
}

#[tokio::test]
async fn sandbox_refund_amount_9913_answers_u_and_the_refund_is_made() {
    let t = spawn_wallet_with(sandbox_config()).await;
    t.wallet.top_up(ALICE, usd_minor(PAID_MINOR)).await.unwrap();
    let p = t.paid_payment("pay-1", PAID_MINOR, ALICE).await;
    let (alice_before, _) = t.user_balance(ALICE, usd()).await;
    let cmd = t.refund_cmd("refund-u", &p.payment_id, usd_minor(9913));
    let out = t.wallet.refund(cmd.clone()).await.unwrap();
    let RefundOutcome::Unknown {
        code,
        message,
        refund,
    } = out
    else {
        panic!("expected U with the refund, got {out:?}");
    };
    assert_eq!(Some((code, message.as_str())), refund_outcome(9913));
    assert_eq!(code, ResultCode::UnknownException);
    assert_eq!(refund.status, RefundStatus::Success);
    // Inquiry tells the truth: the money went back.
    let found = t
        .wallet
        .inquire_refund(CLIENT, refund_by_request("refund-u"))
        .await
        .unwrap();
    assert_eq!(found, Some(refund.clone()));
    assert_eq!(t.payment(&p.payment_id).await.refunded_minor, 9913);
    assert_eq!(t.user_balance(ALICE, usd()).await.0, alice_before + 9913);
    // A retry with the same refundRequestId answers S with the same refund, and moves nothing more.
    assert_eq!(
        t.wallet.refund(cmd).await.unwrap(),
        RefundOutcome::Succeeded(refund)
    );
    assert_eq!(t.payment(&p.payment_id).await.refunded_minor, 9913);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn sandbox_capture_amounts_that_end_in_f_are_refused_and_the_authorization_still_holds() {
    let t = spawn_wallet_with(sandbox_config()).await;
    t.wallet.top_up(ALICE, usd_minor(PAID_MINOR)).await.unwrap();
    let auth = approved_authorization(&t, "auth-1", PAID_MINOR).await;
    for (amount, code) in [
        (9921, ResultCode::CaptureAmountExceedAuthLimit),
        (9922, ResultCode::AuthExpired),
    ] {
        let before = t.wallet.accounts().await.unwrap();
        let req = format!("capture-{amount}");
        let out = t
            .wallet
            .capture(capture_cmd(&req, &auth.payment_id, amount, true))
            .await
            .unwrap();
        let CaptureOutcome::Rejected { code: got, .. } = &out else {
            panic!("amount {amount}: expected F, got {out:?}");
        };
        assert_eq!(*got, code, "amount {amount}");
        assert_no_money_moved(&before, &t.wallet.accounts().await.unwrap());
        let again = t
            .wallet
            .capture(capture_cmd(&req, &auth.payment_id, amount, true))
            .await
            .unwrap();
        assert_eq!(again, out, "a retry gets the stored refusal");
    }
    assert_eq!(t.payment(&auth.payment_id).await, auth, "nothing captured");
    // The authorization still holds: an ordinary capture takes it.
    let out = t
        .wallet
        .capture(capture_cmd("capture-real", &auth.payment_id, 1000, true))
        .await
        .unwrap();
    assert!(matches!(out, CaptureOutcome::Captured { .. }), "{out:?}");
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn sandbox_capture_amount_9923_answers_u_and_the_capture_is_made() {
    let t = spawn_wallet_with(sandbox_config()).await;
    t.wallet.top_up(ALICE, usd_minor(PAID_MINOR)).await.unwrap();
    let auth = approved_authorization(&t, "auth-1", PAID_MINOR).await;
    let cmd = capture_cmd("capture-u", &auth.payment_id, 9923, true);
    let out = t.wallet.capture(cmd.clone()).await.unwrap();
    let CaptureOutcome::Unknown {
        code,
        message,
        capture,
        payment,
    } = out
    else {
        panic!("expected U with the capture, got {out:?}");
    };
    assert_eq!(Some((code, message.as_str())), capture_outcome(9923));
    assert_eq!(capture.amount_minor, 9923);
    // Inquiry tells the truth: the last capture closed the authorization.
    let found = t
        .wallet
        .inquire_payment(CLIENT, by_id(&auth.payment_id))
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(found, payment);
    assert_eq!(found.status, PaymentStatus::Success);
    assert_eq!(found.captured_minor, 9923);
    assert_eq!(
        t.wallet.captures_of(&auth.payment_id).await.unwrap(),
        vec![capture.clone()]
    );
    // A retry with the same captureRequestId answers S with the same capture, nothing more moves.
    match t.wallet.capture(cmd).await.unwrap() {
        CaptureOutcome::Captured { capture: again, .. } => assert_eq!(again, capture),
        other => panic!("a retry must report the capture, got {other:?}"),
    }
    assert_eq!(t.wallet.captures_of(&auth.payment_id).await.unwrap().len(), 1);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn reserved_refund_and_capture_amounts_are_ordinary_outside_sandbox_mode() {
    let t = spawn_wallet().await;
    // One payment and one authorization of PAID_MINOR each.
    t.wallet.top_up(ALICE, usd_minor(2 * PAID_MINOR)).await.unwrap();
    let p = t.paid_payment("pay-1", PAID_MINOR, ALICE).await;
    for amount in [9911, 9912, 9913] {
        t.refund_ok(t.refund_cmd(&format!("refund-{amount}"), &p.payment_id, usd_minor(amount)))
            .await;
    }
    let auth = approved_authorization(&t, "auth-1", PAID_MINOR).await;
    for (n, amount) in [9921, 9922, 9923].into_iter().enumerate() {
        let out = t
            .wallet
            .capture(capture_cmd(
                &format!("capture-{n}"),
                &auth.payment_id,
                amount,
                false,
            ))
            .await
            .unwrap();
        assert!(
            matches!(out, CaptureOutcome::Captured { .. }),
            "{amount}: {out:?}"
        );
    }
    assert_books_sound(&t.wallet).await;
}

#[test]
fn sandbox_refund_and_capture_tables_cover_exactly_their_reserved_amounts() {
    for amount in 9890..9940 {
        assert_eq!(
            refund_outcome(amount).is_some(),
            (9911..=9913).contains(&amount),
            "refund amount {amount}"
        );
        assert_eq!(
            capture_outcome(amount).is_some(),
            (9921..=9923).contains(&amount),
            "capture amount {amount}"
        );
        // U outcomes are exactly the ones that end in 3, so the table reads the same way for all.
        for outcome in [refund_outcome(amount), capture_outcome(amount)]
            .into_iter()
            .flatten()
        {
            assert_eq!(
                outcome.0.status() == ResultStatus::Unknown,
                amount % 10 == 3,
                "amount {amount}"
            );
        }
    }
}
