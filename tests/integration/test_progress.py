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
