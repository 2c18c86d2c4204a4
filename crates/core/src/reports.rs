//! Operator reports. The settlement report of one UTC day: every posting on a merchant's account
//! that day (payments settled, captures, refunds, cancels returned, payouts), with the business ids,
//! amounts and times, and totals per merchant and currency.
//!
//! The report is read from the ledger itself, in one read transaction: its entries are exactly the
//! posted transfers (single transfers and posts of pending ones) of that day that touch a merchant
//! account, so its totals tie to the ledger's postings of the day to the minor unit. Pending holds
//! and their voids move no posted money and are not settlement. Only that day's transfers are read
//! (through the `transfers_created` index), a page at a time; never all of history.

use crate::error::CoreError;
use crate::model::ledger::{Account, AccountId, AccountKind, Transfer, TransferId, TransferKind};
use crate::storage::Tx;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use walletd_protocol::{Amount, Currency};

/// Transfers read per page while building a report.
const PAGE: u32 = 1_000;

/// What moved money on a merchant's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementKind {
    /// A payment's money reached the merchant (`payment_settle`).
    Payment,
    /// (Part of) an authorization was captured (`auth_capture`).
    Capture,
    /// A refund went back to the payer (`refund`).
    Refund,
    /// A paid payment was cancelled and returned in full (`payment_cancel_return`).
    Cancel,
    /// Money left to the merchant's bank (`payout`).
    Payout,
    /// Any other posting on a merchant account (kept so that the totals still tie).
    Other,
}

impl SettlementKind {
    fn of_code(code: &str) -> SettlementKind {
        match code {
            "payment_settle" => SettlementKind::Payment,
            "auth_capture" => SettlementKind::Capture,
            "refund" => SettlementKind::Refund,
            "payment_cancel_return" => SettlementKind::Cancel,
            "payout" => SettlementKind::Payout,
            _ => SettlementKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SettlementKind::Payment => "payment",
            SettlementKind::Capture => "capture",
            SettlementKind::Refund => "refund",
            SettlementKind::Cancel => "cancel",
            SettlementKind::Payout => "payout",
            SettlementKind::Other => "other",
        }
    }
}

/// One posting on a merchant's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementEntry {
    pub kind: SettlementKind,
    pub client_id: String,
    /// The business record: a payment, capture or refund id; for a payout, the transfer id.
    pub id: String,
    /// The payment it belongs to (payments, captures, refunds, cancels).
    pub payment_id: Option<String>,
    pub transfer_id: TransferId,
    /// The ledger code of the transfer (`payment_settle`, `refund`, …).
    pub code: String,
    pub currency: Currency,
    /// Signed minor units as seen by the merchant: positive when credited, negative when debited.
    pub amount_minor: i64,
    pub settled_at: DateTime<Utc>,
}

/// The day's sums of one merchant in one currency (minor units, all checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementTotal {
    pub client_id: String,
    pub currency: String,
    pub payments_minor: i64,
    pub captures_minor: i64,
    /// Refunds, cancels and payouts are debits: reported as positive sums.
    pub refunds_minor: i64,
    pub cancels_minor: i64,
    pub payouts_minor: i64,
    /// Other postings, signed.
    pub other_minor: i64,
    /// Posted credits and debits of the merchant's account that day: what the ledger says.
    pub credits_minor: i64,
    pub debits_minor: i64,
    /// `credits_minor - debits_minor`: how much the merchant's posted balance moved that day.
    pub net_minor: i64,
    pub entries: u64,
}

/// The settlement report of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementReport {
    pub date: NaiveDate,
    /// The merchant it is restricted to, if any.
    pub client_id: Option<String>,
    /// Ascending by transfer id (the order they were posted).
    pub entries: Vec<SettlementEntry>,
    /// Ascending by merchant, then currency.
    pub totals: Vec<SettlementTotal>,
}

/// Start (inclusive) and end (exclusive) of a UTC day.
pub fn utc_day(date: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), CoreError> {
    let from = date
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| CoreError::Invalid(format!("date {date}")))?
        .and_utc();
    let next = date
        .succ_opt()
        .ok_or_else(|| CoreError::Invalid(format!("date {date} has no next day")))?;
    let to = next
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| CoreError::Invalid(format!("date {next}")))?
        .and_utc();
    Ok((from, to))
}

fn overflow() -> CoreError {
    CoreError::Invariant("a settlement sum overflowed".into())
}

fn add(a: i64, b: i64) -> Result<i64, CoreError> {
    a.checked_add(b).ok_or_else(overflow)
}

/// The settlement report of `date` (UTC), for one merchant or all, read in `tx`
/// (`Wallet::settlement_report` runs it in one read transaction).
pub fn settlement_in(
    tx: &mut dyn Tx,
    date: NaiveDate,
    client_id: Option<&str>,
) -> Result<SettlementReport, CoreError> {
    let (from, to) = utc_day(date)?;
    let mut accounts: HashMap<AccountId, Option<Account>> = HashMap::new();
    let mut entries = Vec::new();
    let mut after: TransferId = 0;
    loop {
        let page = tx.list_transfers_created(from, to, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        read_merchant_accounts(tx, &page, &mut accounts)?;
        let short = page.len() < PAGE as usize;
        for t in page {
            if !matches!(t.kind, TransferKind::Single | TransferKind::PostPending) {
                continue;
            }
            for (account_id, sign) in [(t.credit_account_id, 1i64), (t.debit_account_id, -1i64)] {
                let Some(Some(merchant)) = accounts.get(&account_id) else {
                    continue;
                };
                if client_id.is_some_and(|c| c != merchant.owner_id) {
                    continue;
                }
                entries.push(entry(tx, &t, merchant, sign)?);
            }
        }
        if short {
            break;
        }
    }
    let totals = settlement_totals(&entries)?;
    Ok(SettlementReport {
        date,
        client_id: client_id.map(str::to_owned),
        entries,
        totals,
    })
}

/// Reads the accounts that the page's settled transfers (single and posted) touch and that were
/// not read yet: a merchant's account is kept, any other is remembered as `None` (not a merchant).
fn read_merchant_accounts(
    tx: &mut dyn Tx,
    page: &[Transfer],
    accounts: &mut HashMap<AccountId, Option<Account>>,
) -> Result<(), CoreError> {
    let mut unknown: Vec<AccountId> = page
        .iter()
        .filter(|t| matches!(t.kind, TransferKind::Single | TransferKind::PostPending))
        .flat_map(|t| [t.debit_account_id, t.credit_account_id])
        .filter(|id| !accounts.contains_key(id))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        let found = tx.lock_accounts(&unknown)?;
        for id in &unknown {
            accounts.insert(*id, None);
        }
        for a in found {
            if a.kind == AccountKind::Merchant {
                accounts.insert(a.id, Some(a));
            }
        }
    }
    Ok(())
}

/// The report's totals per merchant and currency, in that order: each line added to its kind's
/// sum (refunds, cancels and payouts as magnitudes), to credits or debits, and to the net.
fn settlement_totals(entries: &[SettlementEntry]) -> Result<Vec<SettlementTotal>, CoreError> {
    let mut totals: BTreeMap<(String, String), SettlementTotal> = BTreeMap::new();
    for e in entries {
        let key = (e.client_id.clone(), e.currency.code().to_owned());
        let total = totals.entry(key).or_insert_with(|| SettlementTotal {
            client_id: e.client_id.clone(),
            currency: e.currency.code().to_owned(),
            ..SettlementTotal::default()
        });
        let magnitude = e.amount_minor.checked_abs().ok_or_else(overflow)?;
        match e.kind {
            SettlementKind::Payment => total.payments_minor = add(total.payments_minor, e.amount_minor)?,
            SettlementKind::Capture => total.captures_minor = add(total.captures_minor, e.amount_minor)?,
            SettlementKind::Refund => total.refunds_minor = add(total.refunds_minor, magnitude)?,
            SettlementKind::Cancel => total.cancels_minor = add(total.cancels_minor, magnitude)?,
            SettlementKind::Payout => total.payouts_minor = add(total.payouts_minor, magnitude)?,
            SettlementKind::Other => total.other_minor = add(total.other_minor, e.amount_minor)?,
        }
        if e.amount_minor >= 0 {
            total.credits_minor = add(total.credits_minor, e.amount_minor)?;
        } else {
            total.debits_minor = add(total.debits_minor, magnitude)?;
        }
        total.net_minor = add(total.net_minor, e.amount_minor)?;
        total.entries += 1;
    }
    Ok(totals.into_values().collect())
}

/// One report line for `t` as seen from `merchant` (`sign` +1: credited, -1: debited).
fn entry(tx: &mut dyn Tx, t: &Transfer, merchant: &Account, sign: i64) -> Result<SettlementEntry, CoreError> {
    let kind = SettlementKind::of_code(&t.code);
    let (id, payment_id) = match kind {
        SettlementKind::Payment | SettlementKind::Cancel => (t.reference.clone(), Some(t.reference.clone())),
        SettlementKind::Capture => {
            let payment = tx.get_capture(&t.reference)?.map(|c| c.payment_id);
            (t.reference.clone(), payment)
        }
        SettlementKind::Refund => {
            let payment = tx.get_refund(&t.reference)?.map(|r| r.payment_id);
            (t.reference.clone(), payment)
        }
        SettlementKind::Payout | SettlementKind::Other => (t.id.to_string(), None),
    };
    Ok(SettlementEntry {
        kind,
        client_id: merchant.owner_id.clone(),
        id,
        payment_id,
        transfer_id: t.id,
        code: t.code.clone(),
        currency: t.currency,
        amount_minor: t.amount_minor.checked_mul(sign).ok_or_else(overflow)?,
        settled_at: t.created_at,
    })
}

/// Figures of the moment for the operators' metrics, read in one read transaction with index
/// range counts capped at `cap` rows each (a count at the cap means "at least `cap`").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveFigures {
    /// Payments per status (`PROCESSING`, `SUCCESS`, `FAIL`, `CANCELLED`).
    pub payments: Vec<(&'static str, u64)>,
    /// Outbox entries per status (`PENDING`, `DELIVERED`, `FAILED`) with the earliest due time.
    pub outbox: Vec<(&'static str, u64, Option<DateTime<Utc>>)>,
}

/// Reads [`LiveFigures`] in `tx` (`Wallet::live_figures` runs it in one read transaction).
pub fn live_figures_in(tx: &mut dyn Tx, cap: u32) -> Result<LiveFigures, CoreError> {
    use crate::model::outbox::OutboxStatus;
    use crate::model::payments::PaymentStatus;
    let mut figures = LiveFigures::default();
    for status in [
        PaymentStatus::Processing,
        PaymentStatus::Success,
        PaymentStatus::Fail,
        PaymentStatus::Cancelled,
    ] {
        let s = status.as_str();
        figures.payments.push((s, tx.count_payments_with_status(s, cap)?));
    }
    for status in [
        OutboxStatus::Pending,
        OutboxStatus::Delivered,
        OutboxStatus::Failed,
    ] {
        let s = status.as_str();
        let (n, earliest) = tx.outbox_status_summary(s, cap)?;
        figures.outbox.push((s, n, earliest));
    }
    Ok(figures)
}

impl SettlementReport {
    /// The report as CSV: the entries, a blank line, then the totals, each block with its header
    /// row. Amounts in minor units, and the formatted amount beside them.
    pub fn to_csv(&self) -> String {
        let r = self;
        let mut out = String::new();
        out.push_str(
            "kind,client_id,id,payment_id,transfer_id,code,currency,amount_minor,amount,settled_at\n",
        );
        for e in &r.entries {
            out.push_str(&csv_line(&[
                e.kind.as_str().to_owned(),
                e.client_id.clone(),
                e.id.clone(),
                e.payment_id.clone().unwrap_or_default(),
                e.transfer_id.to_string(),
                e.code.clone(),
                e.currency.code().to_owned(),
                e.amount_minor.to_string(),
                money_text(e.currency, e.amount_minor),
                e.settled_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ]));
            out.push('\n');
        }
        out.push('\n');
        out.push_str("client_id,currency,entries,payments_minor,captures_minor,refunds_minor,cancels_minor,payouts_minor,other_minor,credits_minor,debits_minor,net_minor,net\n");
        for t in &r.totals {
            let net = match Currency::from_code(&t.currency) {
                Some(c) => money_text(c, t.net_minor),
                None => format!("{} minor units {}", t.net_minor, t.currency),
            };
            out.push_str(&csv_line(&[
                t.client_id.clone(),
                t.currency.clone(),
                t.entries.to_string(),
                t.payments_minor.to_string(),
                t.captures_minor.to_string(),
                t.refunds_minor.to_string(),
                t.cancels_minor.to_string(),
                t.payouts_minor.to_string(),
                t.other_minor.to_string(),
                t.credits_minor.to_string(),
                t.debits_minor.to_string(),
                t.net_minor.to_string(),
                net,
            ]));
            out.push('\n');
        }
        out
    }
}

/// An amount as text, `12.50 USD`, with a minus sign for a debit.
fn money_text(currency: Currency, minor: i64) -> String {
    match Amount::from_minor(currency, minor.unsigned_abs().min(i64::MAX as u64) as i64) {
        Ok(a) if minor < 0 => format!("-{a}"),
        Ok(a) => a.to_string(),
        Err(_) => format!("{minor} minor units {currency}"),
    }
}

/// One CSV line: a field is quoted when it holds a comma, a quote or a line break.
fn csv_line(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
