//! The cashier in a real browser: headless Chromium driven over WebDriver (chromedriver).
//!
//! Without `chromium` and `chromedriver` on the machine these tests print
//! "skipped: chromium not installed" and pass, unless `WALLETD_REQUIRE_BROWSER` is set (CI sets
//! it), in which case they fail.

use crate::headless::{Browser, WAIT};
use crate::support::*;
use serde_json::json;
use walletd_core::outbox::OutboxStatus;
use walletd_core::payments::PaymentStatus;

#[tokio::test]
async fn a_user_pays_in_chromium_and_the_merchant_gets_a_verified_notification() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (payment_id, redirection_url) = create_payment(
        &app,
        PayOptions {
            version: 1,
            merchant_name: Some("Tea House Downtown"),
            return_url: Some(merchant.return_url()),
            notify_url: Some(merchant.notify_url()),
            ..Default::default()
        },
    )
    .await;

    browser
        .client
        .goto(&redirection_url)
        .await
        .expect("open the cashier");
    assert!(browser.text_of("merchant").await.contains("Tea House Downtown"));
    assert_eq!(browser.text_of("amount").await, "12.50 USD");
    assert!(browser.text_of("time-left").await.contains("Time left:"));
    browser.screenshot("cashier-sign-in.png").await;

    browser.type_into("login", "+15550000001").await;
    browser.type_into("pin", "123456").await;
    browser.click("sign-in").await;
    assert_eq!(browser.text_of("payer-name").await, "Alice Rivera");
    assert_eq!(browser.text_of("balance").await, "500.00 USD");
    assert_eq!(browser.text_of("pay").await, "Pay 12.50 USD");
    browser.screenshot("cashier-pay.png").await;

    browser.click("pay").await;
    assert_eq!(browser.text_of("status").await, "Paid");
    browser.click("back").await;
    assert_eq!(browser.text_of("shop-return").await, "Back at the Tea House");
    assert_eq!(browser.url().await, merchant.return_url());
    assert_eq!(
        app.wallet.get_payment(&payment_id).await.unwrap().unwrap().status,
        PaymentStatus::Success
    );

    let received = merchant.wait_received(1, WAIT).await;
    let n = &received[0];
    n.verify(&app.wallet_public_key)
        .expect("the notification's signature verifies");
    assert_eq!(n.header("client-id"), Some(CLIENT_ID));
    let body = n.json();
    assert_eq!(body["paymentId"], payment_id.as_str());
    assert_eq!(body["paymentStatus"], "SUCCESS");
    assert_eq!(body["paymentAmount"], json!({"currency": "USD", "value": "1250"}));
    let entry = app.settled_notification(&payment_id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Delivered);

    // The back button. Chromium may restore the signed-in page from its back/forward cache
    // (even with `Cache-Control: no-store`), Pay button and all: pressing it again must not pay
    // twice but show the final state. A page fetched afresh shows the final state at once.
    browser.client.back().await.expect("back");
    if browser.has("pay").await {
        browser.click("pay").await;
    }
    assert_eq!(browser.text_of("status").await, "Paid");
    assert!(!browser.has("pay").await);
    // Back from the merchant lands on the receipt (or the payment page, from the cache).
    let at = browser.url().await;
    assert!(
        at.ends_with(&format!("/cashier/{payment_id}/result"))
            || at.ends_with(&format!("/cashier/{payment_id}")),
        "{at}"
    );
    browser.screenshot("cashier-paid.png").await;
    let alice_usd = app
        .wallet
        .accounts_of(walletd_core::ledger::AccountKind::UserWallet, "alice")
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.currency.code() == "USD")
        .unwrap();
    assert_eq!(alice_usd.available_balance(), 50_000 - 1250, "paid once");
    assert_eq!(merchant.received().len(), 1, "notified once");
    browser.close().await;
}

#[tokio::test]
async fn a_user_cancels_in_chromium_and_the_merchant_is_told() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (payment_id, redirection_url) = create_payment(
        &app,
        PayOptions {
            version: 2,
            currency: "JPY",
            value: "1500",
            return_url: Some(merchant.return_url()),
            notify_url: Some(merchant.notify_url()),
            ..Default::default()
        },
    )
    .await;
    browser
        .client
        .goto(&redirection_url)
        .await
        .expect("open the cashier");
    assert_eq!(browser.text_of("amount").await, "1,500 JPY");
    assert!(browser.text_of("merchant").await.contains(CLIENT_NAME));
    browser.type_into("login", "+15550000001").await;
    browser.type_into("pin", "999999").await;
    browser.click("sign-in").await;
    assert!(browser
        .text_of("notice")
        .await
        .contains("The login or PIN is wrong"));
    browser.screenshot("cashier-wrong-pin.png").await;
    browser.type_into("login", "+15550000001").await;
    browser.type_into("pin", "123456").await;
    browser.click("sign-in").await;
    assert_eq!(browser.text_of("balance").await, "30,000 JPY");
    browser.click("cancel").await;
    assert_eq!(browser.text_of("shop-return").await, "Back at the Tea House");

    let p = app.wallet.get_payment(&payment_id).await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Fail);
    let received = merchant.wait_received(1, WAIT).await;
    received[0]
        .verify(&app.wallet_public_key)
        .expect("signature verifies");
    let body = received[0].json();
    assert_eq!(body["paymentId"], payment_id.as_str());
    assert_eq!(body["paymentResult"]["resultStatus"], "F");
    assert_eq!(
        body["paymentResult"]["resultMessage"],
        "The user cancelled the payment."
    );

    browser.client.goto(&redirection_url).await.expect("reopen");
    assert_eq!(browser.text_of("status").await, "Cancelled");
    assert!(!browser.has("pay").await && !browser.has("sign-in").await);
    browser.close().await;
}
