//! The consent page (the wallet side of `my.getAuthCode`) and the payment-code page over plain
//! HTTP: forms, CSRF, sign-in with PIN and lock-out, redirects back to the mini program.

use crate::agreement::v1_agreement;
use crate::app::*;
use serde_json::json;

/// One page as a browser without JavaScript sees it, with its cookie.
pub struct Page {
    pub status: u16,
    pub html: String,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    cookie: Option<String>,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Page {
    async fn from(resp: reqwest::Response, cookie: Option<String>) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let set = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
            .next();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let html = resp.text().await.expect("body");
        Page {
            status,
            html,
            location,
            headers,
            cookie: set.or(cookie),
        }
    }

    pub async fn open(app: &TestApp, path: &str) -> Page {
        let resp = http().get(app.url(path)).send().await.expect("GET");
        Page::from(resp, None).await
    }

    /// `<input type="hidden" name=… value=…>` of the page.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = self.html.as_str();
        let marker = "<input type=\"hidden\" name=\"";
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let name_end = rest.find('"').expect("name");
            let name = rest[..name_end].to_owned();
            let v = rest.find("value=\"").expect("value") + 7;
            let v_end = v + rest[v..].find('"').expect("value end");
            out.push((name, unescape(&rest[v..v_end])));
        }
        out
    }

    /// Sends the page's form to `action` with its hidden fields and `fields` (which win).
    pub async fn submit(&mut self, app: &TestApp, action: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = self
            .hidden_fields()
            .into_iter()
            .filter(|(k, _)| !fields.iter().any(|(f, _)| f == k))
            .collect();
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.post(app, action, &form).await
    }

    /// A POST with this page's cookie and exactly `form`.
    pub async fn post(&self, app: &TestApp, action: &str, form: &[(String, String)]) -> Page {
        let mut req = http().post(app.url(action)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.expect("POST");
        Page::from(resp, self.cookie.clone()).await
    }

    fn element(&self, id: &str) -> Option<&str> {
        let at = self.html.find(&format!("id=\"{id}\""))?;
        let start = at + self.html[at..].find('>')? + 1;
        let end = start + self.html[start..].find('<')?;
        Some(&self.html[start..end])
    }

    pub fn text(&self, id: &str) -> Option<String> {
        self.element(id).map(|t| unescape(t.trim()))
    }

    pub fn attr(&self, id: &str, attr: &str) -> Option<String> {
        let at = self.html.find(&format!("id=\"{id}\""))?;
        let tag_start = self.html[..at].rfind('<')?;
        let tag_end = at + self.html[at..].find('>')?;
        let tag = &self.html[tag_start..tag_end];
        let key = format!("{attr}=\"");
        let v = tag.find(&key)? + key.len();
        Some(unescape(&tag[v..v + tag[v..].find('"')?]))
    }
}

fn consent_path(scopes: &str, extra: &str) -> String {
    format!("/oauth/authorize?clientId={CLIENT_ID}&appId={APP_ID}&scopes={scopes}{extra}")
}

fn sign_in<'a>(login: &'a str, pin: &'a str) -> [(&'a str, &'a str); 3] {
    [("login", login), ("pin", pin), ("decision", "allow")]
}

#[tokio::test]
async fn a_user_grants_on_the_consent_page_and_the_merchant_exchanges_the_code() {
    let app = spawn_app().await;
    let mut page = Page::open(&app, &consent_path("auth_user,USER_NICKNAME", "")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Tea House asks for your permission"));
    assert!(page.html.contains("data-scope=\"auth_user\""));
    assert!(page.html.contains("data-scope=\"USER_NICKNAME\""));
    assert!(
        !page.html.contains("agreement_limit"),
        "no limit without AGREEMENT_PAY"
    );
    assert!(!page.html.contains("<script"), "no JavaScript");
    assert_eq!(
        page.headers["x-frame-options"], "DENY",
        "Allow cannot be clickjacked"
    );
    assert_eq!(page.headers["cache-control"], "no-store");
    let cookie = page.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let granted = page
        .submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, ALICE_PIN))
        .await;
    assert_eq!(granted.status, 200, "{}", granted.html);
    assert_eq!(granted.text("heading").as_deref(), Some("Permission granted"));
    let code = granted.text("auth-code").expect("the code is shown");
    assert_eq!(code.len(), 32);

    let v = app
        .call(
            "v1/authorizations/applyToken",
            json!({"referenceClientId": APP_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}),
        )
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    assert_eq!(v["customerId"], "alice");
    let info = app
        .call(
            "v2/users/inquiryUserInfo",
            json!({"appId": APP_ID, "accessToken": v["accessToken"]}),
        )
        .await;
    assert_eq!(info["userInfo"]["nickName"], "Alice Tan", "{info}");
}

#[tokio::test]
async fn with_a_redirect_url_the_browser_goes_back_with_the_code_or_the_refusal() {
    let app = spawn_app().await;
    let back = "https%3A%2F%2Fmini.example%2Fcb%3Fx%3D1";
    let path = consent_path("auth_base", &format!("&redirectUrl={back}&state=s%201"));
    let mut page = Page::open(&app, &path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let done = page
        .submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, ALICE_PIN))
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let to = reqwest::Url::parse(done.location.as_deref().unwrap()).unwrap();
    assert_eq!((to.host_str(), to.path()), (Some("mini.example"), "/cb"));
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["x"], "1");
    assert_eq!(q["state"], "s 1");
    let v = app
        .call(
            "v2/authorizations/applyToken",
            json!({"appId": APP_ID, "grantType": "AUTHORIZATION_CODE", "authCode": q["authCode"]}),
        )
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");

    let mut page = Page::open(&app, &path).await;
    let denied = page
        .submit(&app, "/oauth/authorize", &[("decision", "deny")])
        .await;
    assert_eq!(denied.status, 303);
    let to = reqwest::Url::parse(denied.location.as_deref().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "ACCESS_DENIED");
    assert_eq!(q["state"], "s 1");
    assert!(!q.contains_key("authCode"));

    let mut plain = Page::open(&app, &consent_path("auth_base", "")).await;
    let denied = plain
        .submit(&app, "/oauth/authorize", &[("decision", "deny")])
        .await;
    assert_eq!(denied.status, 200);
    assert_eq!(denied.text("heading").as_deref(), Some("Nothing was shared"));
}

#[tokio::test]
async fn a_wrong_pin_shows_a_notice_and_five_lock_the_sign_in() {
    let app = spawn_app().await;
    let mut page = Page::open(&app, &consent_path("auth_base", "")).await;
    let wrong = page
        .submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, "000000"))
        .await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.text("notice").unwrap().contains("wrong"), "{}", wrong.html);
    assert!(wrong.text("auth-code").is_none());
    assert_eq!(
        wrong.attr("login", "value").as_deref(),
        Some(ALICE_LOGIN),
        "the login is kept"
    );
    let unknown = page
        .submit(&app, "/oauth/authorize", &sign_in("+19999999999", ALICE_PIN))
        .await;
    assert!(unknown.text("notice").unwrap().contains("wrong"));

    let max = app.config.cashier.max_pin_attempts;
    for _ in 1..max {
        page.submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, "000000"))
            .await;
    }
    let locked = page
        .submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, ALICE_PIN))
        .await;
    assert!(
        locked.text("notice").unwrap().contains("locked"),
        "{}",
        locked.html
    );
    assert!(locked.text("auth-code").is_none());
    let user = app.wallet.get_user("alice").await.unwrap().unwrap();
    assert_eq!(user.failed_pin_attempts, max, "the cashier's lock-out counter");
}

#[tokio::test]
async fn a_right_pin_resets_the_count_of_wrong_ones() {
    let app = spawn_app().await;
    let mut page = Page::open(&app, &consent_path("auth_base", "")).await;
    page.submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, "1"))
        .await;
    page.submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, "2"))
        .await;
    assert_eq!(
        app.wallet
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .failed_pin_attempts,
        2
    );
    let ok = page
        .submit(&app, "/oauth/authorize", &sign_in(ALICE_LOGIN, ALICE_PIN))
        .await;
    assert!(ok.text("auth-code").is_some());
    assert_eq!(
        app.wallet
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .failed_pin_attempts,
        0
    );
}

#[tokio::test]
async fn a_form_without_this_browsers_csrf_token_does_nothing() {
    let app = spawn_app().await;
    let page = Page::open(&app, &consent_path("auth_base", "")).await;
    let mut fields = page.hidden_fields();
    fields.extend([
        ("login".to_owned(), ALICE_LOGIN.to_owned()),
        ("pin".to_owned(), ALICE_PIN.to_owned()),
        ("decision".to_owned(), "allow".to_owned()),
    ]);
    // Another browser (no cookie) sends this page's form.
    let stranger = Page {
        status: 0,
        html: String::new(),
        location: None,
        headers: Default::default(),
        cookie: None,
    };
    let refused = stranger.post(&app, "/oauth/authorize", &fields).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    // This browser with a forged token.
    let forged: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| match k.as_str() {
            "csrf_token" => (k.clone(), "AAAA".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    assert_eq!(page.post(&app, "/oauth/authorize", &forged).await.status, 403);
    // The payment-code form's token is no good here.
    let code_page = Page::open(&app, "/wallet/payment-code").await;
    let mut cross = code_page.hidden_fields();
    cross.extend(fields.iter().filter(|(k, _)| k != "csrf_token").cloned());
    assert_eq!(code_page.post(&app, "/oauth/authorize", &cross).await.status, 403);
    assert_eq!(
        app.wallet
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .failed_pin_attempts,
        0
    );
    // The real form works.
    assert_eq!(page.post(&app, "/oauth/authorize", &fields).await.status, 200);
}

#[tokio::test]
async fn links_with_unknown_clients_apps_scopes_or_return_addresses_are_refused() {
    let app = spawn_app().await;
    for (path, why) in [
        (
            "/oauth/authorize?clientId=nobody&scopes=auth_base".to_owned(),
            "unknown client",
        ),
        ("/oauth/authorize?scopes=auth_base".to_owned(), "no client"),
        (
            format!("/oauth/authorize?clientId={CLIENT_ID}&appId=stranger&scopes=auth_base"),
            "app",
        ),
        (
            format!("/oauth/authorize?clientId={CLIENT_ID}&scopes=auth_base,EVERYTHING"),
            "scope",
        ),
        (format!("/oauth/authorize?clientId={CLIENT_ID}"), "no scopes"),
        (
            format!("/oauth/authorize?clientId={CLIENT_ID}&scopes=auth_base&redirectUrl=javascript:alert(1)"),
            "redirect",
        ),
    ] {
        let page = Page::open(&app, &path).await;
        assert_eq!(page.status, 400, "{why}: {}", page.html);
        assert_eq!(
            page.text("heading").as_deref(),
            Some("This link does not work"),
            "{why}"
        );
    }
}

#[tokio::test]
async fn agreement_pay_is_granted_with_the_limit_the_user_sets() {
    let app = spawn_app().await;
    let path = consent_path("AGREEMENT_PAY", "&agreementCurrency=USD&agreementLimit=40.00");
    let mut page = Page::open(&app, &path).await;
    assert_eq!(page.attr("agreement_limit", "value").as_deref(), Some("40.00"));
    assert_eq!(page.attr("agreement_currency", "value").as_deref(), Some("USD"));

    let mut fields = sign_in(ALICE_LOGIN, ALICE_PIN).to_vec();
    fields.push(("agreement_currency", "usd"));
    fields.push(("agreement_limit", ""));
    let no_limit = page.submit(&app, "/oauth/authorize", &fields).await;
    assert!(
        no_limit.text("notice").unwrap().contains("largest payment"),
        "{}",
        no_limit.html
    );
    assert_eq!(
        app.wallet
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .failed_pin_attempts,
        0
    );

    fields.pop();
    fields.push(("agreement_limit", "25.00"));
    let granted = page.submit(&app, "/oauth/authorize", &fields).await;
    let code = granted.text("auth-code").expect("a code");
    let token = app.tokens(&code).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = app
        .call("v1/payments/pay", v1_agreement("lim-1", &token, 2500))
        .await;
    assert_eq!(code_of(&ok), "SUCCESS", "{ok}");
    let over = app
        .call("v1/payments/pay", v1_agreement("lim-2", &token, 2501))
        .await;
    assert_eq!(
        code_of(&over),
        "USER_AMOUNT_EXCEED_LIMIT",
        "the user lowered it to 25.00: {over}"
    );
}

#[tokio::test]
async fn a_frozen_user_cannot_grant() {
    let app = spawn_app().await;
    app.wallet
        .update_user("bob", |u| {
            u.status = walletd_core::parties::PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    let mut page = Page::open(&app, &consent_path("auth_base", "")).await;
    let refused = page
        .submit(&app, "/oauth/authorize", &sign_in(BOB_LOGIN, BOB_PIN))
        .await;
    assert!(
        refused.text("notice").unwrap().contains("frozen"),
        "{}",
        refused.html
    );
    assert!(refused.text("auth-code").is_none());
    let mut code_page = Page::open(&app, "/wallet/payment-code").await;
    let refused = code_page
        .submit(
            &app,
            "/wallet/payment-code",
            &[("login", BOB_LOGIN), ("pin", BOB_PIN)],
        )
        .await;
    assert!(
        refused.text("notice").unwrap().contains("frozen"),
        "{}",
        refused.html
    );
    assert!(refused.attr("payment-code", "data-code").is_none());
}

#[tokio::test]
async fn the_payment_code_page_needs_the_right_pin() {
    let app = spawn_app().await;
    let mut page = Page::open(&app, "/wallet/payment-code").await;
    let wrong = page
        .submit(
            &app,
            "/wallet/payment-code",
            &[("login", ALICE_LOGIN), ("pin", "999999")],
        )
        .await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.text("notice").unwrap().contains("wrong"));
    assert!(wrong.attr("payment-code", "data-code").is_none());
    let shown = page
        .submit(
            &app,
            "/wallet/payment-code",
            &[("login", ALICE_LOGIN), ("pin", ALICE_PIN)],
        )
        .await;
    let first = shown.attr("payment-code", "data-code").unwrap();
    let second = page
        .submit(
            &app,
            "/wallet/payment-code",
            &[("login", ALICE_LOGIN), ("pin", ALICE_PIN)],
        )
        .await
        .attr("payment-code", "data-code")
        .unwrap();
    assert_ne!(first, second, "a new code each time");
}
