//! The token tables, one argon2id hash per user found by its selector (or, for
//! a key imported from Lanyard, its keyed digest), and the digest's key: the only
//! code that reads or writes them.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::imported::{DIGEST_KEY_BYTES, DigestKey};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::tables::{SECRETS, TOKEN_SELECTORS, TOKENS};

/// The name of the digest key in the secrets table.
const DIGEST_KEY: &str = "lanyard_digest";

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

/// The key of imported keys' digests; `None` until the first import made one.
pub(super) fn digest_key(txn: &ReadTransaction) -> Result<Option<DigestKey>> {
    let stored = txn.open_table(SECRETS)?.get(DIGEST_KEY)?.map(|v| v.value().to_vec());
    stored.map(|bytes| key_of(&bytes)).transpose()
}

/// The key of imported keys' digests, made now if there is none yet.
pub(super) fn digest_key_or_create(txn: &WriteTransaction) -> Result<DigestKey> {
    let mut secrets = txn.open_table(SECRETS)?;
    let stored = secrets.get(DIGEST_KEY)?.map(|v| v.value().to_vec());
    if let Some(bytes) = stored {
        return key_of(&bytes);
    }
    let key = DigestKey::generate().ok_or_else(|| Error::Internal("no random bytes for the digest key".into()))?;
    secrets.insert(DIGEST_KEY, key.0.as_slice())?;
    Ok(key)
}

fn key_of(bytes: &[u8]) -> Result<DigestKey> {
    let key: [u8; DIGEST_KEY_BYTES] =
        bytes.try_into().map_err(|_| Error::Internal("the stored digest key has the wrong length".into()))?;
    Ok(DigestKey(key))
}

/// The selector (or digest) of a user's token, and who holds `digest`, as a write
/// transaction sees them.
pub(super) fn claims(txn: &WriteTransaction, user: UserId, digest: &str) -> Result<(Option<String>, Option<UserId>)> {
    let current = txn.open_table(TOKENS)?.get(user.0)?.map(|v| v.value().0.to_string());
    let holder = txn.open_table(TOKEN_SELECTORS)?.get(digest)?.map(|v| UserId(v.value()));
    Ok((current, holder))
}

/// The same, for a read (a dry run, the plan before hashing).
pub(super) fn claims_read(
    txn: &ReadTransaction,
    user: UserId,
    digest: Option<&str>,
) -> Result<(Option<String>, Option<UserId>)> {
    let current = txn.open_table(TOKENS)?.get(user.0)?.map(|v| v.value().0.to_string());
    let holder = match digest {
        Some(digest) => txn.open_table(TOKEN_SELECTORS)?.get(digest)?.map(|v| UserId(v.value())),
        None => None,
    };
    Ok((current, holder))
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
