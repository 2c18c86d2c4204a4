//! applyToken (v1, v2), cancelToken and the user-info inquiries (docs/mini-program.md §16): wire DTO →
//! core → wire answer. The wire shapes are in `walletd_protocol::miniprogram::oauth` (shared with
//! the merchant SDK).
//!
//! v1 and v2 differ in the names of the auth-code errors (`INVALID_CODE` / `INVALID_AUTHCODE`, …)
//! and in how the mini program is named (`referenceClientId` / `appId` + `authClientId`).

use super::{Answer, Call, MpError, Version};
use crate::AppState;
use walletd_core::oauth::{TokenGrantType, TokenRefusal, TokenRefused, TokenRequest, UserProfile};
use walletd_protocol::miniprogram::oauth::{
    AccessTokenRequest, ApplyTokenRefusal, ApplyTokenRequest, ApplyTokenResponse, TokenGrant,
    UserInfoResponse, WireContactInfo, WireLoginIdInfo, WireUserInfo, WireUserName,
};
use walletd_protocol::miniprogram::{format_body_time, parse_body};
use walletd_protocol::result::WireResult;
use walletd_protocol::ResultCode;

/// The wire code of a refusal in this API version.
fn refusal_code(version: Version, reason: TokenRefusal) -> ResultCode {
    use TokenRefusal::*;
    match (reason, version) {
        (InvalidCode, Version::V1) => ResultCode::InvalidCode,
        (InvalidCode, Version::V2) => ResultCode::InvalidAuthcode,
        (UsedCode, Version::V1) => ResultCode::UsedCode,
        (UsedCode, Version::V2) => ResultCode::UsedAuthcode,
        (ExpiredCode, Version::V1) => ResultCode::ExpiredCode,
        (ExpiredCode, Version::V2) => ResultCode::ExpiredAuthcode,
        (ReferenceClientIdNotMatch, _) => ResultCode::ReferenceClientIdNotMatch,
        (InvalidAuthClient, _) => ResultCode::InvalidAuthClient,
        (InvalidAuthClientStatus, _) => ResultCode::InvalidAuthClientStatus,
        (InvalidRefreshToken, _) => ResultCode::InvalidRefreshToken,
        (ExpiredRefreshToken, _) => ResultCode::ExpiredRefreshToken,
        (UsedRefreshToken, _) => ResultCode::UsedRefreshToken,
        (InvalidAccessToken, _) => ResultCode::InvalidAccessToken,
        (ExpiredAccessToken, _) => ResultCode::ExpiredAccessToken,
    }
}

fn refused(version: Version, r: TokenRefused) -> MpError {
    MpError::new(refusal_code(version, r.reason), r.message)
}

/// v2 `authClientId` names the client the authorization is for: it must be the caller.
fn check_auth_client(call: &Call, auth_client_id: Option<&str>) -> Result<(), MpError> {
    match auth_client_id.filter(|a| !a.is_empty()) {
        Some(a) if a != call.client.client_id => Err(MpError::new(
            ResultCode::InvalidAuthClient,
            format!("authClientId {a} is not the calling client"),
        )),
        _ => Ok(()),
    }
}

pub async fn apply_token(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: ApplyTokenRequest = parse_body(&call.body)?;
    let v1 = call.version == Version::V1;
    let grant_type = match req.check(v1) {
        Ok(TokenGrant::AuthorizationCode(auth_code)) => TokenGrantType::AuthorizationCode { auth_code },
        Ok(TokenGrant::RefreshToken(refresh_token)) => TokenGrantType::RefreshToken { refresh_token },
        Err(ApplyTokenRefusal::Field(e)) => return Err(e.into()),
        Err(e @ ApplyTokenRefusal::UnsupportedGrantType(_)) => {
            return Err(MpError::new(
                ResultCode::AuthClientUnsupportedGrantType,
                e.to_string(),
            ))
        }
    };
    if !v1 {
        check_auth_client(call, req.auth_client_id.as_deref())?;
    }
    let reference_client_id = req.mini_program(v1);
    let request = TokenRequest {
        client_id: call.client.client_id.clone(),
        reference_client_id,
        grant_type,
    };
    let issued = state
        .wallet
        .apply_token(request, state.config.oauth.lifetimes())
        .await?
        .map_err(|r| refused(call.version, r))?;
    tracing::info!(
        client_id = %call.client.client_id,
        customer_id = %issued.customer_id,
        token_id = %issued.token_id,
        "token pair issued"
    );
    Ok(Answer::json(
        &ApplyTokenResponse {
            result: WireResult::of(ResultCode::Success),
            access_token: issued.access_token,
            access_token_expiry_time: format_body_time(issued.access_expires_at),
            refresh_token: issued.refresh_token,
            refresh_token_expiry_time: format_body_time(issued.refresh_expires_at),
            customer_id: issued.customer_id,
            extend_info: None,
        },
        "SUCCESS",
    ))
}

pub async fn cancel_token(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: AccessTokenRequest = parse_body(&call.body)?;
    req.check()?;
    check_auth_client(call, req.auth_client_id.as_deref())?;
    state
        .wallet
        .cancel_token(&call.client.client_id, &req.access_token)
        .await?
        .map_err(|r| refused(call.version, r))?;
    tracing::info!(client_id = %call.client.client_id, "token pair cancelled");
    Ok(Answer::json(
        &walletd_protocol::miniprogram::oauth::CancelTokenResponse {
            result: WireResult::of(ResultCode::Success),
            extend_info: None,
        },
        "SUCCESS",
    ))
}

pub async fn inquiry_user_info(state: &AppState, call: &Call) -> Result<Answer, MpError> {
    let req: AccessTokenRequest = parse_body(&call.body)?;
    req.check()?;
    check_auth_client(call, req.auth_client_id.as_deref())?;
    let (profile, token) = state
        .wallet
        .user_info(&call.client.client_id, &req.access_token)
        .await?
        .map_err(|r| refused(call.version, r))?;
    if let (Some(asked), Some(granted)) = (
        req.app_id.as_deref().filter(|a| !a.is_empty()),
        token.grant.app_id.as_deref(),
    ) {
        if asked != granted {
            return Err(MpError::new(
                ResultCode::AccessDenied,
                format!("the access token was granted to appId {granted}, not {asked}"),
            ));
        }
    }
    Ok(Answer::json(
        &UserInfoResponse {
            result: WireResult::of(ResultCode::Success),
            user_info: wire_user(state, &profile),
        },
        "SUCCESS",
    ))
}

fn wire_user(state: &AppState, p: &UserProfile) -> WireUserInfo {
    WireUserInfo {
        user_id: p.user_id.clone(),
        status: p.status.map(|s| s.as_str().to_owned()),
        nick_name: p.nickname.clone(),
        user_name: p.full_name.clone().map(|full_name| WireUserName { full_name }),
        avatar: p.avatar.then(|| crate::consent::avatar_url(state, &p.user_id)),
        login_id_infos: p.login_id.as_ref().map(|l| {
            vec![WireLoginIdInfo {
                login_id_type: l.kind.to_owned(),
                mask_login_id: l.masked.clone(),
                hash_login_id: l.hashed.clone(),
            }]
        }),
        contact_infos: p.contact.as_ref().map(|l| {
            vec![WireContactInfo {
                contact_type: match l.kind {
                    "EMAIL" => "EMAIL".to_owned(),
                    _ => "MOBILE_PHONE".to_owned(),
                },
                contact_no: l.value.clone(),
            }]
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_errors_have_v1_and_v2_names() {
        assert_eq!(
            refusal_code(Version::V1, TokenRefusal::InvalidCode),
            ResultCode::InvalidCode
        );
        assert_eq!(
            refusal_code(Version::V2, TokenRefusal::InvalidCode),
            ResultCode::InvalidAuthcode
        );
        assert_eq!(
            refusal_code(Version::V2, TokenRefusal::UsedCode),
            ResultCode::UsedAuthcode
        );
        assert_eq!(
            refusal_code(Version::V2, TokenRefusal::ExpiredCode),
            ResultCode::ExpiredAuthcode
        );
        assert_eq!(
            refusal_code(Version::V2, TokenRefusal::UsedRefreshToken),
            ResultCode::UsedRefreshToken
        );
    }
}
