#!/usr/bin/env python3
"""How long a split and a merge take, and the longest pause a client sees meanwhile (issue 18).

Starts a one-worker cluster (tests/integration/cluster.py, fixed shape), loads N keys into its one
shard, splits it by hand (clossyne-admin split); then, in a fresh cluster, loads 2 x M keys, cuts
them into two shards of M keys and merges those (clossyne-admin merge). The times are the broker's own (its log's
'splitting'/'split' and 'merging'/'merged' lines, ms); the pause is the longest single SET or GET a
client running throughout waited for.

    CLOSSYNE_BIN=build/bin python3 bench/elastic_times.py [--split-keys 1000000] [--merge-keys 100000]
"""
import argparse
import datetime
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
from test_elastic import ElasticCluster  # noqa: E402


class Prober(threading.Thread):
    """SET then GET random keys of the loaded range; the longest single wait and any error."""

    def __init__(self, port: int, n: int):
        super().__init__(daemon=True)
        self.r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=60)
        self.n, self.stop, self.worst, self.errors, self.ops = n, threading.Event(), 0.0, [], 0

    def run(self):
        rng = random.Random(1)
        while not self.stop.is_set():
            k = b"k%09d" % rng.randrange(self.n)
            for call in (lambda: self.r.set(k, b"p"), lambda: self.r.get(k)):
                t = time.perf_counter()
                try:
                    call()
                except redis.RedisError as e:
                    self.errors.append(str(e))
                self.worst = max(self.worst, time.perf_counter() - t)
                self.ops += 1


def stamp(line: str) -> float:
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def between(log: Path, start: str, end: str) -> float:
    lines = log.read_text().splitlines()
    a = [stamp(x) for x in lines if re.search(start, x)][-1]
    b = [stamp(x) for x in lines if re.search(end, x)][-1]
    return b - a


def load(r: redis.Redis, lo: int, hi: int) -> None:
    for i in range(lo, hi, 5000):
        r.mset({b"k%09d" % j: b"value-%09d" % j for j in range(i, min(hi, i + 5000))})


def measure(c: ElasticCluster, what: str, args: list[str], start: str, end: str, n: int) -> None:
    probe = Prober(c.port, n)
    probe.start()
    time.sleep(1.0)
    out = c.admin(*args, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    time.sleep(1.0)
    probe.stop.set()
    probe.join()
    took = between(c.tmpdir / "broker.log", start, end)
    print(f"{what}: {took * 1000:.0f} ms (broker log); longest client pause {probe.worst * 1000:.0f}"
          f" ms over {probe.ops} ops, {len(probe.errors)} errors", flush=True)


def cluster() -> ElasticCluster:
    c = ElasticCluster(Path(tempfile.mkdtemp(prefix="clossyne-elastic-")), workers=1,
                       broker_args=["--no-auto-balance"])
    c.start()
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split-keys", type=int, default=1_000_000)
    ap.add_argument("--merge-keys", type=int, default=100_000)
    a = ap.parse_args()
    c = cluster()
    try:
        r = redis.Redis(host="127.0.0.1", port=c.port, socket_timeout=60)
        load(r, 0, a.split_keys)
        time.sleep(1.5)  # a heartbeat reports the shard's size
        shard = c.status()["shards"][0]
        print(f"one shard of {shard['keys']} keys, {shard['bytes'] / 2**20:.1f} MiB", flush=True)
        measure(c, f"split of a {shard['keys']}-key shard", ["split", str(shard["id"])],
                r"broker: splitting shard", r"broker: split shard", a.split_keys)
    finally:
        c.stop()
    c = cluster()  # afresh: two shards of M keys each
    try:
        r = redis.Redis(host="127.0.0.1", port=c.port, socket_timeout=60)
        load(r, 0, 2 * a.merge_keys)
        at = (b"k%09d" % a.merge_keys).decode()
        shard = c.status()["shards"][0]
        assert c.admin("split", str(shard["id"]), at, timeout=120).returncode == 0
        shards = c.status()["shards"]
        left = next(x for x in shards if x["hi"] == at)
        right = next(x for x in shards if x["lo"] == at)
        time.sleep(1.5)
        measure(c, f"merge of two {a.merge_keys}-key shards", ["merge", str(left["id"]),
                str(right["id"])], r"broker: merging shards", r"broker: merged shards",
                2 * a.merge_keys)
    finally:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
