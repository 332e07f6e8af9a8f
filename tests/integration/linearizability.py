#!/usr/bin/env python3
"""The randomized fault test (issue 13), in the style of etcd's robustness tests.

Concurrent clients SET, GET and DEL a few keys through the frontend while a nemesis SIGKILLs and
restarts workers, moves, splits and merges shards with clossyne-admin (and kills a worker in the
middle of a move or a merge), lets a fourth worker join, and SIGKILLs and restarts the broker. Every operation is recorded
(client, op, key, value, call time, return time, outcome) into a JSON history; after the faults stop
and every process is running again, each key is read and written once more (it must serve again
within a bounded time), and the whole history is checked per key for linearizability by a small Go
program on Porcupine (tests/linearizability, built by this script with the Go toolchain).

A failed or timed-out write is indeterminate (it may take effect at any time after its call); a failed
read is dropped. Every written value is unique, so a lost or resurrected write is visible.

    linearizability.py                      # the fault mix for $CLOSSYNE_LIN_DURATION s (default 45)
    linearizability.py --duration 600       # longer, locally
    linearizability.py --faults none --inject-stale-reads 0.02 --expect-violation
                                            # a test of the checker: it must catch injected stale reads

Exit status 0 means: the history is linearizable and every key served again after the faults
(or, with --expect-violation, the checker reported the violation that was injected). On a failure the
work directory (history.json, lincheck.html, the processes' logs) is kept and printed.
Every wait is bounded: each client operation has a socket deadline, each admin command a timeout.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import REPO, Cluster, RawConn, RespError, binary  # noqa: E402

CHECKER_SRC = REPO / "tests" / "linearizability"
KEYS = ["b-key", "d-key", "h-key", "j-key", "l-key", "n-key", "q-key", "s-key", "v-key", "x-key"]
SPLIT_POINTS = "g,p"          # three shards to start with: [,g) [g,p) [p,)
FAULT_KINDS = ["kill-worker", "kill-broker", "kill-broker-late-worker", "move", "split", "move-kill",
               "merge", "merge-kill"]
REQUEST_TIMEOUT_MS = 4000     # frontend --request-timeout-ms
BROKER_OP_TIMEOUT_MS = 4000   # broker --op-timeout-ms
CLIENT_TIMEOUT_S = 6.0        # a client's socket deadline per operation (above both)
ADMIN_WAIT_S = 15             # clossyne-admin --wait for a move or a split
REPLICATED_LIVENESS_MS = 1500  # broker --liveness-ms with --replicas 2 or more
ADMIN_TIMEOUT_S = 25.0        # and the subprocess timeout around it
HEAL_TIMEOUT_S = 40.0         # after the faults, every key must serve again within this
# Error replies that promise the operation had no effect (it never reached a worker): the frontend
# could not hand it to the broker (a non-blocking send that failed), or the broker refused it before
# planning it. A write answered so is dropped like a failed read, not left indeterminate. Any other
# error or a timeout leaves a write indeterminate.
REFUSED = ("ERR cluster unavailable: no broker connection", "ERR cluster not ready",
           "ERR busy: too many operations in flight")


def now_ns() -> int:
    return time.monotonic_ns()


class FaultCluster(Cluster):
    """Workers keep their data in <tmpdir>/data-<id> with --fsync always; extra broker flags."""

    def __init__(self, tmpdir: Path, broker_args: list[str], **kw):
        super().__init__(tmpdir, **kw)
        self.broker_args = broker_args

    def _broker_argv(self) -> list[str]:
        return super()._broker_argv() + self.broker_args

    def _worker_argv(self, wid: str) -> list[str]:
        return super()._worker_argv(wid) + ["--data-dir", str(self.tmpdir / f"data-{wid}"),
                                            "--fsync", "always"]

    def admin(self, *args: str, timeout: float = ADMIN_TIMEOUT_S) -> tuple[int, str]:
        argv = [binary("clossyne-admin"), "--broker", self.client_endpoint, "--timeout-ms", "3000",
                *args]
        try:
            r = subprocess.run(argv, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1, f"clossyne-admin {' '.join(args)}: no answer within {timeout}s"
        text = (r.stdout + r.stderr).decode("utf-8", "replace").strip().replace("\n", " | ")
        return r.returncode, text

    def status(self) -> dict | None:
        argv = [binary("clossyne-admin"), "--broker", self.client_endpoint, "--timeout-ms", "3000",
                "status", "--json"]
        try:
            r = subprocess.run(argv, capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None


def unescape(bound: str | None) -> bytes | None:
    """A status bound as bytes (docs/ADMIN.md: printable ASCII as is, other bytes as \\xNN)."""
    if bound is None:
        return None
    out = bytearray()
    i = 0
    while i < len(bound):
        if bound.startswith("\\x", i) and i + 4 <= len(bound):
            out.append(int(bound[i + 2:i + 4], 16))
            i += 4
        else:
            out += bound[i].encode()
            i += 1
    return bytes(out)


def inside(key: bytes, shard: dict, strictly: bool = False) -> bool:
    lo, hi = unescape(shard["lo"]), unescape(shard["hi"])
    above = (lo is None or lo < key) if strictly else (lo is None or lo <= key)
    return above and (hi is None or key < hi)


# ---- clients -------------------------------------------------------------------------------------

class History:
    def __init__(self):
        self.t0 = now_ns()
        self.ops: list[dict] = []
        self.faults: list[dict] = []
        self.maps: list[dict] = []   # the shard map (clossyne-admin status) after each fault
        self.lock = threading.Lock()

    def t(self, ns: int) -> int:
        return ns - self.t0

    def add_op(self, rec: dict) -> None:
        with self.lock:
            self.ops.append(rec)

    def add_map(self, st: dict | None) -> None:
        if st is not None:
            with self.lock:
                self.maps.append({"time": self.t(now_ns()), "shards": st["shards"],
                                  "workers": st["workers"]})

    def add_fault(self, kind: str, start: int, detail: str, ok: bool) -> None:
        with self.lock:
            self.faults.append({"kind": kind, "detail": detail, "start": self.t(start),
                                "end": self.t(now_ns()), "ok": ok})
        print(f"  [{self.t(start) / 1e9:7.2f}s] {kind}: {detail} ({'ok' if ok else 'FAILED'})",
              flush=True)


class Client(threading.Thread):
    """One connection (reopened after a timeout or a reset), one operation at a time."""

    def __init__(self, cid: int, port: int, hist: History, seed: int, stale_fraction: float,
                 think_ms: float):
        super().__init__(daemon=True, name=f"client-{cid}")
        self.cid = cid
        self.port = port
        self.hist = hist
        self.rng = random.Random(seed)
        self.stale_fraction = stale_fraction
        self.think_ms = think_ms
        self.stop = threading.Event()
        self.conn: RawConn | None = None
        self.seq = 0
        self.stale_injected = 0
        self.anomalies: list[str] = []
        self.crash: BaseException | None = None
        # Per key, what this client definitely observed, in order: (value or None).
        self.seen: dict[str, list[bytes | None]] = {}

    def run(self):
        # After a failed operation on a key the client only reads that key (a failed read is
        # dropped) until a read of it succeeds: an outage then leaves a few indeterminate writes,
        # not hundreds, which keeps the check fast (every indeterminate write may take effect
        # anywhere later, and Porcupine's search grows with how many are open at once).
        probing: set[str] = set()
        try:
            while not self.stop.is_set():
                key = self.rng.choice(KEYS)
                r = self.rng.random()
                op = "get" if r < 0.5 or key in probing else ("set" if r < 0.85 else "del")
                ok = self.do(op, key)
                if ok:
                    probing.discard(key)
                else:
                    probing.add(key)
                if not ok:
                    time.sleep(self.rng.uniform(0.05, 0.15))
                elif self.think_ms:
                    time.sleep(self.rng.uniform(0, self.think_ms) / 1000)
        except BaseException as e:  # reported by main
            self.crash = e
        finally:
            self.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def do(self, op: str, key: str) -> bool:
        """One operation, recorded. Returns whether it completed."""
        rec: dict = {"client": self.cid, "op": op, "key": key}
        args: list = [op.upper(), key]
        if op == "set":
            self.seq += 1
            value = f"c{self.cid}-{self.seq}"
            rec["value"] = value
            args.append(value)
        call = now_ns()
        rec["call"] = self.hist.t(call)
        try:
            if self.conn is None:
                self.conn = RawConn(self.port, timeout=CLIENT_TIMEOUT_S)
            reply = self.conn.command(*args, timeout=CLIENT_TIMEOUT_S)
        except (TimeoutError, OSError, ConnectionError, ValueError) as e:
            self.close()
            rec.update({"return": None, "outcome": "timeout" if isinstance(e, TimeoutError)
                        else "error", "error": repr(e)[:200], "failed_at": self.hist.t(now_ns())})
            self.hist.add_op(rec)
            return False
        ret = now_ns()
        if isinstance(reply, RespError):
            refused = str(reply).startswith(REFUSED)
            rec.update({"return": None, "outcome": "refused" if refused else "error",
                        "error": str(reply)[:200],
                        "failed_at": self.hist.t(ret)})
            self.hist.add_op(rec)
            return False
        seen = self.seen.setdefault(key, [])
        good = True
        if op == "set":
            good = reply == "OK"
            if good:
                seen.append(rec["value"].encode())
        elif op == "get":
            good = reply is None or isinstance(reply, bytes)
            if good:
                if reply is not None:
                    stale = self.stale_for(key)
                    if stale is not None:
                        reply = stale
                        rec["injected_stale"] = True
                        self.stale_injected += 1
                seen.append(reply)
                rec.update({"found": reply is not None,
                            "result": None if reply is None else reply.decode()})
        else:
            good = isinstance(reply, int) and reply in (0, 1)
            if good:
                rec["count"] = reply
                seen.append(None)
        if not good:
            self.anomalies.append(f"{op} {key} -> {reply!r}")
            rec.update({"return": None, "outcome": "error", "error": f"unexpected reply {reply!r}",
                        "failed_at": self.hist.t(ret)})
            self.hist.add_op(rec)
            return False
        rec.update({"return": self.hist.t(ret), "outcome": "ok"})
        self.hist.add_op(rec)
        return True

    def stale_for(self, key: str) -> bytes | None:
        """For a fraction of reads (a test of the checker): a value this client definitely observed
        earlier than its latest observation of the key, and different from it. Reporting it is
        never linearizable, since every value is written once."""
        if self.stale_fraction <= 0 or self.rng.random() >= self.stale_fraction:
            return None
        seen = self.seen.get(key, [])
        if len(seen) < 2:
            return None
        latest = seen[-1]
        older = [v for v in seen[:-1] if v is not None and v != latest]
        return self.rng.choice(older) if older else None


# ---- the nemesis ---------------------------------------------------------------------------------

class Nemesis:
    def __init__(self, c: FaultCluster, hist: History, rng: random.Random):
        self.c = c
        self.hist = hist
        self.rng = rng

    def running_workers(self) -> list[str]:
        return [w for w, p in self.c.workers.items() if p.alive()]

    def kill_worker(self) -> None:
        start = now_ns()
        live = self.running_workers()
        if not live:
            self.hist.add_fault("kill-worker", start, "no running worker", False)
            return
        wid = self.rng.choice(live)
        down = self.rng.choice([self.rng.uniform(0.1, 1.0), self.rng.uniform(1.0, 3.0),
                                self.rng.uniform(4.0, 6.0)])
        self.c.kill_worker(wid)
        time.sleep(down)
        self.c.start_worker(wid)
        self.hist.add_fault("kill-worker", start, f"SIGKILL {wid}, restarted after {down:.1f}s", True)

    def kill_broker(self) -> None:
        start = now_ns()
        down = self.rng.uniform(0.2, 2.0)
        self.c.broker.kill()
        time.sleep(down)
        self.c.start_broker()
        self.hist.add_fault("kill-broker", start, f"SIGKILL broker, restarted after {down:.1f}s",
                            True)

    def kill_broker_late_worker(self) -> None:
        """The broker restarts while one worker is down; that worker registers seconds later
        (restarted while the broker was down, or after it came back)."""
        start = now_ns()
        live = self.running_workers()
        if not live:
            self.hist.add_fault("kill-broker-late-worker", start, "no running worker", False)
            return
        st = self.c.status()
        holders = []
        if st is not None:
            holders = [s["owner"] for s in st["shards"]
                       if any(inside(k.encode(), s) for k in KEYS) and s["owner"] in live]
        wid = self.rng.choice(holders or live)
        self.c.broker.kill()
        self.c.kill_worker(wid)
        early = self.rng.random() < 0.5
        if early:  # the worker restarts while the broker is still down
            time.sleep(self.rng.uniform(0.1, 0.5))
            self.c.start_worker(wid)
        time.sleep(self.rng.uniform(0.2, 1.0))
        self.c.start_broker()
        late = 0.0
        if not early:
            late = self.rng.uniform(0.5, 3.0)
            time.sleep(late)
            self.c.start_worker(wid)
        how = ("restarted while the broker was down" if early
               else f"restarted {late:.1f}s after the broker")
        self.hist.add_fault("kill-broker-late-worker", start,
                            f"SIGKILL broker and {wid}; {wid} {how}", True)

    def pick_move(self, st: dict) -> tuple[dict, str] | None:
        alive = [w["id"] for w in st["workers"] if w["alive"]]
        ours = [s for s in st["shards"] if any(inside(k.encode(), s) for k in KEYS)]
        shards = ours or st["shards"]
        self.rng.shuffle(shards)
        for s in shards:
            holders = {m["worker"] for m in s.get("members", [])} | {s["owner"]}  # replicated: all
            targets = [w for w in alive if w not in holders]
            if targets:
                return s, self.rng.choice(targets)
        return None

    def move(self, kill_during: bool = False) -> None:
        kind = "move-kill" if kill_during else "move"
        start = now_ns()
        st = self.c.status()
        if st is None:
            self.hist.add_fault(kind, start, "status failed (broker not ready?)", False)
            return
        pick = self.pick_move(st)
        if pick is None:
            self.hist.add_fault(kind, start, "no shard with another live worker", False)
            return
        s, target = pick
        what = f"shard {s['id']} [{s['lo']}, {s['hi']}) {s['owner']} -> {target}"
        if not kill_during:
            rc, out = self.c.admin("--wait", str(ADMIN_WAIT_S), "move", str(s["id"]), target)
            self.hist.add_fault(kind, start, f"{what}: {out[-160:]}", rc == 0)
            return
        rc, out = self.c.admin("--no-wait", "move", str(s["id"]), target)
        time.sleep(self.rng.uniform(0.0, 0.3))
        victim = self.rng.choice([s["owner"], target])
        down = self.rng.uniform(0.2, 2.0)
        if victim in self.c.workers and self.c.workers[victim].alive():
            self.c.kill_worker(victim)
            time.sleep(down)
            self.c.start_worker(victim)
        self.hist.add_fault(kind, start, f"{what}, SIGKILL {victim} during it, restarted after "
                            f"{down:.1f}s: {out[-120:]}", rc == 0)

    def split(self) -> None:
        start = now_ns()
        st = self.c.status()
        if st is None:
            self.hist.add_fault("split", start, "status failed (broker not ready?)", False)
            return
        cands = []
        for s in st["shards"]:
            for k in KEYS:
                for at in (k.encode(), k.encode() + b"m"):
                    if inside(at, s, strictly=True):
                        cands.append((s, at))
        if not cands:
            self.hist.add_fault("split", start, "no split key inside a shard", False)
            return
        s, at = self.rng.choice(cands)
        rc, out = self.c.admin("--wait", str(ADMIN_WAIT_S), "split", str(s["id"]), at.decode())
        self.hist.add_fault("split", start, f"shard {s['id']} [{s['lo']}, {s['hi']}) on "
                            f"{s['owner']} at {at.decode()}: {out[-160:]}", rc == 0)

    def merge(self, kill_during: bool = False) -> None:
        """clossyne-admin merge of two adjacent shards (one moves first when their owners differ);
        merge-kill SIGKILLs one of their owners a moment after it starts."""
        kind = "merge-kill" if kill_during else "merge"
        start = now_ns()
        st = self.c.status()
        if st is None or len(st["shards"]) < 2:
            self.hist.add_fault(kind, start, "status failed or a single shard", False)
            return
        shards = sorted(st["shards"], key=lambda s: (s["lo"] is not None, s["lo"] or ""))
        i = self.rng.randrange(len(shards) - 1)
        a, b = shards[i], shards[i + 1]
        what = f"shards {a['id']} ({a['owner']}) and {b['id']} ({b['owner']})"
        if not kill_during:
            rc, out = self.c.admin("--wait", str(ADMIN_WAIT_S), "merge", str(a["id"]), str(b["id"]))
            self.hist.add_fault(kind, start, f"{what}: {out[-160:]}", rc == 0)
            return
        rc, out = self.c.admin("--no-wait", "merge", str(a["id"]), str(b["id"]))
        time.sleep(self.rng.uniform(0.0, 0.05))
        victim = self.rng.choice([a["owner"], b["owner"]])
        down = self.rng.uniform(0.2, 2.0)
        if victim in self.c.workers and self.c.workers[victim].alive():
            self.c.kill_worker(victim)
            time.sleep(down)
            self.c.start_worker(victim)
        self.hist.add_fault(kind, start, f"{what}, SIGKILL {victim} during it, restarted after "
                            f"{down:.1f}s: {out[-120:]}", rc == 0)

    def join(self, wid: str) -> None:
        start = now_ns()
        self.c.start_worker(wid)
        self.hist.add_fault("join", start, f"worker {wid} joins", True)

    def run(self, kinds: list[str], duration: float, join_worker: str | None) -> None:
        deadline = time.monotonic() + duration
        join_at = time.monotonic() + duration * 0.15
        plan: list[str] = []
        while True:
            pause = self.rng.uniform(0.5, 2.0)
            if time.monotonic() + pause >= deadline:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return
            time.sleep(pause)
            if join_worker and time.monotonic() >= join_at:
                self.join(join_worker)
                join_worker = None
                continue
            if not kinds:
                continue
            if not plan:
                # Each kind once a round, in a random order; a broker restart with a worker
                # registering late (the riskiest moment for the map) twice.
                plan = list(kinds) + [k for k in kinds if k == "kill-broker-late-worker"]
                self.rng.shuffle(plan)
            kind = plan.pop()
            if kind == "kill-broker-late-worker" and len(self.c.workers) < 4:
                kind = "kill-broker"  # a late worker matters once there are more than --min-workers
            if kind == "kill-worker":
                self.kill_worker()
            elif kind == "kill-broker":
                self.kill_broker()
            elif kind == "kill-broker-late-worker":
                self.kill_broker_late_worker()
            elif kind == "move":
                self.move()
            elif kind == "move-kill":
                self.move(kill_during=True)
            elif kind == "split":
                self.split()
            elif kind == "merge":
                self.merge()
            elif kind == "merge-kill":
                self.merge(kill_during=True)
            self.hist.add_map(self.c.status())

    def heal(self) -> None:
        """Every process running again."""
        start = now_ns()
        restarted = []
        if not self.c.broker.alive():
            self.c.start_broker()
            restarted.append("broker")
        for wid, p in list(self.c.workers.items()):
            if not p.alive():
                self.c.start_worker(wid)
                restarted.append(wid)
        self.hist.add_fault("heal", start, "restarted " + (", ".join(restarted) or "nothing"), True)


# ---- the checker ---------------------------------------------------------------------------------

def find_go() -> str:
    cands = [os.environ.get("CLOSSYNE_GO", ""), shutil.which("go") or "", "/usr/local/go/bin/go"]
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    raise SystemExit("linearizability: the Go toolchain is missing (looked at $CLOSSYNE_GO, PATH "
                     "and /usr/local/go/bin/go); install Go >= 1.21 to build the checker")


def go_env() -> dict:
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")   # never download another toolchain
    if not env.get("HOME"):                   # go needs somewhere for its caches
        env.setdefault("GOCACHE", "/tmp/clossyne-go-cache")
        env.setdefault("GOPATH", "/tmp/clossyne-gopath")
    return env


def go_test() -> int:
    """The checker's own unit tests (go test in tests/linearizability)."""
    r = subprocess.run([find_go(), "test", "-count=1", "-v", "."], cwd=CHECKER_SRC, env=go_env(),
                       timeout=300)
    return r.returncode


def build_checker(out: Path) -> Path:
    go = find_go()
    env = go_env()
    t = time.monotonic()
    r = subprocess.run([go, "build", "-o", str(out), "."], cwd=CHECKER_SRC, env=env,
                       capture_output=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"linearizability: building the checker failed ({go} build in "
                         f"{CHECKER_SRC}):\n{r.stdout.decode()}{r.stderr.decode()}")
    print(f"checker built with {go} in {time.monotonic() - t:.1f}s: {out}", flush=True)
    return out


# ---- the run -------------------------------------------------------------------------------------

def final_round(port: int, hist: History, cid: int) -> list[str]:
    """After the faults: every key must answer a GET, then a SET and a GET, within HEAL_TIMEOUT_S
    (each attempt recorded). Returns the keys that did not."""
    probe = Client(cid, port, hist, seed=cid, stale_fraction=0.0, think_ms=0)
    deadline = time.monotonic() + HEAL_TIMEOUT_S
    stuck = []
    for key in KEYS:
        for op in ("get", "set", "get"):
            while not probe.do(op, key):
                if time.monotonic() > deadline:
                    stuck.append(f"{key} ({op})")
                    break
                time.sleep(0.2)
            else:
                continue
            break
    probe.close()
    return stuck


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float,
                    default=float(os.environ.get("CLOSSYNE_LIN_DURATION", "45")),
                    help="seconds of faults and load (env CLOSSYNE_LIN_DURATION; default 45)")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CLOSSYNE_LIN_SEED", "0")),
                    help="random seed (env CLOSSYNE_LIN_SEED; default: random)")
    ap.add_argument("--faults", default=",".join(FAULT_KINDS + ["join"]),
                    help="comma-separated: " + ",".join(FAULT_KINDS) + ",join; or 'none'")
    ap.add_argument("--think-ms", type=float, default=2.0, help="a client's pause between ops")
    ap.add_argument("--inject-stale-reads", type=float, default=0.0, metavar="FRACTION",
                    help="report an older observed value for this fraction of reads (a test of the "
                         "checker)")
    ap.add_argument("--expect-violation", action="store_true",
                    help="succeed only if the checker reports a violation (with injected stale reads)")
    ap.add_argument("--check-timeout", type=float, default=0.0,
                    help="seconds for the checker (default: 120, or the duration if longer)")
    ap.add_argument("--replicas", type=int, default=1,
                    help="broker --replicas (with 2 or more, the broker also gets --liveness-ms "
                         f"{REPLICATED_LIVENESS_MS}: a dead member is replaced sooner)")
    ap.add_argument("--workdir", help="keep everything here (default: a new directory in /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory on success too")
    ap.add_argument("--go-test", action="store_true",
                    help="only run the checker's unit tests (go test) and exit with their status")
    args = ap.parse_args()
    if args.go_test:
        return go_test()

    seed = args.seed or random.SystemRandom().randrange(1, 1 << 31)
    if args.check_timeout <= 0:
        args.check_timeout = max(120.0, args.duration)
    faults = [] if args.faults == "none" else [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(FAULT_KINDS + ["join"])
    if unknown:
        ap.error(f"unknown faults: {sorted(unknown)}")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="clossyne-lin-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"linearizability: seed {seed}, {args.duration:.0f}s, {args.clients} clients, "
          f"replicas {args.replicas}, "
          f"keys {','.join(KEYS)}, faults {','.join(faults) or 'none'}, work dir {workdir}",
          flush=True)

    checker = build_checker(workdir / "lincheck")
    rng = random.Random(seed)
    join = "w4" if "join" in faults else None
    broker_args = ["--op-timeout-ms", str(BROKER_OP_TIMEOUT_MS)]
    if args.replicas > 1:
        broker_args += ["--replicas", str(args.replicas),
                        "--liveness-ms", str(REPLICATED_LIVENESS_MS)]
    c = FaultCluster(workdir, broker_args=broker_args,
                     workers=3, min_workers=3, split_points=SPLIT_POINTS,
                     request_timeout_ms=REQUEST_TIMEOUT_MS)
    stuck: list[str] = []
    clients: list[Client] = []
    failed = True
    try:
        c.start()
        hist = History()
        clients = [Client(i, c.port, hist, seed * 1000 + i, args.inject_stale_reads, args.think_ms)
                   for i in range(args.clients)]
        for cl in clients:
            cl.start()
        nem = Nemesis(c, hist, rng)
        nem.run([f for f in faults if f != "join"], args.duration, join)
        nem.heal()
        # The clients go on for a few seconds with every process up, then stop.
        time.sleep(3.0)
        for cl in clients:
            cl.stop.set()
        for cl in clients:
            cl.join(CLIENT_TIMEOUT_S + 5)
        hung = [cl.name for cl in clients if cl.is_alive()]
        crashed = [f"{cl.name}: {cl.crash!r}" for cl in clients if cl.crash]
        if hung or crashed:
            print(f"linearizability: clients hung {hung} or crashed {crashed}")
            return 2
        stuck = final_round(c.port, hist, args.clients)
        hist_path = workdir / "history.json"
        meta = {"seed": seed, "duration_s": args.duration, "clients": args.clients, "keys": KEYS,
                "inject_stale_reads": args.inject_stale_reads,
                "stale_reads_injected": sum(cl.stale_injected for cl in clients)}
        with hist.lock:
            ops = sorted(hist.ops, key=lambda r: r["call"])
            hist_path.write_text(json.dumps({"meta": meta, "faults": hist.faults, "ops": ops,
                                             "maps": hist.maps}))
        anomalies = [a for cl in clients for a in cl.anomalies]
        if anomalies:
            print(f"linearizability: {len(anomalies)} unexpected replies, e.g. {anomalies[:5]}")
        print(f"history: {len(ops)} operations -> {hist_path}", flush=True)
    finally:
        c.stop()
        for cl in clients:
            cl.stop.set()

    html = workdir / "lincheck.html"
    try:
        r = subprocess.run([str(checker), "--html", str(html), "--timeout", f"{args.check_timeout}s",
                            str(hist_path)], timeout=args.check_timeout + 60)
        rc = r.returncode
    except subprocess.TimeoutExpired:
        print("linearizability: the checker did not exit in time")
        rc = 3
    if args.expect_violation:
        injected = meta["stale_reads_injected"]
        if injected == 0:
            print("FAIL: no stale read was injected (run longer or raise --inject-stale-reads)")
        elif rc == 1:
            print(f"PASS: the checker caught the {injected} injected stale reads")
            failed = False
        else:
            print(f"FAIL: {injected} stale reads were injected but the checker exited {rc}, not 1")
    else:
        if stuck:
            print(f"FAIL: after the faults, these keys did not serve within {HEAL_TIMEOUT_S:.0f}s: "
                  f"{', '.join(stuck)}")
        if rc == 1:
            print("FAIL: the history is not linearizable (see the VIOLATION above)")
        elif rc == 3:
            print("FAIL: inconclusive: the checker did not finish in time (too many indeterminate "
                  "writes open at once?); the history is kept")
        elif rc != 0:
            print(f"FAIL: the checker exited {rc}")
        failed = rc != 0 or bool(stuck)
        if not failed:
            print("PASS: linearizable, and every key served again after the faults")
    if failed or args.keep:
        print(f"kept: {workdir} (history.json, lincheck.html, broker.log, worker-*.log, "
              f"frontend.log; seed {seed})")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
