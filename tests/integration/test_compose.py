"""The compose cluster (compose/docker-compose.yml, --replicas 2) survives a killed worker whose volume
is lost and a worker cut off the network, and the wrapper compose/cluster removes everything it made.

Builds the image with compose/build-images.sh, starts the cluster with compose/cluster under a unique
project name with the frontend on a free host port, waits for two in-sync members per shard
(`clossyne-admin status --json`) and writes 5000 keys. Then:

- a lost disk: `docker kill` worker2's container, remove it and its volume, and bring worker2 back
  with an empty volume (`compose/cluster up`). A reader reads every key throughout: each read returns
  the key's value or (for a few seconds, during failover) an error; the longest window in which a
  shard's reads failed is printed and bounded. w2 gets full copies back: two in-sync members per shard
  again, w2 among them;
- a crash (SIGKILL of worker3's process): the restart policy brings it back and it rejoins;
- a partition: `docker network disconnect` a worker that is a primary, for longer than the liveness
  timeout, while clients write and read; its shards fail over, writes go on, and after `docker
  network connect` it catches up (two in-sync members per shard again). No read ever returns a value
  older than the last write acknowledged for its key before the read began.

The broker's page, /status.json and /metrics are published on the host's loopback (CLOSSYNE_HTTP_PORT).
The bus is keyed and the frontend has a password: the wrapper made one (`compose/cluster password`);
a client without it, or with a wrong one, is refused; a DEALER from the host without the cluster's
keys gets no reply from the broker, one with the client key gets the status.

Then `compose/cluster add-worker` adds w4, which registers; no container has an anonymous volume (only
the workers' named ones); `down` keeps the volumes (w4's too), and `down -v` leaves no container,
network or volume of the project. The project is removed in every case.

Skipped, with the reason, when no Docker engine answers or no compose command exists (run pytest
with -rs to see the reason; run_pytest.py then exits 77 and ctest shows the file as Skipped).
Binaries: those in $CLOSSYNE_BIN when it is set (the build under test; set by ctest), otherwise
build-images.sh builds them itself (Release, build-docker/).
"""
import bisect
import calendar
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis

from bus_envelope import envelope_call

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "compose" / "cluster"
BUILD_IMAGES = ROOT / "compose" / "build-images.sh"
BINARIES = ("clossyne-broker", "clossyne-worker", "clossyne-frontend", "clossyne-admin")
N_KEYS = 5000
SPLIT_POINTS = ("g", "n", "t")  # compose's default CLOSSYNE_SPLIT_POINTS
LIVENESS_S = 4.0  # compose's default CLOSSYNE_LIVENESS_MS
# Reads of a shard whose primary died fail until the broker declares it dead (LIVENESS_S) and the
# follower's new configuration is recorded; a container's fsync and scheduling add a little.
WINDOW_BOUND_S = LIVENESS_S + 4.0


def _run(cmd, timeout, env=None, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=check)


def _docker_skip_reason():
    if not shutil.which("docker"):
        return "no docker engine: the docker command is not installed"
    try:
        r = _run(["docker", "info"], timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "no docker engine: `docker info` did not answer within 30 s"
    if r.returncode != 0:
        return "no docker engine: `docker info` failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def _compose_command():
    """`docker compose` (v2 plugin) when present, else `docker-compose` (v1)."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]):
            try:
                if _run(cmd + ["version"], timeout=30, check=False).returncode == 0:
                    return cmd
            except subprocess.TimeoutExpired:
                pass
    return None


_reason = _docker_skip_reason()
_compose = None if _reason else _compose_command()
if not _reason and not _compose:
    _reason = "no docker compose: neither `docker compose` nor `docker-compose` works"
# Collected and skipped (pytest exits 0, `-rs` prints "SKIPPED [1] ...: no docker engine: ...").
pytestmark = pytest.mark.skipif(_reason is not None, reason=_reason or "")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis(port, password, timeout):
    return redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=timeout,
                       socket_connect_timeout=5)


def _key(i):
    # First letters a..z spread the keys over every shard of the default split points g,n,t.
    return f"{chr(ord('a') + i % 26)}:compose:{i:05d}"


def _value(i):
    return f"value-{i}-" + "x" * (i % 40)


class Project:
    def __init__(self, state_dir):
        self.name = "clossynetest" + uuid.uuid4().hex[:10]
        self.port = _free_port()
        self.http_port = _free_port()
        # Its own image tag, so that concurrent runs (other checkouts) never swap binaries under it.
        self.image = f"clossyne:{self.name}"
        # The wrapper picks the compose command the way _compose_command() found one.
        self.password = None  # made by compose/cluster at the first `up`
        env = {k: v for k, v in os.environ.items() if k != "CLOSSYNE_REQUIREPASS"}
        self.env = dict(env, CLOSSYNE_PORT=str(self.port), CLOSSYNE_BIND="127.0.0.1",
                        CLOSSYNE_HTTP_PORT=str(self.http_port), CLOSSYNE_HTTP_BIND="127.0.0.1",
                        CLOSSYNE_IMAGE=self.image, CLOSSYNE_COMPOSE_STATE=str(state_dir),
                        CLOSSYNE_COMPOSE=" ".join(_compose))

    def compose(self, *args, timeout=180, check=True):
        """compose/cluster -p NAME ARGS (up, down, add-worker, or any compose command)."""
        cmd = [str(CLUSTER), "-p", self.name, *args]
        r = _run(cmd, timeout=timeout, env=self.env, check=False)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def logs(self):
        try:
            r = self.compose("logs", "--no-color", "--tail", "60", timeout=60, check=False)
            return r.stdout + r.stderr
        except Exception as e:  # noqa: BLE001 - diagnostics only
            return f"(no logs: {e})"

    def status(self):
        r = self.compose("exec", "-T", "broker", "clossyne-admin", "status", "--json", timeout=60)
        return json.loads(r.stdout)


def _wait(what, timeout, probe, project):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            ok, last = probe()
            if ok:
                return last
        except (redis.RedisError, OSError) as e:
            last = repr(e)
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last})\n{project.logs()}")


def _worker(status, wid):
    return next(w for w in status["workers"] if w["id"] == wid)


def _copy_out(cid, path):
    """A file's bytes from a container (docker cp streams a tar archive)."""
    out = subprocess.run(["docker", "cp", f"{cid}:{path}", "-"], capture_output=True, timeout=30,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        return tar.extractfile(os.path.basename(path)).read()


def _bus_needs_keys(project):
    """The broker's client port, reached from the host over the project's network: a DEALER without
    the cluster's keys gets no reply, one with the client key (copied out of the keys volume) gets the
    status, and so does one after the refused one (the broker kept working)."""
    cid = project.compose("ps", "-q", "broker", timeout=60).stdout.strip()
    r = _run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", cid],
             timeout=30)
    endpoint = f"tcp://{r.stdout.split()[0]}:4298"
    curve = (_copy_out(cid, "/keys/client.key").strip(), _copy_out(cid, "/keys/broker.pub").strip())
    assert envelope_call(endpoint, {"op": "status"}, None, 2.0) is None, "the broker answered a client without keys"
    reply = envelope_call(endpoint, {"op": "status"}, curve, 10.0)
    assert reply is not None and reply.get("ok") is True, reply


def _http_pages(project, status):
    """The broker's page and status, published on the host's loopback: the same shards as
    clossyne-admin status, and the page itself."""
    base = f"http://127.0.0.1:{project.http_port}"
    with urllib.request.urlopen(base + "/status.json", timeout=10) as r:
        served = json.loads(r.read())
    assert [sh["id"] for sh in served["shards"]] == [sh["id"] for sh in status["shards"]], served
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        assert r.headers.get_content_type() == "text/html" and b"Clossyne" in r.read()
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        assert b"clossyne_worker_up" in r.read()


def _crash(project, service):
    """SIGKILLs the service's process from the host (a crash, not a `docker stop`), when allowed."""
    cid = project.compose("ps", "-q", service, timeout=60).stdout.strip()
    before = _run(["docker", "inspect", "-f", "{{.State.Pid}} {{.RestartCount}}", cid], timeout=30)
    pid, restarts = (int(x) for x in before.stdout.split())
    try:
        os.kill(pid, 9)
    except (PermissionError, ProcessLookupError):
        return False  # e.g. a remote or rootless engine

    def restarted():
        r = _run(["docker", "inspect", "-f", "{{.State.Running}} {{.RestartCount}}", cid], timeout=30)
        running, count = r.stdout.split()
        return running == "true" and int(count) > restarts, r.stdout.strip()
    _wait(f"{service} restarted by its restart policy", 30, restarted, project)
    return True


def _all_keys_back(client):
    wrong = 0
    first_wrong = None
    for lo in range(0, N_KEYS, 500):
        idx = range(lo, min(lo + 500, N_KEYS))
        got = client.mget([_key(i) for i in idx])
        for i, v in zip(idx, got):
            if v != _value(i).encode():
                wrong += 1
                first_wrong = first_wrong or (_key(i), v)
    return wrong == 0, f"{wrong} keys missing or wrong, first {first_wrong}"


def _leftovers(name):
    """Containers, networks and volumes of project `name` (by compose's label or by name)."""
    label = f"label=com.docker.compose.project={name}"
    found = {}
    for kind, cmd in (("containers", ["docker", "ps", "-a"]), ("networks", ["docker", "network", "ls"]),
                      ("volumes", ["docker", "volume", "ls"])):
        fmt = "{{.Names}}" if kind == "containers" else "{{.Name}}"
        names = set()
        for flt in (label, f"name={name}"):
            r = _run(cmd + ["--filter", flt, "--format", fmt], timeout=30)
            names.update(r.stdout.split())
        found[kind] = sorted(names)
    return found


def _mounts(project):
    """{container name: [(type, volume name)]} for every container of the project."""
    ids = _run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project.name}"],
               timeout=30).stdout.split()
    r = _run(["docker", "inspect", *ids], timeout=30)
    return {c["Name"].lstrip("/"): [(m["Type"], m.get("Name")) for m in c["Mounts"]]
            for c in json.loads(r.stdout)}


def _bucket(key):
    """The initial shard a key falls in (by compose's split points; the shards do not split here)."""
    return bisect.bisect_right(SPLIT_POINTS, key[:1])


def _fully_replicated(status, need=None):
    """Every shard has a live primary and one in-sync follower on another live worker (and `need`,
    when given, is a member of at least one shard)."""
    alive = {w["id"] for w in status["workers"] if w["alive"]}
    if not status["shards"]:
        return False
    for sh in status["shards"]:
        in_sync = [m["worker"] for m in sh.get("members", []) if m["state"] == "in-sync"]
        if len(set(in_sync)) != 2 or not set(in_sync) <= alive or sh["owner"] != in_sync[0]:
            return False
    return need is None or any(m["worker"] == need for sh in status["shards"] for m in sh["members"])


def _members(status):
    return {sh["id"]: [m["worker"] + ("*" if m["role"] == "primary" else "") + f"({m['state']})"
                       for m in sh.get("members", [])] for sh in status["shards"]}


def _wait_replicated(project, timeout, what, need=None):
    """The status once every shard has two in-sync members (and `need` is one somewhere)."""
    def probe():
        st = project.status()
        return _fully_replicated(st, need), st
    st = _wait(what, timeout, probe, project)
    assert _fully_replicated(st, need), _members(st)
    return st


class Windows:
    """Failure windows per shard: from a shard's first failed op to its next successful one. An op
    that took long (a stall while a dead worker is detected) counts as a window of its duration."""

    def __init__(self):
        self.lock = threading.Lock()
        self.failing_since = {}
        self.longest = 0.0
        self.failures = 0
        self.ok = 0

    def result(self, bucket, t_start, t_end, ok):
        with self.lock:
            if ok:
                self.ok += 1
                since = self.failing_since.pop(bucket, None)
                span = t_end - (since if since is not None else t_start)
                self.longest = max(self.longest, span)
            else:
                self.failures += 1
                self.failing_since.setdefault(bucket, t_start)

    def close(self):
        """Still-failing shards count up to now."""
        now = time.monotonic()
        with self.lock:
            for since in self.failing_since.values():
                self.longest = max(self.longest, now - since)
            return self.longest


class KeyReader(threading.Thread):
    """Reads the N_KEYS keys over and over, 25 keys of one initial shard per MGET, shard after shard.
    A reply must hold every key's value; an error is a failure window of that shard."""

    def __init__(self, port, password):
        super().__init__(daemon=True)
        self.port = port
        self.password = password
        self.stop = threading.Event()
        self.windows = Windows()
        self.wrong = []
        self.passes = 0
        self.crash = None
        by_bucket = {}
        for i in range(N_KEYS):
            by_bucket.setdefault(_bucket(_key(i)), []).append(i)
        self.batches = []
        for b, idx in sorted(by_bucket.items()):
            self.batches += [(b, idx[j:j + 25]) for j in range(0, len(idx), 25)]
        self.batches.sort(key=lambda bi: (bi[1][0] // 25, bi[0]))  # interleave the shards

    def run(self):
        try:
            c = _redis(self.port, self.password, 20)
            while not self.stop.is_set():
                for b, idx in self.batches:
                    if self.stop.is_set():
                        break
                    t = time.monotonic()
                    try:
                        got = c.mget([_key(i) for i in idx])
                    except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError):
                        self.windows.result(b, t, time.monotonic(), False)
                        time.sleep(0.05)
                        continue
                    self.windows.result(b, t, time.monotonic(), True)
                    self.wrong += [(_key(i), v) for i, v in zip(idx, got) if v != _value(i).encode()]
                self.passes += 1
        except BaseException as e:  # noqa: BLE001 - reported by finish()
            self.crash = e

    def finish(self):
        self.stop.set()
        self.join(timeout=60)
        assert not self.is_alive(), "the reader hung"
        if self.crash:
            raise self.crash
        return self.windows.close()


class History:
    """Writers (one key set each, so each key's writes are in a known order: value "vW-SEQ" with SEQ
    growing) and a reader. Per key: the last acknowledged seq, and every seq written. A read must
    return a value written to that key whose seq is at least the last one acknowledged before the
    read began (the acknowledged value, or a later write still in flight or whose outcome is unknown);
    nothing, only if no write of the key was acknowledged before it began."""

    def __init__(self, port, password=None, writers=2, keys_per_writer=60):
        self.port = port
        self.password = password
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}     # key -> seq
        self.written = {}   # key -> {seq: value}
        self.unknown = 0
        self.write_ok_times = []
        self.windows = Windows()
        self.stale = []
        self.reads = 0
        self.crash = None
        self.keys = [b"%c:part:%03d-%d" % (b"abcdefghijklmnopqrstuvwxyz"[j % 26], j, w)
                     for w in range(writers) for j in range(keys_per_writer)]
        self.threads = [threading.Thread(target=self._guard, args=(self._write, w, keys_per_writer),
                                         daemon=True) for w in range(writers)]
        self.threads.append(threading.Thread(target=self._guard, args=(self._read,), daemon=True))

    def _client(self):
        # Long timeouts: an op fails by the cluster's error reply, not by the client giving up.
        return _redis(self.port, self.password, 30)

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported by finish()
            self.crash = e

    def _write(self, w, n):
        c = self._client()
        seq = 0
        while not self.stop.is_set():
            seq += 1
            k = self.keys[w * n + seq % n]
            v = b"v%d-%d" % (w, seq)
            with self.lock:
                self.written.setdefault(k, {})[seq] = v
            t = time.monotonic()
            try:
                ok = c.set(k, v)
            except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError):
                with self.lock:
                    self.unknown += 1
                self.windows.result(("w", _bucket(k.decode())), t, time.monotonic(), False)
                time.sleep(0.05)
                c.close()
                c = self._client()
                continue
            assert ok is True, ok
            now = time.monotonic()
            with self.lock:
                self.acked[k] = seq
                self.write_ok_times.append(now)
            self.windows.result(("w", _bucket(k.decode())), t, now, True)

    def _seq(self, k, v):
        """The seq of value v among the writes of key k, or None if v was never written there."""
        m = re.fullmatch(rb"v\d+-(\d+)", v or b"")
        with self.lock:
            if m and self.written.get(k, {}).get(int(m.group(1))) == v:
                return int(m.group(1))
        return None

    def _read(self):
        c = self._client()
        i = 0
        while not self.stop.is_set():
            k = self.keys[i % len(self.keys)]
            i += 1
            with self.lock:
                floor = self.acked.get(k)
            t = time.monotonic()
            try:
                v = c.get(k)
            except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError):
                self.windows.result(("r", _bucket(k.decode())), t, time.monotonic(), False)
                time.sleep(0.05)
                c.close()
                c = self._client()
                continue
            self.windows.result(("r", _bucket(k.decode())), t, time.monotonic(), True)
            self.reads += 1
            self._check(k, v, floor)

    def _check(self, k, v, floor):
        if v is None:
            if floor is not None:
                self.stale.append((k, None, floor))
            return
        seq = self._seq(k, v)
        if seq is None or (floor is not None and seq < floor):
            self.stale.append((k, v, floor))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def acks_after(self, t):
        with self.lock:
            return sum(1 for x in self.write_ok_times if x > t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), "a client thread hung"
        if self.crash:
            raise self.crash
        return self.windows.close()

    def final_check(self, client):
        for k in self.keys:
            with self.lock:
                floor = self.acked.get(k)
            self._check(k, client.get(k), floor)
        assert not self.stale, f"{len(self.stale)} stale or lost reads, e.g. {self.stale[:5]}"


def _container(project, service):
    cid = project.compose("ps", "-q", service, timeout=60).stdout.strip()
    assert cid, f"no container for {service}"
    return cid


def _lost_disk(p, client):
    """docker kill worker2, remove its container and volume, bring it back empty: every key is served
    throughout (bar a short failover window), and w2 gets full copies back."""
    reader = KeyReader(p.port, p.password)
    reader.start()
    _wait("the reader got going", 30, lambda: (reader.passes >= 1, f"{reader.passes} passes"), p)
    cid = _container(p, "worker2")
    _run(["docker", "kill", cid], timeout=60)
    t_kill = time.monotonic()
    _wait("the broker marks w2 dead", 30, lambda: (not _worker(p.status(), "w2")["alive"], "alive"), p)
    _run(["docker", "rm", "-f", cid], timeout=60)
    _run(["docker", "volume", "rm", f"{p.name}_worker2-data"], timeout=60)
    # With w2 gone (and its disk), the reader makes two full passes over every key.
    passes = reader.passes
    _wait("two full passes over the keys without w2", 60,
          lambda: (reader.passes >= passes + 2, f"{reader.passes - passes} passes"), p)
    p.compose("up")  # worker2 again, on a new empty volume
    st = _wait_replicated(p, 120, "w2 back in sync (two in-sync members per shard, w2 among them)",
                          need="w2")
    t_back = time.monotonic() - t_kill
    window = reader.finish()
    assert reader.passes >= passes + 2
    assert not reader.wrong, f"{len(reader.wrong)} wrong reads, e.g. {reader.wrong[:5]}"
    st = p.status()
    assert _worker(st, "w2")["keys"] > 0, f"w2 holds no key after its full copy: {st['workers']}"
    print(f"lost disk: w2 back in sync {t_back:.1f} s after the kill; {reader.windows.ok} reads, "
          f"{reader.windows.failures} failed, longest failure window {window:.2f} s "
          f"(liveness {LIVENESS_S:.1f} s); members {_members(st)}")
    assert window <= WINDOW_BOUND_S, f"reads failed for {window:.2f} s"
    ok, why = _all_keys_back(_redis(p.port, p.password, 10))
    assert ok, why
    assert client.dbsize() == N_KEYS


def _broker_log_time(project, text):
    """The wall-clock time (seconds since the epoch) of the broker's last log line holding `text`."""
    r = _run(["docker", "logs", "--timestamps", _container(project, "broker")], timeout=60)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if text in ln]
    assert lines, f"no broker log line with {text!r}"
    # "2026-11-30T11:40:00.686073242Z ...": Docker's timestamp, UTC, nanoseconds.
    stamp = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", lines[-1])
    assert stamp, lines[-1]
    whole = calendar.timegm(time.strptime(stamp.group(1), "%Y-%m-%dT%H:%M:%S"))
    return whole + float(stamp.group(2) or 0)


def _partition(p, client):
    """A primary cut off the network for longer than the liveness timeout under load: failover,
    writes go on, it catches up once reconnected, and no read is stale."""
    st = p.status()
    owners = [sh["owner"] for sh in st["shards"]]
    victim = max(sorted(set(owners)), key=owners.count)
    service = "worker" + victim[1:]
    cid = _container(p, service)
    network = f"{p.name}_default"
    hist = History(p.port, p.password).start()
    _wait("writes acknowledged before the partition", 30, lambda: (hist.acks_after(0) >= 50, "few"), p)
    _run(["docker", "network", "disconnect", network, cid], timeout=60)
    t_cut, wall_cut = time.monotonic(), time.time()
    try:
        _wait(f"the broker marks {victim} dead", LIVENESS_S + 20,
              lambda: (not _worker(p.status(), victim)["alive"], "alive"), p)
        t_dead = time.monotonic()
        _wait(f"failover: no shard's primary is {victim}", 30,
              lambda: (all(sh["owner"] != victim for sh in p.status()["shards"]), "not yet"), p)
        _wait("writes acknowledged after the failover", 30,
              lambda: (hist.acks_after(t_dead) >= 50, hist.acks_after(t_dead)), p)
        # Hold the partition well past the liveness timeout (a deliberate duration, not a sync).
        time.sleep(max(0.0, t_cut + LIVENESS_S + 3.0 - time.monotonic()))
    finally:
        r = _run(["docker", "network", "connect", network, cid], timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    t_join = time.monotonic()
    st = _wait_replicated(p, 120, f"{victim} caught up after the partition", need=victim)
    t_caught = time.monotonic() - t_join
    detected = _broker_log_time(p, f"worker '{victim}' missed its heartbeats") - wall_cut
    acked_before = hist.acks_after(0)
    _wait("writes after the catch-up", 30, lambda: (hist.acks_after(0) >= acked_before + 50, "few"), p)
    window = hist.finish()
    hist.final_check(client)
    print(f"partition of {victim} for {t_join - t_cut:.1f} s: the broker declared it dead {detected:.1f} s "
          f"after the disconnect (seen in status after {t_dead - t_cut:.1f} s), "
          f"in sync again {t_caught:.1f} s after reconnecting; {hist.acks_after(0)} writes acknowledged, "
          f"{hist.unknown} failed (outcome unknown), {hist.reads} reads checked, none stale; longest "
          f"failure or stall window {window:.2f} s; members {_members(st)}")
    assert detected <= LIVENESS_S + 2.0, f"{victim} declared dead {detected:.1f} s after the cut"
    assert window <= WINDOW_BOUND_S + 2.0, f"ops failed or stalled for {window:.2f} s"
    ok, why = _all_keys_back(client)
    assert ok, why


def test_cluster_survives_lost_disk_and_partition(tmp_path):
    t0 = time.monotonic()
    p = Project(tmp_path / "state")
    build_env = dict(p.env)
    bin_dir = os.environ.get("CLOSSYNE_BIN")
    if bin_dir and all((Path(bin_dir) / b).is_file() for b in BINARIES):
        build_env["CLOSSYNE_BIN_DIR"] = bin_dir
    try:
        r = _run([str(BUILD_IMAGES)], timeout=900, env=build_env, check=False)
        print(r.stderr)
        assert r.returncode == 0, f"build-images.sh failed:\n{r.stdout}\n{r.stderr}"
        print(f"image {p.image} built in {time.monotonic() - t0:.1f} s")

        p.compose("up")
        # The wrapper made the frontend's password; without it, nothing but AUTH is answered.
        p.password = p.compose("password", timeout=30).stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{32}", p.password), p.password
        client = _redis(p.port, p.password, 10)
        _wait("PING", 60, lambda: (client.ping(), "pong"), p)
        with pytest.raises(redis.AuthenticationError, match="Authentication required"):
            _redis(p.port, None, 10).get("a")
        with pytest.raises(redis.ResponseError, match="WRONGPASS"):
            _redis(p.port, "not-the-password", 10).ping()
        _bus_needs_keys(p)
        _wait("DBSIZE", 60, lambda: (client.dbsize() == 0, "dbsize"), p)
        st = _wait_replicated(p, 60, "two in-sync members per shard")
        print(f"members: {_members(st)}")
        _http_pages(p, st)
        assert len(st["shards"]) == len(SPLIT_POINTS) + 1, st["shards"]

        pipe = client.pipeline(transaction=False)
        for i in range(N_KEYS):
            pipe.set(_key(i), _value(i))
        results = pipe.execute()
        assert results == [True] * N_KEYS
        assert client.dbsize() == N_KEYS
        assert any(m["worker"] == "w2" for sh in st["shards"] for m in sh["members"]), \
            f"w2 is a member of no shard, losing it would prove nothing: {_members(st)}"

        t = time.monotonic()
        _lost_disk(p, client)
        print(f"lost-disk phase took {time.monotonic() - t:.1f} s")

        # A crash rather than a stop: the restart policy (unless-stopped) brings worker3 back by itself.
        crashed = _crash(p, "worker3")
        if crashed:
            t_crash = time.monotonic()
            _wait("all keys back after worker3's crash", 60, lambda: _all_keys_back(client), p)
            _wait_replicated(p, 120, "w3 back in sync after its crash", need="w3")
            print(f"all {N_KEYS} keys back and w3 in sync {time.monotonic() - t_crash:.1f} s after its crash")
        else:
            print("crash phase left out: cannot signal the container's process from here")

        t = time.monotonic()
        _partition(p, client)
        print(f"partition phase took {time.monotonic() - t:.1f} s")

        # A fourth worker through the wrapper: it registers with the broker under its own id.
        p.compose("add-worker")
        _wait("w4 registered and alive", 30,
              lambda: (any(w["id"] == "w4" and w["alive"] for w in p.status()["workers"]),
                       "no live w4"), p)
        mounts = _mounts(p)
        assert len(mounts) == 7, mounts  # keygen (exited), broker, w1-w4, frontend
        for cname, ms in mounts.items():
            m = re.search(r"worker(\d+)", cname)
            # Every container mounts the keys volume; the workers also their named data volume; no
            # anonymous volume anywhere (no VOLUME in the image).
            want = [("volume", f"{p.name}_keys")]
            want += [("volume", f"{p.name}_worker{m.group(1)}-data")] if m else []
            assert sorted(ms) == sorted(want), f"{cname} mounts {ms}, want {want}"

        # `down` keeps the data (the added worker's volume too); `down -v` leaves nothing at all.
        p.compose("down", "-t", "5")
        left = _leftovers(p.name)
        assert left["containers"] == [] and left["networks"] == [], left
        assert left["volumes"] == [f"{p.name}_keys"] + [f"{p.name}_worker{i}-data" for i in range(1, 5)], left
        t_down = time.monotonic()
        p.compose("down", "-v", "-t", "5")
        print(f"down -v took {time.monotonic() - t_down:.1f} s")
        left = _leftovers(p.name)
        assert left == {"containers": [], "networks": [], "volumes": []}, left
        assert not (tmp_path / "state" / p.name).exists()
    finally:
        p.compose("down", "-v", "-t", "5", timeout=180, check=False)
        _run(["docker", "image", "rm", p.image], timeout=60, check=False)
    print(f"test took {time.monotonic() - t0:.1f} s")


def test_history_check_catches_stale_and_lost_reads():
    """The partition phase's checker is not vacuous: a value older than the last acknowledged write,
    a value never written, and nothing after an acknowledged write are each reported; the
    acknowledged value and a later one in flight are not."""
    h = History(port=0)
    k = h.keys[0]
    h.written[k] = {1: b"v0-1", 2: b"v0-2", 3: b"v0-3"}
    h.acked[k] = 2
    for v in (b"v0-2", b"v0-3"):
        h._check(k, v, 2)
    h._check(h.keys[1], None, None)  # never acknowledged: nothing is fine
    assert h.stale == []
    for v in (b"v0-1", b"v9-9", None):
        h._check(k, v, 2)
    assert [v for _, v, _ in h.stale] == [b"v0-1", b"v9-9", None]
    with pytest.raises(AssertionError, match="stale or lost"):
        h.final_check(type("R", (), {"get": lambda self, key: b"v0-1" if key == k else None})())
