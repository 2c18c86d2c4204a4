//! `walletd admin agent-token issue|list|revoke`: the token is printed once and never again; the
//! list shows id, ISV, merchant, scope, expiry and status; a revocation by id or token shows.

mod binary;

use std::path::Path;
use std::process::Output;

fn walletd(data_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = binary::command(data_dir);
    cmd.args(args).output().expect("run walletd")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn add_client(dir: &Path, client_id: &str) {
    let key = dir.join("keys").join("public_key.pem");
    ok(walletd(
        dir,
        &[
            "admin",
            "client",
            "add",
            "--client-id",
            client_id,
            "--name",
            client_id,
            "--public-key",
            key.to_str().unwrap(),
        ],
    ));
}

#[test]
fn agent_tokens_are_shown_once_listed_without_the_token_and_revoked_by_id_or_token() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    ok(walletd(
        dir.path(),
        &["keys", "generate", "--out-dir", keys.to_str().unwrap()],
    ));
    add_client(dir.path(), "isv");
    add_client(dir.path(), "shop");
    let issue = |extra: &[&str]| {
        let mut args = vec![
            "admin",
            "agent-token",
            "issue",
            "--isv",
            "isv",
            "--merchant",
            "shop",
        ];
        args.extend_from_slice(extra);
        walletd(dir.path(), &args)
    };
    let token = ok(issue(&[])).trim().to_owned();
    assert_eq!(token.len(), 64, "32 random bytes as hex: {token:?}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let scoped = ok(issue(&["--scope", "inquiryPayment,refund", "--ttl-secs", "60"]))
        .trim()
        .to_owned();
    for bad in [
        &["--scope", "pay,transfer"][..],
        &["--ttl-secs", "0"][..],
        &["--ttl-secs", "999999999"][..],
    ] {
        let out = issue(bad);
        assert!(!out.status.success(), "{bad:?} was accepted");
    }
    let out = walletd(
        dir.path(),
        &[
            "admin",
            "agent-token",
            "issue",
            "--isv",
            "nobody",
            "--merchant",
            "shop",
        ],
    );
    assert!(!out.status.success(), "an unknown ISV was accepted");

    let list = ok(walletd(dir.path(), &["admin", "agent-token", "list"]));
    assert!(!list.contains(&token) && !list.contains(&scoped), "{list}");
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(
        list.contains("pay,inquiryPayment,cancel,refund,inquiryRefund,capture"),
        "{list}"
    );
    assert!(list.contains("inquiryPayment,refund"), "{list}");
    let json = ok(walletd(dir.path(), &["admin", "agent-token", "list", "--json"]));
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["isv"], "isv");
        assert_eq!(row["merchant"], "shop");
        assert_eq!(row["status"], "ACTIVE");
        assert!(row["expiresAt"].is_string() && row["id"].is_string(), "{row}");
    }
    assert!(!json.contains(&token) && !json.contains(&scoped));

    // Revoke one by its token, the other by its id.
    ok(walletd(dir.path(), &["admin", "agent-token", "revoke", &token]));
    let scoped_id = rows
        .iter()
        .find(|r| r["scope"] == serde_json::json!(["inquiryPayment", "refund"]))
        .expect("the scoped grant")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(walletd(
        dir.path(),
        &["admin", "agent-token", "revoke", &scoped_id],
    ));
    let json = ok(walletd(dir.path(), &["admin", "agent-token", "list", "--json"]));
    assert_eq!(json.matches("\"status\":\"REVOKED\"").count(), 2, "{json}");
    let out = walletd(dir.path(), &["admin", "agent-token", "revoke", "no-such-grant"]);
    assert!(!out.status.success());
}
