//! The wallet's own key pair: made on first start in the data directory (mode 0600), used to sign
//! every answer and notification. Merchants get its public half from `walletd admin wallet-key show`.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use walletd_protocol::crypto::{Algorithm, PrivateKey, PublicKey};

/// The file the private key lives in.
pub fn private_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("wallet_private_key.pem")
}

/// The wallet's signing key and the key version merchants know it by.
#[derive(Clone)]
pub struct WalletKey {
    pub key: PrivateKey,
    pub version: u32,
}

impl WalletKey {
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
}

/// Reads the wallet key from `data_dir`, making a new RSA-2048 pair (file mode 0600) if there is none.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<WalletKey> {
    crate::data_dir::prepare(data_dir)?;
    let path = private_key_path(data_dir);
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let key = PrivateKey::from_text(&text).with_context(|| format!("parsing {}", path.display()))?;
        return Ok(WalletKey { key, version: 1 });
    }
    let key = PrivateKey::generate(Algorithm::Rsa256).context("generating the wallet key pair")?;
    write_private(&path, &key.to_pkcs8_pem())?;
    Ok(WalletKey { key, version: 1 })
}

/// Writes a private key file readable by its owner only.
pub fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(pem.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
