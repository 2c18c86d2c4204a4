//! A payment made in the wallet (a Mini Program cashier payment whose `referenceOrderId` names the
//! store order, confirmed by the user) settles the store order on the same books.

use crate::helpers::*;
use walletd_core::ledger::AccountKind;
use walletd_core::payments::{ApprovalOutcome, PaymentStatus};
use walletd_protocol::amount::WireAmount;
use walletd_protocol::miniprogram::{Order, PayRequestV2, PayResponse, RefundRequest, ResultOnly};
use walletd_protocol::{Amount, Currency};

fn pay_request(request_id: &str, minor: &str, order_id: &str) -> PayRequestV2 {
    PayRequestV2 {
        app_id: "webtv".into(),
        product_code: Some("CASHIER_PAYMENT".into()),
        sales_code: None,
        payment_request_id: request_id.into(),
        payment_amount: WireAmount {
            currency: "USD".into(),
            value: minor.into(),
        },
        order: Some(Order {
            reference_order_id: Some(order_id.into()),
            order_description: Some("WebTV order".into()),
            merchant: None,
        }),
        payment_method: None,
        payment_factor: None,
        payment_auth_code: None,
        payment_expiry_time: None,
        payment_redirect_url: Some("https://store.example/return".into()),
        payment_notify_url: None,
        void_notify_url: None,
        extend_info: None,
    }
}

async fn wallet_pay(s: &TestStore, request_id: &str, minor: &str, order_id: &str) -> String {
    let answer: PayResponse = s
        .mini_program
        .call("v2/payments/pay", &pay_request(request_id, minor, order_id))
        .await
        .expect("signed answer");
    answer.payment_id.expect("payment id")
}

async fn alice_available(s: &TestStore) -> i64 {
    s.wallet
        .accounts_of(AccountKind::UserWallet, "alice")
        .await
        .expect("accounts")[0]
        .available_balance()
}

#[tokio::test]
async fn a_wallet_payment_and_a_gateway_payment_settle_one_order() {
    let s = spawn_store().await;
    s.wallet.store_link_user(STORE, 40, "alice").await.expect("link");
    let order_id = s.place("40", &[(&s.movie, 1)]).await;
    // The store's gateway collected 1.50 …
    assert_eq!(s.add_payment("40", "1.50").await["ok"], "Payment was added");
    assert_eq!(s.cart("40").await["order_amount_due"], "3.00");
    // … and alice pays the remaining 3.00 in the wallet.
    let payment_id = wallet_pay(&s, "store-40-a", "300", &order_id).await;
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    let ApprovalOutcome::Done(p) = outcome else {
        panic!("not paid: {outcome:?}")
    };
    assert_eq!(p.status, PaymentStatus::Success);

    // The store dialect sees the order paid and processed.
    let cart = s.cart("40").await;
    assert!(cart.get("order_id").is_none(), "{cart}");
    let o = &s.orders("40").await[0];
    assert_eq!(o["id"], order_id.as_str());
    assert_eq!(o["status"], "1");
    assert_eq!(o["status_payment"], "1");
    assert_eq!(o["total_paid"], "4.50");
    s.expect_error(
        StoreCall::new("add_payment", Some("40")).field("amount", "0.01"),
        "ERROR_NO_ORDER",
        "User does not have any current order",
    )
    .await;
    // One order, two kinds of money: the merchant holds the wallet payment, the gateway's 1.50
    // is on the store side, alice paid 3.00 from 100.00, and she has no store credit.
    assert_eq!(s.merchant_balance().await, 300);
    assert_eq!(s.store_receipts().await, 150);
    assert_eq!(alice_available(&s).await, 9_700);
    assert_eq!(s.credit("40").await, "0.00");
    let order = s
        .wallet
        .store_order(STORE, order_id.parse().unwrap())
        .await
        .expect("read")
        .expect("order");
    assert_eq!(order.payments.len(), 2);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn the_order_number_form_names_the_order_too() {
    let s = spawn_store().await;
    let order_id = s.place("41", &[(&s.pixel, 1)]).await;
    let number = format!("ORD{:05}", order_id.parse::<i64>().unwrap());
    let payment_id = wallet_pay(&s, "store-41", "29", &number).await;
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    assert_eq!(s.orders("41").await[0]["status_payment"], "1");
    s.assert_books_sound().await;
}

#[tokio::test]
async fn a_wallet_payment_the_order_can_no_longer_take_fails_and_moves_nothing() {
    let s = spawn_store().await;
    let order_id = s.place("42", &[(&s.movie, 1)]).await;
    // alice starts paying 4.50 in the wallet, but the gateway is faster with 1.00.
    let payment_id = wallet_pay(&s, "store-42", "450", &order_id).await;
    assert_eq!(s.add_payment("42", "1.00").await["ok"], "Payment was added");
    let before = alice_available(&s).await;
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    let ApprovalOutcome::Refused { payment, message, .. } = outcome else {
        panic!("should be refused: {outcome:?}")
    };
    assert_eq!(payment.status, PaymentStatus::Fail);
    assert!(message.contains("3.50"), "{message}");
    assert_eq!(alice_available(&s).await, before);
    let cart = s.cart("42").await;
    assert_eq!(cart["order_amount_paid"], "1.00");
    assert_eq!(cart["order_amount_due"], "3.50");
    assert_eq!(s.merchant_balance().await, 0);
    assert_eq!(s.store_receipts().await, 100);

    // A payment for a cancelled order fails the same way.
    let payment_id = wallet_pay(&s, "store-42-b", "350", &order_id).await;
    assert_eq!(
        s.call(StoreCall::new("cancel_order", Some("42"))).await["ok"],
        "Order was cancelled"
    );
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Refused { .. }), "{outcome:?}");
    assert_eq!(alice_available(&s).await, before);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn a_payment_naming_no_store_order_is_an_ordinary_payment() {
    let s = spawn_store().await;
    let order_id = s.place("43", &[(&s.movie, 1)]).await;
    let payment_id = wallet_pay(&s, "plain", "100", "not-a-store-order").await;
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    let cart = s.cart("43").await;
    assert_eq!(cart["order_id"], order_id.as_str());
    assert_eq!(cart["order_amount_paid"], "0.00");
    assert_eq!(s.merchant_balance().await, 100);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn a_cancelled_order_gives_a_wallet_payment_back_once() {
    let s = spawn_store().await;
    // The merchant has other income, so its balance alone would not stop a second return.
    let other = wallet_pay(&s, "plain-44", "1000", "not-a-store-order").await;
    let outcome = s.wallet.confirm_payment(&other, "alice").await.expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    let order_id = s.place("44", &[(&s.movie, 1)]).await;
    let payment_id = wallet_pay(&s, "store-44", "300", &order_id).await;
    let outcome = s
        .wallet
        .confirm_payment(&payment_id, "alice")
        .await
        .expect("confirm");
    assert!(matches!(outcome, ApprovalOutcome::Done(_)), "{outcome:?}");
    assert_eq!(s.cart("44").await["order_amount_due"], "1.50");

    let before = alice_available(&s).await;
    assert_eq!(
        s.call(StoreCall::new("cancel_order", Some("44"))).await["ok"],
        "Order was cancelled"
    );
    assert_eq!(
        alice_available(&s).await,
        before + 300,
        "the wallet payment came back"
    );
    let paid = s
        .wallet
        .get_payment(&payment_id)
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(paid.refunded_minor, 300, "and the payment says so");

    // The merchant refunds the same payment in the Mini Program: nothing of it is left.
    let refund = RefundRequest::new(
        payment_id.as_str(),
        "rf-44",
        Amount::from_minor(Currency::from_code("USD").expect("USD"), 300).expect("amount"),
    );
    let answer: ResultOnly = s
        .mini_program
        .call("v2/payments/refund", &refund)
        .await
        .expect("signed answer");
    assert_eq!(answer.result.result_code, "REFUND_AMOUNT_EXCEED", "{answer:?}");
    assert_eq!(alice_available(&s).await, before + 300, "not twice");
    assert_eq!(s.merchant_balance().await, 1_000);
    s.assert_books_sound().await;
}
