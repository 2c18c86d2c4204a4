//! The wallet's store API commands: settings, keys, carts, orders and store-side credit, each one storage transaction.

use super::Wallet;
use crate::error::CoreError;
use crate::model::store::{StoreConfig, StoreKey, StoreOrder, StoreProduct, StoreUser};
use crate::store::{
    add_payment, cancel_order, change_credit, check_iq, config_of, credit, list_orders, modify_cart,
    place_order, secret_aad, truncate, view_cart, CartAction, CartView, CreditAction, NewStoreKey,
    StoreRefusal, MAX_EXPIRATION_SECS, SEALED_SECRET_PREFIX,
};
use walletd_protocol::Amount;

impl Wallet {
    /// Sets (or replaces) a store's settings. The currency cannot change once the store has
    /// orders.
    pub async fn store_set_config(&self, config: StoreConfig) -> Result<StoreConfig, CoreError> {
        if config.min_purchase_minor < 0 {
            return Err(CoreError::Invalid(
                "the minimum purchase cannot be negative".into(),
            ));
        }
        self.write(move |ctx, tx| {
            let mut config = config.clone();
            if tx.get_client(&config.client_id)?.is_none() {
                return Err(CoreError::NotFound(format!("client {}", config.client_id)));
            }
            if let Some(old) = tx.get_store_config(&config.client_id)? {
                if old.currency != config.currency && !tx.list_store_products(&config.client_id)?.is_empty() {
                    return Err(CoreError::Invalid(format!(
                        "store {} sells in {} already; its currency cannot change",
                        config.client_id, old.currency
                    )));
                }
            }
            config.updated_at = ctx.now();
            tx.put_store_config(&config)?;
            Ok(config)
        })
        .await
    }

    pub async fn store_config(&self, client_id: &str) -> Result<Option<StoreConfig>, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| Ok(tx.get_store_config(&id)?)).await
    }

    /// Makes a key with a fresh key id and secret. The returned key carries the secret: show it
    /// once.
    pub async fn store_add_key(&self, new: NewStoreKey) -> Result<StoreKey, CoreError> {
        if new.expiration_secs < 1 || new.expiration_secs > MAX_EXPIRATION_SECS {
            return Err(CoreError::Invalid(format!(
                "the request expiration must be 1 to {MAX_EXPIRATION_SECS} seconds"
            )));
        }
        if new.sections.is_empty() {
            return Err(CoreError::Invalid("a key needs at least one section".into()));
        }
        let sealer = self.store_sealer().cloned();
        self.write(move |ctx, tx| {
            if tx.get_client(&new.client_id)?.is_none() {
                return Err(CoreError::NotFound(format!("client {}", new.client_id)));
            }
            if tx.get_store_config(&new.client_id)?.is_none() {
                return Err(CoreError::Invalid(format!(
                    "client {} has no store configuration yet (set its currency first)",
                    new.client_id
                )));
            }
            let key_id = ctx.ids.random_hex(16);
            let secret = ctx.ids.random_hex(32);
            let stored_secret = match &sealer {
                Some(s) => s
                    .seal(&secret_aad(&key_id, &new.client_id), &secret)
                    .map_err(|e| CoreError::Invariant(format!("sealing a store secret: {e}")))?,
                None => secret.clone(),
            };
            let mut key = StoreKey {
                key_id,
                client_id: new.client_id.clone(),
                secret: stored_secret,
                mode: new.mode,
                expiration_secs: new.expiration_secs,
                sections: new.sections.clone(),
                revoked: false,
                created_at: ctx.now(),
                revoked_at: None,
            };
            tx.insert_store_key(&key)?;
            key.secret = secret;
            Ok(key)
        })
        .await
    }

    /// The key with its secret opened (in clear), for checking a request's signature.
    pub async fn store_key(&self, key_id: &str) -> Result<Option<StoreKey>, CoreError> {
        let id = key_id.to_owned();
        let Some(mut key) = self.read(move |_, tx| Ok(tx.get_store_key(&id)?)).await? else {
            return Ok(None);
        };
        if let Some(sealed) = key.secret.strip_prefix(SEALED_SECRET_PREFIX) {
            let sealer = self.store_sealer().ok_or_else(|| {
                CoreError::Invariant(format!(
                    "store key {} is sealed but no store secret key is configured",
                    key.key_id
                ))
            })?;
            let aad = secret_aad(&key.key_id, &key.client_id);
            key.secret = sealer
                .open(&aad, &format!("{SEALED_SECRET_PREFIX}{sealed}"))
                .map_err(|e| CoreError::Invariant(format!("store key {} does not open: {e}", key.key_id)))?;
        }
        Ok(Some(key))
    }

    /// Every key (of `client_id`), without secrets: a listing never shows one.
    pub async fn store_list_keys(&self, client_id: Option<String>) -> Result<Vec<StoreKey>, CoreError> {
        let mut keys = self
            .read(move |_, tx| Ok(tx.list_store_keys(client_id.as_deref())?))
            .await?;
        for k in &mut keys {
            k.secret.clear();
        }
        Ok(keys)
    }

    /// Checks that every sealed store secret opens with this wallet's sealer; returns the key ids
    /// that do not (another node's `store_secret_key`, or a damaged value).
    pub async fn store_unopenable_secrets(&self) -> Result<Vec<String>, CoreError> {
        let Some(sealer) = self.store_sealer().cloned() else {
            return Ok(Vec::new());
        };
        self.read(move |_, tx| {
            let mut bad = Vec::new();
            for key in tx.list_store_keys(None)? {
                if key.secret.starts_with(SEALED_SECRET_PREFIX)
                    && sealer
                        .open(&secret_aad(&key.key_id, &key.client_id), &key.secret)
                        .is_err()
                {
                    bad.push(key.key_id);
                }
            }
            Ok(bad)
        })
        .await
    }

    /// Seals every store secret still stored in clear (written before sealing existed). Returns
    /// how many were sealed; an error if there are some and no sealer is set.
    pub async fn store_seal_clear_secrets(&self) -> Result<usize, CoreError> {
        let sealer = self.store_sealer().cloned();
        self.write(move |_, tx| {
            let mut sealed = 0;
            for mut key in tx.list_store_keys(None)? {
                if key.secret.starts_with(SEALED_SECRET_PREFIX) {
                    continue;
                }
                let Some(sealer) = &sealer else {
                    return Err(CoreError::Invariant(
                        "store secrets are stored in clear and no store secret key is configured".into(),
                    ));
                };
                key.secret = sealer
                    .seal(&secret_aad(&key.key_id, &key.client_id), &key.secret)
                    .map_err(|e| CoreError::Invariant(format!("sealing a store secret: {e}")))?;
                tx.update_store_key(&key)?;
                sealed += 1;
            }
            Ok(sealed)
        })
        .await
    }

    /// Stops accepting a key. Revoking twice is harmless.
    pub async fn store_revoke_key(&self, key_id: &str) -> Result<StoreKey, CoreError> {
        let id = key_id.to_owned();
        self.write(move |ctx, tx| {
            let mut key = tx
                .get_store_key(&id)?
                .ok_or_else(|| CoreError::NotFound(format!("store key {id}")))?;
            if !key.revoked {
                key.revoked = true;
                key.revoked_at = Some(ctx.now());
                tx.update_store_key(&key)?;
            }
            key.secret.clear();
            Ok(key)
        })
        .await
    }

    /// Adds a product at `price` (which must be in the store currency).
    pub async fn store_add_product(
        &self,
        client_id: &str,
        name: &str,
        price: Amount,
    ) -> Result<StoreProduct, CoreError> {
        let (client_id, name) = (client_id.to_owned(), name.trim().to_owned());
        if name.is_empty() || name.chars().count() > 200 {
            return Err(CoreError::Invalid("a product name is 1 to 200 characters".into()));
        }
        self.write(move |ctx, tx| {
            let config = config_of(tx, &client_id)?;
            if price.currency() != config.currency {
                return Err(CoreError::Invalid(format!(
                    "store {client_id} sells in {}, not {}",
                    config.currency,
                    price.currency()
                )));
            }
            Ok(tx.insert_store_product(&StoreProduct {
                product_id: 0,
                client_id: client_id.clone(),
                name: name.clone(),
                price_minor: price.value_minor(),
                created_at: ctx.now(),
            })?)
        })
        .await
    }

    pub async fn store_list_products(&self, client_id: &str) -> Result<Vec<StoreProduct>, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| Ok(tx.list_store_products(&id)?)).await
    }

    /// Links the store's user number `iq` to an existing wallet user, before the store has used
    /// that number (afterwards its credit and orders already belong to a wallet user).
    pub async fn store_link_user(
        &self,
        client_id: &str,
        iq: i64,
        user_id: &str,
    ) -> Result<StoreUser, CoreError> {
        let (client_id, user_id) = (client_id.to_owned(), user_id.to_owned());
        self.write(move |ctx, tx| {
            check_iq(iq)?;
            config_of(tx, &client_id)?;
            if tx.get_user(&user_id)?.is_none() {
                return Err(CoreError::NotFound(format!("user {user_id}")));
            }
            if let Some(existing) = tx.get_store_user(&client_id, iq)? {
                if existing.user_id == user_id {
                    return Ok(existing);
                }
                return Err(CoreError::Invalid(format!(
                    "store user {iq} of {client_id} is already wallet user {}",
                    existing.user_id
                )));
            }
            let su = StoreUser {
                client_id: client_id.clone(),
                iq,
                user_id: user_id.clone(),
                cart: Vec::new(),
                created_at: ctx.now(),
            };
            tx.put_store_user(&su)?;
            Ok(su)
        })
        .await
    }

    pub async fn store_user(&self, client_id: &str, iq: i64) -> Result<Option<StoreUser>, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| Ok(tx.get_store_user(&id, iq)?)).await
    }

    pub async fn store_list_users(&self, client_id: &str) -> Result<Vec<StoreUser>, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| Ok(tx.list_store_users(&id)?)).await
    }

    pub async fn store_view_cart(&self, client_id: &str, iq: i64) -> Result<CartView, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| view_cart(tx, &id, iq)).await
    }

    pub async fn store_modify_cart(
        &self,
        client_id: &str,
        iq: i64,
        action: CartAction,
    ) -> Result<Result<(), StoreRefusal>, CoreError> {
        let id = client_id.to_owned();
        self.write(move |ctx, tx| modify_cart(ctx, tx, &id, iq, action))
            .await
    }

    pub async fn store_place_order(
        &self,
        client_id: &str,
        iq: i64,
        payment_method: &str,
    ) -> Result<Result<StoreOrder, StoreRefusal>, CoreError> {
        let (id, method) = (client_id.to_owned(), payment_method.to_owned());
        self.write(move |ctx, tx| place_order(ctx, tx, &id, iq, &method))
            .await
    }

    pub async fn store_cancel_order(
        &self,
        client_id: &str,
        iq: i64,
    ) -> Result<Result<StoreOrder, StoreRefusal>, CoreError> {
        let id = client_id.to_owned();
        self.write(move |ctx, tx| cancel_order(ctx, tx, &id, iq)).await
    }

    pub async fn store_add_payment(
        &self,
        client_id: &str,
        iq: i64,
        amount: Amount,
        description: &str,
    ) -> Result<Result<StoreOrder, StoreRefusal>, CoreError> {
        let (id, description) = (client_id.to_owned(), truncate(description, 500));
        self.write(move |ctx, tx| add_payment(ctx, tx, &id, iq, amount, &description))
            .await
    }

    pub async fn store_list_orders(&self, client_id: &str, iq: i64) -> Result<Vec<StoreOrder>, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| list_orders(tx, &id, iq)).await
    }

    pub async fn store_order(&self, client_id: &str, order_id: i64) -> Result<Option<StoreOrder>, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| Ok(tx.get_store_order(&id, order_id)?))
            .await
    }

    pub async fn store_credit(&self, client_id: &str, iq: i64) -> Result<Amount, CoreError> {
        let id = client_id.to_owned();
        self.read(move |_, tx| credit(tx, &id, iq)).await
    }

    pub async fn store_change_credit(
        &self,
        client_id: &str,
        iq: i64,
        action: CreditAction,
        amount: Amount,
        description: &str,
    ) -> Result<Result<Amount, StoreRefusal>, CoreError> {
        let (id, description) = (client_id.to_owned(), description.to_owned());
        self.write(move |ctx, tx| change_credit(ctx, tx, &id, iq, action, amount, &description))
            .await
    }
}
