//! The WS.WebTV store API dialect (`api.php`, docs/store-api.md).
//!
//! `POST /api.php?go=store&do=ACTION&iq=USER_ID&key=…&timestamp=…&salt=…&signature=…` with the
//! action's fields as a form body (`application/x-www-form-urlencoded` or `multipart/form-data`,
//! which PHP's curl sends for an array). GET is served too; it simply carries no form fields, so
//! it suits the actions that need none (`get_cart`, `get_credit`, `list_orders`, `get_config`).
//!
//! Every answer is HTTP 200 with a JSON body, as PHP APIs answer: `{"ok":…}`, `{"data":{…}}`,
//! `{"list":[…]}` or `{"error":CODE,"error_long":TEXT}`. Scalars are strings, amounts decimal
//! strings in the store currency (`"4.50"`), as the documented examples show.
//!
//! The checks run in this order, and the first failure answers: key, timestamp, salt and
//! signature present; key known and not revoked; timestamp a number within the key's expiration
//! window; signature valid (constant time, a `+` that arrived as a space repaired); salt not seen
//! in that window; section known and allowed to the key; action known; `iq` a number ≥ 1 where the
//! action needs one; then the action's own fields. The salt is claimed only after the signature
//! verified, so nobody can burn another client's salts.

use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};
use walletd_core::parties::PartyStatus;
use walletd_core::store::{
    self, CartAction, CartView, CreditAction, StoreConfig, StoreKey, StoreKeyMode, StoreOrder, StoreRefusal,
};
use walletd_core::CoreError;
use walletd_protocol::store_signature::{store_verify, StoreSignatureMode};
use walletd_protocol::{Amount, Currency};

/// The largest url-encoded body read.
const FORM_BODY_LIMIT_BYTES: usize = 64 * 1024;
/// The most form fields read from a body (multipart or url-encoded).
const MAX_FORM_FIELDS: usize = 64;
/// The longest salt accepted (WebTV sends 32 hex digits).
const MAX_SALT_CHARS: usize = 128;
/// The longest key id looked up.
const MAX_KEY_ID_CHARS: usize = 64;

/// The payment methods `get_config` lists and `place_order` accepts, with WebTV's ids.
const METHOD_EXTERNAL_GATEWAY: (&str, &str) = ("3", "EXTERNAL_GATEWAY");
/// walletd's own cashier (a Mini Program payment whose `referenceOrderId` names the order).
const METHOD_WALLET: (&str, &str) = ("100", "WALLET");

/// The actions of section `store` that walletd serves.
const ACTIONS: &[&str] = &[
    "add_payment",
    "get_cart",
    "modify_cart",
    "place_order",
    "cancel_order",
    "list_orders",
    "get_credit",
    "add_subtract_credit",
    "get_config",
];

/// Routes of this dialect.
pub fn router() -> Router<AppState> {
    Router::new().route("/api.php", any(handle))
}

/// An error answer: `{"error": code, "error_long": long}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub long: String,
}

impl ApiError {
    fn new(code: &'static str, long: impl Into<String>) -> Self {
        ApiError {
            code,
            long: long.into(),
        }
    }

    fn request(long: impl Into<String>) -> Self {
        ApiError::new("REQUEST_ERROR", long)
    }

    fn internal() -> Self {
        ApiError::new("ERROR", "An internal error occurred")
    }

    fn body(&self) -> Value {
        json!({ "error": self.code, "error_long": self.long })
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound(what) if what.starts_with("store configuration") => {
                ApiError::new("ERROR", "The store is not configured")
            }
            CoreError::Storage(walletd_core::StorageError::Busy(waiting)) => {
                tracing::warn!(waiting, "database queue full: answered try again");
                ApiError::new("REQUEST_ERROR", "The wallet is busy; retry shortly")
            }
            other => {
                tracing::error!(error = %other, "store API internal error");
                ApiError::internal()
            }
        }
    }
}

fn refusal(r: StoreRefusal, currency: Currency) -> ApiError {
    match r {
        StoreRefusal::NoOrder => ApiError::new("ERROR_NO_ORDER", "User does not have any current order"),
        StoreRefusal::AmountTooBig { .. } => ApiError::new(
            "ERROR_AMOUNT_TOO_BIG",
            "Amount can't be higher than order amount due",
        ),
        StoreRefusal::OrderAlreadyPlaced => {
            ApiError::new("ERROR_ORDER_ALREADY_PLACED", "User already has a current order")
        }
        StoreRefusal::EmptyCart => ApiError::new("ERROR_EMPTY_CART", "The shopping cart is empty"),
        StoreRefusal::MinPurchase { min_minor } => ApiError::new(
            "ERROR_MIN_PURCHASE",
            format!(
                "The order total is lower than the minimum purchase amount ({})",
                formatted(min_minor, currency)
            ),
        ),
        StoreRefusal::CartLocked => ApiError::new(
            "CART_ACTION_ERROR",
            "Can't perform actions on the cart because there is a current order",
        ),
        StoreRefusal::UnknownProduct => ApiError::request("Invalid or missing product ID"),
        StoreRefusal::CartTooLarge => ApiError::request("Invalid product quantity"),
        StoreRefusal::CantSubtract { available_minor: 0 } => ApiError::new(
            "ERROR_CANT_SUBTRACT",
            "Can't subtract credit because the user does not have any available",
        ),
        StoreRefusal::CantSubtract { available_minor } => ApiError::new(
            "ERROR_CANT_SUBTRACT",
            format!(
                "Can't subtract more credit than the user has available ({})",
                formatted(available_minor, currency)
            ),
        ),
        StoreRefusal::StoreBalanceNotEnough => ApiError::new(
            "ERROR_STORE_BALANCE",
            "The store's balance does not cover this amount",
        ),
        StoreRefusal::UserNotActive => ApiError::new("ERROR", "User is not active"),
    }
}

/// A major-unit decimal string, e.g. `4.50`.
fn decimal(minor: i64, currency: Currency) -> String {
    Amount::from_minor(currency, minor.max(0))
        .map(|a| a.format_major())
        .unwrap_or_else(|_| minor.to_string())
}

/// The "formatted" companion of a decimal: `4.50 USD`.
fn formatted(minor: i64, currency: Currency) -> String {
    format!("{} {}", decimal(minor, currency), currency.code())
}

/// Name/value pairs as PHP reads them: the last occurrence of a name wins.
#[derive(Debug, Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value if present and not empty after trimming.
    fn present(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

fn parse_urlencoded(bytes: &[u8]) -> Result<Fields, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes)
        .take(MAX_FORM_FIELDS + 1)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.len() > MAX_FORM_FIELDS {
        return Err(ApiError::request("Too many fields"));
    }
    Ok(Fields(pairs))
}

/// The action's form fields, from a url-encoded or multipart body. Other bodies carry none (as
/// PHP's `$_POST` would be empty).
async fn read_form(req: Request) -> Result<Fields, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|_| ApiError::request("Invalid request body"))?;
        let mut fields = Vec::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|_| ApiError::request("Invalid request body"))?
        {
            if fields.len() >= MAX_FORM_FIELDS {
                return Err(ApiError::request("Too many fields"));
            }
            let name = field.name().unwrap_or("").to_owned();
            let value = field
                .text()
                .await
                .map_err(|_| ApiError::request("Invalid request body"))?;
            fields.push((name, value));
        }
        return Ok(Fields(fields));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let bytes = axum::body::to_bytes(req.into_body(), FORM_BODY_LIMIT_BYTES)
            .await
            .map_err(|_| ApiError::request("Invalid request body"))?;
        return parse_urlencoded(&bytes);
    }
    Ok(Fields::default())
}

fn json_answer(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

async fn handle(State(state): State<AppState>, req: Request<Body>) -> Response {
    let query = parse_urlencoded(req.uri().query().unwrap_or("").as_bytes()).unwrap_or_default();
    let section = query.get("go").unwrap_or("").to_owned();
    let action = query.get("do").unwrap_or("").to_owned();
    let key_id = query
        .get("key")
        .unwrap_or("")
        .chars()
        .take(MAX_KEY_ID_CHARS)
        .collect::<String>();
    let answer = match serve(&state, query, req).await {
        Ok(v) => {
            tracing::info!(go = %section, r#do = %action, key = %key_id, "store API request served");
            v
        }
        Err(e) => {
            tracing::info!(go = %section, r#do = %action, key = %key_id, error = e.code, error_long = %e.long, "store API request refused");
            e.body()
        }
    };
    json_answer(answer)
}

/// The authenticated caller.
struct Caller {
    key: StoreKey,
    config: StoreConfig,
}

/// Checks the credentials of a request (everything but section and action).
async fn authenticate(state: &AppState, query: &Fields) -> Result<Caller, ApiError> {
    let key_id = query
        .present("key")
        .ok_or_else(|| ApiError::request("Missing key"))?;
    let timestamp = query
        .present("timestamp")
        .ok_or_else(|| ApiError::request("Missing timestamp"))?;
    // The raw value: the salt is signed byte for byte.
    let salt = query
        .get("salt")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::request("Missing salt"))?;
    // Not trimmed: a leading `+` arrives as a space and must survive to be repaired.
    let signature = query
        .get("signature")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::request("Missing signature"))?;

    if key_id.chars().count() > MAX_KEY_ID_CHARS {
        return Err(ApiError::request("Invalid key"));
    }
    let key = state
        .wallet
        .store_key(key_id)
        .await?
        .filter(|k| !k.revoked)
        .ok_or_else(|| ApiError::request("Invalid key"))?;
    let client = state
        .wallet
        .get_client(&key.client_id)
        .await?
        .ok_or_else(|| ApiError::request("Invalid key"))?;
    if client.status != PartyStatus::Active {
        return Err(ApiError::request("Permission denied"));
    }

    check_timestamp(timestamp, state.wallet.now().timestamp(), key.expiration_secs)?;
    if salt.chars().count() > MAX_SALT_CHARS {
        return Err(ApiError::request("Invalid salt"));
    }

    let mode = match key.mode {
        StoreKeyMode::Hmac => StoreSignatureMode::Hmac,
        StoreKeyMode::Md5 => StoreSignatureMode::Md5,
    };
    if !store_verify(mode, &key.secret, salt, timestamp, signature) {
        return Err(ApiError::request("Invalid signature"));
    }
    if !state.rate_limits.allow(&key.client_id) {
        return Err(ApiError::request(
            "Too many requests: the rate limit is exceeded, retry later",
        ));
    }
    // A request is acceptable while |now - timestamp| ≤ window, so a salt must stay claimed for
    // two windows to cover every request that could still arrive with it.
    let ttl_secs = key.expiration_secs.saturating_mul(2).saturating_add(1);
    if !state
        .wallet
        .claim_once(&store::salt_scope(&key.key_id), salt, ttl_secs)
        .await?
    {
        return Err(ApiError::request("Salt already used"));
    }
    let config = state
        .wallet
        .store_config(&key.client_id)
        .await?
        .ok_or_else(|| ApiError::new("ERROR", "The store is not configured"))?;
    Ok(Caller { key, config })
}

/// Refuses a timestamp (Unix seconds) that is not a number, or lies more than the key's
/// expiration from `now`: "Request expired" when older, "Invalid timestamp" when ahead.
fn check_timestamp(timestamp: &str, now: i64, expiration_secs: i64) -> Result<(), ApiError> {
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) || timestamp.len() > 12 {
        return Err(ApiError::request("Invalid timestamp"));
    }
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| ApiError::request("Invalid timestamp"))?;
    if now.saturating_sub(sent) > expiration_secs {
        return Err(ApiError::request("Request expired"));
    }
    if sent.saturating_sub(now) > expiration_secs {
        return Err(ApiError::request("Invalid timestamp"));
    }
    Ok(())
}

async fn serve(state: &AppState, query: Fields, req: Request) -> Result<Value, ApiError> {
    if req.method() != Method::GET && req.method() != Method::POST {
        return Err(ApiError::request("Invalid request method"));
    }
    let caller = authenticate(state, &query).await?;
    let action = requested_action(&caller, &query)?;
    if action == "get_config" {
        return Ok(get_config(state, &caller.config));
    }
    let iq = store_user_id(&query)?;
    let form = if req.method() == Method::POST {
        read_form(req).await?
    } else {
        Fields::default()
    };
    act(state, &caller, action, iq, &form).await
}

/// The action a request asks for (`do`), once its section (`go`) is the store's, the key may
/// call it, and the action is one the store API has.
fn requested_action<'q>(caller: &Caller, query: &'q Fields) -> Result<&'q str, ApiError> {
    let section = query.get("go").unwrap_or("");
    if section != store::SECTION_STORE {
        return Err(ApiError::request("Invalid section"));
    }
    if !caller.key.allows(section) {
        return Err(ApiError::request("Permission denied"));
    }
    let action = query.get("do").unwrap_or("");
    if !ACTIONS.contains(&action) {
        return Err(ApiError::request("Invalid action"));
    }
    Ok(action)
}

/// Performs one of the store user `iq`'s actions (cart, orders, payments, credit) with the
/// request's form, and answers it.
async fn act(
    state: &AppState,
    caller: &Caller,
    action: &str,
    iq: i64,
    form: &Fields,
) -> Result<Value, ApiError> {
    let client_id = caller.key.client_id.as_str();
    let currency = caller.config.currency;
    let wallet = &state.wallet;
    match action {
        "get_cart" => Ok(cart_answer(&wallet.store_view_cart(client_id, iq).await?)),
        "modify_cart" => {
            let cart_action = cart_action(form)?;
            wallet
                .store_modify_cart(client_id, iq, cart_action)
                .await?
                .map_err(|r| refusal(r, currency))?;
            Ok(json!({ "ok": "Cart action was performed" }))
        }
        "place_order" => {
            let method = payment_method(form)?;
            let order = wallet
                .store_place_order(client_id, iq, method)
                .await?
                .map_err(|r| refusal(r, currency))?;
            Ok(json!({ "ok": "Order was placed", "id": order.order_id.to_string() }))
        }
        "cancel_order" => {
            wallet
                .store_cancel_order(client_id, iq)
                .await?
                .map_err(|r| refusal(r, currency))?;
            Ok(json!({ "ok": "Order was cancelled" }))
        }
        "add_payment" => {
            let amount = amount_field(form, currency)?;
            let description = form.get("description").unwrap_or("").trim();
            wallet
                .store_add_payment(client_id, iq, amount, description)
                .await?
                .map_err(|r| refusal(r, currency))?;
            Ok(json!({ "ok": "Payment was added" }))
        }
        "list_orders" => {
            let orders = wallet.store_list_orders(client_id, iq).await?;
            Ok(json!({ "list": orders.iter().map(order_summary).collect::<Vec<_>>() }))
        }
        "get_credit" => {
            let credit = wallet.store_credit(client_id, iq).await?;
            Ok(json!({ "data": {
                "buyer_credit": credit.format_major(),
                "buyer_credit_formatted": formatted(credit.value_minor(), currency),
            }}))
        }
        "add_subtract_credit" => change_credit(state, caller, iq, form).await,
        _ => Err(ApiError::request("Invalid action")),
    }
}

/// `add_subtract_credit`: adds to or takes from the store user's credit the form's amount, with
/// its description.
async fn change_credit(state: &AppState, caller: &Caller, iq: i64, form: &Fields) -> Result<Value, ApiError> {
    let currency = caller.config.currency;
    let credit_action = credit_action(form)?;
    let amount = amount_field(form, currency)?;
    let description = form.get("description").unwrap_or("").trim();
    state
        .wallet
        .store_change_credit(&caller.key.client_id, iq, credit_action, amount, description)
        .await?
        .map_err(|r| refusal(r, currency))?;
    Ok(json!({ "ok": "Credit action was performed" }))
}

/// `iq`: the store's user id, a whole number ≥ 1.
fn store_user_id(query: &Fields) -> Result<i64, ApiError> {
    let invalid = || ApiError::request("Invalid User ID");
    let raw = query.present("iq").ok_or_else(invalid)?;
    if raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let iq: i64 = raw.parse().map_err(|_| invalid())?;
    if iq < 1 {
        return Err(invalid());
    }
    Ok(iq)
}

/// `amount`: a positive decimal in the store currency, parsed exactly (no floats).
fn amount_field(form: &Fields, currency: Currency) -> Result<Amount, ApiError> {
    let invalid = || ApiError::request("Invalid amount");
    let raw = form.present("amount").ok_or_else(invalid)?;
    let amount = Amount::parse_decimal(currency, raw).map_err(|_| invalid())?;
    if amount.is_zero() {
        return Err(invalid());
    }
    Ok(amount)
}

fn positive_int(raw: &str) -> Option<i64> {
    if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>().ok().filter(|n| *n >= 1)
}

/// The `paymentMethod` of `place_order`, by WebTV id or by name (any case); the external
/// gateway when none is given.
fn payment_method(form: &Fields) -> Result<&'static str, ApiError> {
    Ok(match form.present("paymentMethod") {
        None => METHOD_EXTERNAL_GATEWAY.1,
        Some(m) => [METHOD_EXTERNAL_GATEWAY, METHOD_WALLET]
            .iter()
            .find(|(id, name)| m == *id || m.eq_ignore_ascii_case(name))
            .map(|(_, name)| *name)
            .ok_or_else(|| ApiError::request("Invalid payment method"))?,
    })
}

/// The `creditAction` of `add_subtract_credit`: `add` or `subtract`.
fn credit_action(form: &Fields) -> Result<CreditAction, ApiError> {
    match form.present("creditAction") {
        Some("add") => Ok(CreditAction::Add),
        Some("subtract") => Ok(CreditAction::Subtract),
        _ => Err(ApiError::request("Invalid credit action")),
    }
}

fn cart_action(form: &Fields) -> Result<CartAction, ApiError> {
    let action = form.present("cartAction");
    if action == Some("empty") {
        return Ok(CartAction::Empty);
    }
    if action != Some("add") && action != Some("remove") {
        return Err(ApiError::request("Invalid cart action"));
    }
    let product_id = form
        .present("productID")
        .and_then(positive_int)
        .ok_or_else(|| ApiError::request("Invalid or missing product ID"))?;
    if action == Some("remove") {
        return Ok(CartAction::Remove { product_id });
    }
    let quantity = match form.present("productQty") {
        None => 1,
        Some(q) => positive_int(q).ok_or_else(|| ApiError::request("Invalid product quantity"))?,
    };
    Ok(CartAction::Add { product_id, quantity })
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

fn cart_answer(view: &CartView) -> Value {
    let cur = view.currency;
    let products: Vec<Value> = view
        .lines
        .iter()
        .map(|l| {
            json!({
                "product_id": l.product_id.to_string(),
                "name": l.name,
                "quantity": l.quantity.to_string(),
                "price": decimal(l.unit_price_minor, cur),
                "price_formatted": formatted(l.unit_price_minor, cur),
                "total": decimal(l.total_minor, cur),
                "total_formatted": formatted(l.total_minor, cur),
            })
        })
        .collect();
    let units: i64 = view.lines.iter().map(|l| l.quantity).fold(0, i64::saturating_add);
    let mut data = json!({
        "order_contains_subscription": "0",
        "order_contains_subscription_trial": "0",
        "order_trial_requires_rp": "0",
        "order_has_credit_product": "0",
        "order_min_purchase_check": flag(view.total_minor >= view.min_purchase_minor),
        "order_num_products": units.to_string(),
        "order_total": decimal(view.total_minor, cur),
        "order_total_formatted": formatted(view.total_minor, cur),
        "buyer_credit": decimal(view.credit_minor, cur),
        "buyer_credit_formatted": formatted(view.credit_minor, cur),
        "currency_code": cur.code(),
        "products": products,
    });
    if let (Some(order), Some(map)) = (&view.current_order, data.as_object_mut()) {
        map.insert("order_id".into(), json!(order.order_id.to_string()));
        map.insert("order_number".into(), json!(order.order_number()));
        map.insert("order_payment_method".into(), json!(order.payment_method));
        map.insert(
            "order_amount_due".into(),
            json!(decimal(order.amount_due_minor(), cur)),
        );
        map.insert(
            "order_amount_due_formatted".into(),
            json!(formatted(order.amount_due_minor(), cur)),
        );
        map.insert("order_amount_paid".into(), json!(decimal(order.paid_minor, cur)));
        map.insert(
            "order_amount_paid_formatted".into(),
            json!(formatted(order.paid_minor, cur)),
        );
    }
    json!({ "data": data })
}

fn order_summary(o: &StoreOrder) -> Value {
    let cur = o.currency;
    json!({
        "date": o.created_at.timestamp().to_string(),
        "date_formatted": o.created_at.format("%d/%m/%Y").to_string(),
        "id": o.order_id.to_string(),
        "id_currency": "1",
        "currency_code": cur.code(),
        "invoice_url": "",
        "order_number": o.order_number(),
        "status": o.status.code().to_string(),
        "status_payment": o.payment_status.code().to_string(),
        "status_payment_text": o.payment_status.text(),
        "total": decimal(o.total_minor, cur),
        "total_formatted": formatted(o.total_minor, cur),
        "total_paid": decimal(o.paid_minor, cur),
        "total_paid_formatted": formatted(o.paid_minor, cur),
    })
}

fn get_config(state: &AppState, config: &StoreConfig) -> Value {
    let cur = config.currency;
    json!({ "data": {
        "currency_code": cur.code(),
        "currency_id": "1",
        "currency_symbol": cur.code(),
        "currency_symbol_position": "1",
        "min_purchase_amount": decimal(config.min_purchase_minor, cur),
        "payment_methods": [
            {
                "id": METHOD_EXTERNAL_GATEWAY.0,
                "name": METHOD_EXTERNAL_GATEWAY.1,
                "settings": { "external_gateway_url": config.gateway_url.clone().unwrap_or_default() },
                "enable_rp": "0",
            },
            {
                "id": METHOD_WALLET.0,
                "name": METHOD_WALLET.1,
                "settings": { "wallet_url": state.public_base_url.to_string() },
                "enable_rp": "0",
            },
        ],
        "support_email": config.support_email.clone().unwrap_or_default(),
    }})
}
