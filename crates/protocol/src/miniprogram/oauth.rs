//! Request and response bodies of the Mini Program OAuth APIs (docs/mini-program.md §16), v1 and v2:
//! `applyToken`, `cancelToken`, and the user-info inquiries (v1
//! `customers/user/inquiryUserInfoByAccessToken`, v2 `users/inquiryUserInfo`).
//!
//! v1 and v2 requests share one type each: v1 names the mini program `referenceClientId`, v2
//! `appId` (with `authClientId`, the client the authorization is for). Parsing follows the rest of
//! the dialect: missing strings read as empty and are refused by `check` with the field's name,
//! lengths are counted in characters.

use super::{optional, required, FieldError};
use crate::result::WireResult;
use serde::{Deserialize, Serialize};

/// `grantType` for exchanging an auth code.
pub const GRANT_TYPE_AUTHORIZATION_CODE: &str = "AUTHORIZATION_CODE";
/// `grantType` for rotating a token pair.
pub const GRANT_TYPE_REFRESH_TOKEN: &str = "REFRESH_TOKEN";

/// `applyToken` request, v1 and v2 fields together. `Debug` hides the code and the token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyTokenRequest {
    /// v1: the mini program (next-level client) the code was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_client_id: Option<String>,
    /// v2: the mini program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// v2: the client the authorization is for (the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_client_id: Option<String>,
    /// [`GRANT_TYPE_AUTHORIZATION_CODE`] or [`GRANT_TYPE_REFRESH_TOKEN`].
    #[serde(default)]
    pub grant_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_belongs_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// What an `applyToken` request asks for, once checked. `Debug` hides the code and the token.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenGrant {
    /// Exchange this single-use auth code for a token pair.
    AuthorizationCode(String),
    /// Rotate the pair of this refresh token.
    RefreshToken(String),
}

/// Why an `applyToken` request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyTokenRefusal {
    /// A field is missing, too long or of the wrong kind (`PARAM_ILLEGAL`).
    #[error("{0}")]
    Field(FieldError),
    /// A `grantType` other than the two defined (`AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE`).
    #[error("grantType {0} is not supported; use AUTHORIZATION_CODE or REFRESH_TOKEN")]
    UnsupportedGrantType(String),
}

impl From<FieldError> for ApplyTokenRefusal {
    fn from(e: FieldError) -> Self {
        ApplyTokenRefusal::Field(e)
    }
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.is_empty())
}

impl ApplyTokenRequest {
    /// v1: exchange `auth_code`, issued to the mini program `reference_client_id`.
    pub fn authorization_code_v1(reference_client_id: &str, auth_code: &str) -> Self {
        ApplyTokenRequest {
            reference_client_id: Some(reference_client_id.to_owned()),
            grant_type: GRANT_TYPE_AUTHORIZATION_CODE.into(),
            auth_code: Some(auth_code.to_owned()),
            ..Default::default()
        }
    }

    /// v2: exchange `auth_code`, issued to the mini program `app_id`, for the calling client
    /// `auth_client_id`.
    pub fn authorization_code_v2(app_id: &str, auth_client_id: &str, auth_code: &str) -> Self {
        ApplyTokenRequest {
            app_id: Some(app_id.to_owned()),
            auth_client_id: Some(auth_client_id.to_owned()),
            grant_type: GRANT_TYPE_AUTHORIZATION_CODE.into(),
            auth_code: Some(auth_code.to_owned()),
            ..Default::default()
        }
    }

    /// v1 and v2: rotate the pair of `refresh_token` (the refresh sample sends nothing else).
    pub fn refresh(refresh_token: &str) -> Self {
        ApplyTokenRequest {
            grant_type: GRANT_TYPE_REFRESH_TOKEN.into(),
            refresh_token: Some(refresh_token.to_owned()),
            ..Default::default()
        }
    }

    /// The longest `authCode` of a version: 32 characters in v1, 64 in v2.
    pub fn auth_code_max(v1: bool) -> usize {
        if v1 {
            32
        } else {
            64
        }
    }

    /// Checks lengths, the grant type and that the grant's code or token is present.
    pub fn check(&self, v1: bool) -> Result<TokenGrant, ApplyTokenRefusal> {
        optional("referenceClientId", self.reference_client_id.as_deref(), 128)?;
        optional("appId", self.app_id.as_deref(), 32)?;
        optional("authClientId", self.auth_client_id.as_deref(), 128)?;
        optional("customerBelongsTo", self.customer_belongs_to.as_deref(), 64)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)?;
        required("grantType", &self.grant_type, 32)?;
        match self.grant_type.as_str() {
            GRANT_TYPE_AUTHORIZATION_CODE => {
                let code = non_empty(&self.auth_code).ok_or_else(|| {
                    FieldError::new("authCode is required with grantType AUTHORIZATION_CODE")
                })?;
                optional("authCode", Some(&code), Self::auth_code_max(v1))?;
                Ok(TokenGrant::AuthorizationCode(code))
            }
            GRANT_TYPE_REFRESH_TOKEN => {
                let token = non_empty(&self.refresh_token).ok_or_else(|| {
                    FieldError::new("refreshToken is required with grantType REFRESH_TOKEN")
                })?;
                optional("refreshToken", Some(&token), 128)?;
                Ok(TokenGrant::RefreshToken(token))
            }
            other => Err(ApplyTokenRefusal::UnsupportedGrantType(other.to_owned())),
        }
    }

    /// The mini program the request names: v1 `referenceClientId`, v2 `appId` (empty is none).
    pub fn mini_program(&self, v1: bool) -> Option<String> {
        if v1 {
            non_empty(&self.reference_client_id)
        } else {
            non_empty(&self.app_id)
        }
    }
}

/// `applyToken` answer (the token fields are present when the result is `S`). `Debug` hides the
/// tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyTokenResponse {
    pub result: WireResult,
    pub access_token: String,
    pub access_token_expiry_time: String,
    pub refresh_token: String,
    pub refresh_token_expiry_time: String,
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// `cancelToken` and the user-info inquiries (v1 and v2): the access token, and in v2 the mini
/// program and the client it was granted for. `Debug` hides the token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenRequest {
    #[serde(default)]
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_belongs_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

impl AccessTokenRequest {
    /// A request naming only the access token (v1 cancelToken and user info, and v2 cancelToken).
    pub fn new(access_token: &str) -> Self {
        AccessTokenRequest {
            access_token: access_token.to_owned(),
            ..Default::default()
        }
    }

    /// Checks that the access token is present and the lengths.
    pub fn check(&self) -> Result<(), FieldError> {
        required("accessToken", &self.access_token, 128)?;
        optional("authClientId", self.auth_client_id.as_deref(), 128)?;
        optional("appId", self.app_id.as_deref(), 32)?;
        optional("customerBelongsTo", self.customer_belongs_to.as_deref(), 64)?;
        optional("extendInfo", self.extend_info.as_deref(), 4096)
    }
}

/// `cancelToken` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelTokenResponse {
    pub result: WireResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_info: Option<String>,
}

/// v1 `OpenUserInfo` / v2 `User`: only the fields the granted scopes allow are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUserInfo {
    pub user_id: String,
    /// `ACTIVE`, `FROZEN`, … (scope `auth_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<WireUserName>,
    /// A URL of the user's picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id_infos: Option<Vec<WireLoginIdInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_infos: Option<Vec<WireContactInfo>>,
}

/// `userName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUserName {
    pub full_name: String,
}

/// One of `loginIdInfos`: the login, masked and hashed (never in clear).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireLoginIdInfo {
    /// `MOBILE_PHONE` or `EMAIL`.
    pub login_id_type: String,
    pub mask_login_id: String,
    pub hash_login_id: String,
}

/// One of `contactInfos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireContactInfo {
    /// `MOBILE_PHONE` or `EMAIL`.
    pub contact_type: String,
    pub contact_no: String,
}

/// The user-info answer, v1 and v2 (`userInfo` is present when the result is `S`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoResponse {
    pub result: WireResult,
    pub user_info: WireUserInfo,
}

impl std::fmt::Debug for ApplyTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json(f, "ApplyTokenRequest", self, &["authCode", "refreshToken"])
    }
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            TokenGrant::AuthorizationCode(_) => "AuthorizationCode",
            TokenGrant::RefreshToken(_) => "RefreshToken",
        };
        f.debug_tuple(kind).field(&crate::redact::REDACTED).finish()
    }
}

impl std::fmt::Debug for ApplyTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json(f, "ApplyTokenResponse", self, &["accessToken", "refreshToken"])
    }
}

impl std::fmt::Debug for AccessTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json(f, "AccessTokenRequest", self, &["accessToken"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::miniprogram::parse_body;

    fn refusal(body: &str, v1: bool) -> ApplyTokenRefusal {
        parse_body::<ApplyTokenRequest>(body.as_bytes())
            .map_err(ApplyTokenRefusal::Field)
            .and_then(|r| r.check(v1))
            .unwrap_err()
    }

    #[test]
    fn apply_token_reads_both_grants_in_both_versions() {
        let v1: ApplyTokenRequest = parse_body(
            br#"{"referenceClientId":"mini-1","grantType":"AUTHORIZATION_CODE","authCode":"c-1","extra":1}"#,
        )
        .unwrap();
        assert_eq!(v1.check(true), Ok(TokenGrant::AuthorizationCode("c-1".into())));
        assert_eq!(v1.mini_program(true).as_deref(), Some("mini-1"));
        assert_eq!(v1.mini_program(false), None, "v2 reads appId");
        let v2: ApplyTokenRequest = parse_body(
            br#"{"appId":"mini-1","authClientId":"m","grantType":"REFRESH_TOKEN","refreshToken":"rt"}"#,
        )
        .unwrap();
        assert_eq!(v2.check(false), Ok(TokenGrant::RefreshToken("rt".into())));
        assert_eq!(v2.mini_program(false).as_deref(), Some("mini-1"));
    }

    #[test]
    fn apply_token_names_what_is_wrong() {
        let e = refusal(r#"{"authCode":"abc"}"#, true);
        assert!(
            matches!(&e, ApplyTokenRefusal::Field(f) if f.message.contains("grantType")),
            "{e}"
        );
        let e = refusal(r#"{"grantType":"AUTHORIZATION_CODE"}"#, true);
        assert!(
            matches!(&e, ApplyTokenRefusal::Field(f) if f.message.contains("authCode")),
            "{e}"
        );
        let e = refusal(r#"{"grantType":"REFRESH_TOKEN","refreshToken":""}"#, false);
        assert!(
            matches!(&e, ApplyTokenRefusal::Field(f) if f.message.contains("refreshToken")),
            "{e}"
        );
        let e = refusal(r#"{"grantType":7}"#, true);
        assert!(
            matches!(&e, ApplyTokenRefusal::Field(f) if f.message.starts_with("grantType")),
            "{e}"
        );
        assert_eq!(
            refusal(r#"{"grantType":"PASSWORD"}"#, false),
            ApplyTokenRefusal::UnsupportedGrantType("PASSWORD".into())
        );
        // authCode: 32 characters in v1, 64 in v2.
        let body = format!(
            r#"{{"grantType":"AUTHORIZATION_CODE","authCode":"{}"}}"#,
            "a".repeat(33)
        );
        assert!(
            matches!(refusal(&body, true), ApplyTokenRefusal::Field(f) if f.message.contains("authCode"))
        );
        let req: ApplyTokenRequest = parse_body(body.as_bytes()).unwrap();
        assert!(req.check(false).is_ok());
        let long_app = format!(
            r#"{{"appId":"{}","grantType":"REFRESH_TOKEN","refreshToken":"r"}}"#,
            "x".repeat(33)
        );
        assert!(
            matches!(refusal(&long_app, false), ApplyTokenRefusal::Field(f) if f.message.contains("appId"))
        );
    }

    #[test]
    fn the_constructors_serialise_to_what_the_wallet_reads() {
        let v2 = ApplyTokenRequest::authorization_code_v2("mini-1", "merchant-1", "code-1");
        let json = serde_json::to_value(&v2).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"appId": "mini-1", "authClientId": "merchant-1",
                "grantType": "AUTHORIZATION_CODE", "authCode": "code-1"})
        );
        let back: ApplyTokenRequest = parse_body(&serde_json::to_vec(&v2).unwrap()).unwrap();
        assert_eq!(back, v2);
        let v1 = ApplyTokenRequest::authorization_code_v1("mini-1", "code-1");
        assert_eq!(v1.check(true), Ok(TokenGrant::AuthorizationCode("code-1".into())));
        let refresh = ApplyTokenRequest::refresh("rt-1");
        assert_eq!(
            serde_json::to_value(&refresh).unwrap(),
            serde_json::json!({"grantType": "REFRESH_TOKEN", "refreshToken": "rt-1"})
        );
    }

    #[test]
    fn access_token_requests_need_the_token() {
        let r: AccessTokenRequest = parse_body(br#"{"extendInfo":"x"}"#).unwrap();
        assert!(r.check().unwrap_err().message.contains("accessToken"));
        assert!(AccessTokenRequest::new("t").check().is_ok());
        let long = AccessTokenRequest::new(&"t".repeat(129));
        assert!(long.check().unwrap_err().message.contains("accessToken"));
        let e = parse_body::<AccessTokenRequest>(br#"{"accessToken":5}"#).unwrap_err();
        assert!(e.message.starts_with("accessToken"), "{e}");
        assert_eq!(
            serde_json::to_value(AccessTokenRequest::new("t")).unwrap(),
            serde_json::json!({"accessToken": "t"})
        );
    }

    #[test]
    fn user_info_answers_keep_only_the_granted_fields() {
        let body = br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"Success"},
            "userInfo":{"userId":"u-1","nickName":"Ali","loginIdInfos":[{"loginIdType":"MOBILE_PHONE",
            "maskLoginId":"+1555****001","hashLoginId":"ab"}]}}"#;
        let answer: UserInfoResponse = parse_body(body).unwrap();
        assert_eq!(answer.user_info.user_id, "u-1");
        assert_eq!(answer.user_info.nick_name.as_deref(), Some("Ali"));
        assert_eq!(answer.user_info.avatar, None);
        let again = serde_json::to_value(&answer.user_info).unwrap();
        assert!(
            again.get("avatar").is_none() && again.get("contactInfos").is_none(),
            "{again}"
        );
        assert_eq!(again["loginIdInfos"][0]["maskLoginId"], "+1555****001");
    }
}
