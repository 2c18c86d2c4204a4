//! The cashier's secret: 64 random bytes in the data directory (mode 0600), made on first start.
//!
//! Sessions are stateless: a sign-in is a cookie signed with this secret (HMAC-SHA256, through
//! `axum-extra`'s signed cookie jar) that names the payment, the user and an expiry. Nothing is
//! stored per session, so nothing has to be cleaned up, and several walletd nodes that share the
//! secret file (as they share the wallet key) accept each other's sign-ins. The price is that a
//! sign-in cannot be revoked before it expires; it is short (`cashier.session_ttl_secs`), bound to
//! one payment, and every use re-reads the user, so a frozen or locked user is refused at once.
//!
//! CSRF tokens are HMACs of a per-browser random id (the visitor cookie) and the payment id under
//! a key derived from the same secret, so a form token is only good in the browser it was given to.

use anyhow::Context as _;
use axum_extra::extract::cookie::Key;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use std::path::{Path, PathBuf};

type HmacSha256 = Hmac<Sha256>;

/// The file the secret lives in.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join("cashier_secret")
}

const SECRET_LEN: usize = 64;

/// Keys derived from the cashier secret.
#[derive(Clone)]
pub struct CashierSecrets {
    cookie_key: Key,
    csrf_key: [u8; 32],
    /// The operator console's cookie key: derived apart, so that no cashier cookie is ever a
    /// console cookie (cookies do not tell ports apart).
    console_cookie_key: Key,
}

impl CashierSecrets {
    /// Reads the secret from `data_dir`, making it if there is none.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<CashierSecrets> {
        crate::data_dir::prepare(data_dir)?;
        let path = secret_path(data_dir);
        if !path.exists() {
            let mut bytes = [0u8; SECRET_LEN];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            // Another process may have made it in the meantime: then we read theirs below.
            if let Err(e) = crate::wallet_key::write_private(&path, &STANDARD.encode(bytes)) {
                if !path.exists() {
                    return Err(e);
                }
            }
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let bytes = STANDARD
            .decode(text.trim())
            .with_context(|| format!("{} is not base64", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("{} is not a cashier secret", path.display()))
    }

    /// Keys from a secret of at least 64 bytes.
    pub fn from_bytes(secret: &[u8]) -> anyhow::Result<CashierSecrets> {
        anyhow::ensure!(
            secret.len() >= SECRET_LEN,
            "the secret must have {SECRET_LEN} bytes or more"
        );
        let cookie_key = Key::try_from(secret).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut mac = HmacSha256::new_from_slice(secret).map_err(|e| anyhow::anyhow!("{e}"))?;
        mac.update(b"walletd cashier csrf key");
        let csrf_key: [u8; 32] = mac.finalize().into_bytes().into();
        let mut console = Vec::with_capacity(64);
        for part in [
            &b"walletd console cookie key 1"[..],
            b"walletd console cookie key 2",
        ] {
            let mut mac = HmacSha256::new_from_slice(secret).map_err(|e| anyhow::anyhow!("{e}"))?;
            mac.update(part);
            console.extend_from_slice(&mac.finalize().into_bytes());
        }
        let console_cookie_key = Key::try_from(&console[..]).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(CashierSecrets {
            cookie_key,
            csrf_key,
            console_cookie_key,
        })
    }

    pub(crate) fn cookie_key(&self) -> Key {
        self.cookie_key.clone()
    }

    pub(crate) fn console_cookie_key(&self) -> Key {
        self.console_cookie_key.clone()
    }

    fn csrf_mac(&self, visitor_id: &str, payment_id: &str) -> HmacSha256 {
        // The key has a fixed length, which HMAC always accepts.
        let mut mac = HmacSha256::new_from_slice(&self.csrf_key).unwrap_or_else(|_| unreachable!());
        mac.update(visitor_id.as_bytes());
        mac.update(b"\0");
        mac.update(payment_id.as_bytes());
        mac
    }

    /// The CSRF token of the forms about `payment_id` shown to `visitor_id`.
    pub fn csrf_token(&self, visitor_id: &str, payment_id: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.csrf_mac(visitor_id, payment_id).finalize().into_bytes())
    }

    /// True if `token` is the CSRF token of `visitor_id` and `payment_id` (constant-time check).
    pub fn csrf_ok(&self, visitor_id: &str, payment_id: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token) {
            Ok(raw) => self.csrf_mac(visitor_id, payment_id).verify_slice(&raw).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_is_good_for_its_visitor_and_payment_only() {
        let s = CashierSecrets::from_bytes(&[7u8; 64]).unwrap();
        let t = s.csrf_token("visitor-a", "pay-1");
        assert!(s.csrf_ok("visitor-a", "pay-1", &t));
        assert!(!s.csrf_ok("visitor-b", "pay-1", &t));
        assert!(!s.csrf_ok("visitor-a", "pay-2", &t));
        assert!(!s.csrf_ok("visitor-a", "pay-1", ""));
        assert!(!s.csrf_ok("visitor-a", "pay-1", "not base64 !"));
        let other = CashierSecrets::from_bytes(&[8u8; 64]).unwrap();
        assert!(!other.csrf_ok("visitor-a", "pay-1", &t));
    }

    #[test]
    fn the_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = CashierSecrets::load_or_create(dir.path()).unwrap();
        let b = CashierSecrets::load_or_create(dir.path()).unwrap();
        assert_eq!(a.csrf_token("v", "p"), b.csrf_token("v", "p"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(secret_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(CashierSecrets::from_bytes(&[1u8; 32]).is_err());
    }
}
