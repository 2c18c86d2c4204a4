//! The shared test walletd for the flat-cost tests: two merchants with daily limits (so every
//! pay checks one), a funded payer, and a way to read how much CPU the storage writer spent.

use std::ops::Deref;
use walletd_client::RequestOptions;
use walletd_core::parties::{Client, Limits, User};
use walletd_core::payments::{Channel, PayCommand, PayOutcome, PaymentStatus, Scenario};
use walletd_protocol::crypto::PrivateKey;

pub const BUSY: &str = "busy-merchant";
pub const QUIET: &str = "quiet-merchant";
pub const APP_ID: &str = "perf-app";
pub const PAYER: &str = "perf-payer";

fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

pub use walletd_testkit::usd;

/// The shared test walletd (`walletd_testkit::TestApp`) with the two merchants and the payer.
pub struct PerfApp {
    app: walletd_testkit::TestApp,
}

impl Deref for PerfApp {
    type Target = walletd_testkit::TestApp;

    fn deref(&self) -> &walletd_testkit::TestApp {
        &self.app
    }
}

pub async fn spawn_perf_app() -> PerfApp {
    let opened = walletd_testkit::TestApp::builder().open();
    let wallet = &opened.wallet;
    let now = wallet.now();
    for id in [BUSY, QUIET] {
        let mut c = Client::new(id, id, now);
        c.partner_id = format!("P-{id}");
        c.app_ids = vec![APP_ID.into()];
        c.limits.insert(
            "USD".into(),
            Limits {
                per_payment_minor: None,
                daily_minor: Some(i64::MAX / 4),
            },
        );
        c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
        wallet.add_client(c).await.expect("client");
    }
    wallet
        .add_user(User::new(PAYER, "+15550009999", PAYER, now))
        .await
        .expect("user");
    wallet.top_up(PAYER, usd(1_000_000)).await.expect("top up");
    PerfApp {
        app: opened.start().await,
    }
}

impl PerfApp {
    /// A signed v2 cashier pay of `merchant` over HTTP; returns the answer's resultStatus.
    pub async fn pay(&self, merchant: &str, request_id: &str) -> String {
        let client = self.mini_program(merchant, merchant_key());
        let body = format!(
            r#"{{"appId":"{APP_ID}","paymentRequestId":"{request_id}","paymentAmount":{{"currency":"USD","value":"150"}},"order":{{"referenceOrderId":"o-{request_id}","orderDescription":"tea"}}}}"#
        );
        let answer = client
            .send("v2/payments/pay", body.into_bytes(), &RequestOptions::default())
            .await
            .expect("a verified answer");
        answer.result.result_status.clone()
    }

    /// Stores `n` paid payments of `merchant`, created now, in one transaction through the
    /// storage API: a day's history that every one of its daily-limit checks has to count.
    pub async fn fill_day(&self, merchant: &str, n: usize) {
        let template = match self
            .wallet
            .pay(PayCommand {
                client_id: merchant.into(),
                channel: Channel::MiniProgramV2,
                partner_id: None,
                app_id: Some(APP_ID.into()),
                payment_request_id: "template".into(),
                amount: walletd_protocol::PositiveAmount::new(usd(100)).expect("a positive amount"),
                scenario: Scenario::Cashier,
                order_title: "template".into(),
                reference_order_id: None,
                merchant_display_name: None,
                payer_user_id: None,
                expiry_time: None,
                return_url: None,
                notify_url: None,
                extend_info: None,
                payment_auth_code: None,
                factors: Default::default(),
            })
            .await
            .expect("pay")
        {
            PayOutcome::Accepted(p) => p,
            other => panic!("the template payment: {other:?}"),
        };
        self.wallet
            .write(move |ctx, tx| {
                for i in 0..n {
                    let mut p = template.clone();
                    p.payment_id = format!("{}-hist-{i}", template.client_id);
                    p.payment_request_id = format!("hist-{i}");
                    p.status = PaymentStatus::Success;
                    p.payer_user_id = Some(PAYER.into());
                    p.created_at = ctx.now();
                    tx.insert_payment(&p)?;
                }
                Ok(())
            })
            .await
            .expect("history");
    }

    /// CPU time the storage writer thread has spent so far, in nanoseconds: read by a job that
    /// runs on that thread (`/proc/thread-self/schedstat`, first field), so other tests' threads
    /// and the HTTP workers do not count.
    pub async fn writer_cpu_ns(&self) -> u64 {
        self.wallet
            .write(|_, _| {
                let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
                Ok(stat
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0))
            })
            .await
            .expect("schedstat")
    }
}
