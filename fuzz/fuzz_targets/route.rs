//! Fuzzes a request path; the invariants are in `harmy::fuzz::route`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::route(data));
