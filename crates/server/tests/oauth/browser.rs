//! The consent page in a real browser: headless Chromium over WebDriver (chromedriver), the same
//! way the cashier is tested. Without `chromium` and `chromedriver` the test says
//! "skipped: chromium not installed" and passes, unless `WALLETD_REQUIRE_BROWSER` is set (CI).

use crate::app::*;
use crate::headless::{artifacts_dir, Browser};

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
