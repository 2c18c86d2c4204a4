//! Attacks on what the wallet pages do after (or instead of) a sign-in: cancelling someone's
//! payment at the cashier, and sending an auth code to a host the merchant never registered.

use crate::signin_harness::*;
use walletd_core::payments::PaymentStatus;

async fn status(app: &SignInApp, id: &str) -> PaymentStatus {
    app.wallet
        .get_payment(id)
        .await
        .expect("read")
        .expect("payment")
        .status
}

#[tokio::test]
async fn an_anonymous_visitor_cannot_cancel_a_payment_only_leave() {
    let app = spawn(|_| {}).await;
    for payer in [Some("alice"), None] {
        let id = app.cashier_payment(payer).await;
        let visitor = Browser::new(&app);
        let page = visitor.get(&format!("/cashier/{id}")).await;
        let leave = page.body.split("id=\"leave\"").nth(1).expect("a Leave link");
        assert!(
            leave.starts_with(" href=\"https:") && leave.contains("shop.example"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("id=\"cancel\""), "{}", page.body);
        // The cookie and the CSRF token of a GET are all an outsider needs to post the form.
        let a = visitor
            .post(&format!("/cashier/{id}/cancel"), &[("csrf_token", &page.csrf())])
            .await;
        assert_eq!(a.status, 303);
        assert_eq!(a.notice(), Some("signin_to_cancel"), "{a:?}");
        assert_eq!(
            status(&app, &id).await,
            PaymentStatus::Processing,
            "payer {payer:?}"
        );
    }
}

#[tokio::test]
async fn only_the_signed_in_payer_cancels_at_the_cashier() {
    let app = spawn(|_| {}).await;
    let id = app.cashier_payment(Some("alice")).await;
    // Bob cannot sign in to alice's payment, so he cannot cancel it either.
    let bob = Browser::new(&app);
    let token = bob.cashier_token(&id).await;
    let a = bob.cashier_sign_in(&id, &token, BOB_LOGIN, BOB_PIN).await;
    assert_eq!(a.notice(), Some("other_user"));
    let a = bob
        .post(&format!("/cashier/{id}/cancel"), &[("csrf_token", &token)])
        .await;
    assert_eq!(a.notice(), Some("signin_to_cancel"));
    assert_eq!(status(&app, &id).await, PaymentStatus::Processing);
    // Alice can.
    let alice = Browser::new(&app);
    let token = alice.cashier_token(&id).await;
    let a = alice.cashier_sign_in(&id, &token, ALICE_LOGIN, ALICE_PIN).await;
    assert_eq!(a.notice(), None, "{a:?}");
    let a = alice
        .post(&format!("/cashier/{id}/cancel"), &[("csrf_token", &token)])
        .await;
    assert_eq!(a.location.as_deref(), Some("https://shop.example/return"));
    assert_eq!(status(&app, &id).await, PaymentStatus::Fail);
}

#[tokio::test]
async fn the_consent_page_sends_codes_only_to_a_registered_redirect_url() {
    let app = spawn(|_| {}).await;
    let refused = [
        "https://evil.example/cb",
        "https://mini.example/cb/more",
        "https://mini.example/other",
        "https://mini.example:8443/cb",
        "http://mini.example/cb",
        "https://mini.example.evil.example/cb",
        "https://mini.example@evil.example/cb",
        "https://user@mini.example/cb",
        "https://mini.example/cb#frag",
    ];
    let browser = Browser::new(&app);
    for url in refused {
        let page = browser.get(&consent_path(Some(url))).await;
        assert_eq!(page.status, 400, "{url}: {}", page.body);
        assert_eq!(page.location, None);
        assert!(page.body.contains("has not registered"), "{url}: {}", page.body);
    }
    // The form cannot be posted around the check, even with the right PIN: no redirect, and no
    // PIN was even looked at.
    let token = browser.get(&consent_path(None)).await.csrf();
    let a = browser
        .post(
            "/oauth/authorize",
            &[
                ("csrf_token", token.as_str()),
                ("client_id", CLIENT_ID),
                ("app_id", APP_ID),
                ("scopes", "auth_base"),
                ("redirect_url", "https://evil.example/cb"),
                ("state", "s1"),
                ("login", ALICE_LOGIN),
                ("pin", "000000"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.location, None);
    assert_eq!(app.failed_pin_attempts("alice").await, 0);
    // The registered URL, with a query of the mini program's own, works (scheme and host case do
    // not matter, nor the default port).
    for url in [
        "https://mini.example/cb",
        "https://mini.example/cb?page=2",
        "HTTPS://Mini.Example:443/cb",
    ] {
        let page = browser.get(&consent_path(Some(url))).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
    }
    let a = browser
        .post(
            "/oauth/authorize",
            &[
                ("csrf_token", token.as_str()),
                ("client_id", CLIENT_ID),
                ("app_id", APP_ID),
                ("scopes", "auth_base"),
                ("redirect_url", "https://mini.example/cb?page=2"),
                ("state", "s1"),
                ("login", ALICE_LOGIN),
                ("pin", ALICE_PIN),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let to = a.location.expect("redirect");
    assert!(to.starts_with("https://mini.example/cb?page=2&authCode="), "{to}");
}
