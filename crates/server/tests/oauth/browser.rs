//! The consent page in a real browser: headless Chromium over WebDriver (chromedriver), the same
//! way the cashier is tested. Without `chromium` and `chromedriver` the test says
//! "skipped: chromium not installed" and passes, unless `WALLETD_REQUIRE_BROWSER` is set (CI).

use crate::app::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);

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

fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("WALLETD_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: TempDir,
}

impl Browser {
    async fn start() -> Option<Browser> {
        let chromium = find_program(
            "WALLETD_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = find_program("WALLETD_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                !browser_required(),
                "WALLETD_REQUIRE_BROWSER is set but chromium/chromedriver are not installed"
            );
            eprintln!(
                "skipped: chromium not installed (set WALLETD_REQUIRE_BROWSER=1 to make this a failure)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(driver)
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
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-sync",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=390,844",
                ],
                "mobileEmulation": {
                    "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "mobile": true, "touch": true}
                }
            }
        });
        // chromedriver speaks plain HTTP on localhost: the bare hyper connector, no TLS.
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.as_object().expect("object").clone())
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    async fn text_of(&self, id: &str) -> String {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id} not on the page: {e}"))
            .text()
            .await
            .expect("text")
    }

    async fn type_into(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.expect(id);
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("typing");
    }

    async fn click(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .expect(id)
            .click()
            .await
            .expect("click");
    }
}

#[tokio::test]
async fn a_user_allows_a_mini_program_in_chromium_and_the_merchant_gets_the_agreement() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    let url = app.url(&format!(
        "/oauth/authorize?clientId={CLIENT_ID}&appId={APP_ID}&scopes=auth_user,AGREEMENT_PAY&agreementCurrency=USD&agreementLimit=30.00"
    ));
    browser.client.goto(&url).await.expect("open the consent page");
    assert!(browser.text_of("heading").await.contains("Tea House"));
    let scopes = browser.text_of("scopes").await;
    assert!(
        scopes.contains("basic profile") && scopes.contains("without asking"),
        "{scopes}"
    );

    // A wrong PIN first: the page says so and keeps the form.
    browser.type_into("login", ALICE_LOGIN).await;
    browser.type_into("pin", "111111").await;
    browser.click("allow").await;
    assert!(browser.text_of("notice").await.contains("wrong"));

    browser.type_into("agreement_limit", "20.00").await;
    browser.type_into("pin", ALICE_PIN).await;
    let png = browser.client.screenshot().await.expect("screenshot");
    std::fs::write(artifacts_dir().join("consent-page.png"), png).expect("screenshot file");
    browser.click("allow").await;
    let code = browser.text_of("auth-code").await;
    assert_eq!(code.len(), 32, "{code}");
    let _ = browser.client.close().await;

    let token = app.tokens(&code).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let pay = |id: &str, minor: i64| crate::agreement::v1_agreement(id, &token, minor);
    assert_eq!(
        code_of(&app.call("v1/payments/pay", pay("b-1", 2000)).await),
        "SUCCESS"
    );
    assert_eq!(
        code_of(&app.call("v1/payments/pay", pay("b-2", 2001)).await),
        "USER_AMOUNT_EXCEED_LIMIT",
        "the limit the user typed, not the one proposed"
    );
}
