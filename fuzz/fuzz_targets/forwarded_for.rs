//! Fuzzes a peer, trusted proxies and X-Forwarded-For values (see harmy::fuzz::forwarded_for); the invariants are in `harmy::fuzz::forwarded_for`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::forwarded_for(data));
