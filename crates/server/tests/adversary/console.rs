//! Attacks on the operator console: guessing passwords, forging forms, forging or replaying
//! sign-ins, framing, and reaching the console where it should not be.

use crate::console_harness::{add_operator, spawn, Browser, OPERATOR, PASSWORD};
use walletd_core::parties::PartyStatus;

#[tokio::test]
async fn wrong_passwords_lock_an_operator_and_then_even_the_right_one_is_refused_unhashed() {
    let app = spawn(|c| c.console.max_password_attempts = 3).await;
    let b = Browser::new(&app);
    for i in 1..=3 {
        let a = b.sign_in(OPERATOR, "not the password").await;
        assert_eq!(a.status, 303);
        let want = if i < 3 { "wrong_pin" } else { "locked" };
        assert_eq!(
            a.location.as_deref(),
            Some(format!("/sign-in?notice={want}").as_str()),
            "attempt {i}"
        );
    }
    let hashed = app.state.sign_in_guard.pins_checked();
    assert_eq!(hashed, 3);
    let a = b.sign_in(OPERATOR, PASSWORD).await;
    assert_eq!(a.location.as_deref(), Some("/sign-in?notice=locked"));
    assert_eq!(
        app.state.sign_in_guard.pins_checked(),
        hashed,
        "a locked operator's password is not even hashed"
    );
    assert_eq!(b.get("/payments").await.location.as_deref(), Some("/sign-in"));
    let page = b.get("/sign-in?notice=locked").await;
    assert!(
        page.body.contains("walletd admin operator unlock"),
        "{}",
        page.body
    );

    // `walletd admin operator unlock` clears the count; the right password works again.
    let mut o = app.operator(OPERATOR).await.expect("operator");
    o.failed_attempts = 0;
    app.wallet
        .write(move |_, tx| Ok(tx.update_operator(&o)?))
        .await
        .unwrap();
    assert_eq!(
        b.sign_in(OPERATOR, PASSWORD).await.location.as_deref(),
        Some("/payments")
    );
}

#[tokio::test]
async fn concurrent_password_guesses_hash_no_more_passwords_than_the_lock_out_allows() {
    let app = spawn(|c| c.console.max_password_attempts = 4).await;
    let guesses = (0..24).map(|i| {
        let b = Browser::new(&app);
        async move { b.sign_in(OPERATOR, &format!("guess number {i}")).await }
    });
    let answers = futures_join_all(guesses).await;
    assert!(answers.iter().all(|a| a.status == 303));
    assert!(
        app.state.sign_in_guard.pins_checked() <= 4,
        "{} passwords were hashed for a lock-out of 4",
        app.state.sign_in_guard.pins_checked()
    );
    assert_eq!(app.operator(OPERATOR).await.unwrap().failed_attempts, 4);
}

/// Runs the futures at once (a tokio task each) and collects their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn an_unknown_operator_gets_the_wrong_password_answer_and_costs_a_decoy_hash_only() {
    let app = spawn(|_| {}).await;
    let b = Browser::new(&app);
    let a = b.sign_in("nobody-here", PASSWORD).await;
    assert_eq!(a.location.as_deref(), Some("/sign-in?notice=wrong_pin"));
    assert_eq!(app.state.sign_in_guard.pins_checked(), 0);
}

#[tokio::test]
async fn a_console_form_without_this_browsers_token_does_nothing() {
    let app = spawn(|_| {}).await;
    let victim = Browser::signed_in(&app).await;
    // The attacker has a console browser of their own (the sign-in page gives anyone a token).
    let attacker = Browser::new(&app);
    let attackers_token = attacker.get("/sign-in").await.csrf();
    for token in ["", "forged", attackers_token.as_str()] {
        let a = victim
            .post(
                "/actions",
                &[
                    ("csrf_token", token),
                    ("action", "freeze_user"),
                    ("subject", "alice"),
                    ("confirmed", "yes"),
                ],
            )
            .await;
        assert_eq!(a.status, 403, "token {token:?}: {a:?}");
        assert!(a.body.contains("nothing was done"));
    }
    assert_eq!(
        app.wallet.get_user("alice").await.unwrap().unwrap().status,
        PartyStatus::Active
    );
    assert!(app
        .audit_actions()
        .await
        .iter()
        .all(|(_, action, _)| action == "sign_in"));

    // Sign-in and sign-out forms need the token too (no login CSRF, no forced sign-out).
    let fresh = Browser::new(&app);
    let a = fresh
        .post("/sign-in", &[("name", OPERATOR), ("password", PASSWORD)])
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        app.state.sign_in_guard.pins_checked(),
        1,
        "only the victim's sign-in was hashed"
    );
    assert_eq!(
        victim.post("/sign-out", &[("csrf_token", "forged")]).await.status,
        403
    );
    assert_eq!(victim.get("/payments").await.status, 200, "still signed in");
}

#[tokio::test]
async fn a_token_from_before_the_sign_in_is_no_good_after_it() {
    let app = spawn(|_| {}).await;
    let b = Browser::new(&app);
    let before = b.get("/sign-in").await.csrf();
    b.post(
        "/sign-in",
        &[
            ("csrf_token", &before),
            ("name", OPERATOR),
            ("password", PASSWORD),
        ],
    )
    .await;
    let a = b
        .post(
            "/actions",
            &[
                ("csrf_token", &before),
                ("action", "freeze_user"),
                ("subject", "bob"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        app.wallet.get_user("bob").await.unwrap().unwrap().status,
        PartyStatus::Active
    );
}

#[tokio::test]
async fn an_action_is_done_only_through_its_confirmation_and_is_audited_with_who_and_when() {
    let app = spawn(|_| {}).await;
    let b = Browser::signed_in(&app).await;
    let confirm = b
        .get("/confirm?action=freeze_client&subject=console-merchant")
        .await;
    assert_eq!(confirm.status, 200);
    let token = confirm.csrf();
    // Straight to the action without the confirmation's field: refused.
    let a = b
        .post(
            "/actions",
            &[
                ("csrf_token", &token),
                ("action", "freeze_client"),
                ("subject", "console-merchant"),
            ],
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        app.wallet
            .get_client("console-merchant")
            .await
            .unwrap()
            .unwrap()
            .status,
        PartyStatus::Active
    );
    let a = b
        .post(
            "/actions",
            &[
                ("csrf_token", &token),
                ("action", "freeze_client"),
                ("subject", "console-merchant"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(
        app.wallet
            .get_client("console-merchant")
            .await
            .unwrap()
            .unwrap()
            .status,
        PartyStatus::Frozen
    );
    let audit = app.audit_actions().await;
    assert_eq!(
        audit[0],
        (
            OPERATOR.to_owned(),
            "freeze_client".to_owned(),
            "console-merchant".to_owned()
        )
    );
    let page = b.get("/audit").await;
    assert!(
        page.body.contains("freeze_client") && page.body.contains("ACTIVE -&gt; FROZEN"),
        "{}",
        page.body
    );
    // An unknown action or record changes nothing and says so.
    let a = b
        .post(
            "/actions",
            &[
                ("csrf_token", &token),
                ("action", "drop_tables"),
                ("subject", "x"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, 400);
    let a = b
        .post(
            "/actions",
            &[
                ("csrf_token", &token),
                ("action", "freeze_user"),
                ("subject", "mallory"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn console_pages_need_a_signed_in_operator_and_forged_sessions_are_ignored() {
    let app = spawn(|_| {}).await;
    for path in [
        "/payments",
        "/payments/x",
        "/merchants",
        "/users",
        "/outbox",
        "/books",
        "/audit",
        "/confirm?action=freeze_user&subject=alice",
    ] {
        let a = Browser::new(&app).get(path).await;
        assert_eq!(
            (a.status, a.location.as_deref()),
            (303, Some("/sign-in")),
            "{path}"
        );
    }
    // A session cookie written by hand (unsigned), or signed by the cashier's key, is nobody.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let forged = base64_url(&format!("{{\"o\":\"{OPERATOR}\",\"exp\":99999999999}}"));
    let a = http
        .get(format!("{}/payments", app.console_url))
        .header("cookie", format!("walletd_console_session={forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status().as_u16(), 303);

    // A removed operator is out at the next request.
    add_operator(&app.wallet, "ops-bea").await;
    let b = Browser::new(&app);
    assert_eq!(
        b.sign_in("ops-bea", PASSWORD).await.location.as_deref(),
        Some("/payments")
    );
    assert_eq!(b.get("/payments").await.status, 200);
    app.wallet
        .write(|_, tx| Ok(tx.delete_operator("ops-bea")?))
        .await
        .unwrap();
    assert_eq!(b.get("/payments").await.location.as_deref(), Some("/sign-in"));
}

fn base64_url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn every_console_answer_forbids_framing_scripts_and_caching_and_the_session_cookie_is_strict() {
    let app = spawn(|_| {}).await;
    let b = Browser::new(&app);
    let token = b.get("/sign-in").await.csrf();
    let signed_in = b
        .post(
            "/sign-in",
            &[("csrf_token", &token), ("name", OPERATOR), ("password", PASSWORD)],
        )
        .await;
    let cookies: Vec<&str> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("walletd_console_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let answers = vec![
        signed_in.clone(),
        b.get("/payments").await,
        b.get("/payments/no-such-payment").await,
        b.get("/payments?from=yesterday").await,
        Browser::new(&app).get("/books").await,
        b.get("/style.css").await,
    ];
    for a in answers {
        let csp = a.header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{a:?}"
        );
        assert!(!csp.contains("script-src"), "no scripts at all: {csp}");
        assert_eq!(a.header("x-frame-options"), "DENY");
        assert_eq!(a.header("cache-control"), "no-store");
        assert_eq!(a.header("x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn the_console_is_off_by_default_and_never_on_the_public_listener() {
    let app = spawn(|_| {}).await;
    let public = Browser::at(&app.main_url);
    let a = public.get("/sign-in").await;
    assert!(!a.body.contains("Operator sign-in"), "{a:?}");
    let a = public.get("/payments").await;
    assert!(!a.body.contains("walletd console"), "{a:?}");
    assert!(walletd_server::Config::default().console_listen.is_none());
}

#[tokio::test]
async fn search_input_is_bounded_and_bad_dates_get_a_clear_answer() {
    let app = spawn(|_| {}).await;
    let b = Browser::signed_in(&app).await;
    let a = b.get("/payments?from=29/11/2026").await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("YYYY-MM-DD"), "{}", a.body);
    let long = "x".repeat(200);
    let a = b.get(&format!("/payments?merchant={long}")).await;
    assert_eq!(a.status, 400);
    let a = b.get("/payments?status=DROP").await;
    assert_eq!(a.status, 400);
    let a = b
        .get("/payments?payment_id=%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert_eq!(a.status, 200);
    assert!(!a.body.contains("<script>"), "search values are escaped");
}

#[tokio::test]
async fn merchant_controlled_text_is_shown_escaped_to_the_operator() {
    let app = spawn(|_| {}).await;
    let id = app
        .payment("xss-1", "<img src=x onerror=alert(1)>Tea", 1250, Some("alice"))
        .await;
    let b = Browser::signed_in(&app).await;
    for path in ["/payments".to_owned(), format!("/payments/{id}")] {
        let a = b.get(&path).await;
        assert_eq!(a.status, 200, "{path}");
        assert!(!a.body.contains("<img"), "{path}: {}", a.body);
        assert!(a.body.contains("&lt;img src=x onerror=alert(1)&gt;Tea"), "{path}");
    }
}
