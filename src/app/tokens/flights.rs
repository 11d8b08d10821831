//! Concurrent verifications of one token share one run: the first caller leads
//! (reads the row, runs argon2), the others wait for its outcome. A website that
//! opens many connections with a token not yet remembered costs one argon2 run,
//! and counts once against its selector's lockout, instead of one per request.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

use super::{Outcome, fingerprint};

/// The verifications in flight, by token fingerprint.
#[derive(Default)]
pub struct Flights {
    pending: Mutex<HashMap<[u8; 32], watch::Receiver<Option<Outcome>>>>,
}

/// The part a caller plays in the verification of its token.
pub enum Flight<'a> {
    /// Run the verification and [`Leader::land`] its outcome.
    Lead(Leader<'a>),
    /// Wait for the leader's outcome; a closed channel means the leader went
    /// away without one (its client hung up): start over.
    Follow(watch::Receiver<Option<Outcome>>),
}

/// The caller that runs a verification; dropping it ends the flight.
pub struct Leader<'a> {
    flights: &'a Flights,
    key: [u8; 32],
    outcome: watch::Sender<Option<Outcome>>,
}

impl Flights {
    /// Joins the verification of `token` in flight, or starts one.
    pub fn join(&self, token: &str) -> Flight<'_> {
        let key = fingerprint(token);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(landed) = pending.get(&key) {
            return Flight::Follow(landed.clone());
        }
        let (outcome, landed) = watch::channel(None);
        pending.insert(key, landed);
        Flight::Lead(Leader { flights: self, key, outcome })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.pending.lock().unwrap().len()
    }
}

impl Leader<'_> {
    /// Hands the outcome to the callers waiting.
    pub fn land(self, outcome: Outcome) {
        self.outcome.send_replace(Some(outcome));
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.flights.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    #[tokio::test]
    async fn followers_get_the_leaders_outcome_and_the_flight_ends() {
        let flights = Flights::default();
        let Flight::Lead(leader) = flights.join("a") else { panic!("the first caller leads") };
        let Flight::Follow(mut follower) = flights.join("a") else { panic!("the second follows") };
        assert!(matches!(flights.join("b"), Flight::Lead(_)), "per token");
        leader.land(Outcome::Valid(UserId(1)));
        assert_eq!(*follower.wait_for(Option::is_some).await.unwrap(), Some(Outcome::Valid(UserId(1))));
        assert_eq!(flights.len(), 0);
        assert!(matches!(flights.join("a"), Flight::Lead(_)), "a later caller starts anew");
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_lets_its_followers_start_over() {
        let flights = Flights::default();
        let leader = flights.join("a");
        let Flight::Follow(mut follower) = flights.join("a") else { panic!("follows") };
        drop(leader);
        assert!(follower.wait_for(Option::is_some).await.is_err());
        assert!(matches!(flights.join("a"), Flight::Lead(_)));
    }
}
