//! Operators script `walletd admin`: `--json` on list and show commands, `balance` and `verify`
//! (amounts as minor-unit strings with their currency), header rows on text lists, amounts read
//! the same everywhere, and the settlement report as CSV or JSON.

mod binary;

use binary::ok;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use walletd_core::outbox::{Attempt, SentRequest};
use walletd_core::parties::Client;
use walletd_core::payments::{Channel, PayCommand, PayFactors, PayOutcome, PaymentRef, Scenario};
use walletd_core::refunds::{RefundCommand, RefundOutcome};
use walletd_testkit::usd;

fn walletd(data_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = binary::command(data_dir);
    cmd.args(args).output().expect("run walletd")
}

fn json_of(out: Output) -> Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// A data directory with a merchant `shop`, a user `ana` with 120.35 USD, and through the core:
/// a payment of 30.00 USD by ana, a refund of 12.50 of it, then a payout of 5.00 (CLI).
/// Returns the payment id and the refund id.
async fn wallet_with_traffic(dir: &Path) -> (String, String) {
    ok(walletd(
        dir,
        &[
            "admin",
            "user",
            "add",
            "--user-id",
            "ana",
            "--login",
            "+1",
            "--name",
            "Ana",
        ],
    ));
    ok(walletd(dir, &["admin", "user", "top-up", "ana", "120.35", "USD"]));
    let wallet = walletd_testkit::TestApp::builder().data_dir_at(dir).open().wallet;
    let mut shop = Client::new("shop", "Shop", wallet.now());
    shop.app_ids = vec!["app".into()];
    wallet.add_client(shop).await.unwrap();
    let cmd = PayCommand {
        client_id: "shop".into(),
        channel: Channel::MiniProgramV2,
        partner_id: None,
        app_id: Some("app".into()),
        payment_request_id: "req-1".into(),
        amount: walletd_protocol::PositiveAmount::new(usd(3_000)).expect("a positive amount"),
        scenario: Scenario::Cashier,
        order_title: "Tea".into(),
        reference_order_id: None,
        merchant_display_name: None,
        payer_user_id: None,
        expiry_time: None,
        return_url: None,
        notify_url: Some("https://merchant.example/notify".into()),
        extend_info: None,
        payment_auth_code: None,
        factors: PayFactors::default(),
    };
    let p = match wallet.pay(cmd).await.unwrap() {
        PayOutcome::Accepted(p) => p,
        other => panic!("{other:?}"),
    };
    wallet.confirm_payment(&p.payment_id, "ana").await.unwrap();
    let refund = RefundCommand {
        client_id: "shop".into(),
        channel: Channel::MiniProgramV2,
        partner_id: None,
        refund_request_id: "rf-1".into(),
        payment: PaymentRef {
            payment_id: Some(p.payment_id.clone()),
            payment_request_id: None,
        },
        amount: walletd_protocol::PositiveAmount::new(usd(1_250)).expect("a positive amount"),
        reason: None,
        notify_url: None,
    };
    let r = match wallet.refund(refund).await.unwrap() {
        RefundOutcome::Succeeded(r) => r,
        other => panic!("{other:?}"),
    };
    // One attempt to deliver the payment's notification, answered 500.
    let claimed = wallet.claim_notifications(30, 10).await.unwrap();
    let entry = claimed.iter().find(|e| e.subject_id == p.payment_id).unwrap();
    let attempt = Attempt {
        at: wallet.now(),
        http_status: Some(500),
        latency_ms: 7,
        answer: "oops".into(),
        delivered: false,
        sent: Some(SentRequest::post(
            &entry.url,
            &[
                ("content-type", "application/json; charset=UTF-8".into()),
                ("signature", "algorithm=RSA256,keyVersion=1,signature=abc".into()),
            ],
            br#"{"paymentId":"x","paymentResult":{"resultCode":"SUCCESS"}}"#,
        )),
    };
    wallet
        .record_attempt(
            &entry.id,
            attempt,
            Some(wallet.now() + chrono::Duration::seconds(60)),
        )
        .await
        .unwrap();
    drop(wallet);
    ok(walletd(
        dir,
        &["admin", "client", "payout", "shop", "5.00", "USD"],
    ));
    (p.payment_id, r.refund_id)
}

#[tokio::test]
async fn settlement_report_prints_the_days_entries_and_totals_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (payment_id, refund_id) = wallet_with_traffic(dir.path()).await;
    let wallet = walletd_testkit::TestApp::builder()
        .data_dir_at(dir.path())
        .open()
        .wallet;
    let paid_at = wallet
        .get_payment(&payment_id)
        .await
        .unwrap()
        .unwrap()
        .paid_at
        .unwrap();
    let day = paid_at.date_naive();
    let expected = wallet.settlement_report(day, Some("shop")).await.unwrap();
    drop(wallet);
    let date = day.to_string();

    let v = json_of(walletd(
        dir.path(),
        &[
            "admin",
            "report",
            "settlement",
            "--date",
            &date,
            "--client-id",
            "shop",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v["date"], date);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), expected.entries.len());
    let payment = entries.iter().find(|e| e["kind"] == "payment").unwrap();
    assert_eq!(payment["id"], payment_id.as_str());
    assert_eq!(
        payment["amount"],
        serde_json::json!({"currency": "USD", "value": "3000"})
    );
    let refund = entries.iter().find(|e| e["kind"] == "refund").unwrap();
    assert_eq!(refund["id"], refund_id.as_str());
    assert_eq!(refund["payment_id"], payment_id.as_str());
    assert_eq!(
        refund["amount"],
        serde_json::json!({"currency": "USD", "value": "-1250"})
    );
    if paid_at.date_naive() == chrono::Utc::now().date_naive() {
        // The payout ran on the same day (not across midnight): 30.00 - 12.50 - 5.00.
        assert_eq!(
            v["totals"][0]["net"],
            serde_json::json!({"currency": "USD", "value": "1250"})
        );
        assert_eq!(v["totals"][0]["payouts"]["value"], "500");
    }
    let total = &expected.totals[0];
    assert_eq!(v["totals"][0]["net"]["value"], total.net_minor.to_string());

    let csv = ok(walletd(
        dir.path(),
        &["admin", "report", "settlement", "--date", &date],
    ));
    let mut blocks = csv.split("\n\n");
    let entries_block: Vec<&str> = blocks.next().unwrap().lines().collect();
    assert!(entries_block[0].starts_with("kind,client_id,id,payment_id,transfer_id"));
    assert_eq!(entries_block.len(), 1 + expected.entries.len());
    assert!(entries_block.iter().any(
        |l| l.starts_with(&format!("refund,shop,{refund_id},{payment_id},"))
            && l.contains(",-1250,-12.50 USD,")
    ));
    let totals_block: Vec<&str> = blocks.next().unwrap().lines().collect();
    assert!(totals_block[0].starts_with("client_id,currency,entries,payments_minor"));
    assert!(totals_block[1].starts_with("shop,USD,"));

    let bad = walletd(
        dir.path(),
        &["admin", "report", "settlement", "--date", "2026-13-01"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}

#[tokio::test]
async fn admin_lists_and_shows_print_json_with_minor_unit_amounts_and_text_with_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (payment_id, refund_id) = wallet_with_traffic(dir.path()).await;
    let d = dir.path();
    let usd = |v: &str| serde_json::json!({"currency": "USD", "value": v});

    // balance: 120.35 - 30.00 + 12.50 = 102.85 for ana; 30.00 - 12.50 - 5.00 = 12.50 for shop.
    let v = json_of(walletd(d, &["admin", "balance", "--json"]));
    let rows = v.as_array().unwrap();
    let ana = rows.iter().find(|a| a["owner_id"] == "ana").unwrap();
    assert_eq!(ana["available"], usd("10285"));
    let shop = rows.iter().find(|a| a["owner_id"] == "shop").unwrap();
    assert_eq!(shop["posted"], usd("1250"));
    let text = ok(walletd(d, &["admin", "balance", "--user", "ana"]));
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("KIND"), "{text}");
    assert!(lines.next().unwrap().contains("102.85 USD"), "{text}");

    let v = json_of(walletd(d, &["admin", "verify", "--json"]));
    assert_eq!(v["sound"], true);
    assert!(v["totals"]["USD"]["posted_debits"]["value"].is_string());

    let v = json_of(walletd(d, &["admin", "user", "show", "ana", "--json"]));
    assert_eq!(v["user_id"], "ana");
    assert_eq!(v["balances"][0]["available"], usd("10285"));
    assert!(v.get("pin_hash").is_none());
    let text = ok(walletd(d, &["admin", "user", "list"]));
    assert!(text.starts_with("USER"), "{text}");
    assert!(text.contains("102.85 USD"), "{text}");
    let v = json_of(walletd(d, &["admin", "user", "list", "--json"]));
    assert_eq!(v[0]["user_id"], "ana");

    let v = json_of(walletd(d, &["admin", "client", "show", "shop", "--json"]));
    assert_eq!(
        (v["client_id"].as_str(), v["balances"][0]["available"].clone()),
        (Some("shop"), usd("1250"))
    );
    assert!(ok(walletd(d, &["admin", "client", "list"])).starts_with("CLIENT"));
    assert!(ok(walletd(d, &["admin", "client", "show", "shop"])).contains("12.50 USD"));

    let v = json_of(walletd(
        d,
        &["admin", "payment", "list", "--json", "--limit", "1"],
    ));
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["payment_id"], payment_id.as_str());
    assert_eq!(v[0]["amount"], usd("3000"));
    assert_eq!(v[0]["refunded"], usd("1250"));
    let text = ok(walletd(d, &["admin", "payment", "list"]));
    assert!(
        text.starts_with("PAYMENT") && text.contains("30.00 USD"),
        "{text}"
    );
    let v = json_of(walletd(d, &["admin", "payment", "show", &payment_id, "--json"]));
    assert_eq!(v["status"], "SUCCESS");

    let v = json_of(walletd(d, &["admin", "refund", "list", "--json"]));
    assert_eq!(v[0]["refund_id"], refund_id.as_str());
    assert_eq!(v[0]["amount"], usd("1250"));
    let text = ok(walletd(d, &["admin", "refund", "list", "--client", "shop"]));
    assert!(text.starts_with("REFUND") && text.contains("12.50 USD"), "{text}");
    let text = ok(walletd(d, &["admin", "refund", "list", "--client", "nobody"]));
    assert_eq!(text.lines().count(), 1, "only the header: {text}");

    // notification show: the exact request of each attempt.
    let v = json_of(walletd(d, &["admin", "notification", "list", "--json"]));
    let id = v[0]["id"].as_str().unwrap().to_owned();
    let text = ok(walletd(d, &["admin", "notification", "show", &id]));
    assert!(text.contains("POST https://merchant.example/notify"), "{text}");
    assert!(
        text.contains("signature: algorithm=RSA256,keyVersion=1,signature=abc"),
        "{text}"
    );
    assert!(
        text.contains(r#"{"paymentId":"x","paymentResult":{"resultCode":"SUCCESS"}}"#),
        "{text}"
    );
    assert!(text.contains("answer: oops"), "{text}");
    let v = json_of(walletd(d, &["admin", "notification", "show", &id, "--json"]));
    assert_eq!(v["attempts"][0]["http_status"], 500);
    assert_eq!(
        v["attempts"][0]["request"]["body"],
        r#"{"paymentId":"x","paymentResult":{"resultCode":"SUCCESS"}}"#
    );
    assert_eq!(
        v["attempts"][0]["request"]["headers"][0],
        serde_json::json!(["content-type", "application/json; charset=UTF-8"])
    );
}

/// `freeze` and `unfreeze` name the state they leave, so a script that repeats one (a retry after
/// a timeout) does not flip the party back.
#[tokio::test]
async fn freeze_and_unfreeze_set_the_status_they_name_however_often_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    wallet_with_traffic(d).await;
    let status = |kind: &str, id: &str| {
        json_of(walletd(d, &["admin", kind, "show", id, "--json"]))["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for (kind, id) in [("client", "shop"), ("user", "ana")] {
        for _ in 0..2 {
            ok(walletd(d, &["admin", kind, "freeze", id]));
            assert_eq!(status(kind, id), "FROZEN", "{kind} {id} after freeze");
        }
        for _ in 0..2 {
            ok(walletd(d, &["admin", kind, "unfreeze", id]));
            assert_eq!(status(kind, id), "ACTIVE", "{kind} {id} after unfreeze");
        }
    }
}
