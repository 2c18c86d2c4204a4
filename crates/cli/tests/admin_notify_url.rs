//! `walletd admin client add --notify-url` checks the URL as a payment's notify URL is checked:
//! http(s) to a public host, unless the operator allows private targets.

mod binary;

use std::path::Path;
use std::process::Output;

fn walletd(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = binary::command(data_dir);
    cmd.envs(env.iter().copied());
    cmd.args(args).output().expect("run walletd")
}

fn add_client(dir: &Path, client_id: &str, url: &str, env: &[(&str, &str)]) -> Output {
    let key = dir.join("keys").join("public_key.pem");
    walletd(
        dir,
        env,
        &[
            "admin",
            "client",
            "add",
            "--client-id",
            client_id,
            "--name",
            "Acme",
            "--public-key",
            key.to_str().unwrap(),
            "--notify-url",
            url,
        ],
    )
}

#[test]
fn admin_client_add_refuses_a_notify_url_aimed_at_the_wallets_own_network() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = walletd(
        dir.path(),
        &[],
        &["keys", "generate", "--out-dir", keys.to_str().unwrap()],
    );
    assert!(out.status.success(), "{out:?}");
    for (i, url) in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9090/notify",
        "file:///etc/passwd",
    ]
    .iter()
    .enumerate()
    {
        let out = add_client(dir.path(), &format!("bad{i}"), url, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url} was accepted");
        assert!(
            stderr.contains("PARAM_ILLEGAL") && stderr.contains("--notify-url"),
            "{stderr}"
        );
    }
    let out = add_client(dir.path(), "good", "https://acme.example/notify", &[]);
    assert!(out.status.success(), "{out:?}");
    let out = add_client(
        dir.path(),
        "local",
        "http://127.0.0.1:9090/notify",
        &[("WALLETD_NOTIFIER__ALLOW_PRIVATE_TARGETS", "true")],
    );
    assert!(out.status.success(), "allowed by the operator: {out:?}");
}
