//! Sandbox mode: the reserved amounts 9901–9905 force their outcomes (`payments::sandbox_outcome`);
//! outside sandbox mode they are ordinary amounts.

use crate::helpers::*;
use walletd_core::payments::{sandbox_outcome, PayOutcome, PaymentStatus};
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
        assert_eq!(Some((code, message.as_str())), sandbox_outcome(amount));
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
            sandbox_outcome(amount).is_some(),
            (9901..=9905).contains(&amount),
            "amount {amount}"
        );
    }
}
