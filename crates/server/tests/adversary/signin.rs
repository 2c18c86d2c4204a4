//! Attacks on the wallet sign-in (cashier, consent and payment-code pages): racing the PIN
//! lock-out, flooding the PIN hashing, and guessing from one address or at one login.

use crate::signin_harness::*;
use std::time::Duration;

/// Every sign-in answer that is a refusal names its notice; a sign-in that worked does not.
fn signed_in(a: &Answer, payment_id: &str) -> bool {
    a.status == 303 && a.location.as_deref() == Some(format!("/cashier/{payment_id}").as_str())
}

#[tokio::test]
async fn concurrent_wrong_pins_with_the_right_one_last_check_at_most_max_pin_attempts() {
    let app = spawn(|_| {}).await;
    let max = walletd_server::Config::default().cashier.max_pin_attempts;
    let id = app.cashier_payment(None).await;
    let browser = Browser::new(&app);
    let token = browser.cashier_token(&id).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (browser, token, id) = (browser.clone(), token.clone(), id.clone());
        let pin = if i == 39 {
            ALICE_PIN.to_owned()
        } else {
            format!("9{i:05}")
        };
        tasks.push(tokio::spawn(async move {
            (
                pin == ALICE_PIN,
                browser.cashier_sign_in(&id, &token, ALICE_LOGIN, &pin).await,
            )
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    let wrong_pin_answers = answers
        .iter()
        .filter(|(_, a)| a.notice() == Some("wrong_pin"))
        .count();
    let right_signed_in = answers.iter().any(|(right, a)| *right && signed_in(a, &id));
    let wrong_signed_in = answers.iter().any(|(right, a)| !*right && signed_in(a, &id));
    assert!(!wrong_signed_in, "a wrong PIN signed in: {answers:?}");
    let attempts = app.failed_pin_attempts("alice").await;
    let checked = app.state.sign_in_guard.pins_checked();
    // Never more PINs checked than the lock-out allows. The right PIN may only win if it was
    // among the first `max` claims; it then resets the count, and up to `max` more are checked.
    let allowed = if right_signed_in { 2 * max } else { max };
    assert!(
        checked <= u64::from(allowed),
        "{checked} PINs checked (right PIN signed in: {right_signed_in}), at most {allowed} allowed"
    );
    assert!(attempts <= max, "{attempts} wrong PINs counted, more than {max}");
    assert!(
        wrong_pin_answers < max as usize,
        "{wrong_pin_answers} 'wrong PIN' answers"
    );
    if !right_signed_in {
        assert_eq!(attempts, max, "locked after exactly {max} checked PINs");
        // And it stays locked for the right PIN too.
        let again = browser.cashier_sign_in(&id, &token, ALICE_LOGIN, ALICE_PIN).await;
        assert_eq!(again.notice(), Some("locked"), "{again:?}");
    }
}

#[tokio::test]
async fn a_wrong_pin_flood_across_cashier_consent_and_payment_code_counts_one_lock_out() {
    let app = spawn(|_| {}).await;
    let max = walletd_server::Config::default().cashier.max_pin_attempts;
    let id = app.cashier_payment(None).await;
    let browser = Browser::new(&app);
    let cashier_token = browser.cashier_token(&id).await;
    let code_token = browser.payment_code_token().await;
    let consent_token = browser.get(&consent_path(None)).await.csrf();
    let mut tasks = Vec::new();
    for i in 0..36 {
        let browser = browser.clone();
        let (id, cashier_token, code_token, consent_token) = (
            id.clone(),
            cashier_token.clone(),
            code_token.clone(),
            consent_token.clone(),
        );
        let pin = format!("8{i:05}");
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => {
                    browser
                        .cashier_sign_in(&id, &cashier_token, BOB_LOGIN, &pin)
                        .await
                }
                1 => browser.payment_code_sign_in(&code_token, BOB_LOGIN, &pin).await,
                _ => {
                    browser
                        .post(
                            "/oauth/authorize",
                            &[
                                ("csrf_token", consent_token.as_str()),
                                ("client_id", CLIENT_ID),
                                ("app_id", APP_ID),
                                ("scopes", "auth_base"),
                                ("login", BOB_LOGIN),
                                ("pin", &pin),
                                ("decision", "allow"),
                            ],
                        )
                        .await
                }
            }
        }));
    }
    for t in tasks {
        let a = t.await.expect("task");
        assert!(a.status == 303 || a.status == 200, "{a:?}");
        assert!(
            !a.body.contains("Permission granted") && !a.body.contains("id=\"code\""),
            "{a:?}"
        );
    }
    assert_eq!(
        app.failed_pin_attempts("bob").await,
        max,
        "all three pages claim attempts against one lock-out"
    );
    assert_eq!(
        app.state.sign_in_guard.pins_checked(),
        u64::from(max),
        "PINs checked"
    );
    let after = browser
        .payment_code_sign_in(&code_token, BOB_LOGIN, BOB_PIN)
        .await;
    assert!(after.body.contains("Too many wrong PINs"), "{}", after.body);
}

#[tokio::test]
async fn a_sign_in_flood_beyond_the_pin_checkers_and_their_queue_gets_try_again_shortly() {
    let app = spawn(|c| {
        c.cashier.hash_concurrency = 1;
        c.cashier.hash_queue = 1;
    })
    .await;
    let browser = Browser::new(&app);
    let token = browser.payment_code_token().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (browser, token) = (browser.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            browser
                .payment_code_sign_in(&token, &format!("nobody-{i}@example.com"), "000000")
                .await
        }));
    }
    let mut busy = 0;
    for t in tasks {
        let a = tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("every sign-in is answered")
            .expect("task");
        match a.status {
            200 => assert!(a.body.contains("The login or PIN is wrong"), "{}", a.body),
            503 => {
                busy += 1;
                assert_eq!(a.retry_after.as_deref(), Some("5"));
                assert!(a.body.contains("try again in a few seconds"), "{}", a.body);
                assert!(a.body.contains("Your PIN was not checked"), "{}", a.body);
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    // One checker and one waiting place: of 24 at once most are turned away.
    assert!(busy >= 1, "no sign-in was turned away");
    // The pool is free again afterwards.
    let later = browser.payment_code_sign_in(&token, ALICE_LOGIN, ALICE_PIN).await;
    assert_eq!(later.status, 200);
    assert!(
        later.body.contains("id=\"code\"") || later.body.contains("code"),
        "{}",
        later.body
    );
}

#[tokio::test]
async fn sign_ins_for_one_login_are_throttled_whether_or_not_it_exists() {
    let app = spawn(|c| c.cashier.sign_in_per_login_per_minute = 3).await;
    let browser = Browser::new(&app);
    let token = browser.payment_code_token().await;
    for login in ["ghost@example.com", BOB_LOGIN] {
        for _ in 0..3 {
            let a = browser.payment_code_sign_in(&token, login, "111111").await;
            assert_eq!(a.status, 200, "{login}: {}", a.body);
        }
        let a = browser.payment_code_sign_in(&token, login, "111111").await;
        assert_eq!(a.status, 429, "{login}: {}", a.body);
        assert_eq!(a.retry_after.as_deref(), Some("5"));
    }
    // The cashier and the consent page share the throttle and answer the same way.
    let id = app.cashier_payment(None).await;
    let cashier_token = browser.cashier_token(&id).await;
    let a = browser
        .cashier_sign_in(&id, &cashier_token, BOB_LOGIN, "111111")
        .await;
    assert_eq!(a.status, 429, "{}", a.body);
    assert_eq!(a.retry_after.as_deref(), Some("5"));
    assert!(a.body.contains("Your PIN was not checked"), "{}", a.body);
    let consent_token = browser.get(&consent_path(None)).await.csrf();
    let a = browser
        .post(
            "/oauth/authorize",
            &[
                ("csrf_token", consent_token.as_str()),
                ("client_id", CLIENT_ID),
                ("app_id", APP_ID),
                ("scopes", "auth_base"),
                ("login", BOB_LOGIN),
                ("pin", "111111"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(a.status, 429, "{}", a.body);
    assert_eq!(a.retry_after.as_deref(), Some("5"));
    // The throttled attempts were not counted against bob's lock-out.
    assert_eq!(app.failed_pin_attempts("bob").await, 3);
    // Another login is not affected.
    let a = browser.payment_code_sign_in(&token, ALICE_LOGIN, ALICE_PIN).await;
    assert_eq!(a.status, 200);
    assert!(!a.body.contains("The login or PIN is wrong"), "{}", a.body);
}

#[tokio::test]
async fn sign_ins_from_one_address_are_throttled_and_a_forwarded_address_is_believed_only_from_a_trusted_proxy(
) {
    // No trusted proxy: X-Forwarded-For is the client's own claim and changes nothing.
    let app = spawn(|c| c.cashier.sign_in_per_address_per_minute = 2).await;
    let browser = Browser::new(&app);
    let token = browser.payment_code_token().await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let forwarded = format!("203.0.113.{i}");
        let a = browser
            .post_with(
                "/wallet/payment-code",
                &[
                    ("csrf_token", &token),
                    ("login", &format!("x{i}@example.com")),
                    ("pin", "1"),
                ],
                &[("x-forwarded-for", &forwarded)],
            )
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses, [200, 200, 429]);

    // Behind a trusted proxy (here: the test itself at 127.0.0.1) each forwarded client has its own count.
    let app = spawn(|c| {
        c.cashier.sign_in_per_address_per_minute = 2;
        c.cashier.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let browser = Browser::new(&app);
    let token = browser.payment_code_token().await;
    let mut statuses = Vec::new();
    for forwarded in ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"] {
        let a = browser
            .post_with(
                "/wallet/payment-code",
                &[("csrf_token", &token), ("login", "y@example.com"), ("pin", "1")],
                &[("x-forwarded-for", forwarded)],
            )
            .await;
        statuses.push(a.status);
    }
    assert_eq!(statuses, [200, 200, 429, 200]);
}

#[tokio::test]
async fn two_nodes_on_postgresql_share_one_lock_out_under_concurrent_wrong_pins() {
    let Some(schema) = PgSchema::fresh("signin_lockout") else {
        return;
    };
    let url = schema.url();
    let max = walletd_server::Config::default().cashier.max_pin_attempts;
    let first = spawn_node(Some(&url), true, |_| {}).await;
    let second = spawn_node(Some(&url), false, |_| {}).await;
    let mut tasks = Vec::new();
    for (n, node) in [&first, &second].into_iter().enumerate() {
        let browser = Browser::new(node);
        let token = browser.payment_code_token().await;
        for i in 0..15 {
            let (browser, token) = (browser.clone(), token.clone());
            let pin = format!("7{n}{i:04}");
            tasks.push(tokio::spawn(async move {
                browser.payment_code_sign_in(&token, ALICE_LOGIN, &pin).await
            }));
        }
    }
    for t in tasks {
        let a = t.await.expect("task");
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(!a.body.contains("id=\"code\""), "a wrong PIN got a payment code");
    }
    let checked = first.state.sign_in_guard.pins_checked() + second.state.sign_in_guard.pins_checked();
    assert_eq!(checked, u64::from(max), "PINs checked on both nodes together");
    assert_eq!(first.failed_pin_attempts("alice").await, max);
    drop((first, second));
    drop(schema);
}
