"""Elastic by default: shards split as data grows and adjacent small shards merge back as it
shrinks, with a client reading and writing throughout; `clossyne-admin merge` by hand (moving one
shard to the other's owner first); a worker SIGKILLed during a merge's move and during its join
loses nothing and leaves every range with one owner.

Every wait is bounded; a broken binary fails a test instead of hanging it.
"""
from __future__ import annotations

import os
import signal
import time

import redis

from test_elastic import (ElasticCluster, Mixer, elastic, full_rng, key, load,  # noqa: F401
                          read_all, wait_for)


class DefaultCluster(ElasticCluster):
    """The broker's own defaults (splits at 64 MiB, merges below a quarter of the split limit),
    with only the flags the test gives."""
    fixed_shape = False


def tiled(st: dict) -> bool:
    """Shards cover the key space once, in order, each with one owner."""
    shards = sorted(st["shards"], key=lambda s: (s["lo"] is not None, s["lo"] or ""))
    if shards[0]["lo"] is not None or shards[-1]["hi"] is not None:
        return False
    return all(a["hi"] == b["lo"] for a, b in zip(shards, shards[1:])) and all(
        s["owner"] for s in shards)


def readable(r: redis.Redis, model: dict) -> bool:
    try:
        return read_all(r, model) == []
    except redis.RedisError:
        return False


def busy(shard: dict) -> bool:
    return bool(shard.get("busy") or shard.get("change"))


def default_cluster(tmp_path_factory, **kw) -> DefaultCluster:
    import conftest
    c = DefaultCluster(tmp_path_factory.mktemp("merge"), **kw)
    conftest._active.append(c)
    c.start()
    return c


def test_shards_split_then_merge_back_under_load(tmp_path_factory):
    # Default flags but a 1 MB split limit: 100k keys of ~100 bytes make tens of shards.
    c = default_cluster(tmp_path_factory, workers=3, broker_args=["--shard-max-bytes", "1000000"])
    try:
        r = redis.Redis(host="127.0.0.1", port=c.port, socket_timeout=30)
        model = {key(i): b"v%06d-" % i + b"x" * 90 for i in range(100_000)}
        load(r, model)
        wait_for(lambda: len(c.status()["shards"]) >= 12, 90, "shards split", c)
        kept = [k for i, k in enumerate(model) if i % 20 == 0]
        mixer = Mixer(c.port, model, list(kept))
        mixer.start()
        doomed = [k for i, k in enumerate(model) if i % 20 != 0]
        for i in range(0, len(doomed), 1000):
            chunk = doomed[i:i + 1000]
            assert r.delete(*chunk) == len(chunk)
            for k in chunk:
                model.pop(k)
        split_count = len(c.status()["shards"])
        t0 = time.monotonic()
        wait_for(lambda: len(c.status()["shards"]) <= 6, 60, "small shards merged back", c)
        merge_s = time.monotonic() - t0
        time.sleep(2)
        mixer.stop.set()
        mixer.join(30)
        assert mixer.crash is None, mixer.crash
        assert mixer.ops > 100
        assert mixer.failed == [] and mixer.wrong == [], (mixer.failed[:5], mixer.wrong[:5])
        assert read_all(r, model) == []
        assert full_rng(r) == sorted(model.items())
        st = wait_for(lambda: (lambda s: s if all(w["shards"] >= 1 for w in s["workers"])
                               else None)(c.status()), 60, "every worker serves a shard", c)
        assert tiled(st)
        log = (c.tmpdir / "broker.log").read_text()
        assert "broker: merged shards" in log
        print(f"split into {split_count} shards; merged to {len(st['shards'])} in {merge_s:.1f} s")
    finally:
        c.stop()


def test_admin_merge_moves_first_and_errors(elastic):
    c = elastic(workers=2, split_points="g,m,t", broker_args=["--no-auto-balance"])
    r = redis.Redis(host="127.0.0.1", port=c.port, socket_timeout=30)
    model = {b"%c-%04d" % (ch, i): b"v%d" % i for ch in b"aeghmpstz" for i in range(300)}
    load(r, model)
    st = c.status()
    ids = [s["id"] for s in sorted(st["shards"], key=lambda s: s["lo"] or "")]
    owners = {s["id"]: s["owner"] for s in st["shards"]}
    assert all("bytes" in s and s["bytes"] > 0 for s in st["shards"] if s["keys"])
    table = c.admin("status").stdout.decode()
    assert "BYTES" in table
    bad = c.admin("merge", str(ids[0]), str(ids[2]))
    assert bad.returncode != 0 and b"not adjacent" in bad.stderr
    bad = c.admin("merge", str(ids[0]), "999")
    assert bad.returncode != 0 and b"no shard 999" in bad.stderr
    # Adjacent shards on two owners: one moves, then they merge.
    a, b = next((x, y) for x, y in zip(ids, ids[1:]) if owners[x] != owners[y])
    out = c.admin("merge", str(a), str(b))
    assert out.returncode == 0, out.stderr.decode()
    assert b"then merging" in out.stdout and b"done" in out.stdout
    st = c.status()
    assert len(st["shards"]) == 3 and tiled(st)
    assert a not in [s["id"] for s in st["shards"]] and b not in [s["id"] for s in st["shards"]]
    assert read_all(r, model) == [] and full_rng(r) == sorted(model.items())


def test_worker_killed_during_merge_loses_nothing(elastic):
    c = elastic(workers=2, split_points="key:003000", data_dirs=True, fsync="always",
                broker_args=["--no-auto-balance", "--move-chunk-keys", "50"])
    r = redis.Redis(host="127.0.0.1", port=c.port, socket_timeout=30)
    model = {key(i): b"w%d" % i for i in range(6000)}
    load(r, model)
    st = c.status()
    left, right = sorted(st["shards"], key=lambda s: s["lo"] or "")
    assert left["owner"] != right["owner"]
    # 1. Killed during the move step: the mover's source dies while it copies in 50-key chunks.
    out = c.admin("--no-wait", "merge", str(left["id"]), str(right["id"]))
    assert out.returncode == 0, out.stderr.decode()
    assert b"moving shard" in out.stdout
    mover = right if b"moving shard %d " % right["id"] in out.stdout else left
    c.kill_worker(mover["owner"])  # 6000 keys in 50-key chunks, each fsynced: still copying
    c.start_worker(mover["owner"])
    wait_for(lambda: tiled(c.status()) and all(w["alive"] for w in c.status()["workers"]), 60,
             "the cluster whole again", c)
    wait_for(lambda: not any(busy(s) for s in c.status()["shards"]), 60, "changes ended", c)
    assert read_all(r, model) == [] and full_rng(r) == sorted(model.items())
    # 2. Killed during the join step: the owner is stopped before the merge reaches it, and
    # killed before it runs it, or a moment after it ran it (its reply may be lost).
    for delay in (None, 0.0, 0.003, 0.02):
        st = c.status()
        if len(st["shards"]) == 1:
            out = c.admin("split", str(st["shards"][0]["id"]), "key:003000")
            assert out.returncode == 0, out.stderr.decode()
        st = wait_for(lambda: (lambda s: s if len(s["shards"]) == 2 and not any(
            busy(x) for x in s["shards"]) else None)(c.status()), 30, "two shards", c)
        ids = [s["id"] for s in sorted(st["shards"], key=lambda s: s["lo"] or "")]
        if st["shards"][0]["owner"] != st["shards"][1]["owner"]:
            out = c.admin("merge", str(ids[0]), str(ids[1]))  # moves one, then merges
            assert out.returncode == 0, out.stderr.decode()
            continue
        owner = st["shards"][0]["owner"]
        pid = c.workers[owner].popen.pid
        os.kill(pid, signal.SIGSTOP)
        out = c.admin("--no-wait", "merge", str(ids[0]), str(ids[1]))
        assert out.returncode == 0, out.stderr.decode()
        if delay is not None:
            os.kill(pid, signal.SIGCONT)
            time.sleep(delay)
        c.kill_worker(owner)
        c.start_worker(owner)
        wait_for(lambda: tiled(c.status()) and all(w["alive"] for w in c.status()["workers"]),
                 60, "the cluster whole again", c)
        wait_for(lambda: not any(busy(s) for s in c.status()["shards"]), 60, "changes ended", c)
        assert read_all(r, model) == [] and full_rng(r) == sorted(model.items())
        assert tiled(c.status())


def test_replicated_merge_every_member_joins(elastic):
    # Two workers, two members per shard: every shard has both workers, in either order.
    c = elastic(workers=2, split_points="key:001000,key:002000",
                broker_args=["--no-auto-balance", "--replicas", "2"])
    r = redis.Redis(host="127.0.0.1", port=c.port, socket_timeout=30)
    model = {key(i): b"r%d" % i for i in range(3000)}
    load(r, model)
    shards = sorted(c.status()["shards"], key=lambda s: s["lo"] or "")
    assert len(shards) == 3 and all(len(s["members"]) == 2 for s in shards)
    out = c.admin("merge", str(shards[0]["id"]), str(shards[1]["id"]))
    assert out.returncode == 0, out.stderr.decode()
    st = c.status()
    assert len(st["shards"]) == 2 and tiled(st)
    merged = next(s for s in st["shards"] if s["lo"] is None)
    assert merged["hi"] == "key:002000" and len(merged["members"]) == 2
    for wid in ("w1", "w2"):
        assert "merged at 'key:001000' into shard %d" % merged["id"] in (
            c.tmpdir / f"worker-{wid}.log").read_text()
    assert read_all(r, model) == [] and full_rng(r) == sorted(model.items())
    # The primary dies: the follower's merged copy serves every key.
    c.kill_worker(merged["owner"])
    wait_for(lambda: readable(r, model), 60, "the follower serves the merged shard", c)
