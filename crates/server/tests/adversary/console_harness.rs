//! The operator console's attack harness: a real walletd with `console_listen` on port 0 (served
//! with connection info, as `walletd serve` does), a merchant, users, payments made through the
//! core, operators, and a browser stand-in for the console (one cookie jar, no redirects).

use reqwest::header::{HeaderMap, LOCATION};
use std::sync::{Arc, OnceLock};
use tempfile::TempDir;
use walletd_core::clock::{RandomIds, SystemClock};
use walletd_core::operators::Operator;
use walletd_core::parties::{Client, User};
use walletd_core::payments::{Channel, PayCommand, PayFactors, PayOutcome, Scenario};
use walletd_core::Wallet;
use walletd_protocol::{Amount, Currency};
use walletd_server::{AppState, Application, Config};

pub const OPERATOR: &str = "ops-ada";
pub const PASSWORD: &str = "correct horse battery";
pub const CLIENT_ID: &str = "console-merchant";

/// The operator's hash, made once: argon2 is slow on purpose.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| walletd_server::pin::hash_pin(PASSWORD).expect("hash"))
        .clone()
}

pub struct ConsoleApp {
    pub console_url: String,
    pub main_url: String,
    pub wallet: Wallet,
    pub state: AppState,
    _dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for ConsoleApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

/// A walletd with its console on, sign-in throttles off unless `configure` turns them on, one
/// merchant, users alice and bob, and the operator [`OPERATOR`].
pub async fn spawn(configure: impl FnOnce(&mut Config)) -> ConsoleApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        console_listen: Some("127.0.0.1:0".into()),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.cashier.sign_in_per_login_per_minute = 0;
    config.cashier.sign_in_per_address_per_minute = 0;
    config.cashier.hash_queue = 256;
    config.notifier.enabled = false;
    configure(&mut config);
    let wallet = walletd_server::open_wallet(&config, Arc::new(SystemClock), Arc::new(RandomIds::default()))
        .expect("wallet");
    seed(&wallet).await;
    let app = Application::build_with_wallet(config, wallet.clone())
        .await
        .expect("build");
    let console_url = format!("http://{}", app.console_addr().expect("console listener"));
    let main_url = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    ConsoleApp {
        console_url,
        main_url,
        wallet,
        state,
        _dir: dir,
        shutdown: Some(tx),
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
    let hash = password_hash();
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
            amount: usd(minor),
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

/// One console answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no form on the page: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("end of token") + start;
        self.body[start..end].to_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A browser stand-in on the console: one cookie jar, redirects not followed.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(app: &ConsoleApp) -> Browser {
        Browser::at(&app.console_url)
    }

    pub fn at(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
        }
    }

    async fn read(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.text().await.expect("body");
        Answer {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        Self::read(
            self.http
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .expect("post"),
        )
        .await
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
