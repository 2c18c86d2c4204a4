//! The running daily totals behind the daily limits equal what a SUM over the payments counts,
//! after a mixed workload through the `Wallet`: holds, confirms, declines, cancels of unpaid and
//! paid payments, expiry, refunds, a refused payment and a payment on the next day.
//!
//! The SUM is written here in Rust over every stored payment, with the rules the limits always
//! had: a user spends what they hold or paid (PROCESSING with them as payer, or SUCCESS); a
//! merchant takes what is paid or held for it (SUCCESS, or PROCESSING with a payer); both count
//! payments created on that UTC day. Refunds do not give a day's limit back.

use crate::backend::{t0, usd, Fixture, ALICE, BOB, CLIENT};
use chrono::NaiveDate;
use walletd_core::payments::{PaymentRef, PaymentStatus};
use walletd_core::storage::DailyParty;

for_each_backend!(daily_totals_equal_the_sum_of_the_days_payments_after_a_mixed_workload);

/// (user spending of alice, of bob, merchant takings) on `day`, from the stored payments.
async fn sums(f: &Fixture, day: NaiveDate) -> (i64, i64, i64) {
    let payments = f
        .read(|tx| Ok(tx.list_payments(None, 10_000)?))
        .await
        .expect("list payments");
    let (mut alice, mut bob, mut merchant) = (0, 0, 0);
    for p in payments
        .iter()
        .filter(|p| p.created_at.date_naive() == day && p.currency == usd())
    {
        let live = matches!(p.status, PaymentStatus::Processing | PaymentStatus::Success);
        match p.payer_user_id.as_deref() {
            Some(ALICE) if live => alice += p.amount_minor,
            Some(BOB) if live => bob += p.amount_minor,
            _ => {}
        }
        let taken = p.status == PaymentStatus::Success
            || (p.status == PaymentStatus::Processing && p.payer_user_id.is_some());
        if taken && p.client_id == CLIENT {
            merchant += p.amount_minor;
        }
    }
    (alice, bob, merchant)
}

async fn totals(f: &Fixture, day: NaiveDate) -> (i64, i64, i64) {
    f.read(move |tx| {
        Ok((
            tx.daily_total(DailyParty::User, ALICE, usd(), day)?,
            tx.daily_total(DailyParty::User, BOB, usd(), day)?,
            tx.daily_total(DailyParty::Client, CLIENT, usd(), day)?,
        ))
    })
    .await
    .expect("daily totals")
}

async fn daily_totals_equal_the_sum_of_the_days_payments_after_a_mixed_workload(f: Fixture) {
    let f = f.seeded().await;
    let day = t0().date_naive();

    // Held by alice, then paid; held by bob, then declined; unpaid, then confirmed by bob.
    let paid = f.accepted("m-1", 1_000, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&paid.payment_id, ALICE)
        .await
        .expect("confirm");
    let declined = f.accepted("m-2", 700, Some(BOB)).await;
    f.wallet
        .decline_payment(&declined.payment_id, "no")
        .await
        .expect("decline");
    let later = f.accepted("m-3", 300, None).await;
    f.wallet
        .confirm_payment(&later.payment_id, BOB)
        .await
        .expect("confirm");
    // Unpaid and cancelled; held and cancelled; paid and cancelled (returned in full).
    let unpaid = f.accepted("m-4", 50, None).await;
    let held = f.accepted("m-5", 60, Some(ALICE)).await;
    let returned = f.accepted("m-6", 70, Some(BOB)).await;
    f.wallet
        .confirm_payment(&returned.payment_id, BOB)
        .await
        .expect("confirm");
    for p in [&unpaid, &held, &returned] {
        let by_id = PaymentRef {
            payment_id: Some(p.payment_id.clone()),
            payment_request_id: None,
        };
        f.wallet
            .cancel_payment(CLIENT, None, by_id)
            .await
            .expect("cancel");
    }
    // Paid and partly refunded: the day's spending stays.
    let refunded = f.accepted("m-7", 900, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&refunded.payment_id, ALICE)
        .await
        .expect("confirm");
    f.wallet
        .refund(f.refund_cmd("r-1", &refunded.payment_id, 400))
        .await
        .expect("refund");
    // Refused: more than alice has.
    let _ = f
        .wallet
        .pay(f.pay_cmd("m-8", 10_000_000, Some(ALICE)))
        .await
        .expect("pay");
    // Held, then expired by the sweep.
    let _expiring = f.accepted("m-9", 80, Some(BOB)).await;
    let _also_expiring = f.accepted("m-10", 90, Some(ALICE)).await;
    f.advance_secs(16 * 60);
    f.wallet.expire_due(100).await.expect("expire");
    assert_eq!(
        totals(&f, day).await,
        sums(&f, day).await,
        "{}: after the first day",
        f.backend()
    );

    // The next UTC day starts from zero and leaves the first day's totals alone.
    f.advance_secs(24 * 3600);
    let next = f.wallet.now().date_naive();
    // A day's access token has expired: the users grant the merchant again.
    f.grant_agreement(ALICE).await;
    f.grant_agreement(BOB).await;
    let tomorrow = f.accepted("n-1", 120, Some(ALICE)).await;
    f.wallet
        .confirm_payment(&tomorrow.payment_id, ALICE)
        .await
        .expect("confirm");
    let _held = f.accepted("n-2", 30, Some(BOB)).await;
    assert_eq!(
        totals(&f, next).await,
        sums(&f, next).await,
        "{}: the next day",
        f.backend()
    );
    assert_eq!(
        totals(&f, day).await,
        sums(&f, day).await,
        "{}: the first day, later",
        f.backend()
    );
    let (alice, bob, merchant) = totals(&f, next).await;
    assert_eq!((alice, bob, merchant), (120, 30, 150));
    f.assert_sound().await;
}
