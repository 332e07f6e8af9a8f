"""scripts/run: starts a working local cluster, and SIGINT stops every process it started."""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import redis

from cluster import REPO, bin_dir, free_ports, tail


def descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live descendant of root (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out = {}
    todo = [root]
    while todo:
        for c in children.get(todo.pop(), []):
            try:
                out[c] = (Path("/proc") / str(c) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            todo.append(c)
    return out


def alive(pid: int, cmdline: str) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
        now = (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    except OSError:
        return False
    return now == cmdline and state[state.rindex(")") + 2] != "Z"


def in_session(sid: int) -> list[str]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(f"{d.name} {(d / 'cmdline').read_bytes().replace(bytes(1), b' ').decode()}")
        except (OSError, ValueError, IndexError):
            continue
    return out


def admin_status(broker_port: int) -> dict:
    r = subprocess.run([str(bin_dir() / "clossyne-admin"), "--broker", f"tcp://127.0.0.1:{broker_port}",
                        "--timeout-ms", "3000", "status", "--json"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def two_in_sync_members(st: dict) -> bool:
    alive = {w["id"] for w in st["workers"] if w["alive"]}
    for s in st["shards"]:
        in_sync = [m["worker"] for m in s.get("members", []) if m["state"] == "in-sync"]
        if len(set(in_sync)) != 2 or not set(in_sync) <= alive or s["owner"] != in_sync[0]:
            return False
    return bool(st["shards"])


def wait_two_members_per_shard(broker_port: int, log_path: Path, timeout: float = 45) -> list:
    """The shards of `clossyne-admin status --json` once each has two in-sync members (bounded)."""
    deadline = time.monotonic() + timeout
    st = admin_status(broker_port)
    while not two_in_sync_members(st) and time.monotonic() < deadline:
        time.sleep(0.2)
        st = admin_status(broker_port)
    assert two_in_sync_members(st), f"not two in-sync members per shard: {st}\n{tail(log_path)}"
    return st["shards"]


def test_scripts_run_starts_serves_and_stops_on_sigint(tmp_path):
    port, broker_port, worker_port = free_ports(3)
    env = dict(os.environ, SKIP_BUILD="1", CLOSSYNE_BIN=str(bin_dir()))
    env.pop("CLOSSYNE_PORT", None)
    env.pop("CLOSSYNE_HOST", None)
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "run"), "--port", str(port), "--broker-port", str(broker_port),
             "--worker-port", str(worker_port), "--data-dir", str(tmp_path / "data")],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, socket_connect_timeout=2)
        deadline = time.monotonic() + 20
        ready = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if r.ping() and isinstance(r.dbsize(), int):
                    ready = True
                    break
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                time.sleep(0.2)
        assert ready, f"no ready cluster on port {port}; scripts/run log:\n{tail(log_path)}"
        assert r.set(b"a-run", b"left") is True and r.set(b"z-run", b"right") is True
        assert r.mget([b"a-run", b"z-run"]) == [b"left", b"right"]
        r.close()
        # --replicas 2 by default: each shard has two in-sync members on two distinct live workers.
        shards = wait_two_members_per_shard(broker_port, log_path)
        assert len(shards) == 2, shards

        procs = descendants(proc.pid)
        names = " ".join(procs.values())
        for b in ("clossyne-broker", "clossyne-frontend"):
            assert names.count(b) == 1, f"{b} not running exactly once: {procs}"
        assert names.count("clossyne-worker") == 3, procs
        assert names.count("--replicas 2") == 1, procs
        # scripts/run prints how to connect once its own readiness check (every 0.1 s) passes,
        # which may come a moment after ours.
        hints = (f"redis-cli -h 127.0.0.1 -p {port}", f"redis-cli -p {port}")
        deadline = time.monotonic() + 10
        out = log_path.read_text(errors="replace")
        while not any(h in out for h in hints) and time.monotonic() < deadline:
            time.sleep(0.1)
            out = log_path.read_text(errors="replace")
        assert any(h in out for h in hints), out
        assert any(line.startswith(("[broker] ", "[frontend] ", "[w1] ", "[w2] "))
                   for line in out.splitlines()), f"no prefixed process output:\n{out}"

        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"scripts/run still running 10 s after SIGINT:\n{tail(log_path)}")
        deadline = time.monotonic() + 2
        left = [(p, c) for p, c in procs.items() if alive(p, c)]
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [(p, c) for p, c in procs.items() if alive(p, c)]
        assert not left, f"left behind after SIGINT: {left}\n{tail(log_path)}"
        assert not in_session(proc.pid), in_session(proc.pid)
        assert proc.returncode in (0, 130), proc.returncode
        out = log_path.read_text(errors="replace")
        assert "exited on its own" not in out, out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        for line in in_session(proc.pid):
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def test_scripts_run_reports_a_child_that_dies(tmp_path):
    """A worker killed from outside is reported and, with --no-restart, left down; SIGTERM then stops
    the rest."""
    port, broker_port, worker_port = free_ports(3)
    env = dict(os.environ, SKIP_BUILD="1", CLOSSYNE_BIN=str(bin_dir()))
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "run"), "--port", str(port), "--broker-port", str(broker_port),
             "--worker-port", str(worker_port), "--workers", "2", "--in-memory", "--no-restart"],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        workers = {}
        while time.monotonic() < deadline and len(workers) < 2:
            workers = {p: c for p, c in descendants(proc.pid).items() if "clossyne-worker" in c}
            time.sleep(0.2)
        w2 = [p for p, c in workers.items() if "--id w2" in c]
        assert w2, f"no worker w2 started: {workers}\n{tail(log_path)}"
        os.kill(w2[0], signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "exited on its own" not in log_path.read_text(errors="replace"):
            time.sleep(0.1)
        out = log_path.read_text(errors="replace")
        assert "w2" in out and "exited on its own" in out, out
        assert proc.poll() is None, "a dead worker alone does not stop the cluster"
        time.sleep(1.5)
        out = log_path.read_text(errors="replace")
        assert "restarting" not in out and "restarted" not in out, out
        assert not [p for p, c in descendants(proc.pid).items() if "--id w2" in c], out
        procs = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        time.sleep(0.3)
        assert not [p for p, c in procs.items() if alive(p, c)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_scripts_run_keeps_data_across_a_stop_and_start(tmp_path):
    """Workers get data dirs by default, so a stopped and restarted cluster still has its keys."""
    port, broker_port, worker_port = free_ports(3)
    env = dict(os.environ, SKIP_BUILD="1", CLOSSYNE_BIN=str(bin_dir()))
    env.pop("CLOSSYNE_PORT", None)
    args = [str(REPO / "scripts" / "run"), "--port", str(port), "--broker-port", str(broker_port),
            "--worker-port", str(worker_port), "--data-dir", str(tmp_path / "data")]
    for round_ in range(2):
        log_path = tmp_path / f"run{round_}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, socket_connect_timeout=2)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if isinstance(r.dbsize(), int):
                        break
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                    time.sleep(0.2)
            else:
                raise AssertionError(f"no ready cluster:\n{tail(log_path)}")
            if round_ == 0:
                r.mset({b"a-kept": b"1", b"z-kept": b"2"})
            else:
                assert r.mget([b"a-kept", b"z-kept"]) == [b"1", b"2"], tail(log_path)
            assert "worker data in" in log_path.read_text(errors="replace")
            r.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
    assert (tmp_path / "data" / "w1").is_dir() and (tmp_path / "data" / "w2").is_dir()


def start_run(tmp_path: Path, name: str, args: list[str], env_extra: dict[str, str] | None = None):
    """scripts/run from this checkout with the already-built binaries (SKIP_BUILD=1): no compile."""
    env = dict(os.environ, SKIP_BUILD="1", CLOSSYNE_BIN=str(bin_dir()))
    env.pop("CLOSSYNE_PORT", None)
    env.pop("CLOSSYNE_HOST", None)
    env.update(env_extra or {})
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(REPO / "scripts" / "run"), *args], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc, log_path


def wait_ready(port: int, proc, log_path: Path, timeout: float = 20) -> redis.Redis:
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, socket_connect_timeout=2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if isinstance(r.dbsize(), int):
                return r
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            time.sleep(0.2)
    raise AssertionError(f"no ready cluster on port {port}; scripts/run log:\n{tail(log_path)}")


def stop_run(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    for line in in_session(proc.pid):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def free_port_with_two_free_after() -> int:
    """A port P with P, P+1 and P+2 all free (scripts/run's derived broker ports are P+1, P+2)."""
    import socket
    for _ in range(200):
        (p,) = free_ports(1)
        socks = []
        try:
            for q in (p, p + 1, p + 2):
                s = socket.socket()
                s.bind(("127.0.0.1", q))
                socks.append(s)
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no three consecutive free ports")


def test_two_clusters_side_by_side_on_different_clossyne_ports(tmp_path):
    """Two scripts/run processes from this one checkout (shared build/bin, separate data dirs and
    working dirs), told apart only by CLOSSYNE_PORT: each derives its broker ports from its frontend
    port, says which, and both serve their own data at once."""
    port_a = free_port_with_two_free_after()
    port_b = free_port_with_two_free_after()
    while abs(port_b - port_a) < 3:
        port_b = free_port_with_two_free_after()
    runs = []
    try:
        for name, port in (("a", port_a), ("b", port_b)):
            d = tmp_path / name
            d.mkdir()
            runs.append((name, port, *start_run(d, "run", ["--data-dir", str(d / "data")],
                                                {"CLOSSYNE_PORT": str(port)})))
        clients = {}
        for name, port, proc, log_path in runs:
            clients[name] = wait_ready(port, proc, log_path)
            out = log_path.read_text(errors="replace")
            assert (f"broker on tcp://127.0.0.1:{port + 1} (clients) and "
                    f"tcp://127.0.0.1:{port + 2} (workers)") in out, out
        clients["a"].set(b"k", b"from-a")
        clients["b"].set(b"k", b"from-b")
        assert clients["a"].get(b"k") == b"from-a" and clients["b"].get(b"k") == b"from-b"
        for name, port, proc, log_path in runs:
            assert proc.poll() is None, tail(log_path)
            assert "in use" not in log_path.read_text(errors="replace")
        # A third one on a's frontend port is refused with a message naming the flag that moves it.
        (tmp_path / "c").mkdir()
        proc_c, log_c = start_run(tmp_path / "c", "run", ["--in-memory"], {"CLOSSYNE_PORT": str(port_a)})
        assert proc_c.wait(timeout=10) != 0
        out = log_c.read_text(errors="replace")
        assert f"127.0.0.1:{port_a} is in use" in out and "CLOSSYNE_PORT" in out, out
    finally:
        for name, port, proc, log_path in runs:
            stop_run(proc)


def test_broker_port_taken_moves_to_a_free_one_or_fails_clearly(tmp_path):
    """A derived broker port that is taken moves to a free port (said in the log); a taken port given
    with --broker-port is an error naming the flag; the broker itself names the address and flag."""
    import socket
    port = free_port_with_two_free_after()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port + 1))
    blocker.listen()
    try:
        proc, log_path = start_run(tmp_path, "moved", ["--port", str(port), "--in-memory"])
        try:
            r = wait_ready(port, proc, log_path)
            assert r.set(b"x", b"1") and r.get(b"x") == b"1"
            out = log_path.read_text(errors="replace")
            assert f"127.0.0.1:{port + 1} is taken: using port" in out and "--broker-port" in out, out
        finally:
            stop_run(proc)
        proc, log_path = start_run(tmp_path, "given", ["--port", str(port), "--broker-port",
                                                       str(port + 1), "--in-memory"])
        assert proc.wait(timeout=10) != 0
        out = log_path.read_text(errors="replace")
        assert f"127.0.0.1:{port + 1} is in use" in out and "--broker-port" in out, out
        # The broker's own message, for whoever starts it by hand.
        (other,) = free_ports(1)
        b = subprocess.run([str(bin_dir() / "clossyne-broker"), "--clients", f"tcp://127.0.0.1:{port + 1}",
                            "--workers", f"tcp://127.0.0.1:{other}"],
                           capture_output=True, text=True, timeout=10)
        assert b.returncode != 0
        msg = b.stdout + b.stderr
        assert f"tcp://127.0.0.1:{port + 1}" in msg and "in use" in msg and "--clients" in msg, msg
    finally:
        blocker.close()


def test_scripts_run_restarts_a_worker_that_dies(tmp_path):
    """A SIGKILLed worker is started again (logged, with its data dir), and serves its shard again;
    killed again at once, it comes back after a longer wait (backoff)."""
    port, broker_port, worker_port = free_ports(3)
    proc, log_path = start_run(tmp_path, "run", ["--port", str(port), "--broker-port", str(broker_port),
                                                 "--worker-port", str(worker_port),
                                                 "--data-dir", str(tmp_path / "data")])
    try:
        r = wait_ready(port, proc, log_path)
        assert r.set(b"a-key", b"left") and r.set(b"z-key", b"right")

        def w2_pids():
            return [p for p, c in descendants(proc.pid).items()
                    if "clossyne-worker" in c and "--id w2" in c]

        for round_, delay in ((1, 1), (2, 2)):
            (old,) = w2_pids()
            os.kill(old, signal.SIGKILL)
            deadline = time.monotonic() + 15
            new = []
            while time.monotonic() < deadline:
                new = [p for p in w2_pids() if p != old]
                if new:
                    break
                time.sleep(0.1)
            out = log_path.read_text(errors="replace")
            assert new, f"w2 not restarted (round {round_}):\n{out}"
            assert len(re.findall(r"\] w2 \(pid \d+\) exited on its own", out)) == round_, out
            assert f"restarting w2 in {delay} s" in out, out
            assert out.count("w2 restarted (pid") == round_, out
            # Both shards answer again: w2 recovered its data from its data dir.
            deadline = time.monotonic() + 15
            got = None
            while time.monotonic() < deadline:
                try:
                    got = r.mget([b"a-key", b"z-key"])
                    if got == [b"left", b"right"]:
                        break
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                    pass
                time.sleep(0.2)
            assert got == [b"left", b"right"], f"{got}\n{tail(log_path)}"
        assert proc.poll() is None
        r.close()
    finally:
        stop_run(proc)
    assert proc.returncode == 0, tail(log_path)


def test_replicas_from_the_environment_and_refused_above_the_workers(tmp_path):
    """CLOSSYNE_REPLICAS=1 runs one copy per shard (no members in status); more replicas than workers
    is refused before anything starts, naming the flag."""
    port, broker_port, worker_port = free_ports(3)
    proc, log_path = start_run(tmp_path, "one", ["--port", str(port), "--broker-port", str(broker_port),
                                                 "--worker-port", str(worker_port), "--in-memory"],
                               {"CLOSSYNE_REPLICAS": "1"})
    try:
        wait_ready(port, proc, log_path).close()
        st = admin_status(broker_port)
        assert st["shards"] and all("members" not in s for s in st["shards"]), st
        assert "--replicas 1" in " ".join(descendants(proc.pid).values())
    finally:
        stop_run(proc)
    proc, log_path = start_run(tmp_path, "four", ["--port", str(port), "--replicas", "4", "--in-memory"])
    assert proc.wait(timeout=10) == 2
    out = log_path.read_text(errors="replace")
    assert "--replicas must be from 1 to --workers (3), got 4" in out, out
