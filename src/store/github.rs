//! The GitHub tables: a user's linked login and the last fetched profile.

use redb::{ReadableDatabase, ReadableTable};

use super::tables::{GITHUB_LINKS, GITHUB_PROFILES};
use super::{Store, StoreError};
use crate::ids::UserId;

impl Store {
    /// Links a login, with its first profile record (JSON), replacing any previous link.
    pub fn github_link(&self, user: UserId, login: &str, record: Option<&str>) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            txn.open_table(GITHUB_LINKS)?.insert(user.0, login)?;
            let mut profiles = txn.open_table(GITHUB_PROFILES)?;
            match record {
                Some(record) => profiles.insert(user.0, record)?,
                None => profiles.remove(user.0)?,
            };
        }
        txn.commit()?;
        Ok(())
    }

    /// Stores a refreshed profile record, if the user is still linked to `login`.
    pub fn github_set_profile(&self, user: UserId, login: &str, record: &str) -> Result<bool, StoreError> {
        let txn = self.begin_write()?;
        let linked = txn.open_table(GITHUB_LINKS)?.get(user.0)?.is_some_and(|v| v.value() == login);
        if linked {
            txn.open_table(GITHUB_PROFILES)?.insert(user.0, record)?;
        }
        txn.commit()?;
        Ok(linked)
    }

    /// Removes the link and profile; true when there was a link.
    pub fn github_unlink(&self, user: UserId) -> Result<bool, StoreError> {
        let txn = self.begin_write()?;
        let existed = txn.open_table(GITHUB_LINKS)?.remove(user.0)?.is_some();
        txn.open_table(GITHUB_PROFILES)?.remove(user.0)?;
        txn.commit()?;
        Ok(existed)
    }

    /// The linked login and the stored profile record.
    pub fn github_get(&self, user: UserId) -> Result<Option<(String, Option<String>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let Some(login) = txn.open_table(GITHUB_LINKS)?.get(user.0)?.map(|v| v.value().to_string()) else {
            return Ok(None);
        };
        let record = txn.open_table(GITHUB_PROFILES)?.get(user.0)?.map(|v| v.value().to_string());
        Ok(Some((login, record)))
    }

    /// Every link, for the refresher.
    pub fn github_links(&self) -> Result<Vec<(UserId, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(GITHUB_LINKS)?;
        let mut links = Vec::new();
        for entry in table.iter()? {
            let (user, login) = entry?;
            links.push((UserId(user.value()), login.value().to_string()));
        }
        Ok(links)
    }
}
