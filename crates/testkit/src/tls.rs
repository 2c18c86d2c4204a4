//! HTTPS for tests: a self-signed certificate walletd serves and a client that trusts it.

use std::path::{Path, PathBuf};

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
pub struct SelfSigned {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The certificate for a client to trust.
    pub trusted: reqwest::Certificate,
}

impl SelfSigned {
    /// Makes one and writes `cert.pem` and `key.pem` in `dir`.
    pub fn in_dir(dir: &Path) -> SelfSigned {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("certificate");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).expect("write cert");
        std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
        let trusted = reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).expect("pem");
        SelfSigned { cert, key, trusted }
    }

    /// An HTTPS-only client that trusts this certificate and speaks exactly `version`.
    pub fn client(&self, version: reqwest::tls::Version) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(self.trusted.clone())
            .https_only(true)
            .min_tls_version(version)
            .max_tls_version(version)
            .build()
            .expect("client")
    }
}
