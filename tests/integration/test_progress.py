"""Progress output (issue 17): `clossyne-admin drain W --wait` and `move S W --wait` draw a bar on a
terminal and write plain lines otherwise; `status --watch` redraws the table; the Python bulk loader
(clients/python, examples/bulk_load_csv.py) shows the progress of a load. Terminals are real ptys
(Python's pty module); "otherwise" is a pipe.
"""
import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from cluster import REPO, Cluster, binary

EXAMPLE = REPO / "clients" / "python" / "examples" / "bulk_load_csv.py"
RUN_S = 60
N_ROWS = 20000


def run_in_pty(argv: list[str], timeout: float = RUN_S) -> tuple[int, bytes]:
    """Runs argv with a pty as its stdin, stdout and stderr; returns (exit code, all output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not data:
                break
            out += data
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), bytes(out)


def run_piped(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, timeout=RUN_S, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("progress"), workers=2, split_points="m")
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    with open(path, "w") as f:
        f.write("key,value\n")
        for i in range(N_ROWS):
            f.write(f"{'amz'[i % 3]}{i:06d},value-{i}\n")  # both shards: a* and m*/z*
    return path


def loader(c: Cluster, csv_path, *extra) -> list[str]:
    return [sys.executable, str(EXAMPLE), "--broker", c.client_endpoint, str(csv_path),
            "--chunk", "200", "--window", "2", *extra]


def test_bulk_loader_draws_a_bar_on_a_terminal(cluster, csv_file):
    code, out = run_in_pty(loader(cluster, csv_file, "--progress", "always"))
    text = out.decode(errors="replace")
    assert code == 0, text
    assert f"loaded {N_ROWS} rows" in text
    assert "\r[" in text  # redrawn in place
    assert f"] {N_ROWS}/{N_ROWS} keys 100%" in text
    assert "progress:" not in text


def test_bulk_loader_writes_lines_without_a_terminal(cluster, csv_file):
    r = run_piped(loader(cluster, csv_file, "--progress", "always"))
    assert r.returncode == 0, r.stderr
    assert f"loaded {N_ROWS} rows" in r.stdout.decode()
    err = r.stderr.decode()
    assert "\r" not in err and "\033" not in err
    lines = err.splitlines()
    assert lines and all(l.startswith("progress: ") for l in lines)
    assert lines[-1].startswith(f"progress: {N_ROWS}/{N_ROWS} keys (100%)")
    quiet = run_piped(loader(cluster, csv_file, "--progress", "never"))
    assert quiet.returncode == 0 and quiet.stderr == b""


# ---- clossyne-admin ------------------------------------------------------------------------------
def admin(c: Cluster, *args) -> list[str]:
    return [binary("clossyne-admin"), "--broker", c.client_endpoint, *args]


def status_json(c: Cluster) -> dict:
    import json
    r = run_piped(admin(c, "status", "--json"))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def loaded(cluster, csv_file):
    """The rows loaded, and every shard's key count reported (status's keys are as last reported)."""
    r = run_piped(loader(cluster, csv_file, "--progress", "never"))
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + RUN_S
    while sum(s["keys"] for s in status_json(cluster)["shards"]) < N_ROWS:
        assert time.monotonic() < deadline, status_json(cluster)
        time.sleep(0.2)
    return cluster


def owned_keys(c: Cluster, worker: str) -> int:
    return sum(s["keys"] for s in status_json(c)["shards"] if s["owner"] == worker)


def test_drain_wait_draws_a_bar_on_a_terminal(loaded):
    total = owned_keys(loaded, "w1")
    assert total > 0
    code, out = run_in_pty(admin(loaded, "--wait", "60", "drain", "w1"))
    text = out.decode(errors="replace")
    assert code == 0, text
    assert "\r[" in text
    assert f"] {total}/{total} keys 100%" in text
    assert "progress:" not in text
    assert text.rstrip().endswith("done")
    assert owned_keys(loaded, "w1") == 0
    assert run_piped(admin(loaded, "undrain", "w1")).returncode == 0


def test_drain_and_move_wait_write_lines_without_a_terminal(loaded):
    total = owned_keys(loaded, "w2")
    assert total > 0
    r = run_piped(admin(loaded, "--wait", "60", "drain", "w2"))
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "\r" not in err and "\033" not in err
    lines = err.splitlines()
    assert lines and all(l.startswith("progress: ") for l in lines)
    assert lines[-1].startswith(f"progress: {total}/{total} keys (100%)")
    assert r.stdout.decode().rstrip().endswith("done")
    assert run_piped(admin(loaded, "undrain", "w2")).returncode == 0
    shard = next(s for s in status_json(loaded)["shards"] if s["owner"] == "w1")
    moved = run_piped(admin(loaded, "--wait", "60", "move", str(shard["id"]), "w2"))
    assert moved.returncode == 0, moved.stderr
    last = moved.stderr.decode().splitlines()[-1]
    assert last.startswith(f"progress: {shard['keys']}/{shard['keys']} keys (100%)")


def test_status_watch_redraws(loaded):
    r = run_piped(admin(loaded, "status", "--watch", "--count", "2"))
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.count("status at ") == 2 and "\033" not in out
    assert out.count("w1") >= 2 and out.count("w2") >= 2
    code, raw = run_in_pty(admin(loaded, "status", "--watch", "--count", "3"))
    text = raw.decode(errors="replace")
    assert code == 0, text
    assert text.count("\033[H\033[2J") == 3  # the screen cleared before each redraw


# ---- clossyne.Progress on its own ----------------------------------------------------------------
def test_python_progress_is_silent_for_short_loads_and_throttles_lines():
    import io
    sys.path.insert(0, str(REPO / "clients" / "python"))
    from clossyne import Progress

    now = [0.0]
    short = io.StringIO()
    p = Progress(total=100, stream=short, tty=False, after=1.0, clock=lambda: now[0])
    p(50, 100)
    now[0] = 0.5
    p(100, 100)
    p.finish()
    assert short.getvalue() == ""  # done within `after`: nothing shown

    now[0] = 0.0
    out = io.StringIO()
    p = Progress(total=100, stream=out, tty=False, after=1.0, every=1.0, clock=lambda: now[0])
    for t, done in ((1.0, 10), (1.5, 20), (2.0, 40), (4.0, 100)):
        now[0] = t
        p(done, 100)
    p.finish()
    assert out.getvalue().splitlines() == [
        "progress: 10/100 keys (10%), 10 keys/s, about 9s left",
        "progress: 40/100 keys (40%), 20 keys/s, about 3s left",  # 1.5 s: within a second, skipped
        "progress: 100/100 keys (100%), 25 keys/s",  # once: finish() adds nothing new
    ]
