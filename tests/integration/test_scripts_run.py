"""scripts/run: starts a working local cluster, and SIGINT stops every process it started."""
import os
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
        assert r.execute_command("WHERE", b"a-run")[3] != r.execute_command("WHERE", b"z-run")[3], \
            "two workers own the two shards"
        r.close()

        procs = descendants(proc.pid)
        names = " ".join(procs.values())
        for b in ("clossyne-broker", "clossyne-frontend"):
            assert names.count(b) == 1, f"{b} not running exactly once: {procs}"
        assert names.count("clossyne-worker") == 2, procs
        out = log_path.read_text(errors="replace")
        assert f"redis-cli -h 127.0.0.1 -p {port}" in out or f"redis-cli -p {port}" in out, out
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
    """A worker killed from outside is reported; SIGTERM then stops the rest."""
    port, broker_port, worker_port = free_ports(3)
    env = dict(os.environ, SKIP_BUILD="1", CLOSSYNE_BIN=str(bin_dir()))
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "run"), "--port", str(port), "--broker-port", str(broker_port),
             "--worker-port", str(worker_port), "--workers", "2", "--in-memory"],
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
