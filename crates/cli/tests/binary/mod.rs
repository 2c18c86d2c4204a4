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
