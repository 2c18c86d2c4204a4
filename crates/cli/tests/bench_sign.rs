//! `walletd bench sign`: the wallet key's own signing rate, which `bench/run.sh` prints beside
//! `openssl speed`'s.

mod binary;

#[test]
fn the_signing_rate_is_measured_with_the_wallet_key_and_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = binary::command(dir.path())
        .args(["bench", "sign", "--seconds", "0.3", "--threads", "2"])
        .output()
        .expect("run walletd");
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).expect("utf-8");
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    assert!(line.starts_with("SIGN algorithm=RSA256 threads=2 "), "{line}");
    assert!(field("signs") >= 2.0, "{line}");
    assert!(field("signs_per_s") > 0.0, "{line}");
    assert!(
        dir.path().join("wallet_private_key.pem").exists(),
        "the wallet key it signed with"
    );

    for bad in [["--seconds", "0"], ["--threads", "0"], ["--seconds", "601"]] {
        let out = binary::command(dir.path())
            .args(["bench", "sign"])
            .args(bad)
            .output()
            .expect("run walletd");
        assert!(!out.status.success(), "{bad:?} was accepted");
    }
}
