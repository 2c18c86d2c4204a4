//! A double-entry ledger on TigerBeetle's model.
//!
//! Accounts keep four running sums (pending and posted debits and credits); transfers are
//! immutable; a two-phase transfer is first *pending* (it reserves funds and has a timeout) and is
//! later *posted* (in full or in part) or *voided*, each by a transfer of its own. A batch of legs
//! given to [`apply`] is linked: all legs happen or none does.
//!
//! Architecture invariant: per currency, the sum of all debits equals the sum of all credits, and
//! no account with [`flags::DEBITS_MUST_NOT_EXCEED_CREDITS`] is ever overdrawn. [`verify`] checks
//! both, and recomputes every balance from the transfers.

use crate::error::{CoreError, StorageError};
pub use crate::model::ledger::{
    flags, Account, AccountId, AccountKind, NewAccount, Transfer, TransferId, TransferKind,
};
use crate::storage::Tx;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use walletd_protocol::Currency;

/// One leg of a linked batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leg {
    Single {
        debit: AccountId,
        credit: AccountId,
        amount_minor: i64,
        code: String,
        reference: String,
    },
    Pending {
        debit: AccountId,
        credit: AccountId,
        amount_minor: i64,
        timeout_at: DateTime<Utc>,
        code: String,
        reference: String,
    },
    /// Posts `amount_minor` (or everything when `None`) of a pending transfer.
    Post {
        pending_id: TransferId,
        amount_minor: Option<i64>,
        code: String,
        reference: String,
    },
    Void {
        pending_id: TransferId,
        code: String,
        reference: String,
    },
}

/// Why the ledger refused a batch. Nothing of the batch was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("accounts {0} and {1} are in different currencies")]
    CurrencyMismatch(AccountId, AccountId),
    #[error("a transfer must move a positive amount")]
    AmountNotPositive,
    #[error("debit and credit account are the same")]
    SameAccount,
    #[error("account {0} would be overdrawn")]
    ExceedsCredits(AccountId),
    #[error("account {0} would exceed its debits")]
    ExceedsDebits(AccountId),
    #[error("pending transfer {0} does not exist")]
    PendingNotFound(TransferId),
    #[error("transfer {0} is not pending")]
    NotPending(TransferId),
    #[error("pending transfer {0} was already posted or voided")]
    PendingAlreadyResolved(TransferId),
    #[error("pending transfer {0} has timed out")]
    PendingExpired(TransferId),
    #[error("cannot post more than pending transfer {0} holds")]
    ExceedsPendingAmount(TransferId),
    #[error("balance arithmetic overflowed")]
    Overflow,
}

/// Finds the account of `owner_id` in `currency`, creating it (with the kind's default flags) if
/// it does not exist.
pub fn ensure_account(
    tx: &mut dyn Tx,
    kind: AccountKind,
    owner_id: &str,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<Account, StorageError> {
    if let Some(a) = tx.find_account(kind, owner_id, currency)? {
        return Ok(a);
    }
    tx.insert_account(&NewAccount {
        kind,
        owner_id: owner_id.to_owned(),
        currency,
        flags: kind.default_flags(),
        created_at: now,
    })
}

/// The funding account of `currency` (the single system account money enters from).
pub fn funding_account(
    tx: &mut dyn Tx,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<Account, StorageError> {
    ensure_account(tx, AccountKind::Funding, "system", currency, now)
}

fn add(a: i64, b: i64) -> Result<i64, LedgerError> {
    a.checked_add(b).ok_or(LedgerError::Overflow)
}

fn sub(a: i64, b: i64) -> Result<i64, LedgerError> {
    let r = a.checked_sub(b).ok_or(LedgerError::Overflow)?;
    if r < 0 {
        return Err(LedgerError::Overflow);
    }
    Ok(r)
}

/// Applies a linked batch: every leg or none. Accounts are locked in ascending id order (the
/// fixed order that keeps concurrent batches on PostgreSQL free of deadlocks), the batch is played
/// on in-memory copies, and only a fully valid batch is written.
///
/// Returns `Ok(Err(..))` when the ledger refuses the batch (a business outcome, e.g. not enough
/// balance) and `Err` only when storage fails.
pub fn apply(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    legs: &[Leg],
) -> Result<Result<Vec<TransferId>, LedgerError>, StorageError> {
    // Pending transfers referenced by post/void legs.
    let mut pendings: HashMap<TransferId, Transfer> = HashMap::new();
    for leg in legs {
        if let Leg::Post { pending_id, .. } | Leg::Void { pending_id, .. } = leg {
            match tx.get_transfer(*pending_id)? {
                Some(t) => {
                    pendings.insert(*pending_id, t);
                }
                None => return Ok(Err(LedgerError::PendingNotFound(*pending_id))),
            }
        }
    }
    let mut ids: Vec<AccountId> = Vec::new();
    for leg in legs {
        match leg {
            Leg::Single { debit, credit, .. } | Leg::Pending { debit, credit, .. } => {
                ids.push(*debit);
                ids.push(*credit);
            }
            Leg::Post { pending_id, .. } | Leg::Void { pending_id, .. } => {
                let p = &pendings[pending_id];
                ids.push(p.debit_account_id);
                ids.push(p.credit_account_id);
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let locked = tx.lock_accounts(&ids)?;
    let mut accounts: BTreeMap<AccountId, Account> = locked.into_iter().map(|a| (a.id, a)).collect();
    if let Some(missing) = ids.iter().find(|id| !accounts.contains_key(id)) {
        return Ok(Err(LedgerError::AccountNotFound(*missing)));
    }

    let mut resolved_in_batch: Vec<TransferId> = Vec::new();
    let mut planned: Vec<Transfer> = Vec::with_capacity(legs.len());
    for leg in legs {
        let step = plan_leg(tx, now, leg, &pendings, &mut accounts, &mut resolved_in_batch)?;
        match step {
            Ok(t) => planned.push(t),
            Err(e) => return Ok(Err(e)),
        }
    }
    for account in accounts.values() {
        tx.update_account_balances(account)?;
    }
    let mut out = Vec::with_capacity(planned.len());
    for t in &planned {
        out.push(tx.insert_transfer(t)?);
    }
    Ok(Ok(out))
}

/// Plans one leg of a batch: checks it against the in-memory accounts, books its sums on them and
/// returns the transfer to write.
fn plan_leg(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    leg: &Leg,
    pendings: &HashMap<TransferId, Transfer>,
    accounts: &mut BTreeMap<AccountId, Account>,
    resolved_in_batch: &mut Vec<TransferId>,
) -> Result<Result<Transfer, LedgerError>, StorageError> {
    let booked = match leg {
        Leg::Single {
            debit,
            credit,
            amount_minor,
            ..
        }
        | Leg::Pending {
            debit,
            credit,
            amount_minor,
            ..
        } => book_new(leg, *debit, *credit, *amount_minor, accounts),
        Leg::Post { pending_id, .. } | Leg::Void { pending_id, .. } => {
            let p = &pendings[pending_id];
            book_resolution(tx, now, leg, *pending_id, p, accounts, resolved_in_batch)?
        }
    };
    let (code, reference) = match leg {
        Leg::Single { code, reference, .. }
        | Leg::Pending { code, reference, .. }
        | Leg::Post { code, reference, .. }
        | Leg::Void { code, reference, .. } => (code, reference),
    };
    Ok(booked.map(|b| Transfer {
        id: 0,
        kind: b.kind,
        debit_account_id: b.debit,
        credit_account_id: b.credit,
        amount_minor: b.amount_minor,
        currency: accounts[&b.debit].currency,
        pending_id: b.pending_id,
        timeout_at: b.timeout_at,
        code: code.to_owned(),
        reference: reference.to_owned(),
        created_at: now,
    }))
}

/// What a leg moves once booked on the accounts: the transfer it becomes, but for its code and
/// reference.
struct Booked {
    kind: TransferKind,
    debit: AccountId,
    credit: AccountId,
    amount_minor: i64,
    /// For a post or void: the pending transfer it resolves.
    pending_id: Option<TransferId>,
    /// For a pending transfer: when it stops being postable.
    timeout_at: Option<DateTime<Utc>>,
}

/// Books a single or pending transfer on the in-memory accounts. The checks a new transfer must
/// pass: a positive amount, two different accounts of one currency, and neither account breaking
/// its flags once the amount is added to its posted (single) or pending sums.
fn book_new(
    leg: &Leg,
    debit: AccountId,
    credit: AccountId,
    amount_minor: i64,
    accounts: &mut BTreeMap<AccountId, Account>,
) -> Result<Booked, LedgerError> {
    let pending = matches!(leg, Leg::Pending { .. });
    if amount_minor <= 0 {
        return Err(LedgerError::AmountNotPositive);
    }
    if debit == credit {
        return Err(LedgerError::SameAccount);
    }
    if accounts[&debit].currency != accounts[&credit].currency {
        return Err(LedgerError::CurrencyMismatch(debit, credit));
    }
    let mut d = accounts[&debit].clone();
    let mut c = accounts[&credit].clone();
    if pending {
        d.debits_pending = add(d.debits_pending, amount_minor)?;
        c.credits_pending = add(c.credits_pending, amount_minor)?;
    } else {
        d.debits_posted = add(d.debits_posted, amount_minor)?;
        c.credits_posted = add(c.credits_posted, amount_minor)?;
    }
    if d.breaks_flags() {
        return Err(LedgerError::ExceedsCredits(d.id));
    }
    if c.breaks_flags() {
        return Err(LedgerError::ExceedsDebits(c.id));
    }
    accounts.insert(d.id, d);
    accounts.insert(c.id, c);
    let (kind, timeout_at) = match leg {
        Leg::Pending { timeout_at, .. } => (TransferKind::Pending, Some(*timeout_at)),
        _ => (TransferKind::Single, None),
    };
    Ok(Booked {
        kind,
        debit,
        credit,
        amount_minor,
        pending_id: None,
        timeout_at,
    })
}

/// Books the post or void of pending transfer `p` on the in-memory accounts. The checks it must
/// pass: `p` is a pending transfer that nothing resolved yet (stored or earlier in this batch),
/// and a post comes before its timeout and takes more than zero and at most what `p` holds. The
/// whole hold leaves the pending sums; a post adds what it takes (everything unless it names an
/// amount) to the posted sums.
fn book_resolution(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    leg: &Leg,
    pending_id: TransferId,
    p: &Transfer,
    accounts: &mut BTreeMap<AccountId, Account>,
    resolved_in_batch: &mut Vec<TransferId>,
) -> Result<Result<Booked, LedgerError>, StorageError> {
    let asked = match leg {
        Leg::Post { amount_minor, .. } => *amount_minor,
        _ => None,
    };
    if p.kind != TransferKind::Pending {
        return Ok(Err(LedgerError::NotPending(pending_id)));
    }
    if resolved_in_batch.contains(&pending_id) || tx.find_resolution(pending_id)?.is_some() {
        return Ok(Err(LedgerError::PendingAlreadyResolved(pending_id)));
    }
    let post = matches!(leg, Leg::Post { .. });
    if post && p.timeout_at.is_some_and(|t| now >= t) {
        return Ok(Err(LedgerError::PendingExpired(pending_id)));
    }
    let amount = if post {
        asked.unwrap_or(p.amount_minor)
    } else {
        p.amount_minor
    };
    if post && (amount <= 0 || amount > p.amount_minor) {
        return Ok(Err(LedgerError::ExceedsPendingAmount(pending_id)));
    }
    let r = (|| {
        let mut d = accounts[&p.debit_account_id].clone();
        let mut c = accounts[&p.credit_account_id].clone();
        d.debits_pending = sub(d.debits_pending, p.amount_minor)?;
        c.credits_pending = sub(c.credits_pending, p.amount_minor)?;
        if post {
            d.debits_posted = add(d.debits_posted, amount)?;
            c.credits_posted = add(c.credits_posted, amount)?;
        }
        Ok((d, c))
    })();
    let (d, c) = match r {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    accounts.insert(d.id, d);
    accounts.insert(c.id, c);
    resolved_in_batch.push(pending_id);
    let kind = if post {
        TransferKind::PostPending
    } else {
        TransferKind::VoidPending
    };
    Ok(Ok(Booked {
        kind,
        debit: p.debit_account_id,
        credit: p.credit_account_id,
        amount_minor: amount,
        pending_id: Some(pending_id),
        timeout_at: None,
    }))
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Per currency: (total debits posted, total credits posted, total debits pending, total credits pending).
    pub totals: BTreeMap<String, (i64, i64, i64, i64)>,
    pub accounts_checked: usize,
    pub transfers_checked: usize,
    /// Every broken invariant, in words. Empty means the books are sound.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The code of the one transfer that may debit a funding account: an operator's top-up, the only
/// way money enters the wallet from outside.
pub const TOP_UP_CODE: &str = "top_up";
/// Transfer codes of the store side start with this; they never touch a wallet-side account.
pub const STORE_CODE_PREFIX: &str = "store_";

/// Where money may go, as far as the account kinds and the transfer's code tell:
/// * the store side (store receipts, their contra, store credit) and the wallet side (user
///   wallets, merchants, funding) never meet in one transfer — a store key's word moves store-side
///   money only, and a real payment (a user's wallet to a merchant) is wallet side on both legs;
/// * a `store_…` transfer stays on the store side;
/// * a funding account is debited only by a top-up.
///
/// Returns every broken rule in words; empty when the route is allowed.
pub fn transfer_route_problems(t: &Transfer, debit: AccountKind, credit: AccountKind) -> Vec<String> {
    let mut problems = Vec::new();
    if debit.is_store_side() != credit.is_store_side() {
        problems.push(format!(
            "transfer {} ({}) moves money between the store side and the wallet side ({} to {})",
            t.id,
            t.code,
            debit.as_str(),
            credit.as_str()
        ));
    }
    if t.code.starts_with(STORE_CODE_PREFIX) && !(debit.is_store_side() && credit.is_store_side()) {
        problems.push(format!(
            "transfer {} ({}) is a store transfer on wallet-side accounts ({} to {})",
            t.id,
            t.code,
            debit.as_str(),
            credit.as_str()
        ));
    }
    if debit == AccountKind::Funding && t.code != TOP_UP_CODE {
        problems.push(format!(
            "transfer {} ({}) debits the funding account but is not a top-up",
            t.id, t.code
        ));
    }
    problems
}

/// Checks the ledger's invariants: per currency, debits equal credits (posted and pending); no
/// flagged account breaks its flag; every account's sums equal what its transfers add up to; no
/// pending transfer is resolved twice; money enters the wallet only by top-ups, and store-side
/// money never crosses to the wallet side ([`transfer_route_problems`]).
pub fn verify(tx: &mut dyn Tx) -> Result<VerifyReport, CoreError> {
    let accounts = tx.list_accounts()?;
    let mut report = VerifyReport {
        accounts_checked: accounts.len(),
        ..Default::default()
    };
    let expected = replay_transfers(tx, &accounts, &mut report)?;
    for a in &accounts {
        report.problems.extend(account_problems(a, expected[&a.id]));
        let entry = report.totals.entry(a.currency.code().to_owned()).or_default();
        let sum = |x: i64, y: i64| {
            x.checked_add(y)
                .ok_or_else(|| CoreError::Invariant("totals overflowed".into()))
        };
        entry.0 = sum(entry.0, a.debits_posted)?;
        entry.1 = sum(entry.1, a.credits_posted)?;
        entry.2 = sum(entry.2, a.debits_pending)?;
        entry.3 = sum(entry.3, a.credits_pending)?;
    }
    for (currency, (dp, cp, dpe, cpe)) in &report.totals {
        if dp != cp {
            report
                .problems
                .push(format!("{currency}: posted debits {dp} != posted credits {cp}"));
        }
        if dpe != cpe {
            report.problems.push(format!(
                "{currency}: pending debits {dpe} != pending credits {cpe}"
            ));
        }
    }
    Ok(report)
}

/// The sums of one account as its transfers add them up, in the order `[debits_pending,
/// debits_posted, credits_pending, credits_posted]`.
type Sums = [i64; 4];

/// Replays every transfer, oldest first, in pages: what each account's sums should be. Counts
/// the transfers and notes in `report` every forbidden route and every broken resolution.
fn replay_transfers(
    tx: &mut dyn Tx,
    accounts: &[Account],
    report: &mut VerifyReport,
) -> Result<HashMap<AccountId, Sums>, CoreError> {
    let kinds: HashMap<AccountId, AccountKind> = accounts.iter().map(|a| (a.id, a.kind)).collect();
    let mut expected: HashMap<AccountId, Sums> = accounts.iter().map(|a| (a.id, [0; 4])).collect();
    let mut pending_amounts: HashMap<TransferId, i64> = HashMap::new();
    let mut resolved: HashMap<TransferId, TransferId> = HashMap::new();
    let mut after = 0;
    loop {
        let batch = tx.list_transfers(after, 1000)?;
        if batch.is_empty() {
            break;
        }
        for t in &batch {
            report.transfers_checked += 1;
            after = t.id;
            if let (Some(d), Some(c)) = (kinds.get(&t.debit_account_id), kinds.get(&t.credit_account_id)) {
                report.problems.extend(transfer_route_problems(t, *d, *c));
            }
            replay_one(
                t,
                &mut expected,
                &mut pending_amounts,
                &mut resolved,
                &mut report.problems,
            )?;
        }
    }
    Ok(expected)
}

/// Adds what transfer `t` moves to the `expected` sums of its accounts. A pending transfer is
/// remembered with its amount; a post or void must resolve a known pending transfer, once, and a
/// post takes no more than it held (else a problem is noted).
fn replay_one(
    t: &Transfer,
    expected: &mut HashMap<AccountId, Sums>,
    pending_amounts: &mut HashMap<TransferId, i64>,
    resolved: &mut HashMap<TransferId, TransferId>,
    problems: &mut Vec<String>,
) -> Result<(), CoreError> {
    // slots: 0 debits_pending, 1 debits_posted, 2 credits_pending, 3 credits_posted
    match t.kind {
        TransferKind::Single => {
            bump(expected, t.debit_account_id, 1, t.amount_minor)?;
            bump(expected, t.credit_account_id, 3, t.amount_minor)?;
        }
        TransferKind::Pending => {
            pending_amounts.insert(t.id, t.amount_minor);
            bump(expected, t.debit_account_id, 0, t.amount_minor)?;
            bump(expected, t.credit_account_id, 2, t.amount_minor)?;
        }
        TransferKind::PostPending | TransferKind::VoidPending => {
            let pid = t.pending_id.unwrap_or_default();
            let Some(held) = pending_amounts.get(&pid).copied() else {
                problems.push(format!(
                    "transfer {} resolves unknown pending transfer {pid}",
                    t.id
                ));
                return Ok(());
            };
            if let Some(first) = resolved.insert(pid, t.id) {
                problems.push(format!(
                    "pending transfer {pid} resolved twice ({first} and {})",
                    t.id
                ));
            }
            bump(expected, t.debit_account_id, 0, -held)?;
            bump(expected, t.credit_account_id, 2, -held)?;
            if t.kind == TransferKind::PostPending {
                if t.amount_minor > held {
                    problems.push(format!("transfer {} posts more than pending {pid} held", t.id));
                }
                bump(expected, t.debit_account_id, 1, t.amount_minor)?;
                bump(expected, t.credit_account_id, 3, t.amount_minor)?;
            }
        }
    }
    Ok(())
}

/// Adds `delta` to one slot of account `id`'s expected sums.
fn bump(
    expected: &mut HashMap<AccountId, Sums>,
    id: AccountId,
    slot: usize,
    delta: i64,
) -> Result<(), CoreError> {
    let e = expected
        .get_mut(&id)
        .ok_or_else(|| CoreError::Invariant(format!("transfer names unknown account {id}")))?;
    e[slot] = e[slot]
        .checked_add(delta)
        .ok_or_else(|| CoreError::Invariant("sum of transfers overflowed".into()))?;
    Ok(())
}

/// What is wrong with one account: stored sums that differ from what its transfers add up to
/// (`expected`), and an overdraft its flags forbid.
fn account_problems(a: &Account, expected: Sums) -> Vec<String> {
    let mut problems = Vec::new();
    let stored = [
        a.debits_pending,
        a.debits_posted,
        a.credits_pending,
        a.credits_posted,
    ];
    if expected != stored {
        problems.push(format!(
            "account {} ({} {} {}) has sums {:?} but its transfers add up to {:?}",
            a.id,
            a.kind.as_str(),
            a.owner_id,
            a.currency,
            stored,
            expected
        ));
    }
    if a.breaks_flags() {
        problems.push(format!(
            "account {} ({} {} {}) is overdrawn: debits {}+{} pending, credits {}",
            a.id,
            a.kind.as_str(),
            a.owner_id,
            a.currency,
            a.debits_posted,
            a.debits_pending,
            a.credits_posted
        ));
    }
    problems
}

/// The flag rules of an account, checked by [`apply`] and [`verify`].
impl Account {
    fn breaks_flags(&self) -> bool {
        let debits = self.debits_posted.checked_add(self.debits_pending);
        let credits = self.credits_posted.checked_add(self.credits_pending);
        (self.flags & flags::DEBITS_MUST_NOT_EXCEED_CREDITS != 0
            && debits.is_none_or(|d| d > self.credits_posted))
            || (self.flags & flags::CREDITS_MUST_NOT_EXCEED_DEBITS != 0
                && credits.is_none_or(|c| c > self.debits_posted))
    }
}
