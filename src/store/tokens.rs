//! The token tables: one argon2id hash per user, found by its selector.

use redb::ReadableDatabase;

use super::tables::{TOKEN_SELECTORS, TOKENS};
use super::{Store, StoreError};
use crate::ids::UserId;

impl Store {
    /// Replaces a user's token hash; the old selector stops resolving in the same commit.
    pub fn token_set(&self, user: UserId, selector: &str, phc: &str) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut tokens = txn.open_table(TOKENS)?;
            let mut selectors = txn.open_table(TOKEN_SELECTORS)?;
            let old = tokens.insert(user.0, (selector, phc))?.map(|v| v.value().0.to_string());
            if let Some(old) = old {
                selectors.remove(old.as_str())?;
            }
            selectors.insert(selector, user.0)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Removes a user's token; true when there was one.
    pub fn token_remove(&self, user: UserId) -> Result<bool, StoreError> {
        let txn = self.begin_write()?;
        let existed = {
            let mut tokens = txn.open_table(TOKENS)?;
            let old = tokens.remove(user.0)?.map(|v| v.value().0.to_string());
            if let Some(old) = &old {
                txn.open_table(TOKEN_SELECTORS)?.remove(old.as_str())?;
            }
            old.is_some()
        };
        txn.commit()?;
        Ok(existed)
    }

    /// The user and hash a selector belongs to.
    pub fn token_by_selector(&self, selector: &str) -> Result<Option<(UserId, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let Some(user) = txn.open_table(TOKEN_SELECTORS)?.get(selector)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let tokens = txn.open_table(TOKENS)?;
        Ok(tokens.get(user)?.map(|v| (UserId(user), v.value().1.to_string())))
    }

    /// The selector of a user's current token.
    pub fn token_selector_of(&self, user: UserId) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(TOKENS)?.get(user.0)?.map(|v| v.value().0.to_string()))
    }
}
