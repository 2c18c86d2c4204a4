//! Payments through the public `Wallet`: pay, confirm, decline, expiry, and every refusal of
//! docs/mini-program.md §9 that the core decides.

use crate::helpers::*;
use chrono::Duration;
use walletd_core::ledger::AccountKind;
use walletd_core::outbox::{OutboxKind, OutboxStatus};
use walletd_core::parties::{Limits, PartyStatus};
use walletd_core::payments::{ApprovalOutcome, Channel, PayOutcome, PaymentStatus, EXPIRED_REASON};
use walletd_protocol::ResultCode;

#[tokio::test]
async fn cashier_pay_is_accepted_processing_and_moves_no_money() {
    let t = spawn_wallet().await;
    let before = t.wallet.accounts().await.unwrap();
    let p = t.accepted_payment(t.pay_cmd("req-1", 1_250)).await;
    assert_eq!(p.status, PaymentStatus::Processing);
    assert_eq!(p.amount_minor, 1_250);
    assert_eq!(p.payer_user_id, None);
    assert_eq!(p.hold_transfer_id, None);
    assert_eq!(
        p.expires_at,
        t0() + Duration::seconds(t.config.payment_expiry_secs)
    );
    assert_eq!(
        t.wallet.accounts().await.unwrap(),
        before,
        "an accepted cashier payment moves no money"
    );
    let found = t
        .wallet
        .inquire_payment(CLIENT, by_request("req-1"))
        .await
        .unwrap()
        .expect("inquiry finds it");
    assert_eq!(found, p);
    assert!(
        t.notices_about(&p.payment_id).await.is_empty(),
        "nothing to notify before a final state"
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_by_a_funded_user_settles_the_payment_and_writes_its_notice() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 1_250)).await;
    t.advance_secs(30);
    let done = match t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap() {
        ApprovalOutcome::Done(p) => p,
        other => panic!("expected success, got {other:?}"),
    };
    assert_eq!(done.status, PaymentStatus::Success);
    assert_eq!(done.payer_user_id.as_deref(), Some(ALICE));
    assert_eq!(done.paid_at, Some(t0() + Duration::seconds(30)));
    assert!(done.settle_transfer_id.is_some());
    assert_eq!(
        t.user_balance(ALICE, usd()).await,
        (ALICE_USD - 1_250, ALICE_USD - 1_250)
    );
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 1_250);
    assert_eq!(
        t.payment(&p.payment_id).await,
        done,
        "the stored payment is the one returned"
    );

    let notices = t.notices_about(&p.payment_id).await;
    assert_eq!(notices.len(), 1, "one PaymentResult row: {notices:?}");
    assert_eq!(notices[0].kind, OutboxKind::PaymentResult);
    assert_eq!(notices[0].url, NOTIFY_URL);
    assert_eq!(notices[0].client_id, CLIENT);
    assert_eq!(notices[0].status, OutboxStatus::Pending);
    assert_eq!(notices[0].snapshot["status"], "SUCCESS");
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_without_a_notify_url_writes_no_notice() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 500);
    cmd.notify_url = None;
    let p = t.accepted_payment(cmd).await;
    let done = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert!(matches!(done, ApprovalOutcome::Done(ref p) if p.status == PaymentStatus::Success));
    assert!(t.notices_about(&p.payment_id).await.is_empty());
    assert!(t.wallet.list_notifications(100).await.unwrap().is_empty());
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_of_a_paid_payment_is_refused_and_takes_no_money_twice() {
    let t = spawn_wallet().await;
    let p = t.paid_payment("req-1", 1_000, ALICE).await;
    let again = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&again), ResultCode::OrderStatusInvalid);
    assert_eq!(t.user_balance(ALICE, usd()).await.0, ALICE_USD - 1_000);
    assert_eq!(payment_notices(&t.notices_about(&p.payment_id).await), 1);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_with_too_little_balance_is_refused_and_the_payment_stays_payable() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", BOB_USD + 1)).await;
    let before = t.wallet.accounts().await.unwrap();
    let refused = t.wallet.confirm_payment(&p.payment_id, BOB).await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::UserBalanceNotEnough);
    assert_no_money_moved(&before, &t.wallet.accounts().await.unwrap());
    let stored = t.payment(&p.payment_id).await;
    assert_eq!(stored.status, PaymentStatus::Processing);
    assert_eq!(
        stored.payer_user_id, None,
        "the refused user did not become the payer"
    );
    assert!(t.notices_about(&p.payment_id).await.is_empty());

    // Someone with the money can still pay it.
    let done = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert!(
        matches!(done, ApprovalOutcome::Done(ref p) if p.status == PaymentStatus::Success),
        "{done:?}"
    );
    assert_eq!(t.user_balance(BOB, usd()).await.0, BOB_USD);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_by_a_frozen_user_is_refused_with_user_status_abnormal() {
    let t = spawn_wallet().await;
    t.wallet
        .update_user(ALICE, |u| {
            u.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    let p = t.accepted_payment(t.pay_cmd("req-1", 100)).await;
    let refused = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::UserStatusAbnormal);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Processing);
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_by_an_unknown_user_is_refused_with_user_not_exist() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 100)).await;
    let refused = t.wallet.confirm_payment(&p.payment_id, "nobody").await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::UserNotExist);
    assert_eq!(t.payment(&p.payment_id).await.status, PaymentStatus::Processing);
}

#[tokio::test]
async fn user_per_payment_limit_refuses_with_user_amount_exceed_limit() {
    let t = spawn_wallet().await;
    t.wallet
        .update_user(ALICE, |u| {
            u.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: Some(1_000),
                    daily_minor: None,
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    let big = t.accepted_payment(t.pay_cmd("req-big", 1_001)).await;
    let refused = t.wallet.confirm_payment(&big.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::UserAmountExceedLimit);
    // Exactly the limit is fine, and the limit is per currency: EUR has none.
    t.paid_payment("req-ok", 1_000, ALICE).await;
    let mut cmd = t.pay_cmd("req-eur", 2_000);
    cmd.amount = positive(money(eur(), 2_000));
    let p = t.accepted_payment(cmd).await;
    assert!(matches!(
        t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap(),
        ApprovalOutcome::Done(_)
    ));
    // Named at pay time, the payer's limit refuses the pay request itself.
    let mut cmd = t.pay_cmd("req-named", 1_001);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    assert_eq!(
        pay_rejection(&t.wallet.pay(cmd).await.unwrap()),
        ResultCode::UserAmountExceedLimit
    );
    assert_eq!(
        t.user_balance(ALICE, usd()).await,
        (ALICE_USD - 1_000, ALICE_USD - 1_000)
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn user_daily_limit_counts_the_day_and_resets_the_next() {
    let t = spawn_wallet().await;
    t.wallet
        .update_user(ALICE, |u| {
            u.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: None,
                    daily_minor: Some(2_000),
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    t.paid_payment("req-1", 1_500, ALICE).await;
    let second = t.accepted_payment(t.pay_cmd("req-2", 600)).await;
    let refused = t.wallet.confirm_payment(&second.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::UserAmountExceedLimit);
    // What is left of the day can still be spent.
    t.paid_payment("req-3", 500, ALICE).await;
    // Tomorrow the count starts again.
    t.advance_secs(24 * 3600);
    t.paid_payment("req-4", 1_900, ALICE).await;
    assert_eq!(
        t.user_balance(ALICE, usd()).await.0,
        ALICE_USD - 1_500 - 500 - 1_900
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn client_per_payment_limit_refuses_with_payment_amount_exceed_limit() {
    let t = spawn_wallet().await;
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: Some(1_000),
                    daily_minor: None,
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    let out = t.wallet.pay(t.pay_cmd("req-big", 1_001)).await.unwrap();
    assert_eq!(pay_rejection(&out), ResultCode::PaymentAmountExceedLimit);
    assert!(t
        .wallet
        .inquire_payment(CLIENT, by_request("req-big"))
        .await
        .unwrap()
        .is_none());
    t.accepted_payment(t.pay_cmd("req-ok", 1_000)).await;
}

#[tokio::test]
async fn client_daily_limit_refuses_with_payment_amount_exceed_limit() {
    let t = spawn_wallet().await;
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: None,
                    daily_minor: Some(2_000),
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    t.paid_payment("req-1", 1_500, ALICE).await;
    let out = t.wallet.pay(t.pay_cmd("req-2", 600)).await.unwrap();
    assert_eq!(pay_rejection(&out), ResultCode::PaymentAmountExceedLimit);
    t.paid_payment("req-3", 500, BOB).await;
    t.advance_secs(24 * 3600);
    t.paid_payment("req-4", 2_000, ALICE).await;
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn client_daily_limit_counts_cashier_payments_confirmed_later() {
    // Two cashier payments each under the limit are both accepted (no payer, nothing taken yet),
    // but confirming the second would take the merchant past its daily limit.
    let t = spawn_wallet().await;
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.limits.insert(
                "USD".into(),
                Limits {
                    per_payment_minor: None,
                    daily_minor: Some(2_000),
                },
            );
            Ok(())
        })
        .await
        .unwrap();
    let first = t.accepted_payment(t.pay_cmd("req-1", 1_500)).await;
    let second = t.accepted_payment(t.pay_cmd("req-2", 1_500)).await;
    assert!(matches!(
        t.wallet.confirm_payment(&first.payment_id, ALICE).await.unwrap(),
        ApprovalOutcome::Done(_)
    ));
    let refused = t.wallet.confirm_payment(&second.payment_id, BOB).await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::PaymentAmountExceedLimit);
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 1_500);
    assert_eq!(t.user_balance(BOB, usd()).await, (BOB_USD, BOB_USD));
    assert_eq!(
        t.payment(&second.payment_id).await.status,
        PaymentStatus::Processing
    );
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn pay_in_a_currency_the_client_does_not_take_is_refused_with_currency_not_support() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-jpy", 100);
    cmd.amount = positive(money(jpy(), 100));
    assert_eq!(
        pay_rejection(&t.wallet.pay(cmd).await.unwrap()),
        ResultCode::CurrencyNotSupport
    );
    let mut cmd = t.pay_cmd("req-eur", 100);
    cmd.amount = positive(money(eur(), 100));
    t.accepted_payment(cmd).await;
}

#[tokio::test]
async fn pay_by_a_frozen_client_is_refused_with_partner_status_abnormal() {
    let t = spawn_wallet().await;
    t.wallet
        .update_client(CLIENT, |_, c| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        pay_rejection(&t.wallet.pay(t.pay_cmd("req-1", 100)).await.unwrap()),
        ResultCode::PartnerStatusAbnormal
    );
}

#[tokio::test]
async fn v1_partner_id_must_be_the_clients_own() {
    let t = spawn_wallet().await;
    let v1 = |req: &str, partner: &str| {
        let mut cmd = t.pay_cmd(req, 100);
        cmd.channel = Channel::MiniProgramV1;
        cmd.app_id = None;
        cmd.partner_id = Some(partner.into());
        cmd
    };
    assert_eq!(
        pay_rejection(&t.wallet.pay(v1("req-1", OTHER_PARTNER)).await.unwrap()),
        ResultCode::AccessDenied
    );
    assert_eq!(
        pay_rejection(&t.wallet.pay(v1("req-2", "no-such-partner")).await.unwrap()),
        ResultCode::PartnerNotExist
    );
    let p = t.accepted_payment(v1("req-3", PARTNER)).await;
    assert_eq!(p.partner_id.as_deref(), Some(PARTNER));
}

#[tokio::test]
async fn v2_app_id_not_registered_to_the_client_is_refused_with_access_denied() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 100);
    cmd.app_id = Some("someone-elses-app".into());
    assert_eq!(
        pay_rejection(&t.wallet.pay(cmd).await.unwrap()),
        ResultCode::AccessDenied
    );
}

#[tokio::test]
async fn payer_named_at_pay_time_holds_funds_at_once() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 2_500);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    let p = t.accepted_payment(cmd).await;
    assert_eq!(p.payer_user_id.as_deref(), Some(ALICE));
    assert!(p.hold_transfer_id.is_some());
    assert_eq!(
        t.user_balance(ALICE, usd()).await,
        (ALICE_USD, ALICE_USD - 2_500),
        "(posted, available)"
    );
    let merchant = t
        .account(AccountKind::Merchant, CLIENT, usd())
        .await
        .expect("merchant account");
    assert_eq!((merchant.credits_pending, merchant.credits_posted), (2_500, 0));
    assert_books_sound(&t.wallet).await;

    // Only the named payer may confirm it.
    let refused = t.wallet.confirm_payment(&p.payment_id, BOB).await.unwrap();
    assert_eq!(approval_refusal(&refused), ResultCode::AccessDenied);
    let done = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert!(
        matches!(done, ApprovalOutcome::Done(ref p) if p.status == PaymentStatus::Success),
        "{done:?}"
    );
    assert_eq!(
        t.user_balance(ALICE, usd()).await,
        (ALICE_USD - 2_500, ALICE_USD - 2_500)
    );
    assert_eq!(t.merchant_balance(CLIENT, usd()).await, 2_500);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn payer_named_at_pay_time_without_the_money_is_refused_and_no_payment_exists() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", BOB_USD + 1);
    t.grant_named_payer(BOB).await;
    cmd.payer_user_id = Some(BOB.into());
    assert_eq!(
        pay_rejection(&t.wallet.pay(cmd).await.unwrap()),
        ResultCode::UserBalanceNotEnough
    );
    assert!(t
        .wallet
        .inquire_payment(CLIENT, by_request("req-1"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(t.user_balance(BOB, usd()).await, (BOB_USD, BOB_USD));
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn expiry_fails_the_payment_voids_the_hold_and_writes_a_notice() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 2_500);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    let p = t.accepted_payment(cmd).await;
    assert_eq!(t.wallet.expire_due(100).await.unwrap(), 0, "not due yet");

    t.advance_secs(t.config.payment_expiry_secs - 1);
    assert_eq!(
        t.wallet.expire_due(100).await.unwrap(),
        0,
        "one second before the expiry"
    );
    t.advance_secs(1);
    assert_eq!(t.wallet.expire_due(100).await.unwrap(), 1);
    let failed = t.payment(&p.payment_id).await;
    assert_eq!(failed.status, PaymentStatus::Fail);
    assert_eq!(failed.fail_reason.as_deref(), Some(EXPIRED_REASON));
    assert_eq!(failed.fail_reason.as_deref(), Some("Order payment expired."));
    assert_eq!(
        t.user_balance(ALICE, usd()).await,
        (ALICE_USD, ALICE_USD),
        "the hold is voided"
    );
    let merchant = t
        .account(AccountKind::Merchant, CLIENT, usd())
        .await
        .expect("merchant account");
    assert_eq!((merchant.credits_pending, merchant.credits_posted), (0, 0));

    let notices = t.notices_about(&p.payment_id).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, OutboxKind::PaymentResult);
    assert_eq!(notices[0].snapshot["status"], "FAIL");

    // Expiring again finds nothing, and the user can no longer pay it.
    assert_eq!(t.wallet.expire_due(100).await.unwrap(), 0);
    let late = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&late), ResultCode::OrderStatusInvalid);
    assert_eq!(t.notices_about(&p.payment_id).await.len(), 1);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn confirm_after_expiry_fails_the_payment_even_before_the_sweeper_ran() {
    let t = spawn_wallet().await;
    let p = t.accepted_payment(t.pay_cmd("req-1", 100)).await;
    t.advance_secs(t.config.payment_expiry_secs);
    let late = t.wallet.confirm_payment(&p.payment_id, ALICE).await.unwrap();
    assert_eq!(approval_refusal(&late), ResultCode::OrderStatusInvalid);
    let stored = t.payment(&p.payment_id).await;
    assert_eq!(stored.status, PaymentStatus::Fail);
    assert_eq!(stored.fail_reason.as_deref(), Some(EXPIRED_REASON));
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(payment_notices(&t.notices_about(&p.payment_id).await), 1);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn expiry_time_in_the_past_is_refused_with_param_illegal() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-past", 100);
    cmd.expiry_time = Some(t0() - Duration::seconds(1));
    assert_eq!(
        pay_rejection(&t.wallet.pay(cmd).await.unwrap()),
        ResultCode::ParamIllegal
    );
    let mut cmd = t.pay_cmd("req-now", 100);
    cmd.expiry_time = Some(t0());
    assert_eq!(
        pay_rejection(&t.wallet.pay(cmd).await.unwrap()),
        ResultCode::ParamIllegal
    );
}

#[tokio::test]
async fn merchant_expiry_is_kept_but_capped_at_the_maximum() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 100);
    cmd.expiry_time = Some(t0() + Duration::seconds(120));
    assert_eq!(
        t.accepted_payment(cmd).await.expires_at,
        t0() + Duration::seconds(120)
    );
    let mut cmd = t.pay_cmd("req-2", 100);
    cmd.expiry_time = Some(t0() + Duration::days(30));
    assert_eq!(
        t.accepted_payment(cmd).await.expires_at,
        t0() + Duration::seconds(t.config.max_payment_expiry_secs)
    );
}

#[tokio::test]
async fn decline_fails_the_payment_releases_the_hold_and_writes_a_notice() {
    let t = spawn_wallet().await;
    let mut cmd = t.pay_cmd("req-1", 700);
    t.grant_named_payer(ALICE).await;
    cmd.payer_user_id = Some(ALICE.into());
    let p = t.accepted_payment(cmd).await;
    let out = t
        .wallet
        .decline_payment(&p.payment_id, "User declined.")
        .await
        .unwrap();
    let ApprovalOutcome::Done(failed) = out else {
        panic!("expected the decline to be done: {out:?}")
    };
    assert_eq!(failed.status, PaymentStatus::Fail);
    assert_eq!(failed.fail_reason.as_deref(), Some("User declined."));
    assert_eq!(t.user_balance(ALICE, usd()).await, (ALICE_USD, ALICE_USD));
    assert_eq!(payment_notices(&t.notices_about(&p.payment_id).await), 1);
    let again = t.wallet.decline_payment(&p.payment_id, "again").await.unwrap();
    assert_eq!(approval_refusal(&again), ResultCode::OrderStatusInvalid);
    assert_books_sound(&t.wallet).await;
}

#[tokio::test]
async fn inquiry_finds_only_the_clients_own_payments_and_payment_id_wins() {
    let t = spawn_wallet().await;
    let a = t.accepted_payment(t.pay_cmd("req-a", 100)).await;
    let b = t.accepted_payment(t.pay_cmd("req-b", 200)).await;
    let both = walletd_core::payments::PaymentRef {
        payment_id: Some(b.payment_id.clone()),
        payment_request_id: Some("req-a".into()),
    };
    assert_eq!(
        t.wallet
            .inquire_payment(CLIENT, both)
            .await
            .unwrap()
            .map(|p| p.payment_id),
        Some(b.payment_id)
    );
    assert!(t
        .wallet
        .inquire_payment(OTHER_CLIENT, by_id(&a.payment_id))
        .await
        .unwrap()
        .is_none());
    assert!(t
        .wallet
        .inquire_payment(OTHER_CLIENT, by_request("req-a"))
        .await
        .unwrap()
        .is_none());
    assert!(t
        .wallet
        .inquire_payment(CLIENT, by_id("no-such-payment"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn accepted_outcome_of_pay_is_the_stored_payment() {
    let t = spawn_wallet().await;
    let out = t.wallet.pay(t.pay_cmd("req-1", 100)).await.unwrap();
    let PayOutcome::Accepted(p) = out else {
        panic!("{out:?}")
    };
    assert_eq!(t.payment(&p.payment_id).await, p);
}
