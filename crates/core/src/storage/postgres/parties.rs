//! Merchant clients and wallet users on PostgreSQL.

use super::*;
use crate::storage::PartyRecords;

impl PartyRecords for PgTx<'_> {
    fn insert_client(&mut self, c: &Client) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO clients (client_id, partner_id, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&c.client_id, &c.partner_id, &to_doc(c)?],
        )?;
        Self::inserted_one(
            n,
            &format!("client {} or partnerId {}", c.client_id, c.partner_id),
        )
    }

    fn update_client(&mut self, c: &Client) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE clients SET partner_id = $2, doc = $3 WHERE client_id = $1",
            &[&c.client_id, &c.partner_id, &to_doc(c)?],
        )?;
        Self::changed_one(n, "client")
    }

    fn get_client(&mut self, client_id: &str) -> Result<Option<Client>, StorageError> {
        match self.take_ahead(CLIENT_SQL, &[client_id]) {
            Some(rows) => rows
                .first()
                .map(|r| from_doc(&r.try_get::<_, String>(0).map_err(corrupt)?))
                .transpose(),
            None => self.one_doc(CLIENT_SQL, &[&client_id]),
        }
    }

    fn find_client_by_partner(&mut self, partner_id: &str) -> Result<Option<Client>, StorageError> {
        self.one_doc("SELECT doc FROM clients WHERE partner_id = $1", &[&partner_id])
    }

    fn list_clients(&mut self) -> Result<Vec<Client>, StorageError> {
        self.many_docs("SELECT doc FROM clients ORDER BY client_id", &[])
    }

    fn insert_user(&mut self, u: &User) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO users (user_id, login, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&u.user_id, &u.login, &to_doc(u)?],
        )?;
        Self::inserted_one(n, &format!("user {} or login {}", u.user_id, u.login))
    }

    fn update_user(&mut self, u: &User) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE users SET login = $2, doc = $3 WHERE user_id = $1",
            &[&u.user_id, &u.login, &to_doc(u)?],
        )?;
        Self::changed_one(n, "user")
    }

    fn get_user(&mut self, user_id: &str) -> Result<Option<User>, StorageError> {
        // Locked in a write job: a user is read to be changed (a wrong PIN counted, a status
        // set) or to pay, and two nodes must not both count from the same old value.
        let sql = format!("SELECT doc FROM users WHERE user_id = $1{}", self.lock_clause());
        self.one_doc(&sql, &[&user_id])
    }

    fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT doc FROM users WHERE login = $1{}", self.lock_clause());
        self.one_doc(&sql, &[&login])
    }

    fn list_users(&mut self) -> Result<Vec<User>, StorageError> {
        self.many_docs("SELECT doc FROM users ORDER BY user_id", &[])
    }

    fn list_clients_page(&mut self, after: &str, n: u32) -> Result<Vec<Client>, StorageError> {
        self.many_docs(
            "SELECT doc FROM clients WHERE client_id > $1 ORDER BY client_id LIMIT $2",
            &[&after, &limit(n)],
        )
    }

    fn list_users_page(&mut self, after: &str, n: u32) -> Result<Vec<User>, StorageError> {
        self.many_docs(
            "SELECT doc FROM users WHERE user_id > $1 ORDER BY user_id LIMIT $2",
            &[&after, &limit(n)],
        )
    }
}
