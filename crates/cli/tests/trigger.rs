//! `walletd trigger EVENT` against a `walletd serve --sandbox` child: every event plays its whole
//! flow and exits 0 only when the flow ended as the event says; a wallet outside sandbox mode is
//! refused before anything is sent.

mod binary;

use binary::ok;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The notifier's schedule in these tests: three waits, so four attempts in all.
const RETRY_GAPS: usize = 3;

fn walletd(data_dir: &Path) -> Command {
    binary::command(data_dir)
}

/// A walletd child with one merchant (keys in `keys/`), alice with 500.00 USD and bob with nothing.
struct Wallet {
    dir: tempfile::TempDir,
    base_url: String,
    server: Child,
}

impl Drop for Wallet {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Wallet {
    fn start(sandbox: bool) -> Wallet {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let gaps = ["60000"; RETRY_GAPS].join(", ");
        std::fs::write(
            d.join("walletd.toml"),
            format!(
                "[notifier]\nallow_private_targets = true\npoll_interval_ms = 200\nretry_gaps_ms = [{gaps}]\n"
            ),
        )
        .expect("config");
        binary::add_merchant(d);
        for (user, login) in [("alice", "+15550000001"), ("bob", "+15550000002")] {
            ok(walletd(d)
                .args([
                    "admin",
                    "user",
                    "add",
                    "--user-id",
                    user,
                    "--login",
                    login,
                    "--name",
                    user,
                ])
                .output()
                .expect("user add"));
        }
        ok(walletd(d)
            .args(["admin", "user", "top-up", "alice", "500.00", "USD"])
            .output()
            .expect("top-up"));
        let port = binary::free_port();
        let log = std::fs::File::create(d.join("server.log")).expect("log file");
        let mut serve = walletd(d);
        serve.arg("--config").arg(d.join("walletd.toml")).args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]);
        if sandbox {
            serve.arg("--sandbox");
        }
        let server = serve.stdout(Stdio::null()).stderr(log).spawn().expect("serve");
        let base_url = format!("http://127.0.0.1:{port}");
        binary::wait_for_listener(port);
        Wallet {
            dir,
            base_url,
            server,
        }
    }

    /// `walletd trigger EVENT --json` as the merchant, with the merchant's usual environment.
    fn trigger(&self, event: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
        let d = self.dir.path();
        let out = walletd(d)
            .arg("--config")
            .arg(d.join("walletd.toml"))
            .args(["trigger", event, "--json", "--timeout-secs", "60"])
            .env("WALLETD_URL", &self.base_url)
            .env("WALLETD_CLIENT_ID", "acme")
            .env("WALLETD_KEY", d.join("keys/private_key.pem"))
            .env("WALLETD_WALLET_KEY", d.join("wallet_public_key.pem"))
            .args(extra)
            .output()
            .expect("trigger");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (out.status.code(), report, format!("{stdout}\n{stderr}"))
    }

    fn payments(&self) -> String {
        ok(walletd(self.dir.path())
            .args(["admin", "payment", "list"])
            .output()
            .expect("payment list"))
    }
}

/// The `result` of every call step to `api`, in order.
fn results_of(report: &Value, api: &str) -> Vec<String> {
    report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["step"] == api)
        .map(|s| s["detail"]["result"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The verified notifications' `paymentResult.resultStatus`, in order.
fn notified(report: &Value) -> Vec<String> {
    report["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            assert_eq!(n["signature"], "verified", "{n}");
            n["body"]["paymentResult"]["resultStatus"]
                .as_str()
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

#[test]
fn every_trigger_event_plays_its_whole_flow_and_ends_as_the_event_says() {
    let wallet = Wallet::start(true);
    let played = |event: &str| {
        let (code, report, out) = wallet.trigger(event, &[]);
        assert_eq!(code, Some(0), "{event} did not end as it says:\n{out}");
        assert_eq!(report["ok"], true, "{event}: {out}");
        assert_eq!(report["event"], event);
        report
    };

    let r = played("payment.succeeded");
    assert_eq!(results_of(&r, "v2/payments/pay"), ["A/ACCEPT"]);
    assert_eq!(notified(&r), ["S"]);

    let r = played("payment.failed");
    assert_eq!(notified(&r), ["F"]);

    let r = played("payment.expired");
    assert_eq!(notified(&r), ["F"]);

    let r = played("payment.cancelled");
    assert_eq!(results_of(&r, "v2/payments/cancel"), ["S/SUCCESS"]);
    assert!(notified(&r).is_empty(), "a cancel is not notified: {r}");

    let r = played("refund.succeeded");
    assert_eq!(results_of(&r, "v2/payments/refund"), ["S/SUCCESS"]);
    assert_eq!(results_of(&r, "v2/payments/inquiryRefund"), ["S/SUCCESS"]);

    let r = played("refund.failed");
    assert_eq!(
        results_of(&r, "v2/payments/refund"),
        ["F/REFUND_AMOUNT_EXCEED", "F/REFUND_AMOUNT_EXCEED"],
        "the sandbox amount 9911 fails, and so does its retry"
    );
    assert_eq!(
        results_of(&r, "v2/payments/inquiryRefund"),
        ["F/REFUND_NOT_EXIST"]
    );

    let r = played("authorization.captured");
    assert_eq!(results_of(&r, "v2/payments/capture"), ["S/SUCCESS"]);
    assert_eq!(notified(&r), ["S"]);

    // Every attempt of the schedule reached the trigger's endpoint and was refused, then the
    // wallet gave up.
    let r = played("notification.refused");
    let run = &r["notifications"][0];
    assert_eq!(run["status"], "FAILED", "{r}");
    assert_eq!(run["attempts"], RETRY_GAPS + 1, "{r}");
    assert_eq!(run["receivedHere"], RETRY_GAPS + 1, "{r}");
    let refused = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"].as_str().is_some_and(|n| n.ends_with("refused")))
        .count();
    assert_eq!(refused, RETRY_GAPS + 1, "each attempt is reported: {r}");
}

#[test]
fn trigger_exits_non_zero_when_the_flow_does_not_end_as_the_event_says() {
    let wallet = Wallet::start(true);
    // bob has no money: his approval is refused, so the payment never succeeds.
    let (code, report, out) = wallet.trigger("payment.succeeded", &["--user", "bob"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(report["ok"], false, "{out}");
    assert!(
        report["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("approval was refused")),
        "{report}"
    );
}

#[test]
fn trigger_refuses_a_wallet_that_is_not_in_sandbox_mode_and_sends_nothing() {
    let wallet = Wallet::start(false);
    let (code, _, out) = wallet.trigger("payment.succeeded", &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not in sandbox mode"), "{out}");
    let listing = wallet.payments();
    assert!(
        listing.lines().filter(|l| !l.trim().is_empty()).count() <= 1,
        "no payment was made (at most the header row): {listing}"
    );
}
