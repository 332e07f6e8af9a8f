"""Durability with real processes: workers with --data-dir are SIGKILLed and restarted, the broker is
SIGKILLed and restarted, the whole cluster is stopped and started, compaction runs under writes, the
disk fills up, and a corrupt log is refused and repaired. Every acknowledged write must come back.

Every wait is bounded; a broken binary fails a test instead of hanging it.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cluster import Cluster, RawConn, RespError, binary, resp_command, tail

WAIT_S = 20.0


class DurableCluster(Cluster):
    """A Cluster whose workers keep their shards in <tmpdir>/data-<id>."""

    def __init__(self, tmpdir: Path, fsync: str = "always", compact_min_bytes: int | None = None,
                 worker_prefix: list[str] | None = None, **kw):
        super().__init__(tmpdir, **kw)
        self.fsync = fsync
        self.compact_min_bytes = compact_min_bytes
        self.worker_prefix = worker_prefix or []

    def data_dir(self, wid: str) -> Path:
        return self.tmpdir / f"data-{wid}"

    def _worker_argv(self, wid: str) -> list[str]:
        argv = super()._worker_argv(wid) + ["--data-dir", str(self.data_dir(wid)),
                                            "--fsync", self.fsync]
        if self.compact_min_bytes is not None:
            argv += ["--compact-min-bytes", str(self.compact_min_bytes)]
        return self.worker_prefix + argv

    def restart_broker(self) -> None:
        self.broker.kill()
        self.start_broker()


@pytest.fixture
def durable(tmp_path_factory):
    made = []

    def make(**kw) -> DurableCluster:
        c = DurableCluster(tmp_path_factory.mktemp("durable"), **kw)
        made.append(c)
        c.start()
        return c

    yield make
    for c in made:
        c.stop()


def key_for(side: str, i: int) -> bytes:
    return b"%s%07d" % (side.encode(), i)


def value_for(i: int, round_: int = 0) -> bytes:
    return b"v%d-%d-" % (i, round_) + b"x" * 40


class Writer(threading.Thread):
    """Pipelines SETs over one RESP connection in windows of `window`, alternating keys on both sides
    of "m". Records every key answered +OK (with its value) and counts errors. Reconnects when the
    frontend drops the connection; stops at `stop` or after `limit` keys."""

    def __init__(self, port: int, limit: int, window: int = 64, keys_per_side: int | None = None,
                 rounds: int = 1):
        super().__init__(daemon=True)
        self.port = port
        self.limit = limit
        self.window = window
        self.keys_per_side = keys_per_side
        self.rounds = rounds
        self.acked: dict[bytes, bytes] = {}
        self.errors: list[str] = []
        self.sent_index = 0  # the index i of the last key sent
        self.max_acked = {"a": -1, "z": -1}  # per side, the highest index answered OK
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def items(self):
        n = 0
        for r in range(self.rounds):
            i = 0
            while True:
                if self.keys_per_side is not None and i >= self.keys_per_side:
                    break
                self.sent_index = i
                for side in ("a", "z"):
                    yield key_for(side, i), value_for(i, r)
                    n += 1
                    if n >= self.limit:
                        return
                i += 1

    def run(self):
        try:
            conn = RawConn(self.port, timeout=15.0)
            batch = []
            it = self.items()
            done = False
            while not done and not self.stop.is_set():
                batch = []
                for kv in it:
                    batch.append(kv)
                    if len(batch) >= self.window:
                        break
                if not batch:
                    break
                conn.send(b"".join(resp_command("SET", k, v) for k, v in batch))
                replies = conn.replies(len(batch), timeout=15.0)
                for (k, v), rep in zip(batch, replies):
                    if rep == "OK":
                        self.acked[k] = v
                        side = k[:1].decode()
                        self.max_acked[side] = max(self.max_acked[side], int(k[1:]))
                    else:
                        self.acked.pop(k, None)  # an older acked value may or may not remain
                        self.errors.append(str(rep))
            conn.close()
        except BaseException as e:  # reported by the test
            self.failure = e

    def acked_count(self) -> int:
        return len(self.acked)


def read_back(port: int, expected: dict[bytes, bytes], timeout: float = WAIT_S) -> list:
    """GETs every expected key (pipelined); returns the mismatches as (key, want, got)."""
    deadline = time.monotonic() + timeout
    keys = list(expected)
    bad = []
    with RawConn(port, timeout=10.0) as c:
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            c.send(b"".join(resp_command("GET", k) for k in chunk))
            got = c.replies(len(chunk), timeout=max(1.0, deadline - time.monotonic()))
            bad += [(k, expected[k], g) for k, g in zip(chunk, got) if g != expected[k]]
    return bad


def wait_serving(cluster: Cluster, keys: list[bytes], timeout: float = WAIT_S) -> None:
    """Until a GET of each key answers without an error (the shards are served again)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with RawConn(cluster.port, timeout=3.0) as c:
                got = [c.command("GET", k) for k in keys]
            if not any(isinstance(g, RespError) for g in got):
                return
            last = got
        except (OSError, TimeoutError, ConnectionError, ValueError) as e:
            last = repr(e)
        time.sleep(0.2)
    raise TimeoutError(f"not served again within {timeout}s (last: {last})\n{cluster.logs()}")


def owner(cluster: Cluster, key: bytes) -> str:
    with RawConn(cluster.port) as c:
        flat = c.command("WHERE", key)
    assert isinstance(flat, list), flat
    info = dict(zip(flat[0::2], flat[1::2]))
    o = info.get("owner", info.get(b"owner"))
    return o.decode() if isinstance(o, bytes) else o


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


# ---- the tests --------------------------------------------------------------------------------------


def test_worker_sigkill_mid_pipeline_loses_no_acknowledged_write(durable):
    c = durable(fsync="always")
    victim = owner(c, b"z")
    assert victim != owner(c, b"a")
    w = Writer(c.port, limit=60000)
    w.start()
    wait_until(lambda: w.acked_count() >= 3000 or not w.is_alive(), 20, "3000 acks")
    c.kill_worker(victim)  # SIGKILL in the middle of the pipeline
    killed_at = w.acked_count()
    restarted_at = w.sent_index
    c.start_worker(victim)
    # Writes go on (errors while the worker is away), then succeed again on both sides.
    wait_until(lambda: not w.is_alive() or w.max_acked["z"] > restarted_at + 500, 30,
               f"acks on the restarted worker's shard\n{c.logs()}")
    w.stop.set()
    w.join(20)
    assert w.failure is None, f"writer failed: {w.failure!r}\n{c.logs()}"
    assert not w.is_alive()
    assert w.acked_count() > killed_at
    wait_serving(c, [b"a0000000", b"z0000000"])
    bad = read_back(c.port, w.acked)
    assert not bad, f"{len(bad)} acknowledged writes lost, e.g. {bad[:3]}\n{c.logs()}"
    log = (c.tmpdir / f"worker-{victim}.log").read_text(errors="replace")
    assert "recovered 1 shard(s)" in log, log[-3000:]


def test_broker_sigkill_and_restart_serves_every_acknowledged_key(durable):
    c = durable(fsync="everysec")
    w = Writer(c.port, limit=4000)
    w.run()
    assert w.failure is None and not w.errors, (w.failure, w.errors[:3])
    c.restart_broker()
    # The workers re-register with their recovered shards; the frontend reconnects by itself.
    wait_serving(c, [b"a0000000", b"z0000000"], timeout=30)
    bad = read_back(c.port, w.acked)
    assert not bad, f"{len(bad)} keys not served after a broker restart, e.g. {bad[:3]}\n{c.logs()}"
    # And it takes writes again.
    with RawConn(c.port) as conn:
        assert conn.command("SET", "after-broker-restart", "yes") == "OK"
        assert conn.command("GET", "after-broker-restart") == b"yes"


def test_clean_stop_and_start_of_every_process_keeps_every_key(durable):
    c = durable(fsync="no")
    w = Writer(c.port, limit=3000)
    w.run()
    assert w.failure is None and not w.errors
    with RawConn(c.port) as conn:
        assert conn.command("DEL", key_for("a", 5)) == 1
    del w.acked[key_for("a", 5)]
    paths = {}
    with RawConn(c.port) as conn:
        for k in (b"a0000007", b"z0000011"):
            paths[k] = conn.command("WHERE", k)
    c.stop()  # SIGTERM everything
    for wid, p in c.workers.items():  # a clean stop of a worker syncs its log and exits 0
        assert p.popen.returncode == 0, f"{p.name} exited {p.popen.returncode}\n{c.logs()}"
    c.start()
    bad = read_back(c.port, w.acked)
    assert not bad, f"{len(bad)} keys lost over a clean restart, e.g. {bad[:3]}\n{c.logs()}"
    with RawConn(c.port) as conn:
        assert conn.command("GET", key_for("a", 5)) is None
        assert conn.command("DBSIZE") == len(w.acked)
        for k, where in paths.items():
            assert conn.command("WHERE", k) == where  # same shard, owner and key path


def test_compaction_under_writes_then_sigkill_keeps_every_key_and_bounds_the_dir(durable):
    c = durable(fsync="everysec", compact_min_bytes=256 * 1024)
    # 2 x 1500 keys of ~60 bytes, each overwritten 12 times: ~3.5 MB of log, ~200 KB of data.
    w = Writer(c.port, limit=10**9, keys_per_side=1500, rounds=12, window=128)
    w.run()
    assert w.failure is None and not w.errors, (w.failure, w.errors[:3])
    for wid in list(c.workers):
        c.kill_worker(wid)
    sizes = {wid: dir_bytes(c.data_dir(wid)) for wid in c.workers}
    for wid in list(c.workers):
        c.start_worker(wid)
    wait_serving(c, [b"a0000000", b"z0000000"])
    bad = read_back(c.port, w.acked)
    assert not bad, f"{len(bad)} keys wrong after compaction + SIGKILL, e.g. {bad[:3]}\n{c.logs()}"
    for wid, size in sizes.items():
        log = (c.tmpdir / f"worker-{wid}.log").read_text(errors="replace")
        assert "compaction done" in log, log[-3000:]
        # Bounded: the threshold (2 x snapshot or the minimum) plus a snapshot, not 3.5 MB.
        assert size < 1_500_000, f"{wid}: data dir holds {size} bytes: {os.listdir(c.data_dir(wid))}"
        names = os.listdir(c.data_dir(wid))
        assert len([n for n in names if n.startswith("log-")]) <= 2, names
        assert len([n for n in names if n.startswith("snapshot-")]) <= 2, names


def test_full_disk_refuses_writes_with_an_error_and_reads_go_on(durable, tmp_path):
    # A file-size limit stands in for a full disk: writes past it fail (EFBIG), as ENOSPC would.
    limit_kb = 64
    c = durable(fsync="always", worker_prefix=["prlimit", f"--fsize={limit_kb * 1024}", "--"])
    with RawConn(c.port) as conn:
        assert conn.command("SET", "a-before", "1") == "OK"
        big = b"x" * 4096
        errors = []
        for i in range(40):  # 160 KB into one shard: past the limit
            r = conn.command("SET", b"a-fill-%d" % i, big)
            if isinstance(r, RespError):
                errors.append((i, r))
        assert errors, "no write was refused"
        first, err = errors[0]
        text = err.line.decode()
        assert text.startswith("ERR persistence failure: "), text
        assert "(writes refused; reads continue)" in text, text
        # Reads go on; the refused write is not there; the other shard still takes writes.
        assert conn.command("GET", "a-before") == b"1"
        assert conn.command("GET", b"a-fill-%d" % first) is None
        assert conn.command("SET", "z-other-shard", "ok") == "OK"
    log = "\n".join(tail(c.tmpdir / f"worker-{w}.log", 400) for w in c.workers)
    assert "persistence failure" in log and "error" in log


def test_corrupt_log_is_refused_with_offset_and_check_log_fix_repairs_it(durable):
    c = durable(fsync="always")
    w = Writer(c.port, limit=400)
    w.run()
    assert not w.errors
    victim = owner(c, b"a")
    c.stop()
    logs = sorted(c.data_dir(victim).glob("log-*.log"))
    data = bytearray(logs[-1].read_bytes())
    offset = len(data) // 2
    data[offset] ^= 0x55
    logs[-1].write_bytes(bytes(data))

    start = subprocess.run(c._worker_argv(victim), capture_output=True, timeout=15)
    out = start.stdout.decode(errors="replace") + start.stderr.decode(errors="replace")
    assert start.returncode != 0, out
    assert str(logs[-1]) in out and "byte offset" in out and "--check-log" in out, out

    check = subprocess.run([binary("clossyne-worker"), "--check-log", str(logs[-1])],
                           capture_output=True, timeout=15)
    report = check.stdout.decode()
    assert check.returncode == 1 and "CORRUPT" in report, report
    fix = subprocess.run([binary("clossyne-worker"), "--check-log", str(logs[-1]), "--fix"],
                         capture_output=True, timeout=15)
    assert fix.returncode == 0 and "truncated at byte offset" in fix.stdout.decode(), fix.stdout
    c.start()
    with RawConn(c.port) as conn:
        assert conn.command("GET", key_for("a", 0)) == value_for(0)  # the records before it stay
        assert conn.command("GET", key_for("z", 0)) == value_for(0)


def test_unusable_data_dir_refuses_to_start(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = subprocess.run([binary("clossyne-worker"), "--id", "w9", "--broker", "tcp://127.0.0.1:1",
                        "--data-dir", str(blocker / "data")], capture_output=True, timeout=15)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0, out
    assert "cannot start" in out and "Not a directory" in out, out
