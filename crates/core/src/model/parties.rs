//! The parties as stored: merchant clients (who call the APIs) and wallet users (who pay).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use walletd_protocol::Currency;

/// Whether a party may take part in payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartyStatus {
    Active,
    Frozen,
    Inactive,
}

impl PartyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyStatus::Active => "ACTIVE",
            PartyStatus::Frozen => "FROZEN",
            PartyStatus::Inactive => "INACTIVE",
        }
    }
}

/// Spending limits in one currency, in minor units. `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub per_payment_minor: Option<i64>,
    pub daily_minor: Option<i64>,
}

/// One version of a merchant client's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientKey {
    pub version: u32,
    /// `RSA256` or `ECC224`.
    pub algorithm: String,
    /// The public key as the merchant gave it (PEM or bare base64).
    pub public_key: String,
    pub added_at: DateTime<Utc>,
    pub removed: bool,
}

/// Which wire dialects a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    MiniProgram,
    AlphaPay,
    Store,
}

/// A merchant client: the party behind a `Client-Id` (Mini Program), a `Merchant-Code` (AlphaPay)
/// or a store key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// The v1 `partnerId` this client owns.
    pub partner_id: String,
    /// v2 `appId`s registered to this client; empty means any appId is accepted.
    pub app_ids: Vec<String>,
    pub status: PartyStatus,
    /// Currencies this client may take payments in; empty means every currency.
    pub currencies: Vec<Currency>,
    /// Limits per currency code.
    pub limits: BTreeMap<String, Limits>,
    /// Where notifications go when a payment names no `paymentNotifyUrl`.
    pub default_notify_url: Option<String>,
    /// The only addresses the consent page sends this client's auth codes to (OAuth redirect
    /// URLs, matched on scheme, host, port and path). Empty: codes are shown, never sent.
    #[serde(default)]
    pub redirect_urls: Vec<String>,
    pub keys: Vec<ClientKey>,
    pub created_at: DateTime<Utc>,
}

impl Client {
    /// A new active client with no limits and no keys.
    pub fn new(client_id: &str, name: &str, now: DateTime<Utc>) -> Client {
        Client {
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            partner_id: client_id.to_owned(),
            app_ids: Vec::new(),
            status: PartyStatus::Active,
            currencies: Vec::new(),
            limits: BTreeMap::new(),
            default_notify_url: None,
            redirect_urls: Vec::new(),
            keys: Vec::new(),
            created_at: now,
        }
    }

    /// The key for `version`, or the latest live key when `version` is `None`.
    pub fn key(&self, version: Option<u32>) -> Option<&ClientKey> {
        let live = self.keys.iter().filter(|k| !k.removed);
        match version {
            Some(v) => live.into_iter().find(|k| k.version == v),
            None => live.max_by_key(|k| k.version),
        }
    }

    /// Adds a key as the next version and returns that version.
    pub fn add_key(&mut self, algorithm: &str, public_key: &str, now: DateTime<Utc>) -> u32 {
        let version = self.keys.iter().map(|k| k.version).max().map_or(1, |v| v + 1);
        self.keys.push(ClientKey {
            version,
            algorithm: algorithm.to_owned(),
            public_key: public_key.to_owned(),
            added_at: now,
            removed: false,
        });
        version
    }

    /// True if the client may take payments in `currency`.
    pub fn accepts_currency(&self, currency: Currency) -> bool {
        self.currencies.is_empty() || self.currencies.contains(&currency)
    }

    /// The limits that apply in `currency`.
    pub fn limits_in(&self, currency: Currency) -> Limits {
        self.limits.get(currency.code()).copied().unwrap_or_default()
    }
}

/// A wallet user: the person who pays.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    /// What the user signs in with: a phone number or an e-mail address.
    pub login: String,
    pub display_name: String,
    pub status: PartyStatus,
    /// argon2 PHC string of the user's PIN or password; never logged.
    pub pin_hash: Option<String>,
    pub failed_pin_attempts: u32,
    /// Limits per currency code.
    pub limits: BTreeMap<String, Limits>,
    pub created_at: DateTime<Utc>,
}

/// Debug output never shows the secret or hash a record holds.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("user_id", &self.user_id)
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("status", &self.status)
            .field("failed_pin_attempts", &self.failed_pin_attempts)
            .field("limits", &self.limits)
            .field("created_at", &self.created_at)
            .field("pin_hash", &"<redacted>")
            .finish()
    }
}

impl User {
    /// A new active user with no limits.
    pub fn new(user_id: &str, login: &str, display_name: &str, now: DateTime<Utc>) -> User {
        User {
            user_id: user_id.to_owned(),
            login: login.to_owned(),
            display_name: display_name.to_owned(),
            status: PartyStatus::Active,
            pin_hash: None,
            failed_pin_attempts: 0,
            limits: BTreeMap::new(),
            created_at: now,
        }
    }

    /// The limits that apply in `currency`.
    pub fn limits_in(&self, currency: Currency) -> Limits {
        self.limits.get(currency.code()).copied().unwrap_or_default()
    }
}
