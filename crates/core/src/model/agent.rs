//! Agent grants as stored: an ISV client acting for a merchant client.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An API an agent grant may cover, named as the API path ends (`/v1/payments/pay` → `pay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AgentApi {
    #[serde(rename = "pay")]
    Pay,
    #[serde(rename = "inquiryPayment")]
    InquiryPayment,
    #[serde(rename = "cancel")]
    Cancel,
    #[serde(rename = "refund")]
    Refund,
    #[serde(rename = "inquiryRefund")]
    InquiryRefund,
    #[serde(rename = "capture")]
    Capture,
    #[serde(rename = "applyToken")]
    ApplyToken,
    #[serde(rename = "cancelToken")]
    CancelToken,
    #[serde(rename = "inquiryUserInfo")]
    InquiryUserInfo,
}

impl AgentApi {
    pub const ALL: [AgentApi; 9] = [
        AgentApi::Pay,
        AgentApi::InquiryPayment,
        AgentApi::Cancel,
        AgentApi::Refund,
        AgentApi::InquiryRefund,
        AgentApi::Capture,
        AgentApi::ApplyToken,
        AgentApi::CancelToken,
        AgentApi::InquiryUserInfo,
    ];

    /// The default scope: the payment APIs. The OAuth APIs (which act on users' authorisations of
    /// the merchant) must be named explicitly.
    pub const PAYMENT_APIS: [AgentApi; 6] = [
        AgentApi::Pay,
        AgentApi::InquiryPayment,
        AgentApi::Cancel,
        AgentApi::Refund,
        AgentApi::InquiryRefund,
        AgentApi::Capture,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentApi::Pay => "pay",
            AgentApi::InquiryPayment => "inquiryPayment",
            AgentApi::Cancel => "cancel",
            AgentApi::Refund => "refund",
            AgentApi::InquiryRefund => "inquiryRefund",
            AgentApi::Capture => "capture",
            AgentApi::ApplyToken => "applyToken",
            AgentApi::CancelToken => "cancelToken",
            AgentApi::InquiryUserInfo => "inquiryUserInfo",
        }
    }

    pub fn parse(s: &str) -> Option<AgentApi> {
        AgentApi::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One agent grant as stored (the token only by its hash).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentGrant {
    pub grant_id: String,
    pub token_hash: String,
    /// The client that signs the requests.
    pub isv_client_id: String,
    /// The client the requests act for.
    pub merchant_client_id: String,
    pub scope: Vec<AgentApi>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Debug output never shows the token's hash.
impl std::fmt::Debug for AgentGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentGrant")
            .field("grant_id", &self.grant_id)
            .field("isv_client_id", &self.isv_client_id)
            .field("merchant_client_id", &self.merchant_client_id)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("token_hash", &"<redacted>")
            .finish()
    }
}

impl AgentGrant {
    /// `ACTIVE`, `EXPIRED` or `REVOKED` at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "REVOKED"
        } else if now >= self.expires_at {
            "EXPIRED"
        } else {
            "ACTIVE"
        }
    }

    pub fn allows(&self, api: AgentApi) -> bool {
        self.scope.contains(&api)
    }
}
