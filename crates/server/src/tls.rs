//! HTTPS of its own (rustls), for a developer who points the official SDKs at walletd with nothing
//! changed but the host (the Python SDK speaks HTTPS only), and for an operator without a proxy in
//! front. The certificate chain and key are PEM files; the protocol versions are configurable
//! because the AlphaPay document asks for TLS 1.2 only.

use crate::config::TlsConfig;
use anyhow::{bail, Context as _};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// The acceptor for `config`, or `None` when no certificate is configured.
pub fn acceptor(config: &TlsConfig) -> anyhow::Result<Option<TlsAcceptor>> {
    let (cert, key) = match (&config.cert, &config.key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => bail!("tls.cert and tls.key go together: give both (--tls-cert and --tls-key) or neither"),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate chain {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the certificate chain {}", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions(&config.versions)?)
        .context("the TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not go together")?;
    let mut server = server;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

/// The protocol versions named in the configuration (`"1.2"`, `"1.3"`).
fn versions(names: &[String]) -> anyhow::Result<Vec<&'static rustls::SupportedProtocolVersion>> {
    let mut out = Vec::new();
    for name in names {
        let v = match name.trim() {
            "1.2" | "TLSv1.2" => &rustls::version::TLS12,
            "1.3" | "TLSv1.3" => &rustls::version::TLS13,
            other => {
                bail!("tls.versions: {other:?} is not a TLS version walletd serves (\"1.2\" or \"1.3\")")
            }
        };
        if !out
            .iter()
            .any(|o: &&rustls::SupportedProtocolVersion| o.version == v.version)
        {
            out.push(v);
        }
    }
    if out.is_empty() {
        bail!("tls.versions is empty: name \"1.2\", \"1.3\" or both");
    }
    Ok(out)
}
