#!/usr/bin/env bash
# Redis's own test files for strings, INCR, the key space and expiry (tests/unit/type/string.tcl,
# type/incr.tcl, keyspace.tcl, expire.tcl of the Debian `redis` source package, the same version as
# the redis-server installed here) run in external-server mode against a Clossyne cluster and against
# redis-server, with the same flags, then a table: per file, the tests Redis passes, how many of those
# Clossyne passes, and the ratio. See docs/REDIS-TESTS.md.
#
# Usage: scripts/redis-suite.sh [options]
#   --clossyne-port P   use the Clossyne frontend already on 127.0.0.1:P (default: start a cluster:
#                       one broker, two in-memory workers, shards split at m, one frontend)
#   --redis-port P      use the redis-server already on 127.0.0.1:P (default: start one)
#   --units "U ..."     test files (default "unit/type/string unit/type/incr unit/keyspace unit/expire")
#   --timeout S         runtest's per-test timeout: no progress for S seconds ends the file (default 60)
#   --unit-limit S      hard limit on one file's run, whole process group killed (default 600)
#   --out DIR           logs and lists of failing tests (default build/redis-suite)
#   --list              also print, per file, the tests Redis passes and Clossyne does not
#   --report-only       run nothing: print the table from the logs of an earlier run in --out
# Environment: CLOSSYNE_BIN (default build/bin), REDIS_SRC_CACHE (default build/redis-src).
# Installs tcl, dpkg-dev and redis-server with apt if missing, and fetches the source package with
# `apt-get source` (adding a deb-src line in /etc/apt/sources.list.d/clossyne-src.list if there is
# none); that needs root the first time. Exit status 0 once the table is printed, whatever the scores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
UNITS="unit/type/string unit/type/incr unit/keyspace unit/expire"
CPORT="" RPORT="" TIMEOUT=60 UNIT_LIMIT=600 OUT=build/redis-suite LIST=0 REPORT_ONLY=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --clossyne-port) CPORT=$2; shift 2 ;;
    --redis-port) RPORT=$2; shift 2 ;;
    --units) UNITS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --unit-limit) UNIT_LIMIT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    --report-only) REPORT_ONLY=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
CACHE=${REDIS_SRC_CACHE:-build/redis-src}
BIN=${CLOSSYNE_BIN:-build/bin}
PY=/usr/bin/python3
# Same flags for both servers. --singledb: Clossyne has one database (no SELECT 9). --durable: an error
# inside a test fails that test instead of ending the file. --ignore-encoding/--ignore-digest: OBJECT
# ENCODING and DEBUG DIGEST are Redis internals. needs:debug / needs:repl tests use DEBUG and the
# replication stream, which Clossyne does not claim (and Debian's redis-server refuses DEBUG).
FLAGS=(--singledb --durable --ignore-encoding --ignore-digest --tags "-needs:debug -needs:repl"
  --timeout "$TIMEOUT" --skipfile "$ROOT/scripts/redis-suite.skip")

report() { # the table, from the logs in $OUT
$PY - "$OUT" "$LIST" "$ROOT/scripts/redis-suite.skip" $UNITS <<'EOF'
import collections, os, re, sys
out, listing, skipfile, units = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4:]
ansi = re.compile(r"\x1b\[[0-9;]*m")
# Commands of Redis's other data types: a test Clossyne fails on one of these (unknown command) needs
# lists, sets, hashes, sorted sets or streams, which a string store never has.
OTHER_TYPES = re.compile(r"unknown command '(?i:([lr]push|[lr]pop|lrange|llen|linsert|lset|sadd|srem|"
                         r"smembers|scard|zadd|zrange|zcard|hset|hget|hmset|hgetall|xadd|xgroup|pfadd|"
                         r"geoadd))'")

def parse(path):
    """-> (Counter of passed names, {failed name: its error}, how the run ended)
    An error outside any test (--durable) ends the start_server block it is in, not the file."""
    ok, err, end, blocks, last = collections.Counter(), {}, "did not finish", [], None
    lines = [ansi.sub("", l.rstrip("\n")) for l in open(path, errors="replace")]
    for i, line in enumerate(lines):
        if m := re.match(r"\[ok\]: (.*) \(\d+ ms\)$", line):
            ok[m[1]] += 1; last = m[1]
        elif m := re.match(r"\[err\]: (.*) in tests/\S+\.tcl$", line):
            # next lines: the assertion, or the error (cut, then whole) when a command failed
            follow = [l for l in lines[i + 1:i + 3] if not l.startswith(("[", "***"))]
            err.setdefault(m[1], " / ".join(follow)[:300]); last = m[1]
        elif line.startswith("[err]: "):
            blocks.append("%s (after %r)" % (line[len("[err]: "):][:120], last))
        elif line.startswith("[exception]:"):
            end = "EXCEPTION after %r: %s" % (last, line[len("[exception]: "):][:160])
        elif line.startswith("[TIMEOUT]"):
            end = "TIMEOUT after %r" % last
        elif re.match(r"\[\d+/\d+ done\]", line):
            end = "complete"
        elif line.startswith("rc=") and end == "did not finish":
            end = "killed (%s) after %r" % (line, last)
    if blocks:
        end += "; a block of tests ended early: " + "; ".join(blocks)
    return ok, err, end

rows, tot = [], collections.Counter()
for unit in units:
    f = unit.replace("/", "_")
    rok, rerr, rend = parse(os.path.join(out, "redis.%s.log" % f))
    cok, cerr, cend = parse(os.path.join(out, "clossyne.%s.log" % f))
    c = dict(run=sum(rok.values()) + len(rerr), redis=sum(rok.values()),
             both=sum(min(n, cok[k]) for k, n in rok.items()),
             extra=sum(max(0, n - rok[k]) for k, n in cok.items()))
    missing = sorted((rok - cok).elements())
    c["types"] = sum(1 for n in missing if OTHER_TYPES.search(cerr.get(n, "")))
    tot.update(c)
    rows.append((unit, c, cend if rend == "complete" else "%s (Redis run: %s)" % (cend, rend)))
    with open(os.path.join(out, "missing.%s.txt" % f), "w") as fh:
        fh.write("".join("%s\t%s\n" % (n, cerr.get(n, "not run")) for n in missing))
    if listing and missing:
        rows.append(("  not passed on Clossyne: " + "; ".join(missing),))

pct = lambda a, b: "%.1f%%" % (100.0 * a / b) if b else "-"
print("| file | run on Redis | passed on Redis | of those, passed on Clossyne | ratio | failed on "
      "Clossyne needing other types | ratio without those | passed on Clossyne only | Clossyne run |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
line = lambda name, c, how: "| %s | %d | %d | %d | %s | %d | %s | %d | %s |" % (
    name, c["run"], c["redis"], c["both"], pct(c["both"], c["redis"]), c["types"],
    pct(c["both"], c["redis"] - c["types"]), c["extra"], how)
for row in rows:
    print(row[0] if len(row) == 1 else line(*row))
print(line("**total**", tot, "").replace(pct(tot["both"], tot["redis"]), "**%s**" % pct(tot["both"], tot["redis"]), 1))
skipped = [l.strip() for l in open(skipfile) if l.strip() and not l.startswith("#")]
if skipped:
    print("\nSkipped on both servers (scripts/redis-suite.skip): " + "; ".join(skipped))
print("\nLogs, and missing.<file>.txt (each test Redis passes and Clossyne does not, with Clossyne's "
      "error), in " + out)
EOF
}
[[ $REPORT_ONLY == 1 ]] && { report; exit 0; }

apt_install() { # package...: installs those given (root only)
  [[ $(id -u) == 0 ]] || { echo "redis-suite: need root to apt-get install $*" >&2; exit 1; }
  timeout 600 apt-get install -y --no-install-recommends "$@" >/dev/null
}
fetch_src() { # the Debian redis source, unpacked (patches applied) into $CACHE/src, once
  [[ -f $CACHE/src/tests/test_helper.tcl ]] && return
  local need=()
  command -v tclsh >/dev/null || need+=(tcl)
  command -v dpkg-source >/dev/null || need+=(dpkg-dev)
  command -v redis-server >/dev/null || need+=(redis-server)
  [[ ${#need[@]} -eq 0 ]] || { timeout 300 apt-get update >/dev/null; apt_install "${need[@]}"; }
  if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    [[ $(id -u) == 0 ]] || { echo "redis-suite: no deb-src line; need root to add one" >&2; exit 1; }
    local suite
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    echo "deb-src http://deb.debian.org/debian $suite main" >/etc/apt/sources.list.d/clossyne-src.list
    timeout 300 apt-get update >/dev/null
  fi
  mkdir -p "$CACHE"
  local ver
  ver=$(dpkg-query -W -f '${source:Version}' redis-server 2>/dev/null || true)
  (cd "$CACHE" && { timeout 300 apt-get source --download-only "redis${ver:+=$ver}" >/dev/null 2>&1 ||
    timeout 300 apt-get source --download-only redis >/dev/null; })
  (cd "$CACHE" && rm -rf src && timeout 120 dpkg-source -x ./*.dsc src >/dev/null)
}
fetch_src
command -v tclsh >/dev/null || apt_install tcl

WORK=$(mktemp -d)
PIDS=()
cleanup() { # stops what it started; the servers' logs (a crash's trace) go to $OUT
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [[ -d $OUT ]] && for f in "$WORK"/*.log; do [[ -e $f ]] && cp "$f" "$OUT/server-${f##*/}"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # port: until it answers DBSIZE with an integer (10 s at most)
  for _ in $(seq 100); do
    timeout 2 redis-cli -p "$1" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && return 0
    sleep 0.1
  done
  echo "redis-suite: nothing answers on port $1" >&2; exit 1
}

if [[ -z $RPORT ]]; then
  RPORT=$(free_port)
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >"$WORK/redis.log" 2>&1 & PIDS+=($!)
fi
if [[ -z $CPORT ]]; then
  # Copies, so that a rebuild during the run does not swap the binaries under it.
  mkdir -p "$WORK/bin"
  cp "$BIN"/clossyne-broker "$BIN"/clossyne-worker "$BIN"/clossyne-frontend "$WORK/bin/"
  cp_=$(free_port); wp=$(free_port); CPORT=$(free_port)
  "$WORK/bin/clossyne-broker" --clients "tcp://127.0.0.1:$cp_" --workers "tcp://127.0.0.1:$wp" \
    --split-points m --min-workers 2 --replicas 1 --log-level warn 2>"$WORK/broker.log" & PIDS+=($!)
  for w in w1 w2; do
    "$WORK/bin/clossyne-worker" --broker "tcp://127.0.0.1:$wp" --id $w --log-level warn \
      2>"$WORK/$w.log" & PIDS+=($!)
  done
  "$WORK/bin/clossyne-frontend" --listen "127.0.0.1:$CPORT" --broker "tcp://127.0.0.1:$cp_" \
    --log-level warn 2>"$WORK/frontend.log" & PIDS+=($!)
fi
wait_ready "$RPORT"
wait_ready "$CPORT"

mkdir -p "$OUT"
# A private copy of the suite (runtest keeps state in tests/tmp) and a random base port for its test
# server (it listens on baseport-32..-1), so that two runs on one machine do not collide.
mkdir -p "$WORK/suite" && cp -r "$CACHE/src/runtest" "$CACHE/src/tests" "$WORK/suite/"
FLAGS+=(--baseport $((22000 + RANDOM % 120 * 64)))
t0=$SECONDS
for server in redis clossyne; do
  port=$RPORT; [[ $server == clossyne ]] && port=$CPORT
  for unit in $UNITS; do
    log="$OUT/$server.${unit//\//_}.log"
    # timeout signals its whole process group: the test server and the client it spawned.
    (cd "$WORK/suite" && timeout -k 5 "$UNIT_LIMIT" ./runtest --host 127.0.0.1 --port "$port" \
      --single "$unit" "${FLAGS[@]}" </dev/null) >"$log" 2>&1 && rc=0 || rc=$?
    echo "rc=$rc" >>"$log"
    echo "  $server $unit: exit $rc, $((SECONDS - t0)) s so far" >&2
  done
done

report
echo "redis-suite: $((SECONDS - t0)) s of test runs" >&2
