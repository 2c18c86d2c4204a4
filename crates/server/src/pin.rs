//! Wallet users' PINs and passwords: argon2id hashes, never stored or logged in clear.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;
use walletd_core::parties::{PartyStatus, User};
use walletd_core::CoreError;

use crate::AppState;

/// The longest PIN or password looked at; longer input is wrong without hashing it.
pub const MAX_PIN_CHARS: usize = 128;

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

/// Why a wallet sign-in (cashier or consent page) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown login, no PIN set, or a wrong PIN (one answer for all, so nothing leaks).
    WrongPin,
    /// Too many wrong PINs in a row (`cashier.max_pin_attempts`); `admin user unlock` clears it.
    Locked,
    /// The user is frozen or inactive.
    Frozen,
}

impl SignInRefusal {
    /// The notice key the pages show.
    pub fn code(self) -> &'static str {
        match self {
            SignInRefusal::WrongPin => "wrong_pin",
            SignInRefusal::Locked => "locked",
            SignInRefusal::Frozen => "frozen",
        }
    }
}

/// A hash to check PINs of unknown logins against, so that they take as long as known ones.
fn decoy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_pin("walletd-decoy-pin").unwrap_or_default())
}

/// Checks a PIN off the async threads (argon2 is deliberately slow).
async fn pin_matches(phc: String, pin: String) -> bool {
    if pin.chars().count() > MAX_PIN_CHARS {
        return false;
    }
    tokio::task::spawn_blocking(move || verify_pin(&phc, &pin))
        .await
        .unwrap_or(false)
}

/// Login + PIN → the active user. A wrong PIN counts towards the lock-out; a right one resets the
/// count. The same rules serve the cashier and the consent page.
pub async fn sign_in(
    state: &AppState,
    login: &str,
    pin: String,
) -> Result<Result<User, SignInRefusal>, CoreError> {
    let login = login.trim();
    let user = if login.is_empty() || login.len() > 128 {
        None
    } else {
        state.wallet.get_user_by_login(login).await?
    };
    let Some((user, phc)) = user.and_then(|u| u.pin_hash.clone().map(|h| (u, h))) else {
        let _ = pin_matches(decoy_hash().to_owned(), pin).await;
        return Ok(Err(SignInRefusal::WrongPin));
    };
    let max = state.config.cashier.max_pin_attempts.max(1);
    if user.failed_pin_attempts >= max {
        return Ok(Err(SignInRefusal::Locked));
    }
    if !pin_matches(phc, pin).await {
        let u = state
            .wallet
            .update_user(&user.user_id, |u| {
                u.failed_pin_attempts = u.failed_pin_attempts.saturating_add(1);
                Ok(())
            })
            .await?;
        let locked = u.failed_pin_attempts >= max;
        tracing::warn!(user_id = %u.user_id, failed_pin_attempts = u.failed_pin_attempts, locked, "wallet sign-in: wrong PIN");
        return Ok(Err(if locked {
            SignInRefusal::Locked
        } else {
            SignInRefusal::WrongPin
        }));
    }
    if user.failed_pin_attempts > 0 {
        state
            .wallet
            .update_user(&user.user_id, |u| {
                u.failed_pin_attempts = 0;
                Ok(())
            })
            .await?;
    }
    if user.status != PartyStatus::Active {
        return Ok(Err(SignInRefusal::Frozen));
    }
    Ok(Ok(user))
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
