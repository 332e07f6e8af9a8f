#!/usr/bin/env bash
# Configures and builds into ${BUILD_DIR:-build} (Release unless BUILD_TYPE says otherwise).
#   scripts/build.sh                      # every target (binaries, unit tests, fuzz replays)
#   scripts/build.sh clossyne-broker ...  # only the targets named (scripts/run builds its binaries)
# Configuring again changes no compile flag, so an up-to-date tree builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" >/dev/null
targets=()
(($#)) && targets=(--target "$@")
cmake --build "$BUILD_DIR" -j "$(nproc)" "${targets[@]+"${targets[@]}"}"
