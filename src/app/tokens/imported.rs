//! API keys imported from Lanyard (`harmy migrate --from-lanyard`; docs/SECURITY.md,
//! "Imported Lanyard keys"). A Lanyard key has no selector, so the row is found by
//! a keyed digest of the whole key (BLAKE2s-256 keyed with a random secret of this
//! database's own), stored where a harmy token keeps its selector; beside it, as
//! for every token, only the argon2id hash of the key. From there on an imported
//! key is a token like any other: one per user, checked by the same verifier
//! (remembered successes, shared runs, the lockout counted by the digest's first
//! 64 bits, generations), found by the leak guard, replaced by a rotation.
//!
//! What an import decides for one user's key ([`decide`]): the same key again is
//! unchanged; a user who already has a token (harmy's, or a key imported before)
//! keeps it unless the import overwrites; a key whose digest some other user's
//! row holds is refused.

use blake2::Blake2sMac256;
use blake2::digest::{KeyInit, Mac};
use redb::WriteTransaction;

use super::format::{SALT_BYTES, hex, random};
use super::verifier::MAX_ARGON_THREADS;
use super::{Tokens, argon, data};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::{self, Durability};

/// Bytes of the digest key.
pub(crate) const DIGEST_KEY_BYTES: usize = 32;

/// The key of the digests, read from (or made for) the database.
#[derive(Clone, Copy)]
pub struct DigestKey(pub(super) [u8; DIGEST_KEY_BYTES]);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(..)")
    }
}

impl DigestKey {
    /// A new key from the OS generator.
    pub(super) fn generate() -> Option<DigestKey> {
        random::<DIGEST_KEY_BYTES>().map(DigestKey)
    }

    /// The digest that finds a Lanyard key's row, in hex (64 characters: never
    /// the 16 of a harmy selector, so the two cannot name each other's rows).
    pub fn digest(&self, key: &str) -> String {
        let mut mac = <Blake2sMac256 as KeyInit>::new_from_slice(&self.0).expect("32 bytes is a valid BLAKE2s key");
        mac.update(key.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// Whether a stored selector is the digest of an imported key (else a harmy selector).
pub fn is_digest(selector: &str) -> bool {
    selector.len() == DIGEST_KEY_BYTES * 2
}

/// What becomes of one user's Lanyard key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDecision {
    /// Stored (or, in a dry run, would be).
    Import,
    /// The user's token is this very key already.
    Unchanged,
    /// The user has a harmy token, kept (the import does not overwrite).
    KeptToken,
    /// The user has another key imported before, kept (the import does not overwrite).
    KeptKey,
    /// Another user's row holds this key's digest.
    TakenByOther,
}

/// Decides for one user's key: `current` is the selector of the user's row, if
/// any; `digest` the key's digest (`None` while the database has no digest key:
/// then nothing was ever imported); `holder` whoever's row the digest finds.
pub fn decide(
    user: UserId,
    current: Option<&str>,
    digest: Option<&str>,
    holder: Option<UserId>,
    overwrite: bool,
) -> KeyDecision {
    if current.is_some() && current == digest {
        return KeyDecision::Unchanged;
    }
    if holder.is_some_and(|holder| holder != user) {
        return KeyDecision::TakenByOther;
    }
    match current {
        Some(selector) if !overwrite && is_digest(selector) => KeyDecision::KeptKey,
        Some(_) if !overwrite => KeyDecision::KeptToken,
        _ => KeyDecision::Import,
    }
}

/// One user's key on its way in: decided, and when it is to be stored, its
/// digest and hash.
#[derive(Debug)]
pub struct PreparedKey {
    /// The key's owner in Lanyard.
    pub user: UserId,
    /// What the plan decided.
    pub decision: KeyDecision,
    /// The digest and the argon2id hash, for a key to store.
    row: Option<(String, String)>,
}

impl Tokens {
    /// Decides for each `(user, Lanyard key)` what an import does ([`decide`]); unless
    /// `dry_run`, makes the digest key if there is none yet and hashes the keys to
    /// store. Nothing is stored here: [`write_keys`] does, in the import's transaction.
    pub(crate) async fn prepare_keys(
        &self,
        keys: Vec<(UserId, String)>,
        overwrite: bool,
        dry_run: bool,
    ) -> Result<Vec<PreparedKey>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<UserId> = keys.iter().map(|(user, _)| *user).collect();
        let plan = store::blocking(&self.store, move |store| {
            store.read(|txn| {
                let digest_key = data::digest_key(txn)?;
                let mut plan = Vec::with_capacity(keys.len());
                for (user, key) in keys {
                    let digest = digest_key.map(|k| k.digest(&key));
                    let (current, holder) = data::claims_read(txn, user, digest.as_deref())?;
                    plan.push((decide(user, current.as_deref(), digest.as_deref(), holder, overwrite), key));
                }
                Ok(plan)
            })
        })
        .await?;
        let mut prepared: Vec<PreparedKey> = users
            .iter()
            .zip(&plan)
            .map(|(&user, (decision, _))| PreparedKey { user, decision: *decision, row: None })
            .collect();
        let to_store: Vec<(usize, String)> = plan
            .into_iter()
            .enumerate()
            .filter(|(_, (decision, _))| *decision == KeyDecision::Import)
            .map(|(i, (_, key))| (i, key))
            .collect();
        if dry_run || to_store.is_empty() {
            return Ok(prepared);
        }
        let digest_key = self.digest_key_or_create().await?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_ARGON_THREADS);
        let hashes = hash_all(to_store.iter().map(|(_, key)| key.clone()).collect(), threads)
            .await
            .ok_or_else(|| Error::Internal("imported keys could not be hashed".into()))?;
        for ((i, key), phc) in to_store.into_iter().zip(hashes) {
            prepared[i].row = Some((digest_key.digest(&key), phc));
        }
        Ok(prepared)
    }

    /// The digest key, made and stored now if the database has none yet.
    async fn digest_key_or_create(&self) -> Result<DigestKey> {
        if let Some(key) = self.digest_key.get() {
            return Ok(*key);
        }
        let key = store::blocking(&self.store, |store| store.write(Durability::Immediate, data::digest_key_or_create))
            .await?;
        Ok(*self.digest_key.get_or_init(|| key))
    }

    /// Users whose token an import replaced (call after the commit): as after a
    /// rotation, no verification of their old token in flight can succeed.
    pub(crate) fn replaced(&self, users: impl IntoIterator<Item = UserId>) {
        for user in users {
            self.verifier.changed(user);
        }
    }
}

/// Stores the prepared keys in the import's transaction, deciding each again
/// against the rows as they are now (a token rotated since the plan wins unless
/// the import overwrites). What became of each key, in order.
pub(crate) fn write_keys(
    txn: &WriteTransaction,
    prepared: &[PreparedKey],
    overwrite: bool,
) -> Result<Vec<(UserId, KeyDecision)>> {
    let mut outcomes = Vec::with_capacity(prepared.len());
    for key in prepared {
        let decision = match &key.row {
            Some((digest, phc)) => {
                let (current, holder) = data::claims(txn, key.user, digest)?;
                let now = decide(key.user, current.as_deref(), Some(digest), holder, overwrite);
                if now == KeyDecision::Import {
                    data::set(txn, key.user, digest, phc)?;
                }
                now
            }
            None => key.decision,
        };
        outcomes.push((key.user, decision));
    }
    Ok(outcomes)
}

/// The argon2id hashes of `keys`, in order, on `threads` argon2 threads of their
/// own (started here, gone on return: an import never queues behind, or ahead
/// of, the verifications of a running server); `None` when one could not be made.
pub(super) async fn hash_all(keys: Vec<String>, threads: usize) -> Option<Vec<String>> {
    let pool = argon::Pool::new(threads);
    let jobs = keys.into_iter().map(|key| {
        let pool = &pool;
        async move {
            let salt = random::<SALT_BYTES>()?;
            pool.run(move |memory| memory.hash(key.as_bytes(), &salt).ok()).await?
        }
    });
    futures_util::future::join_all(jobs).await.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserId = UserId(1);

    #[test]
    fn digests_are_keyed_and_never_selector_sized() {
        let (a, b) = (DigestKey([1; 32]), DigestKey([2; 32]));
        let key = "lnyd_00112233445566778899aabbccddeeff";
        assert_eq!(a.digest(key), a.digest(key));
        assert_ne!(a.digest(key), b.digest(key), "another database, another digest");
        assert_ne!(a.digest(key), a.digest("00112233445566778899aabbccddeeff"));
        assert!(is_digest(&a.digest(key)) && !is_digest("0011223344556677"));
        assert!(!a.digest(key).contains("00112233445566778899aabbccddeeff"));
    }

    #[test]
    fn existing_tokens_win_unless_overwritten() {
        let digest = "d".repeat(64);
        let other = "e".repeat(64);
        let d = Some(digest.as_str());
        assert_eq!(decide(ALICE, None, d, None, false), KeyDecision::Import);
        assert_eq!(decide(ALICE, None, None, None, false), KeyDecision::Import, "no key imported yet");
        assert_eq!(decide(ALICE, d, d, Some(ALICE), false), KeyDecision::Unchanged);
        assert_eq!(decide(ALICE, d, d, Some(ALICE), true), KeyDecision::Unchanged);
        assert_eq!(decide(ALICE, Some("0011223344556677"), d, None, false), KeyDecision::KeptToken);
        assert_eq!(decide(ALICE, Some(&other), d, None, false), KeyDecision::KeptKey);
        assert_eq!(decide(ALICE, Some("0011223344556677"), d, None, true), KeyDecision::Import);
        assert_eq!(decide(ALICE, Some(&other), d, None, true), KeyDecision::Import);
        assert_eq!(decide(ALICE, None, d, Some(UserId(2)), true), KeyDecision::TakenByOther);
    }

    #[tokio::test]
    async fn keys_are_hashed_with_argon2id_and_salted() {
        let key = "lnyd_00112233445566778899aabbccddeeff".to_string();
        let hashes = hash_all(vec![key.clone(), key.clone()], 2).await.unwrap();
        assert!(hashes.iter().all(|phc| phc.starts_with("$argon2id$") && !phc.contains(&key[5..])));
        assert_ne!(hashes[0], hashes[1]);
        assert!(argon::Memory::default().verify(&hashes[0], key.as_bytes()));
    }
}
