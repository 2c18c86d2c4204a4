//! Answers altered on the way are errors, never results.

use walletd_client::ClientError;
use walletd_protocol::miniprogram::PaymentLookupRequest;

use crate::doc_wallet::DocWallet;
use crate::helpers::{merchant_at, pay_v2, spawn_proxy, Fault, Tamper};

fn lookup(id: &str) -> PaymentLookupRequest {
    PaymentLookupRequest::by_payment_request_id(id)
}

#[tokio::test]
async fn a_genuine_answer_through_the_proxy_verifies() {
    // The control case: the proxy itself does not break signatures.
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::None).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let answer = merchant.pay_v2(&pay_v2("through-proxy", "100")).await.unwrap();
    assert!(answer.payment_id.is_some());
}

#[tokio::test]
async fn every_kind_of_tampered_answer_is_a_signature_error() {
    let wallet = DocWallet::start().await;
    for tamper in [
        Tamper::Body,
        Tamper::ResponseTime,
        Tamper::ClientId,
        Tamper::Signature,
        Tamper::NoSignature,
    ] {
        let proxy = spawn_proxy(&wallet.base_url, Fault::Tamper(tamper)).await;
        let merchant = merchant_at(&wallet, &proxy.base_url);
        let e = merchant
            .pay_v2(&pay_v2(&format!("tampered-{tamper:?}"), "100"))
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Signature(_)), "{tamper:?}: {e}");
        let e = merchant
            .inquiry_payment("v2", &lookup("nothing"))
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Signature(_)), "{tamper:?}: {e}");
        // The retrying call fails closed too: a forged answer is not an outcome.
        let e = merchant
            .pay_v2_with_retry(&pay_v2(&format!("tampered-retry-{tamper:?}"), "100"))
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Signature(_)), "{tamper:?}: {e}");
    }
}

#[tokio::test]
async fn a_genuine_answer_to_another_request_is_refused() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::Tamper(Tamper::ReplayFirstAnswer)).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    // The first answer (an inquiry's ORDER_NOT_EXIST) is genuine and passes...
    let e = merchant
        .inquiry_payment("v2", &lookup("nothing"))
        .await
        .unwrap_err();
    assert_eq!(
        e.result_code(),
        Some(walletd_protocol::ResultCode::OrderNotExist),
        "{e}"
    );
    // ...replayed as the answer to a pay (another path), it is refused.
    let e = merchant.pay_v2(&pay_v2("replayed", "100")).await.unwrap_err();
    assert!(matches!(e, ClientError::Signature(_)), "{e}");
    let e = merchant
        .refund(
            "v2",
            &walletd_protocol::miniprogram::RefundRequest::new("p", "rr", crate::helpers::usd("1")),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Signature(_)), "{e}");
}

#[tokio::test]
async fn an_unsigned_gateway_error_is_not_an_answer() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::GatewayErrorFirst).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let e = merchant
        .inquiry_payment("v2", &lookup("nothing"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::HttpStatus { status: 502, .. }), "{e}");
    assert!(e.is_transport());
}
