//! API tokens (SPEC §5): `harmy_<selector>_<secret>`, 64 + 128 random bits from
//! the OS generator. The selector finds the row; only an argon2id hash (PHC
//! string) of the secret is stored. Verifying costs tens of milliseconds, so it
//! runs on the blocking pool behind a semaphore, and a success is remembered by
//! a fast hash of the token until the user's token changes.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use blake2::{Blake2s256, Digest};
use rand::TryRngCore;
use tokio::sync::Semaphore;

use crate::ids::UserId;

const PREFIX: &str = "harmy_";
const SELECTOR_BYTES: usize = 8;
const SECRET_BYTES: usize = 16;
/// Remembered verifications before the cache starts over.
const CACHE_CAPACITY: usize = 65_536;

/// A freshly issued token: shown once, then only `phc` is kept.
pub struct IssuedToken {
    /// The token to hand to the user.
    pub token: String,
    /// The public half that finds the row.
    pub selector: String,
    /// The argon2id PHC string of the secret.
    pub phc: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("selector", &self.selector).finish_non_exhaustive()
    }
}

/// Issues a token. Blocking: hashing takes tens of milliseconds.
pub fn issue() -> IssuedToken {
    let selector = hex(&random::<SELECTOR_BYTES>());
    let secret = hex(&random::<SECRET_BYTES>());
    let salt = SaltString::encode_b64(&random::<16>()).expect("16 bytes is a valid salt");
    let phc = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any input")
        .to_string();
    IssuedToken { token: format!("{PREFIX}{selector}_{secret}"), selector, phc }
}

/// Splits a token into selector and secret, if it has the shape of one.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (selector, secret) = rest.split_once('_')?;
    let is_hex = |s: &str, n: usize| s.len() == n * 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hex(selector, SELECTOR_BYTES) && is_hex(secret, SECRET_BYTES)).then_some((selector, secret))
}

/// The substrings of a message that have the shape of a token.
pub fn find_in_text(text: &str) -> impl Iterator<Item = &str> {
    let len = PREFIX.len() + SELECTOR_BYTES * 2 + 1 + SECRET_BYTES * 2;
    text.match_indices(PREFIX).filter_map(move |(i, _)| text.get(i..i + len)).filter(|t| parse(t).is_some())
}

/// Checks a secret against a stored PHC string. Blocking.
pub fn verify_secret(phc: &str, secret: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).expect("the OS random generator is available");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Remembers successful verifications and bounds concurrent argon2 runs.
pub struct Verifier {
    verified: Mutex<HashMap<[u8; 32], UserId>>,
    permits: Semaphore,
}

impl Default for Verifier {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Leave at least half the cores to serving reads during a flood of wrong tokens.
        Self { verified: Mutex::default(), permits: Semaphore::new((cores / 2).max(1)) }
    }
}

impl Verifier {
    /// The user a token was already verified for.
    pub fn remembered(&self, token: &str) -> Option<UserId> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner()).get(&fingerprint(token)).copied()
    }

    /// Runs argon2 for a token against its stored hash, off the async threads and
    /// with bounded concurrency; remembers a success.
    pub async fn verify(&self, token: &str, user: UserId, phc: String) -> bool {
        let Some((_, secret)) = parse(token) else { return false };
        let Ok(_permit) = self.permits.acquire().await else { return false };
        let secret = secret.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_secret(&phc, &secret)).await.unwrap_or(false);
        if ok {
            let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if verified.len() >= CACHE_CAPACITY {
                verified.clear();
            }
            verified.insert(fingerprint(token), user);
        }
        ok
    }

    /// Forgets every verification of a user's tokens (on rotation or revocation).
    pub fn forget(&self, user: UserId) {
        self.verified.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, u| *u != user);
    }
}

fn fingerprint(token: &str) -> [u8; 32] {
    Blake2s256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_and_hash_is_not_the_token() {
        let issued = issue();
        let (selector, secret) = parse(&issued.token).expect("well-formed");
        assert_eq!(selector, issued.selector);
        assert!(issued.phc.starts_with("$argon2id$"));
        assert!(!issued.phc.contains(secret));
        assert!(verify_secret(&issued.phc, secret));
        assert!(!verify_secret(&issued.phc, &"0".repeat(32)));
    }

    #[test]
    fn tokens_are_unique_and_carry_128_secret_bits() {
        let a = issue();
        let b = issue();
        assert_ne!(a.token, b.token);
        assert_eq!(parse(&a.token).unwrap().1.len(), 32);
    }

    #[test]
    fn parse_rejects_malformed_tokens() {
        for bad in ["", "harmy_", "harmy_abc_def", "x_0123456789abcdef_0123456789abcdef0123456789abcdef"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_found_inside_messages() {
        let t = issue().token;
        let text = format!("here is my token:{t}, oops");
        assert_eq!(find_in_text(&text).collect::<Vec<_>>(), vec![t.as_str()]);
        assert_eq!(find_in_text("harmy_ is a nice word").count(), 0);
    }

    #[tokio::test]
    async fn verifier_remembers_success_until_forgotten() {
        let issued = issue();
        let verifier = Verifier::default();
        let user = UserId(7);
        assert_eq!(verifier.remembered(&issued.token), None);
        assert!(verifier.verify(&issued.token, user, issued.phc.clone()).await);
        assert_eq!(verifier.remembered(&issued.token), Some(user));
        verifier.forget(user);
        assert_eq!(verifier.remembered(&issued.token), None);
    }
}
