//! OAuth for mini programs (docs/mini-program.md §16): what a user grants a mini program, the
//! single-use auth codes that carry the grant to the merchant's server, the access and refresh
//! tokens it exchanges them for, and the one-time payment codes a user shows at a till.
//!
//! Architecture invariant: no secret is stored in clear. Auth codes, tokens and payment codes are
//! random (from [`crate::clock::IdSource::random_hex`]) and only their SHA-256 is kept, so a copy of
//! the database lets nobody act as a user.
//!
//! Rules we chose where the protocol is silent (docs/choices.md, OAuth):
//! * an auth code is single-use and short-lived ([`Lifetimes::auth_code_secs`], default 5 minutes);
//! * a refresh token is single-use: exchanging it rotates the pair, the old pair is dead and a
//!   second use of the old refresh token is `USED_REFRESH_TOKEN`;
//! * every grant implies `auth_base` (the user id is the `customerId` of applyToken);
//! * agreement payment (`AGREEMENT_PAY`) is granted with a per-payment limit per currency.

use crate::context::Context;
use crate::error::CoreError;
use crate::error::Refusal;
pub use crate::model::oauth::{AuthCode, Grant, PaymentCode, Scope, TokenRecord};
use crate::model::parties::{Client, PartyStatus, User};
use crate::storage::Tx;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use walletd_protocol::{Amount, ResultCode};

/// Parses a list of scope names separated by commas or spaces; sorted, without duplicates.
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>, String> {
    let mut out = Vec::new();
    for name in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        out.push(Scope::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown scope {name:?}; known scopes: {}", known.join(", "))
        })?);
    }
    if out.is_empty() {
        return Err("at least one scope is required".into());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The scopes as `my.getAuthCode` spells them, comma-separated.
pub fn scopes_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

/// SHA-256 of a secret, lower-case hex: the only form in which codes and tokens are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How long each credential lives. The server passes its configuration in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub auth_code_secs: i64,
    pub access_token_secs: i64,
    pub refresh_token_secs: i64,
    pub payment_code_secs: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            auth_code_secs: 5 * 60,
            access_token_secs: 24 * 3600,
            refresh_token_secs: 30 * 24 * 3600,
            payment_code_secs: 2 * 60,
        }
    }
}

/// What applyToken hands out. The secrets exist only in this value.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    pub token_id: String,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    /// The user, as the merchant knows them.
    pub customer_id: String,
    pub grant: Grant,
}

/// Debug output never shows the secret or hash a record holds.
impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("token_id", &self.token_id)
            .field("customer_id", &self.customer_id)
            .field("grant", &self.grant)
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// Why a token operation was refused. The dialect picks the wire code (v1 `INVALID_CODE` is v2
/// `INVALID_AUTHCODE`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    InvalidCode,
    UsedCode,
    ExpiredCode,
    ReferenceClientIdNotMatch,
    InvalidAuthClient,
    InvalidAuthClientStatus,
    InvalidRefreshToken,
    ExpiredRefreshToken,
    UsedRefreshToken,
    InvalidAccessToken,
    ExpiredAccessToken,
}

/// A refusal with a message for `resultMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefused {
    pub reason: TokenRefusal,
    pub message: String,
}

pub(crate) fn token_refused<T>(
    reason: TokenRefusal,
    message: impl Into<String>,
) -> Result<Result<T, TokenRefused>, CoreError> {
    Ok(Err(TokenRefused {
        reason,
        message: message.into(),
    }))
}

/// What the merchant exchanges.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenGrantType {
    AuthorizationCode { auth_code: String },
    RefreshToken { refresh_token: String },
}

/// Debug output never shows the code or token.
impl std::fmt::Debug for TokenGrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenGrantType::AuthorizationCode { .. } => {
                f.write_str("AuthorizationCode { auth_code: <redacted> }")
            }
            TokenGrantType::RefreshToken { .. } => f.write_str("RefreshToken { refresh_token: <redacted> }"),
        }
    }
}

/// An applyToken request, after the dialect checked its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The authenticated caller (`Client-Id`).
    pub client_id: String,
    /// v1 `referenceClientId` / v2 `appId`: the mini program the grant must be for, if named.
    pub reference_client_id: Option<String>,
    pub grant_type: TokenGrantType,
}

/// A freshly issued code in clear, shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Debug output never shows the secret or hash a record holds.
impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCode")
            .field("expires_at", &self.expires_at)
            .field("code", &"<redacted>")
            .finish()
    }
}

/// What a granted set of scopes lets a mini program read about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    /// Always present (`auth_base`).
    pub user_id: String,
    pub status: Option<PartyStatus>,
    pub nickname: Option<String>,
    pub full_name: Option<String>,
    /// The mini program may show the user's avatar (the dialect knows where it is served).
    pub avatar: bool,
    pub login_id: Option<LoginId>,
    /// The login in clear, as a contact.
    pub contact: Option<LoginId>,
}

/// A login with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginId {
    /// `MOBILE_PHONE`, `EMAIL` or `OTHER`.
    pub kind: &'static str,
    pub value: String,
    pub masked: String,
    pub hashed: String,
}

impl LoginId {
    pub fn of(login: &str) -> LoginId {
        let kind = if login.contains('@') {
            "EMAIL"
        } else if login
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        {
            "MOBILE_PHONE"
        } else {
            "OTHER"
        };
        LoginId {
            kind,
            value: login.to_owned(),
            masked: mask_login(login),
            hashed: hash_secret(login),
        }
    }
}

/// Keeps the first three and last two characters (an e-mail keeps its domain), stars between.
fn mask_login(login: &str) -> String {
    let (local, domain) = match login.split_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (login, None),
    };
    let chars: Vec<char> = local.chars().collect();
    let (keep_head, keep_tail) = if domain.is_some() { (1, 0) } else { (3, 2) };
    let masked: String = if chars.len() <= keep_head + keep_tail {
        "*".repeat(chars.len().max(1))
    } else {
        let head: String = chars[..keep_head].iter().collect();
        let tail: String = chars[chars.len() - keep_tail..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - keep_head - keep_tail))
    };
    match domain {
        Some(d) => format!("{masked}@{d}"),
        None => masked,
    }
}

impl UserProfile {
    /// Only the fields `scopes` allow.
    pub fn of(user: &User, scopes: &[Scope]) -> UserProfile {
        let has = |s: Scope| scopes.contains(&s);
        let basic = has(Scope::AuthUser);
        UserProfile {
            user_id: user.user_id.clone(),
            status: basic.then_some(user.status),
            nickname: (basic || has(Scope::UserNickname)).then(|| user.display_name.clone()),
            full_name: has(Scope::UserName).then(|| user.display_name.clone()),
            avatar: basic || has(Scope::UserAvatar),
            login_id: has(Scope::UserLoginId).then(|| LoginId::of(&user.login)),
            contact: has(Scope::UserContactInfo).then(|| LoginId::of(&user.login)),
        }
    }
}

// ---- inside a transaction ----

/// Issues an auth code for `grant`, valid `ttl_secs`.
pub(crate) fn issue_auth_code(
    ctx: &Context,
    tx: &mut dyn Tx,
    grant: &Grant,
    ttl_secs: i64,
) -> Result<IssuedCode, CoreError> {
    let now = ctx.now();
    grant.check().map_err(CoreError::Invalid)?;
    if ttl_secs <= 0 {
        return Err(CoreError::Invalid(
            "an auth code must live longer than 0 s".into(),
        ));
    }
    let client = tx
        .get_client(&grant.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", grant.client_id)))?;
    if client.status != PartyStatus::Active {
        return Err(CoreError::rejected(
            ResultCode::PartnerStatusAbnormal,
            format!("client {} is {}", client.client_id, client.status.as_str()),
        ));
    }
    if let Some(app) = &grant.app_id {
        if !client.app_ids.is_empty() && !client.app_ids.contains(app) {
            return Err(CoreError::Invalid(format!(
                "appId {app} is not registered to client {}",
                client.client_id
            )));
        }
    }
    let user = tx
        .get_user(&grant.user_id)?
        .ok_or_else(|| CoreError::NotFound(format!("user {}", grant.user_id)))?;
    if user.status != PartyStatus::Active {
        return Err(CoreError::rejected(
            ResultCode::UserStatusAbnormal,
            format!("user {} is {}", user.user_id, user.status.as_str()),
        ));
    }
    // 16 random bytes: 32 hex characters, the v1 limit of `authCode`.
    let code = ctx.ids.random_hex(16);
    let expires_at = now + Duration::seconds(ttl_secs);
    tx.insert_auth_code(&AuthCode {
        code_hash: hash_secret(&code),
        grant: grant.clone(),
        created_at: now,
        expires_at,
        used_at: None,
        token_id: None,
    })?;
    Ok(IssuedCode { code, expires_at })
}

/// True if `reference` names the client itself or one of its mini programs.
fn names_own_mini_program(client: &Client, reference: &str) -> bool {
    reference == client.client_id
        || client.app_ids.is_empty()
        || client.app_ids.iter().any(|a| a == reference)
}

/// applyToken.
pub(crate) fn apply_token(
    ctx: &Context,
    tx: &mut dyn Tx,
    req: &TokenRequest,
    life: &Lifetimes,
) -> Result<Result<IssuedTokens, TokenRefused>, CoreError> {
    use TokenRefusal::*;
    let now = ctx.now();
    let client = tx
        .get_client(&req.client_id)?
        .ok_or_else(|| CoreError::NotFound(format!("client {}", req.client_id)))?;
    if client.status != PartyStatus::Active {
        return token_refused(
            InvalidAuthClientStatus,
            format!("client {} is {}", client.client_id, client.status.as_str()),
        );
    }
    if let Some(r) = &req.reference_client_id {
        if !names_own_mini_program(&client, r) {
            return token_refused(
                InvalidAuthClient,
                format!("{r} is neither this client nor one of its mini programs"),
            );
        }
    }
    match &req.grant_type {
        TokenGrantType::AuthorizationCode { auth_code } => {
            exchange_auth_code(ctx, tx, &client, req, auth_code, life, now)
        }
        TokenGrantType::RefreshToken { refresh_token } => {
            rotate_refresh_token(ctx, tx, &client, req, refresh_token, life, now)
        }
    }
}

/// Why a grant does not match the mini program the request names (`referenceClientId`), if so.
fn reference_mismatch(req: &TokenRequest, grant: &Grant) -> Option<String> {
    req.reference_client_id
        .as_deref()
        .filter(|r| *r != grant.mini_program())
        .map(|r| format!("the grant is for {}, not {r}", grant.mini_program()))
}

/// applyToken with an auth code: the code must be this client's, unused, unexpired and for the
/// named mini program; it is spent on the new token pair.
fn exchange_auth_code(
    ctx: &Context,
    tx: &mut dyn Tx,
    client: &Client,
    req: &TokenRequest,
    auth_code: &str,
    life: &Lifetimes,
    now: DateTime<Utc>,
) -> Result<Result<IssuedTokens, TokenRefused>, CoreError> {
    use TokenRefusal::*;
    let Some(mut code) = tx.get_auth_code(&hash_secret(auth_code))? else {
        return token_refused(InvalidCode, "no such auth code");
    };
    if code.grant.client_id != client.client_id {
        // Do not tell another client that the code exists.
        return token_refused(InvalidCode, "no such auth code");
    }
    if code.used_at.is_some() {
        return token_refused(UsedCode, "the auth code has been used already");
    }
    if now >= code.expires_at {
        return token_refused(ExpiredCode, "the auth code has expired");
    }
    if let Some(m) = reference_mismatch(req, &code.grant) {
        return token_refused(ReferenceClientIdNotMatch, m);
    }
    let issued = issue_pair(ctx, tx, &code.grant, life)?;
    code.used_at = Some(now);
    code.token_id = Some(issued.token_id.clone());
    tx.update_auth_code(&code)?;
    Ok(Ok(issued))
}

/// applyToken with a refresh token: the token must be this client's, live (not revoked, rotated
/// or expired) and for the named mini program; the pair rotates to a new one.
fn rotate_refresh_token(
    ctx: &Context,
    tx: &mut dyn Tx,
    client: &Client,
    req: &TokenRequest,
    refresh_token: &str,
    life: &Lifetimes,
    now: DateTime<Utc>,
) -> Result<Result<IssuedTokens, TokenRefused>, CoreError> {
    use TokenRefusal::*;
    let Some(mut old) = tx.find_token_by_refresh(&hash_secret(refresh_token))? else {
        return token_refused(InvalidRefreshToken, "no such refresh token");
    };
    if old.grant.client_id != client.client_id {
        return token_refused(InvalidRefreshToken, "no such refresh token");
    }
    if old.revoked_at.is_some() {
        return token_refused(InvalidRefreshToken, "the authorization has been revoked");
    }
    if old.rotated_at.is_some() {
        return token_refused(
            UsedRefreshToken,
            "the refresh token has been used; use the one it was exchanged for",
        );
    }
    if now >= old.refresh_expires_at {
        return token_refused(ExpiredRefreshToken, "the refresh token has expired");
    }
    if let Some(m) = reference_mismatch(req, &old.grant) {
        return token_refused(ReferenceClientIdNotMatch, m);
    }
    let issued = issue_pair(ctx, tx, &old.grant, life)?;
    old.rotated_at = Some(now);
    old.rotated_to = Some(issued.token_id.clone());
    tx.update_token(&old)?;
    Ok(Ok(issued))
}

fn issue_pair(
    ctx: &Context,
    tx: &mut dyn Tx,
    grant: &Grant,
    life: &Lifetimes,
) -> Result<IssuedTokens, CoreError> {
    let now = ctx.now();
    let access_token = ctx.ids.random_hex(32);
    let refresh_token = ctx.ids.random_hex(32);
    let record = TokenRecord {
        token_id: ctx.ids.new_id("token", now),
        access_hash: hash_secret(&access_token),
        refresh_hash: hash_secret(&refresh_token),
        grant: grant.clone(),
        created_at: now,
        access_expires_at: now + Duration::seconds(life.access_token_secs),
        refresh_expires_at: now + Duration::seconds(life.refresh_token_secs),
        rotated_at: None,
        rotated_to: None,
        revoked_at: None,
    };
    tx.insert_token(&record)?;
    Ok(IssuedTokens {
        token_id: record.token_id,
        access_token,
        access_expires_at: record.access_expires_at,
        refresh_token,
        refresh_expires_at: record.refresh_expires_at,
        customer_id: grant.user_id.clone(),
        grant: grant.clone(),
    })
}

/// The live pair of `access_token`, if it belongs to `client_id` and has not expired.
pub(crate) fn check_access(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    client_id: &str,
    access_token: &str,
) -> Result<Result<TokenRecord, TokenRefused>, CoreError> {
    use TokenRefusal::*;
    let Some(rec) = tx.find_token_by_access(&hash_secret(access_token))? else {
        return token_refused(InvalidAccessToken, "no such access token");
    };
    if rec.grant.client_id != client_id {
        return token_refused(InvalidAccessToken, "no such access token");
    }
    if rec.revoked_at.is_some() {
        return token_refused(InvalidAccessToken, "the authorization has been revoked");
    }
    if rec.rotated_at.is_some() {
        return token_refused(
            InvalidAccessToken,
            "the access token was replaced when its refresh token was used",
        );
    }
    if now >= rec.access_expires_at {
        return token_refused(ExpiredAccessToken, "the access token has expired");
    }
    Ok(Ok(rec))
}

/// The agreement payer behind `access_token`, if it may pay `amount` to `client_id` (`appId` as
/// the request names it).
pub(crate) fn agreement_payer(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    client_id: &str,
    app_id: Option<&str>,
    access_token: &str,
    amount: Amount,
) -> Result<Result<String, Refusal>, CoreError> {
    let rec = match check_access(tx, now, client_id, access_token)? {
        Ok(r) => r,
        Err(r) => {
            let code = match r.reason {
                TokenRefusal::ExpiredAccessToken => ResultCode::ExpiredAccessToken,
                _ => ResultCode::InvalidAccessToken,
            };
            return Ok(Err((code, format!("paymentAuthCode: {}", r.message))));
        }
    };
    if let (Some(asked), Some(granted)) = (app_id, rec.grant.app_id.as_deref()) {
        if asked != granted {
            return Ok(Err((
                ResultCode::AccessDenied,
                format!("the access token was granted to appId {granted}, not {asked}"),
            )));
        }
    }
    if !rec.grant.allows(Scope::AgreementPay) {
        return Ok(Err((
            ResultCode::AccessDenied,
            "the user did not grant AGREEMENT_PAY to this mini program".into(),
        )));
    }
    let currency = amount.currency();
    match rec.grant.agreement_limits.get(currency.code()) {
        None => Ok(Err((
            ResultCode::UserAmountExceedLimit,
            format!("the user's agreement allows no payments in {currency}"),
        ))),
        Some(limit) if amount.value_minor() > *limit => Ok(Err((
            ResultCode::UserAmountExceedLimit,
            format!(
                "the amount exceeds the per-payment limit of {} the user agreed to",
                Amount::from_minor(currency, *limit)
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| format!("{limit} minor units"))
            ),
        ))),
        Some(_) => Ok(Ok(rec.grant.user_id)),
    }
}

/// A payer the merchant names in a cashier payment (`extendInfo.customerId`) is honoured only
/// when that user granted this client `AGREEMENT_PAY` (a live access token: neither expired,
/// revoked nor replaced, for the same mini program when both name one) and the amount is within
/// the per-payment limit the user agreed to. Naming a payer holds their funds at once and lets
/// an evaluation probe their balance, so it needs the same consent as taking money without them.
///
/// A user without such a grant gets exactly the answer of a user id that does not exist (same
/// code, same message, the same single lookup), so naming ids enumerates nothing.
/// How many of a user's newest token pairs for a client a named-payer check reads.
pub const NAMED_PAYER_PAIRS: u32 = 64;

pub(crate) fn named_payer(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    client_id: &str,
    app_id: Option<&str>,
    user_id: &str,
    amount: Amount,
) -> Result<Result<(), Refusal>, CoreError> {
    let currency = amount.currency();
    let mut best_limit: Option<i64> = None;
    let mut granted = false;
    // A refresh retires its pair and makes a newer one, so a live grant is among the newest pairs;
    // reading only those keeps the check's cost flat however often the merchant refreshed.
    for rec in tx.list_newest_tokens_of_user(user_id, client_id, NAMED_PAYER_PAIRS)? {
        let live = rec.is_live() && now < rec.access_expires_at && rec.grant.client_id == client_id;
        let same_app = match (app_id, rec.grant.app_id.as_deref()) {
            (Some(asked), Some(granted_to)) => asked == granted_to,
            _ => true,
        };
        if !(live && same_app && rec.grant.allows(Scope::AgreementPay)) {
            continue;
        }
        granted = true;
        if let Some(limit) = rec.grant.agreement_limits.get(currency.code()) {
            best_limit = Some(best_limit.map_or(*limit, |b| b.max(*limit)));
        }
    }
    if !granted {
        return Ok(Err((
            ResultCode::UserNotExist,
            crate::parties::unknown_user_message(user_id),
        )));
    }
    match best_limit {
        None => Ok(Err((
            ResultCode::UserAmountExceedLimit,
            format!("the user's agreement allows no payments in {currency}"),
        ))),
        Some(limit) if amount.value_minor() > limit => Ok(Err((
            ResultCode::UserAmountExceedLimit,
            "the amount exceeds the per-payment limit the user agreed to".into(),
        ))),
        Some(_) => Ok(Ok(())),
    }
}

/// The payer behind a payment code, if the code is good (not yet used, not expired).
pub(crate) fn payment_code_payer(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    code: &str,
) -> Result<Result<PaymentCode, Refusal>, CoreError> {
    let Some(rec) = tx.get_payment_code(&hash_secret(code))? else {
        return Ok(Err((
            ResultCode::InvalidCode,
            "paymentAuthCode is not a payment code of this wallet".into(),
        )));
    };
    if rec.used_at.is_some() {
        return Ok(Err((
            ResultCode::AuthCodeAlreadyUsed,
            "the payment code has been used; the user must show a new one".into(),
        )));
    }
    if now >= rec.expires_at {
        return Ok(Err((
            ResultCode::InvalidCode,
            "the payment code has expired; the user must show a new one".into(),
        )));
    }
    Ok(Ok(rec))
}

/// Marks a payment code used by `payment_id`.
pub(crate) fn spend_payment_code(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    mut code: PaymentCode,
    payment_id: &str,
) -> Result<(), CoreError> {
    code.used_at = Some(now);
    code.payment_id = Some(payment_id.to_owned());
    tx.update_payment_code(&code)?;
    Ok(())
}

/// Issues a payment code for `user_id`, valid `ttl_secs`: 18 digits, starting with `28`.
pub(crate) fn issue_payment_code(
    ctx: &Context,
    tx: &mut dyn Tx,
    user_id: &str,
    ttl_secs: i64,
) -> Result<IssuedCode, CoreError> {
    let now = ctx.now();
    if ttl_secs <= 0 {
        return Err(CoreError::Invalid(
            "a payment code must live longer than 0 s".into(),
        ));
    }
    let user = tx
        .get_user(user_id)?
        .ok_or_else(|| CoreError::NotFound(format!("user {user_id}")))?;
    if user.status != PartyStatus::Active {
        return Err(CoreError::rejected(
            ResultCode::UserStatusAbnormal,
            format!("user {user_id} is {}", user.status.as_str()),
        ));
    }
    // A fresh code each time; a collision with a stored code is retried a bounded number of times.
    for _ in 0..8 {
        let random = u64::from_str_radix(&ctx.ids.random_hex(8), 16)
            .map_err(|e| CoreError::Invariant(format!("random_hex gave non-hex: {e}")))?;
        let code = format!("28{:016}", random % 10_000_000_000_000_000);
        let code_hash = hash_secret(&code);
        if tx.get_payment_code(&code_hash)?.is_some() {
            continue;
        }
        let expires_at = now + Duration::seconds(ttl_secs);
        tx.insert_payment_code(&PaymentCode {
            code_hash,
            user_id: user_id.to_owned(),
            created_at: now,
            expires_at,
            used_at: None,
            payment_id: None,
        })?;
        return Ok(IssuedCode { code, expires_at });
    }
    Err(CoreError::Invariant(
        "could not find an unused payment code".into(),
    ))
}

/// How long spent and expired codes are kept (for support questions) before they are purged.
pub const SPENT_CODE_RETENTION_SECS: i64 = 24 * 3600;

// ---- the async face ----

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn scopes_parse_in_any_order_and_reject_unknown_names() {
        let s = parse_scopes("USER_NICKNAME, auth_user,USER_NICKNAME AGREEMENT_PAY").unwrap();
        assert_eq!(s, vec![Scope::AuthUser, Scope::UserNickname, Scope::AgreementPay]);
        assert_eq!(scopes_text(&s), "auth_user,USER_NICKNAME,AGREEMENT_PAY");
        assert!(parse_scopes("auth_user,EVERYTHING")
            .unwrap_err()
            .contains("EVERYTHING"));
        assert!(parse_scopes(" , ").is_err());
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn profile_fields_follow_the_scopes() {
        let u = User::new("u1", "+15550001234", "Alice", Utc::now());
        let base = UserProfile::of(&u, &[Scope::AuthBase]);
        assert_eq!(base.user_id, "u1");
        assert_eq!(
            (base.nickname, base.avatar, base.status, base.login_id),
            (None, false, None, None)
        );
        let nick = UserProfile::of(&u, &[Scope::UserNickname]);
        assert_eq!(nick.nickname.as_deref(), Some("Alice"));
        assert!(!nick.avatar);
        let basic = UserProfile::of(&u, &[Scope::AuthUser]);
        assert!(basic.avatar && basic.nickname.is_some() && basic.status.is_some());
        assert!(basic.contact.is_none());
        let login = UserProfile::of(&u, &[Scope::UserLoginId]).login_id.unwrap();
        assert_eq!(login.kind, "MOBILE_PHONE");
        assert_eq!(login.masked, "+15*******34");
        assert!(!login.masked.contains("0001"));
    }

    #[test]
    fn logins_are_masked_without_giving_them_away() {
        assert_eq!(mask_login("alice@example.com"), "a****@example.com");
        assert_eq!(LoginId::of("alice@example.com").kind, "EMAIL");
        assert_eq!(mask_login("ab"), "**");
        assert_eq!(LoginId::of("someone").kind, "OTHER");
    }

    #[test]
    fn a_grant_with_agreement_pay_needs_a_positive_limit() {
        let mut g = Grant {
            client_id: "c".into(),
            app_id: None,
            user_id: "u".into(),
            scopes: vec![Scope::AgreementPay],
            agreement_limits: BTreeMap::new(),
        };
        assert!(g.check().is_err());
        g.agreement_limits.insert("USD".into(), 0);
        assert!(g.check().is_err());
        g.agreement_limits.insert("USD".into(), 500);
        assert!(g.check().is_ok());
        assert_eq!(g.mini_program(), "c");
        g.scopes = vec![Scope::AuthUser];
        assert!(g.check().is_err(), "a limit without the scope is a mistake");
    }

    #[test]
    fn secrets_are_stored_as_sha256() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
