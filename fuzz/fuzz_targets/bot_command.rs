//! Fuzzes a bot message: the prefix on the first line, then the message; the invariants are in `harmy::fuzz::bot_command`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::bot_command(data));
