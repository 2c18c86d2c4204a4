//! OAuth records: scopes, grants, auth codes, token pairs and payment codes, stored by hash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use walletd_protocol::Currency;

/// A permission a user grants a mini program at `my.getAuthCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// The user's id only (silent in real wallets; implied by every grant).
    #[serde(rename = "auth_base")]
    AuthBase,
    /// The basic profile: id, status, nickname and avatar.
    #[serde(rename = "auth_user")]
    AuthUser,
    #[serde(rename = "USER_ID")]
    UserId,
    #[serde(rename = "USER_NICKNAME")]
    UserNickname,
    #[serde(rename = "USER_NAME")]
    UserName,
    #[serde(rename = "USER_AVATAR")]
    UserAvatar,
    /// The login (phone or e-mail), masked and hashed.
    #[serde(rename = "USER_LOGIN_ID")]
    UserLoginId,
    /// The login as a contact, in clear.
    #[serde(rename = "USER_CONTACTINFO")]
    UserContactInfo,
    /// Payments without the cashier, within a per-payment limit.
    #[serde(rename = "AGREEMENT_PAY")]
    AgreementPay,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::AuthBase,
        Scope::AuthUser,
        Scope::UserId,
        Scope::UserNickname,
        Scope::UserName,
        Scope::UserAvatar,
        Scope::UserLoginId,
        Scope::UserContactInfo,
        Scope::AgreementPay,
    ];

    /// The name `my.getAuthCode` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AuthBase => "auth_base",
            Scope::AuthUser => "auth_user",
            Scope::UserId => "USER_ID",
            Scope::UserNickname => "USER_NICKNAME",
            Scope::UserName => "USER_NAME",
            Scope::UserAvatar => "USER_AVATAR",
            Scope::UserLoginId => "USER_LOGIN_ID",
            Scope::UserContactInfo => "USER_CONTACTINFO",
            Scope::AgreementPay => "AGREEMENT_PAY",
        }
    }

    /// Parses a scope name (exact spelling).
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// What the user is asked to allow, in words for the consent page.
    pub fn description(self) -> &'static str {
        match self {
            Scope::AuthBase | Scope::UserId => "Know your wallet user id",
            Scope::AuthUser => "See your basic profile (name shown in the wallet, avatar, account status)",
            Scope::UserNickname => "See the name shown in your wallet",
            Scope::UserName => "See your full name",
            Scope::UserAvatar => "See your avatar",
            Scope::UserLoginId => "See your login, masked",
            Scope::UserContactInfo => "See your phone number or e-mail address",
            Scope::AgreementPay => {
                "Take payments from your wallet without asking each time, up to a limit per payment"
            }
        }
    }
}

/// What a user granted a mini program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The merchant client whose server exchanges the code.
    pub client_id: String,
    /// The mini program (v2 `appId`), if the consent named one.
    pub app_id: Option<String>,
    pub user_id: String,
    pub scopes: Vec<Scope>,
    /// With [`Scope::AgreementPay`]: the largest single payment, per currency code, in minor units.
    #[serde(default)]
    pub agreement_limits: BTreeMap<String, i64>,
}

impl Grant {
    /// The id the mini program is known by: its appId, or the client id when none was named. v1
    /// `referenceClientId` and v2 `appId` must name it.
    pub fn mini_program(&self) -> &str {
        self.app_id.as_deref().unwrap_or(&self.client_id)
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Checks the grant's shape: scopes present, agreement limits positive and only with
    /// `AGREEMENT_PAY`, which needs at least one.
    pub fn check(&self) -> Result<(), String> {
        if self.scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        let agreement = self.allows(Scope::AgreementPay);
        if agreement && self.agreement_limits.is_empty() {
            return Err("AGREEMENT_PAY needs a per-payment limit (e.g. USD:5000)".into());
        }
        if !agreement && !self.agreement_limits.is_empty() {
            return Err("an agreement limit needs the AGREEMENT_PAY scope".into());
        }
        for (currency, limit) in &self.agreement_limits {
            if Currency::from_code(currency).is_none() {
                return Err(format!("unknown currency {currency}"));
            }
            if *limit <= 0 {
                return Err(format!(
                    "the agreement limit in {currency} must be greater than zero"
                ));
            }
        }
        Ok(())
    }
}

/// A single-use auth code as stored (by hash).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCode {
    pub code_hash: String,
    pub grant: Grant,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The token pair the code was exchanged for.
    pub token_id: Option<String>,
}

/// Debug output never shows the secret or hash a record holds.
impl std::fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCode")
            .field("grant", &self.grant)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("token_id", &self.token_id)
            .field("code_hash", &"<redacted>")
            .finish()
    }
}

/// An access token and its refresh token, as stored (by hashes).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_id: String,
    pub access_hash: String,
    pub refresh_hash: String,
    pub grant: Grant,
    pub created_at: DateTime<Utc>,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
    /// When the refresh token was exchanged; from then on both tokens of this pair are dead.
    pub rotated_at: Option<DateTime<Utc>>,
    /// The pair that replaced this one.
    pub rotated_to: Option<String>,
    /// When the pair was revoked (cancelToken, an operator).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Debug output never shows the secret or hash a record holds.
impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("token_id", &self.token_id)
            .field("grant", &self.grant)
            .field("created_at", &self.created_at)
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("rotated_at", &self.rotated_at)
            .field("rotated_to", &self.rotated_to)
            .field("revoked_at", &self.revoked_at)
            .field("access_hash", &"<redacted>")
            .field("refresh_hash", &"<redacted>")
            .finish()
    }
}

impl TokenRecord {
    /// True while the pair is neither revoked nor rotated.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none() && self.rotated_at.is_none()
    }
}

/// A single-use payment code a user shows at a till (in-store payment, "B scans C").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCode {
    pub code_hash: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// The payment that used it.
    pub payment_id: Option<String>,
}

/// Debug output never shows the secret or hash a record holds.
impl std::fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentCode")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("payment_id", &self.payment_id)
            .field("code_hash", &"<redacted>")
            .finish()
    }
}
