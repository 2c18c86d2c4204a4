//! OAuth auth codes, token pairs and payment codes on PostgreSQL.

use super::*;
use crate::model::oauth::{AuthCode, PaymentCode, TokenRecord};
use crate::storage::OAuthRecords;

impl OAuthRecords for PgTx<'_> {
    fn insert_auth_code(&mut self, c: &AuthCode) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO oauth_codes (code_hash, expires_at, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&c.code_hash, &c.expires_at, &to_doc(c)?],
        )?;
        Self::inserted_one(n, "auth code")
    }

    fn get_auth_code(&mut self, code_hash: &str) -> Result<Option<AuthCode>, StorageError> {
        let sql = format!(
            "SELECT doc FROM oauth_codes WHERE code_hash = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&code_hash])
    }

    fn update_auth_code(&mut self, c: &AuthCode) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE oauth_codes SET expires_at = $2, doc = $3 WHERE code_hash = $1",
            &[&c.code_hash, &c.expires_at, &to_doc(c)?],
        )?;
        Self::changed_one(n, "auth code")
    }

    fn insert_token(&mut self, t: &TokenRecord) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO oauth_tokens (token_id, access_hash, refresh_hash, user_id, client_id, created_at, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                &t.token_id,
                &t.access_hash,
                &t.refresh_hash,
                &t.grant.user_id,
                &t.grant.client_id,
                &t.created_at,
                &to_doc(t)?,
            ],
        )?;
        Self::inserted_one(n, "token")
    }

    fn update_token(&mut self, t: &TokenRecord) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE oauth_tokens SET doc = $2 WHERE token_id = $1",
            &[&t.token_id, &to_doc(t)?],
        )?;
        Self::changed_one(n, "token")
    }

    fn find_token_by_access(&mut self, access_hash: &str) -> Result<Option<TokenRecord>, StorageError> {
        let sql = format!(
            "SELECT doc FROM oauth_tokens WHERE access_hash = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&access_hash])
    }

    fn find_token_by_refresh(&mut self, refresh_hash: &str) -> Result<Option<TokenRecord>, StorageError> {
        let sql = format!(
            "SELECT doc FROM oauth_tokens WHERE refresh_hash = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&refresh_hash])
    }

    fn list_newest_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: &str,
        n: u32,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        self.many_docs(
            "SELECT doc FROM oauth_tokens WHERE user_id = $1 AND client_id = $2 ORDER BY created_at DESC, token_id DESC LIMIT $3",
            &[&user_id, &client_id, &limit(n)],
        )
    }

    fn list_tokens_of_user(
        &mut self,
        user_id: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        let lock = self.lock_clause();
        match client_id {
            Some(c) => self.many_docs(
                &format!(
                    "SELECT doc FROM oauth_tokens WHERE user_id = $1 AND client_id = $2 ORDER BY created_at, token_id{lock}"
                ),
                &[&user_id, &c],
            ),
            None => self.many_docs(
                &format!("SELECT doc FROM oauth_tokens WHERE user_id = $1 ORDER BY created_at, token_id{lock}"),
                &[&user_id],
            ),
        }
    }

    fn insert_payment_code(&mut self, c: &PaymentCode) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO payment_codes (code_hash, expires_at, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&c.code_hash, &c.expires_at, &to_doc(c)?],
        )?;
        Self::inserted_one(n, "payment code")
    }

    fn get_payment_code(&mut self, code_hash: &str) -> Result<Option<PaymentCode>, StorageError> {
        let sql = format!(
            "SELECT doc FROM payment_codes WHERE code_hash = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&code_hash])
    }

    fn update_payment_code(&mut self, c: &PaymentCode) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE payment_codes SET expires_at = $2, doc = $3 WHERE code_hash = $1",
            &[&c.code_hash, &c.expires_at, &to_doc(c)?],
        )?;
        Self::changed_one(n, "payment code")
    }

    fn purge_spent_codes(&mut self, before: DateTime<Utc>, n: u32) -> Result<usize, StorageError> {
        let mut gone = 0;
        for table in ["oauth_codes", "payment_codes"] {
            // SKIP LOCKED: a code another node is spending right now is left for the next sweep.
            gone += self.execute(
                &format!(
                    "DELETE FROM {table} WHERE code_hash IN \
                     (SELECT code_hash FROM {table} WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
                ),
                &[&before, &limit(n)],
            )?;
        }
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }
}
