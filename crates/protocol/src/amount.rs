//! Money: ISO 4217 currencies with their minor-unit exponent, and amounts in integer minor units.
//!
//! There is no float anywhere in here and no `Add`/`Sub` operator: every operation is checked and
//! returns an error instead of wrapping or panicking.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency that walletd knows, with its number of minor-unit digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Active ISO 4217 codes whose exponent is not 2 (everything else in [`CODES`] has 2).
const EXPONENT_0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
    "XOF", "XPF",
];
const EXPONENT_3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const EXPONENT_4: &[&str] = &["CLF", "UYW"];

/// Every active ISO 4217 currency code (funds codes included, precious metals and test codes not).
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD",
    "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF",
    "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
    "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL",
    "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
    "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU",
    "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

impl Currency {
    /// Looks up an ISO 4217 alpha-3 code (upper case, as the wire carries it).
    pub fn from_code(code: &str) -> Option<Currency> {
        if !CODES.contains(&code) {
            return None;
        }
        let exponent = if EXPONENT_0.contains(&code) {
            0
        } else if EXPONENT_3.contains(&code) {
            3
        } else if EXPONENT_4.contains(&code) {
            4
        } else {
            2
        };
        let b = code.as_bytes();
        Some(Currency {
            code: [b[0], b[1], b[2]],
            exponent,
        })
    }

    /// The alpha-3 code.
    pub fn code(&self) -> &str {
        // The bytes come from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// How many digits the minor unit has: 2 for USD (cents), 0 for JPY, 3 for KWD.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Every currency walletd knows.
    pub fn all() -> impl Iterator<Item = Currency> {
        CODES.iter().filter_map(|c| Currency::from_code(c))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s).ok_or_else(|| AmountError::UnknownCurrency(s.chars().take(16).collect()))
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What can be wrong with a money value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("unknown currency {0:?}: expected an ISO 4217 alpha-3 code such as USD")]
    UnknownCurrency(String),
    #[error("amount value must be 1 to 16 digits (minor units), got {0:?}")]
    NotDigits(String),
    #[error("amount value must be greater than zero")]
    Zero,
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount arithmetic overflowed")]
    Overflow,
    #[error("amount would become negative")]
    Negative,
    #[error("{0:?} is not a decimal amount with at most {1} decimal places")]
    BadDecimal(String, u8),
}

/// The longest `value` string the Mini Program dictionary allows.
pub const AMOUNT_VALUE_MAX_DIGITS: usize = 16;

/// A non-negative amount of money in integer minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    currency: Currency,
    value_minor: i64,
}

impl Amount {
    /// An amount from minor units; negative values are refused.
    pub fn from_minor(currency: Currency, value_minor: i64) -> Result<Amount, AmountError> {
        if value_minor < 0 {
            return Err(AmountError::Negative);
        }
        Ok(Amount {
            currency,
            value_minor,
        })
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Amount {
        Amount {
            currency,
            value_minor: 0,
        }
    }

    /// Parses the wire pair `{currency, value}`: value is 1–16 ASCII digits in minor units. Zero is
    /// accepted here; callers that need a positive amount check [`Amount::is_zero`].
    pub fn parse_wire(currency: &str, value: &str) -> Result<Amount, AmountError> {
        let currency: Currency = currency.parse()?;
        if value.is_empty()
            || value.len() > AMOUNT_VALUE_MAX_DIGITS
            || !value.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(AmountError::NotDigits(value.chars().take(32).collect()));
        }
        // 16 digits always fit in an i64 (max 19 digits).
        let value_minor: i64 = value.parse().map_err(|_| AmountError::Overflow)?;
        Ok(Amount {
            currency,
            value_minor,
        })
    }

    /// Parses a decimal major-unit string such as `"4.50"` or `"0.1"` exactly (the store API's form):
    /// at most the currency's exponent of decimal places, no sign, no exponent notation.
    pub fn parse_decimal(currency: Currency, text: &str) -> Result<Amount, AmountError> {
        let bad = || AmountError::BadDecimal(text.chars().take(32).collect(), currency.exponent());
        let text = text.trim();
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Trailing zeros beyond the exponent carry no value ("4.500" in USD is 450).
        let frac = frac.trim_end_matches('0');
        let exp = usize::from(currency.exponent());
        if frac.len() > exp || whole.len() > 15 {
            return Err(bad());
        }
        let mut minor: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        for _ in 0..exp {
            minor = minor.checked_mul(10).ok_or(AmountError::Overflow)?;
        }
        let mut frac_minor: i64 = 0;
        for i in 0..exp {
            let digit = frac.as_bytes().get(i).map(|b| i64::from(b - b'0')).unwrap_or(0);
            frac_minor = frac_minor
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .ok_or(AmountError::Overflow)?;
        }
        let value_minor = minor.checked_add(frac_minor).ok_or(AmountError::Overflow)?;
        Ok(Amount {
            currency,
            value_minor,
        })
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The value in minor units.
    pub fn value_minor(&self) -> i64 {
        self.value_minor
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.value_minor == 0
    }

    /// The wire `value` string (minor units).
    pub fn wire_value(&self) -> String {
        self.value_minor.to_string()
    }

    /// Checked sum of two amounts of one currency.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_currency(&other)?;
        let value_minor = self
            .value_minor
            .checked_add(other.value_minor)
            .ok_or(AmountError::Overflow)?;
        Ok(Amount {
            currency: self.currency,
            value_minor,
        })
    }

    /// Checked difference; a negative result is an error.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_currency(&other)?;
        let value_minor = self
            .value_minor
            .checked_sub(other.value_minor)
            .ok_or(AmountError::Overflow)?;
        Amount::from_minor(self.currency, value_minor)
    }

    fn same_currency(&self, other: &Amount) -> Result<(), AmountError> {
        if self.currency != other.currency {
            return Err(AmountError::CurrencyMismatch(self.currency, other.currency));
        }
        Ok(())
    }

    /// The major-unit decimal form without symbol: `12.34` USD, `1234` JPY, `1.234` KWD.
    pub fn format_major(&self) -> String {
        let exp = u32::from(self.currency.exponent());
        if exp == 0 {
            return self.value_minor.to_string();
        }
        let unit = 10_i64.pow(exp);
        format!(
            "{}.{:0width$}",
            self.value_minor / unit,
            self.value_minor % unit,
            width = exp as usize
        )
    }
}

/// An amount greater than zero: what a payment, a refund or a capture moves. The wire layer makes
/// one once, where it parses the request, so the core never has to ask again whether it is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PositiveAmount(Amount);

impl PositiveAmount {
    /// `None` for zero.
    pub fn new(amount: Amount) -> Option<PositiveAmount> {
        (!amount.is_zero()).then_some(PositiveAmount(amount))
    }

    /// The amount itself.
    pub fn get(self) -> Amount {
        self.0
    }
}

impl std::ops::Deref for PositiveAmount {
    type Target = Amount;

    fn deref(&self) -> &Amount {
        &self.0
    }
}

impl From<PositiveAmount> for Amount {
    fn from(p: PositiveAmount) -> Amount {
        p.0
    }
}

impl fmt::Display for PositiveAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format_major(), self.currency)
    }
}

/// The wire form `{"currency":"USD","value":"100"}` shared by the Mini Program and AlphaPay dialects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireAmount {
    pub currency: String,
    pub value: String,
}

impl From<Amount> for WireAmount {
    fn from(a: Amount) -> Self {
        WireAmount {
            currency: a.currency().code().to_owned(),
            value: a.wire_value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positive_amount_is_never_zero() {
        let usd = Currency::from_code("USD").unwrap();
        assert_eq!(PositiveAmount::new(Amount::zero(usd)), None);
        let one = Amount::from_minor(usd, 1).unwrap();
        let p = PositiveAmount::new(one).unwrap();
        assert_eq!((p.get(), p.value_minor(), Amount::from(p)), (one, 1, one));
    }

    fn usd() -> Currency {
        Currency::from_code("USD").unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        for (code, exp) in [
            ("USD", 2),
            ("JPY", 0),
            ("KWD", 3),
            ("IQD", 3),
            ("CLF", 4),
            ("PHP", 2),
            ("KRW", 0),
        ] {
            assert_eq!(Currency::from_code(code).unwrap().exponent(), exp, "{code}");
        }
        assert!(Currency::from_code("usd").is_none());
        assert!(Currency::from_code("XXX").is_none());
        assert!(Currency::all().count() > 150);
    }

    #[test]
    fn wire_values_are_digits_only_and_at_most_16() {
        assert_eq!(Amount::parse_wire("USD", "100").unwrap().value_minor(), 100);
        assert_eq!(
            Amount::parse_wire("USD", "9999999999999999")
                .unwrap()
                .value_minor(),
            9_999_999_999_999_999
        );
        for bad in ["", "-1", "+1", "1.5", " 1", "12345678901234567", "1e3", "０"] {
            assert!(Amount::parse_wire("USD", bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            Amount::parse_wire("ZZZ", "1"),
            Err(AmountError::UnknownCurrency(_))
        ));
    }

    #[test]
    fn decimals_parse_exactly_where_a_float_would_not() {
        let cases = [
            ("4.50", 450),
            ("0.1", 10),
            ("0.29", 29),
            ("1.005", -1),
            ("4.500", 450),
            ("10", 1000),
            (".5", 50),
            ("5.", 500),
        ];
        for (text, want) in cases {
            let got = Amount::parse_decimal(usd(), text);
            if want < 0 {
                assert!(got.is_err(), "{text} accepted");
            } else {
                assert_eq!(got.unwrap().value_minor(), want, "{text}");
            }
        }
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(Amount::parse_decimal(jpy, "120").unwrap().value_minor(), 120);
        assert!(Amount::parse_decimal(jpy, "1.5").is_err());
        let kwd = Currency::from_code("KWD").unwrap();
        assert_eq!(Amount::parse_decimal(kwd, "1.234").unwrap().value_minor(), 1234);
        for bad in ["", ".", "-1", "1,5", "1e2", "abc", "1.2.3"] {
            assert!(Amount::parse_decimal(usd(), bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Amount::from_minor(usd(), i64::MAX).unwrap();
        assert_eq!(
            a.checked_add(Amount::from_minor(usd(), 1).unwrap()),
            Err(AmountError::Overflow)
        );
        let one = Amount::from_minor(usd(), 1).unwrap();
        assert_eq!(Amount::zero(usd()).checked_sub(one), Err(AmountError::Negative));
        let jpy = Amount::from_minor(Currency::from_code("JPY").unwrap(), 1).unwrap();
        assert!(matches!(
            one.checked_add(jpy),
            Err(AmountError::CurrencyMismatch(..))
        ));
        assert!(Amount::from_minor(usd(), -5).is_err());
    }

    #[test]
    fn major_formatting_respects_the_exponent() {
        assert_eq!(Amount::from_minor(usd(), 1205).unwrap().format_major(), "12.05");
        assert_eq!(Amount::from_minor(usd(), 5).unwrap().format_major(), "0.05");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(Amount::from_minor(jpy, 1205).unwrap().format_major(), "1205");
        let kwd = Currency::from_code("KWD").unwrap();
        assert_eq!(Amount::from_minor(kwd, 1205).unwrap().to_string(), "1.205 KWD");
    }
}
