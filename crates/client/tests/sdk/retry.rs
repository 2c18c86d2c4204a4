//! Doing the right thing on U and on lost requests, against the sandbox amounts
//! (9901 F/RISK_REJECT, 9903 U/UNKNOWN_EXCEPTION, 9905 U/PAYMENT_IN_PROCESS).

use std::sync::atomic::Ordering;
use std::time::Duration;

use walletd_client::{PaymentOutcome, RefundOutcome};
use walletd_core::payments::PaymentRef;
use walletd_protocol::miniprogram::RefundRequest;
use walletd_protocol::ResultCode;

use crate::doc_wallet::{DocWallet, CLIENT_ID, PAYER};
use crate::helpers::{merchant_at, pay_v1, pay_v2, pay_v2_by_alice, quick_policy, spawn_proxy, usd, Fault};

/// The payment the wallet holds for `payment_request_id`, once it exists.
async fn payment_id_of(wallet: &DocWallet, payment_request_id: &str) -> String {
    for _ in 0..200 {
        let r = PaymentRef {
            payment_id: None,
            payment_request_id: Some(payment_request_id.into()),
        };
        if let Some(p) = wallet.wallet.inquire_payment(CLIENT_ID, r).await.unwrap() {
            return p.payment_id;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("payment {payment_request_id} never appeared");
}

async fn payments_of_merchant(wallet: &DocWallet) -> usize {
    wallet
        .wallet
        .list_payments(Some(CLIENT_ID.into()), 100)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_request_lost_on_the_way_is_sent_again_with_the_same_id() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::LoseFirstRequest).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let outcome = merchant
        .pay_v2_with_retry(&pay_v2("lost-request", "1250"))
        .await
        .unwrap();
    let PaymentOutcome::Accepted(answer) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(proxy.received.load(Ordering::SeqCst), 2, "sent twice");
    assert_eq!(
        proxy.forwarded.load(Ordering::SeqCst),
        1,
        "only the second reached the wallet"
    );
    assert_eq!(
        answer.payment_id.unwrap(),
        payment_id_of(&wallet, "lost-request").await
    );
    assert_eq!(payments_of_merchant(&wallet).await, 1);
}

#[tokio::test]
async fn an_answer_lost_on_the_way_back_does_not_make_a_second_payment() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::LoseFirstAnswer).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let outcome = merchant
        .pay_v2_with_retry(&pay_v2("lost-answer", "1250"))
        .await
        .unwrap();
    let PaymentOutcome::Accepted(answer) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        proxy.forwarded.load(Ordering::SeqCst),
        2,
        "both reached the wallet"
    );
    // The repeat named the same paymentRequestId, so the wallet answered with the first payment.
    assert_eq!(
        answer.payment_id.unwrap(),
        payment_id_of(&wallet, "lost-answer").await
    );
    assert_eq!(payments_of_merchant(&wallet).await, 1);
}

#[tokio::test]
async fn a_gateway_error_is_treated_like_a_lost_request() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::GatewayErrorFirst).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let outcome = merchant
        .pay_v2_with_retry(&pay_v2("gateway", "700"))
        .await
        .unwrap();
    assert!(matches!(outcome, PaymentOutcome::Accepted(_)), "{outcome:?}");
    assert_eq!(proxy.received.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_exception_is_resolved_by_inquiry_once_the_user_pays() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let payer = async {
        let id = payment_id_of(&wallet, "u-then-paid").await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        wallet.user_pays(&id).await;
        id
    };
    grant_named_payer(&wallet, &merchant).await;
    let request = pay_v2_by_alice("u-then-paid", "9903");
    let (outcome, id) = tokio::join!(merchant.pay_v2_with_retry(&request), payer);
    match outcome.unwrap() {
        PaymentOutcome::Paid {
            payment_id,
            payment_time,
        } => {
            assert_eq!(payment_id.as_deref(), Some(id.as_str()));
            assert!(payment_time.is_some());
        }
        other => panic!("expected Paid, got {other:?}"),
    }
}

#[tokio::test]
async fn payment_in_process_that_never_ends_is_still_unknown_after_the_budget() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::None).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let started = std::time::Instant::now();
    let outcome = merchant
        .pay_v2_with_retry(&pay_v2("in-process", "9905"))
        .await
        .unwrap();
    let PaymentOutcome::StillUnknown {
        payment_request_id,
        payment_id,
        last_payment_status,
        last_problem,
    } = outcome
    else {
        panic!("expected StillUnknown, got {outcome:?}")
    };
    assert_eq!(payment_request_id, "in-process");
    assert_eq!(payment_id, Some(payment_id_of(&wallet, "in-process").await));
    assert_eq!(last_payment_status.as_deref(), Some("PROCESSING"));
    assert!(last_problem.contains("PROCESSING"), "{last_problem}");
    // One pay, then exactly the policy's number of inquiries (bounded), spread over its budget.
    let policy = quick_policy();
    assert_eq!(
        proxy.received.load(Ordering::SeqCst) as u32,
        1 + policy.max_polls()
    );
    assert!(started.elapsed() >= policy.poll_interval * policy.max_polls());
}

#[tokio::test]
async fn a_declined_payment_found_by_inquiry_is_failed() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    let decliner = async {
        let id = payment_id_of(&wallet, "u-then-declined").await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        wallet
            .wallet
            .decline_payment(&id, "declined by the user")
            .await
            .unwrap();
    };
    let request = pay_v2("u-then-declined", "9905");
    let (outcome, ()) = tokio::join!(merchant.pay_v2_with_retry(&request), decliner);
    match outcome.unwrap() {
        PaymentOutcome::Failed {
            payment_status,
            result,
            ..
        } => {
            assert_eq!(payment_status.as_deref(), Some("FAIL"));
            assert!(result.is_none());
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_final_f_answer_is_not_polled() {
    let wallet = DocWallet::start().await;
    let proxy = spawn_proxy(&wallet.base_url, Fault::None).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let outcome = merchant.pay_v2_with_retry(&pay_v2("risk", "9901")).await.unwrap();
    let PaymentOutcome::Failed {
        result: Some(result), ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(result.code(), Some(ResultCode::RiskReject));
    assert_eq!(proxy.received.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn v1_payments_are_inquired_with_the_partner_id() {
    let wallet = DocWallet::start().await;
    let merchant = merchant_at(&wallet, &wallet.base_url);
    grant_named_payer(&wallet, &merchant).await;
    let mut request = pay_v1("v1-in-process", "9905");
    request.extend_info = Some(format!(r#"{{"customerId":"{PAYER}"}}"#));
    let payer = async {
        let id = payment_id_of(&wallet, "v1-in-process").await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        wallet.user_pays(&id).await;
    };
    let (outcome, ()) = tokio::join!(merchant.pay_v1_with_retry(&request), payer);
    assert!(matches!(outcome.unwrap(), PaymentOutcome::Paid { .. }));
}

#[tokio::test]
async fn nobody_answering_at_all_is_still_unknown_not_failed() {
    let wallet = DocWallet::start().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let merchant = merchant_at(&wallet, &dead);
    let outcome = merchant
        .pay_v2_with_retry(&pay_v2("nobody-home", "100"))
        .await
        .unwrap();
    let PaymentOutcome::StillUnknown {
        last_payment_status,
        last_problem,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(last_payment_status, None);
    assert!(last_problem.contains("transport"), "{last_problem}");
}

#[tokio::test]
async fn a_refund_whose_answer_is_lost_is_made_once() {
    let wallet = DocWallet::start().await;
    let direct = merchant_at(&wallet, &wallet.base_url);
    let PaymentOutcome::Accepted(a) = direct
        .pay_v2_with_retry(&pay_v2("to-refund", "1000"))
        .await
        .unwrap()
    else {
        panic!("not accepted")
    };
    let payment_id = a.payment_id.unwrap();
    wallet.user_pays(&payment_id).await;

    let proxy = spawn_proxy(&wallet.base_url, Fault::LoseFirstAnswer).await;
    let merchant = merchant_at(&wallet, &proxy.base_url);
    let refund = |id: &str, value: &str| RefundRequest::new(&payment_id, id, usd(value));
    let outcome = merchant
        .refund_with_retry("v2", &refund("refund-1", "250"))
        .await
        .unwrap();
    assert!(matches!(outcome, RefundOutcome::Refunded { .. }), "{outcome:?}");
    assert_eq!(proxy.forwarded.load(Ordering::SeqCst), 2);
    // Only 250 left the merchant: 750 more fits, one more unit does not.
    assert!(matches!(
        direct
            .refund_with_retry("v2", &refund("refund-2", "750"))
            .await
            .unwrap(),
        RefundOutcome::Refunded { .. }
    ));
    let outcome = direct
        .refund_with_retry("v2", &refund("refund-3", "1"))
        .await
        .unwrap();
    let RefundOutcome::Failed { result: Some(r), .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(r.code(), Some(ResultCode::RefundAmountExceed));
}

/// The payer grants the merchant `AGREEMENT_PAY` and the merchant exchanges the auth code
/// (applyToken), as it must before a cashier payment may name the payer.
async fn grant_named_payer(wallet: &DocWallet, merchant: &walletd_client::MiniProgramClient) {
    use walletd_core::oauth::{Grant, Scope};
    use walletd_protocol::miniprogram::oauth::ApplyTokenRequest;
    let grant = Grant {
        client_id: CLIENT_ID.into(),
        app_id: Some(crate::doc_wallet::APP_ID.into()),
        user_id: PAYER.into(),
        scopes: vec![Scope::AgreementPay],
        agreement_limits: [("USD".to_owned(), 1_000_000)].into_iter().collect(),
    };
    let code = wallet
        .wallet
        .issue_auth_code(grant, 300)
        .await
        .expect("auth code")
        .code;
    let exchange = ApplyTokenRequest::authorization_code_v2(crate::doc_wallet::APP_ID, CLIENT_ID, &code);
    let tokens = merchant.apply_token("v2", &exchange).await.expect("applyToken");
    assert_eq!(tokens.customer_id, PAYER);
}
