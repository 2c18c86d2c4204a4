//! WS.WebTV store API signature: known answers computed with the openssl CLI.

use walletd_protocol::store_signature::{store_sign, store_verify, StoreSignatureMode};

const SECRET: &str = "Sh4red-Secret/for+tests";
const SALT: &str = "c4ca4238a0b923820dcc509a6f75849b";
const TIMESTAMP: &str = "1700000000";

// printf '%s' 'c4ca4238a0b923820dcc509a6f75849b1700000000' \
//   | openssl dgst -sha256 -hmac 'Sh4red-Secret/for+tests' -binary | base64
const HMAC_EXPECTED: &str = "7QgL9RT+P2JbX9ug/2WdWMbF2auqasrdYkW6Xo8+d4o=";

// printf '%s' 'c4ca4238a0b923820dcc509a6f75849b-1700000000-Sh4red-Secret/for+tests' | openssl dgst -md5
const MD5_EXPECTED: &str = "e11cb0973c14258dae1ce3d423f4b2fd";

#[test]
fn hmac_known_answer() {
    assert_eq!(
        store_sign(StoreSignatureMode::Hmac, SECRET, SALT, TIMESTAMP),
        HMAC_EXPECTED
    );
    assert!(store_verify(
        StoreSignatureMode::Hmac,
        SECRET,
        SALT,
        TIMESTAMP,
        HMAC_EXPECTED
    ));
}

#[test]
fn md5_known_answer() {
    assert_eq!(
        store_sign(StoreSignatureMode::Md5, SECRET, SALT, TIMESTAMP),
        MD5_EXPECTED
    );
    assert!(store_verify(
        StoreSignatureMode::Md5,
        SECRET,
        SALT,
        TIMESTAMP,
        MD5_EXPECTED
    ));
}

#[test]
fn hmac_is_the_default_mode() {
    assert_eq!(StoreSignatureMode::default(), StoreSignatureMode::Hmac);
}

#[test]
fn a_plus_that_arrived_as_a_space_is_repaired() {
    let mangled = HMAC_EXPECTED.replace('+', " ");
    assert_ne!(mangled, HMAC_EXPECTED);
    assert!(store_verify(
        StoreSignatureMode::Hmac,
        SECRET,
        SALT,
        TIMESTAMP,
        &mangled
    ));
}

#[test]
fn md5_accepts_upper_case_hex() {
    assert!(store_verify(
        StoreSignatureMode::Md5,
        SECRET,
        SALT,
        TIMESTAMP,
        &MD5_EXPECTED.to_uppercase()
    ));
}

#[test]
fn wrong_secret_salt_or_timestamp_fails() {
    for mode in [StoreSignatureMode::Hmac, StoreSignatureMode::Md5] {
        let good = store_sign(mode, SECRET, SALT, TIMESTAMP);
        assert!(
            !store_verify(mode, "Sh4red-Secret/for+test", SALT, TIMESTAMP, &good),
            "{mode:?}"
        );
        assert!(
            !store_verify(mode, SECRET, "c4ca4238a0b923820dcc509a6f75849c", TIMESTAMP, &good),
            "{mode:?}"
        );
        assert!(!store_verify(mode, SECRET, SALT, "1700000001", &good), "{mode:?}");
    }
}

#[test]
fn mangled_or_empty_signatures_fail() {
    for mode in [StoreSignatureMode::Hmac, StoreSignatureMode::Md5] {
        let good = store_sign(mode, SECRET, SALT, TIMESTAMP);
        assert!(!store_verify(mode, SECRET, SALT, TIMESTAMP, ""), "{mode:?}");
        assert!(
            !store_verify(mode, SECRET, SALT, TIMESTAMP, &good[..good.len() - 1]),
            "{mode:?}"
        );
        assert!(
            !store_verify(mode, SECRET, SALT, TIMESTAMP, &format!("{good}=")),
            "{mode:?}"
        );
        assert!(
            !store_verify(mode, SECRET, SALT, TIMESTAMP, &format!(" {good}")),
            "{mode:?}"
        );
    }
    // The other mode's signature is not accepted.
    assert!(!store_verify(
        StoreSignatureMode::Hmac,
        SECRET,
        SALT,
        TIMESTAMP,
        MD5_EXPECTED
    ));
    assert!(!store_verify(
        StoreSignatureMode::Md5,
        SECRET,
        SALT,
        TIMESTAMP,
        HMAC_EXPECTED
    ));
}
