//! The settlement report of a UTC day ties to the ledger: its totals per merchant and currency are
//! the sums of that day's posted transfers on the merchant's account, on a day of mixed traffic.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use walletd_core::captures::{CaptureCommand, CaptureOutcome};
use walletd_core::ledger::{AccountKind, TransferKind};
use walletd_core::payments::{CancelOutcome, PayFactors, PayOutcome, Scenario};
use walletd_core::reports::{self, SettlementKind};

/// An access token of alice carrying `AGREEMENT_PAY` for the demo client.
async fn agreement_token(t: &TestWallet) -> String {
    use walletd_core::oauth::{Grant, Lifetimes, Scope, TokenGrantType, TokenRequest};
    let grant = Grant {
        client_id: CLIENT.into(),
        app_id: Some(APP.into()),
        user_id: ALICE.into(),
        scopes: vec![Scope::AgreementPay],
        agreement_limits: [("USD".to_owned(), 1_000_000)].into_iter().collect(),
    };
    let code = t
        .wallet
        .issue_auth_code(grant, 300)
        .await
        .expect("auth code")
        .code;
    let req = TokenRequest {
        client_id: CLIENT.into(),
        reference_client_id: Some(APP.into()),
        grant_type: TokenGrantType::AuthorizationCode { auth_code: code },
    };
    t.wallet
        .apply_token(req, Lifetimes::default())
        .await
        .expect("apply token")
        .expect("token issued")
        .access_token
}

/// Sums of posted transfers on merchant accounts per (client, currency) whose creation time is in
/// `[from, to)`: (credits, debits). Read from the whole ledger, independently of the report.
async fn ledger_postings(
    t: &TestWallet,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<(String, String), (i64, i64)> {
    let accounts = t.wallet.accounts().await.expect("accounts");
    let transfers = t
        .wallet
        .read(|_, tx| Ok(tx.list_transfers(0, 100_000)?))
        .await
        .expect("transfers");
    let mut sums = BTreeMap::new();
    for tr in transfers {
        if !matches!(tr.kind, TransferKind::Single | TransferKind::PostPending)
            || tr.created_at < from
            || tr.created_at >= to
        {
            continue;
        }
        for a in &accounts {
            if a.kind != AccountKind::Merchant {
                continue;
            }
            let e: &mut (i64, i64) = sums
                .entry((a.owner_id.clone(), a.currency.code().to_owned()))
                .or_default();
            if a.id == tr.credit_account_id {
                e.0 += tr.amount_minor;
            }
            if a.id == tr.debit_account_id {
                e.1 += tr.amount_minor;
            }
        }
    }
    sums.retain(|_, v| *v != (0, 0));
    sums
}

#[tokio::test]
async fn settlement_report_totals_tie_to_the_days_ledger_postings_on_mixed_traffic() {
    let t = spawn_wallet().await;
    // The day before: one payment, refunded in part on the report's day.
    let before = t.paid_payment("req-before", 1_000, ALICE).await;
    t.advance_secs(24 * 3600);
    let day = t.wallet.now().date_naive();
    let token = agreement_token(&t).await;

    let paid = t.paid_payment("req-paid", 3_000, ALICE).await;
    t.refund_ok(t.refund_cmd("rf-1", &paid.payment_id, usd_minor(1_000)))
        .await;
    t.refund_ok(t.refund_cmd("rf-2", &before.payment_id, usd_minor(200)))
        .await;
    // An authorization of 20.00, captured 5.00 then 7.00 (last: the rest is released).
    let mut auth = t.pay_cmd("req-auth", 2_000);
    auth.scenario = Scenario::Agreement;
    auth.payment_auth_code = Some(token.clone());
    auth.factors = PayFactors {
        authorization: true,
        evaluation: false,
    };
    let auth = match t.wallet.pay(auth).await.expect("authorize") {
        PayOutcome::Accepted(p) | PayOutcome::Succeeded(p) => p,
        other => panic!("expected an authorization, got {other:?}"),
    };
    let mut capture_ids = Vec::new();
    for (n, (minor, last)) in [(500, false), (700, true)].into_iter().enumerate() {
        let cmd = CaptureCommand {
            client_id: CLIENT.into(),
            partner_id: None,
            capture_request_id: format!("cap-{n}"),
            payment_id: auth.payment_id.clone(),
            amount: Some(positive(usd_minor(minor))),
            is_last: last,
        };
        match t.wallet.capture(cmd).await.expect("capture") {
            CaptureOutcome::Captured { capture, .. } => capture_ids.push(capture.capture_id),
            other => panic!("expected a capture, got {other:?}"),
        }
    }
    // A paid payment cancelled (returned in full) and an unpaid one cancelled (no money moves).
    let cancelled = t.paid_payment("req-cancel", 400, ALICE).await;
    let unpaid = t.accepted_payment(t.pay_cmd("req-unpaid", 900)).await;
    for p in [&cancelled, &unpaid] {
        let outcome = t
            .wallet
            .cancel_payment(CLIENT, None, by_id(&p.payment_id))
            .await
            .expect("cancel");
        assert!(matches!(outcome, CancelOutcome::Cancelled { .. }), "{outcome:?}");
    }
    t.wallet.payout(CLIENT, usd_minor(500)).await.expect("payout");
    // Another currency.
    let mut eur_pay = t.pay_cmd("req-eur", 1_500);
    eur_pay.amount = positive(money(eur(), 1_500));
    let eur_pay = t.accepted_payment(eur_pay).await;
    t.wallet
        .confirm_payment(&eur_pay.payment_id, ALICE)
        .await
        .expect("confirm EUR");
    // The day after: must not show.
    t.advance_secs(24 * 3600);
    t.paid_payment("req-after", 100, ALICE).await;

    let report = t.wallet.settlement_report(day, None).await.expect("report");
    let (from, to) = reports::utc_day(day).expect("day");
    let ledger = ledger_postings(&t, from, to).await;
    let from_report: BTreeMap<(String, String), (i64, i64)> = report
        .totals
        .iter()
        .map(|s| {
            (
                (s.client_id.clone(), s.currency.clone()),
                (s.credits_minor, s.debits_minor),
            )
        })
        .collect();
    assert_eq!(
        from_report, ledger,
        "the report's totals are the ledger's postings of the day"
    );
    for s in &report.totals {
        assert_eq!(s.net_minor, s.credits_minor - s.debits_minor);
        assert_eq!(
            s.net_minor,
            s.payments_minor + s.captures_minor - s.refunds_minor - s.cancels_minor - s.payouts_minor
                + s.other_minor
        );
    }

    let usd_total = report
        .totals
        .iter()
        .find(|s| s.client_id == CLIENT && s.currency == "USD")
        .expect("USD total");
    assert_eq!(usd_total.payments_minor, 3_000 + 400);
    assert_eq!(usd_total.captures_minor, 1_200);
    assert_eq!(usd_total.refunds_minor, 1_200);
    assert_eq!(usd_total.cancels_minor, 400);
    assert_eq!(usd_total.payouts_minor, 500);
    assert_eq!(usd_total.net_minor, 3_400 + 1_200 - 1_200 - 400 - 500);
    let eur_total = report
        .totals
        .iter()
        .find(|s| s.currency == "EUR")
        .expect("EUR total");
    assert_eq!((eur_total.payments_minor, eur_total.net_minor), (1_500, 1_500));

    // Every payment, capture and refund of the day is listed with its ids; nothing of the day
    // before or after.
    let ids: Vec<(SettlementKind, String, Option<String>)> = report
        .entries
        .iter()
        .map(|e| (e.kind, e.id.clone(), e.payment_id.clone()))
        .collect();
    assert!(ids.contains(&(
        SettlementKind::Payment,
        paid.payment_id.clone(),
        Some(paid.payment_id.clone())
    )));
    for c in &capture_ids {
        assert!(ids.contains(&(SettlementKind::Capture, c.clone(), Some(auth.payment_id.clone()))));
    }
    let refunds: Vec<_> = ids.iter().filter(|e| e.0 == SettlementKind::Refund).collect();
    assert_eq!(refunds.len(), 2);
    assert!(refunds
        .iter()
        .any(|e| e.2.as_deref() == Some(before.payment_id.as_str())));
    assert!(!ids
        .iter()
        .any(|e| e.1 == before.payment_id && e.0 == SettlementKind::Payment));
    assert!(!ids.iter().any(|e| e.1 == unpaid.payment_id));
    assert!(report
        .entries
        .iter()
        .all(|e| e.settled_at >= from && e.settled_at < to));
    assert_eq!(report.entries.len(), 9, "{:#?}", report.entries);

    // Summed over every day, the nets are the merchant's posted balance.
    let mut net = 0;
    for d in [
        day.pred_opt().expect("day before"),
        day,
        day.succ_opt().expect("day after"),
    ] {
        let r = t.wallet.settlement_report(d, Some(CLIENT)).await.expect("report");
        net += r
            .totals
            .iter()
            .filter(|s| s.currency == "USD")
            .map(|s| s.net_minor)
            .sum::<i64>();
    }
    assert_eq!(net, t.merchant_balance(CLIENT, usd()).await);

    let other = t
        .wallet
        .settlement_report(day, Some(OTHER_CLIENT))
        .await
        .expect("report");
    assert!(other.entries.is_empty() && other.totals.is_empty());
    assert_books_sound(&t.wallet).await;
}
