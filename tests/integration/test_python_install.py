"""README's install steps for the Python package (clients/python), run as written, without PyPI.

The steps (README.md, "Python client") are copied here verbatim and checked to be in README word for
word, so that the two cannot drift apart. They run in a scratch directory (HOME and the working
directory are temporary; clients/python is copied there so that setuptools' build/ and egg-info/ land
in the scratch directory, not in the checkout), with Debian's /usr/bin/python3 (the interpreter a
fresh Debian 12 machine has) and pip forbidden to reach any index (PIP_NO_INDEX, no config file, no
find-links): everything must come from the Debian packages scripts/deps.sh installs (python3-venv,
python3-setuptools, python3-wheel, python3-zmq, python3-msgpack). Then the venv's interpreter
imports clossyne (from the venv, not from the checkout) and talks to a real cluster through it.
"""
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from cluster import REPO, Cluster

DEBIAN_PYTHON = Path("/usr/bin/python3")

# Exactly as in README.md (run from the repository root).
README_STEPS = [
    "python3 -m venv --system-site-packages ~/clossyne-venv",
    "~/clossyne-venv/bin/pip install --no-build-isolation ./clients/python",
]


def test_readme_has_the_steps():
    readme = (REPO / "README.md").read_text()
    for line in README_STEPS:
        assert line in readme, f"README.md no longer says `{line}`; update it and this test together"


def _env(home: Path) -> dict:
    # Debian's interpreter first on PATH (not a pyenv or other python3), no index, no user config.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(HOME=str(home), PATH=f"{DEBIAN_PYTHON.parent}:/bin:/usr/sbin:/sbin",
               PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_CACHE_DIR="1")
    return env


def test_readme_install_steps_offline_then_talk_to_a_cluster(tmp_path):
    assert DEBIAN_PYTHON.is_file(), "no /usr/bin/python3: scripts/deps.sh installs python3"
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "checkout"
    shutil.copytree(REPO / "clients" / "python", work / "clients" / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    env = _env(home)

    for line in README_STEPS:
        r = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, f"`{line}` failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    venv_python = home / "clossyne-venv" / "bin" / "python"
    assert venv_python.exists()

    c = Cluster(tmp_path / "cluster", workers=2, split_points="m", start_frontend=False)
    try:
        c.start()
        script = textwrap.dedent(f"""
            import sys, time, clossyne
            assert clossyne.__file__.startswith(sys.prefix), clossyne.__file__
            deadline = time.monotonic() + 20
            while True:
                try:
                    with clossyne.Client({c.client_endpoint!r}, timeout=1.0) as db:
                        db.ping()
                        break
                except clossyne.ClossyneError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            with clossyne.Client({c.client_endpoint!r}) as db:
                assert db.set("apple", "red")
                db.mset({{"banana": "yellow", "zucchini": "green"}})
                assert db.get("apple") == b"red", db.get("apple")
                got = list(db.range("a", None))
                assert got == [(b"apple", b"red"), (b"banana", b"yellow"), (b"zucchini", b"green")], got
            print("ok", clossyne.__file__)
        """)
        r = subprocess.run([str(venv_python), "-c", script], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.startswith("ok"), \
            f"the venv's clossyne failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{c.logs()}"
        assert str(home / "clossyne-venv") in r.stdout
    finally:
        c.stop()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
