//! The KV table: pairs keyed by `(user, key)`.

use redb::{ReadableDatabase, ReadableTable};

use super::tables::KV;
use super::{Store, StoreError};
use crate::ids::UserId;
use crate::kv::KvError;

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
    /// the user would end up with more than `max_keys` keys. Pairs are validated by the caller.
    pub fn kv_set(
        &self,
        user: UserId,
        pairs: &[(String, String)],
        max_keys: usize,
    ) -> Result<Result<(), KvError>, StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(KV)?;
            let mut count = 0usize;
            for entry in table.range((user.0, "")..)? {
                if entry?.0.value().0 != user.0 {
                    break;
                }
                count += 1;
            }
            let mut new_keys: Vec<&str> = Vec::new();
            for (key, _) in pairs {
                if table.get((user.0, key.as_str()))?.is_none() && !new_keys.contains(&key.as_str()) {
                    new_keys.push(key);
                }
            }
            if count + new_keys.len() > max_keys {
                return Ok(Err(KvError::TooManyKeys { max: max_keys })); // txn dropped: aborted
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
