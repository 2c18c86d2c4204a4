//! The one place tests build a wallet: a fresh SQLite file in a temp dir, a manual clock, counting
//! ids, a demo client and funded users. Every test starts from `spawn_wallet()`.

use chrono::{DateTime, TimeZone, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;
use walletd_core::clock::{ManualClock, SequentialIds};
use walletd_core::ledger::{self, Account, AccountKind, Leg};
use walletd_core::outbox::{OutboxEntry, OutboxKind};
use walletd_core::parties::{Client, User};
use walletd_core::payments::{
    ApprovalOutcome, Channel, PayCommand, PayFactors, PayOutcome, Payment, PaymentRef, Scenario,
};
use walletd_core::refunds::{RefundCommand, RefundOutcome};
use walletd_core::storage::sqlite::SqliteStorage;
use walletd_core::{CoreError, Wallet, WalletConfig};
use walletd_protocol::{Amount, Currency, PositiveAmount, ResultCode};

/// The demo merchant every test talks as.
pub const CLIENT: &str = "client-demo";
pub const PARTNER: &str = "partner-demo";
pub const APP: &str = "app-demo";
/// A second merchant, for "not yours" cases.
pub const OTHER_CLIENT: &str = "client-other";
pub const OTHER_PARTNER: &str = "partner-other";
pub const NOTIFY_URL: &str = "https://merchant.example/notify";

/// Funded users: alice has 100.00 USD and 50.00 EUR, bob has 50.00 USD.
pub const ALICE: &str = "alice";
pub const BOB: &str = "bob";
pub const ALICE_USD: i64 = 10_000;
pub const ALICE_EUR: i64 = 5_000;
pub const BOB_USD: i64 = 5_000;

/// 10:00 UTC: a test can move a few hours without crossing midnight (daily limits).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .expect("valid start time")
}

pub fn usd() -> Currency {
    Currency::from_code("USD").expect("USD")
}

pub fn eur() -> Currency {
    Currency::from_code("EUR").expect("EUR")
}

pub fn jpy() -> Currency {
    Currency::from_code("JPY").expect("JPY")
}

pub fn money(currency: Currency, minor: i64) -> Amount {
    Amount::from_minor(currency, minor).expect("non-negative amount")
}

/// An amount a payment, refund or capture may move (greater than zero).
pub fn positive(amount: Amount) -> PositiveAmount {
    PositiveAmount::new(amount).expect("an amount greater than zero")
}

pub fn usd_minor(minor: i64) -> Amount {
    money(usd(), minor)
}

/// A wallet under test and what it was built from.
pub struct TestWallet {
    pub wallet: Wallet,
    pub clock: Arc<ManualClock>,
    pub ids: Arc<SequentialIds>,
    pub config: WalletConfig,
    pub db_path: PathBuf,
    /// Keeps the database directory alive for the test's lifetime.
    pub dir: TempDir,
}

/// The config tests use unless they say otherwise: the defaults with short, round windows.
pub fn test_config() -> WalletConfig {
    WalletConfig {
        payment_expiry_secs: 15 * 60,
        max_payment_expiry_secs: 24 * 3600,
        cancel_window_secs: 3600,
        refund_window_secs: 30 * 24 * 3600,
        sandbox: false,
        ..WalletConfig::default()
    }
}

pub async fn spawn_wallet() -> TestWallet {
    spawn_wallet_with(test_config()).await
}

/// A fresh database with the demo client, the other client and the funded users.
pub async fn spawn_wallet_with(config: WalletConfig) -> TestWallet {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("walletd.sqlite");
    let clock = Arc::new(ManualClock::new(t0()));
    let ids = Arc::new(SequentialIds::default());
    let wallet = open_wallet(&db_path, &clock, &ids, &config);

    let mut client = Client::new(CLIENT, "Demo Shop", t0());
    client.partner_id = PARTNER.into();
    client.app_ids = vec![APP.into()];
    client.currencies = vec![usd(), eur()];
    wallet.add_client(client).await.expect("add demo client");
    let mut other = Client::new(OTHER_CLIENT, "Other Shop", t0());
    other.partner_id = OTHER_PARTNER.into();
    wallet.add_client(other).await.expect("add other client");

    wallet
        .add_user(User::new(ALICE, "+10000000001", "Alice", t0()))
        .await
        .expect("add alice");
    wallet
        .add_user(User::new(BOB, "+10000000002", "Bob", t0()))
        .await
        .expect("add bob");
    wallet
        .top_up(ALICE, usd_minor(ALICE_USD))
        .await
        .expect("fund alice USD");
    wallet
        .top_up(ALICE, money(eur(), ALICE_EUR))
        .await
        .expect("fund alice EUR");
    wallet.top_up(BOB, usd_minor(BOB_USD)).await.expect("fund bob");

    TestWallet {
        wallet,
        clock,
        ids,
        config,
        db_path,
        dir,
    }
}

pub fn open_wallet(
    path: &std::path::Path,
    clock: &Arc<ManualClock>,
    ids: &Arc<SequentialIds>,
    config: &WalletConfig,
) -> Wallet {
    let store = SqliteStorage::open(path, 2).expect("open sqlite store");
    Wallet::new(Arc::new(store), clock.clone(), ids.clone(), config.clone())
}

impl TestWallet {
    /// Drops the wallet (and with it the store and its threads) and opens the same file again.
    pub fn reopen(self) -> TestWallet {
        let TestWallet {
            wallet,
            clock,
            ids,
            config,
            db_path,
            dir,
        } = self;
        drop(wallet);
        let wallet = open_wallet(&db_path, &clock, &ids, &config);
        TestWallet {
            wallet,
            clock,
            ids,
            config,
            db_path,
            dir,
        }
    }

    /// `user` grants the demo client `AGREEMENT_PAY` (auth code, then applyToken), which a
    /// cashier payment needs before it may name them as its payer.
    pub async fn grant_named_payer(&self, user: &str) {
        use walletd_core::oauth::{Grant, Lifetimes, Scope, TokenGrantType, TokenRequest};
        let grant = Grant {
            client_id: CLIENT.into(),
            app_id: Some(APP.into()),
            user_id: user.into(),
            scopes: vec![Scope::AgreementPay],
            agreement_limits: [("USD".to_owned(), 1_000_000), ("EUR".to_owned(), 1_000_000)]
                .into_iter()
                .collect(),
        };
        let code = self
            .wallet
            .issue_auth_code(grant, 300)
            .await
            .expect("auth code")
            .code;
        let req = TokenRequest {
            client_id: CLIENT.into(),
            reference_client_id: Some(APP.into()),
            grant_type: TokenGrantType::AuthorizationCode { auth_code: code },
        };
        self.wallet
            .apply_token(req, Lifetimes::default())
            .await
            .expect("apply token")
            .expect("token issued");
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance_ms(secs * 1000);
    }

    /// A v2 cashier payment request of the demo client in USD, with a notify URL.
    pub fn pay_cmd(&self, payment_request_id: &str, amount_minor: i64) -> PayCommand {
        PayCommand {
            client_id: CLIENT.into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            app_id: Some(APP.into()),
            payment_request_id: payment_request_id.into(),
            amount: positive(usd_minor(amount_minor)),
            scenario: Scenario::Cashier,
            order_title: "Coffee".into(),
            reference_order_id: Some(format!("order-{payment_request_id}")),
            merchant_display_name: Some("Demo Shop".into()),
            payer_user_id: None,
            expiry_time: None,
            return_url: Some("https://merchant.example/return".into()),
            notify_url: Some(NOTIFY_URL.into()),
            extend_info: None,
            payment_auth_code: None,
            factors: PayFactors::default(),
        }
    }

    /// Pays and expects A/ACCEPT.
    pub async fn accepted_payment(&self, cmd: PayCommand) -> Payment {
        match self.wallet.pay(cmd).await.expect("pay") {
            PayOutcome::Accepted(p) => p,
            other => panic!("expected Accepted, got {other:?}"),
        }
    }

    /// A payment of the demo client that `user` has paid.
    pub async fn paid_payment(&self, payment_request_id: &str, amount_minor: i64, user: &str) -> Payment {
        let p = self
            .accepted_payment(self.pay_cmd(payment_request_id, amount_minor))
            .await;
        match self
            .wallet
            .confirm_payment(&p.payment_id, user)
            .await
            .expect("confirm")
        {
            ApprovalOutcome::Done(p) => p,
            other => panic!("expected the payment to succeed, got {other:?}"),
        }
    }

    pub fn refund_cmd(&self, refund_request_id: &str, payment_id: &str, amount: Amount) -> RefundCommand {
        RefundCommand {
            client_id: CLIENT.into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            refund_request_id: refund_request_id.into(),
            payment: by_id(payment_id),
            amount: positive(amount),
            reason: Some("customer asked".into()),
            notify_url: None,
        }
    }

    pub async fn refund_ok(&self, cmd: RefundCommand) -> walletd_core::refunds::Refund {
        match self.wallet.refund(cmd).await.expect("refund") {
            RefundOutcome::Succeeded(r) => r,
            other => panic!("expected the refund to succeed, got {other:?}"),
        }
    }

    /// The account of `owner` in `currency`, if it exists.
    pub async fn account(&self, kind: AccountKind, owner: &str, currency: Currency) -> Option<Account> {
        let accounts = self.wallet.accounts_of(kind, owner).await.expect("accounts_of");
        accounts.into_iter().find(|a| a.currency == currency)
    }

    /// (posted, available) balance of a user's wallet; zeros if it has no account.
    pub async fn user_balance(&self, user: &str, currency: Currency) -> (i64, i64) {
        self.account(AccountKind::UserWallet, user, currency)
            .await
            .map_or((0, 0), |a| (a.posted_balance(), a.available_balance()))
    }

    /// Posted balance of a merchant's settlement account; zero if it has none.
    pub async fn merchant_balance(&self, client: &str, currency: Currency) -> i64 {
        self.account(AccountKind::Merchant, client, currency)
            .await
            .map_or(0, |a| a.posted_balance())
    }

    /// Outbox rows about `subject_id` (a payment or refund id).
    pub async fn notices_about(&self, subject_id: &str) -> Vec<OutboxEntry> {
        let all = self
            .wallet
            .list_notifications(10_000)
            .await
            .expect("list notifications");
        all.into_iter().filter(|e| e.subject_id == subject_id).collect()
    }

    /// Settles `amount_minor` of the demo merchant's USD balance out of the wallet (a payout to
    /// the merchant's bank): the only way its balance can drop below what its payments owe.
    pub async fn pay_out_merchant(&self, amount_minor: i64) {
        self.wallet
            .write(move |ctx, tx| {
                let now = ctx.now();
                let merchant = ledger::ensure_account(tx, AccountKind::Merchant, CLIENT, usd(), now)?;
                let funding = ledger::funding_account(tx, usd(), now)?;
                let legs = [Leg::Single {
                    debit: merchant.id,
                    credit: funding.id,
                    amount_minor,
                    code: "payout".into(),
                    reference: CLIENT.into(),
                }];
                ledger::apply(tx, now, &legs)?.map_err(|e| CoreError::Invalid(e.to_string()))
            })
            .await
            .expect("payout");
    }

    pub async fn payment(&self, payment_id: &str) -> Payment {
        self.wallet
            .get_payment(payment_id)
            .await
            .expect("get payment")
            .expect("payment exists")
    }
}

pub fn by_id(payment_id: &str) -> PaymentRef {
    PaymentRef {
        payment_id: Some(payment_id.into()),
        payment_request_id: None,
    }
}

pub fn by_request(payment_request_id: &str) -> PaymentRef {
    PaymentRef {
        payment_id: None,
        payment_request_id: Some(payment_request_id.into()),
    }
}

/// The books must balance: per currency debits equal credits, no flagged account overdrawn, and
/// every stored sum equals what the transfers add up to.
pub async fn assert_books_sound(wallet: &Wallet) {
    let report = wallet.verify().await.expect("verify runs");
    assert!(
        report.is_sound(),
        "ledger verify found problems: {:#?}",
        report.problems
    );
}

/// Unwraps a pay refusal.
pub fn pay_rejection(outcome: &PayOutcome) -> ResultCode {
    match outcome {
        PayOutcome::Rejected { code, .. } => *code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Unwraps an approval refusal.
pub fn approval_refusal(outcome: &ApprovalOutcome) -> ResultCode {
    match outcome {
        ApprovalOutcome::Refused { code, .. } => *code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Unwraps a refund refusal.
pub fn refund_rejection(outcome: &RefundOutcome) -> ResultCode {
    match outcome {
        RefundOutcome::Rejected { code, .. } => *code,
        other => panic!("expected a refund rejection, got {other:?}"),
    }
}

/// No money moved between two snapshots of `wallet.accounts()`: every account kept its sums, and
/// any account that appeared since is empty (a refused request may open an empty account).
pub fn assert_no_money_moved(before: &[Account], after: &[Account]) {
    for a in after {
        match before.iter().find(|b| b.id == a.id) {
            Some(b) => assert_eq!(a, b, "account {} changed", a.id),
            None => assert_eq!(
                (
                    a.debits_pending,
                    a.debits_posted,
                    a.credits_pending,
                    a.credits_posted
                ),
                (0, 0, 0, 0),
                "new account {} is not empty",
                a.id
            ),
        }
    }
    assert!(
        before.iter().all(|b| after.iter().any(|a| a.id == b.id)),
        "an account vanished"
    );
}

pub fn payment_notices(entries: &[OutboxEntry]) -> usize {
    entries
        .iter()
        .filter(|e| e.kind == OutboxKind::PaymentResult)
        .count()
}
