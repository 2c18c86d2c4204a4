//! `/v1/customers/user/inquiryUserInfoByAccessToken` and `/v2/users/inquiryUserInfo`: only the
//! fields the granted scopes allow; INVALID_ACCESS_TOKEN and EXPIRED_ACCESS_TOKEN.

use crate::app::*;
use serde_json::{json, Value};

const V1: &str = "v1/customers/user/inquiryUserInfoByAccessToken";
const V2: &str = "v2/users/inquiryUserInfo";

async fn user_info(app: &TestApp, user: &str, scopes: &str) -> Value {
    let limits: &[(&str, i64)] = if scopes.contains("AGREEMENT_PAY") {
        &[("USD", 100)]
    } else {
        &[]
    };
    let token = app.access_token(user, scopes, limits).await;
    let v = app
        .call(V1, json!({"accessToken": token, "authClientId": CLIENT_ID}))
        .await;
    assert_eq!((status_of(&v), code_of(&v)), ("S", "SUCCESS"), "{v}");
    v["userInfo"].clone()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn auth_base_shows_the_user_id_only() {
    let app = spawn_app().await;
    let info = user_info(&app, "alice", "auth_base").await;
    assert_eq!(keys(&info), ["userId"]);
    assert_eq!(info["userId"], "alice");
}

#[tokio::test]
async fn auth_user_shows_the_basic_profile_with_a_working_avatar() {
    let app = spawn_app().await;
    let info = user_info(&app, "alice", "auth_user").await;
    assert_eq!(keys(&info), ["avatar", "nickName", "status", "userId"]);
    assert_eq!(info["nickName"], "Alice Tan");
    assert_eq!(info["status"], "ACTIVE");
    let avatar = info["avatar"].as_str().unwrap();
    assert!(avatar.starts_with(&app.base_url), "{avatar}");
    let resp = reqwest::get(avatar).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let svg = resp.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(">AT</text>"), "{svg}");
    let missing = reqwest::get(app.url("/wallet/users/nobody/avatar"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn each_profile_scope_adds_its_own_field() {
    let app = spawn_app().await;
    let nick = user_info(&app, "alice", "USER_NICKNAME").await;
    assert_eq!(keys(&nick), ["nickName", "userId"]);
    let avatar = user_info(&app, "alice", "USER_AVATAR").await;
    assert_eq!(keys(&avatar), ["avatar", "userId"]);
    let name = user_info(&app, "alice", "USER_NAME").await;
    assert_eq!(name["userName"]["fullName"], "Alice Tan");
    assert_eq!(keys(&name), ["userId", "userName"]);

    let login = user_info(&app, "alice", "USER_LOGIN_ID").await;
    let l = &login["loginIdInfos"][0];
    assert_eq!(l["loginIdType"], "MOBILE_PHONE");
    assert_eq!(l["maskLoginId"], "+15*******01");
    assert_eq!(l["hashLoginId"], walletd_core::oauth::hash_secret(ALICE_LOGIN));
    assert!(
        !login.to_string().contains(ALICE_LOGIN),
        "the login itself is not shown: {login}"
    );

    let contact = user_info(&app, "bob", "USER_CONTACTINFO").await;
    assert_eq!(
        contact["contactInfos"],
        json!([{"contactType": "EMAIL", "contactNo": BOB_LOGIN}])
    );
    assert_eq!(keys(&contact), ["contactInfos", "userId"]);

    let all = user_info(
        &app,
        "alice",
        "auth_user,USER_NAME,USER_CONTACTINFO,AGREEMENT_PAY",
    )
    .await;
    assert_eq!(
        keys(&all),
        [
            "avatar",
            "contactInfos",
            "nickName",
            "status",
            "userId",
            "userName"
        ]
    );
}

#[tokio::test]
async fn v2_answers_the_same_and_checks_the_app_id() {
    let app = spawn_app().await;
    let token = app.access_token("alice", "USER_NICKNAME", &[]).await;
    let v = app.call(V2, json!({"appId": APP_ID, "accessToken": token})).await;
    assert_eq!(code_of(&v), "SUCCESS", "{v}");
    assert_eq!(v["userInfo"], json!({"userId": "alice", "nickName": "Alice Tan"}));
    let v = app
        .call("v1/users/inquiryUserInfo", json!({"accessToken": token}))
        .await;
    assert_eq!(code_of(&v), "SUCCESS", "the besuperapp edition's path: {v}");
    let v = app
        .call(V2, json!({"appId": OTHER_APP_ID, "accessToken": token}))
        .await;
    assert_eq!(code_of(&v), "ACCESS_DENIED", "{v}");
    assert!(v.get("userInfo").is_none());
    let v = app
        .call(V1, json!({"accessToken": token, "authClientId": OTHER_CLIENT_ID}))
        .await;
    assert_eq!(code_of(&v), "INVALID_AUTH_CLIENT", "{v}");
    let v = app
        .call(
            "v2/customers/user/inquiryUserInfoByAccessToken",
            json!({"accessToken": token}),
        )
        .await;
    assert_eq!(code_of(&v), "INVALID_API", "the v1 path has no v2: {v}");
}

#[tokio::test]
async fn unknown_foreign_and_expired_access_tokens_are_refused() {
    let app = spawn_app().await;
    let v = app.call(V1, json!({"accessToken": "0".repeat(64)})).await;
    assert_eq!((status_of(&v), code_of(&v)), ("F", "INVALID_ACCESS_TOKEN"), "{v}");
    let v = app.call(V1, json!({"accessToken": ""})).await;
    assert_eq!(code_of(&v), "PARAM_ILLEGAL", "{v}");

    let token = app.access_token("alice", "auth_user", &[]).await;
    let v = app.call_as(&app.other, V2, json!({"accessToken": token})).await;
    assert_eq!(code_of(&v), "INVALID_ACCESS_TOKEN", "another client's token: {v}");

    app.advance_secs(app.config.oauth.access_token_ttl_secs - 1);
    assert_eq!(
        code_of(&app.call(V2, json!({"accessToken": token})).await),
        "SUCCESS"
    );
    app.advance_secs(1);
    let v = app.call(V2, json!({"accessToken": token})).await;
    assert_eq!((status_of(&v), code_of(&v)), ("F", "EXPIRED_ACCESS_TOKEN"), "{v}");
}
