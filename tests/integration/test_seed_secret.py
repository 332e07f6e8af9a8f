"""The treap priority seed is the trees' secret (issue 13, item 5): whoever knows it can craft keys that
make a shard's tree a list. The broker hands it to workers only; no client-visible reply carries it:
the unauthenticated `status` op, `clossyne-admin status` (table and JSON), and the frontend's INFO.

The broker runs with the test-only `--seed`, so the test knows the value to look for, in decimal, in
hex and as the 8 bytes msgpack would encode it.
"""
from __future__ import annotations

import ctypes
import json
import struct
import subprocess

import msgpack
import pytest
import zmq

import conftest
from cluster import Cluster, binary, where

SEED = 0x5EED5EED12345678


class SeededCluster(Cluster):
    def _broker_argv(self) -> list[str]:
        return super()._broker_argv() + ["--seed", str(SEED)]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    c = SeededCluster(tmp_path_factory.mktemp("seeded"), workers=2, split_points="m")
    conftest._active.append(c)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        conftest._active.remove(c)


def seed_forms() -> list[bytes]:
    return [str(SEED).encode(), f"{SEED:x}".encode(), f"{SEED:X}".encode(),
            struct.pack(">Q", SEED), struct.pack("<Q", SEED)]


def assert_no_seed(data: bytes, what: str) -> None:
    for form in seed_forms():
        assert form not in data, f"{what} carries the seed ({form!r}): {data[:400]!r}"


def raw_status(cluster: Cluster) -> bytes:
    """One `status` envelope to the broker's client endpoint; the reply's raw msgpack body."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(cluster.client_endpoint)
    try:
        sock.send(msgpack.packb({"v": 1, "id": 7, "op": "status"}, use_bin_type=True))
        assert sock.poll(5000), "no status reply within 5 s"
        return sock.recv_multipart()[-1]
    finally:
        sock.close(linger=0)


def test_status_reply_has_no_seed(seeded):
    seeded.redis().set("a-key", "v")  # shards with keys, as a real cluster has
    body = raw_status(seeded)
    reply = msgpack.unpackb(body, raw=False)
    assert reply["ok"] is True
    assert len(reply["shards"]) == 2, reply
    for shard in reply["shards"]:
        assert "seed" not in shard, shard
        assert {"id", "lo", "hi", "epoch", "keys", "owner"} <= set(shard), shard
    assert_no_seed(body, "the status reply")


def test_admin_status_and_info_have_no_seed(seeded):
    for args in (["status"], ["status", "--json"]):
        r = subprocess.run([binary("clossyne-admin"), "--broker", seeded.client_endpoint, *args],
                           capture_output=True, timeout=15)
        assert r.returncode == 0, r.stderr.decode()
        assert b"seed" not in r.stdout.lower(), r.stdout
        assert_no_seed(r.stdout, "clossyne-admin " + " ".join(args))
    parsed = json.loads(subprocess.run(
        [binary("clossyne-admin"), "--broker", seeded.client_endpoint, "status", "--json"],
        capture_output=True, timeout=15).stdout)
    assert len(parsed["shards"]) == 2
    for section in ("", "all", "everything", "cluster", "server"):
        args = ["INFO", section] if section else ["INFO"]
        with seeded.raw() as c:
            text = c.command(*args)
        data = text if isinstance(text, bytes) else str(text).encode()
        assert b"seed" not in data.lower(), (section, data[:400])
        assert_no_seed(data, "INFO " + section)


def _xxh3(seed: int):
    lib = ctypes.CDLL("libxxhash.so.0")  # what the worker links (Debian's libxxhash)
    f = lib.XXH3_64bits_withSeed
    f.restype = ctypes.c_uint64
    f.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
    return lambda key: f(key, len(key), seed)


def expected_path(keys: list[bytes], key: bytes, prio) -> str:
    """The turns to key in the treap of keys: the highest priority (ties: the smaller key) is the
    root, and so on down each side."""
    turns, lo, hi = "", None, None
    while True:
        inside = [k for k in keys if (lo is None or k > lo) and (hi is None or k < hi)]
        root = min(inside, key=lambda k: (-prio(k), k))
        if root == key:
            return turns
        if key < root:
            turns, hi = turns + "L", root
        else:
            turns, lo = turns + "R", root


def test_workers_still_get_the_seed(seeded):
    """The bus is not a client: the workers' trees do use the broker's seed. Every WHERE path is the
    one a treap with that seed gives (a different seed would move most keys)."""
    r = seeded.redis()
    keys = [f"path-key-{i}".encode() for i in range(60)]  # all in shard [m, +inf)
    for k in keys:
        r.set(k, "v")
    prio = _xxh3(SEED)
    wrong = _xxh3(SEED + 1)
    matches = mismatches_other_seed = 0
    for k in keys:
        info = where(r, k)
        turns = info["path"].split(":", 1)[1]
        assert turns == expected_path(keys, k, prio), (k, info)
        matches += 1
        mismatches_other_seed += turns != expected_path(keys, k, wrong)
    assert matches == len(keys)
    assert mismatches_other_seed > len(keys) // 2  # the check can tell seeds apart
