//! The wallet's OAuth commands: auth codes, token pairs, payment codes and grants, each one storage transaction.

use super::Wallet;
use crate::error::CoreError;
use crate::model::oauth::{Grant, TokenRecord};
use crate::oauth::{
    apply_token, check_access, hash_secret, issue_auth_code, issue_payment_code, token_refused, IssuedCode,
    IssuedTokens, Lifetimes, TokenRefusal, TokenRefused, TokenRequest, UserProfile,
};

impl Wallet {
    /// Issues a single-use auth code for what the user granted (the consent page, or an operator).
    pub async fn issue_auth_code(&self, grant: Grant, ttl_secs: i64) -> Result<IssuedCode, CoreError> {
        self.write(move |ctx, tx| issue_auth_code(ctx, tx, &grant, ttl_secs))
            .await
    }

    /// applyToken: exchanges an auth code or a refresh token for a new token pair.
    pub async fn apply_token(
        &self,
        req: TokenRequest,
        life: Lifetimes,
    ) -> Result<Result<IssuedTokens, TokenRefused>, CoreError> {
        self.write(move |ctx, tx| apply_token(ctx, tx, &req, &life)).await
    }

    /// The user behind a live access token of `client_id`, with what the grant lets them see.
    pub async fn user_info(
        &self,
        client_id: &str,
        access_token: &str,
    ) -> Result<Result<(UserProfile, TokenRecord), TokenRefused>, CoreError> {
        let (client, token) = (client_id.to_owned(), access_token.to_owned());
        self.read(move |ctx, tx| {
            let rec = match check_access(tx, ctx.now(), &client, &token)? {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            let Some(user) = tx.get_user(&rec.grant.user_id)? else {
                return token_refused(TokenRefusal::InvalidAccessToken, "the user no longer exists");
            };
            Ok(Ok((UserProfile::of(&user, &rec.grant.scopes), rec)))
        })
        .await
    }

    /// cancelToken: revokes the pair of a live or expired access token of `client_id`.
    pub async fn cancel_token(
        &self,
        client_id: &str,
        access_token: &str,
    ) -> Result<Result<(), TokenRefused>, CoreError> {
        let (client, token) = (client_id.to_owned(), access_token.to_owned());
        self.write(move |ctx, tx| {
            let Some(mut rec) = tx.find_token_by_access(&hash_secret(&token))? else {
                return token_refused(TokenRefusal::InvalidAccessToken, "no such access token");
            };
            if rec.grant.client_id != client {
                return token_refused(TokenRefusal::InvalidAccessToken, "no such access token");
            }
            if rec.revoked_at.is_some() {
                return Ok(Ok(()));
            }
            if rec.rotated_at.is_some() {
                return token_refused(
                    TokenRefusal::InvalidAccessToken,
                    "the access token was replaced when its refresh token was used; cancel the current one",
                );
            }
            // An expired access token still cancels its pair: its refresh token may be alive.
            rec.revoked_at = Some(ctx.now());
            tx.update_token(&rec)?;
            Ok(Ok(()))
        })
        .await
    }

    /// Revokes every live token pair `user_id` granted (to `client_id` only, if given); returns
    /// how many (an operator's command).
    pub async fn revoke_user_tokens(
        &self,
        user_id: &str,
        client_id: Option<String>,
    ) -> Result<usize, CoreError> {
        let user = user_id.to_owned();
        self.write(move |ctx, tx| {
            let now = ctx.now();
            let mut n = 0;
            for mut rec in tx.list_tokens_of_user(&user, client_id.as_deref())? {
                if rec.is_live() {
                    rec.revoked_at = Some(now);
                    tx.update_token(&rec)?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }

    /// Revokes the pair of one access token, whoever holds it (an operator's command). False if
    /// no such token exists.
    pub async fn revoke_access_token(&self, access_token: &str) -> Result<bool, CoreError> {
        let token = access_token.to_owned();
        self.write(move |ctx, tx| {
            let Some(mut rec) = tx.find_token_by_access(&hash_secret(&token))? else {
                return Ok(false);
            };
            if rec.revoked_at.is_none() {
                rec.revoked_at = Some(ctx.now());
                tx.update_token(&rec)?;
            }
            Ok(true)
        })
        .await
    }

    /// The token pairs a user granted (newest first), for an operator.
    pub async fn tokens_of_user(&self, user_id: &str) -> Result<Vec<TokenRecord>, CoreError> {
        let user = user_id.to_owned();
        self.read(move |_, tx| {
            let mut v = tx.list_tokens_of_user(&user, None)?;
            v.sort_by_key(|t| std::cmp::Reverse(t.created_at));
            Ok(v)
        })
        .await
    }

    /// Issues a one-time payment code for the user's app to show.
    pub async fn issue_payment_code(&self, user_id: &str, ttl_secs: i64) -> Result<IssuedCode, CoreError> {
        let user = user_id.to_owned();
        self.write(move |ctx, tx| issue_payment_code(ctx, tx, &user, ttl_secs))
            .await
    }
}
