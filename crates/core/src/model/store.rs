//! Store API records: store settings, keys, products, store users with their carts, and orders.

use crate::model::ledger::TransferId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use walletd_protocol::Currency;

/// How a key's requests are signed (docs/store-api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKeyMode {
    /// `base64(HMAC-SHA256(secret, salt . timestamp))`, the default.
    Hmac,
    /// `md5(salt "-" timestamp "-" secret)`, WebTV's simplified mode.
    Md5,
}

impl StoreKeyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKeyMode::Hmac => "hmac",
            StoreKeyMode::Md5 => "md5",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hmac" => Some(StoreKeyMode::Hmac),
            "md5" => Some(StoreKeyMode::Md5),
            _ => None,
        }
    }
}

/// A store API credential. HMAC needs the secret itself, so it cannot be hashed; at rest it is
/// sealed with an AEAD ([`StoreSecretSealer`]) under a key kept outside the database, so a copy of
/// the database alone reveals none. In memory (after [`Wallet::store_key`]) it is in clear.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreKey {
    /// The public "Key ID": 32 lower-case hex digits.
    pub key_id: String,
    pub client_id: String,
    /// The shared secret; shown once when the key is made.
    pub secret: String,
    pub mode: StoreKeyMode,
    /// How old (or how far ahead) a request's timestamp may be, in seconds.
    pub expiration_secs: i64,
    /// API sections this key may call, e.g. `store`.
    pub sections: Vec<String>,
    pub revoked: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreKey")
            .field("key_id", &self.key_id)
            .field("client_id", &self.client_id)
            .field("secret", &"<redacted>")
            .field("mode", &self.mode)
            .field("expiration_secs", &self.expiration_secs)
            .field("sections", &self.sections)
            .field("revoked", &self.revoked)
            .finish()
    }
}

impl StoreKey {
    /// True if the key may call `section`.
    pub fn allows(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s == section)
    }
}

/// A store's settings (what `get_config` reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfig {
    pub client_id: String,
    /// Every amount of this store is in this currency.
    pub currency: Currency,
    /// An order below this total cannot be placed; 0 means no minimum.
    pub min_purchase_minor: i64,
    /// Where the store's own payment gateway lives (reported as EXTERNAL_GATEWAY), if anywhere.
    pub gateway_url: Option<String>,
    pub support_email: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A product the store sells at a fixed price in the store currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreProduct {
    /// Assigned by the database when the product is added.
    pub product_id: i64,
    pub client_id: String,
    pub name: String,
    pub price_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// One product in a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: i64,
    pub quantity: i64,
}

/// A store user: the store's number for a person, the wallet user behind it, and their cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreUser {
    pub client_id: String,
    pub iq: i64,
    pub user_id: String,
    pub cart: Vec<CartLine>,
    pub created_at: DateTime<Utc>,
}

/// `status` of an order on the wire: 0 current, 1 processed, 2 cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Current,
    Processed,
    Cancelled,
}

impl OrderStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Current => "current",
            OrderStatus::Processed => "processed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn code(self) -> i64 {
        match self {
            OrderStatus::Current => 0,
            OrderStatus::Processed => 1,
            OrderStatus::Cancelled => 2,
        }
    }
}

/// `status_payment` of an order on the wire: 0 unpaid, 1 paid, 2 cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderPaymentStatus {
    Unpaid,
    Paid,
    Cancelled,
}

impl OrderPaymentStatus {
    pub fn code(self) -> i64 {
        match self {
            OrderPaymentStatus::Unpaid => 0,
            OrderPaymentStatus::Paid => 1,
            OrderPaymentStatus::Cancelled => 2,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            OrderPaymentStatus::Unpaid => "Unpaid",
            OrderPaymentStatus::Paid => "Paid",
            OrderPaymentStatus::Cancelled => "Cancelled",
        }
    }
}

/// A product as it was when the order was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: i64,
    pub name: String,
    pub unit_price_minor: i64,
    pub quantity: i64,
    pub total_minor: i64,
}

/// Where a payment on an order came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum OrderPaymentSource {
    /// The store's own gateway reported it (`add_payment`).
    Gateway,
    /// A wallet payment (cashier) settled it.
    Wallet { payment_id: String },
}

/// One payment that went towards an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPayment {
    #[serde(flatten)]
    pub source: OrderPaymentSource,
    pub amount_minor: i64,
    pub description: String,
    /// The ledger transfer that moved the money.
    pub transfer_id: Option<TransferId>,
    pub created_at: DateTime<Utc>,
}

/// A store order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreOrder {
    /// Assigned by the database when the order is placed.
    pub order_id: i64,
    pub client_id: String,
    pub iq: i64,
    /// The wallet user behind `iq`.
    pub user_id: String,
    pub currency: Currency,
    pub lines: Vec<OrderLine>,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub status: OrderStatus,
    pub payment_status: OrderPaymentStatus,
    /// The payment method named when the order was placed, e.g. `EXTERNAL_GATEWAY`.
    pub payment_method: String,
    pub payments: Vec<OrderPayment>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl StoreOrder {
    /// What is still to pay (never negative).
    pub fn amount_due_minor(&self) -> i64 {
        self.total_minor.saturating_sub(self.paid_minor).max(0)
    }

    /// The order number stores print, e.g. `ORD00017`.
    pub fn order_number(&self) -> String {
        format!("ORD{:05}", self.order_id)
    }

    /// The ledger reference of this order's money movements.
    pub fn reference(&self) -> String {
        format!("store-order:{}:{}", self.client_id, self.order_id)
    }
}
