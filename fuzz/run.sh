#!/usr/bin/env bash
# Builds the request-parser fuzz target (fuzz/request_parser_fuzz.cpp) with clang, libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs it for a bounded time over the seed
# corpus in fuzz/corpus (read only) plus a scratch corpus in the build directory.
# Needs clang and libFuzzer (Debian: clang libfuzzer-14-dev; scripts/deps.sh installs them).
#   fuzz/run.sh [SECONDS=60] [BUILD_DIR=build-fuzz]
# Exits non-zero when the fuzzer finds a crash, a leak or a broken invariant; the input that
# triggered it is saved as BUILD_DIR/crash-* (replay: BUILD_DIR/request_parser_fuzz FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
OUT=${2:-build-fuzz}
CXX=${FUZZ_CXX:-clang++}
mkdir -p "$OUT/corpus"
"$CXX" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. \
  fuzz/request_parser_fuzz.cpp frontend/request_parser.cpp frontend/resp_parser.cpp \
  frontend/inline_split.cpp frontend/glob_match.cpp -o "$OUT/request_parser_fuzz"
exec "$OUT/request_parser_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus" fuzz/corpus
