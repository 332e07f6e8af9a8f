#!/usr/bin/env python3
"""Talk to a Clossyne broker with bare pyzmq + msgpack, written from docs/PROTOCOL.md alone.

    python3 raw_pyzmq.py --broker tcp://127.0.0.1:4298 [--prefix demo:]

Exits non-zero (with the reason) if any answer differs from what the protocol promises.
"""
import argparse
import itertools
import sys

import msgpack
import zmq


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker", default="tcp://127.0.0.1:4298", help="the broker's client endpoint")
    ap.add_argument("--prefix", default="rawdemo:", help="prefix of the keys this script writes")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each reply")
    args = ap.parse_args()
    p = args.prefix.encode()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(args.broker)
    ids = itertools.count(1)

    def call(op, **fields):
        req = {"v": 1, "id": next(ids), "op": op, **fields}
        sock.send(msgpack.packb(req, use_bin_type=True))
        while True:
            if not sock.poll(int(args.timeout * 1000)):
                raise TimeoutError(f"no reply to {op} within {args.timeout}s")
            reply = msgpack.unpackb(sock.recv(), raw=False)
            if reply.get("id") == req["id"]:
                break                       # anything else is a late reply to something older
        if not reply["ok"]:
            raise RuntimeError(reply["error"])
        return reply

    def check(what, got, want):
        print(f"{what}: {got!r}")
        if got != want:
            raise AssertionError(f"{what}: expected {want!r}, got {got!r}")

    try:
        call("ping")
        call("set", key=p + b"apple", value=b"red")
        call("mset", pairs=[[p + b"banana", b"yellow"], [p + b"cherry", b"dark red"]])
        check("get apple", call("get", key=p + b"apple")["value"], b"red")
        check("get missing", call("get", key=p + b"missing")["value"], None)
        check("mget", call("mget", keys=[p + b"banana", p + b"missing"])["values"], [b"yellow", None])
        check("exists", call("exists", keys=[p + b"apple", p + b"missing"])["n"], 1)
        check("rng", call("rng", key=p + b"a", end=p + b"z", limit=10)["items"],
              [[p + b"apple", b"red"], [p + b"banana", b"yellow"], [p + b"cherry", b"dark red"]])
        check("rng limit 2", [k for k, _ in call("rng", key=p, end=p + b"\xff", limit=2)["items"]],
              [p + b"apple", p + b"banana"])
        w = call("where", key=p + b"banana")["where"]
        print(f"where banana: {w!r}")
        if not (isinstance(w, dict) and w.get("found") is True):
            raise AssertionError(f"where: expected a found node, got {w!r}")
        batch = call("batch", ops=[{"v": 1, "id": next(ids), "op": "set", "key": p + b"date", "value": b"brown"},
                                   {"v": 1, "id": next(ids), "op": "get", "key": p + b"date"}])
        check("batch get", batch["replies"][1]["value"], b"brown")
        check("del", call("del", keys=[p + b"apple", p + b"missing"])["n"], 1)
        check("get deleted", call("get", key=p + b"apple")["value"], None)
        print(f"dbsize: {call('dbsize')['n']}")
        try:
            call("frobnicate", key=b"x")
            raise AssertionError("an unknown op was accepted")
        except RuntimeError as e:
            print(f"unknown op -> error: {e}")
        print("OK")
        return 0
    except (AssertionError, RuntimeError, TimeoutError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        sock.close()
        ctx.term()


if __name__ == "__main__":
    sys.exit(main())
