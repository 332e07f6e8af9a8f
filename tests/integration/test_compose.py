"""The compose cluster survives a killed worker container (compose/docker-compose.yml), and the
wrapper compose/cluster removes everything it made.

Builds the image with compose/build-images.sh, starts the cluster with compose/cluster under a unique
project name with the frontend on a free host port, writes 5000 keys, kills worker2's container,
brings it back with `up` and reads every key back (the worker recovers its shards from its named
volume). Then `compose/cluster add-worker` adds w4, which registers; no container has an anonymous
volume (only the workers' named ones); `down` keeps the volumes (w4's too), and `down -v` leaves no
container, network or volume of the project. The project is removed in every case.

Skipped, with the reason, when no Docker engine answers or no compose command exists (run pytest
with -rs to see the reason; ctest can match "SKIPPED.*no docker" with SKIP_REGULAR_EXPRESSION).
Binaries: those in $CLOSSYNE_BIN when it is set (the build under test; set by ctest), otherwise
build-images.sh builds them itself (Release, build-docker/).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "compose" / "cluster"
BUILD_IMAGES = ROOT / "compose" / "build-images.sh"
BINARIES = ("clossyne-broker", "clossyne-worker", "clossyne-frontend", "clossyne-admin")
N_KEYS = 5000


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


def _key(i):
    # First letters a..z spread the keys over every shard of the default split points g,n,t.
    return f"{chr(ord('a') + i % 26)}:compose:{i:05d}"


def _value(i):
    return f"value-{i}-" + "x" * (i % 40)


class Project:
    def __init__(self, state_dir):
        self.name = "clossynetest" + uuid.uuid4().hex[:10]
        self.port = _free_port()
        # Its own image tag, so that concurrent runs (other checkouts) never swap binaries under it.
        self.image = f"clossyne:{self.name}"
        # The wrapper picks the compose command the way _compose_command() found one.
        self.env = dict(os.environ, CLOSSYNE_PORT=str(self.port), CLOSSYNE_BIND="127.0.0.1",
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


def _owner(status, key):
    k = key.encode()
    for sh in status["shards"]:
        lo = (sh["lo"] or "").encode()
        hi = None if sh["hi"] is None else sh["hi"].encode()
        if lo <= k and (hi is None or k < hi):
            return sh["owner"]
    return None


def _worker(status, wid):
    return next(w for w in status["workers"] if w["id"] == wid)


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


def test_cluster_survives_killed_worker(tmp_path):
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
        client = redis.Redis(host="127.0.0.1", port=p.port, socket_timeout=10, socket_connect_timeout=5)
        _wait("PING", 60, lambda: (client.ping(), "pong"), p)
        _wait("DBSIZE", 60, lambda: (client.dbsize() == 0, "dbsize"), p)

        pipe = client.pipeline(transaction=False)
        for i in range(N_KEYS):
            pipe.set(_key(i), _value(i))
        results = pipe.execute()
        assert results == [True] * N_KEYS
        assert client.dbsize() == N_KEYS

        st = p.status()
        on_w2 = [i for i in range(N_KEYS) if _owner(st, _key(i)) == "w2"]
        assert on_w2, f"w2 owns none of the keys, the kill would prove nothing: {st}"
        print(f"before the kill: {len(on_w2)} of the keys on w2; {st['workers']}")

        p.compose("kill", "worker2")
        t_kill = time.monotonic()
        # The broker sees w2 die (missed heartbeats); its keys answer with an error, the others serve on.
        _wait("the broker marks w2 dead", 20,
              lambda: (not _worker(p.status(), "w2")["alive"], "w2 still alive"), p)
        with pytest.raises(redis.ResponseError):
            client.get(_key(on_w2[0]))
        w2_set = set(on_w2)
        elsewhere = [i for i in range(0, N_KEYS, 7) if i not in w2_set]
        assert client.mget([_key(i) for i in elsewhere]) == [_value(i).encode() for i in elsewhere]

        p.compose("up")
        _wait("all keys back after worker2's restart", 60, lambda: _all_keys_back(client), p)
        print(f"all {N_KEYS} keys back {time.monotonic() - t_kill:.1f} s after the kill")
        assert client.dbsize() == N_KEYS
        assert _worker(p.status(), "w2")["alive"]

        # A crash rather than a stop: the restart policy (unless-stopped) brings worker3 back by itself.
        crashed = _crash(p, "worker3")
        if crashed:
            t_crash = time.monotonic()
            _wait("all keys back after worker3's crash", 60, lambda: _all_keys_back(client), p)
            print(f"all {N_KEYS} keys back {time.monotonic() - t_crash:.1f} s after worker3's crash")
        else:
            print("crash phase left out: cannot signal the container's process from here")

        # A fourth worker through the wrapper: it registers with the broker under its own id.
        p.compose("add-worker")
        _wait("w4 registered and alive", 30,
              lambda: (any(w["id"] == "w4" and w["alive"] for w in p.status()["workers"]),
                       "no live w4"), p)
        mounts = _mounts(p)
        assert len(mounts) == 6, mounts
        for cname, ms in mounts.items():
            m = re.search(r"worker(\d+)", cname)
            # Only the workers have a volume, their named one; broker and frontend none (no VOLUME).
            want = [("volume", f"{p.name}_worker{m.group(1)}-data")] if m else []
            assert ms == want, f"{cname} mounts {ms}, want {want}"

        # `down` keeps the data (the added worker's volume too); `down -v` leaves nothing at all.
        p.compose("down", "-t", "5")
        left = _leftovers(p.name)
        assert left["containers"] == [] and left["networks"] == [], left
        assert left["volumes"] == [f"{p.name}_worker{i}-data" for i in range(1, 5)], left
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
