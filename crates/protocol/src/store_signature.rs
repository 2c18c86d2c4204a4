//! The WS.WebTV store API request signature (docs/store-api.md).
//!
//! The signature covers only `salt` and `timestamp` (not the action or the body) and is keyed with the
//! credential's shared secret. Two modes exist, chosen by the WebTV installation.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Which signature scheme the store API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StoreSignatureMode {
    /// The default: `base64(HMAC-SHA256(key = secret, message = salt + timestamp))`, 44 characters.
    #[default]
    Hmac,
    /// `$API_SIGNATURE_GENERATION_MODE = 1`: `md5(salt + "-" + timestamp + "-" + secret)` as 32
    /// lower-case hex digits.
    Md5,
}

/// Computes the signature a correct client sends for `salt` and `timestamp`.
pub fn store_sign(mode: StoreSignatureMode, secret: &str, salt: &str, timestamp: &str) -> String {
    match mode {
        StoreSignatureMode::Hmac => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(salt.as_bytes());
            mac.update(timestamp.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        StoreSignatureMode::Md5 => {
            let mut md5 = Md5::new();
            md5.update(salt.as_bytes());
            md5.update(b"-");
            md5.update(timestamp.as_bytes());
            md5.update(b"-");
            md5.update(secret.as_bytes());
            let digest = md5.finalize();
            let mut out = String::with_capacity(32);
            for byte in digest {
                out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
                out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
            }
            out
        }
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Checks a presented signature in constant time.
///
/// A `+` that arrived as a space (an unencoded query string decoded as a form) is repaired first;
/// in MD5 mode upper-case hex is accepted too.
pub fn store_verify(
    mode: StoreSignatureMode,
    secret: &str,
    salt: &str,
    timestamp: &str,
    presented: &str,
) -> bool {
    let expected = store_sign(mode, secret, salt, timestamp);
    let repaired: String = match mode {
        StoreSignatureMode::Hmac => presented
            .chars()
            .map(|c| if c == ' ' { '+' } else { c })
            .collect(),
        StoreSignatureMode::Md5 => presented.to_ascii_lowercase(),
    };
    bool::from(expected.as_bytes().ct_eq(repaired.as_bytes()))
}
