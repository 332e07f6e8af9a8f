"""Configuring a build tree again changes no compile flag, so nothing rebuilds (issue 19, item 1).

CMake 3.25's FindPkgConfig gave libzmq's `-isystem /usr/include/mit-krb5` to the include directories on
the first configure and to the compile options on every later one: the second `scripts/run` rebuilt
every object. This test configures a fresh tree (Unix Makefiles, Release, as scripts/build.sh does),
compiles one object, configures again and checks (1) no flags.make and not compile_commands.json
changed for any target, nor was a flags.make even rewritten, and (2) make rebuilds that object zero times.
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

from cluster import REPO


def configure(build: Path) -> str:
    r = subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), "-G", "Unix Makefiles",
                        "-DCMAKE_BUILD_TYPE=Release"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def flag_files(build: Path) -> dict[str, tuple[bytes, int]]:
    files = list(build.rglob("flags.make")) + [build / "compile_commands.json"]
    return {str(f.relative_to(build)): (f.read_bytes(), f.stat().st_mtime_ns) for f in files}


def make_object(build: Path) -> str:
    r = subprocess.run(["make", "-C", str(build / "common"), "hash.cpp.o"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_second_configure_rebuilds_nothing(tmp_path):
    assert shutil.which("cmake") and shutil.which("make")
    build = tmp_path / "build"
    configure(build)
    first = flag_files(build)
    assert len(first) > 10, sorted(first)  # every target's flags.make, and compile_commands.json
    out = make_object(build)
    assert "Building CXX object common/CMakeFiles/clossyne_common.dir/hash.cpp.o" in out, out
    time.sleep(1.1)  # a rewritten file would show a later mtime even on coarse clocks
    configure(build)
    second = flag_files(build)
    assert sorted(second) == sorted(first)
    changed = [f for f in first if first[f][0] != second[f][0]]
    assert not changed, "\n".join(
        f"{f}:\n--- first\n{first[f][0].decode()}\n--- second\n{second[f][0].decode()}" for f in changed[:2])
    # (CMake rewrites compile_commands.json every time; only its content matters, to tools.)
    rewritten = [f for f in first if first[f][1] != second[f][1] and f != "compile_commands.json"]
    assert not rewritten, f"rewritten by the second configure: {rewritten}"
    out = make_object(build)
    assert "Building CXX object" not in out, f"rebuilt after the second configure:\n{out}"
    # The dry run over every target of the library lists no compile of the object built above.
    r = subprocess.run(["make", "-n", "-C", str(build / "common"), "hash.cpp.o"], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, MAKEFLAGS=""))
    compiles = [l for l in r.stdout.splitlines() if " -c " in l and "hash.cpp" in l]
    assert len(compiles) == 0, r.stdout
