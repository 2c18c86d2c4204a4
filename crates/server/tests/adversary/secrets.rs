//! Secrets stay secret: the data directory is private (0700, files 0600, fixed at start), store
//! secrets are sealed at rest under `store_secret_key` (clear ones sealed at start), and no log
//! line — at any `RUST_LOG` level, on SQLite or PostgreSQL — carries a PIN hash, a store secret,
//! a token or a signature.

use crate::core_harness::*;
use serde_json::{json, Value};
use std::path::Path;
use walletd_client::RequestOptions;
use walletd_core::store::{StoreKey, StoreKeyMode, SEALED_SECRET_PREFIX};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every file of the data directory with its mode.
#[cfg(unix)]
fn file_modes(dir: &Path) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), mode(&e.path())))
        .collect();
    out.sort();
    out
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_private_and_too_open_modes_are_fixed_at_start() {
    captured_logs();
    let app = spawn_core_app().await;
    // Some writes, so that the SQLite write-ahead log and shared memory files exist.
    let (key, _) = app.make_store().await;
    let v = app.store_call(&key, "get_credit", "3", &[]).await;
    assert!(v.get("data").is_some(), "{v}");
    let dir = app.data_dir().to_path_buf();
    assert_eq!(mode(&dir), 0o700, "the data directory");
    let files = file_modes(&dir);
    for expected in [
        "walletd.sqlite3",
        "wallet_private_key.pem",
        "cashier_secret",
        "store_secret_key",
    ] {
        assert!(
            files.iter().any(|(n, _)| n == expected),
            "{expected} missing: {files:?}"
        );
    }
    assert!(files.iter().any(|(n, _)| n.ends_with("-wal")), "{files:?}");
    for (name, m) in &files {
        assert_eq!(*m, 0o600, "{name} is {m:o}");
    }

    // An operator's copy left things open; the next start closes them and says so.
    set_mode(&dir, 0o755);
    set_mode(&dir.join("walletd.sqlite3"), 0o644);
    set_mode(&dir.join("store_secret_key"), 0o644);
    let again = walletd_server::open_wallet(
        &app.config,
        std::sync::Arc::new(walletd_core::clock::SystemClock),
        std::sync::Arc::new(walletd_core::clock::RandomIds::default()),
    )
    .expect("reopen");
    drop(again);
    assert_eq!(mode(&dir), 0o700);
    for (name, m) in file_modes(&dir) {
        assert_eq!(m, 0o600, "{name} is {m:o} after a restart");
    }
    let logs = log_text();
    for file in ["walletd.sqlite3", "store_secret_key"] {
        let path = dir.join(file).display().to_string();
        assert!(
            logs.lines()
                .any(|l| l.contains("restricted it") && l.contains(&path) && l.contains("was=644")),
            "no log line says {path} was restricted"
        );
    }
}

#[tokio::test]
async fn a_copied_database_reveals_no_store_secret() {
    let app = spawn_core_app().await;
    let (key, _) = app.make_store().await;
    assert!(!key.secret.is_empty() && !key.secret.starts_with(SEALED_SECRET_PREFIX));
    // The key works: the store can call with it.
    let v = app.store_call(&key, "get_credit", "3", &[]).await;
    assert!(v.get("data").is_some(), "{v}");
    // What the database holds is sealed.
    let id = key.key_id.clone();
    let stored = app
        .wallet
        .read(move |_, tx| Ok(tx.get_store_key(&id)?))
        .await
        .expect("read")
        .expect("stored key");
    assert!(
        stored.secret.starts_with(SEALED_SECRET_PREFIX),
        "{}",
        stored.secret
    );
    assert!(!stored.secret.contains(&key.secret));
    // Byte for byte, nothing in the database files holds the secret.
    let dir = app.data_dir().to_path_buf();
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("walletd.sqlite3") {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes
                    .windows(key.secret.len())
                    .any(|w| w == key.secret.as_bytes()),
                "{name} holds the store secret in clear"
            );
        }
    }
    // A listing shows no secret either.
    let listed = app.wallet.store_list_keys(None).await.expect("list");
    assert!(listed.iter().all(|k| k.secret.is_empty()), "{listed:?}");
    // The same sealed value under another key id does not open.
    let (moved_id, client) = ("f".repeat(32), stored.client_id.clone());
    let sealed = stored.secret.clone();
    let moved = StoreKey {
        key_id: moved_id.clone(),
        client_id: client,
        secret: sealed,
        mode: StoreKeyMode::Hmac,
        expiration_secs: 300,
        sections: vec!["store".into()],
        revoked: false,
        created_at: stored.created_at,
        revoked_at: None,
    };
    app.wallet
        .write(move |_, tx| Ok(tx.insert_store_key(&moved)?))
        .await
        .expect("raw insert");
    assert!(app.wallet.store_key(&moved_id).await.is_err());
}

#[tokio::test]
async fn store_secrets_stored_in_clear_are_sealed_at_start() {
    captured_logs();
    let app = spawn_core_app().await;
    app.make_store().await;
    // A key written before sealing existed: its secret in clear.
    let clear = StoreKey {
        key_id: "0123456789abcdef0123456789abcdef".into(),
        client_id: MERCHANT.into(),
        secret: "a-clear-secret-from-an-older-walletd-0001".into(),
        mode: StoreKeyMode::Hmac,
        expiration_secs: 300,
        sections: vec!["store".into()],
        revoked: false,
        created_at: app.wallet.now(),
        revoked_at: None,
    };
    let raw = clear.clone();
    app.wallet
        .write(move |_, tx| Ok(tx.insert_store_key(&raw)?))
        .await
        .expect("raw insert");
    // The next start seals it.
    let mut config = app.config.clone();
    config.listen = "127.0.0.1:0".into();
    let restarted = walletd_server::Application::build_with_wallet(config, app.wallet.clone())
        .await
        .expect("restart");
    let id = clear.key_id.clone();
    let stored = app
        .wallet
        .read(move |_, tx| Ok(tx.get_store_key(&id)?))
        .await
        .expect("read")
        .expect("key");
    assert!(
        stored.secret.starts_with(SEALED_SECRET_PREFIX),
        "{}",
        stored.secret
    );
    assert!(!stored.secret.contains(&clear.secret));
    assert!(
        log_text()
            .lines()
            .any(|l| l.contains("sealed them under store_secret_key")),
        "the start must say it sealed clear secrets"
    );
    // And the key keeps working with the same secret.
    let opened = app
        .wallet
        .store_key(&clear.key_id)
        .await
        .expect("open")
        .expect("key");
    assert_eq!(opened.secret, clear.secret);
    let v = app.store_call(&clear, "get_credit", "3", &[]).await;
    assert!(v.get("data").is_some(), "{v}");
    drop(restarted);
}

/// A browser with cookies, for the cashier pages.
fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("browser")
}

fn csrf(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("no form: {page}")) + marker.len();
    let end = page[start..].find('"').expect("end") + start;
    page[start..end].to_owned()
}

async fn cashier_post(
    browser: &reqwest::Client,
    app: &CoreApp,
    payment_id: &str,
    action: &str,
    form: &[(&str, &str)],
) {
    let page = browser
        .get(format!("{}/cashier/{payment_id}", app.base_url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page body");
    let token = csrf(&page);
    let mut fields = vec![("csrf_token", token.as_str())];
    fields.extend_from_slice(form);
    let r = browser
        .post(format!("{}/cashier/{payment_id}/{action}", app.base_url))
        .form(&fields)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303, "{action}");
}

/// A signed call that also hands back the signatures of the request and of the answer.
async fn signed_call(app: &CoreApp, api: &str, body: Value) -> (Value, Vec<String>) {
    let x = app
        .merchant
        .exchange(
            api,
            serde_json::to_vec(&body).expect("json"),
            &RequestOptions::default(),
        )
        .await
        .expect("exchange");
    let mut signatures = Vec::new();
    for (name, value) in &x.request_headers {
        if name.eq_ignore_ascii_case("signature") {
            signatures.push(value.clone());
        }
    }
    if let Some(v) = x.headers.get("signature") {
        signatures.push(v.to_str().expect("header").to_owned());
    }
    let signatures = signatures
        .into_iter()
        .filter_map(|h| h.split("signature=").nth(1).map(str::to_owned))
        .collect();
    (serde_json::from_slice(&x.body).expect("json"), signatures)
}

/// Pays, signs in with a PIN (a wrong one first), uses a store key, exchanges and refreshes
/// tokens and pays with one; returns every secret that went by, by name.
async fn full_flow(app: &CoreApp) -> Vec<(String, String)> {
    let mut secrets = Vec::new();
    let pin_hash = app
        .wallet
        .get_user("alice")
        .await
        .expect("user")
        .expect("alice")
        .pin_hash
        .expect("pin hash");
    secrets.push(("PIN hash".to_owned(), pin_hash));

    // A store key, used.
    let (key, _) = app.make_store().await;
    let (v, signature) = app.store_call_signed(&key, "get_credit", "3", &[]).await;
    assert!(v.get("data").is_some(), "{v}");
    secrets.push(("store secret".into(), key.secret.clone()));
    secrets.push(("store request signature".into(), signature));

    // A cashier payment, paid after a PIN sign-in (a wrong PIN first).
    let (pay, signatures) = signed_call(
        app,
        "v2/payments/pay",
        json!({"appId": APP_ID, "productCode": "CASHIER_PAYMENT", "paymentRequestId": "log-1",
            "paymentAmount": {"currency": "USD", "value": "1200"},
            "order": {"referenceOrderId": "log-1", "orderDescription": "Tea"}}),
    )
    .await;
    assert_eq!(result_code(&pay), "ACCEPT", "{pay}");
    for s in signatures {
        secrets.push(("Mini Program signature".into(), s));
    }
    let payment_id = pay["paymentId"].as_str().expect("paymentId").to_owned();
    let browser = visitor();
    cashier_post(
        &browser,
        app,
        &payment_id,
        "sign-in",
        &[("login", ALICE_LOGIN), ("pin", "000000")],
    )
    .await;
    cashier_post(
        &browser,
        app,
        &payment_id,
        "sign-in",
        &[("login", ALICE_LOGIN), ("pin", PIN)],
    )
    .await;
    cashier_post(&browser, app, &payment_id, "pay", &[]).await;
    let paid = app
        .wallet
        .get_payment(&payment_id)
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(
        paid.status,
        walletd_core::payments::PaymentStatus::Success,
        "{paid:?}"
    );

    // applyToken, a payment with the token, a refresh.
    let tokens = app
        .grant(
            &app.merchant,
            MERCHANT,
            APP_ID,
            "alice",
            "AGREEMENT_PAY",
            &[("USD", 5000)],
        )
        .await;
    let access = tokens["accessToken"].as_str().expect("access").to_owned();
    let refresh = tokens["refreshToken"].as_str().expect("refresh").to_owned();
    let (agreement, signatures) = signed_call(
        app,
        "v2/payments/pay",
        json!({"appId": APP_ID, "productCode": "AGREEMENT_PAYMENT", "paymentRequestId": "log-2",
            "paymentAmount": {"currency": "USD", "value": "300"},
            "order": {"referenceOrderId": "log-2", "orderDescription": "Tea"},
            "paymentAuthCode": access,
            "paymentFactor": {"isAgreementPay": true}}),
    )
    .await;
    assert_eq!(result_code(&agreement), "SUCCESS", "{agreement}");
    for s in signatures {
        secrets.push(("Mini Program signature".into(), s));
    }
    let rotated = app
        .call(
            "v2/authorizations/applyToken",
            json!({"appId": APP_ID, "authClientId": MERCHANT, "grantType": "REFRESH_TOKEN", "refreshToken": refresh}),
        )
        .await;
    assert_eq!(result_code(&rotated), "SUCCESS", "{rotated}");
    secrets.push(("access token".into(), access));
    secrets.push(("refresh token".into(), refresh));
    secrets.push((
        "rotated access token".into(),
        rotated["accessToken"].as_str().expect("access").to_owned(),
    ));
    secrets
}

fn assert_no_secret_logged(secrets: &[(String, String)]) {
    let logs = log_text();
    assert!(
        logs.contains("mini program request"),
        "the capture must see walletd's own events"
    );
    assert!(!logs.contains("$argon2"), "a PIN hash reached the log");
    for (what, value) in secrets {
        assert!(value.len() >= 16, "{what} is too short to grep for: {value:?}");
        // The signature travels URL-encoded in headers; look for both forms.
        let decoded = value.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=");
        for form in [value.as_str(), decoded.as_str()] {
            if let Some(at) = logs.find(form) {
                let line = logs[..at].rsplit('\n').next().unwrap_or("");
                panic!("the {what} reached the log: …{line}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_carries_a_pin_hash_secret_token_or_signature_on_sqlite() {
    captured_logs();
    let app = spawn_core_app().await;
    let secrets = full_flow(&app).await;
    assert_no_secret_logged(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_carries_a_pin_hash_secret_token_or_signature_on_postgres() {
    captured_logs();
    let Some(pg) = postgres_schema() else {
        return;
    };
    let app = spawn_core_app_with(Some(pg), |_| {}).await;
    let secrets = full_flow(&app).await;
    assert_no_secret_logged(&secrets);
}

#[tokio::test]
async fn a_node_with_another_store_secret_key_refuses_to_start() {
    let app = spawn_core_app().await;
    app.make_store().await;
    let path = app.data_dir().join("store_secret_key");
    std::fs::remove_file(&path).expect("remove the key file");
    // A new node's data directory: the same database, a key of its own.
    let other = walletd_server::open_wallet(
        &app.config,
        std::sync::Arc::new(walletd_core::clock::SystemClock),
        std::sync::Arc::new(walletd_core::clock::RandomIds::default()),
    )
    .expect("open");
    let mut config = app.config.clone();
    config.listen = "127.0.0.1:0".into();
    let refused = walletd_server::Application::build_with_wallet(config, other).await;
    let message = format!("{:#}", refused.err().expect("the node must refuse to start"));
    assert!(
        message.contains("every node must share the same file"),
        "{message}"
    );
}
