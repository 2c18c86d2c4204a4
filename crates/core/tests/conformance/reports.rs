//! The operators' reads on every backend: the settlement report of one day (transfers by
//! creation time), the latest refunds, and the capped status counts behind the metrics.

use crate::backend::{Fixture, ALICE, CLIENT};
use walletd_core::refunds::RefundOutcome;
use walletd_core::reports::SettlementKind;

for_each_backend!(reports_read_one_day_the_latest_refunds_and_capped_counts);

async fn reports_read_one_day_the_latest_refunds_and_capped_counts(f: Fixture) {
    let f = f.seeded().await;
    let first = f.accepted("r-1", 1_000, None).await;
    f.wallet.confirm_payment(&first.payment_id, ALICE).await.unwrap();
    let day1 = f.wallet.now().date_naive();
    f.advance_secs(24 * 3600);
    let day2 = f.wallet.now().date_naive();
    let second = f.accepted("r-2", 700, None).await;
    f.wallet.confirm_payment(&second.payment_id, ALICE).await.unwrap();
    let mut refund_ids = Vec::new();
    for (n, (p, minor)) in [(&first, 100), (&second, 200)].into_iter().enumerate() {
        match f
            .wallet
            .refund(f.refund_cmd(&format!("rf-{n}"), &p.payment_id, minor))
            .await
            .unwrap()
        {
            RefundOutcome::Succeeded(r) => refund_ids.push(r.refund_id),
            other => panic!("{other:?}"),
        }
    }
    let waiting = f.accepted("r-3", 50, None).await;

    let d1 = f.wallet.settlement_report(day1, None).await.unwrap();
    assert_eq!(d1.entries.len(), 1, "{:?}", d1.entries);
    assert_eq!(d1.entries[0].kind, SettlementKind::Payment);
    assert_eq!(d1.totals[0].net_minor, 1_000);
    let d2 = f.wallet.settlement_report(day2, Some(CLIENT)).await.unwrap();
    assert_eq!(
        d2.entries
            .iter()
            .map(|e| (e.kind, e.amount_minor))
            .collect::<Vec<_>>(),
        vec![
            (SettlementKind::Payment, 700),
            (SettlementKind::Refund, -100),
            (SettlementKind::Refund, -200)
        ]
    );
    assert_eq!((d2.totals[0].refunds_minor, d2.totals[0].net_minor), (300, 400));

    let latest = f.wallet.latest_refunds(Some(CLIENT), 10).await.unwrap();
    let ids: Vec<_> = latest.iter().map(|r| r.refund_id.clone()).collect();
    assert_eq!(
        ids,
        vec![refund_ids[1].clone(), refund_ids[0].clone()],
        "newest first"
    );
    assert_eq!(f.wallet.latest_refunds(None, 1).await.unwrap().len(), 1);
    assert!(f
        .wallet
        .latest_refunds(Some("nobody"), 10)
        .await
        .unwrap()
        .is_empty());

    let figures = f.wallet.live_figures(1_000).await.unwrap();
    let count = |s: &str| figures.payments.iter().find(|p| p.0 == s).unwrap().1;
    assert_eq!((count("SUCCESS"), count("PROCESSING"), count("FAIL")), (2, 1, 0));
    let pending = figures.outbox.iter().find(|o| o.0 == "PENDING").unwrap();
    assert_eq!(pending.1, 2, "two payment notices");
    assert!(pending.2.is_some());
    let capped = f.wallet.live_figures(1).await.unwrap();
    assert_eq!(
        capped.payments.iter().find(|p| p.0 == "SUCCESS").unwrap().1,
        1,
        "capped"
    );
    let _ = waiting;
}
