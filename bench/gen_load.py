#!/usr/bin/env python3
"""Writes N SET commands in RESP (for `redis-cli --pipe`): 16-byte keys key:%012d in sequential
order, 32-byte values. The keys are the ones redis-benchmark -r picks (key:__rand_int__)."""
import sys

n = int(sys.argv[1])
out = sys.stdout.buffer
chunk = []
for i in range(n):
    key = b"key:%012d" % i
    value = (b"v%031d" % i)[:32]
    chunk.append(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$32\r\n%s\r\n" % (key, value))
    if len(chunk) == 10000:
        out.write(b"".join(chunk))
        chunk.clear()
out.write(b"".join(chunk))
