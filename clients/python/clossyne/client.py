"""`Client`: the broker's msgpack envelope protocol (docs/PROTOCOL.md, version 1) over one ZeroMQ DEALER."""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import msgpack
import zmq

from .errors import ClossyneError, ClossyneTimeout

PROTOCOL_VERSION = 1
MAX_BATCH_OPS = 100000  # the broker refuses larger batches (common/protocol.hpp kMaxBatchOps)

BytesLike = Union[bytes, bytearray, memoryview, str]
Convert = Callable[[dict], Any]


def _b(x: BytesLike, what: str = "key") -> bytes:
    """Keys and values: bytes as they are, str as UTF-8."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise TypeError(f"a Clossyne {what} must be bytes or str, not {type(x).__name__}")


def _as_bytes(x: Any) -> Optional[bytes]:
    """A value from a reply (bin; str tolerated) as bytes, nil as None."""
    if x is None or isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    raise ClossyneError(f"unexpected value type in reply: {type(x).__name__}")


def _field(reply: dict, name: str) -> Any:
    if name not in reply:
        raise ClossyneError(f"reply has no '{name}' field: {reply!r}")
    return reply[name]


# ---- operations: (request fields, reply converter) ------------------------------------------------
# Each builder returns the envelope fields of one op (without v/id) and how to turn its reply into the
# Python result; Client methods and Pipeline share them.

def _true(reply: dict) -> bool:
    return True


def _n(reply: dict) -> int:
    return int(_field(reply, "n"))


def _get_value(reply: dict) -> Optional[bytes]:
    return _as_bytes(reply.get("value"))


def _values(reply: dict) -> List[Optional[bytes]]:
    return [_as_bytes(v) for v in _field(reply, "values")]


def _items(reply: dict) -> List[Tuple[bytes, bytes]]:
    return [(_as_bytes(k), _as_bytes(v)) for k, v in _field(reply, "items")]


def _where(reply: dict) -> Dict[str, Any]:
    w = _field(reply, "where")
    if not isinstance(w, dict):
        raise ClossyneError(f"'where' is not a map: {w!r}")
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
            for k, v in w.items()}


def _build(op: str, *args: Any, **kw: Any) -> Tuple[dict, Convert]:
    if op == "set":
        key, value = args
        return {"op": "set", "key": _b(key), "value": _b(value, "value")}, _true
    if op == "get":
        (key,) = args
        return {"op": "get", "key": _b(key)}, _get_value
    if op in ("delete", "del"):
        keys = [_b(k) for k in args]
        if len(keys) == 1:
            return {"op": "del", "keys": keys}, lambda r: _n(r) > 0
        return {"op": "del", "keys": keys}, _n
    if op == "exists":
        return {"op": "exists", "keys": [_b(k) for k in args]}, _n
    if op == "mget":
        (keys,) = args
        return {"op": "mget", "keys": [_b(k) for k in keys]}, _values
    if op == "mset":
        (pairs,) = args
        if isinstance(pairs, Mapping):
            pairs = pairs.items()
        return {"op": "mset", "pairs": [[_b(k), _b(v, "value")] for k, v in pairs]}, _true
    if op in ("range", "rng"):
        start, end = (list(args) + [None, None])[:2]
        limit = kw.get("limit", args[2] if len(args) > 2 else None)
        fields: dict = {"op": "rng"}
        if start is not None:
            fields["key"] = _b(start)
        if end is not None:
            fields["end"] = _b(end)
        if limit is not None:
            fields["limit"] = int(limit)
        return fields, _items
    if op == "dbsize":
        return {"op": "dbsize"}, _n
    if op == "where":
        (key,) = args
        return {"op": "where", "key": _b(key)}, _where
    if op == "ping":
        return {"op": "ping"}, _true
    raise ValueError(f"unknown Clossyne operation {op!r}")


def _successor(key: bytes) -> bytes:
    """The smallest key greater than `key` in byte order."""
    return key + b"\x00"


class Client:
    """A client of the Clossyne broker's client endpoint (`--clients`, default port 4298).

    One ZeroMQ DEALER socket (LINGER 0). Every request carries a fresh `id`; replies are matched by `id`,
    and replies with an id this client is not waiting for (for example the late answer to a request
    that timed out) are dropped, so a timeout never shifts later answers onto the wrong request.

    Keys and values are bytes, or str (sent as UTF-8). Values come back as bytes.

    `timeout` (seconds, None = wait forever) bounds each wait for a reply; when it passes,
    `ClossyneTimeout` is raised. An `{"ok": false}` reply raises `ClossyneError` with the error text.

    Thread safety: a Client may be shared by threads; each call holds an internal lock for its whole
    round trip, so calls from different threads run one after another on the one socket. For parallel
    traffic use one Client per thread, or `pipeline()` / `batch()` to put many ops in one envelope.
    Do not share a Client across `fork()`.
    """

    def __init__(self, broker: str = "tcp://127.0.0.1:4298", timeout: Optional[float] = 5.0,
                 context: Optional[zmq.Context] = None):
        self.broker = broker
        self.timeout = timeout
        self._ctx = context or zmq.Context.instance()
        self._sock: Optional[zmq.Socket] = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.connect(broker)
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # ---- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket (pending requests are dropped). Safe to call twice."""
        with self._lock:
            if self._sock is not None:
                self._sock.close(linger=0)
                self._sock = None

    @property
    def closed(self) -> bool:
        return self._sock is None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<clossyne.Client {self.broker} {'closed' if self.closed else 'open'}>"

    # ---- wire ------------------------------------------------------------------------------------
    def _envelope(self, fields: dict) -> dict:
        return {"v": PROTOCOL_VERSION, "id": next(self._ids), **fields}

    def _socket(self) -> zmq.Socket:
        if self._sock is None:
            raise ClossyneError("the client is closed")
        return self._sock

    def _poll_ms(self, deadline: Optional[float]) -> Optional[int]:
        if deadline is None:
            return None
        return max(0, int((deadline - time.monotonic()) * 1000 + 0.999))

    def _deadline(self) -> Optional[float]:
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _send(self, envelope: dict, deadline: Optional[float]) -> None:
        sock = self._socket()
        if not sock.poll(self._poll_ms(deadline), zmq.POLLOUT):
            raise ClossyneTimeout(f"cannot send to {self.broker} within {self.timeout}s "
                                  f"(op {envelope.get('op')!r})")
        sock.send(msgpack.packb(envelope, use_bin_type=True))

    def _recv_until(self, pending: Dict[int, Any], deadline: Optional[float], what: str) -> Tuple[int, dict]:
        """The next reply whose id is in `pending` (others are dropped)."""
        sock = self._socket()
        while True:
            if not sock.poll(self._poll_ms(deadline), zmq.POLLIN):
                raise ClossyneTimeout(f"no reply from {self.broker} within {self.timeout}s ({what})")
            frames = sock.recv_multipart()
            try:
                reply = msgpack.unpackb(frames[-1], raw=False, strict_map_key=False)
            except Exception:
                continue  # not ours to interpret: no id can be read
            if not isinstance(reply, dict):
                continue
            rid = reply.get("id")
            if isinstance(rid, int) and rid in pending:
                return rid, reply

    def _roundtrip(self, envelopes: List[dict], window: int = 16) -> List[dict]:
        """Send envelopes, at most `window` in flight, and return their replies in the same order.
        The timeout applies to each wait: it raises when no awaited reply comes for `timeout` seconds."""
        with self._lock:
            replies: List[Optional[dict]] = [None] * len(envelopes)
            pending: Dict[int, int] = {}
            nxt = 0
            while nxt < len(envelopes) or pending:
                while nxt < len(envelopes) and len(pending) < max(1, window):
                    env = envelopes[nxt]
                    self._send(env, self._deadline())
                    pending[env["id"]] = nxt
                    nxt += 1
                ops = sorted({envelopes[i].get("op") for i in pending.values()})
                rid, reply = self._recv_until(pending, self._deadline(), "op " + ",".join(map(str, ops)))
                replies[pending.pop(rid)] = reply
            return replies  # type: ignore[return-value]

    def _call(self, fields: dict, convert: Convert) -> Any:
        (reply,) = self._roundtrip([self._envelope(fields)])
        return convert(self._checked(reply))

    @staticmethod
    def _checked(reply: dict) -> dict:
        if reply.get("ok") is not True:
            raise ClossyneError(str(reply.get("error") or f"request failed: {reply!r}"))
        return reply

    def request(self, op: str, **fields: Any) -> dict:
        """Send one raw envelope (`op` and fields as in docs/PROTOCOL.md; `v` and `id` are added) and
        return the reply map. Raises ClossyneError on `ok: false`."""
        (reply,) = self._roundtrip([self._envelope({"op": op, **fields})])
        return self._checked(reply)

    # ---- operations ------------------------------------------------------------------------------
    def set(self, key: BytesLike, value: BytesLike) -> bool:
        """Store value under key. Returns True."""
        return self._call(*_build("set", key, value))

    def get(self, key: BytesLike) -> Optional[bytes]:
        """The value of key as bytes, or None when absent."""
        return self._call(*_build("get", key))

    def delete(self, *keys: BytesLike) -> Union[bool, int]:
        """Delete keys. With one key: True if it existed, else False. With several: the number of keys
        that existed and were deleted (an int). With none: 0, and nothing is sent."""
        if not keys:
            return 0
        return self._call(*_build("delete", *keys))

    def exists(self, *keys: BytesLike) -> int:
        """How many of keys exist (a key named twice counts twice, as in Redis)."""
        if not keys:
            return 0
        return self._call(*_build("exists", *keys))

    def mget(self, keys: Iterable[BytesLike]) -> List[Optional[bytes]]:
        """The values of keys (bytes or None), in the order given."""
        keys = list(keys)
        if not keys:
            return []
        return self._call(*_build("mget", keys))

    def mset(self, pairs: Union[Mapping[BytesLike, BytesLike], Iterable[Tuple[BytesLike, BytesLike]]]) -> bool:
        """Store many keys: a mapping or an iterable of (key, value) pairs. Returns True."""
        if isinstance(pairs, Mapping):
            pairs = list(pairs.items())
        else:
            pairs = list(pairs)
        if not pairs:
            return True
        return self._call(*_build("mset", pairs))

    def range(self, start: Optional[BytesLike], end: Optional[BytesLike], limit: Optional[int] = None,
              page_size: int = 1000) -> Iterator[Tuple[bytes, bytes]]:
        """An iterator of (key, value) with start <= key <= end (both ends inclusive, byte order),
        in key order, at most `limit` items. None for start or end leaves that side open.

        The range is fetched in pages of `page_size` items (`rng` with `limit`), the first page at once
        (so errors show here) and the next ones as the iterator advances; pages are separate requests,
        so keys written meanwhile may or may not appear. list(client.range(...)) for a list."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        s = None if start is None else _b(start)
        e = None if end is None else _b(end)

        def page(lo: Optional[bytes], want: int) -> List[Tuple[bytes, bytes]]:
            return self._call(*_build("range", lo, e, limit=want))

        left = limit
        want = page_size if left is None else min(page_size, left)
        first = page(s, want) if want > 0 else []
        return self._range_iter(first, want, left, e, page, page_size)

    @staticmethod
    def _range_iter(items, want, left, e, page, page_size) -> Iterator[Tuple[bytes, bytes]]:
        while True:
            for item in items:
                yield item
            if left is not None:
                left -= len(items)
            if len(items) < want or (left is not None and left <= 0):
                return
            lo = _successor(items[-1][0])
            if e is not None and lo > e:
                return
            want = page_size if left is None else min(page_size, left)
            items = page(lo, want)

    def dbsize(self) -> int:
        """The number of keys in the whole cluster."""
        return self._call(*_build("dbsize"))

    def where(self, key: BytesLike) -> Dict[str, Any]:
        """Where key lives: {"shard": int, "owner": str, "path": "2:LRRL", "depth": int, "found": bool}
        (the node's left/right turns from its shard's root, or where it would go when absent)."""
        return self._call(*_build("where", key))

    def ping(self) -> bool:
        """True when the broker answers."""
        return self._call(*_build("ping"))

    # ---- many ops per envelope -------------------------------------------------------------------
    def pipeline(self, chunk: int = 1000, window: int = 8) -> "Pipeline":
        """A Pipeline: queue ops (same names and arguments as the Client methods; each returns the
        pipeline), then `execute()` sends them as `batch` envelopes of up to `chunk` ops, with up to
        `window` envelopes in flight, and returns the results in order."""
        return Pipeline(self, chunk=chunk, window=window)

    def batch(self, ops: Iterable[Tuple[Any, ...]], raise_on_error: bool = True, chunk: int = 1000,
              window: int = 8) -> List[Any]:
        """Run ops given as tuples, e.g. [("set", b"k", b"v"), ("get", b"k"), ("delete", b"k")],
        in `batch` envelopes; returns their results in order (see Pipeline.execute)."""
        p = self.pipeline(chunk=chunk, window=window)
        for op in ops:
            p.add(*op)
        return p.execute(raise_on_error=raise_on_error)


class Pipeline:
    """Ops queued for one `execute()`; made by `Client.pipeline()`.

        with client.pipeline() as p:       # (the with-block only clears the queue on exit)
            p.set("a", "1").set("b", "2").get("a")
            print(p.execute())                # [True, True, b'1']

    Ops in one batch are answered in order; an op that fails does not fail the others. `execute()`
    raises the first op's ClossyneError after all replies are in (raise_on_error=True), or puts the
    ClossyneError objects in the result list in place of the failed results (raise_on_error=False).
    Ops are not atomic as a group. A range op here returns a list (one `rng` request; pass `limit`).
    """

    def __init__(self, client: Client, chunk: int = 1000, window: int = 8):
        if not 1 <= chunk <= MAX_BATCH_OPS:
            raise ValueError(f"chunk must be in 1..{MAX_BATCH_OPS}")
        self.client = client
        self.chunk = chunk
        self.window = window
        self._ops: List[Tuple[dict, Convert]] = []

    def add(self, op: str, *args: Any, **kw: Any) -> "Pipeline":
        self._ops.append(_build(op, *args, **kw))
        return self

    def set(self, key, value): return self.add("set", key, value)
    def get(self, key): return self.add("get", key)
    def delete(self, *keys): return self.add("delete", *keys)
    def exists(self, *keys): return self.add("exists", *keys)
    def mget(self, keys): return self.add("mget", list(keys))
    def mset(self, pairs): return self.add("mset", pairs)
    def range(self, start, end, limit=None): return self.add("range", start, end, limit=limit)
    def dbsize(self): return self.add("dbsize")
    def where(self, key): return self.add("where", key)
    def ping(self): return self.add("ping")

    def __len__(self) -> int:
        return len(self._ops)

    def reset(self) -> None:
        self._ops = []

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        ops, self._ops = self._ops, []
        if not ops:
            return []
        c = self.client
        envelopes = []
        for i in range(0, len(ops), self.chunk):
            sub = [c._envelope(fields) for fields, _ in ops[i:i + self.chunk]]
            envelopes.append(c._envelope({"op": "batch", "ops": sub}))
        replies = c._roundtrip(envelopes, window=self.window)
        results: List[Any] = []
        first_error: Optional[ClossyneError] = None
        for env, reply in zip(envelopes, replies):
            n = len(env["ops"])
            convs = [conv for _, conv in ops[len(results):len(results) + n]]
            if reply.get("ok") is not True:
                err = ClossyneError(str(reply.get("error") or f"batch failed: {reply!r}"))
                results.extend([err] * n)
                first_error = first_error or err
                continue
            subs = reply.get("replies")
            if not isinstance(subs, list) or len(subs) != n:
                err = ClossyneError(f"batch reply has {len(subs) if isinstance(subs, list) else 'no'} "
                                    f"replies for {n} ops")
                results.extend([err] * n)
                first_error = first_error or err
                continue
            for sub_env, sub, conv in zip(env["ops"], subs, convs):
                try:
                    if not isinstance(sub, dict):
                        raise ClossyneError(f"batch sub-reply is not a map: {sub!r}")
                    results.append(conv(Client._checked(sub)))
                except ClossyneError as err:
                    results.append(err)
                    first_error = first_error or err
        if raise_on_error and first_error is not None:
            raise first_error
        return results
