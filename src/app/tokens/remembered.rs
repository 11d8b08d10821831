//! Remembered verifications, and the per-user token generations that keep a
//! rotation or revocation ahead of every verification already in flight.
//!
//! A verification takes a snapshot of a clock before it reads the stored hash.
//! A rotation or revocation, after its store write, ticks the clock and records
//! the tick as its user's generation. Before a success is remembered (under
//! the same lock), the user's generation is compared with the snapshot: a
//! generation newer than the snapshot means the token changed while the
//! verification ran, and the verification fails, remembered or not, since
//! the hash it checked may be the one just replaced. A verification whose
//! snapshot follows the change read the store after its write, so it checked
//! the current hash.
//!
//! A generation only matters to verifications that began before it, so it is
//! kept only while one of those is in flight: the map holds the users whose
//! token changed during the oldest verification still running, and is empty
//! whenever none runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::fingerprint;
use crate::ids::UserId;

/// Remembered verifications before the set starts over (a safety net: only
/// current tokens are remembered, one per user with a token).
const CAPACITY: usize = 65_536;
/// Generations kept before the first sweep of those no verification needs.
const SWEEP_FROM: usize = 64;

#[derive(Default)]
struct State {
    /// Tokens verified, by a fast hash, and their owner.
    verified: HashMap<[u8; 32], UserId>,
    /// Ticks on every rotation or revocation.
    clock: u64,
    /// The clock at each user's last token change, while a verification that
    /// began before it is in flight.
    generations: HashMap<UserId, u64>,
    /// Snapshots of the verifications in flight, and how many share each.
    in_flight: BTreeMap<u64, usize>,
    /// Sweep `generations` when it reaches this size.
    sweep_at: usize,
}

/// The remembered set and the generations, under one lock.
#[derive(Default)]
pub struct Remembered {
    state: Mutex<State>,
}

/// A verification in flight, from before its store read until it is dropped.
pub struct Attempt<'a> {
    remembered: &'a Remembered,
    snapshot: u64,
}

impl Remembered {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user a token was already verified for.
    pub fn get(&self, token: &str) -> Option<UserId> {
        self.state().verified.get(&fingerprint(token)).copied()
    }

    /// Starts a verification; call before reading the stored hash.
    pub fn attempt(&self) -> Attempt<'_> {
        let mut state = self.state();
        let snapshot = state.clock;
        *state.in_flight.entry(snapshot).or_default() += 1;
        Attempt { remembered: self, snapshot }
    }

    /// A user's token changed (call after the store write): verifications in
    /// flight for it fail, and its remembered tokens are forgotten.
    pub fn changed(&self, user: UserId) {
        let mut state = self.state();
        state.clock += 1;
        if !state.in_flight.is_empty() {
            let clock = state.clock;
            state.generations.insert(user, clock);
            if state.generations.len() >= state.sweep_at.max(SWEEP_FROM) {
                sweep(&mut state);
            }
        }
        state.verified.retain(|_, u| *u != user);
    }

    /// How many generations are kept (for tests of the bound).
    #[cfg(test)]
    fn generations(&self) -> usize {
        self.state().generations.len()
    }
}

impl Attempt<'_> {
    /// Ends a verification whose secret matched the hash of `user`: true, and
    /// remembered, unless the user's token changed since the attempt began.
    pub fn succeed(self, token: &str, user: UserId) -> bool {
        let mut state = self.remembered.state();
        if state.generations.get(&user).is_some_and(|&generation| generation > self.snapshot) {
            return false;
        }
        if state.verified.len() >= CAPACITY {
            state.verified.clear();
        }
        state.verified.insert(fingerprint(token), user);
        true
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut state = self.remembered.state();
        if let Some(count) = state.in_flight.get_mut(&self.snapshot) {
            *count -= 1;
            if *count == 0 {
                state.in_flight.remove(&self.snapshot);
            }
        }
        if state.in_flight.is_empty() && !state.generations.is_empty() {
            state.generations = HashMap::new();
            state.sweep_at = 0;
        }
    }
}

/// Drops the generations no verification in flight began before.
fn sweep(state: &mut State) {
    let oldest = state.in_flight.keys().next().copied().unwrap_or(u64::MAX);
    state.generations.retain(|_, generation| *generation > oldest);
    state.sweep_at = state.generations.len() * 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserId = UserId(1);
    const BOB: UserId = UserId(2);

    #[test]
    fn a_success_is_remembered_until_the_token_changes() {
        let remembered = Remembered::default();
        assert!(remembered.attempt().succeed("a", ALICE));
        assert!(remembered.attempt().succeed("b", BOB));
        assert_eq!((remembered.get("a"), remembered.get("b")), (Some(ALICE), Some(BOB)));
        remembered.changed(ALICE);
        assert_eq!((remembered.get("a"), remembered.get("b")), (None, Some(BOB)));
    }

    #[test]
    fn a_verification_begun_before_a_change_neither_succeeds_nor_is_remembered() {
        let remembered = Remembered::default();
        let before = remembered.attempt();
        // The verification reads the old hash and runs argon2; meanwhile the
        // token is rotated or revoked (store write, then this).
        remembered.changed(ALICE);
        assert!(!before.succeed("old", ALICE), "the change wins");
        assert_eq!(remembered.get("old"), None);
        // One begun after the change read the new hash: it may succeed.
        assert!(remembered.attempt().succeed("new", ALICE));
        assert_eq!(remembered.get("new"), Some(ALICE));
    }

    #[test]
    fn another_users_change_does_not_fail_a_verification() {
        let remembered = Remembered::default();
        let attempt = remembered.attempt();
        remembered.changed(BOB);
        assert!(attempt.succeed("a", ALICE));
    }

    #[test]
    fn generations_are_kept_only_while_an_older_verification_runs() {
        let remembered = Remembered::default();
        remembered.changed(ALICE);
        assert_eq!(remembered.generations(), 0, "nothing in flight: nothing to keep");
        let old = remembered.attempt();
        for user in 0..1_000 {
            remembered.changed(UserId(user));
        }
        assert_eq!(remembered.generations(), 1_000, "all are newer than the verification in flight");
        // A newer verification alone does not need them: once the old one ends they go.
        let newer = remembered.attempt();
        drop(old);
        remembered.changed(UserId(5_000));
        for user in 0..2_000 {
            remembered.changed(UserId(10_000 + user));
        }
        assert!(remembered.generations() <= 2 * 2_001, "swept: {}", remembered.generations());
        drop(newer);
        assert_eq!(remembered.generations(), 0);
        for user in 0..1_000 {
            let attempt = remembered.attempt();
            remembered.changed(UserId(user));
            drop(attempt);
        }
        assert_eq!(remembered.generations(), 0, "a flood of rotations keeps nothing once its verifications end");
    }
}
