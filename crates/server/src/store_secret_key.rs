//! The key that seals store API secrets at rest: 32 random bytes in the data directory
//! (`store_secret_key`, mode 0600), made on first start. Store secrets are sealed with
//! AES-256-GCM under it (a fresh 96-bit nonce per secret, the key id and client id as associated
//! data), so the database alone — a copy, a dump, a backup — reveals no secret.
//!
//! With PostgreSQL every node must have the same file, as it has the same
//! `wallet_private_key.pem`; a node with another key cannot open the secrets (and says so).

use anyhow::Context as _;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::path::{Path, PathBuf};
use walletd_core::store::{StoreSecretSealer, SEALED_SECRET_PREFIX};

/// The file the key lives in.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("store_secret_key")
}

const KEY_LEN: usize = 32;

/// AES-256-GCM under the data directory's store secret key.
pub struct StoreSecretKey {
    key: LessSafeKey,
}

impl StoreSecretKey {
    /// Reads the key from `data_dir`, making it (mode 0600) if there is none.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<StoreSecretKey> {
        let path = key_path(data_dir);
        if !path.exists() {
            let mut bytes = [0u8; KEY_LEN];
            aws_lc_rs::rand::fill(&mut bytes)
                .map_err(|_| anyhow::anyhow!("no randomness for the store secret key"))?;
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
        Self::from_bytes(&bytes).with_context(|| format!("{} is not a store secret key", path.display()))
    }

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<StoreSecretKey> {
        anyhow::ensure!(bytes.len() == KEY_LEN, "the key must have {KEY_LEN} bytes");
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| anyhow::anyhow!("not an AES-256 key"))?;
        Ok(StoreSecretKey {
            key: LessSafeKey::new(unbound),
        })
    }
}

impl StoreSecretSealer for StoreSecretKey {
    fn seal(&self, aad: &[u8], secret: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| "no randomness for a nonce".to_owned())?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut data)
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED_SECRET_PREFIX}{}", STANDARD.encode(out)))
    }

    fn open(&self, aad: &[u8], sealed: &str) -> Result<String, String> {
        let body = sealed
            .strip_prefix(SEALED_SECRET_PREFIX)
            .ok_or_else(|| "not a sealed secret".to_owned())?;
        let raw = STANDARD
            .decode(body)
            .map_err(|_| "a sealed secret is not base64".to_owned())?;
        if raw.len() < NONCE_LEN {
            return Err("a sealed secret is too short".into());
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_owned())?;
        let mut data = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut data)
            .map_err(|_| {
                "the store secret key does not open it (another node's key, or moved to another key id)"
                    .to_owned()
            })?;
        String::from_utf8(plain.to_vec()).map_err(|_| "a sealed secret is not text".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_associated_data() {
        let k = StoreSecretKey::from_bytes(&[3u8; 32]).unwrap();
        let sealed = k.seal(b"key-1\0client", "s3cret").unwrap();
        assert!(sealed.starts_with(SEALED_SECRET_PREFIX));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(k.open(b"key-1\0client", &sealed).unwrap(), "s3cret");
        assert!(k.open(b"key-2\0client", &sealed).is_err());
        let other = StoreSecretKey::from_bytes(&[4u8; 32]).unwrap();
        assert!(other.open(b"key-1\0client", &sealed).is_err());
        assert_ne!(
            k.seal(b"a", "x").unwrap(),
            k.seal(b"a", "x").unwrap(),
            "fresh nonces"
        );
    }
}
