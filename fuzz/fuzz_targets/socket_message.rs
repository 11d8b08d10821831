//! Fuzzes a WebSocket client message (the ops of docs/API.md); the invariants are in `harmy::fuzz::socket_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::socket_message(data));
