//! get_credit and add_subtract_credit: store credit is a store-side balance per store user, given
//! out of the store's receipts (what its gateway collected); it is never the user's wallet
//! balance.

use crate::helpers::*;

fn change(action: Option<&str>, amount: Option<&str>) -> StoreCall {
    let mut c = StoreCall::new("add_subtract_credit", Some("20"));
    if let Some(a) = action {
        c = c.field("creditAction", a);
    }
    if let Some(a) = amount {
        c = c.field("amount", a);
    }
    c.field("description", "Goodwill")
}

#[tokio::test]
async fn add_subtract_credit_errors() {
    let s = spawn_store().await;
    for action in [None, Some(""), Some("double"), Some("ADD")] {
        s.expect_error(
            change(action, Some("1.00")),
            "REQUEST_ERROR",
            "Invalid credit action",
        )
        .await;
    }
    for amount in [None, Some("0"), Some("-2"), Some("1.001"), Some("one")] {
        s.expect_error(change(Some("add"), amount), "REQUEST_ERROR", "Invalid amount")
            .await;
    }
    s.expect_error(
        change(Some("subtract"), Some("0.01")),
        "ERROR_CANT_SUBTRACT",
        "Can't subtract credit because the user does not have any available",
    )
    .await;
    // The store has no balance yet: it cannot give credit.
    s.expect_error(
        change(Some("add"), Some("1.00")),
        "ERROR_STORE_BALANCE",
        "The store's balance does not cover this amount",
    )
    .await;
    assert_eq!(s.credit("20").await, "0.00");
    s.assert_books_sound().await;
}

#[tokio::test]
async fn credit_is_given_from_the_store_balance_and_taken_back() {
    let s = spawn_store().await;
    // The store earns 25.00 through its gateway.
    s.place("21", &[(&s.season, 1)]).await;
    assert_eq!(s.add_payment("21", "25.00").await["ok"], "Payment was added");
    assert_eq!(s.store_receipts().await, 2500);
    assert_eq!(s.merchant_balance().await, 0, "the store's word pays no merchant");

    assert_eq!(
        s.call(change(Some("add"), Some("0.1"))).await["ok"],
        "Credit action was performed"
    );
    assert_eq!(
        s.call(change(Some("add"), Some("0.2")).multipart()).await["ok"],
        "Credit action was performed"
    );
    assert_eq!(s.credit("20").await, "0.30");
    let answer = s.call(StoreCall::new("get_credit", Some("20"))).await;
    assert_eq!(answer["data"]["buyer_credit_formatted"], "0.30 USD");
    assert_eq!(s.cart("20").await["buyer_credit"], "0.30");
    assert_eq!(s.store_receipts().await, 2470);

    s.expect_error(
        change(Some("subtract"), Some("0.31")),
        "ERROR_CANT_SUBTRACT",
        "Can't subtract more credit than the user has available (0.30 USD)",
    )
    .await;
    assert_eq!(
        s.call(change(Some("subtract"), Some("0.29"))).await["ok"],
        "Credit action was performed"
    );
    assert_eq!(s.credit("20").await, "0.01");
    assert_eq!(s.store_receipts().await, 2499);
    assert_eq!(s.merchant_balance().await, 0);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn credit_of_a_linked_wallet_user_is_not_their_wallet_balance() {
    let s = spawn_store().await;
    s.wallet.store_link_user(STORE, 30, "alice").await.expect("link");
    assert_eq!(
        s.credit("30").await,
        "0.00",
        "alice's 100.00 are wallet money, not store credit"
    );
    // Linking twice to the same user is fine; to another user it is refused.
    s.wallet
        .store_link_user(STORE, 30, "alice")
        .await
        .expect("same link");
    assert!(s.wallet.store_link_user(STORE, 30, "nobody").await.is_err());
    // A store user the store already used cannot be re-linked.
    s.place("31", &[(&s.movie, 1)]).await;
    assert!(s.wallet.store_link_user(STORE, 31, "alice").await.is_err());
}
