//! Fuzzes a Discord gateway dispatch frame; the invariants are in `harmy::fuzz::gateway_event`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::gateway_event(data));
