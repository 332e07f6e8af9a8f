"""Restart-order safety with real processes (issue 13, item 1).

A restarted broker rebuilds its shard map from what the workers report, whenever and in whatever order
they register; it must never make a worker drop data, and a range whose owner has not registered is
unavailable (an error at once), never refilled with an empty shard. Here:

- a cluster of four persistent workers (the fourth joined later and received shards by moves) under a
  broker with --min-workers 3: the broker is SIGKILLed and restarted, the workers come back in several
  registration orders (the fourth first, last, in the middle, all at once), one arrives seconds late
  (its keys answer `-ERR shard unavailable` at once meanwhile), and one is restarted while the broker
  is down. Every acknowledged key must read back, the map must come back as it was, and no worker may
  log the drop of a shard it did not hand off;
- a worker that lost its disk: its ranges stay unavailable (other keys readable) until an operator runs
  `clossyne-admin recreate ... --i-know-data-is-lost`, which makes them writable again, empty;
- a brand-new cluster gets fresh shards and every worker persists the cluster id; a worker from another
  cluster is refused and keeps its data.

Every wait is bounded; a broken binary fails a test instead of hanging it.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cluster import Cluster, RawConn, RespError, binary, resp_command

WAIT_S = 20.0
LETTERS = "abcdefghijklmnop"
SPLIT_POINTS = "c,e,g,i,k,m,o"  # 8 shards, two letters each: keys spread evenly


class PersistentCluster(Cluster):
    """Workers keep their shards in <tmpdir>/data-<id>; the broker can be SIGKILLed and restarted
    with the same arguments; clossyne-admin runs against the broker."""

    def __init__(self, tmpdir: Path, data_root: Path | None = None, auto_balance: bool = False,
                 **kw):
        super().__init__(tmpdir, **kw)
        self.data_root = Path(data_root or tmpdir)
        self.auto_balance = auto_balance

    def data_dir(self, wid: str) -> Path:
        return self.data_root / f"data-{wid}"

    def _broker_argv(self) -> list[str]:
        argv = super()._broker_argv()
        return argv if self.auto_balance else argv + ["--no-auto-balance"]

    def _worker_argv(self, wid: str) -> list[str]:
        return super()._worker_argv(wid) + ["--data-dir", str(self.data_dir(wid)),
                                            "--fsync", "always"]

    def kill_broker(self) -> None:
        self.broker.kill()

    def broker_log_since_start(self) -> str:
        text = (self.tmpdir / "broker.log").read_text(errors="replace")
        return text[text.rfind("=== start"):]

    def worker_log(self, wid: str) -> str:
        return (self.tmpdir / f"worker-{wid}.log").read_text(errors="replace")

    def admin(self, *args, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess:
        argv = [binary("clossyne-admin"), "--broker", self.client_endpoint, "--timeout-ms", "3000",
                *args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, f"{argv} -> {p.returncode}\n{p.stdout}{p.stderr}\n{self.logs()}"
        return p

    def status(self) -> dict:
        return json.loads(self.admin("status", "--json").stdout)


@pytest.fixture
def make(tmp_path_factory):
    made = []

    def start(name: str, workers: int, start_workers: bool = True, **kw) -> PersistentCluster:
        c = PersistentCluster(tmp_path_factory.mktemp(name), workers=workers, **kw)
        made.append(c)
        c.start_broker()
        if start_workers:
            for i in range(1, workers + 1):
                c.start_worker(f"w{i}")
        c.start_frontend_proc()
        return c

    yield start
    for c in made:
        c.stop()


# ---- helpers ----------------------------------------------------------------------------------------


def key_for(i: int) -> bytes:
    return b"%s%06d" % (LETTERS[i % len(LETTERS)].encode(), i)


def wait_until(pred, timeout: float, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(what() if callable(what) else what)


def write(c: Cluster, items: dict[bytes, bytes], acked: dict[bytes, bytes]) -> list:
    """Pipelined SETs; every key answered OK goes into `acked`. Returns the error replies."""
    errors = []
    pairs = list(items.items())
    with RawConn(c.port, timeout=15.0) as conn:
        for i in range(0, len(pairs), 200):
            chunk = pairs[i:i + 200]
            conn.send(b"".join(resp_command("SET", k, v) for k, v in chunk))
            for (k, v), rep in zip(chunk, conn.replies(len(chunk), timeout=15.0)):
                if rep == "OK":
                    acked[k] = v
                else:
                    errors.append((k, rep))
    return errors


def get_all(c: Cluster, keys: list[bytes]) -> list:
    out = []
    with RawConn(c.port, timeout=15.0) as conn:
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            conn.send(b"".join(resp_command("GET", k) for k in chunk))
            out += conn.replies(len(chunk), timeout=15.0)
    return out


def read_back(c: PersistentCluster, acked: dict[bytes, bytes], timeout: float = WAIT_S) -> None:
    """Every acknowledged key reads back with its value. Error replies (the frontend reconnecting to
    the new broker) are retried until `timeout`; a wrong value fails at once."""
    keys = list(acked)
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = get_all(c, keys)
        except (OSError, TimeoutError, ConnectionError) as e:
            got = [RespError(repr(e).encode())] * len(keys)
        wrong = [(k, acked[k], g) for k, g in zip(keys, got)
                 if not isinstance(g, RespError) and g != acked[k]]
        assert not wrong, (f"{len(wrong)} of {len(keys)} acknowledged keys read back wrong "
                           f"(e.g. {wrong[:3]})\n{c.logs()}")
        errs = [(k, g) for k, g in zip(keys, got) if isinstance(g, RespError)]
        if not errs:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(errs)} of {len(keys)} acknowledged keys still fail after "
                                 f"{timeout}s (e.g. {errs[:3]})\n{c.logs()}")
        time.sleep(0.2)


def wait_serving(c: Cluster, key: bytes, timeout: float = WAIT_S):
    """Until GET key answers without an error; returns the reply."""
    last = []

    def ok():
        try:
            with RawConn(c.port, timeout=3.0) as conn:
                last[:] = [conn.command("GET", key)]
            return not isinstance(last[0], RespError)
        except (OSError, TimeoutError, ConnectionError, ValueError) as e:
            last[:] = [repr(e)]
            return False

    wait_until(ok, timeout, lambda: f"GET {key!r} not served within {timeout}s (last {last})\n"
                                    f"{c.logs()}")
    return last[0]


def shard_map(status: dict) -> list[tuple]:
    return [(s["id"], s["lo"], s["hi"], s["epoch"], s["owner"]) for s in status["shards"]]


def owner_of(status: dict, key: bytes) -> dict:
    """The status entry of the shard whose range holds key (bounds are printable ASCII here)."""
    k = key.decode()
    for s in status["shards"]:
        if (s["lo"] is None or s["lo"] <= k) and (s["hi"] is None or k < s["hi"]):
            return s
    raise AssertionError(f"no shard holds {key!r}: {status}")


def wait_registered(c: PersistentCluster, wid: str, timeout: float = WAIT_S) -> None:
    """Until the current broker's log says `wid` registered (accepted or refused)."""
    pat = re.compile(rf"worker '{re.escape(wid)}' (registered|belongs to cluster)")
    wait_until(lambda: pat.search(c.broker_log_since_start()), timeout,
               lambda: f"{wid} did not register within {timeout}s\n{c.logs()}")


def bad_drops(log: str) -> list[str]:
    """The lines of a worker log where it dropped a shard it had not handed off."""
    return [line for line in log.splitlines() if "dropped" in line and "handed off to" not in line
            and "send queue" not in line]


def assert_no_bad_drops(c: PersistentCluster, wids) -> None:
    for wid in wids:
        bad = bad_drops(c.worker_log(wid))
        assert not bad, f"worker {wid} dropped shards it did not hand off:\n" + "\n".join(bad)


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


# ---- four workers, the fourth joined later: broker restarts in many registration orders -------------

WORKERS = ["w1", "w2", "w3", "w4"]


class Restarts:
    """One cluster for the registration-order tests of this module: state carried between them."""

    def __init__(self, c: PersistentCluster):
        self.c = c
        self.acked: dict[bytes, bytes] = {}
        self.next_key = 0
        self.round = 0

    def write_more(self, n: int) -> None:
        """n new keys, plus overwrites of a few old ones; all must be acknowledged."""
        self.round += 1
        items = {key_for(i): b"r%d-%d-" % (self.round, i) + b"x" * 30
                 for i in range(self.next_key, self.next_key + n)}
        for i in range(0, self.next_key, 97):
            items[key_for(i)] = b"r%d-over-%d" % (self.round, i)
        self.next_key += n
        errors = write(self.c, items, self.acked)
        assert not errors, f"{len(errors)} writes refused, e.g. {errors[:3]}\n{self.c.logs()}"

    def stable_status(self) -> dict:
        """The status once every worker is alive and no range is unavailable."""
        last = {}

        def ready():
            last["s"] = self.c.status()
            s = last["s"]
            return (all(w["alive"] for w in s["workers"] if w["id"] in WORKERS)
                    and len([w for w in s["workers"] if w["alive"]]) == 4
                    and all(sh["owner"] for sh in s["shards"]))
        wait_until(ready, WAIT_S, lambda: f"cluster not whole: {last.get('s')}\n{self.c.logs()}")
        return last["s"]


@pytest.fixture(scope="module")
def restarts(tmp_path_factory):
    c = PersistentCluster(tmp_path_factory.mktemp("restart-order"), workers=4, min_workers=3,
                          split_points=SPLIT_POINTS)
    try:
        c.start_broker()
        for wid in WORKERS[:3]:
            c.start_worker(wid)
        c.start_frontend_proc()
        c.wait_ready()
        r = Restarts(c)
        r.write_more(1000)
        # The fourth worker joins later; shards move onto it (one from each of two workers), so the
        # old owners keep handoff tombstones and w4 holds shards it imported.
        c.start_worker("w4")
        wait_until(lambda: any(w["id"] == "w4" and w["alive"] for w in c.status()["workers"]),
                   WAIT_S, lambda: f"w4 never alive\n{c.logs()}")
        st = c.status()
        assert len(st["shards"]) == 8 and all(s["owner"] in WORKERS[:3] for s in st["shards"]), st
        for donor in ("w1", "w2"):
            sid = next(s["id"] for s in st["shards"] if s["owner"] == donor)
            c.admin("--wait", "20", "move", str(sid), "w4")
        st = c.status()
        assert sorted(s["owner"] for s in st["shards"]) == sorted(WORKERS * 2), st
        for wid in ("w1", "w2"):
            assert "handed off to w4" in c.worker_log(wid), c.worker_log(wid)[-3000:]
        r.write_more(1000)  # w4's new shards take writes too
        read_back(c, r.acked)
        w4_keys = [k for k in r.acked if owner_of(st, k)["owner"] == "w4"]
        assert len(w4_keys) >= 400, len(w4_keys)
        yield r
    finally:
        c.stop()


def restart_broker_then(r: Restarts, order: list[str], pause_s: float) -> dict:
    """SIGKILL the broker and every worker, start the broker with the same arguments, then the
    workers one by one in `order` (each after the previous one registered, plus pause_s). Returns
    the status from before the kill."""
    c = r.c
    before = r.stable_status()
    c.kill_broker()
    for wid in WORKERS:
        c.kill_worker(wid)
    c.start_broker()
    time.sleep(0.2)
    for wid in order:
        c.start_worker(wid)
        wait_registered(c, wid)
        if pause_s:
            time.sleep(pause_s)
    return before


def check_whole_again(r: Restarts, before: dict) -> None:
    c = r.c
    read_back(c, r.acked)
    after = r.stable_status()
    assert shard_map(after) == shard_map(before), (
        f"the map changed over the restart:\nbefore {shard_map(before)}\nafter  {shard_map(after)}"
        f"\n{c.logs()}")
    assert_no_bad_drops(c, WORKERS)
    log = c.broker_log_since_start()
    assert "fresh shard" not in log, log[-4000:]
    assert "adopting existing cluster" in log, log[-4000:]
    # Nothing was superseded: the broker told nobody to delete a copy.
    assert "will delete its copy" not in log, log[-4000:]
    r.write_more(150)  # and it takes writes again
    read_back(c, r.acked)


ORDERS = [
    (["w4", "w1", "w2", "w3"], 0.0),   # the joiner first
    (["w1", "w2", "w3", "w4"], 0.04),  # the joiner last, 40 ms after the others (the seen bug)
    (["w3", "w4", "w2", "w1"], 0.3),
    (["w2", "w1", "w4", "w3"], 0.0),
    (["w1", "w4", "w3", "w2"], 0.1),
]


@pytest.mark.parametrize("order,pause_s", ORDERS, ids=["-".join(o) for o, _ in ORDERS])
def test_broker_restart_registration_order_keeps_every_acknowledged_key(restarts, order, pause_s):
    before = restart_broker_then(restarts, order, pause_s)
    check_whole_again(restarts, before)


def test_shard_moved_back_to_its_first_owner_then_broker_restarts(restarts):
    """w1 handed shard S to w4 (w1 keeps a tombstone for S); S moves back to w1 (w4 now keeps one
    too, at a higher epoch). Whichever registers first, w1's copy is the home and nobody drops it."""
    r = restarts
    c = r.c
    st = r.stable_status()
    handed = {int(m) for m in re.findall(r"shard (\d+) \(\d+ keys\) handed off to w4",
                                         c.worker_log("w1"))}
    sid = next(s["id"] for s in st["shards"] if s["owner"] == "w4" and s["id"] in handed)
    c.admin("--wait", "20", "move", str(sid), "w1")
    assert any(s["id"] == sid and s["owner"] == "w1" for s in c.status()["shards"])
    r.write_more(150)
    for order in (["w1", "w4", "w2", "w3"], ["w4", "w2", "w3", "w1"]):
        before = restart_broker_then(r, order, 0.05)
        check_whole_again(r, before)
        assert any(s["id"] == sid and s["owner"] == "w1" for s in before["shards"])


def test_all_workers_registering_at_once(restarts):
    c = restarts.c
    before = restarts.stable_status()
    c.kill_broker()
    for wid in WORKERS:
        c.kill_worker(wid)
    c.start_broker()
    for wid in WORKERS:
        c.start_worker(wid)
    for wid in WORKERS:
        wait_registered(c, wid)
    check_whole_again(restarts, before)


@pytest.mark.parametrize("late", ["w4", "w2"])
def test_worker_arriving_seconds_late_its_keys_fail_at_once_meanwhile(restarts, late):
    r = restarts
    c = r.c
    before = r.stable_status()
    late_keys = [k for k in r.acked if owner_of(before, k)["owner"] == late]
    other_keys = [k for k in r.acked if owner_of(before, k)["owner"] != late]
    assert late_keys and other_keys
    restart_broker_then(r, [w for w in WORKERS if w != late], 0.0)
    late_since = time.monotonic()
    wait_serving(c, other_keys[0])
    # The others serve everything they hold; the late worker's keys fail at once (no hang, no
    # empty answer) -- reads and writes.
    got = get_all(c, other_keys)
    wrong = [(k, g) for k, g in zip(other_keys, got) if g != r.acked[k]]
    assert not wrong, f"{len(wrong)} keys of the present workers wrong, e.g. {wrong[:3]}\n{c.logs()}"
    with RawConn(c.port, timeout=5.0) as conn:
        for k in late_keys[:: max(1, len(late_keys) // 20)]:
            for cmd in (("GET", k), ("SET", k, b"must-not-be-stored")):
                t0 = time.monotonic()
                rep = conn.command(*cmd, timeout=5.0)
                took = time.monotonic() - t0
                assert isinstance(rep, RespError) and b"shard unavailable" in rep.line, (
                    f"{cmd[0]} {k!r} while {late} is away -> {rep!r}\n{c.logs()}")
                assert took < 1.0, f"{cmd[0]} {k!r} took {took:.2f}s to fail"
    # Still unavailable a couple of seconds later: never refilled with an empty shard.
    time.sleep(max(0.0, 2.5 - (time.monotonic() - late_since)))
    got = get_all(c, late_keys)
    assert all(isinstance(g, RespError) and b"shard unavailable" in g.line for g in got), (
        [g for g in got if not isinstance(g, RespError)][:3])
    st = c.status()
    assert any(not s["owner"] for s in st["shards"]), st
    c.start_worker(late)
    wait_registered(c, late)
    check_whole_again(r, before)


@pytest.mark.parametrize("restarted", [["w2"], ["w4", "w1"]])
def test_worker_restarted_while_the_broker_is_down(restarts, restarted):
    """The other workers stay up (they reconnect by themselves); `restarted` are SIGKILLed and
    started again while no broker runs."""
    r = restarts
    c = r.c
    before = r.stable_status()
    c.kill_broker()
    for wid in restarted:
        c.restart_worker(wid)
    time.sleep(1.0)  # they start, recover, and knock at an empty endpoint
    c.start_broker()
    for wid in WORKERS:
        wait_registered(c, wid, timeout=WAIT_S)
    check_whole_again(r, before)
    for wid in restarted:
        assert "recovered" in c.worker_log(wid), c.worker_log(wid)[-2000:]


def stable_map(c: PersistentCluster, quiet_s: float = 1.5, timeout: float = WAIT_S) -> dict:
    """The status once the shard map (ids, bounds, epochs, owners) has not changed for quiet_s."""
    deadline = time.monotonic() + timeout
    last = c.status()
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = c.status()
        if shard_map(now) != shard_map(last):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    raise TimeoutError(f"the map kept changing for {timeout}s: {shard_map(last)}\n{c.logs()}")


def test_balancer_moved_shards_onto_the_joiner_which_registers_late(make):
    """The seen bug with the balancer doing the moves: --min-workers 3, the fourth worker joins and
    the balancer moves shards onto it; after a broker restart it registers seconds after the
    others. Its ranges wait for it (no moves meanwhile), then everything is back."""
    c = make("balanced", workers=4, start_workers=False, min_workers=3, split_points=SPLIT_POINTS,
             auto_balance=True)
    for wid in WORKERS[:3]:
        c.start_worker(wid)
    c.wait_ready()
    acked: dict[bytes, bytes] = {}
    assert not write(c, {key_for(i): b"b%d" % i for i in range(1500)}, acked)
    c.start_worker("w4")
    wait_until(lambda: sum(s["owner"] == "w4" for s in c.status()["shards"]) >= 2, 30,
               lambda: f"the balancer moved nothing onto w4: {c.status()}\n{c.logs()}")
    assert_no_bad_drops(c, WORKERS)
    assert not write(c, {key_for(i): b"b%d" % i for i in range(1500, 2000)}, acked)
    read_back(c, acked, timeout=5.0)
    before = stable_map(c)
    w4_keys = [k for k in acked if owner_of(before, k)["owner"] == "w4"]
    assert w4_keys

    c.kill_broker()
    for wid in WORKERS:
        c.kill_worker(wid)
    c.start_broker()
    for wid in WORKERS[:3]:
        c.start_worker(wid)
        wait_registered(c, wid)
        time.sleep(0.04)
    wait_serving(c, next(k for k in acked if owner_of(before, k)["owner"] != "w4"))
    t0 = time.monotonic()
    with RawConn(c.port, timeout=5.0) as conn:
        rep = conn.command("GET", w4_keys[0])
    assert isinstance(rep, RespError) and b"shard unavailable" in rep.line, rep
    assert time.monotonic() - t0 < 1.0
    time.sleep(2.0)
    # Meanwhile w4's ranges have no owner and nothing moved: what is served is what was.
    meanwhile = c.status()
    assert any(not s["owner"] for s in meanwhile["shards"]), meanwhile
    served = {t for t in shard_map(meanwhile) if t[4]}
    assert served == {t for t in shard_map(before) if t[4] != "w4"}, (served, shard_map(before))
    c.start_worker("w4")
    wait_registered(c, "w4")
    read_back(c, acked)
    assert_no_bad_drops(c, WORKERS)
    log = c.broker_log_since_start()
    assert "fresh shard" not in log and "will delete its copy" not in log, log[-4000:]
    after = stable_map(c)
    assert all(s["owner"] for s in after["shards"]), after
    read_back(c, acked, timeout=5.0)


# ---- a worker that lost its disk ---------------------------------------------------------------------


def test_lost_disk_stays_unavailable_until_recreate(make):
    c = make("lost-disk", workers=3, min_workers=3, split_points=SPLIT_POINTS)
    c.wait_ready()
    acked: dict[bytes, bytes] = {}
    assert not write(c, {key_for(i): b"v%d" % i for i in range(800)}, acked)
    st = c.status()
    lost = [s for s in st["shards"] if s["owner"] == "w2"]
    assert len(lost) >= 2, st
    lost_keys = [k for k in acked if owner_of(st, k)["owner"] == "w2"]
    kept = {k: v for k, v in acked.items() if owner_of(st, k)["owner"] != "w2"}

    def assert_unavailable(keys, what):
        with RawConn(c.port, timeout=5.0) as conn:
            for k in keys:
                for cmd in (("GET", k), ("SET", k, b"refill?")):
                    t0 = time.monotonic()
                    rep = conn.command(*cmd, timeout=5.0)
                    assert isinstance(rep, RespError) and b"shard unavailable" in rep.line, (
                        f"{what}: {cmd[0]} {k!r} -> {rep!r}\n{c.logs()}")
                    assert time.monotonic() - t0 < 1.0

    # 1. The broker is up; w2 loses its disk and comes back empty: its shards (known by id) become
    #    unavailable, never empty.
    c.kill_worker("w2")
    shutil.rmtree(c.data_dir("w2"))
    c.start_worker("w2")
    wait_until(lambda: len(re.findall(r"worker 'w2' registered", c.broker_log_since_start())) >= 2,
               WAIT_S, lambda: f"w2 did not register again\n{c.logs()}")
    first, second = lost[0], lost[1]
    in_first = [k for k in lost_keys if owner_of(st, k)["id"] == first["id"]]
    in_second = [k for k in lost_keys if owner_of(st, k)["id"] == second["id"]]
    wait_until(lambda: isinstance(get_all(c, in_first[:1])[0], RespError), WAIT_S,
               lambda: f"w2's shard still served after its disk was lost\n{c.logs()}")
    time.sleep(1.0)
    assert_unavailable(in_first[:5] + in_second[:5], "after the disk loss")
    read_back(c, kept, timeout=5.0)
    st1 = c.status()
    assert {s["id"] for s in st1["shards"] if not s["owner"]} >= {first["id"], second["id"]}, st1

    # The CLI refuses without the flag and says what would be lost; the broker is not asked.
    p = c.admin("recreate", "--shard", str(first["id"]), check=False)
    assert p.returncode != 0 and "lost" in p.stderr and "--i-know-data-is-lost" in p.stderr, p
    p = c.admin("recreate", "--i-know-data-is-lost", check=False)
    assert p.returncode != 0 and "--shard" in p.stderr, p
    assert_unavailable(in_first[:3], "after a refused recreate")
    # A range a live worker serves is not recreated.
    p = c.admin("recreate", "--key", next(iter(kept)).decode(), "--i-know-data-is-lost",
                check=False)
    assert p.returncode != 0 and "nothing to recreate" in p.stderr, p
    read_back(c, kept, timeout=5.0)

    p = c.admin("recreate", "--shard", str(first["id"]), "--i-know-data-is-lost")
    assert "recreated" in p.stdout and "lost" in p.stdout, p
    got = wait_serving(c, in_first[0])
    assert got is None, f"the recreated range is not empty: {got!r}"
    assert all(g is None for g in get_all(c, in_first)), "the recreated range holds old keys"
    fresh = {k: b"new-" + k for k in in_first[:50]}
    assert not write(c, fresh, acked)
    read_back(c, fresh, timeout=5.0)
    assert_unavailable(in_second[:5], "the other lost shard, before its recreate")
    read_back(c, kept, timeout=5.0)

    # 2. The broker restarts: the second lost range is now a gap nobody reports (no id): still
    #    unavailable, and recreated by key.
    c.kill_broker()
    c.start_broker()
    for wid in ("w1", "w2", "w3"):
        wait_registered(c, wid)
    wait_serving(c, next(iter(kept)))
    read_back(c, kept)
    read_back(c, fresh)
    time.sleep(1.0)
    assert_unavailable(in_second[:5], "after a broker restart")
    p = c.admin("recreate", "--key", in_second[0].decode(), check=False)
    assert p.returncode != 0 and "--i-know-data-is-lost" in p.stderr, p
    for shard in lost[1:]:  # every range w2 lost, each named by one of its keys
        in_shard = [k for k in lost_keys if owner_of(st, k)["id"] == shard["id"]]
        assert_unavailable(in_shard[:3], f"shard {shard['id']} before its recreate")
        p = c.admin("recreate", "--key", in_shard[0].decode(), "--i-know-data-is-lost")
        assert "recreated" in p.stdout, p
        wait_serving(c, in_shard[0])
        assert all(g is None for g in get_all(c, in_shard)), "the recreated range holds old keys"
        again = {k: b"again" for k in in_shard[:20]}
        assert not write(c, again, acked)
        read_back(c, again, timeout=5.0)
    read_back(c, kept, timeout=5.0)
    read_back(c, fresh, timeout=5.0)
    st2 = c.status()
    assert all(s["owner"] for s in st2["shards"]), st2
    assert_no_bad_drops(c, ["w1", "w2", "w3"])


# ---- brand-new cluster, cluster ids, a worker from another cluster -----------------------------------


def cluster_id_of(c: PersistentCluster, wid: str) -> str | None:
    try:
        return json.loads((c.data_dir(wid) / "cluster.json").read_text()).get("cluster")
    except (OSError, ValueError):
        return None


def test_new_cluster_fresh_shards_cluster_id_and_foreign_worker_refused(make):
    # The other cluster: one worker with data, stopped cleanly.
    other = make("other", workers=1, min_workers=1, split_points="m")
    other.wait_ready()
    theirs: dict[bytes, bytes] = {}
    assert not write(other, {b"other-%d" % i: b"theirs-%d" % i for i in range(300)}, theirs)
    wait_until(lambda: cluster_id_of(other, "w1"), WAIT_S, "the other cluster's id never persisted")
    other_id = cluster_id_of(other, "w1")
    other.stop()

    # A brand-new cluster: three empty workers get fresh shards once --min-workers registered.
    c = make("new", workers=3, min_workers=3, split_points=SPLIT_POINTS)
    c.wait_ready()
    log = c.broker_log_since_start()
    m = re.search(r"new cluster ([0-9a-f]+): (\d+) fresh shard", log)
    assert m and int(m.group(2)) == 8, log[-3000:]
    cid = m.group(1)
    assert cid != other_id
    wait_until(lambda: all(cluster_id_of(c, w) == cid for w in ("w1", "w2", "w3")), WAIT_S,
               lambda: f"cluster.json: {[cluster_id_of(c, w) for w in ('w1', 'w2', 'w3')]}, "
                       f"want {cid}")
    st = c.status()
    owners = [s["owner"] for s in st["shards"]]
    assert len(owners) == 8 and {owners.count(w) for w in ("w1", "w2", "w3")} <= {2, 3}, st
    assert all(s["epoch"] >= 1 and s["keys"] == 0 for s in st["shards"]), st
    acked: dict[bytes, bytes] = {}
    assert not write(c, {key_for(i): b"n%d" % i for i in range(400)}, acked)

    # The foreign worker (the other cluster's data dir, copied) joins this cluster as w4: refused.
    shutil.copytree(other.data_dir("w1"), c.data_dir("w4"))
    digest = tree_digest(c.data_dir("w4"))
    c.start_worker("w4")
    wait_registered(c, "w4")
    time.sleep(2.5)  # heartbeats, re-registrations: nothing may change its data meanwhile
    log = c.broker_log_since_start()
    assert re.search(rf"worker 'w4' belongs to cluster {other_id}.*refused", log), log[-3000:]
    st = c.status()
    assert all(s["owner"] != "w4" for s in st["shards"]), st
    assert not any(w["id"] == "w4" and w["alive"] for w in st["workers"]), st
    c.kill_worker("w4")
    assert tree_digest(c.data_dir("w4")) == digest, "the refused worker's data dir changed"
    assert cluster_id_of(c, "w4") == other_id
    assert_no_bad_drops(c, ["w4"])
    read_back(c, acked, timeout=5.0)

    # Its data is really intact: under its own cluster's broker it serves every key.
    other.workers = {}
    other.start_broker()
    other.start_worker("w1")
    other.start_frontend_proc()
    wait_serving(other, b"other-0")
    read_back(other, theirs)
    other.stop()
