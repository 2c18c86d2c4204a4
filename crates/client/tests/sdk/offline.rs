//! Requests signed without sending them, and canned answers signed by a stand-in wallet key.

use walletd_client::testing::sign_answer;
use walletd_client::{ClientError, MiniProgramClient};
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::miniprogram::{PayRequestV2, PayResponse};

use crate::doc_wallet::{merchant_key, DocWallet, APP_ID, CLIENT_ID};
use crate::helpers::usd;

#[tokio::test]
async fn a_request_signed_offline_is_accepted_by_the_wallet_as_it_is() {
    let wallet = DocWallet::start().await;
    let merchant = MiniProgramClient::new(
        &wallet.base_url,
        CLIENT_ID,
        merchant_key().clone(),
        wallet.wallet_public_key.clone(),
    );
    let pay = PayRequestV2::cashier(APP_ID, "offline-1", usd("1250"), "order-1", "Two cups of tea");
    let signed = merchant.sign_request("v2/payments/pay", &pay).unwrap();
    assert_eq!(signed.path, "/api/v2/payments/pay");
    assert_eq!(signed.body, serde_json::to_vec(&pay).unwrap());
    assert_eq!(signed.header("Client-Id"), Some(CLIENT_ID));

    // Sent by hand, headers and body exactly as signed.
    let mut request = reqwest::Client::new().post(format!("{}{}", wallet.base_url, signed.path));
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    let response = request.body(signed.body.clone()).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap();
    let verified = merchant
        .verify_answer(&signed.path, status, headers, body)
        .unwrap();
    assert_eq!(verified.result.result_status, "A", "{:?}", verified.result);
    let answer: PayResponse = verified.decode().unwrap();
    let payment_id = answer.payment_id.expect("paymentId");
    let cashier = answer
        .redirect_action_form
        .expect("redirectActionForm")
        .redirect_url;
    assert!(cashier.contains(&payment_id), "{cashier}");
}

#[test]
fn canned_answers_verify_only_with_the_right_key_client_and_path() {
    let stand_in = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let client = MiniProgramClient::new(
        "http://wallet.invalid",
        "m-1",
        merchant_key().clone(),
        stand_in.public_key(),
    );
    let path = "/api/v2/payments/pay";
    let body = br#"{"result":{"resultCode":"ACCEPT","resultStatus":"A","resultMessage":"Accepted"},"paymentId":"p-1"}"#;

    let headers = sign_answer(&stand_in, "m-1", path, body).unwrap();
    let verified = client
        .verify_answer(path, 200, headers.clone(), &body[..])
        .unwrap();
    assert_eq!(
        verified.decode::<PayResponse>().unwrap().payment_id.as_deref(),
        Some("p-1")
    );

    let signature_error = |r: Result<_, ClientError>| matches!(r, Err(ClientError::Signature(_)));
    assert!(signature_error(client.verify_answer(
        "/api/v2/payments/refund",
        200,
        headers,
        &body[..]
    )));
    let other_key = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    let forged = sign_answer(&other_key, "m-1", path, body).unwrap();
    assert!(signature_error(client.verify_answer(
        path,
        200,
        forged,
        &body[..]
    )));
    let for_another_client = sign_answer(&stand_in, "m-2", path, body).unwrap();
    assert!(signature_error(client.verify_answer(
        path,
        200,
        for_another_client,
        &body[..]
    )));
}
