//! OAuth auth codes, token pairs and payment codes on SQLite.

use super::*;
use crate::model::oauth::{AuthCode, PaymentCode, TokenRecord};
use crate::storage::OAuthRecords;

impl OAuthRecords for SqliteTx<'_> {
    fn insert_auth_code(&mut self, c: &AuthCode) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO oauth_codes (code_hash, expires_at, doc) VALUES (?1, ?2, ?3)")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Ok(())
    }

    fn get_auth_code(&mut self, code_hash: &str) -> Result<Option<AuthCode>, StorageError> {
        self.one_doc("SELECT doc FROM oauth_codes WHERE code_hash = ?1", [code_hash])
    }

    fn update_auth_code(&mut self, c: &AuthCode) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE oauth_codes SET expires_at = ?2, doc = ?3 WHERE code_hash = ?1")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Self::changed_one(n, "auth code")
    }

    fn insert_token(&mut self, t: &TokenRecord) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO oauth_tokens (token_id, access_hash, refresh_hash, user_id, client_id, created_at, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                t.token_id,
                t.access_hash,
                t.refresh_hash,
                t.grant.user_id,
                t.grant.client_id,
                ts(t.created_at),
                to_doc(t)?
            ])?;
        Ok(())
    }

    fn update_token(&mut self, t: &TokenRecord) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE oauth_tokens SET doc = ?2 WHERE token_id = ?1")?
            .execute(params![t.token_id, to_doc(t)?])?;
        Self::changed_one(n, "token")
    }

    fn find_token_by_access(&mut self, access_hash: &str) -> Result<Option<TokenRecord>, StorageError> {
        self.one_doc(
            "SELECT doc FROM oauth_tokens WHERE access_hash = ?1",
            [access_hash],
        )
    }

    fn find_token_by_refresh(&mut self, refresh_hash: &str) -> Result<Option<TokenRecord>, StorageError> {
        self.one_doc(
            "SELECT doc FROM oauth_tokens WHERE refresh_hash = ?1",
            [refresh_hash],
        )
    }

    fn list_newest_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: &str,
        limit: u32,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        self.many_docs(
            "SELECT doc FROM oauth_tokens WHERE user_id = ?1 AND client_id = ?2 ORDER BY created_at DESC, token_id DESC LIMIT ?3",
            params![user_id, client_id, limit],
        )
    }

    fn list_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM oauth_tokens WHERE user_id = ?1 AND client_id = ?2 ORDER BY created_at, token_id",
                params![user_id, c],
            ),
            None => self.many_docs(
                "SELECT doc FROM oauth_tokens WHERE user_id = ?1 ORDER BY created_at, token_id",
                params![user_id],
            ),
        }
    }

    fn insert_payment_code(&mut self, c: &PaymentCode) -> Result<(), StorageError> {
        self.conn
            .prepare_cached("INSERT INTO payment_codes (code_hash, expires_at, doc) VALUES (?1, ?2, ?3)")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Ok(())
    }

    fn get_payment_code(&mut self, code_hash: &str) -> Result<Option<PaymentCode>, StorageError> {
        self.one_doc("SELECT doc FROM payment_codes WHERE code_hash = ?1", [code_hash])
    }

    fn update_payment_code(&mut self, c: &PaymentCode) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE payment_codes SET expires_at = ?2, doc = ?3 WHERE code_hash = ?1")?
            .execute(params![c.code_hash, ts(c.expires_at), to_doc(c)?])?;
        Self::changed_one(n, "payment code")
    }

    fn purge_spent_codes(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StorageError> {
        let mut n = 0;
        for table in ["oauth_codes", "payment_codes"] {
            n += self
                .conn
                .prepare_cached(&format!(
                    "DELETE FROM {table} WHERE code_hash IN \
                     (SELECT code_hash FROM {table} WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)"
                ))?
                .execute(params![ts(before), limit])?;
        }
        Ok(n)
    }
}
