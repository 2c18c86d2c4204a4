//! The same dialect on PostgreSQL (the storage of several walletd nodes): every store record
//! operation of the `Tx` trait is reached over HTTP. Runs when `WALLETD_TEST_POSTGRES_URL` names
//! a server (`.ci/run` sets it); prints why and passes otherwise, like the conformance suite.

use crate::helpers::*;
use walletd_core::payments::ApprovalOutcome;
use walletd_protocol::amount::WireAmount;
use walletd_protocol::miniprogram::{Order, PayRequestV2, PayResponse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_life_cycle_runs_on_postgres() {
    let Some(s) = spawn_store_on_postgres().await else {
        return;
    };
    // Keys: both modes; revoked keys stay listed.
    assert!(s
        .call(StoreCall::new("get_config", None))
        .await
        .get("data")
        .is_some());
    let signing = s.signing(&s.md5);
    assert_eq!(
        s.send(StoreCall::new("get_credit", Some("1")), &signing).await["data"]["buyer_credit"],
        "0.00"
    );
    assert_error(
        &s.send(StoreCall::new("get_credit", Some("1")), &signing).await,
        "REQUEST_ERROR",
        "Salt already used",
    );

    // Cart, order, exact partial payments, a second order refused while one is current.
    let id = s.place("1", &[(&s.dime, 1), (&s.twenty, 1)]).await;
    s.expect_error(
        StoreCall::new("place_order", Some("1")),
        "ERROR_ORDER_ALREADY_PLACED",
        "User already has a current order",
    )
    .await;
    assert_eq!(s.add_payment("1", "0.1").await["ok"], "Payment was added");
    assert_eq!(s.cart("1").await["order_amount_due"], "0.20");
    assert_eq!(s.add_payment("1", "0.2").await["ok"], "Payment was added");
    let o = &s.orders("1").await[0];
    assert_eq!(
        (o["id"].as_str(), o["status"].as_str(), o["total_paid"].as_str()),
        (Some(id.as_str()), Some("1"), Some("0.30"))
    );

    // Credit from the store's balance; a cancelled order's payments come back as credit.
    let add = StoreCall::new("add_subtract_credit", Some("1"))
        .field("creditAction", "add")
        .field("amount", "0.29");
    assert_eq!(s.call(add).await["ok"], "Credit action was performed");
    s.place("1", &[(&s.movie, 1)]).await;
    assert_eq!(s.add_payment("1", "4.00").await["ok"], "Payment was added");
    assert_eq!(
        s.call(StoreCall::new("cancel_order", Some("1"))).await["ok"],
        "Order was cancelled"
    );
    assert_eq!(s.credit("1").await, "4.29");

    // A wallet payment settles an order of a linked user.
    s.wallet.store_link_user(STORE, 2, "alice").await.expect("link");
    assert_eq!(s.wallet.store_list_users(STORE).await.expect("users").len(), 2);
    let order_id = s.place("2", &[(&s.movie, 1)]).await;
    let request = PayRequestV2 {
        app_id: "webtv".into(),
        product_code: Some("CASHIER_PAYMENT".into()),
        sales_code: None,
        payment_request_id: "pg-1".into(),
        payment_amount: WireAmount {
            currency: "USD".into(),
            value: "450".into(),
        },
        order: Some(Order {
            reference_order_id: Some(order_id.clone()),
            order_description: Some("WebTV order".into()),
            merchant: None,
        }),
        payment_method: None,
        payment_factor: None,
        payment_auth_code: None,
        payment_expiry_time: None,
        payment_redirect_url: None,
        payment_notify_url: None,
        void_notify_url: None,
        extend_info: None,
    };
    let answer: PayResponse = s
        .mini_program
        .call("v2/payments/pay", &request)
        .await
        .expect("signed answer");
    let payment_id = answer.payment_id.expect("payment id");
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    assert_eq!(s.orders("2").await[0]["status_payment"], "1");
    assert_eq!(s.credit("2").await, "0.00", "wallet money is not store credit");
    assert_eq!(s.merchant_balance().await, 450);

    // Revoking a key takes effect at once.
    s.wallet.store_revoke_key(&s.hmac.key_id).await.expect("revoke");
    assert_error(
        &s.call(StoreCall::new("get_credit", Some("1"))).await,
        "REQUEST_ERROR",
        "Invalid key",
    );
    assert_eq!(
        s.wallet
            .store_list_keys(Some(STORE.into()))
            .await
            .expect("keys")
            .len(),
        2
    );
    s.assert_books_sound().await;
}
