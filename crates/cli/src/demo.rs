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

/// Where the demo mini program takes its auth codes (registered for the demo client).
const DEMO_REDIRECT_URL: &str = "http://127.0.0.1:9090/auth";

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

/// Where the demo keeps its data, and whether it goes away with the demo.
enum DemoDir {
    /// A fresh temporary folder, removed when the demo stops unless `keep`.
    Temporary { path: std::path::PathBuf, keep: bool },
    /// A folder the user named: never removed; an earlier demo in it is resumed.
    Chosen(std::path::PathBuf),
}

impl DemoDir {
    fn path(&self) -> &Path {
        match self {
            DemoDir::Temporary { path, .. } | DemoDir::Chosen(path) => path,
        }
    }
}

/// The demo merchant's client id; its keys are in a folder of that name in the data directory.
const MERCHANT_ID: &str = "demo-merchant";
const MERCHANT_DIR: &str = MERCHANT_ID;

pub async fn run(
    config_file: Option<&Path>,
    data_dir: Option<&Path>,
    listen: &str,
    keep: bool,
    console_listen: Option<&str>,
    tls: bool,
) -> anyhow::Result<()> {
    let mut config = Config::load(config_file)?;
    config.listen = listen.to_owned();
    config.console_listen = Some(match console_listen {
        Some(c) => c.to_owned(),
        None => next_port(listen)?,
    });
    config.sandbox = true;
    // The demo's merchant (`walletd listen`) runs on this machine.
    config.notifier.allow_private_targets = true;
    let dir = match data_dir {
        Some(d) => DemoDir::Chosen(d.to_path_buf()),
        None => DemoDir::Temporary {
            path: tempfile::Builder::new().prefix("walletd-demo-").tempdir()?.keep(),
            keep,
        },
    };
    let data_dir = dir.path().to_path_buf();
    let merchant_dir = data_dir.join(MERCHANT_DIR);
    let resume = data_dir.join("walletd.sqlite3").exists();
    if resume && !merchant_dir.join("private_key.pem").exists() {
        anyhow::bail!(
            "{} holds a wallet that is not a demo; give the demo an empty directory or one an earlier demo made",
            data_dir.display()
        );
    }
    config.data_dir = data_dir.clone();
    crate::init_logging("text");
    let certificate = if tls {
        let (cert, key) = self_signed_certificate(&data_dir)?;
        config.tls.cert = Some(cert.clone());
        config.tls.key = Some(key);
        Some(cert)
    } else {
        None
    };

    let app = Application::build(config.clone()).await?;
    let base = app.state().public_base_url.to_string();
    let wallet_pub = merchant_dir.join("wallet_public_key.pem");
    if !resume {
        seed(&app, &merchant_dir, &wallet_pub).await?;
    }
    let key = merchant_dir.join("private_key.pem");
    let operator_password = demo_operator(&app).await?;
    let shutdown = walletd_server::shutdown_signal();
    let console = app.state().console_url.as_ref().map(|url| {
        format!("{url}  (sign in as {DEMO_OPERATOR}, password {operator_password}; a new one each start)")
    });
    print_walkthrough(&base, &dir, resume, &key, &wallet_pub, console.as_deref());
    if let Some(cert) = certificate {
        print_trust(&cert);
    }
    let served = app.run_until_stopped(shutdown).await;
    if let DemoDir::Temporary { path, keep: false } = &dir {
        match std::fs::remove_dir_all(path) {
            Ok(()) => eprintln!("removed the demo's data in {}", path.display()),
            Err(e) => eprintln!("could not remove {}: {e}", path.display()),
        }
    }
    served
}

/// Registers the demo merchant (its keys written below `merchant_dir`) and the demo users.
async fn seed(app: &Application, merchant_dir: &Path, wallet_pub: &Path) -> anyhow::Result<()> {
    let wallet = app.state().wallet.clone();
    let merchant_key = crate::generate_keys(Algorithm::Rsa256, merchant_dir)?;
    let mut client = Client::new(MERCHANT_ID, "Demo Tea House", wallet.now());
    client.partner_id = "2160120000000001".into();
    client.app_ids = vec!["3160120000000001".into()];
    // The consent page sends auth codes only to registered addresses: the demo's mini program
    // "lives" where `walletd listen` runs.
    client.redirect_urls = vec![DEMO_REDIRECT_URL.into()];
    client.add_key("RSA256", &merchant_key.public_key().to_spki_pem(), wallet.now());
    wallet.add_client(client).await?;
    std::fs::write(wallet_pub, app.state().wallet_key.public_key().to_spki_pem())?;

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
    Ok(())
}

/// A certificate for `localhost` and `127.0.0.1`, made once in `data_dir/tls/` and reused when the
/// demo resumes. Returns the certificate and key files.
fn self_signed_certificate(data_dir: &Path) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).context("making a self-signed certificate")?;
    std::fs::write(&cert, made.cert.pem()).with_context(|| format!("writing {}", cert.display()))?;
    walletd_server::wallet_key::write_private(&key, &made.key_pair.serialize_pem())?;
    Ok((cert, key))
}

/// How to make the usual clients trust the demo's self-signed certificate.
fn print_trust(cert: &Path) {
    let cert = cert.display();
    let text = format!(
        r#"HTTPS: the demo serves a self-signed certificate for localhost and 127.0.0.1 ({cert}).
Trust it in the client, not system-wide:

  curl --cacert {cert} …
  export SSL_CERT_FILE={cert} REQUESTS_CA_BUNDLE={cert}   # Python (requests, the official SDK), OpenSSL tools
  export NODE_EXTRA_CA_CERTS={cert}                       # Node.js
  keytool -importcert -alias walletd-demo -file {cert} -keystore demo-truststore.jks   # Java

The official Python SDK speaks HTTPS on port 443 only: run `walletd demo --tls --listen 127.0.0.1:443`
as a user allowed to bind it (root, or `setcap cap_net_bind_service=+ep` on the binary).
"#
    );
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The demo's console operator.
const DEMO_OPERATOR: &str = "demo-operator";

/// The console address of a demo listening on `listen`: the next port (8080 → 8081), or any free
/// port when `listen` asks for one (port 0).
fn next_port(listen: &str) -> anyhow::Result<String> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:8080"))?;
    let port = match addr.port() {
        0 => 0,
        p => p
            .checked_add(1)
            .context("--listen's port is the last one; give --console-listen")?,
    };
    Ok(std::net::SocketAddr::new(addr.ip(), port).to_string())
}

/// Makes (or re-keys) the demo's operator with a new random password, and returns it.
async fn demo_operator(app: &Application) -> anyhow::Result<String> {
    use rand::RngCore as _;
    let mut raw = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let password: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let hash = walletd_server::pin::hash_pin(&password).map_err(anyhow::Error::msg)?;
    app.state()
        .wallet
        .write(move |ctx, tx| {
            let operator = walletd_core::operators::Operator {
                name: DEMO_OPERATOR.into(),
                password_hash: hash.clone(),
                failed_attempts: 0,
                created_at: ctx.now(),
            };
            match tx.get_operator(DEMO_OPERATOR)? {
                Some(_) => tx.update_operator(&operator)?,
                None => tx.insert_operator(&operator)?,
            }
            Ok(())
        })
        .await?;
    Ok(password)
}

/// Prints where everything is and the commands of the tour.
fn print_walkthrough(
    base: &str,
    dir: &DemoDir,
    resumed: bool,
    key: &Path,
    wallet_pub: &Path,
    console: Option<&str>,
) {
    let data_dir = dir.path();
    let lifetime = match dir {
        DemoDir::Temporary { keep: false, .. } => "removed when the demo stops; --keep keeps it",
        DemoDir::Temporary { keep: true, .. } => "kept when the demo stops",
        DemoDir::Chosen(_) => "kept; run the demo with the same --data-dir to resume",
    };
    let mut text = String::new();
    if resumed {
        text.push_str(&format!(
            "\nResuming the demo in {} (its merchant, users and payments as they were).\n",
            data_dir.display()
        ));
    }
    text.push_str(&setting_text(base, data_dir, lifetime, key, wallet_pub, console));
    text.push_str(&tour_text(base, data_dir, key, wallet_pub));
    text.push_str(SANDBOX_AMOUNTS_TEXT);
    // One write, and a reader that went away (`walletd demo | head`) does not stop the demo.
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Where the demo runs and what it holds: the URL, the data folder and its lifetime, the demo
/// merchant's ids and key files, the demo users and the operator console.
fn setting_text(
    base: &str,
    data_dir: &Path,
    lifetime: &str,
    key: &Path,
    wallet_pub: &Path,
    console: Option<&str>,
) -> String {
    format!(
        r#"
walletd demo is running at {base}  (sandbox mode; data in {data}, {lifetime})

Demo merchant: client id demo-merchant, partnerId 2160120000000001, appId 3160120000000001
  its keys:    {key}
  wallet key:  {wallet_pub}
Demo users:    alice (login +15550000001, PIN 123456, 500.00 USD), bob (+15550000002, PIN 654321, 5.00 USD)
Operator console: {console}
"#,
        data = data_dir.display(),
        key = key.display(),
        wallet_pub = wallet_pub.display(),
        console = console.unwrap_or("off"),
    )
}

/// The tour, as the merchant in a second terminal: the export line, then listening for
/// notifications, a pay, the cashier, an inquiry, a refund and the books, a user's consent and
/// the whole flows of `walletd trigger`.
fn tour_text(base: &str, data_dir: &Path, key: &Path, wallet_pub: &Path) -> String {
    format!(
        r#"
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

5. A user's consent (my.getAuthCode): open this in a browser, sign in as alice and allow; the auth code
   goes back only to a redirect URL the client registered ({redirect}):

  {base}/oauth/authorize?clientId=demo-merchant&appId=3160120000000001&scopes=auth_user,USER_NICKNAME&redirectUrl={redirect}&state=demo

6. Whole flows in one command (same export line), e.g. payment.failed, refund.failed, notification.refused:

  walletd trigger payment.succeeded
"#,
        data = data_dir.display(),
        key = key.display(),
        wallet_pub = wallet_pub.display(),
        redirect = DEMO_REDIRECT_URL,
    )
}

/// The reserved sandbox amounts and their answers, where to turn when a signature does not
/// verify, and how to stop.
const SANDBOX_AMOUNTS_TEXT: &str = r#"
Sandbox amounts (value in minor units): pay 9901 RISK_REJECT, 9902 USER_STATUS_ABNORMAL, 9903 U/UNKNOWN_EXCEPTION,
9904 USER_BALANCE_NOT_ENOUGH, 9905 U/PAYMENT_IN_PROCESS; refund 9911 REFUND_AMOUNT_EXCEED,
9912 PARTNER_BALANCE_NOT_ENOUGH, 9913 U (refund made); capture 9921 CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT,
9922 AUTH_EXPIRED, 9923 U (capture made). A signature that does not verify? `walletd explain`.
Ctrl-C stops the demo.
"#;
