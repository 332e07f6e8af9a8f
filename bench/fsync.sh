#!/usr/bin/env bash
# SET throughput with durable workers, beside Redis with the same appendfsync (issue 6).
# For each --fsync mode (always, everysec, no) starts a cluster (broker, two workers with
# --data-dir in a temp dir, frontend) and `redis-server --appendonly yes --appendfsync MODE
# --save ''`, all on free ports, and runs
#   redis-benchmark -t set -c 50 -n N -r 100000 -P 1   and   -P 16
# against each. Prints a markdown table of requests per second.
# Usage: bench/fsync.sh [-n N]   (default N = 100000; CLOSSYNE_BIN picks the binaries, else build/bin)
# The temp dir is on $TMPDIR (default /tmp): fsync cost depends on that file system's device.
set -euo pipefail
cd "$(dirname "$0")/.."
N=100000
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) N=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. bench/common.sh
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() { stop_all; rm -rf "$WORK"; }
trap cleanup EXIT

wait_ready() { # port -> until it answers DBSIZE with an integer (10 s at most)
  for _ in $(seq 100); do
    redis-cli -p "$1" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && return 0
    sleep 0.1
  done
  echo "server on port $1 not ready; logs in $WORK" >&2
  tail -n 20 "$WORK"/*.log >&2
  exit 1
}
rps() { # port pipeline -> SET requests per second
  redis-benchmark -p "$1" -t set -c 50 -n "$N" -r 100000 -P "$2" --csv 2>/dev/null |
    awk -F, 'NR>1{gsub(/"/,"",$2); print int($2)}'
}

start_clossyne() { # mode -> frontend port in FP
  local mode=$1 dir="$WORK/clossyne-$1" cp wp
  mkdir -p "$dir"
  cp=$(free_port); wp=$(free_port); FP=$(free_port)
  # redis-benchmark -r 100000 keys are key:000000000000 .. key:000000099999: half on each worker.
  "$BIN/clossyne-broker" --clients "tcp://127.0.0.1:$cp" --workers "tcp://127.0.0.1:$wp" \
    --split-points key:000000050000 --min-workers 2 --log-level warn 2>"$WORK/broker-$mode.log" &
  PIDS+=($!)
  for w in w1 w2; do
    "$BIN/clossyne-worker" --broker "tcp://127.0.0.1:$wp" --id $w --data-dir "$dir/$w" \
      --fsync "$mode" --log-level warn 2>"$WORK/$w-$mode.log" &
    PIDS+=($!)
  done
  "$BIN/clossyne-frontend" --listen "127.0.0.1:$FP" --broker "tcp://127.0.0.1:$cp" \
    --log-level warn 2>"$WORK/frontend-$mode.log" &
  PIDS+=($!)
  wait_ready "$FP"
}

start_redis() { # mode -> port in RP
  local mode=$1 dir="$WORK/redis-$1"
  mkdir -p "$dir"
  RP=$(free_port)
  redis-server --port "$RP" --dir "$dir" --appendonly yes --appendfsync "$mode" --save '' \
    --daemonize no >"$WORK/redis-$mode.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$RP"
}

declare -A R
for mode in always everysec no; do
  start_clossyne "$mode"
  R[c1.$mode]=$(rps "$FP" 1); R[c16.$mode]=$(rps "$FP" 16)
  stop_all
  start_redis "$mode"
  R[r1.$mode]=$(rps "$RP" 1); R[r16.$mode]=$(rps "$RP" 16)
  stop_all
done

echo "SET requests/s, redis-benchmark -t set -c 50 -n $N -r 100000 ($(nproc) CPUs, data on $(df -P "$WORK" | awk 'NR==2{print $1}'))"
echo
echo "| fsync | Clossyne -P 1 | Redis AOF -P 1 | Clossyne -P 16 | Redis AOF -P 16 |"
echo "| --- | ---: | ---: | ---: | ---: |"
for mode in always everysec no; do
  echo "| $mode | ${R[c1.$mode]} | ${R[r1.$mode]} | ${R[c16.$mode]} | ${R[r16.$mode]} |"
done
