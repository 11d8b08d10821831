#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 600) at the lowest CPU priority, starting
# from its kept inputs (regressions/TARGET) and its dictionary:
#   fuzz/run.sh TARGET [SECONDS]
# New corpus inputs go to corpus/TARGET, failing inputs to artifacts/TARGET (both
# ignored by git: copy the ones worth keeping to regressions/TARGET).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
# No sanitizer: harmy has no unsafe code, and without ASan the targets run about
# twice as fast. Overflow checks and debug assertions stay on (cargo-fuzz's default).
# 64 KiB is both the request body limit and the socket's message limit.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-600}
mkdir -p "corpus/$target"
exec nice -n 19 cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=5 \
    -dict="dicts/$target.dict" -print_final_stats=1
