//! The AlphaPay client against the real dialect: every endpoint, tampered answers, a lost answer.

use std::sync::atomic::Ordering;
use std::time::Duration;

use walletd_client::alphapay::AlphaPayOutcome;
use walletd_client::{AlphaPayClient, ClientError};
use walletd_protocol::alphapay::{PayRequest, PaymentLookupRequest, RefundLookupRequest, RefundRequest};
use walletd_protocol::amount::WireAmount;

use crate::doc_wallet::{merchant_key, DocWallet, MERCHANT_CODE};
use crate::helpers::{quick_policy, spawn_proxy, Fault, Tamper};

fn client(wallet: &DocWallet, base_url: &str) -> AlphaPayClient {
    AlphaPayClient::new(
        base_url,
        MERCHANT_CODE,
        merchant_key().clone(),
        wallet.wallet_public_key.clone(),
    )
    .with_retry_policy(quick_policy())
    .with_timeout(Duration::from_millis(500))
}

fn pay(request_id: &str, value: &str) -> PayRequest {
    let amount = WireAmount {
        currency: "USD".into(),
        value: value.into(),
    };
    PayRequest::qr_code(request_id, amount, "Two cups of tea").with_payment_method("Alipay")
}

#[tokio::test]
async fn pay_inquire_refund_inquire_the_refund_and_cancel() {
    let wallet = DocWallet::start().await;
    let ap = client(&wallet, &wallet.base_url);
    let answer = ap.pay(&pay("ap-1", "1250")).await.unwrap();
    let payment_id = answer.payment_id.clone().expect("paymentId");
    let info = answer.payment_info.expect("paymentInfo");
    assert!(info.pay_url.contains(&payment_id), "{}", info.pay_url);
    assert!(info.payment_qr_image.starts_with("data:image/png;base64,"));

    let lookup = PaymentLookupRequest::by_payment_id(&payment_id);
    let before = ap.inquiry_payment(&lookup).await.unwrap();
    assert_eq!(before.payment.payment_status, "PAYMENT_IN_PROCESS");
    wallet.user_pays(&payment_id).await;
    let after = ap.inquiry_payment(&lookup).await.unwrap();
    assert_eq!(after.payment.payment_status, "SUCCESS");

    let usd_250 = WireAmount {
        currency: "USD".into(),
        value: "250".into(),
    };
    let refund = RefundRequest::new(&payment_id, "ap-1-r1", usd_250).with_description("cold");
    let r = ap.refund(&refund).await.unwrap();
    let refund_id = r.refund_id.expect("refundId");
    let found = ap
        .inquiry_refund(&RefundLookupRequest::by_refund_id(refund_id))
        .await
        .unwrap();
    assert_eq!(found.refund.refund_status, "SUCCESS");
    assert_eq!(
        ap.inquiry_payment(&lookup).await.unwrap().payment.payment_status,
        "PARTIAL_REFUND"
    );

    let second = ap.pay(&pay("ap-2", "300")).await.unwrap();
    let cancel = PaymentLookupRequest {
        payment_id: second.payment_id.clone(),
        payment_request_id: None,
    };
    let cancelled = ap.cancel(&cancel).await.unwrap();
    assert!(cancelled.cancel_time.is_some());
    assert_eq!(
        ap.inquiry_payment(&cancel).await.unwrap().payment.payment_status,
        "CLOSED"
    );

    // The wallet's F answers are typed.
    let e = ap
        .inquiry_payment(&PaymentLookupRequest::by_payment_id("nope"))
        .await
        .unwrap_err();
    assert_eq!(
        e.result_code(),
        Some(walletd_protocol::ResultCode::OrderNotExist),
        "{e}"
    );
}

#[tokio::test]
async fn tampered_alphapay_answers_are_signature_errors() {
    let wallet = DocWallet::start().await;
    for tamper in [
        Tamper::Body,
        Tamper::ResponseTime,
        Tamper::Nonce,
        Tamper::MerchantCode,
        Tamper::Signature,
        Tamper::NoSignature,
    ] {
        let proxy = spawn_proxy(&wallet.base_url, Fault::Tamper(tamper)).await;
        let e = client(&wallet, &proxy.base_url)
            .pay(&pay(&format!("ap-t-{tamper:?}"), "100"))
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Signature(_)), "{tamper:?}: {e}");
    }
    // The control: the same proxy without tampering passes.
    let proxy = spawn_proxy(&wallet.base_url, Fault::None).await;
    assert!(client(&wallet, &proxy.base_url)
        .pay(&pay("ap-t-none", "100"))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_lost_alphapay_answer_is_resent_with_the_same_request_id() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::LoseFirstAnswer).await;
    let ap = client(&wallet, &proxy.base_url);
    let outcome = ap.pay_with_retry(&pay("ap-lost", "700")).await.unwrap();
    let AlphaPayOutcome::Created(answer) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(proxy.forwarded.load(Ordering::SeqCst), 2);
    let payments = wallet
        .wallet
        .list_payments(Some(MERCHANT_CODE.into()), 10)
        .await
        .unwrap();
    assert_eq!(payments.len(), 1, "the repeat made no second order");
    assert_eq!(
        answer.payment_id.as_deref(),
        Some(payments[0].payment_id.as_str())
    );
}
