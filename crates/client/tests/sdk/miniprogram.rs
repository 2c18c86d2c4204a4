//! Every Mini Program API through the SDK's typed calls, v1 and v2.

use walletd_client::{ClientError, RequestOptions};
use walletd_protocol::miniprogram::{PaymentLookupRequest, RefundLookupRequest, RefundRequest};
use walletd_protocol::{ResultCode, ResultStatus};

use crate::doc_wallet::{DocWallet, PARTNER_ID};
use crate::helpers::{merchant_at, pay_v1, pay_v2, usd};

fn refund(version: &str, refund_request_id: &str, payment_id: &str, value: &str) -> RefundRequest {
    let refund = RefundRequest::new(payment_id, refund_request_id, usd(value)).with_reason("cold tea");
    match version {
        "v1" => refund.with_partner_id(PARTNER_ID),
        _ => refund,
    }
}

#[tokio::test]
async fn pay_inquire_cancel_refund_and_inquire_the_refund_in_both_versions() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    for version in ["v1", "v2"] {
        let request_id = format!("{version}-order-1");
        let answer = match version {
            "v1" => merchant.pay_v1(&pay_v1(&request_id, "1250")).await.unwrap(),
            _ => merchant.pay_v2(&pay_v2(&request_id, "1250")).await.unwrap(),
        };
        assert_eq!(answer.result.status(), Some(ResultStatus::Accepted));
        let payment_id = answer.payment_id.clone().expect("payment id");
        let cashier = match version {
            "v1" => answer
                .action_form
                .expect("actionForm")
                .redirection_url
                .expect("url"),
            _ => {
                answer
                    .redirect_action_form
                    .expect("redirectActionForm")
                    .redirect_url
            }
        };
        assert!(cashier.contains(&payment_id), "{cashier}");

        let partner_id = (version == "v1").then(|| PARTNER_ID.to_owned());
        let by_request = PaymentLookupRequest {
            partner_id: partner_id.clone(),
            ..PaymentLookupRequest::by_payment_request_id(&request_id)
        };
        let before = merchant.inquiry_payment(version, &by_request).await.unwrap();
        assert_eq!(before.payment_status.as_deref(), Some("PROCESSING"));
        assert_eq!(before.payment_id.as_deref(), Some(payment_id.as_str()));

        wallet.user_pays(&payment_id).await;
        let after = merchant.inquiry_payment(version, &by_request).await.unwrap();
        assert_eq!(after.payment_status.as_deref(), Some("SUCCESS"));
        assert_eq!(after.payment_amount, Some(usd("1250")));

        let r = merchant
            .refund(
                version,
                &refund(version, &format!("{version}-refund-1"), &payment_id, "250"),
            )
            .await
            .unwrap();
        let refund_id = r.refund_id.expect("refundId");
        assert!(r.refund_time.is_some());
        let lookup = RefundLookupRequest {
            partner_id: partner_id.clone(),
            ..RefundLookupRequest::by_refund_id(&refund_id)
        };
        let inquiry = merchant.inquiry_refund(version, &lookup).await.unwrap();
        assert_eq!(inquiry.refund_status.as_deref(), Some("SUCCESS"));
        assert_eq!(inquiry.refund_amount, Some(usd("250")));
        assert_eq!(
            inquiry.refund_request_id.as_deref(),
            Some(format!("{version}-refund-1").as_str())
        );

        // Refunding more than is left is the wallet's typed F answer.
        let e = merchant
            .refund(
                version,
                &refund(version, &format!("{version}-refund-2"), &payment_id, "1001"),
            )
            .await
            .unwrap_err();
        assert_eq!(e.result_code(), Some(ResultCode::RefundAmountExceed), "{e}");
        assert_eq!(e.result_status(), Some(ResultStatus::Failed));

        // A second payment, cancelled before the user pays.
        let second = format!("{version}-order-2");
        let answer = match version {
            "v1" => merchant.pay_v1(&pay_v1(&second, "500")).await.unwrap(),
            _ => merchant.pay_v2(&pay_v2(&second, "500")).await.unwrap(),
        };
        let lookup = PaymentLookupRequest {
            partner_id,
            ..PaymentLookupRequest::by_payment_request_id(second)
        };
        let cancelled = merchant.cancel(version, &lookup).await.unwrap();
        assert_eq!(cancelled.payment_id, answer.payment_id);
        assert!(cancelled.cancel_time.is_some());
        let status = merchant
            .inquiry_payment(version, &lookup)
            .await
            .unwrap()
            .payment_status;
        assert_eq!(status.as_deref(), Some("CANCELLED"));
    }
}

#[tokio::test]
async fn answers_keep_their_raw_body_and_errors_are_typed() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let missing = PaymentLookupRequest::by_payment_request_id("never-made");
    let e = merchant.inquiry_payment("v2", &missing).await.unwrap_err();
    let ClientError::Wallet(answer) = &e else {
        panic!("expected the wallet's answer, got {e}")
    };
    assert_eq!(answer.code(), Some(ResultCode::OrderNotExist));
    let raw: serde_json::Value = serde_json::from_slice(&answer.raw_body).unwrap();
    assert_eq!(raw["result"]["resultCode"], "ORDER_NOT_EXIST");

    // `send` returns any status with the bytes exactly as signed.
    let body = br#"{ "paymentRequestId" : "never-made" }"#.to_vec();
    let v = merchant
        .send("v2/payments/inquiryPayment", body, &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(v.result.result_code, "ORDER_NOT_EXIST");
    assert!(v.body.starts_with(b"{\"result\""), "{:?}", v.body);

    // A wrong amount is the wallet's PARAM_ILLEGAL, not a transport or signature error.
    let e = merchant.pay_v2(&pay_v2("bad-amount", "12.50")).await.unwrap_err();
    assert_eq!(e.result_code(), Some(ResultCode::ParamIllegal), "{e}");
}

#[tokio::test]
async fn a_client_with_the_wrong_wallet_key_refuses_every_answer() {
    let wallet = DocWallet::start().await;
    let other =
        walletd_protocol::crypto::PrivateKey::generate(walletd_protocol::crypto::Algorithm::Rsa256).unwrap();
    let (base, id, key, _) = wallet.merchant();
    let client = walletd_client::MiniProgramClient::new(&base, &id, key, other.public_key());
    let e = client.pay_v2(&pay_v2("r-1", "100")).await.unwrap_err();
    assert!(matches!(e, ClientError::Signature(_)), "{e}");
}

#[tokio::test]
async fn an_old_signed_answer_is_refused_when_freshness_is_checked() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url)
        .with_response_time_tolerance(std::time::Duration::from_secs(60));
    // A genuine, fresh answer passes.
    let missing = PaymentLookupRequest {
        payment_request_id: Some("x".into()),
        ..Default::default()
    };
    assert!(merchant
        .send_json("v2/payments/inquiryPayment", &missing)
        .await
        .is_ok());
    // The same check against an answer signed long ago fails closed.
    let v = merchant
        .send_json("v2/payments/inquiryPayment", &missing)
        .await
        .unwrap();
    let old_time = "2020-01-01T00:00:00.000+00:00";
    let path = merchant.path_of("v2/payments/inquiryPayment");
    let signed =
        walletd_protocol::content::mini_program("POST", &path, merchant.client_id(), old_time, &v.body);
    let raw = wallet.state.wallet_key.key.sign(&signed).unwrap();
    let mut headers = v.headers.clone();
    headers.insert("response-time", old_time.parse().unwrap());
    headers.insert(
        "signature",
        walletd_protocol::signature::format_header(walletd_protocol::crypto::Algorithm::Rsa256, 1, &raw)
            .parse()
            .unwrap(),
    );
    let e = merchant
        .verify_answer(&path, 200, headers.clone(), v.body.clone())
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Signature(m) if m.contains("response-time")),
        "{e}"
    );
    // Without the freshness check the (genuinely signed) old answer is accepted.
    let lenient = merchant_at(&wallet, &wallet.base_url);
    assert!(lenient.verify_answer(&path, 200, headers, v.body).is_ok());
}

#[tokio::test]
async fn the_oauth_and_capture_apis_answer_signed_through_the_generic_call() {
    // Besides their typed methods (tests/sdk/oauth.rs), any API can be called with untyped JSON:
    // the SDK still signs, verifies and types the result.
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let cases = [
        (
            "v2/authorizations/applyToken",
            serde_json::json!({"appId": "app-1", "authClientId": "app-1", "grantType": "AUTHORIZATION_CODE", "authCode": "not-a-code"}),
        ),
        (
            "v1/authorizations/applyToken",
            serde_json::json!({"referenceClientId": "app-1", "grantType": "AUTHORIZATION_CODE", "authCode": "not-a-code"}),
        ),
        (
            "v2/authorizations/cancelToken",
            serde_json::json!({"accessToken": "not-a-token"}),
        ),
        (
            "v2/users/inquiryUserInfo",
            serde_json::json!({"accessToken": "not-a-token"}),
        ),
        (
            "v1/customers/user/inquiryUserInfoByAccessToken",
            serde_json::json!({"accessToken": "not-a-token"}),
        ),
        (
            "v2/payments/capture",
            serde_json::json!({"captureRequestId": "c-1", "paymentId": "not-a-payment"}),
        ),
    ];
    for (api, body) in cases {
        let v = merchant
            .send_json(api, &body)
            .await
            .unwrap_or_else(|e| panic!("{api}: {e}"));
        assert_eq!(v.result.result_status, "F", "{api}: {:?}", v.result);
        assert_ne!(v.result.result_code, "INVALID_API", "{api} exists");
        assert_ne!(v.result.result_code, "PARAM_ILLEGAL", "{api}: {:?}", v.result);
        let e = merchant
            .call_ok::<_, serde_json::Value>(api, &body)
            .await
            .unwrap_err();
        assert_eq!(e.result_status(), Some(ResultStatus::Failed), "{api}");
    }
}
