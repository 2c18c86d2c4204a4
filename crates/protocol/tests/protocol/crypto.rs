//! Keys, RSA256 and ECC224 against fixtures made by the `openssl` CLI (see testdata/README.md).

use walletd_protocol::crypto::{
    Algorithm, CryptoError, KeyError, PrivateKey, PublicKey, SignatureDigest, VerifyError,
};

const CONTENT: &[u8] = include_bytes!("../../testdata/content.txt");
const RSA_PKCS8: &str = include_str!("../../testdata/rsa2048_pkcs8.pem");
const RSA_PKCS1: &str = include_str!("../../testdata/rsa2048_pkcs1.pem");
const RSA_SPKI: &str = include_str!("../../testdata/rsa2048_spki.pem");
const RSA_PKCS1_PUB: &str = include_str!("../../testdata/rsa2048_pkcs1_pub.pem");
const RSA_SIG: &[u8] = include_bytes!("../../testdata/content.rsa256.sig");
const RSA1024_PKCS8: &str = include_str!("../../testdata/rsa1024_pkcs8.pem");
const RSA1024_SPKI: &str = include_str!("../../testdata/rsa1024_spki.pem");
const P224_PKCS8: &str = include_str!("../../testdata/p224_pkcs8.pem");
const P224_SEC1: &str = include_str!("../../testdata/p224_sec1.pem");
const P224_SPKI: &str = include_str!("../../testdata/p224_spki.pem");
const P224_SIG_SHA256: &[u8] = include_bytes!("../../testdata/content.ecc224-sha256.sig");
const P224_SIG_SHA224: &[u8] = include_bytes!("../../testdata/content.ecc224-sha224.sig");
const P256_PKCS8: &str = include_str!("../../testdata/p256_pkcs8.pem");
const P256_SPKI: &str = include_str!("../../testdata/p256_spki.pem");

/// The base64 body of a PEM file, keeping its line breaks (what merchants paste).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The base64 body of a PEM file on one line.
fn pem_body_one_line(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn rsa_private() -> PrivateKey {
    PrivateKey::from_text(RSA_PKCS8).expect("the RSA PKCS#8 fixture loads")
}

fn rsa_public() -> PublicKey {
    PublicKey::from_text(RSA_SPKI).expect("the RSA SPKI fixture loads")
}

fn p224_public() -> PublicKey {
    PublicKey::from_text(P224_SPKI).expect("the P-224 SPKI fixture loads")
}

fn flip_last_byte(sig: &[u8]) -> Vec<u8> {
    let mut bad = sig.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    bad
}

// --- Algorithm ------------------------------------------------------------------------------------

#[test]
fn algorithm_names_parse_case_insensitively() {
    for name in ["RSA256", "rsa256", "Rsa256", "RS256", "rs256", " RSA256 "] {
        assert_eq!(name.parse::<Algorithm>(), Ok(Algorithm::Rsa256), "{name}");
    }
    for name in ["ECC224", "ecc224", "Ecc224"] {
        assert_eq!(name.parse::<Algorithm>(), Ok(Algorithm::Ecc224), "{name}");
    }
    for bad in ["", "RSA", "RSA2048", "ES224", "HS256", "ECC256"] {
        let err = bad.parse::<Algorithm>().expect_err(bad);
        assert!(err.to_string().contains("RSA256"), "{err}");
    }
}

#[test]
fn algorithm_displays_its_wire_name() {
    assert_eq!(Algorithm::Rsa256.as_str(), "RSA256");
    assert_eq!(Algorithm::Ecc224.as_str(), "ECC224");
    assert_eq!(Algorithm::Rsa256.to_string(), "RSA256");
    assert_eq!(Algorithm::Ecc224.to_string(), "ECC224");
    assert_eq!(Algorithm::default(), Algorithm::Rsa256);
}

#[test]
fn algorithm_serde_uses_the_wire_name() {
    assert_eq!(serde_json::to_string(&Algorithm::Ecc224).unwrap(), "\"ECC224\"");
    assert_eq!(
        serde_json::from_str::<Algorithm>("\"rs256\"").unwrap(),
        Algorithm::Rsa256
    );
    assert!(serde_json::from_str::<Algorithm>("\"DSA\"").is_err());
}

// --- RSA256 ---------------------------------------------------------------------------------------

#[test]
fn rsa_pkcs8_signature_is_byte_identical_to_openssl() {
    let key = rsa_private();
    assert_eq!(key.algorithm(), Algorithm::Rsa256);
    assert_eq!(key.sign(CONTENT).unwrap(), RSA_SIG);
}

#[test]
fn rsa_pkcs1_signature_is_byte_identical_to_openssl() {
    let key = PrivateKey::from_text(RSA_PKCS1).unwrap();
    assert_eq!(key.sign(CONTENT).unwrap(), RSA_SIG);
}

#[test]
fn rsa_bare_base64_bodies_load_with_or_without_line_breaks() {
    for text in [
        pem_body(RSA_PKCS8),
        pem_body_one_line(RSA_PKCS8),
        pem_body(RSA_PKCS1),
        pem_body_one_line(RSA_PKCS1),
        format!("  {}\r\n", pem_body(RSA_PKCS8).replace('\n', "\r\n")),
    ] {
        let key = PrivateKey::from_text(&text).unwrap_or_else(|e| panic!("{e}: {text:.30}"));
        assert_eq!(key.sign(CONTENT).unwrap(), RSA_SIG);
    }
}

#[test]
fn rsa_pem_with_crlf_and_indentation_loads() {
    let text: String = RSA_PKCS1.lines().map(|l| format!("    {l}\r\n")).collect();
    let key = PrivateKey::from_text(&text).unwrap();
    assert_eq!(key.sign(CONTENT).unwrap(), RSA_SIG);
}

#[test]
fn pem_pasted_through_a_one_line_field_loads() {
    // Line breaks turned into spaces, or into literal `\n` escapes (JSON, environment variables).
    for text in [
        RSA_PKCS8.replace('\n', " "),
        RSA_PKCS1.replace('\n', "\\n"),
        pem_body(RSA_PKCS8).replace('\n', "\\n"),
    ] {
        let key = PrivateKey::from_text(&text).unwrap_or_else(|e| panic!("{e}: {text:.40}"));
        assert_eq!(key.sign(CONTENT).unwrap(), RSA_SIG);
    }
    let public = PublicKey::from_text(&P224_SPKI.replace('\n', "\\n")).unwrap();
    assert_eq!(public, p224_public());
}

#[test]
fn rsa_public_key_forms_are_all_the_same_key() {
    let spki = rsa_public();
    assert_eq!(spki.algorithm(), Algorithm::Rsa256);
    for text in [
        RSA_PKCS1_PUB.to_owned(),
        pem_body(RSA_SPKI),
        pem_body_one_line(RSA_SPKI),
        pem_body(RSA_PKCS1_PUB),
    ] {
        let other = PublicKey::from_text(&text).unwrap_or_else(|e| panic!("{e}: {text:.30}"));
        assert_eq!(other, spki);
    }
    assert_eq!(rsa_private().public_key(), spki);
    assert_eq!(PrivateKey::from_text(RSA_PKCS1).unwrap().public_key(), spki);
}

#[test]
fn rsa_public_key_exports_match_openssl() {
    let key = rsa_public();
    assert_eq!(key.to_spki_pem(), RSA_SPKI);
    assert_eq!(key.to_spki_base64(), pem_body_one_line(RSA_SPKI));
    let from_pkcs1 = PublicKey::from_text(RSA_PKCS1_PUB).unwrap();
    assert_eq!(from_pkcs1.to_spki_pem(), RSA_SPKI);
    assert_eq!(key.fingerprint().len(), 64);
}

#[test]
fn rsa_openssl_signature_verifies() {
    rsa_public().verify(CONTENT, RSA_SIG).unwrap();
    assert_eq!(
        rsa_public().verify_reporting_digest(CONTENT, RSA_SIG),
        Ok(SignatureDigest::Sha256)
    );
    PublicKey::from_text(RSA_PKCS1_PUB)
        .unwrap()
        .verify(CONTENT, RSA_SIG)
        .unwrap();
}

#[test]
fn rsa_verify_rejects_changed_content_signature_or_key() {
    let key = rsa_public();
    let mut content = CONTENT.to_vec();
    content.push(b' ');
    assert_eq!(key.verify(&content, RSA_SIG), Err(VerifyError::Mismatch));
    assert_eq!(
        key.verify(CONTENT, &flip_last_byte(RSA_SIG)),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(key.verify(CONTENT, &RSA_SIG[..255]), Err(VerifyError::Mismatch));
    assert_eq!(key.verify(CONTENT, b""), Err(VerifyError::Mismatch));
    let other = PrivateKey::generate(Algorithm::Rsa256).unwrap().public_key();
    assert_eq!(other.verify(CONTENT, RSA_SIG), Err(VerifyError::Mismatch));
    // An ECC signature under an RSA key is just a mismatch.
    assert!(key.verify(CONTENT, P224_SIG_SHA256).is_err());
}

#[test]
fn rsa_pkcs8_export_round_trips() {
    let pem = rsa_private().to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    let again = PrivateKey::from_text(&pem).unwrap();
    assert_eq!(again.sign(CONTENT).unwrap(), RSA_SIG);
}

#[test]
fn rsa_keys_under_2048_bits_are_rejected() {
    assert_eq!(
        PrivateKey::from_text(RSA1024_PKCS8).unwrap_err(),
        KeyError::RsaTooSmall { bits: 1024 }
    );
    assert_eq!(
        PrivateKey::from_text(&pem_body(RSA1024_PKCS8)).unwrap_err(),
        KeyError::RsaTooSmall { bits: 1024 }
    );
    let err = PublicKey::from_text(RSA1024_SPKI).unwrap_err();
    assert_eq!(err, KeyError::RsaTooSmall { bits: 1024 });
    assert_eq!(
        err.to_string(),
        "RSA key has 1024 bits; at least 2048 are required"
    );
}

#[test]
fn rsa_cannot_sign_with_sha224() {
    assert_eq!(
        rsa_private().sign_with_digest(CONTENT, SignatureDigest::Sha224),
        Err(CryptoError::UnsupportedDigest {
            algorithm: Algorithm::Rsa256,
            digest: SignatureDigest::Sha224
        })
    );
}

#[test]
fn generated_rsa_key_signs_verifies_and_exports() {
    let key = PrivateKey::generate(Algorithm::Rsa256).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Rsa256);
    let sig = key.sign(CONTENT).unwrap();
    assert_eq!(sig.len(), 256);
    key.public_key().verify(CONTENT, &sig).unwrap();
    let reloaded = PrivateKey::from_text(&key.to_pkcs8_pem()).unwrap();
    assert_eq!(reloaded.sign(CONTENT).unwrap(), sig);
    let public = PublicKey::from_text(&key.public_key().to_spki_base64()).unwrap();
    assert_eq!(public, key.public_key());
}

// --- ECC224 ---------------------------------------------------------------------------------------

#[test]
fn p224_key_forms_load_as_the_same_key() {
    let public = p224_public();
    assert_eq!(public.algorithm(), Algorithm::Ecc224);
    for text in [
        P224_PKCS8.to_owned(),
        P224_SEC1.to_owned(),
        pem_body(P224_PKCS8),
        pem_body_one_line(P224_SEC1),
    ] {
        let key = PrivateKey::from_text(&text).unwrap_or_else(|e| panic!("{e}: {text:.30}"));
        assert_eq!(key.algorithm(), Algorithm::Ecc224);
        assert_eq!(key.public_key(), public);
    }
    assert_eq!(
        PublicKey::from_text(&pem_body_one_line(P224_SPKI)).unwrap(),
        public
    );
    assert_eq!(public.to_spki_pem(), P224_SPKI);
    assert_eq!(public.to_spki_base64(), pem_body_one_line(P224_SPKI));
}

#[test]
fn p224_key_after_ec_parameters_block_loads() {
    // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key.
    let text =
        format!("-----BEGIN EC PARAMETERS-----\nBgUrgQQAIQ==\n-----END EC PARAMETERS-----\n{P224_SEC1}");
    let key = PrivateKey::from_text(&text).unwrap();
    assert_eq!(key.public_key(), p224_public());
}

#[test]
fn p224_openssl_signatures_over_sha256_and_sha224_verify() {
    let key = p224_public();
    key.verify(CONTENT, P224_SIG_SHA256).unwrap();
    key.verify(CONTENT, P224_SIG_SHA224).unwrap();
    assert_eq!(
        key.verify_reporting_digest(CONTENT, P224_SIG_SHA256),
        Ok(SignatureDigest::Sha256)
    );
    assert_eq!(
        key.verify_reporting_digest(CONTENT, P224_SIG_SHA224),
        Ok(SignatureDigest::Sha224)
    );
}

#[test]
fn p224_verify_rejects_changed_content_signature_or_key() {
    let key = p224_public();
    assert_eq!(
        key.verify(b"other content", P224_SIG_SHA256),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        key.verify(b"other content", P224_SIG_SHA224),
        Err(VerifyError::Mismatch)
    );
    // Flipping the last byte of s keeps the DER valid but breaks the signature.
    assert_eq!(
        key.verify(CONTENT, &flip_last_byte(P224_SIG_SHA256)),
        Err(VerifyError::Mismatch)
    );
    assert!(matches!(
        key.verify(CONTENT, &P224_SIG_SHA256[1..]),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        key.verify(CONTENT, RSA_SIG),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(key.verify(CONTENT, b""), Err(VerifyError::Malformed(_))));
    let other = PrivateKey::generate(Algorithm::Ecc224).unwrap().public_key();
    assert_eq!(other.verify(CONTENT, P224_SIG_SHA256), Err(VerifyError::Mismatch));
}

#[test]
fn p224_high_s_signatures_verify() {
    // OpenSSL does not normalise s, so a client may send either (r, s) or (r, n - s).
    use p224::ecdsa::Signature;
    use p224::elliptic_curve::PrimeField;
    for sig in [P224_SIG_SHA256, P224_SIG_SHA224] {
        let parsed = Signature::from_der(sig).unwrap();
        let (r, s) = parsed.split_scalars();
        let flipped = Signature::from_scalars(r.to_repr(), (-*s).to_repr()).unwrap();
        let der = flipped.to_der();
        assert_ne!(der.as_bytes(), sig);
        p224_public().verify(CONTENT, der.as_bytes()).unwrap();
    }
}

#[test]
fn p224_our_signatures_verify_and_corrupted_ones_do_not() {
    let key = PrivateKey::from_text(P224_PKCS8).unwrap();
    let public = p224_public();
    let sig = key.sign(CONTENT).unwrap();
    assert_eq!(sig[0], 0x30, "DER SEQUENCE");
    assert_eq!(
        public.verify_reporting_digest(CONTENT, &sig),
        Ok(SignatureDigest::Sha256)
    );
    // RFC 6979: deterministic for the same key and content.
    assert_eq!(key.sign(CONTENT).unwrap(), sig);
    assert_eq!(
        public.verify(CONTENT, &flip_last_byte(&sig)),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(public.verify(&CONTENT[1..], &sig), Err(VerifyError::Mismatch));

    let sig224 = key.sign_with_digest(CONTENT, SignatureDigest::Sha224).unwrap();
    assert_eq!(
        public.verify_reporting_digest(CONTENT, &sig224),
        Ok(SignatureDigest::Sha224)
    );
}

#[test]
fn generated_p224_key_signs_verifies_and_exports() {
    let key = PrivateKey::generate(Algorithm::Ecc224).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Ecc224);
    let sig = key.sign(CONTENT).unwrap();
    key.public_key().verify(CONTENT, &sig).unwrap();
    let pem = key.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let reloaded = PrivateKey::from_text(&pem).unwrap();
    assert_eq!(reloaded.public_key(), key.public_key());
    assert_eq!(reloaded.sign(CONTENT).unwrap(), sig);
    assert_eq!(
        PublicKey::from_text(&key.public_key().to_spki_pem()).unwrap(),
        key.public_key()
    );
}

#[test]
fn p224_pkcs8_export_round_trips_the_fixture() {
    let key = PrivateKey::from_text(P224_SEC1).unwrap();
    let again = PrivateKey::from_text(&key.to_pkcs8_pem()).unwrap();
    assert_eq!(again.public_key(), p224_public());
}

#[test]
fn other_curves_are_rejected() {
    assert!(matches!(
        PrivateKey::from_text(P256_PKCS8),
        Err(KeyError::UnsupportedCurve(name)) if name.contains("P-256")
    ));
    assert!(matches!(
        PublicKey::from_text(P256_SPKI),
        Err(KeyError::UnsupportedCurve(name)) if name.contains("P-256")
    ));
}

// --- Key text errors ------------------------------------------------------------------------------

#[test]
fn public_and_private_keys_are_not_confused() {
    let wrong_private = KeyError::WrongKind {
        expected: "private",
        found: "public",
    };
    let wrong_public = KeyError::WrongKind {
        expected: "public",
        found: "private",
    };
    assert_eq!(PrivateKey::from_text(RSA_SPKI).unwrap_err(), wrong_private);
    assert_eq!(
        PrivateKey::from_text(&pem_body(RSA_SPKI)).unwrap_err(),
        wrong_private
    );
    assert_eq!(PrivateKey::from_text(P224_SPKI).unwrap_err(), wrong_private);
    assert_eq!(PublicKey::from_text(RSA_PKCS8).unwrap_err(), wrong_public);
    assert_eq!(
        PublicKey::from_text(&pem_body(RSA_PKCS8)).unwrap_err(),
        wrong_public
    );
    assert_eq!(
        PublicKey::from_text(&pem_body(RSA_PKCS1)).unwrap_err(),
        wrong_public
    );
}

#[test]
fn malformed_key_text_gives_clear_errors() {
    assert_eq!(PrivateKey::from_text("  \n ").unwrap_err(), KeyError::Empty);
    assert_eq!(PublicKey::from_text("").unwrap_err(), KeyError::Empty);
    assert!(matches!(
        PrivateKey::from_text("not a key!").unwrap_err(),
        KeyError::Base64(_)
    ));
    assert!(matches!(
        PublicKey::from_text("AAAA").unwrap_err(),
        KeyError::Unrecognized(_)
    ));
    assert!(matches!(
        PrivateKey::from_text("AAAA").unwrap_err(),
        KeyError::Unrecognized(_)
    ));
    let truncated: String = RSA_PKCS8.lines().take(5).map(|l| format!("{l}\n")).collect();
    assert!(matches!(
        PrivateKey::from_text(&truncated).unwrap_err(),
        KeyError::Pem(_)
    ));
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(
        matches!(PublicKey::from_text(cert).unwrap_err(), KeyError::UnsupportedPem(label, _) if label == "CERTIFICATE")
    );
}

#[test]
fn encrypted_private_keys_are_refused_with_a_hint() {
    let pkcs8 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(PrivateKey::from_text(pkcs8).unwrap_err(), KeyError::Encrypted);
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let err = PrivateKey::from_text(legacy).unwrap_err();
    assert_eq!(err, KeyError::Encrypted);
    assert!(err.to_string().contains("without a password"));
}

#[test]
fn debug_output_shows_no_key_material() {
    for (text, alg) in [(RSA_PKCS8, "RSA256"), (P224_PKCS8, "ECC224")] {
        let key = PrivateKey::from_text(text).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(alg), "{debug}");
        let body = pem_body_one_line(text);
        for window in body.as_bytes().windows(12).step_by(4) {
            let needle = std::str::from_utf8(window).unwrap();
            assert!(!debug.contains(needle), "Debug leaks {needle}: {debug}");
        }
        let pem = key.to_pkcs8_pem();
        assert!(!debug.contains(&pem_body_one_line(&pem)[20..40]));
    }
}

#[test]
fn keys_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<PublicKey>();
    assert_send_sync::<PrivateKey>();
}
