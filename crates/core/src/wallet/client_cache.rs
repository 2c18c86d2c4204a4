//! Recently read clients, so that authenticating a request does not cost a database read each
//! time: every signed request needs its client's keys before anything else happens.
//!
//! An entry is served for at most `WalletConfig::client_cache_ms` after it was read. What that
//! allows, and why it is safe:
//! - a key added or rotated elsewhere: the edge re-reads the client when a cached copy does not
//!   verify a signature, so a new key works at once;
//! - a key removed elsewhere (another node, the `walletd admin` command): still accepted for at
//!   most the cache time. Changes made through this wallet drop the entry at once;
//! - a frozen client: status is not read from here. The rules read the client inside the command's
//!   own transaction, and an ISV's status is read with its agent grant.
//!
//! At most [`MAX_CLIENTS`] entries are kept; a full cache is emptied and fills again.

use crate::model::parties::Client;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Clients kept at most (registered merchants; an unknown id is never kept).
pub const MAX_CLIENTS: usize = 4096;

pub(crate) struct ClientCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (DateTime<Utc>, Client)>>,
}

impl ClientCache {
    pub(crate) fn new(ttl_ms: u64) -> ClientCache {
        ClientCache {
            ttl: Duration::milliseconds(i64::try_from(ttl_ms).unwrap_or(i64::MAX / 4)),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.ttl > Duration::zero()
    }

    /// The client read at `now - ttl` or later, if kept.
    pub(crate) fn get(&self, client_id: &str, now: DateTime<Utc>) -> Option<Client> {
        let entries = self.entries.lock().ok()?;
        let (read_at, client) = entries.get(client_id)?;
        (now < *read_at + self.ttl && now >= *read_at).then(|| client.clone())
    }

    pub(crate) fn put(&self, client: &Client, now: DateTime<Utc>) {
        if !self.enabled() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CLIENTS && !entries.contains_key(&client.client_id) {
                entries.clear();
            }
            entries.insert(client.client_id.clone(), (now, client.clone()));
        }
    }

    pub(crate) fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(client_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Client {
        Client::new(
            id,
            "shop",
            DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
        )
    }

    #[test]
    fn entries_expire_are_forgotten_and_stay_bounded() {
        let t0 = DateTime::from_timestamp(1_900_000_000, 0).expect("time");
        let cache = ClientCache::new(1_000);
        cache.put(&client("a"), t0);
        assert!(cache.get("a", t0 + Duration::milliseconds(999)).is_some());
        assert!(cache.get("a", t0 + Duration::milliseconds(1_000)).is_none());
        assert!(
            cache.get("a", t0 - Duration::seconds(1)).is_none(),
            "a clock set back reads again"
        );
        cache.forget("a");
        assert!(cache.get("a", t0).is_none());

        for i in 0..MAX_CLIENTS + 10 {
            cache.put(&client(&format!("c{i}")), t0);
        }
        assert!(cache.entries.lock().expect("lock").len() <= MAX_CLIENTS);

        let off = ClientCache::new(0);
        off.put(&client("a"), t0);
        assert!(off.get("a", t0).is_none());
    }
}
