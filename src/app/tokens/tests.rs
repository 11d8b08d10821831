//! The tokens service: rotation and revocation win over verifications in
//! flight, wrong tokens are refused (and locked out), the leak guard.

use std::sync::Arc;

use super::*;
use crate::store::Store;

fn tokens() -> (tempfile::TempDir, Arc<Tokens>) {
    let (dir, store) = Store::temporary();
    (dir, Arc::new(Tokens::new(Arc::new(store))))
}

#[tokio::test]
async fn a_rotated_token_stops_verifying_at_once() {
    let (_dir, tokens) = tokens();
    let user = UserId(42);
    let old = tokens.rotate(user).await.unwrap();
    assert_eq!(tokens.authenticate(&old).await.unwrap(), user);
    assert_eq!(tokens.authenticate(&old).await.unwrap(), user, "served from the cache");
    let new = tokens.rotate(user).await.unwrap();
    assert!(matches!(tokens.authenticate(&old).await, Err(Error::Unauthorized)));
    assert_eq!(tokens.authenticate(&new).await.unwrap(), user);
    tokens.revoke(user).await.unwrap();
    assert!(matches!(tokens.authenticate(&new).await, Err(Error::Unauthorized)));
}

#[tokio::test]
async fn wrong_and_malformed_tokens_are_unauthorized() {
    let (_dir, tokens) = tokens();
    let token = tokens.rotate(UserId(1)).await.unwrap();
    let (selector, _) = parse(&token).unwrap();
    let wrong_secret = format!("harmy_{selector}_{}", "0".repeat(32));
    for bad in ["", "nonsense", wrong_secret.as_str(), "harmy_0000000000000000_00000000000000000000000000000000"] {
        assert!(matches!(tokens.authenticate(bad).await, Err(Error::Unauthorized)), "{bad:?}");
    }
}

#[tokio::test]
async fn a_verification_in_flight_during_a_rotation_is_neither_successful_nor_remembered() {
    let (_dir, tokens) = tokens();
    let user = UserId(42);
    let old = tokens.rotate(user).await.unwrap();
    // The old token's verification has read the old hash and argon2 said yes...
    tokens.verifier.gate.arm();
    let verifying = tokio::spawn({
        let (tokens, old) = (tokens.clone(), old.clone());
        async move { tokens.authenticate(&old).await }
    });
    tokens.verifier.gate.reached().await;
    // ...when the token is rotated.
    let new = tokens.rotate(user).await.unwrap();
    tokens.verifier.gate.release();
    assert!(matches!(verifying.await.unwrap(), Err(Error::Unauthorized)));
    assert_eq!(tokens.verifier.remembered(&old), None);
    assert!(matches!(tokens.authenticate(&old).await, Err(Error::Unauthorized)));
    assert_eq!(tokens.authenticate(&new).await.unwrap(), user);
}

#[tokio::test]
async fn a_verification_in_flight_during_a_revocation_is_neither_successful_nor_remembered() {
    let (_dir, tokens) = tokens();
    let user = UserId(43);
    let token = tokens.rotate(user).await.unwrap();
    tokens.verifier.gate.arm();
    let verifying = tokio::spawn({
        let (tokens, token) = (tokens.clone(), token.clone());
        async move { tokens.authenticate(&token).await }
    });
    tokens.verifier.gate.reached().await;
    assert!(tokens.revoke(user).await.unwrap());
    tokens.verifier.gate.release();
    assert!(matches!(verifying.await.unwrap(), Err(Error::Unauthorized)));
    assert_eq!(tokens.verifier.remembered(&token), None);
    assert!(matches!(tokens.authenticate(&token).await, Err(Error::Unauthorized)));
}

#[tokio::test]
async fn a_locked_out_selector_is_429_material_but_its_remembered_token_still_works() {
    let (_dir, tokens) = tokens();
    let user = UserId(44);
    let token = tokens.rotate(user).await.unwrap();
    assert_eq!(tokens.authenticate(&token).await.unwrap(), user);
    let (selector, _) = parse(&token).unwrap();
    for n in 0..MAX_FAILURES {
        let wrong = format!("harmy_{selector}_{n:032x}");
        assert!(matches!(tokens.authenticate(&wrong).await, Err(Error::Unauthorized)));
    }
    let wrong = format!("harmy_{selector}_{:032x}", 99);
    let Err(Error::TokenLocked { retry_after }) = tokens.authenticate(&wrong).await else { panic!("not locked") };
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(tokens.authenticate(&token).await.unwrap(), user, "remembered");
    // Unknown selectors are refused without counting or locking anything.
    let unknown = format!("harmy_{}_{:032x}", "f".repeat(16), 1);
    for _ in 0..20 {
        assert!(matches!(tokens.authenticate(&unknown).await, Err(Error::Unauthorized)));
    }
}

#[tokio::test]
async fn concurrent_verifications_of_one_new_token_share_one_run() {
    let (_dir, tokens) = tokens();
    let token = tokens.rotate(UserId(45)).await.unwrap();
    // Sixty requests of a website with its new token: one argon2 run, one
    // attempt for the lockout, so none of them is refused.
    let all = futures_util::future::join_all((0..60).map(|_| tokens.authenticate(&token))).await;
    assert!(all.iter().all(|r| matches!(r, Ok(UserId(45)))), "{all:?}");
}

#[tokio::test]
async fn the_leak_guard_verifies_at_most_three_known_tokens_per_message() {
    let (_dir, tokens) = tokens();
    let token = tokens.rotate(UserId(1)).await.unwrap();
    let other = tokens.rotate(UserId(2)).await.unwrap();
    let leaks = tokens.leaked(&format!("oops {token} oops {token} and {other}")).await.unwrap();
    assert_eq!(leaks, Leaks { owners: vec![UserId(1), UserId(2)], locked: None });
    assert_eq!(tokens.leaked("nothing here").await.unwrap(), Leaks::default());

    // 36 wrong secrets on a real selector: three verifications, no lockout reached.
    let (selector, _) = parse(&other).unwrap();
    let wrong: Vec<String> = (0..36).map(|n| format!("harmy_{selector}_{n:032x}")).collect();
    let unknown = format!("harmy_{}_{:032x}", "e".repeat(16), 7);
    let text = format!("{unknown} {unknown} {} {token}", wrong.join(" "));
    assert_eq!(tokens.leaked(&text).await.unwrap(), Leaks::default(), "the real token came too late");
    for n in 0..7 {
        let wrong = format!("harmy_{selector}_{:032x}", 100 + n);
        assert!(matches!(tokens.authenticate(&wrong).await, Err(Error::Unauthorized)), "attempt {n} of 10");
    }
    assert!(matches!(tokens.authenticate(&wrong[0]).await, Err(Error::TokenLocked { .. })));

    // Repeats and unknown selectors do not count; a locked selector is reported.
    let text = format!("{unknown} {unknown} {} {} {token}", wrong[0], wrong[0]);
    let leaks = tokens.leaked(&text).await.unwrap();
    assert_eq!(leaks.owners, vec![UserId(1)]);
    assert!(leaks.locked.is_some());
}
