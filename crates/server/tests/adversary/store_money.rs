//! A store API key cannot create wallet money. What a store says its own gateway collected, and
//! the credit it gives its users, live on store-side accounts that never reach a wallet user's
//! spendable balance or a merchant's payable balance; `verify` holds it.

use crate::core_harness::*;
use serde_json::json;
use walletd_core::ledger::AccountKind;
use walletd_core::payments::ApprovalOutcome;

#[tokio::test]
async fn a_store_key_cannot_turn_its_word_into_spendable_wallet_money() {
    let app = spawn_core_app().await;
    let (key, product) = app.make_store().await;
    // The store user 7 is bob, whose wallet holds 5.00.
    app.wallet
        .store_link_user(MERCHANT, 7, "bob")
        .await
        .expect("link");
    let merchant_before = app.available(AccountKind::Merchant, MERCHANT).await;

    // The store "collects" 40.00 through its own gateway, then gives bob 40.00 of credit.
    let product = product.to_string();
    let added = app
        .store_call(
            &key,
            "modify_cart",
            "7",
            &[
                ("cartAction", "add"),
                ("productID", &product),
                ("productQty", "1"),
            ],
        )
        .await;
    assert!(added.get("error").is_none(), "{added}");
    let placed = app.store_call(&key, "place_order", "7", &[]).await;
    assert!(placed.get("error").is_none(), "{placed}");
    let paid = app
        .store_call(&key, "add_payment", "7", &[("amount", "40.00")])
        .await;
    assert_eq!(paid["ok"], "Payment was added", "{paid}");
    let credit = app
        .store_call(
            &key,
            "add_subtract_credit",
            "7",
            &[("creditAction", "add"), ("amount", "40.00")],
        )
        .await;
    assert_eq!(credit["ok"], "Credit action was performed", "{credit}");

    // Nothing of it is wallet money: not bob's, not the merchant's.
    assert_eq!(
        app.available(AccountKind::UserWallet, "bob").await,
        BOB_USD,
        "store credit must not become bob's spendable balance"
    );
    assert_eq!(
        app.available(AccountKind::Merchant, MERCHANT).await,
        merchant_before,
        "the store's word must not become the merchant's payable balance"
    );
    let shown = app.store_call(&key, "get_credit", "7", &[]).await;
    assert_eq!(
        shown["data"]["buyer_credit"], "40.00",
        "the store sees its credit: {shown}"
    );
    // bob cannot spend it at another merchant.
    let pay = app
        .call_as(
            &app.rival,
            "v2/payments/pay",
            json!({"appId": RIVAL_APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": "spend-1",
                "paymentAmount": {"currency": "USD", "value": "4000"},
                "order": {"referenceOrderId": "rival-1", "orderDescription": "Anything"}}),
        )
        .await;
    assert_eq!(result_code(&pay), "ACCEPT", "{pay}");
    let id = pay["paymentId"].as_str().expect("paymentId");
    let outcome = app.wallet.confirm_payment(id, "bob").await.expect("confirm");
    assert!(
        matches!(&outcome, ApprovalOutcome::Refused { code, .. } if code.as_str() == "USER_BALANCE_NOT_ENOUGH"),
        "{outcome:?}"
    );
    // And the merchant cannot pay it out.
    assert!(app.wallet.payout(MERCHANT, usd(4000)).await.is_err());
    app.assert_books_sound().await;
}

#[tokio::test]
async fn a_wallet_payment_of_a_store_order_is_real_money_and_stays_allowed() {
    let app = spawn_core_app().await;
    let (key, product) = app.make_store().await;
    app.wallet
        .store_link_user(MERCHANT, 8, "alice")
        .await
        .expect("link");
    let product = product.to_string();
    app.store_call(
        &key,
        "modify_cart",
        "8",
        &[
            ("cartAction", "add"),
            ("productID", &product),
            ("productQty", "1"),
        ],
    )
    .await;
    let placed = app.store_call(&key, "place_order", "8", &[]).await;
    let order_id = placed["id"]
        .as_str()
        .unwrap_or_else(|| panic!("order id: {placed}"))
        .to_owned();
    let pay = app
        .call(
            "v2/payments/pay",
            json!({"appId": APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": "order-pay",
                "paymentAmount": {"currency": "USD", "value": "4000"},
                "order": {"referenceOrderId": order_id, "orderDescription": "Season pass"}}),
        )
        .await;
    let id = pay["paymentId"].as_str().expect("paymentId");
    let outcome = app.wallet.confirm_payment(id, "alice").await.expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    assert_eq!(app.available(AccountKind::Merchant, MERCHANT).await, 4000);
    assert_eq!(
        app.available(AccountKind::UserWallet, "alice").await,
        ALICE_USD - 4000
    );
    app.assert_books_sound().await;
}
