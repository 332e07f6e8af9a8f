#!/usr/bin/env bash
# Clossyne beside Redis on this machine, in one run (issue 9). Starts its own cluster (broker, two
# workers, frontend), a second one with --replicas 2 (every write reaches both workers) and a
# `redis-server --save '' --appendonly no` on free ports, then measures:
#   1. redis-benchmark -t set,get -c 50 -r 100000, -P 1 (-n 100000) and -P 16 (-n 400000); SET
#      also on the --replicas 2 cluster
#   2. GET p50 latency, one client, at 10,000 and at 1,000,000 keys loaded in sequential order
#   3. resident memory added per key for the 1,000,000 keys (all Clossyne processes summed)
#   4. time to bulk-load the 1,000,000 keys with redis-cli --pipe
# Usage: bench/run.sh [--keys N] [--quick]   (results on stdout as a markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=1000000
N1=100000
N16=400000
while [[ $# -gt 0 ]]; do
  case $1 in
    --keys) KEYS=$2; shift 2 ;;
    --quick) KEYS=100000; N1=20000; N16=80000; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
. bench/common.sh
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

RP=$(free_port)
start_cluster() { # name replicas -> sets FP_<name>; two workers, one frontend
  local cp wp fp
  cp=$(free_port); wp=$(free_port); fp=$(free_port)
  "$BIN/clossyne-broker" --clients "tcp://127.0.0.1:$cp" --workers "tcp://127.0.0.1:$wp" \
    --split-points key:000000500000 --min-workers 2 --replicas "$2" --log-level warn \
    2>"$WORK/broker-$1.log" & PIDS+=($!)
  for w in w1 w2; do
    "$BIN/clossyne-worker" --broker "tcp://127.0.0.1:$wp" --id $w --log-level warn \
      2>"$WORK/$w-$1.log" & PIDS+=($!)
  done
  "$BIN/clossyne-frontend" --listen "127.0.0.1:$fp" --broker "tcp://127.0.0.1:$cp" --log-level warn \
    2>"$WORK/frontend-$1.log" & PIDS+=($!)
  printf -v "FP_$1" '%s' "$fp"
}
start_cluster main 1
FP=$FP_main
CLOSSYNE_PIDS="${PIDS[*]}"
redis-server --port "$RP" --save '' --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 & PIDS+=($!)
REDIS_PID=$!
start_cluster repl 2  # every shard on both workers: each write reaches two of them
for _ in $(seq 100); do
  redis-cli -p "$FP" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && redis-cli -p "$RP" PING >/dev/null 2>&1 &&
    redis-cli -p "$FP_repl" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && break
  sleep 0.1
done

rss_kb() { local t=0; for p in "$@"; do t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status))); done; echo $t; }
rps() { # port test pipeline n -> requests per second
  redis-benchmark -p "$1" -t "$2" -c 50 -r 100000 -P "$3" -n "$4" --csv 2>/dev/null |
    awk -F, 'NR>1{gsub(/"/,"",$2); print int($2)}'
}
p50() { # port keyspace -> GET p50 in ms, one client
  redis-benchmark -p "$1" -t get -c 1 -r "$2" -n 20000 --csv 2>/dev/null |
    awk -F, 'NR>1{gsub(/"/,"",$5); print $5}'
}
load() { # port n -> seconds to bulk-load n keys with redis-cli --pipe
  $PY bench/gen_load.py "$2" >"$WORK/load.resp"
  local t0=$(date +%s.%N)
  redis-cli -p "$1" --pipe <"$WORK/load.resp" >/dev/null
  echo "$(date +%s.%N) - $t0" | bc -l | xargs printf '%.2f'
}
ratio() { echo "scale=2; $1 / $2" | bc -l | xargs printf '%.2f'; }

declare -A R
for port_name in "$FP:clossyne" "$RP:redis"; do
  port=${port_name%%:*}; name=${port_name##*:}
  R[$name.set1]=$(rps "$port" set 1 "$N1"); R[$name.get1]=$(rps "$port" get 1 "$N1")
  R[$name.set16]=$(rps "$port" set 16 "$N16"); R[$name.get16]=$(rps "$port" get 16 "$N16")
done
R[repl.set1]=$(rps "$FP_repl" set 1 "$N1"); R[repl.set16]=$(rps "$FP_repl" set 16 "$N16")
# Latency and memory: start from an empty keyspace on both, load 10k, then the full set.
redis-cli -p "$RP" FLUSHALL >/dev/null
# Clossyne has no FLUSHALL: delete what the throughput runs wrote, in batches.
$PY - "$FP" <<'PY'
import sys, redis
r = redis.Redis(port=int(sys.argv[1]), socket_timeout=30)
while True:
    flat = r.execute_command("RNG", b"", b"\xff", "LIMIT", 5000)
    keys = flat[0::2]
    if not keys:
        break
    r.delete(*keys)
PY
base_c=$(rss_kb $CLOSSYNE_PIDS); base_r=$(rss_kb $REDIS_PID)
load "$FP" 10000 >/dev/null; load "$RP" 10000 >/dev/null
R[clossyne.p50_10k]=$(p50 "$FP" 10000); R[redis.p50_10k]=$(p50 "$RP" 10000)
R[clossyne.load]=$(load "$FP" "$KEYS"); R[redis.load]=$(load "$RP" "$KEYS")
R[clossyne.p50_big]=$(p50 "$FP" "$KEYS"); R[redis.p50_big]=$(p50 "$RP" "$KEYS")
R[clossyne.bpk]=$(( ($(rss_kb $CLOSSYNE_PIDS) - base_c) * 1024 / KEYS ))
R[redis.bpk]=$(( ($(rss_kb $REDIS_PID) - base_r) * 1024 / KEYS ))
R[clossyne.dbsize]=$(redis-cli -p "$FP" DBSIZE)

echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), $(redis-server --version | cut -d' ' -f1-3)"
echo
echo "| measure | Clossyne | Redis | ratio |"
echo "| --- | ---: | ---: | ---: |"
for t in set1 get1 set16 get16; do
  label="${t:0:3} -P ${t:3}"
  echo "| ${label^^} req/s (-c 50) | ${R[clossyne.$t]} | ${R[redis.$t]} | $(ratio "${R[clossyne.$t]}" "${R[redis.$t]}") |"
done
echo "| SET -P 1 req/s, --replicas 2 | ${R[repl.set1]} | ${R[redis.set1]} | $(ratio "${R[repl.set1]}" "${R[redis.set1]}") |"
echo "| SET -P 16 req/s, --replicas 2 | ${R[repl.set16]} | ${R[redis.set16]} | $(ratio "${R[repl.set16]}" "${R[redis.set16]}") |"
echo "| GET p50 ms at 10k keys | ${R[clossyne.p50_10k]} | ${R[redis.p50_10k]} | |"
echo "| GET p50 ms at $KEYS keys | ${R[clossyne.p50_big]} | ${R[redis.p50_big]} | |"
echo "| p50 at $KEYS / p50 at 10k | $(ratio "${R[clossyne.p50_big]}" "${R[clossyne.p50_10k]}") | $(ratio "${R[redis.p50_big]}" "${R[redis.p50_10k]}") | |"
echo "| bulk load $KEYS keys (s) | ${R[clossyne.load]} | ${R[redis.load]} | $(ratio "${R[clossyne.load]}" "${R[redis.load]}") |"
echo "| RSS bytes per key | ${R[clossyne.bpk]} | ${R[redis.bpk]} | $(ratio "${R[clossyne.bpk]}" "${R[redis.bpk]}") |"
echo
echo "(Clossyne DBSIZE after load: ${R[clossyne.dbsize]}. --replicas 2 beside --replicas 1:" \
  "SET -P 1 $(ratio "${R[repl.set1]}" "${R[clossyne.set1]}"), SET -P 16" \
  "$(ratio "${R[repl.set16]}" "${R[clossyne.set16]}").)"
