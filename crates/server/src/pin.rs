//! Wallet users' PINs and passwords: argon2id hashes, never stored or logged in clear.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Hashes a PIN into a PHC string.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True if `pin` matches the stored PHC string.
pub fn verify_pin(phc: &str, pin: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(pin.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_accepts_its_pin_only() {
        let h = hash_pin("123456").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(!h.contains("123456"));
        assert!(verify_pin(&h, "123456"));
        assert!(!verify_pin(&h, "654321"));
        assert!(!verify_pin("not a hash", "123456"));
    }
}
