//! The GitHub tables, a user's linked login and the last fetched profile
//! record: the only code that reads or writes them.

use std::collections::HashSet;

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::Record;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::tables::{GITHUB_LINKS, GITHUB_PROFILES};

/// Links a login, with its first profile record, replacing any previous link.
pub(super) fn link(txn: &WriteTransaction, user: UserId, login: &str, record: Option<&Record>) -> Result<()> {
    txn.open_table(GITHUB_LINKS)?.insert(user.0, login)?;
    let mut profiles = txn.open_table(GITHUB_PROFILES)?;
    match record {
        Some(record) => profiles.insert(user.0, json(record)?.as_str())?,
        None => profiles.remove(user.0)?,
    };
    Ok(())
}

/// Stores a refreshed profile record, if the user is still linked to `login`.
pub(super) fn set_profile(txn: &WriteTransaction, user: UserId, login: &str, record: &Record) -> Result<bool> {
    let linked = txn.open_table(GITHUB_LINKS)?.get(user.0)?.is_some_and(|v| v.value() == login);
    if linked {
        txn.open_table(GITHUB_PROFILES)?.insert(user.0, json(record)?.as_str())?;
    }
    Ok(linked)
}

/// Removes the link and profile; true when there was a link.
pub(super) fn unlink(txn: &WriteTransaction, user: UserId) -> Result<bool> {
    let existed = txn.open_table(GITHUB_LINKS)?.remove(user.0)?.is_some();
    txn.open_table(GITHUB_PROFILES)?.remove(user.0)?;
    Ok(existed)
}

/// Removes the link and profile (`forget`); true when there was a link.
pub(super) fn forget(txn: &WriteTransaction, user: UserId) -> Result<bool> {
    unlink(txn, user)
}

/// The linked login and the stored profile record (`None` when it does not parse).
pub(super) fn get(txn: &ReadTransaction, user: UserId) -> Result<Option<(String, Option<Record>)>> {
    let Some(login) = txn.open_table(GITHUB_LINKS)?.get(user.0)?.map(|v| v.value().to_string()) else {
        return Ok(None);
    };
    let record = txn.open_table(GITHUB_PROFILES)?.get(user.0)?.and_then(|v| serde_json::from_str(v.value()).ok());
    Ok(Some((login, record)))
}

/// Every link, for the refresher.
pub(super) fn links(txn: &ReadTransaction) -> Result<Vec<(UserId, String)>> {
    let mut links = Vec::new();
    for entry in txn.open_table(GITHUB_LINKS)?.iter()? {
        let (user, login) = entry?;
        links.push((UserId(user.value()), login.value().to_string()));
    }
    Ok(links)
}

/// The users with a link.
pub(crate) fn users(txn: &ReadTransaction) -> Result<HashSet<UserId>> {
    Ok(links(txn)?.into_iter().map(|(user, _)| user).collect())
}

/// A user's profile as the JSON the API shows as `github` (`null` when none).
pub(crate) fn rendered(txn: &ReadTransaction, user: UserId) -> Result<Box<serde_json::value::RawValue>> {
    let Some(stored) = txn.open_table(GITHUB_PROFILES)?.get(user.0)? else {
        return Ok(serde_json::value::RawValue::NULL.to_owned());
    };
    let record: Record = serde_json::from_str(stored.value()).map_err(internal)?;
    serde_json::value::to_raw_value(&record.profile).map_err(internal)
}

fn json(record: &Record) -> Result<String> {
    serde_json::to_string(record).map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::github::Profile;
    use crate::store::{Durability, Store};

    fn record(bio: &str) -> Record {
        let profile = Profile {
            id: 1,
            username: "octocat".into(),
            avatar_url: "a".into(),
            url: "u".into(),
            company: None,
            blog: None,
            bio: Some(bio.into()),
            public_repos: 2,
        };
        Record { profile, etag: None, fetched_at: 0 }
    }

    #[test]
    fn github_links_and_profiles() {
        let (_dir, store) = Store::temporary();
        let user = UserId(9);
        let write = |f: &dyn Fn(&WriteTransaction) -> Result<bool>| store.write(Durability::Immediate, f).unwrap();
        write(&|txn| link(txn, user, "octocat", Some(&record("first"))).map(|()| true));
        assert_eq!(store.read(|txn| get(txn, user)).unwrap(), Some(("octocat".into(), Some(record("first")))));
        assert!(!write(&|txn| set_profile(txn, user, "someoneelse", &record("x"))));
        assert!(write(&|txn| set_profile(txn, user, "octocat", &record("second"))));
        let shown: serde_json::Value =
            serde_json::from_str(store.read(|txn| rendered(txn, user)).unwrap().get()).unwrap();
        assert_eq!(shown["bio"], "second");
        assert_eq!(store.read(links).unwrap(), vec![(user, "octocat".to_string())]);
        assert!(write(&unlink_of(user)));
        assert_eq!(store.read(|txn| get(txn, user)).unwrap(), None);
        assert_eq!(store.read(|txn| rendered(txn, user)).unwrap().get(), "null");
    }

    fn unlink_of(user: UserId) -> impl Fn(&WriteTransaction) -> Result<bool> {
        move |txn| unlink(txn, user)
    }
}
