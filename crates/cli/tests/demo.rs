//! `walletd demo` as a newcomer meets it: it serves a home page, cleans up its temporary folder
//! unless told to keep it, and resumes an earlier demo from its data directory.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

struct Demo {
    child: Child,
    port: u16,
    data_dir: PathBuf,
    output: String,
}

/// Starts the demo and reads its walkthrough up to the export line.
fn start(args: &[&str], data_dir: Option<&Path>) -> Demo {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_walletd"));
    for (k, _) in std::env::vars() {
        if k.starts_with("WALLETD_") {
            cmd.env_remove(k);
        }
    }
    if let Some(d) = data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    cmd.args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end even when nobody listens any more, so the demo never writes into a
        // closed pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut output = String::new();
    let data_dir = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo prints its export line");
        output.push_str(&line);
        output.push('\n');
        if let Some(rest) = line.trim().strip_prefix("export ") {
            let dir = rest
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("WALLETD_DATA_DIR="))
                .expect("WALLETD_DATA_DIR in the export line");
            break PathBuf::from(dir);
        }
    };
    Demo {
        child,
        port,
        data_dir,
        output,
    }
}

impl Demo {
    fn get(&self, path: &str) -> (u16, String) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let r = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
                .await
                .expect("GET");
            (r.status().as_u16(), r.text().await.expect("body"))
        })
    }

    /// Stops the demo as Ctrl-C would, and waits for it to exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                assert!(s.success(), "the demo exits cleanly: {s}");
                return;
            }
            assert!(Instant::now() < deadline, "the demo did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn demo_serves_a_home_page_and_removes_its_temporary_folder() {
    let demo = start(&[], None);
    assert!(demo.data_dir.join("walletd.sqlite3").exists());
    let (status, page) = demo.get("/");
    assert_eq!(status, 200);
    assert!(
        page.contains("walletd") && page.contains("/openapi.json"),
        "{page}"
    );
    assert!(page.contains("Sandbox"), "{page}");
    // The operator console is on, on its own port, and the home page links it.
    let console = demo
        .output
        .lines()
        .find_map(|l| l.strip_prefix("Operator console: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("the demo prints the console link:\n{}", demo.output))
        .to_owned();
    assert!(console.starts_with("http://127.0.0.1:"), "{console}");
    assert!(page.contains("Operator console"), "{page}");
    assert!(
        demo.output.contains("sign in as demo-operator, password "),
        "{}",
        demo.output
    );
    let dir = demo.data_dir.clone();
    demo.stop();
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[test]
fn demo_keeps_its_folder_when_asked_and_resumes_from_it() {
    let demo = start(&["--keep"], None);
    let dir = demo.data_dir.clone();
    demo.stop();
    assert!(dir.join("walletd.sqlite3").exists(), "--keep keeps the data");

    // A payment made on the first run is still there on the second.
    let out = Command::new(env!("CARGO_BIN_EXE_walletd"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["admin", "user", "top-up", "alice", "1.00", "USD"])
        .output()
        .expect("top-up");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let demo = start(&[], Some(&dir));
    assert!(demo.output.contains("Resuming"), "{}", demo.output);
    assert_eq!(demo.data_dir, dir);
    demo.stop();
    assert!(dir.exists(), "a folder the user named is never removed");
    let balance = Command::new(env!("CARGO_BIN_EXE_walletd"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["admin", "balance", "--user", "alice"])
        .output()
        .expect("balance");
    let text = String::from_utf8_lossy(&balance.stdout);
    assert!(
        text.contains("501.00"),
        "alice kept her demo balance plus the top-up: {text}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn demo_refuses_a_directory_holding_another_wallet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_walletd"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["admin", "migrate"])
        .output()
        .expect("migrate");
    assert!(out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_walletd"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["demo", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .expect("demo");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a demo"));
}
