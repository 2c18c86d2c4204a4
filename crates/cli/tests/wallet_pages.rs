//! The wallet pages as an operator runs them: a real `walletd serve` child process whose memory
//! is read from `/proc/<pid>/status` under a sign-in flood, and the `admin client` redirect-URL
//! registration the consent page relies on.

mod binary;

use binary::{free_port, ok};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

/// `walletd --data-dir DIR ARGS…` with no configuration from the environment but `env`.
fn walletd(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = binary::command(data_dir);
    cmd.envs(env.iter().copied());
    cmd.args(args);
    cmd
}

/// Resident memory of a process, from `/proc/<pid>/status` (Linux).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn two_hundred_concurrent_sign_ins_keep_the_servers_memory_flat_and_it_comes_back_down() {
    if rss_bytes(std::process::id()).is_none() {
        println!("skipped: no /proc/<pid>/status on this system");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    ok(walletd(
        dir.path(),
        &[
            "admin",
            "user",
            "add",
            "--user-id",
            "alice",
            "--login",
            "+15550000001",
            "--name",
            "Alice",
            "--pin",
            "123456",
        ],
        &[],
    )
    .output()
    .expect("run walletd"));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // Every sign-in reaches the PIN checkers (no throttle, room in the queue for all): the worst
    // case for memory. Two checker threads whatever the machine, so the bound does not depend on it.
    let server = Server(
        walletd(
            dir.path(),
            &["serve", "--listen", &listen],
            &[
                ("WALLETD_CASHIER__HASH_CONCURRENCY", "2"),
                ("WALLETD_CASHIER__HASH_QUEUE", "400"),
                ("WALLETD_CASHIER__HASH_MEMORY_IDLE_SECS", "1"),
                ("WALLETD_CASHIER__SIGN_IN_PER_LOGIN_PER_MINUTE", "0"),
                ("WALLETD_CASHIER__SIGN_IN_PER_ADDRESS_PER_MINUTE", "0"),
                ("RUST_LOG", "error"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start walletd serve"),
    );
    let pid = server.0.id();
    let base = format!("http://{listen}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let started = Instant::now();
    let page = loop {
        if let Ok(r) = http.get(format!("{base}/wallet/payment-code")).send().await {
            break r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "walletd did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("visitor cookie")
        .to_owned();
    let body = page.text().await.expect("page");
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("form") + marker.len();
    let token = body[start..start + body[start..].find('"').expect("token end")].to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_bytes(pid).expect("rss");

    // Sample the server's memory while 200 sign-ins (unknown logins and wrong PINs) run at once.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            peak = peak.max(rss_bytes(pid).unwrap_or(0));
            tokio::select! {
                _ = stop_rx.changed() => return peak,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    });
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (http, base, cookie, token) = (http.clone(), base.clone(), cookie.clone(), token.clone());
        let login = if i % 10 == 0 {
            "+15550000001".to_owned()
        } else {
            format!("nobody-{i}@example.com")
        };
        tasks.push(tokio::spawn(async move {
            http.post(format!("{base}/wallet/payment-code"))
                .header("cookie", cookie)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("login", &login),
                    ("pin", "000000"),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut answered = 0;
    for t in tasks {
        let status = tokio::time::timeout(Duration::from_secs(300), t)
            .await
            .expect("every sign-in is answered")
            .expect("task")
            .expect("http");
        assert_eq!(
            status, 200,
            "a sign-in with room in the queue is answered with its page"
        );
        answered += 1;
    }
    let _ = stop_tx.send(true);
    let peak = sampler.await.expect("sampler");
    let just_after = rss_bytes(pid).expect("rss");
    // Idle checkers give their argon2 memory back (here after 1 s without work): wait for the
    // resident size to come back near idle, for up to a minute on a loaded machine.
    let back_by = Instant::now() + Duration::from_secs(60);
    let mut after = just_after;
    while after > idle + 25 * MIB && Instant::now() < back_by {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = rss_bytes(pid).expect("rss");
    }
    println!(
        "walletd serve RSS: idle {} MiB, peak {} MiB during {answered} concurrent sign-ins, {} MiB just after, {} MiB once idle",
        idle / MIB,
        peak / MIB,
        just_after / MIB,
        after / MIB
    );
    assert!(
        peak <= idle + 100 * MIB,
        "peak RSS {} MiB is more than 100 MiB above idle ({} MiB)",
        peak / MIB,
        idle / MIB
    );
    assert!(
        after <= idle + 25 * MIB,
        "RSS after the flood ({} MiB) did not come back near idle ({} MiB)",
        after / MIB,
        idle / MIB
    );
}

#[test]
fn clients_register_and_replace_their_redirect_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("merchant");
    ok(walletd(
        dir.path(),
        &["keys", "generate", "--out-dir", keys.to_str().expect("path")],
        &[],
    )
    .output()
    .expect("run walletd"));
    let public = keys.join("public_key.pem");
    let add = |extra: &[&str]| {
        let mut args = vec![
            "admin",
            "client",
            "add",
            "--client-id",
            "mp-1",
            "--name",
            "Mini",
            "--public-key",
            public.to_str().expect("path"),
        ];
        args.extend_from_slice(extra);
        walletd(dir.path(), &args, &[]).output().expect("run walletd")
    };
    // A URL with a fragment, or one that is not http(s), is refused at registration.
    for bad in [
        "https://mini.example/cb#x",
        "javascript:alert(1)",
        "ftp://mini.example/cb",
    ] {
        let out = add(&["--redirect-url", bad]);
        assert!(!out.status.success(), "{bad} was registered");
    }
    ok(add(&[
        "--redirect-url",
        "https://mini.example/cb",
        "--redirect-url",
        "https://mini.example/other",
    ]));
    let list = ok(walletd(dir.path(), &["admin", "client", "list"], &[])
        .output()
        .expect("run walletd"));
    assert!(
        list.contains("https://mini.example/cb https://mini.example/other"),
        "{list}"
    );
    ok(walletd(
        dir.path(),
        &[
            "admin",
            "client",
            "update",
            "--client-id",
            "mp-1",
            "--redirect-url",
            "https://mini.example/new",
        ],
        &[],
    )
    .output()
    .expect("run walletd"));
    let list = ok(walletd(dir.path(), &["admin", "client", "list"], &[])
        .output()
        .expect("run walletd"));
    assert!(list.contains("https://mini.example/new"), "{list}");
    assert!(!list.contains("/other"), "{list}");
    ok(walletd(
        dir.path(),
        &[
            "admin",
            "client",
            "update",
            "--client-id",
            "mp-1",
            "--clear-redirect-urls",
        ],
        &[],
    )
    .output()
    .expect("run walletd"));
    let list = ok(walletd(dir.path(), &["admin", "client", "list"], &[])
        .output()
        .expect("run walletd"));
    assert!(!list.contains("mini.example"), "{list}");
}
