#!/usr/bin/env python3
"""Added latency of seed-dialect framing (issue 13, item 3): how long a small request sent with no
line ending waits before the frontend takes it as complete.

Starts a cluster (broker, two workers, frontend; binaries from CLOSSYNE_BIN or build/bin) unless
--port names a running frontend, then times N round trips of a small SET (a 16-byte key, a 32-byte
value) on one connection each way:
  raw+LF      raw socket, `SET:k v\\n`      (framed by its line ending: no pause is waited for)
  raw         raw socket, `SET:k v`        (no line ending: complete after --seed-small-pause-us)
  client      clossyne.Clossyne.set        (the unmodified original client: no line ending)
and a few 1 MB SETs with the client (a large request waits --seed-pause-ms).
The added latency is p50(raw) - p50(raw+LF); the requirement is <= 1 ms.

    python3 bench/seed_latency.py [--n 3000] [--port P] [--frontend-arg=--seed-small-pause-us=250 ...]
"""
import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "clients" / "python"))

import clossyne  # noqa: E402
from cluster import Cluster  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def raw_round_trips(port: int, n: int, eol: bytes) -> list:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    want = b"OK" + eol
    times = []
    for i in range(n):
        req = b"SET:bench:k%010d value-%024d%s" % (i % 1000, i, eol)
        t0 = time.perf_counter()
        s.sendall(req)
        got = b""
        while len(got) < len(want):
            chunk = s.recv(64)
            if not chunk:
                raise RuntimeError("connection closed")
            got += chunk
        times.append(time.perf_counter() - t0)
        if got != want:
            raise RuntimeError(f"unexpected reply {got!r}")
    s.close()
    return times


def client_round_trips(port: int, n: int) -> list:
    times = []
    with clossyne.Clossyne("127.0.0.1", port) as db:
        for i in range(n):
            t0 = time.perf_counter()
            db.set("bench:c%010d" % (i % 1000), "value-%024d" % i)
            times.append(time.perf_counter() - t0)
    return times


def big_sets(port: int, n: int, size: int) -> list:
    """Times of the 1 MB SETs that succeeded and were stored whole (a cut one is reported)."""
    times = []
    value = "v" * size
    for i in range(n):
        try:
            with clossyne.Clossyne("127.0.0.1", port, timeout=30) as db:
                t0 = time.perf_counter()
                db.set("bench:big%d" % i, value)
                times.append(time.perf_counter() - t0)
                got = db.get("bench:big%d" % i)
                if got != value:
                    print(f"1 MB SET {i}: stored {len(got or '')} bytes of {size}")
        except (clossyne.ClossyneError, OSError) as e:
            print(f"1 MB SET {i} failed: {str(e)[:100]}")
    return times


def line(name, xs):
    ms = [x * 1000 for x in xs]
    print(f"{name:<10} n={len(ms):<5} p50 {pct(ms, 50):7.3f} ms  p90 {pct(ms, 90):7.3f} ms  "
          f"p99 {pct(ms, 99):7.3f} ms  mean {statistics.mean(ms):7.3f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--port", type=int, help="a running frontend (default: start a cluster)")
    ap.add_argument("--frontend-arg", action="append", default=[], help="extra frontend flag")
    args = ap.parse_args()
    cluster = None
    port = args.port
    if port is None:
        class C(Cluster):
            def _frontend_argv(self):
                return super()._frontend_argv() + args.frontend_arg
        cluster = C(Path(tempfile.mkdtemp(prefix="seed-latency-")))
        cluster.start()
        port = cluster.port
    try:
        raw_round_trips(port, 300, b"\n")  # warm up
        raw_round_trips(port, 300, b"")
        lf = raw_round_trips(port, args.n, b"\n")
        none = raw_round_trips(port, args.n, b"")
        cli = client_round_trips(port, args.n)
        big = big_sets(port, 10, 1 << 20)
        line("raw+LF", lf)
        line("raw", none)
        line("client", cli)
        if big:
            line("client 1MB", big)
        print(f"added p50 latency, no line ending vs line ending: "
              f"{(statistics.median(none) - statistics.median(lf)) * 1000:.3f} ms (raw), "
              f"{(statistics.median(cli) - statistics.median(lf)) * 1000:.3f} ms (client)")
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
