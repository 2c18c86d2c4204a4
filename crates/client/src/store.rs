//! The store API client (`api.php`, docs/store-api.md).
//!
//! A request is `POST /api.php?go=store&do=ACTION&iq=USER&key=KEY_ID&timestamp=T&salt=S&signature=SIG`
//! with the action's fields as a form body. The signature covers only `salt` and `timestamp`:
//! `base64(HMAC-SHA256(secret, salt . timestamp))`, or `md5(salt "-" timestamp "-" secret)` in the
//! simplified mode. Answers are JSON and not signed: `{"ok": …}`, `{"data": {…}}`, `{"list": […]}`
//! or `{"error": CODE, "error_long": TEXT}` (which becomes [`ClientError::Store`]).
//!
//! Amounts are decimal strings in the store's currency (`"4.50"`), passed through as text: this
//! client never turns money into a float.

use std::time::Duration;

use rand::RngCore as _;
use serde_json::Value;
use walletd_protocol::store_signature::{store_sign, StoreSignatureMode};

use crate::ClientError;

/// A store's connection to the store API of a walletd.
#[derive(Clone)]
pub struct StoreClient {
    http: reqwest::Client,
    base_url: String,
    path: String,
    key_id: String,
    secret: String,
    mode: StoreSignatureMode,
}

impl std::fmt::Debug for StoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreClient")
            .field("base_url", &self.base_url)
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .field("mode", &self.mode)
            .finish()
    }
}

/// Overrides for one store request (tests and diagnostics).
#[derive(Debug, Clone, Default)]
pub struct StoreRequestOptions {
    /// Send this `timestamp` instead of now.
    pub timestamp: Option<String>,
    /// Send this `salt` instead of a fresh one.
    pub salt: Option<String>,
    /// Send this `signature` instead of a correct one.
    pub signature: Option<String>,
}

impl StoreClient {
    /// A client for the store API at `base_url` with a key id and its shared secret (HMAC mode).
    pub fn new(base_url: &str, key_id: &str, secret: &str) -> Self {
        StoreClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
            base_url: base_url.trim_end_matches('/').to_owned(),
            path: "/api.php".into(),
            key_id: key_id.to_owned(),
            secret: secret.to_owned(),
            mode: StoreSignatureMode::Hmac,
        }
    }

    /// Signs in the simplified md5 mode (a credential set to it).
    pub fn with_mode(mut self, mode: StoreSignatureMode) -> Self {
        self.mode = mode;
        self
    }

    /// Another script path (default `/api.php`).
    pub fn with_path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    /// The query string of a request: `go`, `do`, `iq`, `key`, `timestamp`, `salt`, `signature`.
    pub fn query(&self, action: &str, user_id: Option<i64>, options: &StoreRequestOptions) -> String {
        let timestamp = options
            .timestamp
            .clone()
            .unwrap_or_else(|| chrono::Utc::now().timestamp().to_string());
        let salt = options.salt.clone().unwrap_or_else(new_salt);
        let signature = options
            .signature
            .clone()
            .unwrap_or_else(|| store_sign(self.mode, &self.secret, &salt, &timestamp));
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("go", "store").append_pair("do", action);
        if let Some(iq) = user_id {
            q.append_pair("iq", &iq.to_string());
        }
        q.append_pair("key", &self.key_id)
            .append_pair("timestamp", &timestamp)
            .append_pair("salt", &salt)
            .append_pair("signature", &signature);
        q.finish()
    }

    /// Calls `action` for `user_id` with form `fields`; an `{"error": …}` answer is
    /// [`ClientError::Store`], anything else is returned as JSON.
    pub async fn call(
        &self,
        action: &str,
        user_id: Option<i64>,
        fields: &[(&str, &str)],
    ) -> Result<Value, ClientError> {
        self.call_with(action, user_id, fields, &StoreRequestOptions::default())
            .await
    }

    /// [`call`](Self::call) with overrides.
    pub async fn call_with(
        &self,
        action: &str,
        user_id: Option<i64>,
        fields: &[(&str, &str)],
        options: &StoreRequestOptions,
    ) -> Result<Value, ClientError> {
        let url = format!(
            "{}{}?{}",
            self.base_url,
            self.path,
            self.query(action, user_id, options)
        );
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await?;
        let value: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) if status != 200 => return Err(ClientError::HttpStatus { status, body }),
            Err(e) => return Err(ClientError::Decode(format!("the answer is not JSON: {e}"))),
        };
        if let Some(error) = value.get("error") {
            return Err(ClientError::Store {
                error: error.as_str().map_or_else(|| error.to_string(), str::to_owned),
                error_long: value
                    .get("error_long")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(value)
    }

    /// `add_payment`: records a payment of `amount` (a decimal string, e.g. `"4.50"`) on the
    /// user's current order. Returns the `ok` message.
    pub async fn add_payment(
        &self,
        user_id: i64,
        amount: &str,
        description: &str,
    ) -> Result<String, ClientError> {
        let v = self
            .call(
                "add_payment",
                Some(user_id),
                &[("amount", amount), ("description", description)],
            )
            .await?;
        ok_message(&v)
    }

    /// `get_cart`: the cart, or the current order with `order_amount_due` and `order_amount_paid`.
    pub async fn get_cart(&self, user_id: i64) -> Result<Value, ClientError> {
        data(self.call("get_cart", Some(user_id), &[]).await?)
    }

    /// `modify_cart` with `cartAction` `add` (with a quantity), `remove` or `empty`.
    pub async fn modify_cart(
        &self,
        user_id: i64,
        cart_action: &str,
        product_id: Option<i64>,
        quantity: Option<i64>,
    ) -> Result<String, ClientError> {
        let product = product_id.map(|p| p.to_string());
        let qty = quantity.map(|q| q.to_string());
        let mut fields = vec![("cartAction", cart_action)];
        if let Some(p) = &product {
            fields.push(("productID", p));
        }
        if let Some(q) = &qty {
            fields.push(("productQty", q));
        }
        ok_message(&self.call("modify_cart", Some(user_id), &fields).await?)
    }

    /// `place_order`: turns the cart into the current order; returns the order id.
    pub async fn place_order(
        &self,
        user_id: i64,
        payment_method: Option<&str>,
    ) -> Result<String, ClientError> {
        let fields: Vec<(&str, &str)> = payment_method.map(|m| ("paymentMethod", m)).into_iter().collect();
        let v = self.call("place_order", Some(user_id), &fields).await?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Decode(format!("place_order answered without an id: {v}")))
    }

    /// `cancel_order`: cancels the user's current order.
    pub async fn cancel_order(&self, user_id: i64) -> Result<String, ClientError> {
        ok_message(&self.call("cancel_order", Some(user_id), &[]).await?)
    }

    /// `list_orders`: the user's orders.
    pub async fn list_orders(&self, user_id: i64) -> Result<Vec<Value>, ClientError> {
        let v = self.call("list_orders", Some(user_id), &[]).await?;
        match v.get("list") {
            Some(Value::Array(list)) => Ok(list.clone()),
            _ => Err(ClientError::Decode(format!(
                "list_orders answered without a list: {v}"
            ))),
        }
    }

    /// `get_credit`: the user's store credit.
    pub async fn get_credit(&self, user_id: i64) -> Result<Value, ClientError> {
        data(self.call("get_credit", Some(user_id), &[]).await?)
    }

    /// `add_subtract_credit` with `creditAction` `add` or `subtract` and a decimal `amount`.
    pub async fn add_subtract_credit(
        &self,
        user_id: i64,
        credit_action: &str,
        amount: &str,
        description: &str,
    ) -> Result<String, ClientError> {
        let fields = [
            ("creditAction", credit_action),
            ("amount", amount),
            ("description", description),
        ];
        ok_message(&self.call("add_subtract_credit", Some(user_id), &fields).await?)
    }

    /// `get_config`: currency, minimum purchase and payment methods.
    pub async fn get_config(&self) -> Result<Value, ClientError> {
        data(self.call("get_config", None, &[]).await?)
    }
}

/// 32 random lower-case hex characters (what WebTV's `md5(mt_rand())` looks like).
pub fn new_salt() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

fn ok_message(v: &Value) -> Result<String, ClientError> {
    v.get("ok")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Decode(format!("expected {{\"ok\": …}}, got {v}")))
}

fn data(v: Value) -> Result<Value, ClientError> {
    match v {
        Value::Object(mut m) if m.contains_key("data") => Ok(m.remove("data").unwrap_or(Value::Null)),
        other => Err(ClientError::Decode(format!(
            "expected {{\"data\": …}}, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_carries_a_signature_over_salt_and_timestamp() {
        let c = StoreClient::new("http://x", "k1", "s3cret");
        let opts = StoreRequestOptions {
            timestamp: Some("1700000000".into()),
            salt: Some("abc".into()),
            signature: None,
        };
        let q = c.query("add_payment", Some(7), &opts);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("go"), "store");
        assert_eq!(get("do"), "add_payment");
        assert_eq!(get("iq"), "7");
        assert_eq!(get("key"), "k1");
        let expected = store_sign(StoreSignatureMode::Hmac, "s3cret", "abc", "1700000000");
        assert_eq!(get("signature"), expected);
        // `+` and `/` and `=` of the base64 survive the query encoding.
        assert!(!q.contains(' '));
        let md5 = c
            .clone()
            .with_mode(StoreSignatureMode::Md5)
            .query("get_cart", Some(7), &opts);
        assert!(md5.contains(&store_sign(
            StoreSignatureMode::Md5,
            "s3cret",
            "abc",
            "1700000000"
        )));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = StoreClient::new("http://x", "k1", "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
