//! Fuzzes KV keys, values and limits (see harmy::fuzz::kv_limits for the input layout); the invariants are in `harmy::fuzz::kv_limits`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| harmy::fuzz::kv_limits(data));
