"""Replicated shards (issue 14) with real processes: --replicas 2, three persistent workers,
--fsync always.

- Under a load of writes and reads, each worker in turn is SIGKILLed and restarted: no acknowledged
  write is lost, every key reads back its last acknowledged value (or a later write whose outcome was
  unknown), and the longest window in which an op failed is printed;
- a worker's data directory is wiped and the worker restarted: its shards come back from the other
  members (each shard has two in-sync members again), and with another worker then killed for good
  every key still reads back;
- the broker is SIGKILLed and restarted: it rebuilds each shard's configuration from what the members
  recorded, and nothing is lost.

Every wait is bounded; a broken binary fails a test instead of hanging it.
"""
from __future__ import annotations

import shutil
import threading
import time

import pytest

from cluster import RespError
from test_restart_order import PersistentCluster

LIVENESS_MS = 1500
WAIT_S = 40.0


class ReplicatedCluster(PersistentCluster):
    def _broker_argv(self) -> list[str]:
        return super()._broker_argv() + ["--replicas", "2", "--liveness-ms", str(LIVENESS_MS)]


@pytest.fixture
def make(tmp_path_factory):
    made = []

    def start(name: str, workers: int = 3, **kw) -> ReplicatedCluster:
        c = ReplicatedCluster(tmp_path_factory.mktemp(name), workers=workers,
                              split_points="c,f,i,l,o,r", **kw)
        made.append(c)
        c.start_broker()
        for i in range(1, workers + 1):
            c.start_worker(f"w{i}")
        c.start_frontend_proc()
        c.wait_ready()
        return c

    yield start
    for c in made:
        c.stop()


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - a process restarting: try again
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def fully_replicated(c: ReplicatedCluster) -> bool:
    """Every shard has a live primary and one in-sync follower on another worker."""
    st = c.status()
    alive = {w["id"] for w in st["workers"] if w["alive"]}
    if not st["shards"]:
        return False  # not ready yet
    for s in st["shards"]:
        members = s.get("members", [])
        in_sync = [m["worker"] for m in members if m["state"] == "in-sync"]
        if len(set(in_sync)) != 2 or not set(in_sync) <= alive or s["owner"] != in_sync[0]:
            return False
    return True


class Load:
    """Writer threads, one key set each (so each key's order of writes is known), and a reader.
    Records, per key, the last acknowledged value and the values written after it whose outcome is
    unknown (an error: the write may or may not have been applied)."""

    def __init__(self, c: ReplicatedCluster, writers: int = 3, keys_per_writer: int = 200):
        self.c = c
        self.stop = threading.Event()
        self.acked: dict[bytes, bytes] = {}
        self.unsure: dict[bytes, set[bytes]] = {}
        self.fail_times: list[float] = []
        self.ok_times: list[float] = []
        self.ops = 0
        self.crash: BaseException | None = None
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.write, args=(w, keys_per_writer), daemon=True)
                        for w in range(writers)]

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in self.threads), "a writer hung"
        if self.crash:
            raise self.crash

    def write(self, w: int, n: int) -> None:
        try:
            r = self.c.redis(socket_timeout=15)
            seq = 0
            while not self.stop.is_set():
                seq += 1
                k = b"%c%05d-%d" % (b"abcdefghijklmnopqrstuvwxyz"[seq % 26], seq % n, w)
                v = b"v%d-%d" % (w, seq)
                t = time.monotonic()
                try:
                    ok = r.set(k, v)
                    assert ok is True, ok
                    with self.lock:
                        self.acked[k] = v
                        self.unsure.pop(k, None)
                        self.ok_times.append(t)
                except (RespError, Exception) as e:  # noqa: BLE001 - any failure is "unknown"
                    if isinstance(e, AssertionError):
                        raise
                    with self.lock:
                        self.unsure.setdefault(k, set()).add(v)
                        self.fail_times.append(t)
                    time.sleep(0.02)
                    try:
                        r.close()
                    except Exception:  # noqa: BLE001
                        pass
                    r = self.c.redis(socket_timeout=15)
                self.ops += 1
        except BaseException as e:  # reported by finish()
            self.crash = e

    def longest_failure_window(self) -> float:
        """The longest span from a failed op to the next successful one."""
        fails = sorted(self.fail_times)
        oks = sorted(self.ok_times)
        worst, j = 0.0, 0
        for f in fails:
            while j < len(oks) and oks[j] <= f:
                j += 1
            if j < len(oks):
                worst = max(worst, oks[j] - f)
        return worst

    def check(self, r) -> int:
        """Every acknowledged key reads its last acknowledged value or a later unsure one."""
        keys = sorted(set(self.acked) | set(self.unsure))
        bad = []
        for k in keys:
            got = r.get(k)
            allowed = set(self.unsure.get(k, set()))
            if k in self.acked:
                allowed.add(self.acked[k])
            else:
                allowed.add(None)  # never acknowledged: absent is fine too
            if got not in allowed:
                bad.append((k, got, self.acked.get(k)))
        assert not bad, f"{len(bad)} keys lost or wrong, e.g. {bad[:5]}"
        return len(keys)


def test_each_worker_killed_in_turn_loses_nothing(make):
    c = make("kill_each")
    wait_until(lambda: fully_replicated(c), WAIT_S, "two in-sync members per shard")
    load = Load(c).start()
    time.sleep(1.0)
    for wid in ["w1", "w2", "w3"]:
        c.kill_worker(wid)
        time.sleep(LIVENESS_MS / 1000 + 2.0)  # declared dead, failed over, writes flowing again
        c.start_worker(wid)
        wait_until(lambda: fully_replicated(c), WAIT_S, f"{wid} back in sync")
        time.sleep(0.5)
    load.finish()
    window = load.longest_failure_window()
    n = load.check(c.redis(socket_timeout=10))
    print(f"\nreplicas 2, 3 workers, each SIGKILLed in turn: {load.ops} writes, {len(load.acked)} "
          f"keys acknowledged, {len(load.fail_times)} failed writes, longest failure window "
          f"{window:.2f} s (liveness {LIVENESS_MS} ms); {n} keys checked")
    assert len(load.acked) > 100
    assert window <= LIVENESS_MS / 1000 + 3.0, window


def test_wiped_worker_comes_back_from_the_other_members(make):
    c = make("wiped")
    wait_until(lambda: fully_replicated(c), WAIT_S, "two in-sync members per shard")
    r = c.redis(socket_timeout=10)
    model = {b"%c%04d" % (b"abcdefghijklmnopqrstuvwxyz"[i % 26], i): b"x%d" % i for i in range(2000)}
    for k, v in model.items():
        assert r.set(k, v) is True
    before = {s["id"]: s["epoch"] for s in c.status()["shards"]
              if any(m["worker"] == "w2" for m in s["members"])}
    assert before
    c.kill_worker("w2")
    shutil.rmtree(c.data_dir("w2"))
    c.start_worker("w2")

    def w2_back() -> bool:
        # w2 left each of its shards (a new configuration) and came back with a full copy.
        st = c.status()
        again = {s["id"]: s["epoch"] for s in st["shards"]
                 if any(m["worker"] == "w2" for m in s["members"])}
        return fully_replicated(c) and set(again) == set(before) and all(
            again[i] > before[i] for i in before)

    wait_until(w2_back, WAIT_S, "w2 caught up")
    # w2 now holds real copies: with w1 gone for good too, every key still reads back.
    c.kill_worker("w1")
    time.sleep(LIVENESS_MS / 1000 + 1.0)
    r = c.redis(socket_timeout=10)
    wait_until(lambda: r.get(b"a0000") == b"x0", WAIT_S, "service after w1 died")
    wrong = {k: r.get(k) for k in model if r.get(k) != model[k]}
    assert not wrong, list(wrong.items())[:5]


def test_broker_restart_rebuilds_configurations(make):
    c = make("broker_restart")
    wait_until(lambda: fully_replicated(c), WAIT_S, "two in-sync members per shard")
    before = {s["id"]: sorted(m["worker"] for m in s["members"]) for s in c.status()["shards"]}
    r = c.redis(socket_timeout=10)
    model = {b"%c%04d" % (b"abcdefghijklmnopqrstuvwxyz"[i % 26], i): b"y%d" % i for i in range(1000)}
    for k, v in model.items():
        assert r.set(k, v) is True
    c.kill_broker()
    c.start_broker()
    wait_until(lambda: fully_replicated(c), WAIT_S, "configurations rebuilt")
    after = {s["id"]: sorted(m["worker"] for m in s["members"]) for s in c.status()["shards"]}
    assert after == before
    r = c.redis(socket_timeout=10)
    wait_until(lambda: r.get(b"a0000") == b"y0", WAIT_S, "service after the restart")
    wrong = {k: r.get(k) for k in model if r.get(k) != model[k]}
    assert not wrong, list(wrong.items())[:5]
    assert r.set(b"after", b"restart") is True and r.get(b"after") == b"restart"


class ElasticReplicated(ReplicatedCluster):
    def _broker_argv(self) -> list[str]:
        argv = [a for a in super()._broker_argv() if a != "--no-auto-balance"]
        return argv + ["--shard-max-keys", "400", "--move-chunk-keys", "100"]


def members_of(st: dict, wid: str) -> list[int]:
    return [s["id"] for s in st["shards"] if any(m["worker"] == wid for m in s.get("members", []))]


def test_splits_moves_and_drains_keep_two_members(tmp_path):
    c = ElasticReplicated(tmp_path, workers=3, split_points="m")
    try:
        c.start_broker()
        for w in ("w1", "w2", "w3"):
            c.start_worker(w)
        c.start_frontend_proc()
        c.wait_ready()
        wait_until(lambda: fully_replicated(c), WAIT_S, "two in-sync members per shard")
        load = Load(c, writers=2, keys_per_writer=150).start()
        r = c.redis(socket_timeout=10)
        model = {b"%c%05d" % (b"abcdefghijklmnopqrstuvwxyz"[i % 26], i): b"z%d" % i
                 for i in range(4000)}
        for k, v in model.items():
            assert r.set(k, v) is True
        # Shards above 400 keys split on every member; the pieces keep two members.
        wait_until(lambda: len(c.status()["shards"]) >= 8 and fully_replicated(c), WAIT_S,
                   "replicated shards split")
        # An explicit move of a member, then a drain of w3: it ends holding no copy, every shard
        # still has two in-sync members (on w1 and w2), and nothing is lost.
        st = c.status()
        shard = next(s for s in st["shards"] if "w3" not in [m["worker"] for m in s["members"]])
        mv = c.admin("--wait", "20", "move", str(shard["id"]), "w3", check=False)
        assert mv.returncode == 0, mv.stderr + mv.stdout
        wait_until(lambda: shard["id"] in members_of(c.status(), "w3") and fully_replicated(c),
                   WAIT_S, "the moved member in sync")
        c.admin("drain", "w3")
        wait_until(lambda: not members_of(c.status(), "w3") and fully_replicated(c), 90,
                   "w3 drained")
        load.finish()
        assert not load.fail_times or load.longest_failure_window() < 10.0
        load.check(c.redis(socket_timeout=10))
        wrong = {k: r.get(k) for k in model if r.get(k) != model[k]}
        assert not wrong, list(wrong.items())[:5]
    finally:
        c.stop()


class SwitchableReplicas(PersistentCluster):
    replicas = 1

    def _broker_argv(self) -> list[str]:
        return super()._broker_argv() + ["--replicas", str(self.replicas),
                                         "--liveness-ms", str(LIVENESS_MS)]


def test_a_one_copy_cluster_gets_replicated_when_the_broker_restarts_with_replicas_2(tmp_path):
    c = SwitchableReplicas(tmp_path, workers=3, split_points="c,f,i,l,o,r")
    try:
        c.start_broker()
        for w in ("w1", "w2", "w3"):
            c.start_worker(w)
        c.start_frontend_proc()
        c.wait_ready()
        r = c.redis(socket_timeout=10)
        model = {b"%c%04d" % (b"abcdefghijklmnopqrstuvwxyz"[i % 26], i): b"o%d" % i
                 for i in range(1500)}
        for k, v in model.items():
            assert r.set(k, v) is True
        assert all("members" not in s for s in c.status()["shards"])
        c.kill_broker()
        c.replicas = 2
        c.start_broker()
        wait_until(lambda: fully_replicated(c), WAIT_S, "the shards replicated")
        r = c.redis(socket_timeout=10)
        wrong = {k: r.get(k) for k in model if r.get(k) != model[k]}
        assert not wrong, list(wrong.items())[:5]
        # Every shard's keys now live on two workers: with one gone, all still read back.
        c.kill_worker("w1")
        time.sleep(LIVENESS_MS / 1000 + 1.0)
        wait_until(lambda: r.get(b"a0000") == b"o0", WAIT_S, "service after w1 died")
        wrong = {k: r.get(k) for k in model if r.get(k) != model[k]}
        assert not wrong, list(wrong.items())[:5]
    finally:
        c.stop()


def test_where_names_the_members(make):
    c = make("where")
    wait_until(lambda: fully_replicated(c), WAIT_S, "two in-sync members per shard")
    r = c.redis(socket_timeout=10)
    assert r.set(b"gkey", b"v") is True
    reply = r.execute_command("WHERE", b"gkey")
    fields = dict(zip(reply[0::2], reply[1::2]))
    shard = next(s for s in c.status()["shards"] if s["id"] == fields[b"shard"])
    assert [m.decode() for m in fields[b"members"]] == [m["worker"] for m in shard["members"]]
    assert fields[b"owner"].decode() == shard["owner"] == shard["members"][0]["worker"]


@pytest.mark.parametrize("change", ["split", "move"])
def test_primary_killed_in_the_middle_of_a_split_or_a_move(make, change):
    c = make(f"kill_mid_{change}")
    wait_until(lambda: fully_replicated(c), WAIT_S, "two in-sync members per shard")
    r = c.redis(socket_timeout=10)
    model = {b"i%05d" % i: b"m%d" % i for i in range(3000)}  # all in shard ['i', 'l')
    for k, v in model.items():
        assert r.set(k, v) is True
    st = c.status()
    shard = next(s for s in st["shards"] if s["lo"] == "i")
    primary = shard["owner"]
    if change == "split":
        c.admin("--no-wait", "split", str(shard["id"]))
    else:
        members = {m["worker"] for m in shard["members"]}
        target = next(w for w in ("w1", "w2", "w3") if w not in members)
        c.admin("--no-wait", "move", str(shard["id"]), target)
    time.sleep(0.01)
    c.kill_worker(primary)
    time.sleep(LIVENESS_MS / 1000 + 0.5)
    c.start_worker(primary)
    wait_until(lambda: fully_replicated(c), 60, "two in-sync members per shard again")
    # One set of members per range, every key readable with its value, and a full range read in
    # key order.
    st = c.status()
    ranges = [(s["lo"], s["hi"]) for s in st["shards"]]
    assert len(set(ranges)) == len(ranges)
    r = c.redis(socket_timeout=10)
    wrong = {k: r.get(k) for k in model if r.get(k) != model[k]}
    assert not wrong, list(wrong.items())[:5]
    flat = r.execute_command("RNG", b"i", b"i99999")
    assert flat[0::2] == sorted(model)
