"""Start and stop a real Clossyne cluster (broker, workers, frontend) on free ports, for the tests.

Every wait here is bounded and every socket has a timeout: a broken binary fails a test, never hangs it.
Binaries come from $CLOSSYNE_BIN, else <repo>/build/bin.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 15.0
STOP_GRACE_S = 5.0


def bin_dir() -> Path:
    env = os.environ.get("CLOSSYNE_BIN")
    return Path(env) if env else REPO / "build" / "bin"


def binary(name: str) -> str:
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is missing or not executable (build first, or set CLOSSYNE_BIN)")
    return str(path)


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (all bound at once so they differ, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def tail(path: Path, lines: int = 40) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def resp_command(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _read_line(sock: socket.socket, buf: bytearray, deadline: float) -> bytes:
    while b"\r\n" not in buf:
        _recv_more(sock, buf, deadline)
    i = buf.index(b"\r\n")
    line = bytes(buf[:i])
    del buf[: i + 2]
    return line


def _recv_more(sock: socket.socket, buf: bytearray, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no complete reply before the deadline; have {bytes(buf[:200])!r}")
    sock.settimeout(min(left, 5.0))
    try:
        chunk = sock.recv(1 << 20)
    except socket.timeout:
        return
    if not chunk:
        raise ConnectionError(f"connection closed; have {bytes(buf[:200])!r}")
    buf += chunk


class RespError(Exception):
    """A RESP error reply (-ERR ...), as returned by read_reply (not raised)."""

    def __init__(self, line: bytes):
        super().__init__(line.decode("utf-8", "replace"))
        self.line = line

    def __eq__(self, other):
        return isinstance(other, RespError) and other.line == self.line

    def __repr__(self):
        return f"RespError({self.line!r})"


def read_reply(sock: socket.socket, buf: bytearray, deadline: float):
    """Parse one RESP2 reply from buf (refilled from sock). Simple strings -> str, errors -> RespError
    (returned, not raised), integers -> int, bulk -> bytes or None, arrays -> list or None."""
    line = _read_line(sock, buf, deadline)
    if not line:
        raise ValueError("empty reply line")
    t, rest = line[:1], line[1:]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RespError(rest)
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        while len(buf) < n + 2:
            _recv_more(sock, buf, deadline)
        data = bytes(buf[:n])
        if buf[n : n + 2] != b"\r\n":
            raise ValueError(f"bulk string not followed by CRLF: {bytes(buf[: n + 2])!r}")
        del buf[: n + 2]
        return data
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [read_reply(sock, buf, deadline) for _ in range(n)]
    raise ValueError(f"not a RESP2 reply: {line!r}")


class RawConn:
    """A raw TCP connection to the frontend with a bounded RESP reader."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.timeout = timeout

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def reply(self, timeout: float | None = None):
        return read_reply(self.sock, self.buf, time.monotonic() + (timeout or self.timeout))

    def replies(self, n: int, timeout: float | None = None) -> list:
        deadline = time.monotonic() + (timeout or self.timeout)
        return [read_reply(self.sock, self.buf, deadline) for _ in range(n)]

    def command(self, *args, timeout: float | None = None):
        self.send(resp_command(*args))
        return self.reply(timeout)

    def recv_some(self, timeout: float) -> bytes:
        """Whatever is buffered or arrives within timeout (b"" on timeout); raises on close if nothing."""
        if self.buf:
            data = bytes(self.buf)
            self.buf.clear()
            return data
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1 << 20)
        except socket.timeout:
            return b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Proc:
    def __init__(self, name: str, argv: list[str], log_path: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        log.write(f"=== start {' '.join(self.argv)}\n".encode())
        log.flush()
        try:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap (bounded)."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            self.popen.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return


class Cluster:
    """broker + N workers + frontend. Use start()/stop(), or as a context manager."""

    fixed_shape = True  # no automatic splits or merges unless the test's own flags ask for them

    def __init__(self, tmpdir: Path, workers: int = 2, split_points: str | None = "m",
                 min_workers: int | None = None, request_timeout_ms: int | None = None,
                 log_level: str = "info", start_frontend: bool = True):
        self.tmpdir = Path(tmpdir)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.n_workers = workers
        self.split_points = split_points
        self.min_workers = workers if min_workers is None else min_workers
        self.request_timeout_ms = request_timeout_ms
        self.log_level = log_level
        self.start_frontend = start_frontend
        self.port, self.client_port, self.worker_port = free_ports(3)
        self.client_endpoint = f"tcp://127.0.0.1:{self.client_port}"
        self.worker_endpoint = f"tcp://127.0.0.1:{self.worker_port}"
        self.broker: Proc | None = None
        self.frontend: Proc | None = None
        self.workers: dict[str, Proc] = {}

    # ---- processes -------------------------------------------------------------------------------
    def _broker_argv(self) -> list[str]:
        argv = [binary("clossyne-broker"), "--clients", self.client_endpoint,
                "--workers", self.worker_endpoint, "--min-workers", str(self.min_workers),
                "--log-level", self.log_level]
        if self.split_points:
            argv += ["--split-points", self.split_points]
        # A fixed shape unless a test asks for elastic shards (fixed_shape = False, or flags that
        # come later and win): by default the broker splits shards at 64 MiB and merges small
        # neighbours.
        if self.fixed_shape:
            argv += ["--shard-max-bytes", "0", "--shard-min-bytes", "0", "--shard-min-keys", "0"]
        return argv

    def _worker_argv(self, wid: str) -> list[str]:
        return [binary("clossyne-worker"), "--broker", self.worker_endpoint, "--id", wid,
                "--log-level", self.log_level]

    def _frontend_argv(self) -> list[str]:
        argv = [binary("clossyne-frontend"), "--listen", f"127.0.0.1:{self.port}",
                "--broker", self.client_endpoint, "--log-level", self.log_level]
        if self.request_timeout_ms is not None:
            argv += ["--request-timeout-ms", str(self.request_timeout_ms)]
        return argv

    def start_broker(self) -> None:
        self.broker = Proc("broker", self._broker_argv(), self.tmpdir / "broker.log")
        self.broker.start()

    def start_worker(self, wid: str) -> Proc:
        old = self.workers.get(wid)
        if old is not None and old.alive():
            raise RuntimeError(f"worker {wid} is already running")
        p = Proc(f"worker {wid}", self._worker_argv(wid), self.tmpdir / f"worker-{wid}.log")
        p.start()
        self.workers[wid] = p
        return p

    def kill_worker(self, wid: str) -> None:
        self.workers[wid].kill()

    def restart_worker(self, wid: str) -> Proc:
        self.workers[wid].kill()
        return self.start_worker(wid)

    def start_frontend_proc(self) -> None:
        self.frontend = Proc("frontend", self._frontend_argv(), self.tmpdir / "frontend.log")
        self.frontend.start()

    def procs(self) -> list[Proc]:
        out = [p for p in (self.broker, self.frontend) if p is not None]
        return out + list(self.workers.values())

    def start(self, wait: bool = True) -> "Cluster":
        try:
            self.start_broker()
            for i in range(1, self.n_workers + 1):
                self.start_worker(f"w{i}")
            if self.start_frontend:
                self.start_frontend_proc()
                if wait:
                    self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM everything, then SIGKILL whatever is still alive after STOP_GRACE_S."""
        procs = [p for p in self.procs() if p.popen is not None]
        for p in procs:
            p.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for p in procs:
            try:
                p.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            p.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- readiness -------------------------------------------------------------------------------
    def check_alive(self) -> None:
        dead = [p for p in self.procs() if p.popen is not None and p.popen.poll() is not None
                and not (p.name.startswith("worker") and p.popen.returncode == -signal.SIGKILL)]
        if dead:
            raise RuntimeError("process exited: " + ", ".join(
                f"{p.name} (status {p.popen.returncode})" for p in dead) + "\n" + self.logs())

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until the frontend answers PING and DBSIZE answers an integer (the cluster is ready)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with RawConn(self.port, timeout=2.0) as c:
                    pong = c.command("PING")
                    if pong != "PONG":
                        last = f"PING -> {pong!r}"
                    else:
                        while time.monotonic() < deadline:
                            n = c.command("DBSIZE")
                            if isinstance(n, int):
                                return
                            last = f"DBSIZE -> {n!r}"
                            time.sleep(0.1)
            except (OSError, TimeoutError, ConnectionError, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise TimeoutError(f"cluster not ready within {timeout}s (last: {last})\n{self.logs()}")

    def wait_port(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until the frontend accepts TCP connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"frontend not listening within {timeout}s\n{self.logs()}")

    # ---- clients & diagnostics -------------------------------------------------------------------
    def raw(self, timeout: float = 5.0) -> RawConn:
        return RawConn(self.port, timeout=timeout)

    def redis(self, **kw):
        import redis
        kw.setdefault("socket_timeout", 5)
        kw.setdefault("socket_connect_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def owner_of(self, key) -> str:
        """The worker id WHERE reports for key."""
        info = where(self.redis(), key)
        return info["owner"]

    def logs(self, lines: int = 40) -> str:
        parts = []
        for p in self.procs():
            status = "never started" if p.popen is None else (
                "running" if p.popen.poll() is None else f"exited {p.popen.returncode}")
            parts.append(f"----- {p.name} ({status}) {p.log_path} -----\n{tail(p.log_path, lines)}")
        return "\n".join(parts)


def where(r, key) -> dict:
    """WHERE key as a dict with str field names (values: int or str)."""
    flat = r.execute_command("WHERE", key)
    assert isinstance(flat, list) and len(flat) == 10, f"WHERE reply is not a flat array of 10: {flat!r}"
    out = {}
    for name, value in zip(flat[0::2], flat[1::2]):
        name = name.decode() if isinstance(name, bytes) else name
        out[name] = value.decode() if isinstance(value, bytes) else value
    return out
