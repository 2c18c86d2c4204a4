//! The `walletd` binary as the tests run it: a child process that takes its configuration from
//! the command line and the files the test writes, never from the caller's `WALLETD_*` variables.
//! Shared by the CLI test binaries (each uses what it needs).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `walletd --data-dir DATA_DIR` with every `WALLETD_*` variable of the environment removed.
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_walletd"));
    cmd.arg("--data-dir").arg(data_dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("WALLETD_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The standard output of a run that must succeed; otherwise fails with both outputs.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "walletd failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Registers the merchant `acme` (mini program `app-1`) with a fresh key pair in `DATA_DIR/keys/`,
/// and writes the wallet's public key to `DATA_DIR/wallet_public_key.pem`, as a merchant's
/// developer would set up against a sandbox.
pub fn add_merchant(data_dir: &Path) {
    let keys = data_dir.join("keys");
    ok(command(data_dir)
        .args(["keys", "generate", "--out-dir"])
        .arg(&keys)
        .output()
        .expect("keys"));
    ok(command(data_dir)
        .args(["admin", "client", "add", "--client-id", "acme", "--name", "Acme"])
        .arg("--public-key")
        .arg(keys.join("public_key.pem"))
        .args(["--app-id", "app-1"])
        .output()
        .expect("client add"));
    let wallet_key = ok(command(data_dir)
        .args(["admin", "wallet-key", "show"])
        .output()
        .expect("wallet key"));
    std::fs::write(data_dir.join("wallet_public_key.pem"), wallet_key).expect("write wallet key");
}

/// Waits (at most 30 s) until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_listener(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "walletd did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
