//! The headless Chromium harness shared by the browser test binaries (cashier, consent page):
//! chromedriver on a free port, a phone-sized window, bounded waits, screenshots to the artifacts
//! directory. Without `chromium` and `chromedriver` a test says "skipped: chromium not installed"
//! and passes, unless `WALLETD_REQUIRE_BROWSER` is set (CI sets it), in which case it fails.
//!
//! Included with `#[path = "../common/headless.rs"] mod headless;`; each binary uses part of it.
#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use walletd_testkit::wait_for;

/// Where tests leave files for CI to keep: `$WALLETD_ARTIFACTS_DIR`, default `target/artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("WALLETD_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// A phone-sized window (CSS pixels).
pub const WIDTH: u32 = 390;
pub const HEIGHT: u32 = 844;
pub const WAIT: Duration = Duration::from_secs(20);

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn browser_required() -> bool {
    std::env::var("WALLETD_REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A running chromedriver and a browser session; both end when this is dropped.
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: TempDir,
}

/// How a test's browser differs from the default one (English, the machine's time zone).
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// The `Accept-Language` the browser sends, e.g. `es-ES,es`.
    pub accept_language: Option<&'static str>,
    /// The browser's time zone (IANA name), e.g. `Asia/Shanghai`.
    pub time_zone: Option<&'static str>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium, or `None` (after saying why) when they are
    /// not installed and not required.
    pub async fn start() -> Option<Browser> {
        Browser::start_with(BrowserOptions::default()).await
    }

    /// [`Browser::start`] with a language or a time zone.
    pub async fn start_with(options: BrowserOptions) -> Option<Browser> {
        let chromium = find_program(
            "WALLETD_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = find_program("WALLETD_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                !browser_required(),
                "WALLETD_REQUIRE_BROWSER is set but chromium/chromedriver are not installed \
                 (apt-get install -y chromium chromium-driver)"
            );
            // Straight to stderr: the test harness hides `eprintln!` of passing tests.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: chromium not installed (set WALLETD_REQUIRE_BROWSER=1 to make this a failure)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = tokio::process::Command::new(driver);
        if let Some(tz) = options.time_zone {
            driver.env("TZ", tz);
        }
        let driver = driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        let ready = wait_for(WAIT, || async {
            let r = reqwest::get(format!("{webdriver}/status")).await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
        assert!(ready.is_some(), "chromedriver did not start on port {port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut prefs = serde_json::Map::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(lang) = options.accept_language {
            prefs.insert("intl.accept_languages".into(), json!(lang));
            args.push(format!("--accept-lang={lang}"));
            args.push(format!("--lang={}", lang.split(',').next().unwrap_or(lang)));
        }
        let mut caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={WIDTH},{HEIGHT}"),
                ],
                "mobileEmulation": {
                    "deviceMetrics": {"width": WIDTH, "height": HEIGHT, "pixelRatio": 2.0, "mobile": true, "touch": true}
                }
            }
        });
        let chrome = &mut caps["goog:chromeOptions"];
        chrome["prefs"] = serde_json::Value::Object(prefs);
        if let Some(list) = chrome["args"].as_array_mut() {
            list.extend(args.into_iter().map(serde_json::Value::from));
        }
        let caps = caps.as_object().expect("object").clone();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits (bounded) for the element `#id`; on failure says where the browser is and what it shows.
    pub async fn element(&self, id: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id(id))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let source = self.client.source().await.unwrap_or_default();
                panic!("#{id} not on the page ({e}); at {url}:\n{source}")
            }
        }
    }

    pub async fn text_of(&self, id: &str) -> String {
        self.element(id).await.text().await.expect("text")
    }

    pub async fn click(&self, id: &str) {
        self.element(id).await.click().await.expect("click");
    }

    /// Replaces the text of the field `#id`.
    pub async fn type_into(&self, id: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} not on the page: {e}"));
        field.clear().await.expect("clearing");
        field.send_keys(text).await.expect("typing");
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).expect("writing the screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    pub async fn has(&self, id: &str) -> bool {
        self.client.find(Locator::Id(id)).await.is_ok()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
