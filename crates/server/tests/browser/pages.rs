//! The cashier pages over plain HTTP with a cookie jar (no browser): messages, lockout, CSRF,
//! final states and double payment.

use crate::support::*;
use reqwest::header::{LOCATION, SET_COOKIE};
use std::time::Duration;
use walletd_core::ledger::AccountKind;
use walletd_core::parties::PartyStatus;
use walletd_core::payments::PaymentStatus;

/// A browser without a browser: one cookie jar, redirects not followed.
struct Visitor {
    http: reqwest::Client,
    base: String,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        walletd_testkit::pages::csrf_token(&self.body)
    }

    fn notice(&self) -> Option<String> {
        let marker = "data-code=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    fn state(&self) -> Option<String> {
        let marker = "data-state=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    fn has_pay_button(&self) -> bool {
        self.body.contains("id=\"pay\"")
    }
}

impl Visitor {
    fn new(app: &TestApp) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.base_url.clone(),
        }
    }

    async fn read(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().expect("location").to_owned());
        let set_cookies = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("cookie").to_owned())
            .collect();
        let body = resp.text().await.expect("body");
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    fn absolute(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn get(&self, path: &str) -> Page {
        Self::read(self.http.get(self.absolute(path)).send().await.expect("get")).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(
            self.http
                .post(self.absolute(path))
                .form(form)
                .send()
                .await
                .expect("post"),
        )
        .await
    }

    /// Posts a form and follows the 303 to the page it leads to (which must be ours).
    async fn submit(&self, path: &str, form: &[(&str, &str)]) -> (Page, Page) {
        let answer = self.post(path, form).await;
        assert_eq!(answer.status, 303, "{path}: {}", answer.body);
        let next = self.get(answer.location.as_deref().expect("location")).await;
        (answer, next)
    }

    async fn sign_in(&self, payment_id: &str, login: &str, pin: &str) -> Page {
        let page = self.get(&format!("/cashier/{payment_id}")).await;
        let token = page.csrf();
        let (_, next) = self
            .submit(
                &format!("/cashier/{payment_id}/sign-in"),
                &[("csrf_token", &token), ("login", login), ("pin", pin)],
            )
            .await;
        next
    }

    async fn press(&self, payment_id: &str, action: &str) -> Page {
        let page = self.get(&format!("/cashier/{payment_id}")).await;
        let token = page.csrf();
        self.post(
            &format!("/cashier/{payment_id}/{action}"),
            &[("csrf_token", &token)],
        )
        .await
    }
}

async fn status_of(app: &TestApp, payment_id: &str) -> PaymentStatus {
    app.wallet
        .get_payment(payment_id)
        .await
        .expect("read")
        .expect("payment")
        .status
}

async fn available(app: &TestApp, user: &str, currency: &str) -> i64 {
    app.wallet
        .accounts_of(AccountKind::UserWallet, user)
        .await
        .expect("accounts")
        .iter()
        .find(|a| a.currency.code() == currency)
        .map_or(0, |a| a.available_balance())
}

#[tokio::test]
async fn the_page_shows_merchant_title_amount_by_exponent_and_time_left() {
    let app = spawn_app(|_| {}).await;
    let v = Visitor::new(&app);
    for (currency, value, shown) in [
        ("USD", "1250", "12.50 USD"),
        ("JPY", "1500", "1,500 JPY"),
        ("KWD", "1234", "1.234 KWD"),
    ] {
        let (id, url) = create_payment(
            &app,
            PayOptions {
                currency,
                value,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(url, app.url(&format!("/cashier/{id}")));
        let page = v.get(&url).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(shown), "{currency}: {}", page.body);
        assert!(
            page.body.contains(CLIENT_NAME),
            "the client's name when the order names no merchant"
        );
        assert!(page.body.contains("Two cups of tea"));
        assert!(page.body.contains("Time left:"), "{}", page.body);
        assert!(page.body.contains(" min</span>"), "{}", page.body);
        assert!(page.body.contains("name=\"pin\""), "a sign-in form");
        assert!(!page.has_pay_button(), "no Pay before sign-in");
        assert!(
            page.body
                .contains("<script src=\"/wallet/assets/countdown.js\" defer></script>"),
            "only our own countdown script"
        );
    }
    let (id, _) = create_payment(
        &app,
        PayOptions {
            version: 2,
            merchant_name: Some("Tea <House> & Co"),
            ..Default::default()
        },
    )
    .await;
    let page = v.get(&format!("/cashier/{id}")).await;
    assert!(
        page.body.contains("Tea &lt;House&gt; &amp; Co"),
        "escaped merchant name: {}",
        page.body
    );
}

#[tokio::test]
async fn cookies_are_http_only_same_site_and_scoped_to_the_cashier() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    let page = v.get(&format!("/cashier/{id}")).await;
    let visitor = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("walletd_cashier_visitor="))
        .expect("visitor cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/cashier"] {
        assert!(visitor.contains(attr), "{visitor}");
    }
    let answer = v
        .post(
            &format!("/cashier/{id}/sign-in"),
            &[
                ("csrf_token", &page.csrf()),
                ("login", "+15550000001"),
                ("pin", "123456"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    let session = answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with("walletd_cashier_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/cashier"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("123456"), "no PIN in the cookie");
}

#[tokio::test]
async fn signing_in_shows_the_balance_and_paying_leads_to_the_receipt_and_back() {
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (id, _) = create_payment(
        &app,
        PayOptions {
            return_url: Some(merchant.return_url()),
            ..Default::default()
        },
    )
    .await;
    let v = Visitor::new(&app);
    let page = v.sign_in(&id, "+15550000001", "123456").await;
    assert!(page.body.contains("Alice Rivera"), "{}", page.body);
    assert!(
        page.body.contains("500.00 USD"),
        "the available balance: {}",
        page.body
    );
    assert!(page.has_pay_button());
    let before = available(&app, "alice", "USD").await;
    let answer = v.press(&id, "pay").await;
    assert_eq!(answer.status, 303);
    // Paying leads to the receipt, which leads back to the merchant.
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/cashier/{id}/result").as_str())
    );
    let receipt = v.get(&format!("/cashier/{id}/result")).await;
    assert!(receipt.body.contains("id=\"back\""), "{}", receipt.body);
    assert!(
        receipt.body.contains("Back to Test Tea House"),
        "{}",
        receipt.body
    );
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Success);
    assert_eq!(available(&app, "alice", "USD").await, before - 1250);
}

#[tokio::test]
async fn without_a_return_url_paying_leads_to_the_result_page() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    v.sign_in(&id, "+15550000001", "123456").await;
    let answer = v.press(&id, "pay").await;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/cashier/{id}/result").as_str())
    );
    let result = v.get(&format!("/cashier/{id}/result")).await;
    assert_eq!(result.status, 200);
    assert_eq!(result.state().as_deref(), Some("SUCCESS"));
    assert!(result.body.contains("Paid"));
}

#[tokio::test]
async fn a_wrong_pin_says_so_and_leaves_the_payment_payable() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    let page = v.sign_in(&id, "+15550000001", "000000").await;
    assert_eq!(page.notice().as_deref(), Some("wrong_pin"));
    assert!(page.body.contains("The login or PIN is wrong"), "{}", page.body);
    assert!(!page.has_pay_button());
    let page = v.sign_in(&id, "+19999999999", "123456").await;
    assert_eq!(
        page.notice().as_deref(),
        Some("wrong_pin"),
        "an unknown login reads the same"
    );
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Processing);
    let user = app.wallet.get_user("alice").await.unwrap().unwrap();
    assert_eq!(user.failed_pin_attempts, 1);
    // The right PIN still works and clears the count.
    let page = v.sign_in(&id, "+15550000001", "123456").await;
    assert!(page.has_pay_button(), "{}", page.body);
    let user = app.wallet.get_user("alice").await.unwrap().unwrap();
    assert_eq!(user.failed_pin_attempts, 0);
}

#[tokio::test]
async fn five_wrong_pins_lock_the_sign_in_even_for_the_right_pin() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    for i in 1..=5 {
        let page = v.sign_in(&id, "+15550000002", "111111").await;
        let expected = if i < 5 { "wrong_pin" } else { "locked" };
        assert_eq!(page.notice().as_deref(), Some(expected), "attempt {i}");
    }
    let page = v.sign_in(&id, "+15550000002", "654321").await;
    assert_eq!(page.notice().as_deref(), Some("locked"));
    assert!(
        page.body.contains("sign-in to this wallet is locked"),
        "{}",
        page.body
    );
    assert!(!page.has_pay_button());
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Processing);
    // Another browser does not get around it.
    let page = Visitor::new(&app).sign_in(&id, "+15550000002", "654321").await;
    assert_eq!(page.notice().as_deref(), Some("locked"));
}

#[tokio::test]
async fn too_little_balance_says_so_and_a_top_up_makes_it_payable() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    let page = v.sign_in(&id, "+15550000002", "654321").await;
    assert!(page.body.contains("5.00 USD"), "{}", page.body);
    let answer = v.press(&id, "pay").await;
    assert_eq!(answer.status, 303);
    let page = v.get(answer.location.as_deref().unwrap()).await;
    assert_eq!(page.notice().as_deref(), Some("balance"));
    assert!(page.body.contains("balance is not enough"), "{}", page.body);
    assert!(page.has_pay_button(), "still payable");
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Processing);
    assert_eq!(available(&app, "bob", "USD").await, 500, "nothing held");

    app.wallet.top_up("bob", amount("USD", "10.00")).await.unwrap();
    let answer = v.press(&id, "pay").await;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/cashier/{id}/result").as_str())
    );
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Success);
    assert_eq!(available(&app, "bob", "USD").await, 250);
}

#[tokio::test]
async fn a_frozen_user_is_told_and_the_payment_stays_payable() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    v.sign_in(&id, "+15550000001", "123456").await;
    app.wallet
        .update_user("alice", |u| {
            u.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    let answer = v.press(&id, "pay").await;
    let page = v.get(answer.location.as_deref().unwrap()).await;
    assert_eq!(page.notice().as_deref(), Some("frozen"));
    assert!(page.body.contains("frozen and cannot pay"), "{}", page.body);
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Processing);
    // Signing in again while frozen: the same message, no session.
    let other = Visitor::new(&app);
    let page = other.sign_in(&id, "+15550000001", "123456").await;
    assert_eq!(page.notice().as_deref(), Some("frozen"));
    assert!(!page.has_pay_button());
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let v = Visitor::new(&app);
    let signed_in = v.sign_in(&id, "+15550000001", "123456").await;
    assert!(signed_in.has_pay_button());
    // No token, a made-up token, and a token given to another browser.
    let stranger = Visitor::new(&app);
    let strangers_token = stranger.get(&format!("/cashier/{id}")).await.csrf();
    for token in ["", "AAAA", strangers_token.as_str()] {
        for action in ["pay", "cancel"] {
            let answer = v
                .post(&format!("/cashier/{id}/{action}"), &[("csrf_token", token)])
                .await;
            assert_eq!(answer.status, 403, "{action} with {token:?}");
            assert!(answer.body.contains("This form has expired"), "{}", answer.body);
        }
    }
    // A token for another payment does not work either.
    let (other_id, _) = create_payment(&app, PayOptions::default()).await;
    let other_token = v.get(&format!("/cashier/{other_id}")).await.csrf();
    let answer = v
        .post(&format!("/cashier/{id}/pay"), &[("csrf_token", &other_token)])
        .await;
    assert_eq!(answer.status, 403);
    // Sign-in is protected too (login CSRF).
    let answer = stranger
        .post(
            &format!("/cashier/{id}/sign-in"),
            &[("csrf_token", ""), ("login", "+15550000001"), ("pin", "123456")],
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Processing);
    assert_eq!(app.notification_of(&id).await, None);
}

#[tokio::test]
async fn paying_twice_is_refused_and_the_page_shows_the_final_state() {
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (id, _) = create_payment(
        &app,
        PayOptions {
            return_url: Some(merchant.return_url()),
            notify_url: Some(merchant.notify_url()),
            ..Default::default()
        },
    )
    .await;
    let v = Visitor::new(&app);
    let page = v.sign_in(&id, "+15550000001", "123456").await;
    let token = page.csrf();
    let before = available(&app, "alice", "USD").await;
    // Double click: the same form sent twice, and again from a second tab (same browser).
    let first = v
        .post(&format!("/cashier/{id}/pay"), &[("csrf_token", &token)])
        .await;
    let second = v
        .post(&format!("/cashier/{id}/pay"), &[("csrf_token", &token)])
        .await;
    assert_eq!(
        first.location.as_deref(),
        Some(format!("/cashier/{id}/result").as_str())
    );
    assert_eq!(second.status, 303);
    assert_eq!(
        second.location.as_deref(),
        Some(format!("/cashier/{id}").as_str())
    );
    // The back button: the page again, now final, with no Pay button.
    let page = v.get(&format!("/cashier/{id}")).await;
    assert_eq!(page.state().as_deref(), Some("SUCCESS"), "{}", page.body);
    assert!(!page.has_pay_button());
    assert!(page.body.contains("Back to Test Tea House"));
    assert_eq!(available(&app, "alice", "USD").await, before - 1250, "paid once");
    // Cancel after paying changes nothing either.
    let answer = v
        .post(&format!("/cashier/{id}/cancel"), &[("csrf_token", &token)])
        .await;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/cashier/{id}").as_str())
    );
    assert_eq!(status_of(&app, &id).await, PaymentStatus::Success);
    let n = app.settled_notification(&id, Duration::from_secs(10)).await;
    assert_eq!(n.attempts.len(), 1);
    assert_eq!(merchant.received().len(), 1, "one notification");
    let report = app.wallet.verify().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[tokio::test]
async fn cancelling_fails_the_payment_and_redirects_to_the_merchant() {
    let app = spawn_app(|_| {}).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (id, _) = create_payment(
        &app,
        PayOptions {
            version: 2,
            return_url: Some(merchant.return_url()),
            ..Default::default()
        },
    )
    .await;
    let v = Visitor::new(&app);
    // Before signing in the page offers only a way back that changes nothing.
    let anonymous = v.get(&format!("/cashier/{id}")).await;
    assert!(anonymous.body.contains("id=\"leave\""), "{}", anonymous.body);
    assert!(!anonymous.body.contains("id=\"cancel\""), "{}", anonymous.body);
    v.sign_in(&id, "+15550000001", "123456").await;
    let answer = v.press(&id, "cancel").await;
    assert_eq!(answer.location.as_deref(), Some(merchant.return_url().as_str()));
    let p = app.wallet.get_payment(&id).await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Fail);
    assert_eq!(
        p.fail_reason.as_deref(),
        Some(walletd_server::cashier::USER_CANCEL_REASON)
    );
    let page = v.get(&format!("/cashier/{id}")).await;
    assert_eq!(page.state().as_deref(), Some("CANCELLED"));
    assert!(!page.has_pay_button());
    assert!(!page.body.contains("id=\"sign-in\""));
}

#[tokio::test]
async fn an_expired_payment_shows_expired_and_cannot_be_paid() {
    let app = spawn_app(|_| {}).await;
    // Long enough for the sign-in to finish on a loaded machine; the wait below is until the
    // expiry itself, not a fixed time after the sign-in.
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(6);
    let expiry = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let (id, _) = create_payment(
        &app,
        PayOptions {
            expiry_time: Some(expiry),
            ..Default::default()
        },
    )
    .await;
    let v = Visitor::new(&app);
    let page = v.sign_in(&id, "+15550000001", "123456").await;
    let token = page.csrf();
    assert!(page.has_pay_button());
    let until_expired = (expires_at - chrono::Utc::now()).num_milliseconds().max(0) + 300;
    tokio::time::sleep(Duration::from_millis(until_expired.unsigned_abs())).await;
    let answer = v
        .post(&format!("/cashier/{id}/pay"), &[("csrf_token", &token)])
        .await;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("/cashier/{id}").as_str())
    );
    let page = v.get(&format!("/cashier/{id}")).await;
    assert_eq!(page.state().as_deref(), Some("EXPIRED"), "{}", page.body);
    assert!(!page.has_pay_button());
    let p = app.wallet.get_payment(&id).await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Fail);
    assert_eq!(available(&app, "alice", "USD").await, 50_000, "nothing taken");
}

#[tokio::test]
async fn an_unknown_payment_is_a_404_page() {
    let app = spawn_app(|_| {}).await;
    let v = Visitor::new(&app);
    for path in [
        "/cashier/2026000000000011000",
        "/cashier/..%2Fetc",
        "/cashier/a'b",
    ] {
        let page = v.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("Payment not found"), "{path}");
    }
}

#[tokio::test]
async fn the_pages_forbid_framing_and_caching() {
    let app = spawn_app(|_| {}).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    let resp = reqwest::get(app.url(&format!("/cashier/{id}"))).await.unwrap();
    let h = resp.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
}
