"""Versions (issue 19, item 5): every binary answers --version with
`clossyne-<name> <project version> (git <commit>)`, the version being CMake's project(VERSION) and the
commit one of this checkout's (or "unknown" outside a checkout); the servers log the same line at start;
a worker refuses a data directory written in a newer format, naming the file and the versions it reads.
Every process runs under a timeout."""
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cluster import REPO, binary, free_ports

BINARIES = ["clossyne-broker", "clossyne-worker", "clossyne-frontend", "clossyne-admin"]
LINE = re.compile(r"^(clossyne-[a-z]+) (\d+\.\d+\.\d+) \(git ([\w.\-]+)\)$")
START_TIMEOUT_S = 10.0


def project_version() -> str:
    text = (REPO / "CMakeLists.txt").read_text()
    m = re.search(r"project\(\s*clossyne\s+VERSION\s+(\d+\.\d+\.\d+)", text)
    assert m, "CMakeLists.txt has no project(clossyne VERSION x.y.z)"
    return m.group(1)


def version_of(name: str) -> tuple[str, str]:
    out = subprocess.run([binary(name), "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout
    m = LINE.match(lines[0])
    assert m, f"{name} --version printed {lines[0]!r}"
    assert m.group(1) == name
    return m.group(2), m.group(3)


def commit_hash(describe: str) -> str:
    """The hash in `git describe --always --dirty` output: abc1234, v1.0-3-gabc1234, ...-dirty."""
    d = describe.removesuffix("-dirty")
    m = re.search(r"-g([0-9a-f]{4,40})$", d)
    return m.group(1) if m else d


@pytest.mark.parametrize("name", BINARIES)
def test_version_flag(name):
    version, commit = version_of(name)
    assert version == project_version()
    if commit == "unknown":
        # Only a build from outside a checkout (or without git) may say so.
        assert not ((REPO / ".git").exists() and shutil.which("git")), \
            "built from a git checkout but the commit is unknown"
    elif shutil.which("git") and (REPO / ".git").exists():
        h = commit_hash(commit)
        assert re.fullmatch(r"[0-9a-f]{4,40}", h), commit
        found = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{h}^{{commit}}"],
                               capture_output=True, timeout=10)
        assert found.returncode == 0, f"{commit}: not a commit of {REPO}"


def test_all_binaries_agree():
    assert len({version_of(n) for n in BINARIES}) == 1


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text:
            return text
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return path.read_text(errors="replace") if path.exists() else ""


def test_servers_log_their_version_at_start(tmp_path):
    expected = {n: f"{n} {version_of(n)[0]} (git {version_of(n)[1]})" for n in BINARIES}
    clients, workers, listen = free_ports(3)
    argvs = {
        "clossyne-broker": ["--clients", f"tcp://127.0.0.1:{clients}",
                            "--workers", f"tcp://127.0.0.1:{workers}"],
        "clossyne-worker": ["--id", "w1", "--broker", f"tcp://127.0.0.1:{workers}"],
        "clossyne-frontend": ["--listen", f"127.0.0.1:{listen}",
                              "--broker", f"tcp://127.0.0.1:{clients}"],
    }
    procs = []
    try:
        for name, args in argvs.items():
            log = tmp_path / f"{name}.log"
            with open(log, "wb") as f:
                p = subprocess.Popen([binary(name), *args], stdin=subprocess.DEVNULL, stdout=f,
                                     stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(p)
            text = wait_for_line(log, expected[name], p)
            assert expected[name] in text, f"{name} did not log its version:\n{text}"
            assert p.poll() is None, f"{name} exited:\n{text}"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def run_worker(data_dir: Path) -> subprocess.CompletedProcess:
    (port,) = free_ports(1)
    return subprocess.run([binary("clossyne-worker"), "--id", "w1", "--data-dir", str(data_dir),
                           "--broker", f"tcp://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=20)


def test_worker_refuses_a_log_from_a_newer_build(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    log = data / "log-1.log"
    log.write_bytes(b"CLOSLOG\x07")
    out = run_worker(data)
    assert out.returncode == 2, out.stdout + out.stderr
    assert str(log) in out.stderr
    assert "log format version 7" in out.stderr
    assert "reads log format version 1 to 3 only" in out.stderr
    assert log.read_bytes() == b"CLOSLOG\x07"  # refused, not rewritten


def test_worker_refuses_a_cluster_json_from_a_newer_build(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    state = data / "cluster.json"
    state.write_text(json.dumps({"format": 9, "cluster": "c", "handoffs": []}))
    out = run_worker(data)
    assert out.returncode == 2, out.stdout + out.stderr
    assert str(state) in out.stderr
    assert "format 9" in out.stderr
    assert "reads format 1 only" in out.stderr
