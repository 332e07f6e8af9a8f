#!/usr/bin/env bash
# Builds a fuzz target with clang, libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, and
# runs it for a bounded time over its seed corpus (read only) plus a scratch corpus in the build
# directory. Targets:
#   request_parser  the frontend's request parser (fuzz/request_parser_fuzz.cpp, fuzz/corpus)
#   envelope        envelope decoding, fast path against the full decoder (fuzz/envelope_fuzz.cpp,
#                   fuzz/envelope_corpus)
#   auth            ACL files and AUTH / HELLO / ACL on the client port (fuzz/auth_fuzz.cpp,
#                   fuzz/auth_corpus)
# Needs clang and libFuzzer (Debian: clang libfuzzer-14-dev; scripts/deps.sh installs them).
#   fuzz/run.sh [SECONDS=60] [BUILD_DIR=build-fuzz] [TARGET=request_parser]
#   fuzz/run.sh replay [BUILD_DIR=build-fuzz] [TARGET=request_parser]
# The first form fuzzes for a time. Its exit is non-zero when the fuzzer finds a crash, a leak or a
# broken invariant; the input that triggered it is saved as BUILD_DIR/crash-* (replay:
# BUILD_DIR/TARGET_fuzz FILE; add it to the seed corpus once fixed).
# The second form, which ctest runs, fuzzes nothing: it runs the target once on each file of the
# seed corpus, the same inputs every time, and fails if any of them crashes or breaks an invariant.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
OUT=${2:-build-fuzz}
TARGET=${3:-request_parser}
CXX=${FUZZ_CXX:-clang++}
FLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=undefined -I.)
case $TARGET in
  request_parser)
    SOURCES=(fuzz/request_parser_fuzz.cpp frontend/request_parser.cpp frontend/resp_parser.cpp
      frontend/inline_split.cpp frontend/glob_match.cpp)
    SEEDS=fuzz/corpus ;;
  envelope)
    SOURCES=(fuzz/envelope_fuzz.cpp common/envelope.cpp common/envelope_fast.cpp
      common/error_code.cpp)
    SEEDS=fuzz/envelope_corpus ;;
  auth)
    SOURCES=(fuzz/auth_fuzz.cpp frontend/acl.cpp frontend/auth.cpp frontend/password.cpp
      frontend/command_table.cpp frontend/glob_match.cpp frontend/local_commands.cpp
      frontend/command_docs.cpp frontend/config_table.cpp frontend/resp_writer.cpp
      frontend/resp_parser.cpp frontend/request_parser.cpp frontend/inline_split.cpp
      frontend/command_stats.cpp frontend/slowlog.cpp frontend/latency_command.cpp
      common/latency_histogram.cpp -lcrypto -lspdlog -lfmt)
    SEEDS=fuzz/auth_corpus ;;
  *) echo "unknown fuzz target '$TARGET'" >&2; exit 2 ;;
esac
mkdir -p "$OUT/corpus-$TARGET"
"$CXX" "${FLAGS[@]}" "${SOURCES[@]}" -o "$OUT/${TARGET}_fuzz"
if [[ $SECONDS_TO_RUN == replay ]]; then
  # libFuzzer given files (not folders) runs each once and exits; with none it would fuzz forever.
  mapfile -d '' inputs < <(find "$SEEDS" -type f -print0 | sort -z)
  if ((${#inputs[@]} == 0)); then
    echo "fuzz/run.sh: no seed inputs in $SEEDS" >&2
    exit 1
  fi
  echo "replaying ${#inputs[@]} seed inputs of $SEEDS through ${TARGET}_fuzz"
  exec "$OUT/${TARGET}_fuzz" -timeout=10 -rss_limit_mb=2048 "${inputs[@]}"
fi
exec "$OUT/${TARGET}_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus-$TARGET" "$SEEDS"
