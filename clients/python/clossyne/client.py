"""`Client`: the broker's msgpack envelope protocol (docs/PROTOCOL.md, version 1) over one ZeroMQ DEALER."""
from __future__ import annotations

import itertools
import os
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


def _bool(reply: dict) -> bool:
    return _n(reply) > 0


def _float(reply: dict) -> float:
    return float(_field(reply, "value"))


def _auto(reply: dict) -> Any:
    """A string or key command's reply as the worker shaped it: an int (`n`), bytes or None
    (`value`, present even when nil), else True (+OK)."""
    if "values" in reply:
        return _values(reply)
    if reply.get("n") is not None:
        return int(reply["n"])
    if "value" in reply:
        return _as_bytes(reply["value"])
    return True


def _type(reply: dict) -> str:
    return "string" if _n(reply) > 0 else "none"


def _word(x: Any) -> bytes:
    """An argument word: numbers as their decimal text (floats with repr's precision)."""
    if isinstance(x, bool):
        raise TypeError("a Clossyne argument must be bytes, str or a number, not bool")
    if isinstance(x, (int, float)):
        return repr(x).encode() if isinstance(x, float) else str(x).encode()
    return _b(x, "argument")


def _keyed(op: str, key: BytesLike, words: Iterable[Any], convert: Convert = _auto) -> Tuple[dict, Convert]:
    """A single-key string or key command (docs/PROTOCOL.md, "String and key commands"): the op is the
    Redis command's name in lower case, `args` the words after the key."""
    fields: dict = {"op": op, "key": _b(key)}
    words = [_word(w) for w in words]
    if words:
        fields["args"] = words
    return fields, convert


def _expiry_words(ex=None, px=None, exat=None, pxat=None) -> List[Any]:
    given = [(w, v) for w, v in (("EX", ex), ("PX", px), ("EXAT", exat), ("PXAT", pxat)) if v is not None]
    if len(given) > 1:
        raise ValueError("give at most one of ex, px, exat, pxat")
    return [x for pair in given for x in pair]


def _set_words(ex=None, px=None, exat=None, pxat=None, nx=False, xx=False, keepttl=False,
               get=False) -> List[Any]:
    if nx and xx:
        raise ValueError("nx and xx exclude each other")
    words = _expiry_words(ex, px, exat, pxat)
    if keepttl:
        if words:
            raise ValueError("keepttl excludes ex, px, exat and pxat")
        words.append("KEEPTTL")
    if nx:
        words.append("NX")
    if xx:
        words.append("XX")
    if get:
        words.append("GET")
    return words


def _condition(nx=False, xx=False, gt=False, lt=False) -> List[str]:
    return [w for w, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt)) if on]


def _pairs(pairs: Any) -> List[list]:
    if isinstance(pairs, Mapping):
        pairs = pairs.items()
    return [[_b(k), _b(v, "value")] for k, v in pairs]


# Ops whose only arguments are the key and fixed words, with how their replies convert.
_SIMPLE_KEYED: Dict[str, Convert] = {
    "setnx": _bool, "setex": _true, "psetex": _true, "getset": _get_value, "getdel": _get_value,
    "incr": _n, "decr": _n, "incrby": _n, "decrby": _n, "incrbyfloat": _float, "append": _n,
    "strlen": _n, "getrange": _get_value, "substr": _get_value, "setrange": _n, "getbit": _n,
    "setbit": _n, "ttl": _n, "pttl": _n, "expiretime": _n, "pexpiretime": _n, "persist": _bool,
    "type": _type,
}


def _build(op: str, *args: Any, **kw: Any) -> Tuple[dict, Convert]:
    if op == "set":
        key, value = args
        words = _set_words(**kw)
        fields = {"op": "set", "key": _b(key), "value": _b(value, "value")}
        if not words:
            return fields, _true
        fields["args"] = [_word(w) for w in words]
        if kw.get("get"):
            return fields, _get_value
        return fields, lambda r: True if "value" not in r else None
    if op in _SIMPLE_KEYED:
        key, *rest = args
        return _keyed(op, key, rest, _SIMPLE_KEYED[op])
    if op == "getex":
        (key,) = args
        persist = kw.pop("persist", False)
        words = _expiry_words(**kw)
        if persist:
            if words:
                raise ValueError("persist excludes ex, px, exat and pxat")
            words = ["PERSIST"]
        return _keyed("getex", key, words, _get_value)
    if op == "bitcount":
        key, *rest = args
        return _keyed("bitcount", key, [w for w in rest if w is not None], _n)
    if op in ("expire", "pexpire", "expireat", "pexpireat"):
        key, when = args
        return _keyed(op, key, [when] + _condition(**kw), _bool)
    if op == "msetnx":
        (pairs,) = args
        return {"op": "msetnx", "pairs": _pairs(pairs)}, _bool
    if op == "rename":
        src, dst = args
        return {"op": "rename", "keys": [_b(src), _b(dst)]}, _true
    if op == "renamenx":
        src, dst = args
        return {"op": "renamenx", "keys": [_b(src), _b(dst)]}, _bool
    if op == "copy":
        src, dst = args
        fields = {"op": "copy", "keys": [_b(src), _b(dst)]}
        if kw.get("replace"):
            fields["args"] = [b"REPLACE"]
        return fields, _bool
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


def set_curve_client(sock: zmq.Socket, cluster_keys: str, role: str = "client") -> None:
    """Makes `sock` a CurveZMQ client with DIR/<role>.key (a Z85 secret key; its public key is
    derived) and the broker's DIR/broker.pub. Call before connect()."""
    def read(name: str) -> bytes:
        with open(os.path.join(cluster_keys, name), "rb") as f:
            return f.read().strip()
    secret = read(f"{role}.key")
    sock.curve_secretkey = secret
    sock.curve_publickey = zmq.curve_public(secret)
    sock.curve_serverkey = read("broker.pub")


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
                 context: Optional[zmq.Context] = None, cluster_keys: Optional[str] = None,
                 role: str = "client"):
        """`cluster_keys`: the directory `clossyne-admin keygen` made (default: the environment's
        CLOSSYNE_CLUSTER_KEYS, if set) for a broker started with --cluster-keys; the connection is
        then CurveZMQ-encrypted with DIR/<role>.key and DIR/broker.pub. `role` "admin" (admin.key)
        is needed for operator commands (drain, move, ...); "client" allows data ops and status."""
        self.broker = broker
        self.timeout = timeout
        self._ctx = context or zmq.Context.instance()
        self._sock: Optional[zmq.Socket] = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        keys = cluster_keys if cluster_keys is not None else os.environ.get("CLOSSYNE_CLUSTER_KEYS")
        if keys:
            set_curve_client(self._sock, keys, role)
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
    def set(self, key: BytesLike, value: BytesLike, ex: Optional[int] = None, px: Optional[int] = None,
            exat: Optional[int] = None, pxat: Optional[int] = None, nx: bool = False, xx: bool = False,
            keepttl: bool = False, get: bool = False) -> Any:
        """Store value under key, as Redis's SET with its options: a time to live (`ex` seconds, `px`
        milliseconds, or an absolute Unix time `exat` / `pxat`; `keepttl` keeps the key's current one;
        without any of these a SET removes the TTL), `nx` only when absent, `xx` only when present.
        Returns True when stored, None when nx/xx stopped it; with get=True the old value instead
        (bytes, or None when there was none)."""
        return self._call(*_build("set", key, value, ex=ex, px=px, exat=exat, pxat=pxat, nx=nx, xx=xx,
                                  keepttl=keepttl, get=get))

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

    # ---- string and key commands (docs/PROTOCOL.md, "String and key commands") ---------------------
    # Each runs atomically on its key's shard; rename, renamenx, copy and msetnx are atomic across
    # shards. Errors come back worded as Redis words them (ClossyneError).
    def setnx(self, key: BytesLike, value: BytesLike) -> bool:
        """Store value only when key does not exist; True when stored."""
        return self._call(*_build("setnx", key, value))

    def setex(self, key: BytesLike, seconds: int, value: BytesLike) -> bool:
        """Store value with a time to live in seconds. Returns True."""
        return self._call(*_build("setex", key, seconds, value))

    def psetex(self, key: BytesLike, milliseconds: int, value: BytesLike) -> bool:
        """Store value with a time to live in milliseconds. Returns True."""
        return self._call(*_build("psetex", key, milliseconds, value))

    def getset(self, key: BytesLike, value: BytesLike) -> Optional[bytes]:
        """Store value and return the old one (None when there was none); removes any TTL."""
        return self._call(*_build("getset", key, value))

    def getdel(self, key: BytesLike) -> Optional[bytes]:
        """The value of key (None when absent), deleting the key."""
        return self._call(*_build("getdel", key))

    def getex(self, key: BytesLike, ex: Optional[int] = None, px: Optional[int] = None,
              exat: Optional[int] = None, pxat: Optional[int] = None, persist: bool = False) -> Optional[bytes]:
        """The value of key (None when absent), setting its expiry (ex/px/exat/pxat) or removing it
        (persist); with no option like get()."""
        return self._call(*_build("getex", key, ex=ex, px=px, exat=exat, pxat=pxat, persist=persist))

    def incr(self, key: BytesLike) -> int:
        """Add 1 to the integer at key (absent: 0); returns the new value."""
        return self._call(*_build("incr", key))

    def decr(self, key: BytesLike) -> int:
        return self._call(*_build("decr", key))

    def incrby(self, key: BytesLike, amount: int) -> int:
        return self._call(*_build("incrby", key, amount))

    def decrby(self, key: BytesLike, amount: int) -> int:
        return self._call(*_build("decrby", key, amount))

    def incrbyfloat(self, key: BytesLike, amount: Union[float, int, str]) -> float:
        """Add a floating point amount; returns the new value (stored as Redis formats it)."""
        return self._call(*_build("incrbyfloat", key, amount))

    def append(self, key: BytesLike, value: BytesLike) -> int:
        """Append to the value at key (absent: ""); returns the new length."""
        return self._call(*_build("append", key, value))

    def strlen(self, key: BytesLike) -> int:
        return self._call(*_build("strlen", key))

    def getrange(self, key: BytesLike, start: int, end: int) -> bytes:
        """The bytes start..end of the value, both inclusive; negative counts from the end."""
        return self._call(*_build("getrange", key, start, end))

    def setrange(self, key: BytesLike, offset: int, value: BytesLike) -> int:
        """Overwrite from offset (zero-padding a shorter value); returns the new length."""
        return self._call(*_build("setrange", key, offset, value))

    def getbit(self, key: BytesLike, offset: int) -> int:
        return self._call(*_build("getbit", key, offset))

    def setbit(self, key: BytesLike, offset: int, bit: int) -> int:
        """Set or clear one bit; returns the bit's old value."""
        return self._call(*_build("setbit", key, offset, bit))

    def bitcount(self, key: BytesLike, start: Optional[int] = None, end: Optional[int] = None,
                 mode: Optional[str] = None) -> int:
        """The number of set bits, in [start, end] (bytes, or bits with mode="BIT") when given."""
        if (start is None) != (end is None):
            raise ValueError("give both start and end, or neither")
        if mode is not None and start is None:
            raise ValueError("mode needs start and end")
        return self._call(*_build("bitcount", key, start, end, mode))

    def expire(self, key: BytesLike, seconds: int, nx: bool = False, xx: bool = False, gt: bool = False,
               lt: bool = False) -> bool:
        """Set key's time to live in seconds (nx: only when it has none, xx: only when it has one,
        gt/lt: only when greater/less than the current one). True when set."""
        return self._call(*_build("expire", key, seconds, nx=nx, xx=xx, gt=gt, lt=lt))

    def pexpire(self, key: BytesLike, milliseconds: int, nx: bool = False, xx: bool = False,
                gt: bool = False, lt: bool = False) -> bool:
        return self._call(*_build("pexpire", key, milliseconds, nx=nx, xx=xx, gt=gt, lt=lt))

    def expireat(self, key: BytesLike, unix_seconds: int, nx: bool = False, xx: bool = False,
                 gt: bool = False, lt: bool = False) -> bool:
        return self._call(*_build("expireat", key, unix_seconds, nx=nx, xx=xx, gt=gt, lt=lt))

    def pexpireat(self, key: BytesLike, unix_milliseconds: int, nx: bool = False, xx: bool = False,
                  gt: bool = False, lt: bool = False) -> bool:
        return self._call(*_build("pexpireat", key, unix_milliseconds, nx=nx, xx=xx, gt=gt, lt=lt))

    def ttl(self, key: BytesLike) -> int:
        """Seconds left to live; -1 when key has no TTL, -2 when it does not exist."""
        return self._call(*_build("ttl", key))

    def pttl(self, key: BytesLike) -> int:
        return self._call(*_build("pttl", key))

    def expiretime(self, key: BytesLike) -> int:
        """The key's expiry as a Unix time in seconds; -1 no TTL, -2 no key."""
        return self._call(*_build("expiretime", key))

    def pexpiretime(self, key: BytesLike) -> int:
        return self._call(*_build("pexpiretime", key))

    def persist(self, key: BytesLike) -> bool:
        """Remove key's TTL; True when it had one."""
        return self._call(*_build("persist", key))

    def type(self, key: BytesLike) -> str:
        """"string" when key exists (every value is a string), else "none"."""
        return self._call(*_build("type", key))

    def rename(self, src: BytesLike, dst: BytesLike) -> bool:
        """Move src's value and TTL to dst (replacing it), atomically even across shards. Returns True;
        ClossyneError("ERR no such key") when src does not exist."""
        return self._call(*_build("rename", src, dst))

    def renamenx(self, src: BytesLike, dst: BytesLike) -> bool:
        """Like rename, only when dst does not exist; True when renamed."""
        return self._call(*_build("renamenx", src, dst))

    def copy(self, src: BytesLike, dst: BytesLike, replace: bool = False) -> bool:
        """Copy src's value and TTL to dst (only when dst is absent, unless replace); True when copied."""
        return self._call(*_build("copy", src, dst, replace=replace))

    def msetnx(self, pairs: Union[Mapping[BytesLike, BytesLike], Iterable[Tuple[BytesLike, BytesLike]]]) -> bool:
        """Store every pair only when none of the keys exists, atomically across shards; True when stored."""
        pairs = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
        if not pairs:
            raise ValueError("msetnx needs at least one pair")
        return self._call(*_build("msetnx", pairs))

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

    def bulk_load(self, pairs: Iterable[Tuple[BytesLike, BytesLike]], chunk: int = 1000,
                  window: int = 8, progress: Optional[Callable[..., None]] = None,
                  total: Optional[int] = None) -> int:
        """SET every (key, value) of `pairs` (any iterable, read as it goes) in pipelined `batch`
        envelopes of `chunk` sets, `window` in flight; returns how many were loaded. `progress`, when
        given, is called as progress(loaded, total) after each window of envelopes and, if it has a
        finish() method (clossyne.Progress: a bar on a terminal, lines otherwise, on stderr),
        finish() at the end. The first failed set raises ClossyneError after its window."""
        pipe = self.pipeline(chunk=chunk, window=window)
        loaded = 0
        for key, value in pairs:
            pipe.set(key, value)
            if len(pipe) >= chunk * window:
                loaded += len(pipe.execute())
                if progress is not None:
                    progress(loaded, total)
        loaded += len(pipe.execute())
        if progress is not None:
            progress(loaded, total)
            if hasattr(progress, "finish"):
                progress.finish()
        return loaded

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

    def set(self, key, value, **options): return self.add("set", key, value, **options)
    def get(self, key): return self.add("get", key)
    def delete(self, *keys): return self.add("delete", *keys)
    def exists(self, *keys): return self.add("exists", *keys)
    def mget(self, keys): return self.add("mget", list(keys))
    def mset(self, pairs): return self.add("mset", pairs)
    def range(self, start, end, limit=None): return self.add("range", start, end, limit=limit)
    def dbsize(self): return self.add("dbsize")
    def where(self, key): return self.add("where", key)
    def ping(self): return self.add("ping")

    # string and key commands: the Client methods' names and arguments
    def setnx(self, key, value): return self.add("setnx", key, value)
    def setex(self, key, seconds, value): return self.add("setex", key, seconds, value)
    def psetex(self, key, ms, value): return self.add("psetex", key, ms, value)
    def getset(self, key, value): return self.add("getset", key, value)
    def getdel(self, key): return self.add("getdel", key)
    def getex(self, key, **options): return self.add("getex", key, **options)
    def incr(self, key): return self.add("incr", key)
    def decr(self, key): return self.add("decr", key)
    def incrby(self, key, amount): return self.add("incrby", key, amount)
    def decrby(self, key, amount): return self.add("decrby", key, amount)
    def incrbyfloat(self, key, amount): return self.add("incrbyfloat", key, amount)
    def append(self, key, value): return self.add("append", key, value)
    def strlen(self, key): return self.add("strlen", key)
    def getrange(self, key, start, end): return self.add("getrange", key, start, end)
    def setrange(self, key, offset, value): return self.add("setrange", key, offset, value)
    def getbit(self, key, offset): return self.add("getbit", key, offset)
    def setbit(self, key, offset, bit): return self.add("setbit", key, offset, bit)
    def bitcount(self, key, start=None, end=None, mode=None): return self.add("bitcount", key, start, end, mode)
    def expire(self, key, seconds, **cond): return self.add("expire", key, seconds, **cond)
    def pexpire(self, key, ms, **cond): return self.add("pexpire", key, ms, **cond)
    def expireat(self, key, when, **cond): return self.add("expireat", key, when, **cond)
    def pexpireat(self, key, when, **cond): return self.add("pexpireat", key, when, **cond)
    def ttl(self, key): return self.add("ttl", key)
    def pttl(self, key): return self.add("pttl", key)
    def expiretime(self, key): return self.add("expiretime", key)
    def pexpiretime(self, key): return self.add("pexpiretime", key)
    def persist(self, key): return self.add("persist", key)
    def type(self, key): return self.add("type", key)
    def rename(self, src, dst): return self.add("rename", src, dst)
    def renamenx(self, src, dst): return self.add("renamenx", src, dst)
    def copy(self, src, dst, replace=False): return self.add("copy", src, dst, replace=replace)
    def msetnx(self, pairs): return self.add("msetnx", pairs)

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
