//! HTTPS of walletd's own: a signed request over TLS gets a signed answer, the cashier link is
//! https, and the protocol versions offered are the configured ones.

use crate::helpers::*;
use crate::payments::v2;
use std::path::PathBuf;
use walletd_client::MiniProgramClient;
use walletd_testkit::tls::SelfSigned;

/// A self-signed certificate for 127.0.0.1 in `dir`: (certificate PEM file, key PEM file, the
/// certificate for the client to trust).
fn certificate(dir: &std::path::Path) -> (PathBuf, PathBuf, SelfSigned) {
    let made = SelfSigned::in_dir(dir);
    (made.cert.clone(), made.key.clone(), made)
}

fn https_client(trusted: &SelfSigned, version: reqwest::tls::Version) -> reqwest::Client {
    trusted.client(version)
}

#[tokio::test]
async fn a_signed_request_over_tls_gets_a_signed_answer_and_an_https_cashier_link() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key, trusted) = certificate(dir.path());
    let app = spawn_app_with(|c| {
        c.tls.cert = Some(cert.clone());
        c.tls.key = Some(key.clone());
    })
    .await;
    let base = format!("https://127.0.0.1:{}", app.port);
    for version in [reqwest::tls::Version::TLS_1_2, reqwest::tls::Version::TLS_1_3] {
        let merchant = MiniProgramClient::new(
            &base,
            CLIENT_ID,
            merchant_key().clone(),
            app.wallet_public_key.clone(),
        )
        .with_http_client(https_client(&trusted, version));
        let answer = merchant
            .pay_v2(&v2(&format!("tls-{version:?}"), "1250"))
            .await
            .expect("a verified answer over TLS");
        assert_eq!(answer.result.result_code, "ACCEPT");
        let link = answer.redirect_action_form.expect("form").redirect_url;
        assert!(link.starts_with(&format!("{base}/cashier/")), "{link}");
    }
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::get(format!("http://127.0.0.1:{}/healthz", app.port)).await;
    assert!(plain.is_err() || !plain.expect("answer").status().is_success());
}

#[tokio::test]
async fn only_the_configured_tls_versions_are_offered() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key, trusted) = certificate(dir.path());
    let app = spawn_app_with(|c| {
        c.tls.cert = Some(cert.clone());
        c.tls.key = Some(key.clone());
        c.tls.versions = vec!["1.2".into()];
    })
    .await;
    let url = format!("https://127.0.0.1:{}/healthz", app.port);
    let tls12 = https_client(&trusted, reqwest::tls::Version::TLS_1_2)
        .get(&url)
        .send()
        .await
        .expect("TLS 1.2 is served");
    assert_eq!(tls12.status(), 200);
    let tls13 = https_client(&trusted, reqwest::tls::Version::TLS_1_3)
        .get(&url)
        .send()
        .await;
    assert!(
        tls13.is_err(),
        "TLS 1.3 must be refused when only 1.2 is configured"
    );
}

#[tokio::test]
async fn a_certificate_without_its_key_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, _, _) = certificate(dir.path());
    let data = tempfile::tempdir().expect("data");
    let mut config = walletd_server::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data.path().to_path_buf(),
        ..walletd_server::Config::default()
    };
    config.tls.cert = Some(cert);
    let err = walletd_server::Application::build(config)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("tls.cert and tls.key go together"),
        "{err}"
    );
}
