//! What checks a token: remembered successes, the generations that keep a
//! rotation ahead of verifications in flight, shared runs, the lockout and the
//! argon2 threads (see the module docs of `app::tokens`).

use super::flights::{self, Flight};
use super::format::{PREFIX, SALT_BYTES, SECRET_BYTES, SELECTOR_BYTES, hex, random};
use super::remembered::{self, Attempt};
use super::{argon, lockout};
use crate::ids::UserId;
use crate::limit::Instant;

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

/// What a presented token claims: the row it names (a harmy selector, or an
/// imported key's digest) and the secret argon2 checks against that row's hash.
#[derive(Clone)]
pub struct Claim {
    /// The selector or digest, in hex.
    pub selector: String,
    /// What was hashed: a harmy token's secret, or an imported key whole.
    pub secret: String,
}

impl Claim {
    /// What the lockout counts failures by: the selector, or a digest's first 64 bits.
    fn lockout_id(&self) -> &str {
        self.selector.get(..SELECTOR_BYTES * 2).unwrap_or(&self.selector)
    }
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim").field("selector", &self.selector).finish_non_exhaustive()
    }
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The token is `user`'s current one.
    Valid(UserId),
    /// A wrong secret, or a token that changed while it was being verified.
    Invalid,
    /// The selector is locked out; seconds until it is not (`Retry-After`).
    Locked {
        /// Whole seconds, at least 1.
        retry_after: u64,
    },
    /// argon2 could not run (no thread could be started): a bug for the log.
    Unavailable,
}

/// Checks and issues tokens: remembered successes, generations, the lockout and
/// the argon2 threads.
pub struct Verifier {
    remembered: remembered::Remembered,
    flights: flights::Flights,
    lockout: lockout::Lockout,
    argon: argon::Pool,
    /// Holds a verification between argon2 and remembering, for race tests.
    #[cfg(test)]
    pub(crate) gate: Gate,
}

/// Most argon2 threads, whatever the cores: each holds a 19 MiB block buffer for
/// the life of the process, and four verify some eighty tokens a second, more
/// than a presence server's honest writers need.
pub const MAX_ARGON_THREADS: usize = 4;

impl Default for Verifier {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Leave at least half the cores to serving reads during a flood of wrong tokens.
        Verifier::new((cores / 2).min(MAX_ARGON_THREADS))
    }
}

impl Verifier {
    /// A verifier whose argon2 runs on `threads` threads (at least one).
    pub fn new(threads: usize) -> Verifier {
        Verifier {
            remembered: Default::default(),
            flights: Default::default(),
            lockout: Default::default(),
            argon: argon::Pool::new(threads),
            #[cfg(test)]
            gate: Gate::default(),
        }
    }

    /// The user a token was already verified for.
    pub fn remembered(&self, token: &str) -> Option<UserId> {
        self.remembered.get(token)
    }

    /// Joins the verification of `token` already in flight, or leads a new one.
    pub fn join(&self, token: &str) -> Flight<'_> {
        self.flights.join(token)
    }

    /// Starts a verification: call before reading the stored hash, and hand the
    /// attempt to [`Verifier::verify`] (dropping it ends the verification).
    pub fn attempt(&self) -> Attempt<'_> {
        self.remembered.attempt()
    }

    /// Checks `token` (which makes `claim`) against `phc`, the stored hash of
    /// `user` read after `attempt` began: through the lockout, then argon2;
    /// remembers a success unless the user's token changed meanwhile.
    pub async fn verify(&self, attempt: Attempt<'_>, token: &str, claim: Claim, user: UserId, phc: String) -> Outcome {
        let ticket = match self.lockout.begin(claim.lockout_id(), Instant::now()) {
            Ok(ticket) => ticket,
            Err(retry_after) => return Outcome::Locked { retry_after },
        };
        let secret = claim.secret;
        let Some(matched) = self.argon.run(move |memory| memory.verify(&phc, secret.as_bytes())).await else {
            return Outcome::Unavailable;
        };
        #[cfg(test)]
        self.gate.pass().await;
        if !matched {
            return Outcome::Invalid;
        }
        ticket.matched();
        if attempt.succeed(token, user) { Outcome::Valid(user) } else { Outcome::Invalid }
    }

    /// A user's token was replaced or removed (call after the store write):
    /// verifications in flight for the user fail, remembered ones are forgotten.
    pub fn changed(&self, user: UserId) {
        self.remembered.changed(user);
    }

    /// Issues a token, hashed on the argon2 threads; `None` when no random bytes
    /// or no argon2 thread could be had.
    pub async fn issue(&self) -> Option<IssuedToken> {
        let selector = hex(&random::<SELECTOR_BYTES>()?);
        let secret = hex(&random::<SECRET_BYTES>()?);
        let salt = random::<SALT_BYTES>()?;
        let (secret, phc) =
            self.argon.run(move |memory| memory.hash(secret.as_bytes(), &salt).ok().map(|phc| (secret, phc))).await??;
        Some(IssuedToken { token: format!("{PREFIX}{selector}_{secret}"), selector, phc })
    }
}

/// A one-shot pause point inside [`Verifier::verify`], so a test can run a
/// rotation exactly while a verification is between argon2 and remembering.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Gate {
    armed: std::sync::atomic::AtomicBool,
    reached: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[cfg(test)]
impl Gate {
    /// The next verification to pass the gate waits there.
    pub(crate) fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits until a verification waits at the gate (panics after 20 s, so a
    /// verification that never gets there fails the test instead of hanging it).
    pub(crate) async fn reached(&self) {
        let reached = tokio::time::timeout(std::time::Duration::from_secs(20), self.reached.notified()).await;
        reached.expect("a verification reached the gate");
    }

    /// Lets the waiting verification go on.
    pub(crate) fn release(&self) {
        self.release.notify_one();
    }

    async fn pass(&self) {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.reached.notify_one();
            self.release.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tokens::lockout::MAX_FAILURES;
    use crate::app::tokens::parse;

    async fn check(verifier: &Verifier, token: &str, issued: &IssuedToken) -> Outcome {
        let (selector, secret) = parse(token).expect("a token's shape");
        let claim = Claim { selector: selector.into(), secret: secret.into() };
        verifier.verify(verifier.attempt(), token, claim, UserId(7), issued.phc.clone()).await
    }

    #[tokio::test]
    async fn an_issued_token_verifies_and_its_hash_is_not_the_token() {
        let verifier = Verifier::new(1);
        let issued = verifier.issue().await.unwrap();
        let (selector, secret) = parse(&issued.token).expect("well-formed");
        assert_eq!(selector, issued.selector);
        assert!(issued.phc.starts_with("$argon2id$"));
        assert!(!issued.phc.contains(secret));
        let wrong = format!("{PREFIX}{selector}_{}", "0".repeat(32));
        assert_eq!(check(&verifier, &wrong, &issued).await, Outcome::Invalid);
        assert_eq!(check(&verifier, &issued.token, &issued).await, Outcome::Valid(UserId(7)));
    }

    #[tokio::test]
    async fn tokens_are_unique_and_carry_128_secret_bits() {
        let verifier = Verifier::new(1);
        let a = verifier.issue().await.unwrap();
        let b = verifier.issue().await.unwrap();
        assert_ne!(a.token, b.token);
        assert_ne!(a.phc, b.phc, "salted");
        assert_eq!(parse(&a.token).unwrap().1.len(), 32);
    }

    #[tokio::test]
    async fn a_success_is_remembered_until_the_token_changes() {
        let verifier = Verifier::new(1);
        let issued = verifier.issue().await.unwrap();
        assert_eq!(verifier.remembered(&issued.token), None);
        assert_eq!(check(&verifier, &issued.token, &issued).await, Outcome::Valid(UserId(7)));
        assert_eq!(verifier.remembered(&issued.token), Some(UserId(7)));
        verifier.changed(UserId(7));
        assert_eq!(verifier.remembered(&issued.token), None);
    }

    #[tokio::test]
    async fn a_burst_of_wrong_secrets_runs_ten_verifications_then_is_locked_out() {
        let verifier = Verifier::new(1);
        let issued = verifier.issue().await.unwrap();
        assert_eq!(check(&verifier, &issued.token, &issued).await, Outcome::Valid(UserId(7)));
        let wrong: Vec<String> = (0..60).map(|n| format!("{PREFIX}{}_{n:032x}", issued.selector)).collect();
        let outcomes = futures_util::future::join_all(wrong.iter().map(|t| check(&verifier, t, &issued))).await;
        let invalid = outcomes.iter().filter(|o| **o == Outcome::Invalid).count();
        let locked: Vec<u64> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Locked { retry_after } => Some(*retry_after),
                _ => None,
            })
            .collect();
        assert_eq!((invalid, locked.len()), (MAX_FAILURES as usize, 50), "{outcomes:?}");
        assert!(locked.iter().all(|s| (1..=60).contains(s)), "{locked:?}");
        // The remembered token keeps working; a not yet remembered one waits like the rest.
        assert_eq!(verifier.remembered(&issued.token), Some(UserId(7)));
        verifier.changed(UserId(7));
        assert!(matches!(check(&verifier, &issued.token, &issued).await, Outcome::Locked { .. }));
    }

    #[tokio::test]
    async fn an_imported_keys_failures_are_counted_by_its_digest() {
        let verifier = Verifier::new(1);
        let issued = verifier.issue().await.unwrap();
        // An imported key's row is found by a 64-hex digest; its lockout counts by the first 16.
        let digest = "ab".repeat(32);
        let claim = |n: usize| Claim { selector: digest.clone(), secret: format!("lnyd_{n:032x}") };
        let tokens: Vec<String> = (0..20).map(|n| format!("lnyd_{n:032x}")).collect();
        let outcomes = futures_util::future::join_all(
            tokens
                .iter()
                .enumerate()
                .map(|(n, t)| verifier.verify(verifier.attempt(), t, claim(n), UserId(7), issued.phc.clone())),
        )
        .await;
        let locked = outcomes.iter().filter(|o| matches!(o, Outcome::Locked { .. })).count();
        assert_eq!(locked, 20 - MAX_FAILURES as usize, "{outcomes:?}");
        assert_eq!(claim(0).lockout_id(), "abababababababab");
    }
}
