//! The typed OAuth, user-info and capture methods against a real walletd: an auth code issued
//! through the core (as `walletd admin auth-code issue` does) is exchanged, refreshed, used to read
//! the user and cancelled; an authorization is captured in two parts.

use std::collections::BTreeMap;

use walletd_client::{ClientError, MiniProgramClient};
use walletd_core::ledger::AccountKind;
use walletd_core::oauth::{parse_scopes, Grant};
use walletd_protocol::miniprogram::oauth::{AccessTokenRequest, ApplyTokenRequest, ApplyTokenResponse};
use walletd_protocol::miniprogram::{CaptureRequest, PayRequestV2, PaymentLookupRequest};
use walletd_protocol::{ResultCode, ResultStatus};

use crate::doc_wallet::{DocWallet, APP_ID, CLIENT_ID, PAYER};
use crate::helpers::{merchant_at, usd};

/// What alice allows the mini program `APP_ID` of the merchant, as the consent page would.
async fn auth_code(wallet: &DocWallet, scopes: &str, agreement_limit_minor: Option<i64>) -> String {
    let grant = Grant {
        client_id: CLIENT_ID.into(),
        app_id: Some(APP_ID.into()),
        user_id: PAYER.into(),
        scopes: parse_scopes(scopes).expect("scopes"),
        agreement_limits: agreement_limit_minor
            .map(|m| BTreeMap::from([("USD".to_owned(), m)]))
            .unwrap_or_default(),
    };
    grant.check().expect("grant");
    wallet
        .wallet
        .issue_auth_code(grant, 300)
        .await
        .expect("auth code")
        .code
}

fn wallet_code(e: &ClientError) -> Option<ResultCode> {
    assert_eq!(e.result_status(), Some(ResultStatus::Failed), "{e}");
    e.result_code()
}

fn v2_user_info(token: &str) -> AccessTokenRequest {
    AccessTokenRequest {
        app_id: Some(APP_ID.into()),
        auth_client_id: Some(CLIENT_ID.into()),
        ..AccessTokenRequest::new(token)
    }
}

#[tokio::test]
async fn an_auth_code_is_exchanged_refreshed_read_and_cancelled_in_v2() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let code = auth_code(&wallet, "auth_user,USER_LOGIN_ID", None).await;

    let exchange = ApplyTokenRequest::authorization_code_v2(APP_ID, CLIENT_ID, &code);
    let first = merchant.apply_token("v2", &exchange).await.unwrap();
    assert_eq!(first.result.result_status, "S");
    assert_eq!(first.customer_id, PAYER);
    assert!(!first.access_token.is_empty() && !first.refresh_token.is_empty());
    assert_ne!(first.access_token, first.refresh_token);
    for t in [&first.access_token_expiry_time, &first.refresh_token_expiry_time] {
        chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("{t}: {e}"));
    }
    // The code is single-use; v2 names the error INVALID/USED_AUTHCODE.
    let e = merchant.apply_token("v2", &exchange).await.unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::UsedAuthcode), "{e}");

    // Refresh: a new pair; the old refresh token is then used up.
    let second = merchant
        .apply_token("v2", &ApplyTokenRequest::refresh(&first.refresh_token))
        .await
        .unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.customer_id, PAYER);
    let e = merchant
        .apply_token("v2", &ApplyTokenRequest::refresh(&first.refresh_token))
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::UsedRefreshToken), "{e}");

    // The user, as far as the grant allows: the basic profile and the masked login, no name.
    let info = merchant
        .inquiry_user_info("v2", &v2_user_info(&second.access_token))
        .await
        .unwrap()
        .user_info;
    assert_eq!(info.user_id, PAYER);
    assert_eq!(info.nick_name.as_deref(), Some("Alice"));
    assert_eq!(info.status.as_deref(), Some("ACTIVE"));
    assert!(info
        .avatar
        .as_deref()
        .is_some_and(|a| a.starts_with(&wallet.base_url)));
    assert_eq!(info.user_name, None, "USER_NAME was not granted");
    assert_eq!(info.contact_infos, None, "USER_CONTACTINFO was not granted");
    let login = &info.login_id_infos.as_ref().expect("loginIdInfos")[0];
    assert_eq!(login.login_id_type, "MOBILE_PHONE");
    assert!(!login.mask_login_id.contains("0000001"), "{login:?}");

    // Cancelled: both tokens are dead.
    let cancelled = merchant
        .cancel_token("v2", &AccessTokenRequest::new(&second.access_token))
        .await
        .unwrap();
    assert_eq!(cancelled.result.result_code, "SUCCESS");
    let e = merchant
        .inquiry_user_info("v2", &v2_user_info(&second.access_token))
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::InvalidAccessToken), "{e}");
    let e = merchant
        .apply_token("v2", &ApplyTokenRequest::refresh(&second.refresh_token))
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::InvalidRefreshToken), "{e}");
}

#[tokio::test]
async fn v1_names_the_mini_program_reference_client_id_and_its_own_error_codes() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let e = merchant
        .apply_token(
            "v1",
            &ApplyTokenRequest::authorization_code_v1(APP_ID, "not-a-code"),
        )
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::InvalidCode), "v1 spelling: {e}");
    let e = merchant
        .apply_token(
            "v2",
            &ApplyTokenRequest::authorization_code_v2(APP_ID, CLIENT_ID, "not-a-code"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        wallet_code(&e),
        Some(ResultCode::InvalidAuthcode),
        "v2 spelling: {e}"
    );

    let code = auth_code(&wallet, "USER_NICKNAME", None).await;
    let tokens: ApplyTokenResponse = merchant
        .apply_token("v1", &ApplyTokenRequest::authorization_code_v1(APP_ID, &code))
        .await
        .unwrap();
    let refreshed = merchant
        .apply_token("v1", &ApplyTokenRequest::refresh(&tokens.refresh_token))
        .await
        .unwrap();
    let info = merchant
        .inquiry_user_info("v1", &AccessTokenRequest::new(&refreshed.access_token))
        .await
        .unwrap()
        .user_info;
    assert_eq!(info.user_id, PAYER);
    assert_eq!(info.nick_name.as_deref(), Some("Alice"));
    assert_eq!(info.avatar, None, "only USER_NICKNAME was granted");
    // The refreshed-away access token is no longer good.
    let e = merchant
        .inquiry_user_info("v1", &AccessTokenRequest::new(&tokens.access_token))
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::InvalidAccessToken), "{e}");
    // Cancelling is idempotent; afterwards the token reads nothing.
    for _ in 0..2 {
        merchant
            .cancel_token("v1", &AccessTokenRequest::new(&refreshed.access_token))
            .await
            .unwrap();
    }
    let e = merchant
        .inquiry_user_info("v1", &AccessTokenRequest::new(&refreshed.access_token))
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::InvalidAccessToken), "{e}");
    let e = merchant
        .cancel_token("v1", &AccessTokenRequest::new("not-a-token"))
        .await
        .unwrap_err();
    assert_eq!(wallet_code(&e), Some(ResultCode::InvalidAccessToken), "{e}");

    // A version the user-info API does not have is refused before anything is sent.
    let e = merchant
        .inquiry_user_info("v3", &AccessTokenRequest::new("t"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Local(_)), "{e}");
}

/// alice's USD wallet: (posted, held).
async fn alice(wallet: &DocWallet) -> (i64, i64) {
    wallet
        .wallet
        .accounts_of(AccountKind::UserWallet, PAYER)
        .await
        .expect("accounts")
        .iter()
        .find(|a| a.currency.code() == "USD")
        .map(|a| (a.posted_balance(), a.debits_pending))
        .expect("alice has a USD wallet")
}

async fn authorize(merchant: &MiniProgramClient, token: &str, request_id: &str, minor: &str) -> String {
    let pay = PayRequestV2::agreement(APP_ID, request_id, usd(minor), token).as_authorization();
    let answer = merchant.pay_v2(&pay).await.unwrap();
    assert_eq!(answer.result.result_status, "S", "{:?}", answer.result);
    assert!(
        answer.auth_expiry_time.is_some(),
        "an authorization says until when it holds"
    );
    answer.payment_id.expect("paymentId")
}

#[tokio::test]
async fn an_authorization_is_captured_in_two_parts() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let code = auth_code(&wallet, "AGREEMENT_PAY", Some(50_000)).await;
    let token = merchant
        .apply_token(
            "v2",
            &ApplyTokenRequest::authorization_code_v2(APP_ID, CLIENT_ID, &code),
        )
        .await
        .unwrap()
        .access_token;
    let (start, _) = alice(&wallet).await;
    let payment_id = authorize(&merchant, &token, "auth-1", "10000").await;
    assert_eq!(alice(&wallet).await, (start, 10_000), "held, not taken");

    let first = CaptureRequest::new("cap-1", &payment_id, Some(usd("3000")), false);
    let c1 = merchant.capture("v2", &first).await.unwrap();
    assert_eq!(
        (c1.capture_request_id.as_str(), c1.payment_id.as_str()),
        ("cap-1", payment_id.as_str())
    );
    assert_eq!(c1.capture_amount, usd("3000"));
    assert_eq!(alice(&wallet).await, (start - 3_000, 7_000));
    let lookup = PaymentLookupRequest::by_payment_id(&payment_id);
    let q = merchant.inquiry_payment("v2", &lookup).await.unwrap();
    assert_eq!(
        q.payment_status.as_deref(),
        Some("PROCESSING"),
        "more may be captured"
    );

    // The same request again is the same capture, not a second one.
    let again = merchant.capture("v2", &first).await.unwrap();
    assert_eq!(again.capture_id, c1.capture_id);
    assert_eq!(alice(&wallet).await, (start - 3_000, 7_000));

    // The rest: no amount, last (the default).
    let rest = CaptureRequest {
        is_last_capture: None,
        ..CaptureRequest::new("cap-2", &payment_id, None, true)
    };
    let c2 = merchant.capture("v2", &rest).await.unwrap();
    assert_ne!(c2.capture_id, c1.capture_id);
    assert_eq!(c2.capture_amount, usd("7000"));
    chrono::DateTime::parse_from_rfc3339(&c2.capture_time).expect("captureTime");
    assert_eq!(alice(&wallet).await, (start - 10_000, 0));
    let q = merchant.inquiry_payment("v2", &lookup).await.unwrap();
    assert_eq!(q.payment_status.as_deref(), Some("SUCCESS"));
    let captured: Vec<i64> = wallet
        .wallet
        .captures_of(&payment_id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.amount_minor)
        .collect();
    assert_eq!(captured, [3_000, 7_000]);

    // Nothing is left to capture: a typed F answer.
    let e = merchant
        .capture(
            "v2",
            &CaptureRequest::new("cap-3", &payment_id, Some(usd("1")), true),
        )
        .await
        .unwrap_err();
    assert_eq!(
        wallet_code(&e),
        Some(ResultCode::CaptureAmountExceedAuthLimit),
        "{e}"
    );
}
