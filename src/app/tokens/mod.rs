//! The tokens service: API tokens, `harmy_<selector>_<secret>` ([`format`]),
//! and the keys imported from Lanyard ([`imported`]). The selector (for an
//! imported key, a keyed digest of it) finds the row; only an argon2id hash (PHC
//! string) of the secret is stored (`data`). Checking one (docs/SECURITY.md):
//!
//! * a success is remembered by a fast hash of the token until the user's token
//!   changes, and a change wins over every verification already in flight
//!   (`remembered`);
//! * concurrent verifications of one token share one run (`flights`);
//! * argon2 runs on a fixed set of threads, each with one preallocated memory
//!   buffer (`argon`), so verifying costs CPU time and never memory;
//! * after [`MAX_FAILURES`] failures of one selector within [`WINDOW`], that
//!   selector is refused without argon2 for the rest of the window (`lockout`).
//!
//! `verifier` puts these together; this file is what the adapters call.

mod argon;
pub(crate) mod data;
mod flights;
mod format;
pub mod imported;
mod lockout;
mod remembered;
#[cfg(test)]
mod tests;
mod verifier;

use std::sync::{Arc, OnceLock};

use self::format::fingerprint;
pub use self::format::{Shape, find_in_text, is_lanyard_key, parse, shape};
use self::imported::DigestKey;
pub use self::lockout::{MAX_FAILURES, WINDOW};
use self::verifier::{Claim, Outcome, Verifier};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::{self, Durability, Store};

/// Token-shaped words of one message the leak guard verifies at most (after
/// dropping repeats and words whose selector no token has).
pub const LEAK_CHECKS: usize = 3;

/// What the leak guard found in a message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leaks {
    /// The owners of the valid tokens in it.
    pub owners: Vec<UserId>,
    /// Set when a token in it could not be checked because its selector is
    /// locked out: seconds until it can be.
    pub locked: Option<u64>,
}

/// Every user's API token.
pub struct Tokens {
    store: Arc<Store>,
    verifier: Verifier,
    /// The key of imported keys' digests, once read or made (it never changes).
    digest_key: OnceLock<DigestKey>,
}

impl Tokens {
    /// The service over `store`.
    pub fn new(store: Arc<Store>) -> Tokens {
        Tokens { store, verifier: Verifier::default(), digest_key: OnceLock::new() }
    }

    /// Issues a new token for a user; the old one stops verifying at once, and
    /// no verification of it already in flight can succeed.
    pub async fn rotate(&self, user: UserId) -> Result<String> {
        let issued = self.verifier.issue().await.ok_or_else(|| Error::Internal("no token could be issued".into()))?;
        let (selector, phc) = (issued.selector.clone(), issued.phc.clone());
        store::blocking(&self.store, move |store| {
            store.write(Durability::Immediate, |txn| data::set(txn, user, &selector, &phc))
        })
        .await?;
        self.verifier.changed(user);
        Ok(issued.token)
    }

    /// Removes a user's token; true when there was one. No verification of it
    /// already in flight can succeed.
    pub async fn revoke(&self, user: UserId) -> Result<bool> {
        let existed = store::blocking(&self.store, move |store| {
            store.write(Durability::Immediate, |txn| data::remove(txn, user))
        })
        .await?;
        self.verifier.changed(user);
        Ok(existed)
    }

    /// Whether a user has a token (for the export: never the token or its hash).
    pub async fn issued(&self, user: UserId) -> Result<bool> {
        store::blocking(&self.store, move |store| store.read(|txn| data::issued(txn, user))).await
    }

    /// Deletes a user's token inside `txn` (`App::forget`, which calls
    /// [`Tokens::forgotten`] once it is committed); true when there was one.
    pub(crate) fn forget_in(txn: &redb::WriteTransaction, user: UserId) -> Result<bool> {
        data::forget(txn, user)
    }

    /// A user's token was deleted by `forget`: no verification of it in flight
    /// can succeed or be remembered.
    pub(crate) fn forgotten(&self, user: UserId) {
        self.verifier.changed(user);
    }

    /// The user a token belongs to: `Unauthorized`, or `TokenLocked` while its
    /// selector is locked out (a remembered token is never locked out).
    /// Concurrent calls with one token share one verification.
    pub async fn authenticate(&self, token: &str) -> Result<UserId> {
        loop {
            if let Some(user) = self.verifier.remembered(token) {
                return Ok(user);
            }
            let Some(shape) = shape(token) else { return Err(Error::Unauthorized) };
            match self.verifier.join(token) {
                flights::Flight::Lead(leader) => {
                    let outcome = self.verify(token, shape).await;
                    leader.land(*outcome.as_ref().unwrap_or(&Outcome::Unavailable));
                    return outcome.and_then(checked);
                }
                flights::Flight::Follow(mut landed) => {
                    if let Ok(outcome) = landed.wait_for(Option::is_some).await {
                        return checked(outcome.unwrap_or(Outcome::Unavailable));
                    }
                }
            }
        }
    }

    /// Reads a token's row and verifies it.
    async fn verify(&self, token: &str, shape: Shape<'_>) -> Result<Outcome> {
        // Before the store read: a rotation from here on makes this verification fail.
        let attempt = self.verifier.attempt();
        let Some((claim, user, phc)) = self.row(token, shape).await? else { return Ok(Outcome::Invalid) };
        Ok(self.verifier.verify(attempt, token, claim, user, phc).await)
    }

    /// What a token claims, with the owner and stored hash of the row it names.
    async fn row(&self, token: &str, shape: Shape<'_>) -> Result<Option<(Claim, UserId, String)>> {
        let claim = match shape {
            Shape::Harmy { selector, secret } => Some(Claim { selector: selector.into(), secret: secret.into() }),
            Shape::Lanyard => {
                self.digest_key.get().map(|key| Claim { selector: key.digest(token), secret: token.into() })
            }
        };
        let cached = claim.is_some();
        let token = token.to_string();
        let (claim, key, row) = store::blocking(&self.store, move |store| {
            store.read(|txn| {
                // An imported key before its digest key is known here: read it in the same transaction.
                let (claim, key) = match claim {
                    Some(claim) => (claim, None),
                    None => match data::digest_key(txn)? {
                        Some(key) => (Claim { selector: key.digest(&token), secret: token }, Some(key)),
                        None => return Ok((None, None, None)),
                    },
                };
                let row = data::by_selector(txn, &claim.selector)?;
                Ok((Some(claim), key, row))
            })
        })
        .await?;
        if let (false, Some(key)) = (cached, key) {
            let _ = self.digest_key.set(key);
        }
        Ok(claim.zip(row).map(|(claim, (user, phc))| (claim, user, phc)))
    }

    /// The valid tokens in a message (the bot's leak guard). Repeats, and words
    /// whose selector (or digest) no token has, are skipped without argon2; of the others,
    /// at most [`LEAK_CHECKS`] are verified.
    pub async fn leaked(&self, text: &str) -> Result<Leaks> {
        let mut leaks = Leaks::default();
        let mut seen: Vec<&str> = Vec::new();
        let mut verified = 0;
        for candidate in find_in_text(text) {
            if verified == LEAK_CHECKS {
                break;
            }
            if seen.contains(&candidate) {
                continue;
            }
            seen.push(candidate);
            let known = match shape(candidate) {
                Some(shape) => {
                    self.verifier.remembered(candidate).is_some() || self.row(candidate, shape).await?.is_some()
                }
                None => false,
            };
            if !known {
                continue;
            }
            let found = self.authenticate(candidate).await;
            verified += 1;
            match found {
                Ok(owner) if !leaks.owners.contains(&owner) => leaks.owners.push(owner),
                Ok(_) | Err(Error::Unauthorized) => {}
                Err(Error::TokenLocked { retry_after }) => leaks.locked = Some(retry_after),
                Err(e) => return Err(e),
            }
        }
        Ok(leaks)
    }
}

/// A verification's outcome as the crate's result.
fn checked(outcome: Outcome) -> Result<UserId> {
    match outcome {
        Outcome::Valid(user) => Ok(user),
        Outcome::Invalid => Err(Error::Unauthorized),
        Outcome::Locked { retry_after } => Err(Error::TokenLocked { retry_after }),
        Outcome::Unavailable => Err(Error::Internal("a token could not be verified".into())),
    }
}
