//! `walletd admin operator add|list|unlock|remove`: console operators from the command line, the
//! password read from standard input, every change in the audit log.

mod binary;

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

fn walletd(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = binary::command(data_dir);
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run walletd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("walletd output")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn operators_are_added_with_a_password_from_stdin_listed_unlocked_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let short = walletd(d, &["admin", "operator", "add", "ada"], "short\n");
    assert!(!short.status.success());
    assert!(
        text(&short).contains("at least 12 characters"),
        "{}",
        text(&short)
    );
    let bad_name = walletd(
        d,
        &["admin", "operator", "add", "ada lovelace"],
        "a long enough password\n",
    );
    assert!(!bad_name.status.success());

    let added = walletd(
        d,
        &["admin", "operator", "add", "ada"],
        "a long enough password\n",
    );
    assert!(added.status.success(), "{}", text(&added));
    assert!(text(&added).contains("operator ada added"));
    assert!(
        !text(&added).contains("long enough"),
        "the password is not echoed"
    );
    let again = walletd(
        d,
        &["admin", "operator", "add", "ada"],
        "a long enough password\n",
    );
    assert!(!again.status.success(), "a name is taken once");

    let list = walletd(d, &["admin", "operator", "list"], "");
    assert!(
        text(&list).contains("ada\tACTIVE\t0 wrong password(s)"),
        "{}",
        text(&list)
    );
    assert!(!text(&list).contains("argon2"), "no hash in the listing");

    let unlocked = walletd(d, &["admin", "operator", "unlock", "ada"], "");
    assert!(unlocked.status.success(), "{}", text(&unlocked));
    let removed = walletd(d, &["admin", "operator", "remove", "ada"], "");
    assert!(removed.status.success(), "{}", text(&removed));
    let missing = walletd(d, &["admin", "operator", "remove", "ada"], "");
    assert!(!missing.status.success());
    let list = walletd(d, &["admin", "operator", "list"], "");
    assert!(!text(&list).contains("ada"), "{}", text(&list));
}
