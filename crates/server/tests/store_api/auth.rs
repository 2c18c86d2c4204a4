//! Credentials, signatures, the time window, salts, sections, actions and the user id: every
//! general error of the dialect.

use crate::helpers::*;
use walletd_core::parties::PartyStatus;
use walletd_core::store::{NewStoreKey, StoreKeyMode};
use walletd_protocol::store_signature::{store_sign, StoreSignatureMode};

/// Removes one signing var from a request.
type DropVar = fn(&mut Signing);

fn credit_call() -> StoreCall {
    StoreCall::new("get_credit", Some("2"))
}

#[tokio::test]
async fn a_correct_hmac_request_is_served() {
    let s = spawn_store().await;
    let answer = s.call(credit_call()).await;
    assert_eq!(
        answer,
        serde_json::json!({ "data": { "buyer_credit": "0.00", "buyer_credit_formatted": "0.00 USD" } })
    );
}

#[tokio::test]
async fn each_missing_credential_is_named() {
    let s = spawn_store().await;
    let cases: [(&str, DropVar); 4] = [
        ("Missing key", |g| g.key = None),
        ("Missing timestamp", |g| g.timestamp = None),
        ("Missing salt", |g| g.salt = None),
        ("Missing signature", |g| g.signature = None),
    ];
    for (long, drop) in cases {
        let mut signing = s.signing(&s.hmac);
        drop(&mut signing);
        let answer = s.send(credit_call(), &signing).await;
        assert_error(&answer, "REQUEST_ERROR", long);
        // An empty value is as good as none.
        let mut signing = s.signing(&s.hmac);
        drop(&mut signing);
        let blank = Signing {
            key: signing.key.or(Some(String::new())),
            timestamp: signing.timestamp.or(Some(String::new())),
            salt: signing.salt.or(Some(String::new())),
            signature: signing.signature.or(Some(String::new())),
        };
        assert_error(&s.send(credit_call(), &blank).await, "REQUEST_ERROR", long);
    }
}

#[tokio::test]
async fn an_unknown_or_revoked_key_is_invalid() {
    let s = spawn_store().await;
    let mut signing = s.signing(&s.hmac);
    signing.key = Some("0123456789abcdef0123456789abcdef".into());
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Invalid key",
    );

    // Revoke the key: a request signed correctly with it is refused from then on.
    assert!(s.call(credit_call()).await.get("data").is_some());
    s.wallet.store_revoke_key(&s.hmac.key_id).await.expect("revoke");
    assert_error(&s.call(credit_call()).await, "REQUEST_ERROR", "Invalid key");
    // The other key of the store still works.
    let signing = s.signing(&s.md5);
    assert!(s.send(credit_call(), &signing).await.get("data").is_some());
}

#[tokio::test]
async fn a_wrong_signature_is_refused_in_both_modes() {
    let s = spawn_store().await;
    // Signed with another secret.
    let mut signing = s.signing(&s.hmac);
    let (ts, salt) = (signing.timestamp.clone().unwrap(), signing.salt.clone().unwrap());
    signing.signature = Some(store_sign(StoreSignatureMode::Hmac, "not-the-secret", &salt, &ts));
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Invalid signature",
    );
    // Signed over another timestamp than the one sent.
    let mut signing = s.signing(&s.hmac);
    let salt = signing.salt.clone().unwrap();
    let other_ts = (s.wallet.now().timestamp() - 1).to_string();
    signing.signature = Some(store_sign(
        StoreSignatureMode::Hmac,
        &s.hmac.secret,
        &salt,
        &other_ts,
    ));
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Invalid signature",
    );
    // The MD5 key refuses an HMAC signature, and the HMAC key an MD5 one.
    let mut signing = s.signing(&s.md5);
    let (ts, salt) = (signing.timestamp.clone().unwrap(), signing.salt.clone().unwrap());
    signing.signature = Some(store_sign(StoreSignatureMode::Hmac, &s.md5.secret, &salt, &ts));
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Invalid signature",
    );
    let mut signing = s.signing(&s.hmac);
    let (ts, salt) = (signing.timestamp.clone().unwrap(), signing.salt.clone().unwrap());
    signing.signature = Some(store_sign(StoreSignatureMode::Md5, &s.hmac.secret, &salt, &ts));
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Invalid signature",
    );
}

#[tokio::test]
async fn md5_mode_signs_salt_dash_timestamp_dash_secret() {
    let s = spawn_store().await;
    let mut signing = s.signing(&s.md5);
    let sig = signing.signature.clone().unwrap();
    assert_eq!(sig.len(), 32, "md5 hex");
    assert!(s.send(credit_call(), &signing).await.get("data").is_some());
    // Upper-case hex is the same digest.
    signing.salt = Some(s.fresh_salt());
    let (ts, salt) = (signing.timestamp.clone().unwrap(), signing.salt.clone().unwrap());
    signing.signature = Some(store_sign(StoreSignatureMode::Md5, &s.md5.secret, &salt, &ts).to_uppercase());
    assert!(s.send(credit_call(), &signing).await.get("data").is_some());
}

#[tokio::test]
async fn an_expired_or_future_timestamp_is_refused() {
    let s = spawn_store().await;
    let now = s.wallet.now().timestamp();
    let signed_at = |ts: i64| {
        let mut g = s.signing(&s.hmac);
        let salt = g.salt.clone().unwrap();
        g.timestamp = Some(ts.to_string());
        g.signature = Some(store_sign(
            StoreSignatureMode::Hmac,
            &s.hmac.secret,
            &salt,
            &ts.to_string(),
        ));
        g
    };
    // At the edge of the window: still fine.
    assert!(s
        .send(credit_call(), &signed_at(now - WINDOW_SECS))
        .await
        .get("data")
        .is_some());
    assert_error(
        &s.send(credit_call(), &signed_at(now - WINDOW_SECS - 1)).await,
        "REQUEST_ERROR",
        "Request expired",
    );
    assert_error(
        &s.send(credit_call(), &signed_at(now + WINDOW_SECS + 1)).await,
        "REQUEST_ERROR",
        "Invalid timestamp",
    );
    // A request made now expires once the clock moves past its window.
    let fresh = s.signing(&s.hmac);
    s.clock.advance_ms((WINDOW_SECS + 1) * 1000);
    assert_error(
        &s.send(credit_call(), &fresh).await,
        "REQUEST_ERROR",
        "Request expired",
    );
    // Not a number.
    let mut g = s.signing(&s.hmac);
    g.timestamp = Some("2026-11-22T10:00:00Z".into());
    assert_error(
        &s.send(credit_call(), &g).await,
        "REQUEST_ERROR",
        "Invalid timestamp",
    );
}

#[tokio::test]
async fn a_reused_salt_is_refused_and_the_first_request_counts() {
    let s = spawn_store().await;
    let signing = s.signing(&s.hmac);
    assert!(s.send(credit_call(), &signing).await.get("data").is_some());
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Salt already used",
    );
    // A replayed add_payment moves no money twice.
    s.place("3", &[(&s.movie, 1)]).await;
    let pay = || StoreCall::new("add_payment", Some("3")).field("amount", "1.00");
    let signing = s.signing(&s.hmac);
    assert_eq!(s.send(pay(), &signing).await["ok"], "Payment was added");
    assert_error(
        &s.send(pay(), &signing).await,
        "REQUEST_ERROR",
        "Salt already used",
    );
    assert_eq!(s.cart("3").await["order_amount_paid"], "1.00");
    // A salt refused for a bad signature is not used up.
    let mut bad = s.signing(&s.hmac);
    let good_signature = bad.signature.replace("AAAA".into());
    assert_error(
        &s.send(credit_call(), &bad).await,
        "REQUEST_ERROR",
        "Invalid signature",
    );
    bad.signature = good_signature;
    assert!(s.send(credit_call(), &bad).await.get("data").is_some());
    s.assert_books_sound().await;
}

#[tokio::test]
async fn a_plus_that_arrived_as_a_space_is_repaired() {
    let s = spawn_store().await;
    // Find a salt whose HMAC signature contains a '+'.
    let ts = s.wallet.now().timestamp().to_string();
    let (salt, sig) = (0..10_000)
        .map(|_| s.fresh_salt())
        .map(|salt| {
            let sig = store_sign(StoreSignatureMode::Hmac, &s.hmac.secret, &salt, &ts);
            (salt, sig)
        })
        .find(|(_, sig)| sig.contains('+'))
        .expect("some signature has a plus");
    // Built by hand, without encoding: the server's form decoding turns '+' into ' '.
    let url = format!(
        "{}/api.php?go=store&do=get_credit&iq=2&timestamp={ts}&salt={salt}&key={}&signature={sig}",
        s.base_url, s.hmac.key_id
    );
    let answer = s.send_to(&url, credit_call()).await;
    assert!(answer.get("data").is_some(), "{answer}");
    // A signature that starts with '+' (the space it becomes must not be trimmed away).
    let (salt, sig) = (0..20_000)
        .map(|_| s.fresh_salt())
        .map(|salt| {
            let sig = store_sign(StoreSignatureMode::Hmac, &s.hmac.secret, &salt, &ts);
            (salt, sig)
        })
        .find(|(_, sig)| sig.starts_with('+'))
        .expect("some signature starts with a plus");
    let url = format!(
        "{}/api.php?go=store&do=get_credit&iq=2&timestamp={ts}&salt={salt}&key={}&signature={sig}",
        s.base_url, s.hmac.key_id
    );
    let answer = s.send_to(&url, credit_call()).await;
    assert!(answer.get("data").is_some(), "{answer}");
    // A literal space (%20) is repaired the same way.
    let salt = s.fresh_salt();
    let sig = store_sign(StoreSignatureMode::Hmac, &s.hmac.secret, &salt, &ts);
    let spaced = sig.replace('+', "%20");
    let url = format!(
        "{}/api.php?go=store&do=get_credit&iq=2&timestamp={ts}&salt={salt}&key={}&signature={spaced}",
        s.base_url, s.hmac.key_id
    );
    assert!(s.send_to(&url, credit_call()).await.get("data").is_some());
}

#[tokio::test]
async fn sections_and_actions_are_checked_after_the_signature() {
    let s = spawn_store().await;
    s.expect_error(
        credit_call().get_var("go", "user"),
        "REQUEST_ERROR",
        "Invalid section",
    )
    .await;
    s.expect_error(
        credit_call().without_get_var("go"),
        "REQUEST_ERROR",
        "Invalid section",
    )
    .await;
    s.expect_error(
        credit_call().get_var("do", "get_product"),
        "REQUEST_ERROR",
        "Invalid action",
    )
    .await;
    s.expect_error(
        credit_call().without_get_var("do"),
        "REQUEST_ERROR",
        "Invalid action",
    )
    .await;
    // An unsigned request learns nothing about sections.
    let mut unsigned = s.signing(&s.hmac);
    unsigned.signature = Some("x".into());
    assert_error(
        &s.send(credit_call().get_var("go", "user"), &unsigned).await,
        "REQUEST_ERROR",
        "Invalid signature",
    );
}

#[tokio::test]
async fn a_key_without_the_store_section_is_denied() {
    let s = spawn_store().await;
    let key = s
        .wallet
        .store_add_key(NewStoreKey {
            client_id: STORE.into(),
            mode: StoreKeyMode::Hmac,
            expiration_secs: WINDOW_SECS,
            sections: vec!["clip".into()],
        })
        .await
        .expect("key");
    let cred = StoreCredential::from(&key);
    let signing = s.signing(&cred);
    assert_error(
        &s.send(credit_call(), &signing).await,
        "REQUEST_ERROR",
        "Permission denied",
    );
}

#[tokio::test]
async fn a_frozen_store_is_denied() {
    let s = spawn_store().await;
    s.wallet
        .update_client(STORE, |_, c| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .expect("freeze");
    s.expect_error(credit_call(), "REQUEST_ERROR", "Permission denied")
        .await;
}

#[tokio::test]
async fn the_user_id_must_be_a_number_of_at_least_one() {
    let s = spawn_store().await;
    for iq in [None, Some("0"), Some("-1"), Some("abc"), Some("2.5"), Some("")] {
        for action in [
            "get_cart",
            "get_credit",
            "list_orders",
            "add_payment",
            "modify_cart",
            "place_order",
        ] {
            s.expect_error(StoreCall::new(action, iq), "REQUEST_ERROR", "Invalid User ID")
                .await;
        }
    }
}

#[tokio::test]
async fn only_get_and_post_are_served_and_errors_stay_json() {
    let s = spawn_store().await;
    s.expect_error(
        credit_call().method(reqwest::Method::PUT),
        "REQUEST_ERROR",
        "Invalid request method",
    )
    .await;
    // GET works for actions without POST vars.
    let answer = s.call(credit_call().method(reqwest::Method::GET)).await;
    assert_eq!(answer["data"]["buyer_credit"], "0.00");
    // A broken multipart body is a request error, not a 4xx.
    let signing = s.signing(&s.hmac);
    let url = format!(
        "{}/api.php?{}",
        s.base_url,
        encode(&[
            ("go".into(), "store".into()),
            ("do".into(), "add_payment".into()),
            ("iq".into(), "2".into()),
            ("timestamp".into(), signing.timestamp.unwrap()),
            ("salt".into(), signing.salt.unwrap()),
            ("key".into(), signing.key.unwrap()),
            ("signature".into(), signing.signature.unwrap()),
        ])
    );
    let resp = s
        .http
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=zzz")
        .body("this is not multipart")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_error(&v, "REQUEST_ERROR", "Invalid request body");
}
