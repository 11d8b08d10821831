//! The KV table: pairs keyed by `(user, key)`.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, ReadableTable};

use super::tables::KV;
use super::{Store, StoreError};
use crate::ids::UserId;
use crate::kv::{KvError, KvLimits};

impl Store {
    /// Every pair of a user, in key order.
    pub fn kv_all(&self, user: UserId) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KV)?;
        let mut pairs = Vec::new();
        for entry in table.range((user.0, "")..)? {
            let (k, v) = entry?;
            let (owner, key) = k.value();
            if owner != user.0 {
                break;
            }
            pairs.push((key.to_string(), v.value().to_string()));
        }
        Ok(pairs)
    }

    /// One value.
    pub fn kv_get(&self, user: UserId, key: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KV)?;
        Ok(table.get((user.0, key))?.map(|v| v.value().to_string()))
    }

    /// Sets pairs in one transaction, refusing all of them (changing nothing) when
    /// the user's KV would then break a per-user limit (`KvLimits::check_total`:
    /// keys, rendered bytes). Pairs are validated one by one by the caller.
    pub fn kv_set(
        &self,
        user: UserId,
        pairs: &[(String, String)],
        limits: &KvLimits,
    ) -> Result<Result<(), KvError>, StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(KV)?;
            // The KV as it would be: the stored pairs not overwritten, then the new
            // ones (a key given twice counts once, with its last value, as inserted).
            let mut after: BTreeMap<String, String> = BTreeMap::new();
            for entry in table.range((user.0, "")..)? {
                let (k, v) = entry?;
                let (owner, key) = k.value();
                if owner != user.0 {
                    break;
                }
                after.insert(key.to_string(), v.value().to_string());
            }
            for (key, value) in pairs {
                after.insert(key.clone(), value.clone());
            }
            if let Err(refused) = limits.check_total(after.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                return Ok(Err(refused)); // txn dropped: aborted
            }
            for (key, value) in pairs {
                table.insert((user.0, key.as_str()), value.as_str())?;
            }
        }
        txn.commit()?;
        Ok(Ok(()))
    }

    /// Deletes a key; true when it existed.
    pub fn kv_del(&self, user: UserId, key: &str) -> Result<bool, StoreError> {
        let txn = self.begin_write()?;
        let existed = txn.open_table(KV)?.remove((user.0, key))?.is_some();
        txn.commit()?;
        Ok(existed)
    }
}
