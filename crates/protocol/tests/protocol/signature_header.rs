//! The `Signature` header: every tolerated input variant and the one exact output format.

use proptest::prelude::*;
use walletd_protocol::crypto::{Algorithm, PrivateKey};
use walletd_protocol::signature::{
    decode_signature_value, encode_signature_value, format_header, format_header_alphapay, SignatureHeader,
    SignatureHeaderError,
};

/// Raw bytes whose standard base64 is `++++AD///g==`: every character that needs URL-encoding.
const RAW: [u8; 7] = [0xfb, 0xef, 0xbe, 0x00, 0x3f, 0xff, 0xfe];
const RAW_B64: &str = "++++AD///g==";
const RAW_ENCODED: &str = "%2B%2B%2B%2BAD%2F%2F%2Fg%3D%3D";

fn parse(value: &str) -> SignatureHeader {
    SignatureHeader::parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

#[test]
fn encode_is_base64_then_url_encoding_with_upper_case_hex() {
    assert_eq!(encode_signature_value(&RAW), RAW_ENCODED);
    assert_eq!(encode_signature_value(b"walletd"), "d2FsbGV0ZA%3D%3D");
    assert_eq!(encode_signature_value(b"wallet"), "d2FsbGV0");
}

#[test]
fn format_header_is_exactly_the_sdk_layout() {
    assert_eq!(
        format_header(Algorithm::Rsa256, 1, &RAW),
        format!("algorithm=RSA256,keyVersion=1,signature={RAW_ENCODED}")
    );
    assert_eq!(
        format_header(Algorithm::Ecc224, 0, b"walletd"),
        "algorithm=ECC224,keyVersion=0,signature=d2FsbGV0ZA%3D%3D"
    );
    assert_eq!(
        format_header_alphapay(1, &RAW),
        format!("algorithm=RS256,keyVersion=1,signature={RAW_ENCODED}")
    );
}

#[test]
fn formatted_header_survives_the_java_sdk_parser() {
    // SDK-J: split on ",", take item [2], split on "=", require exactly two parts.
    let header = format_header(Algorithm::Rsa256, 7, &RAW);
    let items: Vec<&str> = header.split(',').collect();
    assert_eq!(items.len(), 3);
    let parts: Vec<&str> = items[2].split('=').collect();
    assert_eq!(parts, ["signature", RAW_ENCODED]);
    // SDK-J WebhookTool: split on the literal "signature=".
    assert_eq!(header.split("signature=").count(), 2);
}

#[test]
fn parses_the_sdk_form() {
    let h = parse(&format!("algorithm=RSA256,keyVersion=1,signature={RAW_ENCODED}"));
    assert_eq!(
        h,
        SignatureHeader {
            algorithm: Some(Algorithm::Rsa256),
            key_version: Some(1),
            signature: RAW.to_vec()
        }
    );
}

#[test]
fn tolerates_spaces_around_items_keys_and_values() {
    for value in [
        format!("algorithm=RSA256, keyVersion=1, signature={RAW_ENCODED}"),
        format!("  algorithm = RSA256 ,keyVersion= 1 ,  signature ={RAW_ENCODED}  "),
        format!("algorithm=RSA256,\tkeyVersion=1,\tsignature={RAW_ENCODED}"),
    ] {
        let h = parse(&value);
        assert_eq!(h.algorithm, Some(Algorithm::Rsa256));
        assert_eq!(h.key_version, Some(1));
        assert_eq!(h.signature, RAW);
    }
}

#[test]
fn keys_and_algorithm_are_case_insensitive() {
    let h = parse(&format!("ALGORITHM=ecc224,KEYVERSION=2,Signature={RAW_ENCODED}"));
    assert_eq!(h.algorithm, Some(Algorithm::Ecc224));
    assert_eq!(h.key_version, Some(2));
    let h = parse(&format!("Algorithm=rsa256,keyversion=3,SIGNATURE={RAW_ENCODED}"));
    assert_eq!(h.algorithm, Some(Algorithm::Rsa256));
    assert_eq!(h.key_version, Some(3));
}

#[test]
fn alphapay_rs256_is_rsa256() {
    let h = parse(&format!("algorithm=RS256, keyVersion=1, signature={RAW_ENCODED}"));
    assert_eq!(h.algorithm, Some(Algorithm::Rsa256));
}

#[test]
fn items_may_come_in_any_order() {
    let h = parse(&format!("signature={RAW_ENCODED},keyVersion=4,algorithm=ECC224"));
    assert_eq!((h.algorithm, h.key_version), (Some(Algorithm::Ecc224), Some(4)));
}

#[test]
fn missing_algorithm_and_key_version_are_none() {
    let h = parse(&format!("keyVersion=1,signature={RAW_ENCODED}"));
    assert_eq!(h.algorithm, None);
    assert_eq!(h.algorithm_or_default(), Algorithm::Rsa256);
    let h = parse(&format!("algorithm=RSA256,signature={RAW_ENCODED}"));
    assert_eq!(h.key_version, None);
    let h = parse(&format!("signature={RAW_ENCODED}"));
    assert_eq!(
        (h.algorithm, h.key_version, h.signature),
        (None, None, RAW.to_vec())
    );
}

#[test]
fn key_version_zero_and_leading_zeros_are_accepted() {
    assert_eq!(
        parse(&format!("keyVersion=0,signature={RAW_ENCODED}")).key_version,
        Some(0)
    );
    assert_eq!(
        parse(&format!("keyVersion=007,signature={RAW_ENCODED}")).key_version,
        Some(7)
    );
}

#[test]
fn a_bare_signature_value_is_the_signature() {
    for value in [RAW_B64, RAW_ENCODED, " ++++AD///g== ", "++++AD///g"] {
        let h = parse(value);
        assert_eq!(
            h,
            SignatureHeader {
                algorithm: None,
                key_version: None,
                signature: RAW.to_vec()
            },
            "{value}"
        );
    }
}

#[test]
fn raw_base64_with_padding_is_accepted_after_signature_key() {
    // The value is split on the first "=" only, so the padding survives.
    let h = parse(&format!("algorithm=RSA256,keyVersion=1,signature={RAW_B64}"));
    assert_eq!(h.signature, RAW);
}

#[test]
fn lower_case_percent_hex_is_accepted() {
    let lower = RAW_ENCODED
        .replace("%2B", "%2b")
        .replace("%2F", "%2f")
        .replace("%3D", "%3d");
    assert_eq!(decode_signature_value(&lower).unwrap(), RAW);
    assert_eq!(
        parse(&format!("algorithm=RSA256,keyVersion=1,signature={lower}")).signature,
        RAW
    );
}

#[test]
fn mixed_raw_and_encoded_characters_are_accepted() {
    assert_eq!(decode_signature_value("++%2B%2bAD/%2F/g=%3D").unwrap(), RAW);
}

#[test]
fn unpadded_base64_is_accepted() {
    assert_eq!(decode_signature_value("++++AD///g").unwrap(), RAW);
    assert_eq!(decode_signature_value("d2FsbGV0ZA").unwrap(), b"walletd");
    assert_eq!(decode_signature_value("d2FsbGV0ZA%3D").unwrap(), b"walletd");
}

#[test]
fn plus_stays_plus_and_is_never_a_space() {
    // `+` decodes as the base64 digit 62, not as a form-encoded space.
    assert_eq!(decode_signature_value("+++/").unwrap(), [0xfb, 0xef, 0xbf]);
    assert_eq!(decode_signature_value("%2B%2B%2B/").unwrap(), [0xfb, 0xef, 0xbf]);
    // A real space is not a base64 digit.
    assert!(matches!(
        decode_signature_value("+ +/"),
        Err(SignatureHeaderError::InvalidBase64(_))
    ));
}

#[test]
fn url_safe_alphabet_is_accepted() {
    assert_eq!(decode_signature_value("----AD___g").unwrap(), RAW);
    assert_eq!(decode_signature_value("----AD___g==").unwrap(), RAW);
}

#[test]
fn a_real_rsa_signature_round_trips_through_the_header() {
    let key = PrivateKey::from_text(include_str!("../../testdata/rsa2048_pkcs8.pem")).unwrap();
    let content = include_bytes!("../../testdata/content.txt");
    let sig = key.sign(content).unwrap();
    let header = format_header(Algorithm::Rsa256, 1, &sig);
    let parsed = SignatureHeader::parse(&header).unwrap();
    assert_eq!(parsed.signature, sig);
    key.public_key().verify(content, &parsed.signature).unwrap();
    assert_eq!(
        parsed.signature,
        include_bytes!("../../testdata/content.rsa256.sig")
    );
}

#[test]
fn unknown_algorithm_is_an_error() {
    let err =
        SignatureHeader::parse(&format!("algorithm=HS256,keyVersion=1,signature={RAW_ENCODED}")).unwrap_err();
    assert!(matches!(err, SignatureHeaderError::UnknownAlgorithm(_)));
    assert!(err.to_string().contains("HS256"), "{err}");
}

#[test]
fn bad_key_versions_are_errors() {
    for bad in ["-1", "+1", "x", "1.0", "", " ", "4294967296", "1 2"] {
        let err = SignatureHeader::parse(&format!(
            "algorithm=RSA256,keyVersion={bad},signature={RAW_ENCODED}"
        ))
        .unwrap_err();
        assert!(
            matches!(err, SignatureHeaderError::InvalidKeyVersion(_)),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn missing_or_empty_signature_is_an_error() {
    assert_eq!(
        SignatureHeader::parse("algorithm=RSA256,keyVersion=1"),
        Err(SignatureHeaderError::MissingSignature)
    );
    assert_eq!(
        SignatureHeader::parse("algorithm=RSA256,keyVersion=1,signature="),
        Err(SignatureHeaderError::EmptySignature)
    );
    assert_eq!(SignatureHeader::parse(""), Err(SignatureHeaderError::Empty));
    assert_eq!(SignatureHeader::parse(" , ,"), Err(SignatureHeaderError::Empty));
}

#[test]
fn duplicate_items_are_errors() {
    let err =
        SignatureHeader::parse(&format!("signature={RAW_ENCODED},signature={RAW_ENCODED}")).unwrap_err();
    assert_eq!(err, SignatureHeaderError::DuplicateItem("signature"));
    let err = SignatureHeader::parse(&format!(
        "algorithm=RSA256,algorithm=RSA256,signature={RAW_ENCODED}"
    ))
    .unwrap_err();
    assert_eq!(err, SignatureHeaderError::DuplicateItem("algorithm"));
}

#[test]
fn unexpected_items_are_errors() {
    let err = SignatureHeader::parse(&format!(
        "algorithm=RSA256,keyVersion=1,signature={RAW_ENCODED},foo=bar"
    ))
    .unwrap_err();
    assert_eq!(err, SignatureHeaderError::UnexpectedItem("foo=bar".to_owned()));
    // A bare value next to key=value items is ambiguous.
    let err = SignatureHeader::parse(&format!("algorithm=RSA256,{RAW_B64}")).unwrap_err();
    assert!(matches!(err, SignatureHeaderError::UnexpectedItem(_)));
}

#[test]
fn a_trailing_comma_is_tolerated() {
    assert_eq!(
        parse(&format!("algorithm=RSA256,keyVersion=1,signature={RAW_ENCODED},")).signature,
        RAW
    );
}

#[test]
fn invalid_base64_is_an_error() {
    for bad in ["abc$", "a", "%zz", "abc==="] {
        assert!(
            matches!(
                decode_signature_value(bad),
                Err(SignatureHeaderError::InvalidBase64(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        decode_signature_value(""),
        Err(SignatureHeaderError::EmptySignature)
    );
    assert!(matches!(
        decode_signature_value("%3D%3D"),
        Err(SignatureHeaderError::InvalidBase64(_))
    ));
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Rsa256), Just(Algorithm::Ecc224)]
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(raw in proptest::collection::vec(any::<u8>(), 1..600)) {
        let encoded = encode_signature_value(&raw);
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%'));
        prop_assert_eq!(decode_signature_value(&encoded).unwrap(), raw);
    }

    #[test]
    fn raw_base64_decodes_too(raw in proptest::collection::vec(any::<u8>(), 1..600)) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
        prop_assert_eq!(decode_signature_value(&b64).unwrap(), raw.clone());
        prop_assert_eq!(decode_signature_value(b64.trim_end_matches('=')).unwrap(), raw);
    }

    #[test]
    fn format_then_parse_round_trips(
        alg in algorithm(),
        key_version in any::<u32>(),
        raw in proptest::collection::vec(any::<u8>(), 1..600),
    ) {
        let header = format_header(alg, key_version, &raw);
        let parsed = SignatureHeader::parse(&header).unwrap();
        prop_assert_eq!(parsed, SignatureHeader { algorithm: Some(alg), key_version: Some(key_version), signature: raw });
    }

    #[test]
    fn parse_never_panics(value in "\\PC{0,200}") {
        let _ = SignatureHeader::parse(&value);
    }
}
