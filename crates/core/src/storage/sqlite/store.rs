//! The store API's settings, keys, products, store users and orders on SQLite.

use super::*;
use crate::model::store::{StoreConfig, StoreKey, StoreOrder, StoreProduct, StoreUser};
use crate::storage::StoreApiRecords;

impl StoreApiRecords for SqliteTx<'_> {
    fn put_store_config(&mut self, c: &StoreConfig) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_configs (client_id, doc) VALUES (?1, ?2) \
                 ON CONFLICT (client_id) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![c.client_id, to_doc(c)?])?;
        Ok(())
    }

    fn get_store_config(&mut self, client_id: &str) -> Result<Option<StoreConfig>, StorageError> {
        self.one_doc("SELECT doc FROM store_configs WHERE client_id = ?1", [client_id])
    }

    fn insert_store_key(&mut self, k: &StoreKey) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_keys (key_id, client_id, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![k.key_id, k.client_id, ts(k.created_at), to_doc(k)?])?;
        Ok(())
    }

    fn update_store_key(&mut self, k: &StoreKey) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE store_keys SET doc = ?2 WHERE key_id = ?1")?
            .execute(params![k.key_id, to_doc(k)?])?;
        Self::changed_one(n, "store key")
    }

    fn get_store_key(&mut self, key_id: &str) -> Result<Option<StoreKey>, StorageError> {
        self.one_doc("SELECT doc FROM store_keys WHERE key_id = ?1", [key_id])
    }

    fn list_store_keys(&mut self, client_id: Option<&str>) -> Result<Vec<StoreKey>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM store_keys WHERE client_id = ?1 ORDER BY created_at, key_id",
                [c],
            ),
            None => self.many_docs(
                "SELECT doc FROM store_keys ORDER BY client_id, created_at, key_id",
                [],
            ),
        }
    }

    fn insert_store_product(&mut self, p: &StoreProduct) -> Result<StoreProduct, StorageError> {
        self.conn
            .prepare_cached("INSERT INTO store_products (client_id, doc) VALUES (?1, '{}')")?
            .execute(params![p.client_id])?;
        let mut stored = p.clone();
        stored.product_id = self.conn.last_insert_rowid();
        let n = self
            .conn
            .prepare_cached("UPDATE store_products SET doc = ?2 WHERE product_id = ?1")?
            .execute(params![stored.product_id, to_doc(&stored)?])?;
        Self::changed_one(n, "store product")?;
        Ok(stored)
    }

    fn get_store_product(
        &mut self,
        client_id: &str,
        product_id: i64,
    ) -> Result<Option<StoreProduct>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_products WHERE client_id = ?1 AND product_id = ?2",
            params![client_id, product_id],
        )
    }

    fn list_store_products(&mut self, client_id: &str) -> Result<Vec<StoreProduct>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_products WHERE client_id = ?1 ORDER BY product_id",
            [client_id],
        )
    }

    fn put_store_user(&mut self, u: &StoreUser) -> Result<(), StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_users (client_id, iq, user_id, doc) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (client_id, iq) DO UPDATE SET user_id = excluded.user_id, doc = excluded.doc",
            )?
            .execute(params![u.client_id, u.iq, u.user_id, to_doc(u)?])?;
        Ok(())
    }

    fn get_store_user(&mut self, client_id: &str, iq: i64) -> Result<Option<StoreUser>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_users WHERE client_id = ?1 AND iq = ?2",
            params![client_id, iq],
        )
    }

    fn list_store_users(&mut self, client_id: &str) -> Result<Vec<StoreUser>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_users WHERE client_id = ?1 ORDER BY iq",
            [client_id],
        )
    }

    fn insert_store_order(&mut self, o: &StoreOrder) -> Result<StoreOrder, StorageError> {
        self.conn
            .prepare_cached(
                "INSERT INTO store_orders (client_id, iq, status, doc) VALUES (?1, ?2, ?3, '{}')",
            )?
            .execute(params![o.client_id, o.iq, o.status.as_str()])?;
        let mut stored = o.clone();
        stored.order_id = self.conn.last_insert_rowid();
        self.update_store_order(&stored)?;
        Ok(stored)
    }

    fn update_store_order(&mut self, o: &StoreOrder) -> Result<(), StorageError> {
        let n = self
            .conn
            .prepare_cached("UPDATE store_orders SET status = ?2, doc = ?3 WHERE order_id = ?1")?
            .execute(params![o.order_id, o.status.as_str(), to_doc(o)?])?;
        Self::changed_one(n, "store order")
    }

    fn get_store_order(
        &mut self,
        client_id: &str,
        order_id: i64,
    ) -> Result<Option<StoreOrder>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_orders WHERE client_id = ?1 AND order_id = ?2",
            params![client_id, order_id],
        )
    }

    fn find_current_store_order(
        &mut self,
        client_id: &str,
        iq: i64,
    ) -> Result<Option<StoreOrder>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_orders WHERE client_id = ?1 AND iq = ?2 AND status = 'current'",
            params![client_id, iq],
        )
    }

    fn list_store_orders(
        &mut self,
        client_id: &str,
        iq: i64,
        limit: u32,
    ) -> Result<Vec<StoreOrder>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_orders WHERE client_id = ?1 AND iq = ?2 ORDER BY order_id DESC LIMIT ?3",
            params![client_id, iq, limit],
        )
    }
}
