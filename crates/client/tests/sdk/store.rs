//! The store API client against the real dialect, both signature modes.

use walletd_client::store::StoreRequestOptions;
use walletd_client::{ClientError, StoreClient};
use walletd_core::store::{NewStoreKey, StoreConfig, StoreKeyMode};
use walletd_protocol::store_signature::StoreSignatureMode;
use walletd_protocol::{Amount, Currency};

use crate::doc_wallet::{DocWallet, CLIENT_ID, PAYER};

const USER: i64 = 7;

/// A store on the SDK merchant selling one 4.50 USD film; alice is its user 7. Returns the
/// HMAC and the md5 credentials as clients, and the product id.
async fn store(wallet: &DocWallet) -> (StoreClient, StoreClient, i64) {
    let usd = Currency::from_code("USD").unwrap();
    let w = &wallet.wallet;
    w.store_set_config(StoreConfig {
        client_id: CLIENT_ID.into(),
        currency: usd,
        min_purchase_minor: 0,
        gateway_url: None,
        support_email: None,
        updated_at: w.now(),
    })
    .await
    .unwrap();
    let product = w
        .store_add_product(CLIENT_ID, "A film", Amount::parse_decimal(usd, "4.50").unwrap())
        .await
        .unwrap();
    w.store_link_user(CLIENT_ID, USER, PAYER).await.unwrap();
    let mut clients = Vec::new();
    for mode in [StoreKeyMode::Hmac, StoreKeyMode::Md5] {
        let key = w
            .store_add_key(NewStoreKey {
                client_id: CLIENT_ID.into(),
                mode,
                expiration_secs: 300,
                sections: vec!["store".into()],
            })
            .await
            .unwrap();
        let c = StoreClient::new(&wallet.base_url, &key.key_id, &key.secret);
        clients.push(match mode {
            StoreKeyMode::Hmac => c,
            StoreKeyMode::Md5 => c.with_mode(StoreSignatureMode::Md5),
        });
    }
    let md5 = clients.pop().unwrap();
    (clients.pop().unwrap(), md5, product.product_id)
}

#[tokio::test]
async fn an_order_is_placed_and_paid_in_parts_through_the_store_api() {
    let wallet = DocWallet::start().await;
    let (hmac, md5, product) = store(&wallet).await;
    let config = hmac.get_config().await.unwrap();
    assert_eq!(config["currency_code"], "USD", "{config}");

    hmac.modify_cart(USER, "add", Some(product), Some(2))
        .await
        .unwrap();
    let order_id = md5.place_order(USER, None).await.unwrap();
    assert!(!order_id.is_empty());
    let cart = hmac.get_cart(USER).await.unwrap();
    assert_eq!(cart["order_amount_due"], "9.00", "{cart}");

    // 9.00 in two parts, one per signature mode; decimals go through as text, never floats.
    assert_eq!(
        hmac.add_payment(USER, "4.50", "first half").await.unwrap(),
        "Payment was added"
    );
    let e = md5.add_payment(USER, "4.51", "too much").await.unwrap_err();
    assert!(
        matches!(&e, ClientError::Store { error, .. } if error == "ERROR_AMOUNT_TOO_BIG"),
        "{e}"
    );
    md5.add_payment(USER, "4.50", "second half").await.unwrap();
    let orders = hmac.list_orders(USER).await.unwrap();
    assert_eq!(orders.len(), 1);
    let e = hmac
        .add_payment(USER, "0.10", "nothing is due")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Store { error, .. } if error == "ERROR_NO_ORDER"),
        "{e}"
    );

    // Store credit is the store's own (alice's wallet balance is not store credit), given out of
    // the 9.00 its gateway collected; 0.10 more is exactly 0.10 more.
    let before = md5.get_credit(USER).await.unwrap();
    assert_eq!(before["buyer_credit"], "0.00", "{before}");
    hmac.add_subtract_credit(USER, "add", "0.10", "goodwill")
        .await
        .unwrap();
    let after = md5.get_credit(USER).await.unwrap();
    assert_eq!(after["buyer_credit"], "0.10", "{after}");
}

#[tokio::test]
async fn a_bad_signature_or_a_stale_timestamp_is_the_stores_request_error() {
    let wallet = DocWallet::start().await;
    let (hmac, _, _) = store(&wallet).await;
    let forged = StoreRequestOptions {
        signature: Some("AAAA".into()),
        ..Default::default()
    };
    let e = hmac
        .call_with("get_cart", Some(USER), &[], &forged)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Store { error, error_long } if error == "REQUEST_ERROR" && error_long.contains("signature")),
        "{e}"
    );
    let stale = StoreRequestOptions {
        timestamp: Some((chrono::Utc::now().timestamp() - 3600).to_string()),
        ..Default::default()
    };
    let e = hmac
        .call_with("get_cart", Some(USER), &[], &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Store { error, .. } if error == "REQUEST_ERROR"),
        "{e}"
    );
    // The same salt twice is a replay.
    let salted = StoreRequestOptions {
        salt: Some("0123456789abcdef0123456789abcdef".into()),
        ..Default::default()
    };
    hmac.call_with("get_cart", Some(USER), &[], &salted)
        .await
        .unwrap();
    let e = hmac
        .call_with("get_cart", Some(USER), &[], &salted)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Store { error, .. } if error == "REQUEST_ERROR"),
        "{e}"
    );
}
