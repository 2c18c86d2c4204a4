//! The operator console's attack harness: the shared test walletd with `console_listen` on port 0
//! (served with connection info, as `walletd serve` does), a merchant, users, payments made
//! through the core, operators, and a browser stand-in for the console (one cookie jar, no
//! redirects).

use std::ops::Deref;
use walletd_core::operators::Operator;
use walletd_core::parties::{Client, User};
use walletd_core::payments::{Channel, PayCommand, PayFactors, PayOutcome, Scenario};
use walletd_core::Wallet;
use walletd_protocol::{Amount, Currency};
use walletd_server::Config;
pub use walletd_testkit::pages::{self, Answer};

pub const OPERATOR: &str = "ops-ada";
pub const PASSWORD: &str = "correct horse battery";
pub const CLIENT_ID: &str = "console-merchant";

/// The shared test walletd (`walletd_testkit::TestApp`) with its console listener.
pub struct ConsoleApp {
    app: walletd_testkit::TestApp,
    pub console_url: String,
    pub main_url: String,
}

impl Deref for ConsoleApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

/// A walletd with its console on, sign-in throttles off unless `configure` turns them on, one
/// merchant, users alice and bob, and the operator [`OPERATOR`].
pub async fn spawn(configure: impl FnOnce(&mut Config)) -> ConsoleApp {
    let opened = walletd_testkit::TestApp::builder()
        .configure(|config| {
            config.console_listen = Some("127.0.0.1:0".into());
            config.cashier.sign_in_per_login_per_minute = 0;
            config.cashier.sign_in_per_address_per_minute = 0;
            config.cashier.hash_queue = 256;
            config.notifier.enabled = false;
        })
        .configure(configure)
        .open();
    seed(&opened.wallet).await;
    let app = opened.start().await;
    ConsoleApp {
        console_url: format!("http://{}", app.console_addr.expect("console listener")),
        main_url: format!("http://{}", app.addr),
        app,
    }
}

fn usd(minor: i64) -> Amount {
    Amount::from_minor(Currency::from_code("USD").expect("USD"), minor).expect("amount")
}

async fn seed(wallet: &Wallet) {
    let now = wallet.now();
    let mut c = Client::new(CLIENT_ID, "Console Tea House", now);
    c.app_ids = vec!["console-app".into()];
    wallet.add_client(c).await.expect("client");
    for id in ["alice", "bob"] {
        wallet
            .add_user(User::new(id, &format!("{id}@example.com"), id, now))
            .await
            .expect("user");
        wallet.top_up(id, usd(100_000)).await.expect("top up");
    }
    add_operator(wallet, OPERATOR).await;
}

/// Adds an operator with [`PASSWORD`].
pub async fn add_operator(wallet: &Wallet, name: &str) {
    let name = name.to_owned();
    let hash = walletd_testkit::pin_hash(PASSWORD);
    wallet
        .write(move |ctx, tx| {
            Ok(tx.insert_operator(&Operator {
                name: name.clone(),
                password_hash: hash.clone(),
                failed_attempts: 0,
                created_at: ctx.now(),
            })?)
        })
        .await
        .expect("operator");
}

impl ConsoleApp {
    /// A cashier payment of the merchant; paid by `payer` if given. Returns its id.
    pub async fn payment(&self, request_id: &str, title: &str, minor: i64, payer: Option<&str>) -> String {
        let cmd = PayCommand {
            client_id: CLIENT_ID.into(),
            channel: Channel::MiniProgramV2,
            partner_id: None,
            app_id: Some("console-app".into()),
            payment_request_id: request_id.into(),
            amount: walletd_protocol::PositiveAmount::new(usd(minor)).expect("a positive amount"),
            scenario: Scenario::Cashier,
            order_title: title.into(),
            reference_order_id: None,
            merchant_display_name: None,
            payer_user_id: None,
            expiry_time: None,
            return_url: None,
            notify_url: Some("https://merchant.example/notify".into()),
            extend_info: None,
            payment_auth_code: None,
            factors: PayFactors::default(),
        };
        let p = match self.wallet.pay(cmd).await.expect("pay") {
            PayOutcome::Accepted(p) => p,
            other => panic!("expected an accepted payment, got {other:?}"),
        };
        if let Some(user) = payer {
            self.wallet
                .confirm_payment(&p.payment_id, user)
                .await
                .expect("confirm");
        }
        p.payment_id
    }

    pub async fn operator(&self, name: &str) -> Option<Operator> {
        let name = name.to_owned();
        self.wallet
            .read(move |_, tx| Ok(tx.get_operator(&name)?))
            .await
            .expect("read operator")
    }

    pub async fn audit_actions(&self) -> Vec<(String, String, String)> {
        self.wallet
            .read(|_, tx| Ok(tx.list_audit(None, 100)?))
            .await
            .expect("audit")
            .into_iter()
            .map(|e| (e.operator, e.action, e.subject))
            .collect()
    }
}

/// A browser stand-in on the console (`walletd_testkit::pages::Browser`: one cookie jar,
/// redirects not followed) that can sign in.
#[derive(Clone)]
pub struct Browser(pages::Browser);

impl Deref for Browser {
    type Target = pages::Browser;

    fn deref(&self) -> &pages::Browser {
        &self.0
    }
}

impl Browser {
    pub fn new(app: &ConsoleApp) -> Browser {
        Browser::at(&app.console_url)
    }

    pub fn at(base: &str) -> Browser {
        Browser(pages::Browser::at(base))
    }

    /// Signs in with the sign-in page's own token.
    pub async fn sign_in(&self, name: &str, password: &str) -> Answer {
        let token = self.get("/sign-in").await.csrf();
        self.post(
            "/sign-in",
            &[("csrf_token", &token), ("name", name), ("password", password)],
        )
        .await
    }

    /// Signs in as [`OPERATOR`] and expects to land on the payments.
    pub async fn signed_in(app: &ConsoleApp) -> Browser {
        let b = Browser::new(app);
        let a = b.sign_in(OPERATOR, PASSWORD).await;
        assert_eq!(a.status, 303, "{a:?}");
        assert_eq!(a.location.as_deref(), Some("/payments"));
        b
    }
}
