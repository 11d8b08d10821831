//! The token tables, one argon2id hash per user found by its selector: the
//! only code that reads or writes them.

use redb::{ReadTransaction, WriteTransaction};

use crate::error::Result;
use crate::ids::UserId;
use crate::store::tables::{TOKEN_SELECTORS, TOKENS};

/// Replaces a user's token hash; the old selector stops resolving in the same commit.
pub(super) fn set(txn: &WriteTransaction, user: UserId, selector: &str, phc: &str) -> Result<()> {
    let mut tokens = txn.open_table(TOKENS)?;
    let mut selectors = txn.open_table(TOKEN_SELECTORS)?;
    let old = tokens.insert(user.0, (selector, phc))?.map(|v| v.value().0.to_string());
    if let Some(old) = old {
        selectors.remove(old.as_str())?;
    }
    selectors.insert(selector, user.0)?;
    Ok(())
}

/// Removes a user's token; true when there was one.
pub(super) fn remove(txn: &WriteTransaction, user: UserId) -> Result<bool> {
    let old = txn.open_table(TOKENS)?.remove(user.0)?.map(|v| v.value().0.to_string());
    if let Some(old) = &old {
        txn.open_table(TOKEN_SELECTORS)?.remove(old.as_str())?;
    }
    Ok(old.is_some())
}

/// Removes a user's token (`forget`); true when there was one.
pub(super) fn forget(txn: &WriteTransaction, user: UserId) -> Result<bool> {
    remove(txn, user)
}

/// Whether a user has a token.
pub(super) fn issued(txn: &ReadTransaction, user: UserId) -> Result<bool> {
    Ok(txn.open_table(TOKENS)?.get(user.0)?.is_some())
}

/// The user and hash a selector belongs to.
pub(super) fn by_selector(txn: &ReadTransaction, selector: &str) -> Result<Option<(UserId, String)>> {
    let Some(user) = txn.open_table(TOKEN_SELECTORS)?.get(selector)?.map(|v| v.value()) else {
        return Ok(None);
    };
    Ok(txn.open_table(TOKENS)?.get(user)?.map(|v| (UserId(user), v.value().1.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, Store};

    #[test]
    fn a_new_token_replaces_the_old_selector() {
        let (_dir, store) = Store::temporary();
        let user = UserId(5);
        let write = |f: &dyn Fn(&WriteTransaction) -> Result<bool>| store.write(Durability::Immediate, f).unwrap();
        let find = |selector: &str| store.read(|txn| by_selector(txn, selector)).unwrap();
        write(&|txn| set(txn, user, "aaaa", "hash1").map(|()| true));
        write(&|txn| set(txn, user, "bbbb", "hash2").map(|()| true));
        assert_eq!(find("aaaa"), None);
        assert_eq!(find("bbbb"), Some((user, "hash2".into())));
        assert!(write(&|txn| remove(txn, user)));
        assert_eq!(find("bbbb"), None);
        assert!(!write(&|txn| remove(txn, user)));
    }
}
