#!/usr/bin/env python3
"""Bulk-load a CSV of `key,value` rows into Clossyne with batched, pipelined requests, then query a range.

    python3 bulk_load_csv.py --broker tcp://127.0.0.1:4298 data.csv [--start K] [--end K] [--show 5]

Rows are sent as `batch` envelopes of --chunk sets, several envelopes in flight at once. A header row
`key,value` is skipped. Prints the rows loaded, the count in the range [--start, --end] (default: from
the smallest to the largest key of the file) and its first --show rows. A load that lasts more than a
second shows its progress on stderr (--progress auto): a bar on a terminal, a line a second otherwise;
--progress always shows it from the start, --progress never hides it.
"""
import argparse
import csv
import os
import sys
import time

try:
    import clossyne
except ImportError:  # run from the source tree without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import clossyne


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row:
                continue
            if len(row) != 2:
                raise ValueError(f"{path}:{i + 1}: expected key,value, got {len(row)} fields")
            if i == 0 and row == ["key", "value"]:
                continue
            yield row[0], row[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="a CSV file of key,value rows")
    ap.add_argument("--broker", default="tcp://127.0.0.1:4298", help="the broker's client endpoint")
    ap.add_argument("--chunk", type=int, default=500, help="sets per batch envelope")
    ap.add_argument("--window", type=int, default=8, help="batch envelopes in flight")
    ap.add_argument("--start", help="first key of the range query (default: smallest key loaded)")
    ap.add_argument("--end", help="last key of the range query (default: largest key loaded)")
    ap.add_argument("--show", type=int, default=5, help="how many rows of the range to print")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                    help="progress on stderr: for loads over a second (auto), always, or never")
    args = ap.parse_args()

    with clossyne.Client(args.broker, timeout=args.timeout) as c:
        t0 = time.monotonic()
        bounds = {}

        def tracked():  # the smallest and largest key, for the range query
            for key, value in rows(args.csv):
                kb = key.encode()
                bounds["lo"] = min(bounds.get("lo", kb), kb)
                bounds["hi"] = max(bounds.get("hi", kb), kb)
                yield kb, value

        total = sum(1 for _ in rows(args.csv)) if args.progress != "never" else None
        progress = None
        if args.progress != "never":
            progress = clossyne.Progress(total=total, after=0.0 if args.progress == "always" else 1.0)
        loaded = c.bulk_load(tracked(), chunk=args.chunk, window=args.window, progress=progress,
                             total=total)
        lo, hi = bounds.get("lo"), bounds.get("hi")
        dt = time.monotonic() - t0
        print(f"loaded {loaded} rows in {dt:.2f}s ({loaded / max(dt, 1e-9):.0f} rows/s)")
        if loaded == 0:
            print("range: 0 rows")
            return 0
        start = args.start.encode() if args.start is not None else lo
        end = args.end.encode() if args.end is not None else hi
        count, first = 0, []
        for k, v in c.range(start, end):
            if count < args.show:
                first.append((k, v))
            count += 1
        print(f"range [{start.decode(errors='replace')}, {end.decode(errors='replace')}]: {count} rows")
        for k, v in first:
            print(f"  {k.decode(errors='replace')} = {v.decode(errors='replace')}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except clossyne.ClossyneError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
