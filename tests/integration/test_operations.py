"""Operator tasks of docs/OPERATIONS.md with real processes (issue 19 item 7):

- removing a worker for good: drain it, stop it, `clossyne-admin forget` it; it leaves `status` and the
  cluster serves every key; forget refuses a live worker, a dead owner of shards and an unknown id;
- a logical backup (`clossyne-admin backup DIR`) taken while a client keeps writing new keys restores
  (`clossyne-admin restore DIR`) into a fresh cluster that reads every key acknowledged before the
  backup began, binary values included; a damaged backup and a non-empty target are refused.

Every wait is bounded; a broken binary fails a test instead of hanging it.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path

import msgpack
import pytest
import redis

import conftest
from cluster import Cluster, binary

ADMIN_TIMEOUT_S = 120.0
DEAD_TIMEOUT_S = 20.0  # the broker counts a silent worker dead after ~3.5 s


class OpsCluster(Cluster):
    """A Cluster whose workers keep data in <tmpdir>/data-<id>, with an admin CLI helper."""

    def __init__(self, tmpdir: Path, **kw):
        super().__init__(tmpdir, **kw)

    def _worker_argv(self, wid: str) -> list[str]:
        return super()._worker_argv(wid) + ["--data-dir", str(self.tmpdir / f"data-{wid}")]

    def admin(self, *args: str, timeout: float = ADMIN_TIMEOUT_S) -> subprocess.CompletedProcess:
        argv = [binary("clossyne-admin"), "--broker", self.client_endpoint, *args]
        return subprocess.run(argv, capture_output=True, timeout=timeout)

    def status(self) -> dict:
        r = self.admin("status", "--json", timeout=15)
        assert r.returncode == 0, r.stderr.decode()
        return json.loads(r.stdout)

    def worker_info(self, wid: str) -> dict | None:
        return next((w for w in self.status()["workers"] if w["id"] == wid), None)


@pytest.fixture
def ops(tmp_path_factory):
    made: list[OpsCluster] = []

    def make(**kw) -> OpsCluster:
        c = OpsCluster(tmp_path_factory.mktemp("ops"), **kw)
        made.append(c)
        conftest._active.append(c)
        c.start()
        return c

    yield make
    for c in made:
        c.stop()
        conftest._active.remove(c)


def wait_for(pred, timeout: float, what: str, cluster: Cluster | None = None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not within {timeout}s (last: {last!r})\n"
                       + (cluster.logs(60) if cluster else ""))


def load(r: redis.Redis, items: dict[bytes, bytes], batch: int = 1000) -> None:
    keys = list(items)
    for i in range(0, len(keys), batch):
        assert r.mset({k: items[k] for k in keys[i:i + batch]}) is True


def mismatches(r: redis.Redis, expected: dict[bytes, bytes]) -> list:
    keys = list(expected)
    bad = []
    for i in range(0, len(keys), 1000):
        chunk = keys[i:i + 1000]
        bad += [(k, expected[k], g) for k, g in zip(chunk, r.mget(chunk)) if g != expected[k]]
    return bad


def full_rng(r: redis.Redis) -> list[tuple[bytes, bytes]]:
    flat = r.execute_command("RNG", b"", b"\xff\xff\xff\xff")
    return list(zip(flat[0::2], flat[1::2]))


def text(p: subprocess.CompletedProcess) -> str:
    return (p.stdout + p.stderr).decode("utf-8", "replace")


# ---- forget --------------------------------------------------------------------------------------

def test_a_drained_stopped_worker_is_forgotten_and_the_cluster_serves_every_key(ops):
    c = ops(workers=3, split_points="key:001000,key:002000")
    r = c.redis()
    items = {b"key:%06d" % i: b"v%d" % i for i in range(3000)}
    load(r, items)

    p = c.admin("forget", "w3")
    assert p.returncode != 0 and "stop it first" in text(p), text(p)
    p = c.admin("forget", "nobody")
    assert p.returncode != 0 and "unknown worker 'nobody'" in text(p), text(p)

    p = c.admin("--wait", "90", "drain", "w3")
    assert p.returncode == 0, text(p)
    assert c.worker_info("w3")["shards"] == 0
    c.workers["w3"].terminate()
    c.workers["w3"].popen.wait(timeout=10)
    wait_for(lambda: not c.worker_info("w3")["alive"], DEAD_TIMEOUT_S, "w3 dead in status", c)

    p = c.admin("forget", "w3")
    assert p.returncode == 0, text(p)
    assert "forgot w3" in text(p)
    st = c.status()
    assert [w["id"] for w in st["workers"]] == ["w1", "w2"]
    assert all(s["owner"] in ("w1", "w2") for s in st["shards"])
    assert mismatches(r, items) == []
    p = c.admin("forget", "w3")
    assert p.returncode != 0 and "unknown worker 'w3'" in text(p), text(p)

    # A dead worker that still owns shards is refused: its data lives there.
    c.kill_worker("w2")
    wait_for(lambda: not c.worker_info("w2")["alive"], DEAD_TIMEOUT_S, "w2 dead in status", c)
    p = c.admin("forget", "w2")
    out = text(p)
    assert p.returncode != 0 and "owns" in out and "drain" in out and "recreate" in out, out
    assert c.worker_info("w2") is not None
    c.start_worker("w2")
    wait_for(lambda: c.worker_info("w2")["alive"], DEAD_TIMEOUT_S, "w2 back", c)
    wait_for(lambda: mismatches(r, items) == [], 30, "every key served after w2 is back", c)


# ---- backup and restore --------------------------------------------------------------------------

SPECIAL = {
    b"bin:empty": b"",
    b"bin:crlf": b"\r\n",
    b"bin:crlf-inside": b"a\r\nb\r\n\r\n",
    b"bin:nul": b"\x00\x01\x02\x00",
    b"bin:high": bytes(range(256)),
    b"bin:\r\n\x00key": b"odd key",
    b"bin:big": bytes(random.Random(3).getrandbits(8) for _ in range(300_000)),
}


class NewKeyWriter(threading.Thread):
    """SETs new keys (new:000000, new:000001, ...) one at a time; `acked` lists the keys whose SET
    answered OK, in order."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.acked: list[bytes] = []
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    @staticmethod
    def value(k: bytes) -> bytes:
        return b"written-" + k + b"\r\n\x00"

    def run(self):
        try:
            r = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=20)
            i = 0
            while not self.stop.is_set():
                k = b"new:%06d" % i
                assert r.set(k, self.value(k)) is True
                with self.lock:
                    self.acked.append(k)
                i += 1
        except BaseException as e:  # reported by the test
            self.error = e

    def acked_now(self) -> list[bytes]:
        with self.lock:
            return list(self.acked)


def read_backup(d: Path) -> list[tuple[bytes, bytes]]:
    with open(d / "data.msgpack", "rb") as f:
        return [tuple(p) for p in msgpack.Unpacker(f, raw=True)]


def test_a_backup_under_write_load_restores_every_key_acknowledged_before_it_began(ops, tmp_path):
    a = ops(workers=2, split_points="key:005000,new:")
    ra = a.redis()
    rng = random.Random(19)
    items = {b"key:%06d" % i: rng.randbytes(rng.randrange(0, 64)) for i in range(10_000)}
    items.update(SPECIAL)
    load(ra, items, batch=500)

    writer = NewKeyWriter(a.port)
    writer.start()
    wait_for(lambda: len(writer.acked_now()) >= 50 or writer.error, 30, "writer running", a)
    before = writer.acked_now()  # acknowledged before the backup began
    backup_dir = tmp_path / "backup"
    p = a.admin("backup", str(backup_dir), "--page-keys", "100")
    during = len(writer.acked_now()) - len(before)
    writer.stop.set()
    writer.join(timeout=30)
    assert writer.error is None, repr(writer.error)
    assert p.returncode == 0, text(p) + a.logs()
    assert during > 0, "the writer wrote nothing while the backup ran: not a backup under load"

    manifest = json.loads((backup_dir / "manifest.json").read_text())
    pairs = read_backup(backup_dir)
    assert manifest["keys"] == len(pairs)
    assert manifest["format"] == 1
    assert manifest["checksum"].startswith("xxh3-64:")
    assert isinstance(manifest["cluster"], str) and manifest["cluster"]
    assert [k for k, _ in pairs] == sorted(k for k, _ in pairs)
    assert f"backed up {len(pairs)} keys" in text(p)
    assert not list(backup_dir.glob("*.partial"))

    # Another backup into the same directory is refused.
    p = a.admin("backup", str(backup_dir))
    assert p.returncode != 0 and "already holds a backup" in text(p), text(p)

    b = ops(workers=3, split_points="key:002000,key:008000")
    rb = b.redis()
    p = b.admin("restore", str(backup_dir), "--batch-keys", "300")
    assert p.returncode == 0, text(p) + b.logs()
    assert f"restored {len(pairs)} keys" in text(p)

    must = dict(items)
    must.update({k: NewKeyWriter.value(k) for k in before})
    assert mismatches(rb, must) == []
    restored = full_rng(rb)
    assert restored == pairs  # every pair, in key order, exactly as backed up
    for k, v in restored:  # keys written during the backup, when there, carry what was written
        if k.startswith(b"new:"):
            assert v == NewKeyWriter.value(k)

    # A non-empty target is refused without --force; with it the backup's keys are written over.
    ra_extra = b"key:000001"
    rb.set(ra_extra, b"changed after restore")
    p = b.admin("restore", str(backup_dir))
    assert p.returncode != 0 and "not empty" in text(p), text(p)
    assert rb.get(ra_extra) == b"changed after restore"
    p = b.admin("restore", str(backup_dir), "--force")
    assert p.returncode == 0, text(p)
    assert rb.get(ra_extra) == must[ra_extra]

    # One range only (a range recreated empty, say): its keys come back, the others are left alone.
    inside, outside = b"key:005500", b"key:007000"
    rb.set(inside, b"lost")
    rb.set(outside, b"newer than the backup")
    p = b.admin("restore", str(backup_dir), "--force", "--from", "key:005000", "--before", "key:006000")
    assert p.returncode == 0, text(p)
    assert "restored 1000 keys" in text(p), text(p)
    assert rb.get(inside) == must[inside]
    assert rb.get(outside) == b"newer than the backup"

    # A damaged data file is refused before anything is written.
    damaged = tmp_path / "damaged"
    shutil.copytree(backup_dir, damaged)
    with open(damaged / "data.msgpack", "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0x40]))
    rb.set(ra_extra, b"changed again")
    p = b.admin("restore", str(damaged), "--force")
    assert p.returncode != 0, text(p)
    assert "damaged" in text(p) and "checksum" in text(p), text(p)
    assert rb.get(ra_extra) == b"changed again"

    # A backup that did not finish (no manifest) is not a backup.
    (damaged / "manifest.json").unlink()
    p = b.admin("restore", str(damaged), "--force")
    assert p.returncode != 0 and "did not finish" in text(p), text(p)


def test_a_backup_with_an_unavailable_range_fails_and_leaves_no_backup(ops, tmp_path):
    c = ops(workers=2, split_points="m")
    r = c.redis()
    load(r, {b"a%d" % i: b"x" for i in range(100)} | {b"z%d" % i: b"y" for i in range(100)})
    owner = c.owner_of(b"z1")
    c.kill_worker(owner)
    wait_for(lambda: not next(w for w in c.status()["workers"] if w["id"] == owner)["alive"],
             DEAD_TIMEOUT_S, f"{owner} dead in status", c)
    d = tmp_path / "b"
    p = c.admin("backup", str(d))
    assert p.returncode != 0, text(p)
    assert "backup failed" in text(p) and "unavailable" in text(p), text(p)
    assert not (d / "manifest.json").exists() and not list(d.iterdir())
