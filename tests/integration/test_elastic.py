"""Elastic sharding with real processes: shards split as they grow, new workers get a fair share,
a drained worker gives everything away, all while a client keeps writing and reading; a worker
SIGKILLed in the middle of a move loses nothing; the admin CLI's commands, messages and `status`.

Every wait is bounded; a broken binary fails a test instead of hanging it.
"""
from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

import conftest
from cluster import Cluster, binary

ADMIN_TIMEOUT_S = 90.0


class ElasticCluster(Cluster):
    """A Cluster with extra broker flags, whose workers (optionally) keep data in <tmpdir>/data-<id>."""

    def __init__(self, tmpdir: Path, broker_args: list[str] | None = None,
                 data_dirs: bool = False, fsync: str = "everysec", **kw):
        kw.setdefault("split_points", None)
        super().__init__(tmpdir, **kw)
        self.broker_args = broker_args or []
        self.data_dirs = data_dirs
        self.fsync = fsync

    def data_dir(self, wid: str) -> Path:
        return self.tmpdir / f"data-{wid}"

    def _broker_argv(self) -> list[str]:
        return super()._broker_argv() + self.broker_args

    def _worker_argv(self, wid: str) -> list[str]:
        argv = super()._worker_argv(wid)
        if self.data_dirs:
            argv += ["--data-dir", str(self.data_dir(wid)), "--fsync", self.fsync]
        return argv

    # ---- the admin CLI ---------------------------------------------------------------------------
    def admin(self, *args: str | bytes, timeout: float = ADMIN_TIMEOUT_S) -> subprocess.CompletedProcess:
        argv = [binary("clossyne-admin"), "--broker", self.client_endpoint, *args]
        return subprocess.run(argv, capture_output=True, timeout=timeout)

    def status(self) -> dict:
        r = self.admin("status", "--json", timeout=15)
        assert r.returncode == 0, r.stderr.decode()
        return json.loads(r.stdout)


@pytest.fixture
def elastic(tmp_path_factory):
    """Factory for ElasticClusters; all are stopped after the test (and their logs attached to a
    failed test's report, by conftest's hook)."""
    made: list[ElasticCluster] = []

    def make(**kw) -> ElasticCluster:
        c = ElasticCluster(tmp_path_factory.mktemp("elastic"), **kw)
        made.append(c)
        conftest._active.append(c)
        c.start()
        return c

    yield make
    for c in made:
        c.stop()
        conftest._active.remove(c)


def key(i: int) -> bytes:
    return b"key:%06d" % i


def wait_for(pred, timeout: float, what: str, cluster: Cluster | None = None, every: float = 0.25):
    """Polls pred() until it returns a truthy value (returned); raises after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout}s (last: {last!r})\n"
                       + (cluster.logs(60) if cluster else ""))


def load(r: redis.Redis, items: dict[bytes, bytes], batch: int = 1000) -> None:
    keys = list(items)
    for i in range(0, len(keys), batch):
        pairs = {k: items[k] for k in keys[i:i + batch]}
        assert r.mset(pairs) is True


def read_all(r: redis.Redis, expected: dict[bytes, bytes]) -> list:
    """MGETs every expected key; returns the mismatches as (key, want, got)."""
    keys = list(expected)
    bad = []
    for i in range(0, len(keys), 1000):
        chunk = keys[i:i + 1000]
        bad += [(k, expected[k], g) for k, g in zip(chunk, r.mget(chunk)) if g != expected[k]]
    return bad


def full_rng(r: redis.Redis) -> list[tuple[bytes, bytes]]:
    flat = r.execute_command("RNG", b"", b"\xff\xff\xff\xff")
    return list(zip(flat[0::2], flat[1::2]))


def keys_by_worker(st: dict) -> dict[str, int]:
    return {w["id"]: w["keys"] for w in st["workers"] if w["alive"]}


class Mixer(threading.Thread):
    """SET then GET in a loop on random keys (existing ones and new ones), checking every reply: a
    SET must answer OK and a GET the last value SET. Counts failed and wrong replies."""

    def __init__(self, port: int, model: dict[bytes, bytes], existing: list[bytes]):
        super().__init__(daemon=True)
        self.port = port
        self.model = model  # updated in place: the expected contents of the store
        self.existing = existing
        self.stop = threading.Event()
        self.ops = 0
        self.failed: list[str] = []
        self.wrong: list[tuple] = []
        self.crash: BaseException | None = None
        self.rng = random.Random(7)

    def run(self):
        try:
            r = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=20,
                            socket_connect_timeout=5)
            n = 0
            while not self.stop.is_set():
                n += 1
                k = (self.rng.choice(self.existing) if n % 4 else b"new:%06d" % n)
                v = b"mix-%d" % n
                try:
                    if r.set(k, v) is not True:
                        self.failed.append(f"SET {k!r} did not answer OK")
                        continue
                    self.model[k] = v
                    got = r.get(k)
                    if got != v:
                        self.wrong.append((k, v, got))
                except redis.RedisError as e:
                    # The SET may or may not have been applied: stop checking that key's value.
                    self.failed.append(f"{k!r}: {e}")
                    self.model.pop(k, None)
                    self.existing = [x for x in self.existing if x != k]
                self.ops += 2
        except BaseException as e:  # reported by the test
            self.crash = e


def layout(status):
    """What a refused admin command must leave unchanged: shards, owners, epochs, keys and the
    workers' states. Byte and RSS figures come from heartbeats and drift on their own."""
    shards = [{k: s[k] for k in ("id", "lo", "hi", "owner", "epoch", "keys")} for s in status["shards"]]
    workers = [{k: w[k] for k in ("id", "alive", "draining", "shards")} for w in status["workers"]]
    return shards, workers


# ---- (a) the scenario ------------------------------------------------------------------------


def test_split_balance_drain_under_load(elastic):
    c = elastic(workers=1, min_workers=1, data_dirs=True, fsync="everysec",
                broker_args=["--shard-max-keys", "2000"])
    r = c.redis(socket_timeout=20)
    n = 30000
    model = {key(i): b"v%d-" % i + b"x" * 20 for i in range(n)}
    t0 = time.monotonic()
    load(r, model)
    load_s = time.monotonic() - t0

    # Splits: one worker, 30,000 keys, at most 2,000 a shard -> at least 8 shards (16 in the end).
    def split_enough():
        st = c.status()
        return st if len(st["shards"]) >= 8 else None

    st = wait_for(split_enough, 30, ">= 8 shards", c)
    shards_s = time.monotonic() - t0
    assert all(s["owner"] == "w1" for s in st["shards"])

    mixer = Mixer(c.port, model, list(model))
    mixer.start()
    try:
        time.sleep(0.5)
        t1 = time.monotonic()
        c.start_worker("w2")
        c.start_worker("w3")

        def balanced():
            st = c.status()
            load_ = keys_by_worker(st)
            total = sum(load_.values())
            ok = (len(load_) == 3 and total >= n
                  and all(k >= 0.2 * total for k in load_.values()))
            return (st, load_) if ok else None

        st, load_ = wait_for(balanced, 60, "each of 3 workers >= 20% of the keys", c, every=0.5)
        balance_s = time.monotonic() - t1
        assert mixer.is_alive(), mixer.crash

        t2 = time.monotonic()
        d = c.admin("drain", "w1")
        drain_s = time.monotonic() - t2
        assert d.returncode == 0, d.stdout.decode() + d.stderr.decode()
        assert d.stdout.decode().startswith("draining w1: ")
        st = c.status()
        w1 = next(w for w in st["workers"] if w["id"] == "w1")
        assert {k: w1[k] for k in ("id", "alive", "keys", "shards", "draining", "bytes")} == {
            "id": "w1", "alive": True, "keys": 0, "shards": 0, "draining": True, "bytes": 0}
        assert all(s["owner"] in ("w2", "w3") for s in st["shards"])
        time.sleep(0.5)  # a little more traffic on the final layout
    finally:
        mixer.stop.set()
        mixer.join(timeout=30)
    assert mixer.crash is None, repr(mixer.crash)
    print(f"\nelastic: load {n} keys {load_s:.1f}s; >=8 shards after {shards_s:.1f}s "
          f"({len(st['shards'])} shards at the end); balanced in {balance_s:.1f}s {load_}; "
          f"drain in {drain_s:.1f}s; mixer {mixer.ops} ops, {len(mixer.failed)} failed, "
          f"{len(mixer.wrong)} wrong")
    assert mixer.ops > 1000
    assert mixer.failed == [] and mixer.wrong == []

    # Nothing lost: DBSIZE, every value, and one RNG over the whole key space, in order.
    assert r.dbsize() == len(model)
    assert read_all(r, model) == []
    items = full_rng(r)
    assert [k for k, _ in items] == sorted(model)
    assert dict(items) == model
    # The map still covers the key space in order.
    shards = st["shards"]
    assert shards[0]["lo"] is None and shards[-1]["hi"] is None
    assert all(a["hi"] == b["lo"] for a, b in zip(shards, shards[1:]))


# ---- (b) a worker SIGKILLed during a move ------------------------------------------------------------


@pytest.mark.parametrize("victim", ["source", "target"])
def test_worker_killed_during_move_loses_nothing(elastic, victim):
    c = elastic(workers=2, data_dirs=True, fsync="everysec",
                broker_args=["--no-auto-balance", "--move-chunk-keys", "50"])
    r = c.redis(socket_timeout=20)
    n = 30000
    model = {key(i): b"%d:" % i + b"y" * 200 for i in range(n)}
    load(r, model)
    st = c.status()
    assert len(st["shards"]) == 1
    shard = st["shards"][0]
    source = shard["owner"]
    target = "w2" if source == "w1" else "w1"
    target_log = c.data_dir(target) / "log-0000000001.log"
    base = target_log.stat().st_size

    mv = c.admin("--no-wait", "move", str(shard["id"]), target)
    assert mv.returncode == 0, mv.stderr.decode()
    assert mv.stdout.decode().startswith(f"moving shard {shard['id']} from {source} to {target}")
    # Mid-way: the target has logged about a sixth of the ~6.5 MB being copied.
    wait_for(lambda: target_log.stat().st_size - base > 1_000_000, 30, "the copy under way", c,
             every=0.005)
    killed = source if victim == "source" else target
    c.kill_worker(killed)
    st = c.status()
    moving = next(s for s in st["shards"] if s["id"] == shard["id"])
    assert moving["owner"] == source and moving["epoch"] == shard["epoch"], "the move finished"

    # The broker notices the death and abandons the move; then the worker comes back.
    wait_for(lambda: not next(w for w in c.status()["workers"] if w["id"] == killed)["alive"], 15,
             f"{killed} seen dead", c)
    c.start_worker(killed)
    wait_for(lambda: next(w for w in c.status()["workers"] if w["id"] == killed)["alive"], 15,
             f"{killed} alive again", c)

    def served_by_source():
        try:
            return r.dbsize() == n and c.status()["shards"][0]["owner"] == source
        except redis.RedisError:
            return False

    wait_for(served_by_source, 20, "the shard served by its old owner again", c)
    st = c.status()
    assert [(s["id"], s["owner"], s["epoch"]) for s in st["shards"]] == \
        [(shard["id"], source, shard["epoch"])]
    assert read_all(r, model) == []
    if victim == "target":
        # The restarted target found its partial copy (flagged importing) and never reported it;
        # the broker's assignment dropped it.
        log = (c.tmpdir / f"worker-{target}.log").read_text(errors="replace")
        assert "recovered 1 shard(s)" in log and "an unfinished import" in log

    # The same move then completes, and the shard has exactly one owner.
    mv = c.admin("move", str(shard["id"]), target)
    assert mv.returncode == 0, mv.stdout.decode() + mv.stderr.decode()
    st = c.status()
    assert [(s["id"], s["owner"], s["epoch"]) for s in st["shards"]] == \
        [(shard["id"], target, shard["epoch"] + 1)]
    assert {w["id"]: w["shards"] for w in st["workers"]} == {source: 0, target: 1}
    assert r.dbsize() == n
    assert read_all(r, model) == []
    items = full_rng(r)
    assert [k for k, _ in items] == sorted(model)


# ---- (c) the admin CLI ---------------------------------------------------------------------------


def test_admin_split_move_status_and_errors(elastic):
    c = elastic(workers=2, split_points="m", broker_args=["--no-auto-balance"])
    r = c.redis()
    model = {b"%s%03d" % (p, i): b"v%d" % i for p in (b"a", b"k", b"t") for i in range(300)}
    load(r, model)
    st = c.status()
    s1 = next(s for s in st["shards"] if s["lo"] is None)
    s2 = next(s for s in st["shards"] if s["lo"] == "m")
    assert s1["owner"] != s2["owner"]

    # split SHARD KEY: at a key with a non-printable byte, shown escaped.
    sp = c.admin("split", str(s1["id"]), b"k\x01")
    assert sp.returncode == 0, sp.stderr.decode()
    out = sp.stdout.decode().splitlines()
    assert out[0].startswith(f"splitting shard {s1['id']} into shards ")
    assert out[-1] == "done"
    left_id, right_id = [int(x) for x in out[0].split("shards ")[1].split(" and ")]
    st = c.status()
    by_id = {s["id"]: s for s in st["shards"]}
    assert s1["id"] not in by_id
    assert (by_id[left_id]["lo"], by_id[left_id]["hi"]) == (None, "k\\x01")
    assert (by_id[right_id]["lo"], by_id[right_id]["hi"]) == ("k\\x01", "m")
    assert by_id[left_id]["epoch"] == s1["epoch"] + 1
    assert by_id[left_id]["keys"] == 300 and by_id[right_id]["keys"] == 300  # a..., k...

    # split SHARD: at the median key.
    sp = c.admin("split", str(s2["id"]))
    assert sp.returncode == 0, sp.stderr.decode()
    st = c.status()
    pieces = [s for s in st["shards"] if s["lo"] is not None and s["lo"] >= "m"]
    assert len(pieces) == 2 and pieces[0]["hi"] == pieces[1]["lo"] == "t150"
    assert [p["keys"] for p in pieces] == [150, 150]

    # move SHARD WORKER
    other = s2["owner"]
    mv = c.admin("move", str(left_id), other)
    assert mv.returncode == 0, mv.stderr.decode()
    assert mv.stdout.decode().splitlines() == [
        f"moving shard {left_id} from {s1['owner']} to {other}", "done"]
    st = c.status()
    moved = next(s for s in st["shards"] if s["id"] == left_id)
    assert moved["owner"] == other and moved["epoch"] == s1["epoch"] + 2

    # Refusals: non-zero exit, a message on stderr that names the problem, nothing changed.
    for args, message in [
        (("split", "999"), "ERR no shard 999"),
        (("move", "999", other), "ERR no shard 999"),
        (("move", str(left_id), "nosuch"), "ERR worker 'nosuch' is not alive"),
        (("move", str(left_id), other), f"ERR shard {left_id} is already on {other}"),
        (("drain", "nosuch"), "ERR unknown worker 'nosuch'"),
        (("undrain", "nosuch"), "ERR unknown worker 'nosuch'"),
        (("split", str(right_id), "a"), "ERR split key must lie inside shard"),
        (("split", str(right_id), "k\x01"), "ERR split key must lie inside shard"),
    ]:
        bad = c.admin(*args)
        assert bad.returncode != 0, (args, bad.stdout)
        assert message in bad.stderr.decode(), (args, bad.stderr)
    assert layout(c.status()) == layout(st)

    # A shard with fewer than 2 keys cannot be split at its median: the worker refuses, the broker
    # abandons the split and the CLI's wait runs out.
    r.delete(*[k for k in model if k >= b"t150"])
    model = {k: v for k, v in model.items() if k < b"t150"}
    last = next(s for s in st["shards"] if s["hi"] is None)
    sp = c.admin("--wait", "3", "split", str(last["id"]))
    assert sp.returncode != 0
    assert "did not complete within 3 s" in sp.stderr.decode()
    assert f"ERR cannot split shard {last['id']}: fewer than 2 keys" in \
        (c.tmpdir / "broker.log").read_text(errors="replace")

    # status: the table, and the --json shape of docs/ADMIN.md.
    table = c.admin("status")
    assert table.returncode == 0
    text = table.stdout.decode()
    assert text.splitlines()[0].split() == ["WORKER", "ALIVE", "KEYS", "SHARDS", "STATE"]
    assert "SHARD" in text and "OWNER" in text and "EPOCH" in text
    assert "k\\x01" in text and "-inf" in text and "+inf" in text
    st = c.status()
    assert set(st) == {"workers", "shards", "ready"}
    for w in st["workers"]:
        assert set(w) == {"id", "alive", "keys", "shards", "draining", "bytes", "rss", "persistent",
                          "fsync", "ops_per_sec", "heartbeat_age_ms"}
        assert isinstance(w["keys"], int) and isinstance(w["alive"], bool)
        assert isinstance(w["rss"], int) and isinstance(w["persistent"], bool)
    for s in st["shards"]:
        assert set(s) == {"id", "lo", "hi", "owner", "epoch", "keys", "bytes", "change"}
    assert st["shards"][0]["lo"] is None and st["shards"][-1]["hi"] is None
    assert all(a["hi"] == b["lo"] for a, b in zip(st["shards"], st["shards"][1:]))
    assert read_all(r, model) == []
    assert r.dbsize() == len(model)
