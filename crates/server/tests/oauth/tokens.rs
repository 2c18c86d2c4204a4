//! applyToken v1 and v2, refresh-token rotation, cancelToken and revocation: every code of
//! docs/mini-program.md §16 that can happen.

use crate::app::*;
use serde_json::json;
use walletd_core::parties::PartyStatus;

const V1: &str = "v1/authorizations/applyToken";
const V2: &str = "v2/authorizations/applyToken";

fn v1_code(code: &str) -> serde_json::Value {
    json!({"referenceClientId": APP_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code})
}

fn v2_code(code: &str) -> serde_json::Value {
    json!({"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code, "customerBelongsTo": "GCASH"})
}

fn refresh(token: &str) -> serde_json::Value {
    json!({"grantType": "REFRESH_TOKEN", "refreshToken": token})
}

#[tokio::test]
async fn v1_exchanges_an_auth_code_for_a_token_pair_with_expiry_times_and_the_customer_id() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_user", &[]).await;
    assert_eq!(code.len(), 32, "v1 authCode is at most 32 characters");
    let v = app.call(V1, v1_code(&code)).await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    assert_eq!(v["customerId"], "alice");
    let access = v["accessToken"].as_str().unwrap();
    let refresh_token = v["refreshToken"].as_str().unwrap();
    assert!(access.len() >= 32 && access.len() <= 128);
    assert_ne!(access, refresh_token);
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(v[field].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{field}: {e}"))
            .with_timezone(&chrono::Utc)
    };
    let now = app.now();
    let access_left = (at("accessTokenExpiryTime") - now).num_seconds();
    let refresh_left = (at("refreshTokenExpiryTime") - now).num_seconds();
    assert!(
        (access_left - app.config.oauth.access_token_ttl_secs).abs() <= 2,
        "{access_left}"
    );
    assert!(
        (refresh_left - app.config.oauth.refresh_token_ttl_secs).abs() <= 2,
        "{refresh_left}"
    );
}

#[tokio::test]
async fn an_auth_code_works_once_and_only_for_five_minutes_with_v1_code_names() {
    let app = spawn_app().await;
    let v = app.call(V1, v1_code("0123456789abcdef0123456789abcdef")).await;
    assert_eq!((status_of(&v), code_of(&v)), ("F", "INVALID_CODE"), "{v}");

    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    assert_eq!(code_of(&app.call(V1, v1_code(&code)).await), "SUCCESS");
    let again = app.call(V1, v1_code(&code)).await;
    assert_eq!(code_of(&again), "USED_CODE", "{again}");
    assert!(again.get("accessToken").is_none());

    let late = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    app.advance_secs(299);
    let fresh = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    app.advance_secs(2);
    assert_eq!(code_of(&app.call(V1, v1_code(&late)).await), "EXPIRED_CODE");
    assert_eq!(code_of(&app.call(V1, v1_code(&fresh)).await), "SUCCESS");
}

#[tokio::test]
async fn v2_names_the_code_errors_authcode() {
    let app = spawn_app().await;
    let v = app.call(V2, v2_code("no-such-code")).await;
    assert_eq!(code_of(&v), "INVALID_AUTHCODE", "{v}");
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    assert_eq!(code_of(&app.call(V2, v2_code(&code)).await), "SUCCESS");
    assert_eq!(code_of(&app.call(V2, v2_code(&code)).await), "USED_AUTHCODE");
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    app.advance_secs(301);
    assert_eq!(code_of(&app.call(V2, v2_code(&code)).await), "EXPIRED_AUTHCODE");
}

#[tokio::test]
async fn a_code_for_one_mini_program_does_not_work_for_another() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    // v1: another mini program of the same merchant.
    let v = app
        .call(
            V1,
            json!({"referenceClientId": OTHER_APP_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}),
        )
        .await;
    assert_eq!(code_of(&v), "REFERENCE_CLIENT_ID_NOT_MATCH", "{v}");
    // v2: the same with appId.
    let v = app
        .call(V2, json!({"appId": OTHER_APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}))
        .await;
    assert_eq!(code_of(&v), "REFERENCE_CLIENT_ID_NOT_MATCH", "{v}");
    // A refused exchange does not use the code up.
    assert_eq!(code_of(&app.call(V1, v1_code(&code)).await), "SUCCESS");
}

#[tokio::test]
async fn an_unknown_auth_client_is_invalid_auth_client() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    let v = app
        .call(V1, json!({"referenceClientId": "somebody-else", "grantType": "AUTHORIZATION_CODE", "authCode": code}))
        .await;
    assert_eq!(code_of(&v), "INVALID_AUTH_CLIENT", "{v}");
    let v = app
        .call(V2, json!({"appId": APP_ID, "authClientId": OTHER_CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}))
        .await;
    assert_eq!(code_of(&v), "INVALID_AUTH_CLIENT", "{v}");
    let v = app
        .call(V2, json!({"appId": "not-registered", "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}))
        .await;
    assert_eq!(code_of(&v), "INVALID_AUTH_CLIENT", "{v}");
}

#[tokio::test]
async fn another_merchant_cannot_exchange_a_code_and_learns_nothing_about_it() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    let v = app
        .call_as(
            &app.other,
            V1,
            json!({"grantType": "AUTHORIZATION_CODE", "authCode": code}),
        )
        .await;
    assert_eq!(code_of(&v), "INVALID_CODE", "{v}");
    assert_eq!(code_of(&app.call(V1, v1_code(&code)).await), "SUCCESS");
}

#[tokio::test]
async fn a_frozen_client_is_invalid_auth_client_status() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    app.wallet
        .update_client(CLIENT_ID, |_, c| {
            c.status = PartyStatus::Frozen;
            Ok(())
        })
        .await
        .unwrap();
    let v = app.call(V1, v1_code(&code)).await;
    assert_eq!(code_of(&v), "INVALID_AUTH_CLIENT_STATUS", "{v}");
}

#[tokio::test]
async fn grant_types_and_missing_fields_are_checked() {
    let app = spawn_app().await;
    let v = app
        .call(V1, json!({"grantType": "PASSWORD", "authCode": "x"}))
        .await;
    assert_eq!(code_of(&v), "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE", "{v}");
    let v = app.call(V2, json!({"grantType": "CLIENT_CREDENTIALS"})).await;
    assert_eq!(code_of(&v), "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE", "{v}");
    let v = app.call(V1, json!({"grantType": "AUTHORIZATION_CODE"})).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
    assert!(v["result"]["resultMessage"]
        .as_str()
        .unwrap()
        .contains("authCode"));
    let v = app
        .call(V1, json!({"grantType": "REFRESH_TOKEN", "refreshToken": ""}))
        .await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
    let v = app.call(V1, json!({"authCode": "abc"})).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
    assert!(v["result"]["resultMessage"]
        .as_str()
        .unwrap()
        .contains("grantType"));
    let long = "a".repeat(33);
    let v = app
        .call(V1, json!({"grantType": "AUTHORIZATION_CODE", "authCode": long}))
        .await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "v1 authCode is at most 32: {v}");
    let v = app.call(V1, json!({"grantType": 7})).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");
}

#[tokio::test]
async fn refreshing_rotates_the_pair_and_the_old_refresh_token_is_then_used() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_user", &[]).await;
    let first = app.tokens(&code).await;
    let (old_access, old_refresh) = (
        first["accessToken"].as_str().unwrap(),
        first["refreshToken"].as_str().unwrap(),
    );
    app.advance_secs(3600);
    let second = app.call(V2, refresh(old_refresh)).await;
    assert_eq!(code_of(&second), "SUCCESS", "{second}");
    assert_eq!(second["customerId"], "alice");
    let new_access = second["accessToken"].as_str().unwrap();
    let new_refresh = second["refreshToken"].as_str().unwrap();
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh);
    assert!(
        second["accessTokenExpiryTime"].as_str() > first["accessTokenExpiryTime"].as_str(),
        "the new pair lives from now"
    );

    let reuse = app.call(V1, refresh(old_refresh)).await;
    assert_eq!(code_of(&reuse), "USED_REFRESH_TOKEN", "{reuse}");
    let info = |token: &str| json!({"accessToken": token});
    let old = app
        .call("v1/customers/user/inquiryUserInfoByAccessToken", info(old_access))
        .await;
    assert_eq!(
        code_of(&old),
        "INVALID_ACCESS_TOKEN",
        "the old pair is dead: {old}"
    );
    let new = app
        .call("v1/customers/user/inquiryUserInfoByAccessToken", info(new_access))
        .await;
    assert_eq!(code_of(&new), "SUCCESS", "{new}");
    // The new refresh token rotates again.
    assert_eq!(code_of(&app.call(V1, refresh(new_refresh)).await), "SUCCESS");
}

#[tokio::test]
async fn refresh_tokens_that_are_unknown_foreign_expired_or_revoked_are_refused() {
    let app = spawn_app().await;
    assert_eq!(
        code_of(&app.call(V1, refresh("nope")).await),
        "INVALID_REFRESH_TOKEN"
    );

    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    let pair = app.tokens(&code).await;
    let rt = pair["refreshToken"].as_str().unwrap();
    let v = app.call_as(&app.other, V1, refresh(rt)).await;
    assert_eq!(code_of(&v), "INVALID_REFRESH_TOKEN", "another client's: {v}");
    let v = app
        .call(
            V1,
            json!({"referenceClientId": OTHER_APP_ID, "grantType": "REFRESH_TOKEN", "refreshToken": rt}),
        )
        .await;
    assert_eq!(code_of(&v), "REFERENCE_CLIENT_ID_NOT_MATCH", "{v}");

    app.advance_secs(app.config.oauth.refresh_token_ttl_secs + 1);
    assert_eq!(code_of(&app.call(V1, refresh(rt)).await), "EXPIRED_REFRESH_TOKEN");

    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    let pair = app.tokens(&code).await;
    let v = app
        .call(
            "v1/authorizations/cancelToken",
            json!({"accessToken": pair["accessToken"]}),
        )
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    let v = app
        .call(V1, refresh(pair["refreshToken"].as_str().unwrap()))
        .await;
    assert_eq!(code_of(&v), "INVALID_REFRESH_TOKEN", "cancelled: {v}");
}

#[tokio::test]
async fn cancel_token_kills_the_pair_and_answers_again_the_same() {
    let app = spawn_app().await;
    let access = app.access_token("alice", "auth_user", &[]).await;
    let cancel = |token: &str| json!({"accessToken": token});
    let info = json!({"accessToken": access});
    assert_eq!(
        code_of(&app.call("v2/users/inquiryUserInfo", info.clone()).await),
        "SUCCESS"
    );
    let v = app
        .call_as(&app.other, "v1/authorizations/cancelToken", cancel(&access))
        .await;
    assert_eq!(
        code_of(&v),
        "INVALID_ACCESS_TOKEN",
        "another client cannot cancel it: {v}"
    );
    assert_eq!(
        code_of(&app.call("v2/users/inquiryUserInfo", info.clone()).await),
        "SUCCESS"
    );

    let v = app.call("v1/authorizations/cancelToken", cancel(&access)).await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    let after = app.call("v2/users/inquiryUserInfo", info).await;
    assert_eq!(code_of(&after), "INVALID_ACCESS_TOKEN", "{after}");
    assert_eq!(
        code_of(&app.call("v1/authorizations/cancelToken", cancel(&access)).await),
        "SUCCESS"
    );
    assert_eq!(
        code_of(&app.call("v1/authorizations/cancelToken", cancel("unknown")).await),
        "INVALID_ACCESS_TOKEN"
    );
    assert_eq!(
        code_of(&app.call("v1/authorizations/cancelToken", json!({})).await),
        "PARAM_ILLEGAL"
    );
}

#[tokio::test]
async fn an_operator_revokes_what_a_user_granted() {
    let app = spawn_app().await;
    let tea = app.access_token("alice", "auth_user", &[]).await;
    let other_code = {
        let grant = walletd_core::oauth::Grant {
            client_id: OTHER_CLIENT_ID.into(),
            app_id: None,
            user_id: "alice".into(),
            scopes: vec![walletd_core::oauth::Scope::AuthBase],
            agreement_limits: Default::default(),
        };
        app.wallet.issue_auth_code(grant, 300).await.unwrap().code
    };
    let books = app
        .call_as(
            &app.other,
            V1,
            json!({"grantType": "AUTHORIZATION_CODE", "authCode": other_code}),
        )
        .await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.wallet
            .revoke_user_tokens("alice", Some(CLIENT_ID.into()))
            .await
            .unwrap(),
        1
    );
    let info = |t: &str| json!({"accessToken": t});
    assert_eq!(
        code_of(&app.call("v2/users/inquiryUserInfo", info(&tea)).await),
        "INVALID_ACCESS_TOKEN"
    );
    let v = app
        .call_as(&app.other, "v2/users/inquiryUserInfo", info(&books))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "only tea-house's grant was revoked: {v}");
    assert!(app.wallet.revoke_access_token(&books).await.unwrap());
    let v = app
        .call_as(&app.other, "v2/users/inquiryUserInfo", info(&books))
        .await;
    assert_eq!(code_of(&v), "INVALID_ACCESS_TOKEN", "{v}");
    assert!(!app.wallet.revoke_access_token("never-issued").await.unwrap());
}

#[tokio::test]
async fn codes_and_tokens_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_user", &[]).await;
    let pair = app.tokens(&code).await;
    let payment_code = app.wallet.issue_payment_code("alice", 120).await.unwrap().code;
    let secrets = [
        code.clone(),
        pair["accessToken"].as_str().unwrap().to_owned(),
        pair["refreshToken"].as_str().unwrap().to_owned(),
        payment_code,
    ];
    if app.on_postgres() {
        // The files to search are SQLite's; hashing happens in the core, the same for both.
        eprintln!("skipped on PostgreSQL: this test reads the SQLite files");
        return;
    }
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("walletd.sqlite")
        {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(stored.len() > 4096, "the database files were read");
    let hash = walletd_core::oauth::hash_secret(&code);
    let contains = |needle: &str| stored.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains(&hash), "the code's hash is what is kept");
    for s in &secrets {
        assert!(!contains(s), "a secret is stored in clear");
    }
}

#[tokio::test]
async fn spent_and_expired_codes_are_purged_after_a_day() {
    let app = spawn_app_with(|c| c.sweep_interval_ms = 3_600_000).await;
    let code = app.auth_code("alice", Some(APP_ID), "auth_base", &[]).await;
    app.advance_secs(walletd_core::oauth::SPENT_CODE_RETENTION_SECS);
    app.wallet.expire_due(100).await.unwrap();
    assert_eq!(
        code_of(&app.call(V1, v1_code(&code)).await),
        "EXPIRED_CODE",
        "kept for a day after it expired"
    );
    app.advance_secs(app.config.oauth.auth_code_ttl_secs + 1);
    // What the background sweep does.
    app.wallet.expire_due(100).await.unwrap();
    assert_eq!(
        code_of(&app.call(V1, v1_code(&code)).await),
        "INVALID_CODE",
        "purged"
    );
}
