//! The privacy tables, each user's show/hide choice and last-seen time: the
//! only code that reads or writes them.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use crate::error::Result;
use crate::ids::UserId;
use crate::store::tables::{LAST_SEEN, PRIVACY};

/// Every stored choice (`Choice` as a byte), for the cache at start.
pub(crate) fn choices(txn: &ReadTransaction) -> Result<Vec<(UserId, u8)>> {
    let mut choices = Vec::new();
    for entry in txn.open_table(PRIVACY)?.iter()? {
        let (user, choice) = entry?;
        choices.push((UserId(user.value()), choice.value()));
    }
    Ok(choices)
}

/// Stores a user's choice.
pub(super) fn set_choice(txn: &WriteTransaction, user: UserId, choice: u8) -> Result<()> {
    txn.open_table(PRIVACY)?.insert(user.0, choice)?;
    Ok(())
}

/// Every stored last-seen time, for the cache at start.
pub(crate) fn last_seen_all(txn: &ReadTransaction) -> Result<Vec<(UserId, u64)>> {
    let mut times = Vec::new();
    for entry in txn.open_table(LAST_SEEN)?.iter()? {
        let (user, at) = entry?;
        times.push((UserId(user.value()), at.value()));
    }
    Ok(times)
}

/// One user's stored last-seen time.
pub(super) fn last_seen(txn: &ReadTransaction, user: UserId) -> Result<Option<u64>> {
    Ok(txn.open_table(LAST_SEEN)?.get(user.0)?.map(|v| v.value()))
}

/// Stores a batch of last-seen times.
pub(crate) fn put_last_seen(txn: &WriteTransaction, times: &[(UserId, u64)]) -> Result<()> {
    let mut table = txn.open_table(LAST_SEEN)?;
    for (user, at) in times {
        table.insert(user.0, at)?;
    }
    Ok(())
}

/// Deletes a user's last-seen time (for `forget`); true when there was one.
pub(super) fn forget_last_seen(txn: &WriteTransaction, user: UserId) -> Result<bool> {
    Ok(txn.open_table(LAST_SEEN)?.remove(user.0)?.is_some())
}
