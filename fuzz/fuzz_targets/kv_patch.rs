//! Fuzzes a KV PATCH body; the invariants are in `harmy::fuzz::kv_patch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::kv_patch(data));
