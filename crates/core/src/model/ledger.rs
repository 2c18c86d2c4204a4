//! Ledger records: accounts with their running sums and immutable transfers (TigerBeetle's model).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use walletd_protocol::Currency;

/// Database id of an account.
pub type AccountId = i64;

/// Database id of a transfer.
pub type TransferId = i64;

/// Account flags (a bit set, as TigerBeetle's).
pub mod flags {
    /// Debits (pending and posted) may never exceed posted credits: a user's wallet, a merchant's
    /// settlement account.
    pub const DEBITS_MUST_NOT_EXCEED_CREDITS: u32 = 1;
    /// Credits may never exceed posted debits.
    pub const CREDITS_MUST_NOT_EXCEED_DEBITS: u32 = 2;
}

/// What an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A wallet user's balance in one currency.
    UserWallet,
    /// A merchant client's settlement balance in one currency.
    Merchant,
    /// Where top-ups come from: the outside world. It runs "negative" (debits exceed credits).
    Funding,
    /// Store side: what a store's own gateway says it collected on store orders (`add_payment`),
    /// per store client. A record of the store's word, never wallet money.
    StoreReceipts,
    /// Store side: the contra account of [`AccountKind::StoreReceipts`] (the store's outside
    /// world), per store client. It runs "negative".
    StoreExternal,
    /// Store side: the credit a store gave one of its users out of its store receipts, per store
    /// user (`client:iq`). The store's promise to that user, never wallet money.
    StoreCredit,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::UserWallet => "user_wallet",
            AccountKind::Merchant => "merchant",
            AccountKind::Funding => "funding",
            AccountKind::StoreReceipts => "store_receipts",
            AccountKind::StoreExternal => "store_external",
            AccountKind::StoreCredit => "store_credit",
        }
    }

    /// Every kind, wallet side first.
    pub const ALL: &'static [AccountKind] = &[
        AccountKind::UserWallet,
        AccountKind::Merchant,
        AccountKind::Funding,
        AccountKind::StoreReceipts,
        AccountKind::StoreExternal,
        AccountKind::StoreCredit,
    ];

    /// True for the store side's books (store receipts, their contra, store credit): money
    /// a store API key can move, which must never reach a wallet user's spendable balance or a
    /// merchant's payable balance.
    pub fn is_store_side(self) -> bool {
        matches!(
            self,
            AccountKind::StoreReceipts | AccountKind::StoreExternal | AccountKind::StoreCredit
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user_wallet" => Some(AccountKind::UserWallet),
            "merchant" => Some(AccountKind::Merchant),
            _ => AccountKind::ALL.iter().copied().find(|k| k.as_str() == s),
        }
    }

    /// The flags accounts of this kind are created with.
    pub fn default_flags(self) -> u32 {
        match self {
            AccountKind::UserWallet
            | AccountKind::Merchant
            | AccountKind::StoreReceipts
            | AccountKind::StoreCredit => flags::DEBITS_MUST_NOT_EXCEED_CREDITS,
            AccountKind::Funding | AccountKind::StoreExternal => 0,
        }
    }
}

/// An account and its running sums, all in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub kind: AccountKind,
    pub owner_id: String,
    pub currency: Currency,
    pub flags: u32,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// Posted credits minus posted debits (what the owner has, holds not subtracted).
    pub fn posted_balance(&self) -> i64 {
        self.credits_posted.saturating_sub(self.debits_posted)
    }

    /// What can still be spent: posted credits minus posted and pending debits.
    pub fn available_balance(&self) -> i64 {
        self.credits_posted
            .saturating_sub(self.debits_posted)
            .saturating_sub(self.debits_pending)
    }
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub kind: AccountKind,
    pub owner_id: String,
    pub currency: Currency,
    pub flags: u32,
    pub created_at: DateTime<Utc>,
}

/// What a transfer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Moves posted funds at once.
    Single,
    /// Reserves funds until posted, voided or timed out.
    Pending,
    /// Posts (part of) a pending transfer; the rest is released.
    PostPending,
    /// Releases a pending transfer.
    VoidPending,
}

impl TransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Single => "single",
            TransferKind::Pending => "pending",
            TransferKind::PostPending => "post_pending",
            TransferKind::VoidPending => "void_pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "single" => Some(TransferKind::Single),
            "pending" => Some(TransferKind::Pending),
            "post_pending" => Some(TransferKind::PostPending),
            "void_pending" => Some(TransferKind::VoidPending),
            _ => None,
        }
    }
}

/// An immutable transfer as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    pub kind: TransferKind,
    pub debit_account_id: AccountId,
    pub credit_account_id: AccountId,
    pub amount_minor: i64,
    pub currency: Currency,
    /// For post and void: the pending transfer they resolve.
    pub pending_id: Option<TransferId>,
    /// For pending transfers: when they stop being postable.
    pub timeout_at: Option<DateTime<Utc>>,
    /// Why the money moved, e.g. `top_up`, `payment_hold`, `refund`.
    pub code: String,
    /// The business record it belongs to (a payment id, a refund id, …).
    pub reference: String,
    pub created_at: DateTime<Utc>,
}
