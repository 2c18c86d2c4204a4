//! Debug output of wire values that carry a credential (an auth code, an access or refresh token,
//! a payment code): the credential is replaced by a marker, so `{:?}` of a request or an answer,
//! in a log line or a panic message, never carries one.

use serde::Serialize;
use std::fmt;

/// What stands in for a credential.
pub(crate) const REDACTED: &str = "<redacted>";

/// Writes `value` as `Name {json}`, its top-level `keys` (wire names) replaced by [`REDACTED`]
/// when present.
pub(crate) fn debug_json<T: Serialize>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    value: &T,
    keys: &[&str],
) -> fmt::Result {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(mut map)) => {
            for key in keys {
                if let Some(v) = map.get_mut(*key).filter(|v| !v.is_null()) {
                    *v = serde_json::Value::String(REDACTED.into());
                }
            }
            write!(f, "{name} {}", serde_json::Value::Object(map))
        }
        _ => write!(f, "{name} {{ .. }}"),
    }
}

/// An optional credential in a hand-written `Debug`: whether there is one, never what it is.
pub(crate) fn optional(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| REDACTED)
}

#[cfg(test)]
mod tests {
    use crate::miniprogram::oauth::{AccessTokenRequest, ApplyTokenRequest, ApplyTokenResponse, TokenGrant};
    use crate::miniprogram::{parse_body, PayRequestV1, PayRequestV2};

    const SECRET: &str = "s3cr3t-credential-value";

    fn shows(value: &impl std::fmt::Debug, field: &str) {
        let shown = format!("{value:?}");
        assert!(!shown.contains(SECRET), "a credential in {shown}");
        assert!(shown.contains(super::REDACTED), "no marker in {shown}");
        assert!(shown.contains(field), "{field} missing from {shown}");
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let apply: ApplyTokenRequest = parse_body(
            format!(
                r#"{{"grantType":"AUTHORIZATION_CODE","authCode":"{SECRET}","referenceClientId":"mini-1"}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        shows(&apply, "mini-1");
        let refresh: ApplyTokenRequest =
            parse_body(format!(r#"{{"grantType":"REFRESH_TOKEN","refreshToken":"{SECRET}"}}"#).as_bytes())
                .unwrap();
        shows(&refresh, "REFRESH_TOKEN");
        shows(&TokenGrant::AuthorizationCode(SECRET.into()), "AuthorizationCode");
        shows(&TokenGrant::RefreshToken(SECRET.into()), "RefreshToken");
        let answer: ApplyTokenResponse = serde_json::from_value(serde_json::json!({
            "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"},
            "accessToken": SECRET, "accessTokenExpiryTime": "2030-01-01T00:00:00+08:00",
            "refreshToken": SECRET, "refreshTokenExpiryTime": "2030-01-02T00:00:00+08:00",
            "customerId": "user-7",
        }))
        .unwrap();
        shows(&answer, "user-7");
        let token: AccessTokenRequest =
            parse_body(format!(r#"{{"accessToken":"{SECRET}","appId":"app-3"}}"#).as_bytes()).unwrap();
        shows(&token, "app-3");

        let v2: PayRequestV2 = parse_body(
            format!(
                r#"{{"appId":"a","paymentRequestId":"req-9","paymentAmount":{{"currency":"USD","value":"1"}},"paymentAuthCode":"{SECRET}"}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        shows(&v2, "req-9");
        shows(&v2.validate().unwrap(), "req-9");
        let v1: PayRequestV1 = parse_body(
            format!(
                r#"{{"partnerId":"p","paymentRequestId":"req-8","paymentAmount":{{"currency":"USD","value":"1"}},"paymentOrderTitle":"Tea","paymentAuthCode":"{SECRET}"}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        shows(&v1, "req-8");
        shows(&v1.validate().unwrap(), "req-8");
    }
}
