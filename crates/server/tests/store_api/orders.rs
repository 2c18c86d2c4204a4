//! get_config, get_cart, modify_cart, place_order, add_payment, cancel_order and list_orders:
//! the order life cycle and every error of these actions.

use crate::helpers::*;
use walletd_core::store::StoreConfig;

#[tokio::test]
async fn get_config_reports_currency_minimum_and_payment_methods() {
    let s = spawn_store().await;
    let answer = s.call(StoreCall::new("get_config", None)).await;
    let data = &answer["data"];
    assert_eq!(data["currency_code"], "USD");
    assert_eq!(data["min_purchase_amount"], "0.00");
    assert_eq!(data["support_email"], "admin@store.example");
    let methods = data["payment_methods"].as_array().expect("methods");
    let gateway = methods
        .iter()
        .find(|m| m["name"] == "EXTERNAL_GATEWAY")
        .expect("gateway");
    assert_eq!(gateway["id"], "3");
    assert_eq!(
        gateway["settings"]["external_gateway_url"],
        "https://store.example/external_payment_processor.php"
    );
    assert!(methods.iter().any(|m| m["name"] == "WALLET"));
    // The same by GET, and with the MD5 key.
    let signing = s.signing(&s.md5);
    let by_get = s
        .send(
            StoreCall::new("get_config", None).method(reqwest::Method::GET),
            &signing,
        )
        .await;
    assert_eq!(by_get, answer);
}

#[tokio::test]
async fn the_cart_fills_empties_and_reports_totals() {
    let s = spawn_store().await;
    let empty = s.cart("5").await;
    assert_eq!(empty["order_num_products"], "0");
    assert_eq!(empty["order_total"], "0.00");
    assert!(empty.get("order_id").is_none(), "a cart has no order id");

    let add = |id: i64, qty: Option<&str>| {
        let mut c = StoreCall::new("modify_cart", Some("5"))
            .field("cartAction", "add")
            .field("productID", &id.to_string());
        if let Some(q) = qty {
            c = c.field("productQty", q);
        }
        c
    };
    assert_eq!(
        s.call(add(s.movie.product_id, None)).await["ok"],
        "Cart action was performed"
    );
    assert_eq!(
        s.call(add(s.pixel.product_id, Some("3"))).await["ok"],
        "Cart action was performed"
    );
    assert_eq!(
        s.call(add(s.movie.product_id, Some("1")).multipart()).await["ok"],
        "Cart action was performed"
    );
    let cart = s.cart("5").await;
    assert_eq!(cart["order_num_products"], "5");
    // 2 × 4.50 + 3 × 0.29 = 9.87, exactly.
    assert_eq!(cart["order_total"], "9.87");
    assert_eq!(cart["order_total_formatted"], "9.87 USD");
    let products = cart["products"].as_array().expect("products");
    assert_eq!(products.len(), 2);
    assert_eq!(products[1]["total"], "0.87");

    let remove = StoreCall::new("modify_cart", Some("5"))
        .field("cartAction", "remove")
        .field("productID", &s.movie.product_id.to_string());
    assert_eq!(s.call(remove).await["ok"], "Cart action was performed");
    assert_eq!(s.cart("5").await["order_total"], "0.87");
    let empty_it = StoreCall::new("modify_cart", Some("5")).field("cartAction", "empty");
    assert_eq!(s.call(empty_it).await["ok"], "Cart action was performed");
    assert_eq!(s.cart("5").await["order_num_products"], "0");
}

#[tokio::test]
async fn modify_cart_errors() {
    let s = spawn_store().await;
    let call = || StoreCall::new("modify_cart", Some("5"));
    s.expect_error(call(), "REQUEST_ERROR", "Invalid cart action")
        .await;
    s.expect_error(
        call().field("cartAction", "buy"),
        "REQUEST_ERROR",
        "Invalid cart action",
    )
    .await;
    for id in [None, Some("0"), Some("-4"), Some("x"), Some("999999")] {
        let mut c = call().field("cartAction", "add");
        if let Some(id) = id {
            c = c.field("productID", id);
        }
        s.expect_error(c, "REQUEST_ERROR", "Invalid or missing product ID")
            .await;
    }
    s.expect_error(
        call().field("cartAction", "remove"),
        "REQUEST_ERROR",
        "Invalid or missing product ID",
    )
    .await;
    let id = s.movie.product_id.to_string();
    for qty in ["0", "-1", "two", "1.5"] {
        s.expect_error(
            call()
                .field("cartAction", "add")
                .field("productID", &id)
                .field("productQty", qty),
            "REQUEST_ERROR",
            "Invalid product quantity",
        )
        .await;
    }
    s.expect_error(
        call()
            .field("cartAction", "add")
            .field("productID", &id)
            .field("productQty", "10001"),
        "REQUEST_ERROR",
        "Invalid product quantity",
    )
    .await;
    // Another store's products are not on sale here.
    let foreign = s
        .wallet
        .store_add_product(OTHER_STORE, "Foreign film", usd_minor(100))
        .await
        .expect("product");
    s.expect_error(
        call()
            .field("cartAction", "add")
            .field("productID", &foreign.product_id.to_string()),
        "REQUEST_ERROR",
        "Invalid or missing product ID",
    )
    .await;
    // With a current order the cart is locked.
    s.place("5", &[(&s.movie, 1)]).await;
    s.expect_error(
        call().field("cartAction", "add").field("productID", &id),
        "CART_ACTION_ERROR",
        "Can't perform actions on the cart because there is a current order",
    )
    .await;
}

#[tokio::test]
async fn place_order_errors() {
    let s = spawn_store().await;
    s.expect_error(
        StoreCall::new("place_order", Some("6")),
        "ERROR_EMPTY_CART",
        "The shopping cart is empty",
    )
    .await;
    // A minimum purchase of 4.00: a 0.29 cart is refused, a 4.50 one is placed.
    let now = s.wallet.now();
    s.wallet
        .store_set_config(StoreConfig {
            client_id: STORE.into(),
            currency: usd(),
            min_purchase_minor: 400,
            gateway_url: None,
            support_email: None,
            updated_at: now,
        })
        .await
        .expect("config");
    let add = |p: i64| {
        StoreCall::new("modify_cart", Some("6"))
            .field("cartAction", "add")
            .field("productID", &p.to_string())
    };
    assert_eq!(
        s.call(add(s.pixel.product_id)).await["ok"],
        "Cart action was performed"
    );
    assert_eq!(s.cart("6").await["order_min_purchase_check"], "0");
    s.expect_error(
        StoreCall::new("place_order", Some("6")),
        "ERROR_MIN_PURCHASE",
        "The order total is lower than the minimum purchase amount (4.00 USD)",
    )
    .await;
    s.expect_error(
        StoreCall::new("place_order", Some("6")).field("paymentMethod", "PAYPAL"),
        "REQUEST_ERROR",
        "Invalid payment method",
    )
    .await;
    assert_eq!(
        s.call(add(s.movie.product_id)).await["ok"],
        "Cart action was performed"
    );
    let placed = s
        .call(StoreCall::new("place_order", Some("6")).field("paymentMethod", "EXTERNAL_GATEWAY"))
        .await;
    assert_eq!(placed["ok"], "Order was placed");
    let id = placed["id"].as_str().expect("id").to_owned();
    s.expect_error(
        StoreCall::new("place_order", Some("6")),
        "ERROR_ORDER_ALREADY_PLACED",
        "User already has a current order",
    )
    .await;
    // get_cart now shows the order, not the (emptied) cart.
    let cart = s.cart("6").await;
    assert_eq!(cart["order_id"], id.as_str());
    assert_eq!(cart["order_total"], "4.79");
    assert_eq!(cart["order_amount_due"], "4.79");
    assert_eq!(cart["order_amount_paid"], "0.00");
    assert_eq!(cart["order_payment_method"], "EXTERNAL_GATEWAY");
}

#[tokio::test]
async fn add_payment_errors() {
    let s = spawn_store().await;
    let pay = |amount: Option<&str>| {
        let mut c = StoreCall::new("add_payment", Some("7"));
        if let Some(a) = amount {
            c = c.field("amount", a);
        }
        c
    };
    s.expect_error(
        pay(Some("1.00")),
        "ERROR_NO_ORDER",
        "User does not have any current order",
    )
    .await;
    s.place("7", &[(&s.movie, 1)]).await;
    for bad in [
        None,
        Some(""),
        Some("0"),
        Some("0.00"),
        Some("-1"),
        Some("abc"),
        Some("4.505"),
        Some("1e2"),
        Some("4,50"),
    ] {
        s.expect_error(pay(bad), "REQUEST_ERROR", "Invalid amount").await;
    }
    s.expect_error(
        pay(Some("4.51")),
        "ERROR_AMOUNT_TOO_BIG",
        "Amount can't be higher than order amount due",
    )
    .await;
    // Nothing was recorded by the refusals.
    assert_eq!(s.cart("7").await["order_amount_paid"], "0.00");
    assert_eq!(s.merchant_balance().await, 0);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn partial_payments_add_up_exactly_and_the_order_becomes_paid() {
    let s = spawn_store().await;
    // 0.10 + 0.20: a float sum is 0.30000000000000004 and would never reach the 0.30 due.
    let id = s.place("8", &[(&s.dime, 1), (&s.twenty, 1)]).await;
    assert_eq!(s.add_payment("8", "0.1").await["ok"], "Payment was added");
    let cart = s.cart("8").await;
    assert_eq!(cart["order_amount_paid"], "0.10");
    assert_eq!(cart["order_amount_due"], "0.20");
    s.expect_error(
        StoreCall::new("add_payment", Some("8")).field("amount", "0.21"),
        "ERROR_AMOUNT_TOO_BIG",
        "Amount can't be higher than order amount due",
    )
    .await;
    assert_eq!(s.add_payment("8", "0.2").await["ok"], "Payment was added");
    // Paid: no longer the current order.
    let cart = s.cart("8").await;
    assert!(cart.get("order_id").is_none(), "{cart}");
    s.expect_error(
        StoreCall::new("add_payment", Some("8")).field("amount", "0.01"),
        "ERROR_NO_ORDER",
        "User does not have any current order",
    )
    .await;
    let orders = s.orders("8").await;
    assert_eq!(orders.len(), 1);
    let o = &orders[0];
    assert_eq!(o["id"], id.as_str());
    assert_eq!(o["status"], "1");
    assert_eq!(o["status_payment"], "1");
    assert_eq!(o["status_payment_text"], "Paid");
    assert_eq!(o["total"], "0.30");
    assert_eq!(o["total_paid"], "0.30");
    assert_eq!(o["order_number"], format!("ORD{:05}", id.parse::<i64>().unwrap()));
    // The gateway's money is recorded on the store side, not on the merchant's account.
    assert_eq!(s.store_receipts().await, 30);
    assert_eq!(s.merchant_balance().await, 0);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn amounts_a_float_would_get_wrong_are_exact() {
    let s = spawn_store().await;
    // 0.29 × 100 is 28.999999999999996 as a double: truncating would record 28 cents.
    s.place("9", &[(&s.pixel, 1)]).await;
    assert_eq!(s.add_payment("9", "0.29").await["ok"], "Payment was added");
    assert_eq!(s.orders("9").await[0]["total_paid"], "0.29");
    assert_eq!(s.orders("9").await[0]["status_payment"], "1");
    // 4.50 sent as PHP's curl sends an array: multipart/form-data; and "4.5" (a PHP float) too.
    s.place("10", &[(&s.movie, 2)]).await;
    let multipart = StoreCall::new("add_payment", Some("10"))
        .field("amount", "4.50")
        .field("description", "Payment trough SuperGateway, ID: 154YTR984YX")
        .multipart();
    assert_eq!(s.call(multipart).await["ok"], "Payment was added");
    let php_float = StoreCall::new("add_payment", Some("10"))
        .field("amount", "4.5")
        .multipart();
    assert_eq!(s.call(php_float).await["ok"], "Payment was added");
    let o = &s.orders("10").await[0];
    assert_eq!(o["total_paid"], "9.00");
    assert_eq!(o["status_payment"], "1");
    assert_eq!(s.store_receipts().await, 29 + 900);
    s.assert_books_sound().await;
}

#[tokio::test]
async fn cancel_order_returns_what_was_paid_as_credit() {
    let s = spawn_store().await;
    s.expect_error(
        StoreCall::new("cancel_order", Some("11")),
        "ERROR_NO_ORDER",
        "User does not have any current order",
    )
    .await;
    // An unpaid order is simply cancelled.
    s.place("11", &[(&s.movie, 1)]).await;
    assert_eq!(
        s.call(StoreCall::new("cancel_order", Some("11"))).await["ok"],
        "Order was cancelled"
    );
    // A partly paid one gives the paid part back as the user's credit.
    s.place("11", &[(&s.season, 1)]).await;
    assert_eq!(s.add_payment("11", "10.00").await["ok"], "Payment was added");
    assert_eq!(s.credit("11").await, "0.00");
    assert_eq!(
        s.call(StoreCall::new("cancel_order", Some("11"))).await["ok"],
        "Order was cancelled"
    );
    assert_eq!(s.credit("11").await, "10.00");
    assert_eq!(s.store_receipts().await, 0);
    assert_eq!(s.merchant_balance().await, 0);
    let orders = s.orders("11").await;
    assert_eq!(orders.len(), 2);
    for o in &orders {
        assert_eq!(o["status"], "2");
        assert_eq!(o["status_payment"], "2");
        assert_eq!(o["status_payment_text"], "Cancelled");
    }
    assert_eq!(orders[0]["total"], "25.00", "newest first");
    assert_eq!(orders[0]["total_paid"], "10.00");
    // The cart is usable again.
    assert!(s.cart("11").await.get("order_id").is_none());
    s.assert_books_sound().await;
}

#[tokio::test]
async fn list_orders_is_empty_for_a_new_user_and_per_store() {
    let s = spawn_store().await;
    assert!(s.orders("12").await.is_empty());
    s.place("12", &[(&s.movie, 1)]).await;
    let o = &s.orders("12").await[0];
    assert_eq!(o["status"], "0");
    assert_eq!(o["status_payment"], "0");
    assert_eq!(o["status_payment_text"], "Unpaid");
    assert_eq!(o["total"], "4.50");
    assert_eq!(o["total_paid"], "0.00");
    // The other store's user 12 is someone else.
    let other = s.wallet.store_list_orders(OTHER_STORE, 12).await.expect("list");
    assert!(other.is_empty());
}
