//! The store API's settings, keys, products, store users and orders on PostgreSQL.

use super::*;
use crate::model::store::{StoreConfig, StoreKey, StoreOrder, StoreProduct, StoreUser};
use crate::storage::StoreApiRecords;

impl StoreApiRecords for PgTx<'_> {
    fn put_store_config(&mut self, c: &StoreConfig) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO store_configs (client_id, doc) VALUES ($1, $2) \
             ON CONFLICT (client_id) DO UPDATE SET doc = EXCLUDED.doc",
            &[&c.client_id, &to_doc(c)?],
        )?;
        Ok(())
    }

    fn get_store_config(&mut self, client_id: &str) -> Result<Option<StoreConfig>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_configs WHERE client_id = $1",
            &[&client_id],
        )
    }

    fn insert_store_key(&mut self, k: &StoreKey) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO store_keys (key_id, client_id, created_at, doc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&k.key_id, &k.client_id, &k.created_at, &to_doc(k)?],
        )?;
        Self::inserted_one(n, "store key")
    }

    fn update_store_key(&mut self, k: &StoreKey) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE store_keys SET doc = $2 WHERE key_id = $1",
            &[&k.key_id, &to_doc(k)?],
        )?;
        Self::changed_one(n, "store key")
    }

    fn get_store_key(&mut self, key_id: &str) -> Result<Option<StoreKey>, StorageError> {
        let sql = format!(
            "SELECT doc FROM store_keys WHERE key_id = $1{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&key_id])
    }

    fn list_store_keys(&mut self, client_id: Option<&str>) -> Result<Vec<StoreKey>, StorageError> {
        match client_id {
            Some(c) => self.many_docs(
                "SELECT doc FROM store_keys WHERE client_id = $1 ORDER BY created_at, key_id",
                &[&c],
            ),
            None => self.many_docs(
                "SELECT doc FROM store_keys ORDER BY client_id, created_at, key_id",
                &[],
            ),
        }
    }

    fn insert_store_product(&mut self, p: &StoreProduct) -> Result<StoreProduct, StorageError> {
        let rows = self.query(
            "INSERT INTO store_products (client_id, doc) VALUES ($1, '{}') RETURNING product_id",
            &[&p.client_id],
        )?;
        let id: i64 = rows
            .first()
            .ok_or_else(|| StorageError::Backend("no product id returned".into()))?
            .try_get(0)
            .map_err(corrupt)?;
        let mut stored = p.clone();
        stored.product_id = id;
        let n = self.execute(
            "UPDATE store_products SET doc = $2 WHERE product_id = $1",
            &[&id, &to_doc(&stored)?],
        )?;
        Self::changed_one(n, "store product")?;
        Ok(stored)
    }

    fn get_store_product(
        &mut self,
        client_id: &str,
        product_id: i64,
    ) -> Result<Option<StoreProduct>, StorageError> {
        self.one_doc(
            "SELECT doc FROM store_products WHERE client_id = $1 AND product_id = $2",
            &[&client_id, &product_id],
        )
    }

    fn list_store_products(&mut self, client_id: &str) -> Result<Vec<StoreProduct>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_products WHERE client_id = $1 ORDER BY product_id",
            &[&client_id],
        )
    }

    fn put_store_user(&mut self, u: &StoreUser) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO store_users (client_id, iq, user_id, doc) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, iq) DO UPDATE SET user_id = EXCLUDED.user_id, doc = EXCLUDED.doc",
            &[&u.client_id, &u.iq, &u.user_id, &to_doc(u)?],
        )?;
        Ok(())
    }

    fn get_store_user(&mut self, client_id: &str, iq: i64) -> Result<Option<StoreUser>, StorageError> {
        let sql = format!(
            "SELECT doc FROM store_users WHERE client_id = $1 AND iq = $2{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&client_id, &iq])
    }

    fn list_store_users(&mut self, client_id: &str) -> Result<Vec<StoreUser>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_users WHERE client_id = $1 ORDER BY iq",
            &[&client_id],
        )
    }

    fn insert_store_order(&mut self, o: &StoreOrder) -> Result<StoreOrder, StorageError> {
        // The partial unique index allows one current order per store user; a second one is a
        // duplicate (another node placed it first), and the job is run again.
        let rows = self.query(
            "INSERT INTO store_orders (client_id, iq, status, doc) VALUES ($1, $2, $3, '{}') \
             ON CONFLICT DO NOTHING RETURNING order_id",
            &[&o.client_id, &o.iq, &o.status.as_str()],
        )?;
        let Some(row) = rows.first() else {
            return Err(StorageError::Duplicate(format!(
                "store user {} of {} has a current order already",
                o.iq, o.client_id
            )));
        };
        let mut stored = o.clone();
        stored.order_id = row.try_get(0).map_err(corrupt)?;
        self.update_store_order(&stored)?;
        Ok(stored)
    }

    fn update_store_order(&mut self, o: &StoreOrder) -> Result<(), StorageError> {
        let n = self.execute(
            "UPDATE store_orders SET status = $2, doc = $3 WHERE order_id = $1",
            &[&o.order_id, &o.status.as_str(), &to_doc(o)?],
        )?;
        Self::changed_one(n, "store order")
    }

    fn get_store_order(
        &mut self,
        client_id: &str,
        order_id: i64,
    ) -> Result<Option<StoreOrder>, StorageError> {
        let sql = format!(
            "SELECT doc FROM store_orders WHERE client_id = $1 AND order_id = $2{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&client_id, &order_id])
    }

    fn find_current_store_order(
        &mut self,
        client_id: &str,
        iq: i64,
    ) -> Result<Option<StoreOrder>, StorageError> {
        let sql = format!(
            "SELECT doc FROM store_orders WHERE client_id = $1 AND iq = $2 AND status = 'current'{}",
            self.lock_clause()
        );
        self.one_doc(&sql, &[&client_id, &iq])
    }

    fn list_store_orders(
        &mut self,
        client_id: &str,
        iq: i64,
        n: u32,
    ) -> Result<Vec<StoreOrder>, StorageError> {
        self.many_docs(
            "SELECT doc FROM store_orders WHERE client_id = $1 AND iq = $2 ORDER BY order_id DESC LIMIT $3",
            &[&client_id, &iq, &limit(n)],
        )
    }
}
