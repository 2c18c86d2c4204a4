//! `walletd call` as a script sees it: the exit code says S/A, F, U or an untrustworthy answer,
//! and `--json` prints one object with both sides of the exchange.

mod binary;

use binary::ok;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn walletd(data_dir: &Path) -> Command {
    binary::command(data_dir)
}

/// A sandbox walletd with one merchant (key pair in `keys/`) and one funded user.
struct Sandbox {
    dir: tempfile::TempDir,
    base_url: String,
    server: Child,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Sandbox {
    fn start() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        binary::add_merchant(d);
        let port = binary::free_port();
        let log = std::fs::File::create(d.join("server.log")).expect("log file");
        let server = walletd(d)
            .args(["serve", "--sandbox", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("serve");
        let base_url = format!("http://127.0.0.1:{port}");
        binary::wait_for_listener(port);
        Sandbox {
            dir,
            base_url,
            server,
        }
    }

    /// `walletd call PATH --body BODY` as the merchant, with the wallet's key unless told otherwise.
    fn call(&self, path: &str, body: &str, extra: &[&str], with_wallet_key: bool) -> Output {
        self.call_signed_with(
            &self.dir.path().join("keys/private_key.pem"),
            path,
            body,
            extra,
            with_wallet_key,
        )
    }

    fn call_signed_with(
        &self,
        key: &Path,
        path: &str,
        body: &str,
        extra: &[&str],
        with_wallet_key: bool,
    ) -> Output {
        let d = self.dir.path();
        let mut cmd = walletd(d);
        cmd.args(["call", path, "--body", body, "--client-id", "acme"])
            .arg("--base-url")
            .arg(&self.base_url)
            .arg("--key")
            .arg(key);
        if with_wallet_key {
            cmd.arg("--wallet-key").arg(d.join("wallet_public_key.pem"));
        }
        cmd.args(extra).output().expect("call")
    }
}

fn pay_body(request_id: &str, minor: &str) -> String {
    format!(
        r#"{{"appId":"app-1","paymentRequestId":"{request_id}","paymentAmount":{{"currency":"USD","value":"{minor}"}},"order":{{"referenceOrderId":"o-{request_id}","orderDescription":"tea"}}}}"#
    )
}

#[test]
fn call_exit_codes_tell_a_script_what_the_wallet_answered() {
    let sandbox = Sandbox::start();
    let code = |out: &Output| out.status.code().expect("exit code");

    // A: the cashier link; signature verified.
    let accepted = sandbox.call("/api/v2/payments/pay", &pay_body("p-1", "1250"), &[], true);
    assert_eq!(
        code(&accepted),
        0,
        "{}",
        String::from_utf8_lossy(&accepted.stdout)
    );

    // F: no such payment.
    let failed = sandbox.call(
        "/api/v2/payments/inquiryPayment",
        r#"{"paymentId":"nope"}"#,
        &[],
        true,
    );
    assert_eq!(code(&failed), 3, "{}", String::from_utf8_lossy(&failed.stdout));

    // U: the sandbox amount that answers UNKNOWN_EXCEPTION.
    let unknown = sandbox.call("/api/v2/payments/pay", &pay_body("p-u", "9903"), &[], true);
    assert_eq!(code(&unknown), 4, "{}", String::from_utf8_lossy(&unknown.stdout));

    // An answer checked against the wrong wallet key cannot be trusted, whatever it says.
    let other = sandbox.dir.path().join("other-keys");
    ok(walletd(sandbox.dir.path())
        .args(["keys", "generate", "--out-dir"])
        .arg(&other)
        .output()
        .expect("keys"));
    let forged = sandbox.call(
        "/api/v2/payments/pay",
        &pay_body("p-2", "100"),
        &[
            "--wallet-key",
            other.join("public_key.pem").to_str().expect("path"),
        ],
        false,
    );
    assert_eq!(code(&forged), 5, "{}", String::from_utf8_lossy(&forged.stdout));

    // Without the wallet's key nothing is verified, so success is not claimed.
    let unchecked = sandbox.call("/api/v2/payments/pay", &pay_body("p-3", "100"), &[], false);
    assert_eq!(
        code(&unchecked),
        6,
        "{}",
        String::from_utf8_lossy(&unchecked.stdout)
    );

    // The wallet refusing our signature is F, not success.
    let wrong_key = sandbox.call_signed_with(
        &other.join("private_key.pem"),
        "/api/v2/payments/pay",
        &pay_body("p-4", "100"),
        &[],
        true,
    );
    assert_eq!(
        code(&wrong_key),
        3,
        "{}",
        String::from_utf8_lossy(&wrong_key.stdout)
    );

    // Nobody listening: an error, not a result.
    let mut cmd = walletd(sandbox.dir.path());
    let dead = cmd
        .args([
            "call",
            "/api/v2/payments/inquiryPayment",
            "--body",
            "{}",
            "--client-id",
            "acme",
        ])
        .args(["--base-url", "http://127.0.0.1:9"])
        .arg("--key")
        .arg(sandbox.dir.path().join("keys/private_key.pem"))
        .output()
        .expect("call");
    assert_eq!(code(&dead), 2);
}

#[test]
fn call_json_prints_one_object_with_request_answer_and_verdict() {
    let sandbox = Sandbox::start();
    let out = sandbox.call(
        "/api/v2/payments/pay",
        &pay_body("j-1", "1250"),
        &["--json"],
        true,
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["request"]["path"], "/api/v2/payments/pay");
    assert_eq!(v["request"]["body"]["paymentRequestId"], "j-1");
    assert!(
        v["request"]["headers"]["Signature"].is_string() || v["request"]["headers"]["signature"].is_string()
    );
    assert_eq!(v["answer"]["status"], 200);
    assert_eq!(v["answer"]["body"]["result"]["resultStatus"], "A");
    assert_eq!(v["result"]["resultCode"], "ACCEPT");
    assert_eq!(v["signature"], "verified");
    assert_eq!(v["signatureVerified"], true);
    assert_eq!(v["exitCode"], 0);

    let failed = sandbox.call(
        "/api/v2/payments/inquiryPayment",
        r#"{"paymentId":"nope"}"#,
        &["--json"],
        true,
    );
    let v: serde_json::Value = serde_json::from_slice(&failed.stdout).expect("json");
    assert_eq!(v["result"]["resultStatus"], "F");
    assert_eq!(v["result"]["resultCode"], "ORDER_NOT_EXIST");
    assert_eq!(v["exitCode"], 3);
    assert_eq!(failed.status.code(), Some(3));
}

#[test]
fn every_log_line_of_a_request_carries_the_id_returned_to_the_caller() {
    let sandbox = Sandbox::start();
    let out = sandbox.call(
        "/api/v2/payments/pay",
        &pay_body("log-1", "1250"),
        &["--json"],
        true,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = v["answer"]["headers"]["x-request-id"]
        .as_str()
        .expect("x-request-id in the answer")
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(sandbox.dir.path().join("server.log")).expect("log");
        if log.contains("mini program request") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let line = log
        .lines()
        .find(|l| l.contains("mini program request"))
        .unwrap_or_else(|| panic!("no request line in:\n{log}"));
    assert!(line.contains(&format!("request_id={id}")), "{line}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is a file:\n{log}"
    );
}
