//! `walletd demo`: a sandbox wallet in a fresh data directory with a demo merchant (its keys on
//! disk) and demo users with balances, plus a copy-paste walkthrough of one payment.

use anyhow::Context as _;
use std::path::Path;
use walletd_core::parties::{Client, User};
use walletd_protocol::crypto::Algorithm;
use walletd_protocol::{Amount, Currency};
use walletd_server::{Application, Config};

/// A demo wallet user and what they start with.
struct DemoUser {
    id: &'static str,
    login: &'static str,
    name: &'static str,
    pin: &'static str,
    top_ups: &'static [(&'static str, &'static str)],
}

const USERS: &[DemoUser] = &[
    DemoUser {
        id: "alice",
        login: "+15550000001",
        name: "Alice Rivera",
        pin: "123456",
        top_ups: &[("USD", "500.00"), ("PHP", "25000.00"), ("JPY", "30000")],
    },
    DemoUser {
        id: "bob",
        login: "+15550000002",
        name: "Bob Santos",
        pin: "654321",
        top_ups: &[("USD", "5.00")],
    },
];

pub async fn run(config_file: Option<&Path>, data_dir: Option<&Path>, listen: &str) -> anyhow::Result<()> {
    let mut config = Config::load(config_file)?;
    config.listen = listen.to_owned();
    config.sandbox = true;
    // The demo's merchant (`walletd listen`) runs on this machine.
    config.notifier.allow_private_targets = true;
    let data_dir = match data_dir {
        Some(d) => d.to_path_buf(),
        None => tempfile::Builder::new().prefix("walletd-demo-").tempdir()?.keep(),
    };
    if data_dir.join("walletd.sqlite3").exists() {
        anyhow::bail!(
            "{} already holds a wallet; the demo wants a fresh directory",
            data_dir.display()
        );
    }
    config.data_dir = data_dir.clone();
    crate::init_logging("text");

    let app = Application::build(config.clone()).await?;
    let wallet = app.state().wallet.clone();
    let base = app.state().public_base_url.to_string();

    let merchant_dir = data_dir.join("demo-merchant");
    let merchant_key = crate::generate_keys(Algorithm::Rsa256, &merchant_dir)?;
    let mut client = Client::new("demo-merchant", "Demo Tea House", wallet.now());
    client.partner_id = "2160120000000001".into();
    client.app_ids = vec!["3160120000000001".into()];
    client.add_key("RSA256", &merchant_key.public_key().to_spki_pem(), wallet.now());
    wallet.add_client(client).await?;
    let wallet_pub = merchant_dir.join("wallet_public_key.pem");
    std::fs::write(&wallet_pub, app.state().wallet_key.public_key().to_spki_pem())?;

    for d in USERS {
        let mut u = User::new(d.id, d.login, d.name, wallet.now());
        u.pin_hash = Some(walletd_server::pin::hash_pin(d.pin).map_err(anyhow::Error::msg)?);
        wallet.add_user(u).await?;
        for (cur, amount) in d.top_ups {
            let cur: Currency = cur.parse()?;
            wallet
                .top_up(d.id, Amount::parse_decimal(cur, amount)?)
                .await
                .context("demo top-up")?;
        }
    }

    let key = merchant_dir.join("private_key.pem");
    println!(
        r#"
walletd demo is running at {base}  (sandbox mode; data in {data})

Demo merchant: client id demo-merchant, partnerId 2160120000000001, appId 3160120000000001
  its keys:    {key}
  wallet key:  {wallet_pub}
Demo users:    alice (login +15550000001, PIN 123456, 500.00 USD), bob (+15550000002, PIN 654321, 5.00 USD)

In a second terminal, be the merchant:

  export WALLETD_URL={base} WALLETD_CLIENT_ID=demo-merchant WALLETD_KEY={key} WALLETD_WALLET_KEY={wallet_pub} WALLETD_DATA_DIR={data}

0. Receive the merchant's notifications (a third terminal, same export line): it verifies, prints and acknowledges them.

  walletd listen --listen 127.0.0.1:9090

1. Ask for 12.50 USD (a signed request; the answer's signature is checked):

  walletd call /api/v2/payments/pay --body '{{"appId":"3160120000000001","paymentRequestId":"demo-1","paymentAmount":{{"currency":"USD","value":"1250"}},"order":{{"referenceOrderId":"order-1","orderDescription":"Two cups of tea"}},"paymentNotifyUrl":"http://127.0.0.1:9090/notify"}}'

   The answer is A/ACCEPT with a paymentId and a redirectUrl to the cashier page.

2. Pay: open the redirectUrl in a browser and sign in as alice (+15550000001, PIN 123456), then press Pay.
   (As bob you would see "not enough balance".) Without a browser:

  walletd admin payment confirm <paymentId> --user alice

   The listen terminal prints the signed notifyPayment; `walletd admin notification list` shows it DELIVERED.

3. Ask how it went:

  walletd call /api/v2/payments/inquiryPayment --body '{{"paymentId":"<paymentId>"}}'

4. A partial refund, and the books:

  walletd call /api/v2/payments/refund --body '{{"refundRequestId":"demo-r1","paymentId":"<paymentId>","refundAmount":{{"currency":"USD","value":"250"}}}}'
  walletd admin balance
  walletd admin verify

Sandbox amounts (value in minor units): 9901 RISK_REJECT, 9902 USER_STATUS_ABNORMAL, 9903 U/UNKNOWN_EXCEPTION,
9904 USER_BALANCE_NOT_ENOUGH, 9905 U/PAYMENT_IN_PROCESS. A signature that does not verify? `walletd explain`.
Ctrl-C stops the demo.
"#,
        data = data_dir.display(),
        key = key.display(),
        wallet_pub = wallet_pub.display(),
    );
    app.run_until_stopped(walletd_server::shutdown_signal()).await
}
