//! Fuzzes a WebSocket client message (SPEC §4.2 ops); the invariants are in `harmy::fuzz::socket_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::socket_message(data));
