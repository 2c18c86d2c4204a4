//! The wallet's pages as a user meets them, in Chromium: the order reference, the receipt, the
//! ticking countdown in local time (and the page without JavaScript), Pay disabled with its
//! reason, tries left after a wrong PIN, labelled consent fields, the payment code's QR code, and
//! the three languages with their switch. A few facts that need no browser are checked over HTTP.

use crate::headless::{Browser, BrowserOptions, WAIT};
use crate::support::*;
use base64::Engine as _;
use fantoccini::Locator;
use walletd_core::payments::PaymentStatus;

async fn attr(browser: &Browser, id: &str, name: &str) -> Option<String> {
    browser.element(id).await.attr(name).await.expect("attribute")
}

async fn value_of(browser: &Browser, id: &str) -> String {
    browser
        .element(id)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

/// Waits (bounded) until `#id` shows `needle`: the page after a form may still be loading.
async fn wait_text(browser: &Browser, id: &str, needle: &str) -> String {
    let seen = wait_for(WAIT, || async {
        let e = browser.client.find(Locator::Id(id)).await.ok()?;
        let text = e.text().await.ok()?;
        text.contains(needle).then_some(text)
    })
    .await;
    seen.unwrap_or_else(|| panic!("#{id} never showed {needle:?}"))
}

async fn sign_in(browser: &Browser, login: &str, pin: &str) {
    browser.type_into("login", login).await;
    browser.type_into("pin", pin).await;
    browser.click("sign-in").await;
}

#[tokio::test]
async fn the_cashier_shows_the_order_reference_and_after_paying_a_receipt_with_id_time_and_new_balance() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (id, url) = create_payment(
        &app,
        PayOptions {
            return_url: Some(merchant.return_url()),
            ..Default::default()
        },
    )
    .await;
    let reference = app
        .wallet
        .get_payment(&id)
        .await
        .unwrap()
        .unwrap()
        .reference_order_id
        .expect("the merchant's order reference");
    browser.client.goto(&url).await.expect("open the cashier");
    assert_eq!(browser.text_of("order-reference").await, reference);
    sign_in(&browser, "+15550000001", "123456").await;
    browser.click("pay").await;
    wait_text(&browser, "status", "Paid").await;
    assert_eq!(browser.text_of("receipt-payment-id").await, id);
    assert_eq!(browser.text_of("receipt-amount").await, "12.50 USD");
    assert_eq!(browser.text_of("receipt-new-balance").await, "487.50 USD");
    let paid_at = app
        .wallet
        .get_payment(&id)
        .await
        .unwrap()
        .unwrap()
        .paid_at
        .expect("paid");
    assert_eq!(
        attr(&browser, "receipt-paid-at", "datetime").await.as_deref(),
        Some(
            paid_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str()
        )
    );
    assert!(!browser.text_of("receipt-paid-at").await.is_empty());
    browser.screenshot("cashier-receipt.png").await;
    assert_eq!(
        app.wallet.get_payment(&id).await.unwrap().unwrap().status,
        PaymentStatus::Success
    );
    browser.click("back").await;
    assert_eq!(browser.text_of("shop-return").await, "Back at the Tea House");
    browser.close().await;
}

#[tokio::test]
async fn the_receipt_shows_the_new_balance_only_in_the_payers_browser() {
    let app = spawn_app(|_| {}).await;
    let (id, url) = create_payment(&app, PayOptions::default()).await;
    let payer = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap();
    let page = payer.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = between(&page, "name=\"csrf_token\" value=\"", "\"");
    let signed_in = payer
        .post(app.url(&format!("/cashier/{id}/sign-in")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("login", "+15550000001"),
            ("pin", "123456"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&signed_in, "name=\"csrf_token\" value=\"", "\"");
    let receipt = payer
        .post(app.url(&format!("/cashier/{id}/pay")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(receipt.url().path().ends_with("/result"), "{}", receipt.url());
    let receipt = receipt.text().await.unwrap();
    assert!(
        receipt.contains("id=\"receipt-new-balance\">487.50 USD<"),
        "{receipt}"
    );
    // Anyone else with the link sees the receipt without the payer's balance.
    let other = reqwest::get(app.url(&format!("/cashier/{id}/result")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        other.contains(&format!("id=\"receipt-payment-id\">{id}<")),
        "{other}"
    );
    assert!(!other.contains("receipt-new-balance"), "{other}");
    assert!(!other.contains("487.50"), "{other}");
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).expect("start") + start.len();
    let to = text[from..].find(end).expect("end") + from;
    text[from..to].to_owned()
}

#[tokio::test]
async fn the_countdown_ticks_in_the_browsers_time_zone_and_the_page_works_without_javascript() {
    let Some(browser) = Browser::start_with(BrowserOptions {
        time_zone: Some("Asia/Shanghai"),
        ..Default::default()
    })
    .await
    else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let (_, url) = create_payment(&app, PayOptions::default()).await;
    browser.client.goto(&url).await.expect("open the cashier");
    let first = browser.text_of("countdown").await;
    assert!(
        first.len() >= 4 && first.contains(':'),
        "minutes:seconds once the script runs: {first:?}"
    );
    let ticked = wait_for(WAIT, || async {
        let now = browser.text_of("countdown").await;
        (now != first).then_some(now)
    })
    .await;
    assert!(ticked.is_some(), "the countdown never moved from {first:?}");
    let expires = browser.text_of("expires-at").await;
    assert_eq!(
        attr(&browser, "expires-at", "data-local").await.as_deref(),
        Some("true")
    );
    assert!(!expires.contains("UTC"), "local time, not UTC: {expires:?}");
    assert!(expires.contains("GMT+8"), "Shanghai's zone: {expires:?}");
    browser.screenshot("cashier-countdown.png").await;
    browser.close().await;

    // Without JavaScript (a plain HTTP client runs no script): minutes and UTC, and paying works
    // by plain forms.
    let (id, url) = create_payment(&app, PayOptions::default()).await;
    let plain = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let page = plain.get(&url).send().await.unwrap().text().await.unwrap();
    let countdown = between(&page, "<span id=\"countdown\">", "</span>");
    assert!(countdown.ends_with(" min"), "{countdown}");
    assert!(between(&page, "data-style=\"time\">", "</time>").ends_with("UTC"));
    let csrf = between(&page, "name=\"csrf_token\" value=\"", "\"");
    let signed_in = plain
        .post(app.url(&format!("/cashier/{id}/sign-in")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("login", "+15550000001"),
            ("pin", "123456"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&signed_in, "name=\"csrf_token\" value=\"", "\"");
    let receipt = plain
        .post(app.url(&format!("/cashier/{id}/pay")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(receipt.contains("data-state=\"SUCCESS\""), "{receipt}");
    assert_eq!(
        app.wallet.get_payment(&id).await.unwrap().unwrap().status,
        PaymentStatus::Success
    );
}

#[tokio::test]
async fn the_countdown_script_is_our_own_file_allowed_by_the_content_security_policy() {
    let app = spawn_app(|_| {}).await;
    let (_, url) = create_payment(&app, PayOptions::default()).await;
    let page = reqwest::get(&url).await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"),
        "{csp}"
    );
    let body = page.text().await.unwrap();
    assert_eq!(body.matches("<script").count(), 1, "{body}");
    let script = reqwest::get(app.url("/wallet/assets/countdown.js"))
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("data-seconds-left"));
}

#[tokio::test]
async fn pay_is_disabled_with_the_reason_when_the_balance_is_short() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let (id, url) = create_payment(&app, PayOptions::default()).await;
    browser.client.goto(&url).await.expect("open the cashier");
    sign_in(&browser, "+15550000002", "654321").await;
    let pay = browser.element("pay").await;
    assert!(!pay.is_enabled().await.expect("enabled?"), "Pay is disabled");
    assert_eq!(
        attr(&browser, "pay", "aria-describedby").await.as_deref(),
        Some("pay-disabled-reason")
    );
    let reason = browser.text_of("pay-disabled-reason").await;
    assert!(
        reason.contains("5.00 USD") && reason.contains("Top up"),
        "{reason}"
    );
    browser.screenshot("cashier-pay-disabled.png").await;
    // A click on the disabled button sends nothing.
    let _ = pay.click().await;
    assert_eq!(
        app.wallet.get_payment(&id).await.unwrap().unwrap().status,
        PaymentStatus::Processing
    );
    // Topped up, the page offers Pay again.
    app.wallet.top_up("bob", amount("USD", "10.00")).await.unwrap();
    browser.client.refresh().await.unwrap();
    assert!(browser.element("pay").await.is_enabled().await.unwrap());
    assert!(!browser.has("pay-disabled-reason").await);
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_pin_says_how_many_tries_are_left_and_keeps_the_login() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let (_, url) = create_payment(&app, PayOptions::default()).await;
    browser.client.goto(&url).await.expect("open the cashier");
    sign_in(&browser, "+15550000001", "000000").await;
    let notice = wait_text(&browser, "notice", "4 tries left").await;
    assert!(notice.contains("The login or PIN is wrong"), "{notice}");
    assert_eq!(value_of(&browser, "login").await, "+15550000001");
    browser.screenshot("cashier-tries-left.png").await;
    // The login is there: only the PIN is typed again.
    browser.type_into("pin", "111111").await;
    browser.click("sign-in").await;
    wait_text(&browser, "notice", "3 tries left").await;
    assert_eq!(value_of(&browser, "login").await, "+15550000001");
    browser.type_into("pin", "123456").await;
    browser.click("sign-in").await;
    assert_eq!(browser.text_of("payer-name").await, "Alice Rivera");

    // The payment-code page counts the same tries (the right PIN above started them over).
    browser
        .client
        .goto(&app.url("/wallet/payment-code"))
        .await
        .unwrap();
    browser.type_into("login", "+15550000001").await;
    browser.type_into("pin", "000000").await;
    browser.click("show-code").await;
    wait_text(&browser, "notice", "4 tries left").await;
    assert_eq!(value_of(&browser, "login").await, "+15550000001");
    browser.close().await;
}

#[tokio::test]
async fn an_unknown_login_is_told_tries_left_like_a_real_one() {
    let app = spawn_app(|_| {}).await;
    let notices = |login: &'static str| {
        let app = &app;
        async move {
            let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
            let page = c
                .get(app.url("/wallet/payment-code"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let csrf = between(&page, "name=\"csrf_token\" value=\"", "\"");
            let mut out = Vec::new();
            for _ in 0..2 {
                let page = c
                    .post(app.url("/wallet/payment-code"))
                    .form(&[("csrf_token", csrf.as_str()), ("login", login), ("pin", "000000")])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                out.push(between(&page, "role=\"alert\">", "</div>"));
            }
            out
        }
    };
    let real = notices("+15550000001").await;
    let unknown = notices("+15559999999").await;
    assert_eq!(real, unknown);
    assert!(real[1].contains("3 tries left"), "{real:?}");
}

#[tokio::test]
async fn the_consent_fields_are_labelled_and_carry_no_placeholder_values() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    browser
        .client
        .goto(&app.url(&format!(
            "/oauth/authorize?clientId={CLIENT_ID}&appId={APP_ID}&scopes=auth_user,AGREEMENT_PAY"
        )))
        .await
        .unwrap();
    browser.element("consent-form").await;
    let inputs = browser
        .client
        .find_all(Locator::Css("#consent-form input:not([type=hidden])"))
        .await
        .unwrap();
    assert_eq!(inputs.len(), 4, "limit, currency, login, PIN");
    for input in inputs {
        let id = input.attr("id").await.unwrap().expect("an id");
        assert_eq!(
            input.attr("placeholder").await.unwrap(),
            None,
            "#{id} has a placeholder"
        );
        assert_eq!(
            input.prop("value").await.unwrap().unwrap_or_default(),
            "",
            "#{id} is empty"
        );
        let label = browser
            .client
            .find(Locator::Css(&format!("label[for='{id}']")))
            .await
            .unwrap_or_else(|_| panic!("#{id} has no label"));
        assert!(!label.text().await.unwrap().trim().is_empty());
    }
    assert!(!browser.text_of("agreement_limit-hint").await.is_empty());
    assert!(browser
        .text_of("agreement-limit")
        .await
        .contains("Largest payment"));
    browser.screenshot("consent-labelled.png").await;
    browser.close().await;
}

#[tokio::test]
async fn the_payment_code_page_shows_a_qr_code_that_decodes_to_the_code() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    browser
        .client
        .goto(&app.url("/wallet/payment-code"))
        .await
        .unwrap();
    browser.type_into("login", "+15550000001").await;
    browser.type_into("pin", "123456").await;
    browser.click("show-code").await;
    let code = attr(&browser, "payment-code", "data-code").await.expect("a code");
    let src = attr(&browser, "payment-code-qr", "src").await.expect("an image");
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            src.strip_prefix("data:image/png;base64,")
                .expect("a PNG data URL"),
        )
        .unwrap();
    let image = image::load_from_memory(&png).unwrap().to_luma8();
    let (w, h) = image.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        image.get_pixel(x as u32, y as u32).0[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().expect("a readable QR code");
    assert_eq!(content, code);
    // The browser drew it (the page's CSP allows data: images and nothing else).
    let width = browser
        .client
        .execute(
            "return document.getElementById('payment-code-qr').naturalWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(width.as_u64().unwrap_or(0) > 0, "the image was blocked: {width}");
    browser.screenshot("payment-code-qr.png").await;
    browser.close().await;
}

#[tokio::test]
async fn the_pages_follow_accept_language_and_the_switch_remembers_the_choice() {
    let Some(browser) = Browser::start_with(BrowserOptions {
        accept_language: Some("es-ES,es"),
        ..Default::default()
    })
    .await
    else {
        return;
    };
    let app = spawn_app(|_| {}).await;
    let (_, url) = create_payment(
        &app,
        PayOptions {
            value: "123456",
            ..Default::default()
        },
    )
    .await;
    browser.client.goto(&url).await.unwrap();
    assert_eq!(browser.text_of("amount").await, "1234,56 USD");
    assert_eq!(browser.text_of("sign-in").await, "Iniciar sesión para pagar");
    let lang = browser
        .client
        .execute("return document.documentElement.lang;", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "es");
    browser.screenshot("cashier-es.png").await;
    sign_in(&browser, "+15550000001", "123456").await;
    assert_eq!(browser.text_of("balance").await, "500,00 USD");
    browser.click("lang-zh").await;
    wait_text(&browser, "pay", "支付 USD 1,234.56").await;
    assert_eq!(browser.text_of("balance").await, "USD 500.00");
    browser.screenshot("cashier-zh.png").await;
    // The choice stays (a cookie) over the browser's Accept-Language, on every wallet page.
    browser
        .client
        .goto(&app.url("/wallet/payment-code"))
        .await
        .unwrap();
    assert_eq!(browser.text_of("show-code").await, "显示我的付款码");
    browser.click("lang-en").await;
    wait_text(&browser, "show-code", "Show my payment code").await;
    browser
        .client
        .goto(&app.url(&format!(
            "/oauth/authorize?clientId={CLIENT_ID}&appId={APP_ID}&scopes=auth_user&lang=es"
        )))
        .await
        .unwrap();
    assert_eq!(browser.text_of("allow").await, "Permitir");
    browser.screenshot("consent-es.png").await;
    browser.close().await;
}

#[tokio::test]
async fn accept_language_quality_picks_the_page_language_and_amounts_follow_it() {
    let app = spawn_app(|_| {}).await;
    let (_, url) = create_payment(
        &app,
        PayOptions {
            currency: "JPY",
            value: "1234567",
            ..Default::default()
        },
    )
    .await;
    let c = reqwest::Client::new();
    for (accept, amount, html_lang) in [
        ("fr-FR, zh-CN;q=0.8, en;q=0.5", "JPY 1,234,567", "zh"),
        ("en;q=0.3, es-MX;q=0.9", "1.234.567 JPY", "es"),
        ("de", "1,234,567 JPY", "en"),
    ] {
        let body = c
            .get(&url)
            .header("accept-language", accept)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains(&format!("id=\"amount\">{amount}<")),
            "{accept}: {body}"
        );
        assert!(body.contains(&format!("<html lang=\"{html_lang}\">")), "{accept}");
    }
    // A consent link that cannot be served says why in the page's language too.
    let refused = c
        .get(app.url("/oauth/authorize?clientId=nobody&scopes=auth_user&lang=zh"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("此链接无效") && body.contains("钱包不认识"),
        "{body}"
    );
    // The switch sends a browser back only to a page of this site.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_redirects
        .get(app.url("/wallet/lang/es?back=//evil.example/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/");
    assert!(answer.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("lang=es;"));
}
