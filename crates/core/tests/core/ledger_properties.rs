//! The ledger against a reference model: random sequences of linked batches (single transfers,
//! pending holds with timeouts, full and partial posts, voids, posts after the timeout, double
//! resolutions, overdrafts) go through `ledger::apply` in `wallet.write` jobs. After every step the
//! stored accounts must equal the model's, a refused batch must have changed no account, and
//! `verify` must find the books sound.

use crate::helpers::{spawn_wallet, usd, ALICE, BOB};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;
use walletd_core::ledger::{
    self, flags, Account, AccountId, AccountKind, LedgerError, Leg, NewAccount, TransferId,
};
use walletd_protocol::Currency;

/// Which pending transfer a post or void names.
#[derive(Debug, Clone)]
enum PendingPick {
    /// The n-th pending transfer created so far (modulo their number).
    Created(usize),
    /// The n-th newest pending transfer (clamped to the oldest).
    Recent(usize),
    /// The n-th single transfer created so far: not a pending transfer.
    NotPending(usize),
    /// An id no transfer has.
    Missing,
}

#[derive(Debug, Clone)]
enum LegSpec {
    Single {
        debit: usize,
        credit: usize,
        amount: i64,
    },
    Pending {
        debit: usize,
        credit: usize,
        amount: i64,
        timeout_secs: i64,
    },
    Post {
        pick: PendingPick,
        amount: Option<i64>,
    },
    Void {
        pick: PendingPick,
    },
}

#[derive(Debug, Clone)]
enum Op {
    /// One linked batch.
    Batch(Vec<LegSpec>),
    /// Good-looking legs followed by one that overdraws a user wallet: nothing may land.
    FailingLast(Vec<LegSpec>),
    /// Time passes (pending transfers time out).
    Advance { secs: i64 },
}

/// Index of the account pool the legs pick from (see `build_pool`).
const POOL: usize = 8;
const FUNDING_USD: usize = 0;
const ALICE_USD: usize = 1;
const BOB_USD: usize = 2;
const CAROL_USD: usize = 3;
const MERCHANT_USD: usize = 4;
const LIMITED_USD: usize = 5;
const FUNDING_EUR: usize = 6;
const ALICE_EUR: usize = 7;

fn pick_strategy() -> impl Strategy<Value = PendingPick> {
    prop_oneof![
        // Mostly one of the last few holds, which are more often still open.
        12 => (0usize..3).prop_map(PendingPick::Recent),
        4 => any::<usize>().prop_map(PendingPick::Created),
        1 => any::<usize>().prop_map(PendingPick::NotPending),
        1 => Just(PendingPick::Missing),
    ]
}

fn amount_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![1 => Just(0i64), 20 => 1i64..=2_500]
}

/// USD accounts weighted towards those that have (or can get) money.
fn usd_account() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => Just(FUNDING_USD),
        4 => Just(ALICE_USD),
        4 => Just(BOB_USD),
        2 => Just(CAROL_USD),
        3 => Just(MERCHANT_USD),
        1 => Just(LIMITED_USD),
    ]
}

/// A (debit, credit) pair: mostly two different USD accounts; now and then a EUR pair, a pair
/// across currencies, or the same account twice.
fn pair_strategy() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        24 => (usd_account(), usd_account(), 1usize..=5)
            .prop_map(|(d, c, shift)| if d == c { (d, (c + shift) % (LIMITED_USD + 1)) } else { (d, c) }),
        2 => prop_oneof![Just((FUNDING_EUR, ALICE_EUR)), Just((ALICE_EUR, FUNDING_EUR))],
        1 => (usd_account(), prop_oneof![Just(FUNDING_EUR), Just(ALICE_EUR)])
            .prop_map(|(u, e)| if u % 2 == 0 { (u, e) } else { (e, u) }),
        1 => usd_account().prop_map(|a| (a, a)),
    ]
}

fn leg_strategy() -> impl Strategy<Value = LegSpec> {
    prop_oneof![
        // Top-ups: from the funding account into a wallet.
        3 => (usd_account(), amount_strategy()).prop_map(|(credit, amount)| {
            let credit = if credit == FUNDING_USD { ALICE_USD } else { credit };
            LegSpec::Single { debit: FUNDING_USD, credit, amount }
        }),
        5 => (pair_strategy(), amount_strategy())
            .prop_map(|((debit, credit), amount)| LegSpec::Single { debit, credit, amount }),
        5 => (pair_strategy(), amount_strategy(), 1i64..=600).prop_map(
            |((debit, credit), amount, timeout_secs)| LegSpec::Pending { debit, credit, amount, timeout_secs }
        ),
        4 => (pick_strategy(), prop::option::of(0i64..=2_500))
            .prop_map(|(pick, amount)| LegSpec::Post { pick, amount }),
        2 => pick_strategy().prop_map(|pick| LegSpec::Void { pick }),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => leg_strategy().prop_map(|l| Op::Batch(vec![l])),
        3 => prop::collection::vec(leg_strategy(), 2..=4).prop_map(Op::Batch),
        2 => prop::collection::vec(leg_strategy(), 1..=3).prop_map(Op::FailingLast),
        2 => (0i64..=400).prop_map(|secs| Op::Advance { secs }),
    ]
}

/// A pending transfer as the model sees it.
#[derive(Debug, Clone)]
struct ModelPending {
    debit: AccountId,
    credit: AccountId,
    amount: i64,
    timeout_at: DateTime<Utc>,
    resolved: bool,
}

/// The reference ledger, written from TigerBeetle's rules, independent of `ledger::apply`.
#[derive(Debug, Clone)]
struct Model {
    /// id -> (currency, flags, [debits_pending, debits_posted, credits_pending, credits_posted])
    accounts: BTreeMap<AccountId, (Currency, u32, [i64; 4])>,
    pendings: BTreeMap<TransferId, ModelPending>,
    /// Ids of the pending transfers in creation order, and of the single ones.
    pending_order: Vec<TransferId>,
    singles: Vec<TransferId>,
}

const DP: usize = 0;
const DPO: usize = 1;
const CP: usize = 2;
const CPO: usize = 3;

fn breaks(flags_: u32, s: &[i64; 4]) -> bool {
    (flags_ & flags::DEBITS_MUST_NOT_EXCEED_CREDITS != 0 && s[DP] + s[DPO] > s[CPO])
        || (flags_ & flags::CREDITS_MUST_NOT_EXCEED_DEBITS != 0 && s[CP] + s[CPO] > s[DPO])
}

/// What a leg turns into once picks are resolved to ids.
#[derive(Debug, Clone)]
enum Resolved {
    Move {
        pending: bool,
        debit: AccountId,
        credit: AccountId,
        amount: i64,
    },
    Post {
        id: TransferId,
        amount: Option<i64>,
    },
    Void {
        id: TransferId,
    },
}

impl Model {
    fn from_accounts(accounts: &[Account]) -> Model {
        Model {
            accounts: accounts
                .iter()
                .map(|a| {
                    (
                        a.id,
                        (
                            a.currency,
                            a.flags,
                            [
                                a.debits_pending,
                                a.debits_posted,
                                a.credits_pending,
                                a.credits_posted,
                            ],
                        ),
                    )
                })
                .collect(),
            pendings: BTreeMap::new(),
            pending_order: Vec::new(),
            singles: Vec::new(),
        }
    }

    fn resolve_pick(&self, pick: &PendingPick) -> TransferId {
        match pick {
            PendingPick::Created(n) if !self.pending_order.is_empty() => {
                self.pending_order[n % self.pending_order.len()]
            }
            PendingPick::Recent(n) if !self.pending_order.is_empty() => {
                let newest = self.pending_order.len() - 1;
                self.pending_order[newest - (*n).min(newest)]
            }
            PendingPick::NotPending(n) if !self.singles.is_empty() => self.singles[n % self.singles.len()],
            _ => 1_000_000_000,
        }
    }

    /// Every leg is tagged as a top-up: this test is about the ledger's mechanics, and a top-up is
    /// the one code allowed to debit a funding account (`ledger::verify`'s routing rules have
    /// their own tests in `ledger_verify`).
    fn resolve(&self, pool: &[AccountId], now: DateTime<Utc>, spec: &LegSpec) -> (Resolved, Leg) {
        match spec {
            LegSpec::Single {
                debit,
                credit,
                amount,
            } => {
                let (debit, credit) = (pool[*debit], pool[*credit]);
                let leg = Leg::Single {
                    debit,
                    credit,
                    amount_minor: *amount,
                    code: TEST_CODE.into(),
                    reference: "prop".into(),
                };
                (
                    Resolved::Move {
                        pending: false,
                        debit,
                        credit,
                        amount: *amount,
                    },
                    leg,
                )
            }
            LegSpec::Pending {
                debit,
                credit,
                amount,
                timeout_secs,
            } => {
                let (debit, credit) = (pool[*debit], pool[*credit]);
                let leg = Leg::Pending {
                    debit,
                    credit,
                    amount_minor: *amount,
                    timeout_at: now + Duration::seconds(*timeout_secs),
                    code: TEST_CODE.into(),
                    reference: "prop".into(),
                };
                (
                    Resolved::Move {
                        pending: true,
                        debit,
                        credit,
                        amount: *amount,
                    },
                    leg,
                )
            }
            LegSpec::Post { pick, amount } => {
                let id = self.resolve_pick(pick);
                let leg = Leg::Post {
                    pending_id: id,
                    amount_minor: *amount,
                    code: TEST_CODE.into(),
                    reference: "prop".into(),
                };
                (Resolved::Post { id, amount: *amount }, leg)
            }
            LegSpec::Void { pick } => {
                let id = self.resolve_pick(pick);
                let leg = Leg::Void {
                    pending_id: id,
                    code: TEST_CODE.into(),
                    reference: "prop".into(),
                };
                (Resolved::Void { id }, leg)
            }
        }
    }

    /// Plays a linked batch on a copy; the copy replaces the model only if every leg is valid.
    fn apply(&self, now: DateTime<Utc>, legs: &[Resolved]) -> Result<Model, LedgerError> {
        for leg in legs {
            if let Resolved::Post { id, .. } | Resolved::Void { id } = leg {
                if !self.pendings.contains_key(id) && !self.singles.contains(id) {
                    return Err(LedgerError::PendingNotFound(*id));
                }
            }
        }
        let mut next = self.clone();
        let mut resolved_here: Vec<TransferId> = Vec::new();
        for leg in legs {
            match leg {
                Resolved::Move {
                    pending,
                    debit,
                    credit,
                    amount,
                } => {
                    if *amount <= 0 {
                        return Err(LedgerError::AmountNotPositive);
                    }
                    if debit == credit {
                        return Err(LedgerError::SameAccount);
                    }
                    let (dc, dflags, mut d) = next.accounts[debit];
                    let (cc, cflags, mut c) = next.accounts[credit];
                    if dc != cc {
                        return Err(LedgerError::CurrencyMismatch(*debit, *credit));
                    }
                    if *pending {
                        d[DP] += amount;
                        c[CP] += amount;
                    } else {
                        d[DPO] += amount;
                        c[CPO] += amount;
                    }
                    if breaks(dflags, &d) {
                        return Err(LedgerError::ExceedsCredits(*debit));
                    }
                    if breaks(cflags, &c) {
                        return Err(LedgerError::ExceedsDebits(*credit));
                    }
                    next.accounts.insert(*debit, (dc, dflags, d));
                    next.accounts.insert(*credit, (cc, cflags, c));
                }
                Resolved::Post { id, .. } | Resolved::Void { id } => {
                    let Some(p) = next.pendings.get(id).cloned() else {
                        return Err(LedgerError::NotPending(*id));
                    };
                    if p.resolved || resolved_here.contains(id) {
                        return Err(LedgerError::PendingAlreadyResolved(*id));
                    }
                    let post = match leg {
                        Resolved::Post { amount, .. } => Some(amount.unwrap_or(p.amount)),
                        _ => None,
                    };
                    if post.is_some() && now >= p.timeout_at {
                        return Err(LedgerError::PendingExpired(*id));
                    }
                    if post.is_some_and(|a| a <= 0 || a > p.amount) {
                        return Err(LedgerError::ExceedsPendingAmount(*id));
                    }
                    let (dc, dflags, mut d) = next.accounts[&p.debit];
                    let (cc, cflags, mut c) = next.accounts[&p.credit];
                    d[DP] -= p.amount;
                    c[CP] -= p.amount;
                    if let Some(a) = post {
                        d[DPO] += a;
                        c[CPO] += a;
                    }
                    next.accounts.insert(p.debit, (dc, dflags, d));
                    next.accounts.insert(p.credit, (cc, cflags, c));
                    resolved_here.push(*id);
                }
            }
        }
        for id in resolved_here {
            if let Some(p) = next.pendings.get_mut(&id) {
                p.resolved = true;
            }
        }
        Ok(next)
    }

    /// Records the transfers a successful batch created.
    fn record(&mut self, now: DateTime<Utc>, legs: &[Leg], ids: &[TransferId]) {
        for (leg, id) in legs.iter().zip(ids) {
            match leg {
                Leg::Pending {
                    debit,
                    credit,
                    amount_minor,
                    timeout_at,
                    ..
                } => {
                    debug_assert!(*timeout_at > now);
                    self.pendings.insert(
                        *id,
                        ModelPending {
                            debit: *debit,
                            credit: *credit,
                            amount: *amount_minor,
                            timeout_at: *timeout_at,
                            resolved: false,
                        },
                    );
                    self.pending_order.push(*id);
                }
                Leg::Single { .. } => self.singles.push(*id),
                Leg::Post { .. } | Leg::Void { .. } => {}
            }
        }
    }

    fn sums(&self) -> BTreeMap<AccountId, [i64; 4]> {
        self.accounts.iter().map(|(id, (_, _, s))| (*id, *s)).collect()
    }
}

fn sums_of(accounts: &[Account]) -> BTreeMap<AccountId, [i64; 4]> {
    accounts
        .iter()
        .map(|a| {
            (
                a.id,
                [
                    a.debits_pending,
                    a.debits_posted,
                    a.credits_pending,
                    a.credits_posted,
                ],
            )
        })
        .collect()
}

const TEST_CODE: &str = ledger::TOP_UP_CODE;

/// The accounts legs pick from, by index: 0 funding USD, 1 alice USD, 2 bob USD, 3 carol USD
/// (empty), 4 merchant USD, 5 a USD account whose credits must not exceed its debits, 6 funding
/// EUR, 7 alice EUR.
async fn build_pool(wallet: &walletd_core::Wallet) -> Vec<AccountId> {
    wallet
        .write(|ctx, tx| {
            let now = ctx.now();
            let eur = Currency::from_code("EUR").expect("EUR");
            let usd = usd();
            let mut ids = vec![
                ledger::funding_account(tx, usd, now)?.id,
                ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd, now)?.id,
                ledger::ensure_account(tx, AccountKind::UserWallet, BOB, usd, now)?.id,
                ledger::ensure_account(tx, AccountKind::UserWallet, "carol", usd, now)?.id,
                ledger::ensure_account(tx, AccountKind::Merchant, "client-demo", usd, now)?.id,
            ];
            let limited = match tx.find_account(AccountKind::Funding, "liability", usd)? {
                Some(a) => a,
                None => tx.insert_account(&NewAccount {
                    kind: AccountKind::Funding,
                    owner_id: "liability".into(),
                    currency: usd,
                    flags: flags::CREDITS_MUST_NOT_EXCEED_DEBITS,
                    created_at: now,
                })?,
            };
            ids.push(limited.id);
            ids.push(ledger::funding_account(tx, eur, now)?.id);
            ids.push(ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, eur, now)?.id);
            Ok(ids)
        })
        .await
        .expect("build the account pool")
}

/// Runs `ops` on a fresh wallet; returns how many batches the ledger refused.
async fn run_ops(ops: Vec<Op>) -> Result<usize, TestCaseError> {
    let t = spawn_wallet().await;
    let pool = build_pool(&t.wallet).await;
    prop_assert_eq!(pool.len(), POOL);
    let mut model = Model::from_accounts(&t.wallet.accounts().await.expect("accounts"));
    let mut refused = 0usize;

    for (step, op) in ops.into_iter().enumerate() {
        let (specs, must_fail) = match op {
            Op::Advance { secs } => {
                t.advance_secs(secs);
                continue;
            }
            Op::Batch(specs) => (specs, false),
            Op::FailingLast(mut specs) => {
                specs.push(LegSpec::Single {
                    debit: ALICE_USD,
                    credit: MERCHANT_USD,
                    amount: 1_000_000_000,
                });
                (specs, true)
            }
        };
        let now = t.wallet.now();
        let (resolved, legs): (Vec<Resolved>, Vec<Leg>) =
            specs.iter().map(|s| model.resolve(&pool, now, s)).unzip();
        let expected = model.apply(now, &resolved);

        let before = t.wallet.accounts().await.expect("accounts before");
        let job_legs = legs.clone();
        let actual = t
            .wallet
            .write(move |ctx, tx| Ok(ledger::apply(tx, ctx.now(), &job_legs)?))
            .await
            .expect("the store itself must not fail");
        let after = t.wallet.accounts().await.expect("accounts after");

        match (expected, actual) {
            (Ok(next), Ok(ids)) => {
                prop_assert!(
                    !must_fail,
                    "step {step}: a batch ending in an overdraft landed: {legs:?}"
                );
                prop_assert_eq!(ids.len(), legs.len(), "step {}: one transfer per leg", step);
                model = next;
                model.record(now, &legs, &ids);
            }
            (Err(want), Err(got)) => {
                prop_assert_eq!(&got, &want, "step {}: wrong refusal for {:?}", step, legs);
                prop_assert_eq!(
                    &before,
                    &after,
                    "step {}: a refused batch changed accounts: {:?}",
                    step,
                    legs
                );
                refused += 1;
            }
            (want, got) => {
                return Err(TestCaseError::fail(format!(
                    "step {step}: model says {:?}, ledger says {got:?} for {legs:?}",
                    want.map(|_| "ok")
                )));
            }
        }
        prop_assert_eq!(
            sums_of(&after),
            model.sums(),
            "step {}: stored sums differ from the model",
            step
        );
        let report = t.wallet.verify().await.expect("verify");
        prop_assert!(
            report.is_sound(),
            "step {step}: verify found {:?}",
            report.problems
        );
    }
    Ok(refused)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 512, ..ProptestConfig::default() })]

    #[test]
    fn ledger_matches_model_and_stays_sound_after_every_step(ops in prop::collection::vec(op_strategy(), 1..=40)) {
        block_on(run_ops(ops))?;
    }
}

#[test]
fn ledger_refuses_every_invalid_batch_of_a_fixed_sequence() {
    // A fixed sequence that hits every refusal of the ledger, so the failure paths stay covered
    // even if the generator above drifts towards batches that always succeed.
    let ops = vec![
        Op::Batch(vec![LegSpec::Pending {
            debit: ALICE_USD,
            credit: MERCHANT_USD,
            amount: 3_000,
            timeout_secs: 60,
        }]),
        Op::Batch(vec![LegSpec::Single {
            debit: FUNDING_USD,
            credit: CAROL_USD,
            amount: 50,
        }]),
        // Partial post, then a second resolution of the same hold.
        Op::Batch(vec![LegSpec::Post {
            pick: PendingPick::Created(0),
            amount: Some(1_000),
        }]),
        Op::Batch(vec![LegSpec::Void {
            pick: PendingPick::Created(0),
        }]),
        // Post after the timeout fails; the void still works.
        Op::Batch(vec![LegSpec::Pending {
            debit: BOB_USD,
            credit: MERCHANT_USD,
            amount: 500,
            timeout_secs: 10,
        }]),
        Op::Advance { secs: 10 },
        Op::Batch(vec![LegSpec::Post {
            pick: PendingPick::Created(1),
            amount: None,
        }]),
        Op::Batch(vec![LegSpec::Void {
            pick: PendingPick::Created(1),
        }]),
        // Post more than held, zero amount, same account, other currency, overdrafts both ways.
        Op::Batch(vec![LegSpec::Pending {
            debit: BOB_USD,
            credit: MERCHANT_USD,
            amount: 100,
            timeout_secs: 60,
        }]),
        Op::Batch(vec![LegSpec::Post {
            pick: PendingPick::Created(2),
            amount: Some(101),
        }]),
        Op::Batch(vec![LegSpec::Single {
            debit: BOB_USD,
            credit: MERCHANT_USD,
            amount: 0,
        }]),
        Op::Batch(vec![LegSpec::Single {
            debit: BOB_USD,
            credit: BOB_USD,
            amount: 1,
        }]),
        Op::Batch(vec![LegSpec::Single {
            debit: BOB_USD,
            credit: ALICE_EUR,
            amount: 1,
        }]),
        Op::Batch(vec![LegSpec::Single {
            debit: CAROL_USD,
            credit: MERCHANT_USD,
            amount: 51,
        }]),
        Op::Batch(vec![LegSpec::Single {
            debit: FUNDING_USD,
            credit: LIMITED_USD,
            amount: 1,
        }]),
        // A post or void naming a single transfer, or nothing at all.
        Op::Batch(vec![LegSpec::Post {
            pick: PendingPick::NotPending(0),
            amount: None,
        }]),
        Op::Batch(vec![LegSpec::Void {
            pick: PendingPick::Missing,
        }]),
        // Linked: the first legs are fine, the last overdraws: none may land.
        Op::FailingLast(vec![
            LegSpec::Single {
                debit: FUNDING_USD,
                credit: CAROL_USD,
                amount: 700,
            },
            LegSpec::Post {
                pick: PendingPick::Created(2),
                amount: None,
            },
        ]),
        // Posting and voiding the same hold in one batch.
        Op::Batch(vec![
            LegSpec::Post {
                pick: PendingPick::Created(2),
                amount: None,
            },
            LegSpec::Void {
                pick: PendingPick::Created(2),
            },
        ]),
        // And the hold is still there to post.
        Op::Batch(vec![LegSpec::Post {
            pick: PendingPick::Created(2),
            amount: None,
        }]),
    ];
    let refused = block_on(run_ops(ops)).expect("the fixed sequence follows the model");
    assert_eq!(refused, 12, "every invalid batch of the sequence must be refused");
}
