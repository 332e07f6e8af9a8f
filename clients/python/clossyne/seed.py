"""`Clossyne`: the seed's original client API, over its `CMD:args` text dialect on the frontend's port.

    with Clossyne("127.0.0.1", 4297) as db:
        db.set("apple", "red")          # True
        db.get("apple")                 # 'red'
        db.get("a", "b")                # [('apple', 'red')]  (a range, both ends inclusive)
        db.delete("apple")              # True
"""
from __future__ import annotations

import os
import select
import socket
from typing import List, Optional, Tuple, Union

from .errors import ClossyneError, ClossyneTimeout

Text = Union[str, bytes]


def _text(x: Text, what: str) -> str:
    if isinstance(x, bytes):
        x = x.decode("utf-8")
    if not isinstance(x, str):
        raise TypeError(f"a {what} must be str or bytes, not {type(x).__name__}")
    return x


class Clossyne:
    """The seed's client: one TCP connection to the frontend (default `CLOSSYNE_HOST`/`CLOSSYNE_PORT`,
    else 127.0.0.1:4297) speaking the seed dialect, as the original client did: each request is sent
    with no line ending (`SET:key value`, `GET:key`, `RNG:a b`, `DEL:key`, `EXT`) and answered with
    the seed's replies (`OK`, `NS`, the value, range lines, `NIL`).

    Limits of the dialect (use `clossyne.Client` for binary-safe data):
      - keys must not be empty nor contain spaces, CR or LF; values must not contain CR or LF;
      - `get(k)` cannot tell a missing key from one whose value is literally `NS`, and a value that
        starts with `-ERR` reads as an error (the frontend's error reply here is `-ERR ...`, raised
        as ClossyneError);
      - text is UTF-8.

    A reply is read with one recv bounded by `timeout`; a long reply (a range, a big value) that
    arrives in several pieces is read until nothing more comes for `quiet` seconds.
    Not thread-safe: use one Clossyne per thread.
    """

    def __init__(self, host: Optional[str] = None, port: Optional[int] = None, timeout: float = 5.0,
                 quiet: float = 0.05):
        self.host = host or os.environ.get("CLOSSYNE_HOST", "127.0.0.1")
        self.port = int(port or os.environ.get("CLOSSYNE_PORT", 4297))
        self.timeout = timeout
        self.quiet = quiet
        self._sock: Optional[socket.socket] = socket.create_connection((self.host, self.port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---- wire ------------------------------------------------------------------------------------
    def _request(self, line: str) -> str:
        if self._sock is None:
            raise ClossyneError("the connection is closed")
        sock = self._sock
        sock.settimeout(self.timeout)
        try:
            sock.sendall(line.encode("utf-8"))
            data = sock.recv(1 << 16)
        except socket.timeout:
            raise ClossyneTimeout(f"no reply from {self.host}:{self.port} within {self.timeout}s "
                                  f"to {line[:40]!r}") from None
        if not data:
            self._drop()
            raise ClossyneError(f"connection closed by {self.host}:{self.port}")
        # Small replies come in one segment; a long one may be split: read on while more arrives.
        if len(data) >= 512:
            while True:
                ready, _, _ = select.select([sock], [], [], self.quiet)
                if not ready:
                    break
                more = sock.recv(1 << 16)
                if not more:
                    break
                data += more
        reply = data.decode("utf-8", "replace")
        if reply.startswith("-ERR"):  # the frontend's error line in this dialect
            raise ClossyneError(reply[1:].rstrip("\r\n"))
        return reply

    @staticmethod
    def _key(k: Text) -> str:
        k = _text(k, "key")
        if not k or any(c in k for c in " \r\n"):
            raise ValueError(f"a seed-dialect key must be non-empty, with no space or line break: {k!r}")
        return k

    # ---- the seed API ----------------------------------------------------------------------------
    def set(self, key: Text, value: Text) -> bool:
        """SET:key value -> True (`OK`)."""
        value = _text(value, "value")
        if "\n" in value or "\r" in value:
            raise ValueError("a seed-dialect value must not contain a line break")
        reply = self._request(f"SET:{self._key(key)} {value}")
        if reply != "OK":
            raise ClossyneError(f"SET: unexpected reply {reply!r}")
        return True

    def get(self, key: Text, end: Optional[Text] = None) -> Union[Optional[str], List[Tuple[str, str]]]:
        """get(k): the value as str, or None when absent (`NS`).
        get(a, b): the range a <= key <= b as a list of (key, value) in key order (`RNG:a b`)."""
        if end is not None:
            return self.range(key, end)
        reply = self._request(f"GET:{self._key(key)}")
        return None if reply == "NS" else reply

    def range(self, start: Text, end: Text) -> List[Tuple[str, str]]:
        """RNG:a b -> [(key, value), ...] in key order, both ends inclusive; [] for `NIL`."""
        reply = self._request(f"RNG:{self._key(start)} {self._key(end)}")
        if reply in ("NIL", "NS"):
            return []
        out = []
        for line in reply.split("\n"):
            k, _, v = line.partition(" ")
            out.append((k, v))
        return out

    def delete(self, key: Text) -> bool:
        """DEL:key -> True when it existed (`OK`), False when not (`NS`)."""
        reply = self._request(f"DEL:{self._key(key)}")
        if reply not in ("OK", "NS"):
            raise ClossyneError(f"DEL: unexpected reply {reply!r}")
        return reply == "OK"

    # ---- lifecycle -------------------------------------------------------------------------------
    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def close(self) -> None:
        """Send `EXT` (the server closes the connection) and close the socket. Safe to call twice."""
        if self._sock is None:
            return
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(b"EXT")
            try:
                self._sock.recv(1)  # the server's close, bounded by the timeout
            except (socket.timeout, OSError):
                pass
        except OSError:
            pass
        finally:
            self._drop()

    def __enter__(self) -> "Clossyne":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<clossyne.Clossyne {self.host}:{self.port} {'closed' if self._sock is None else 'open'}>"
