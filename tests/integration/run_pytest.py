"""Runs one pytest file for ctest and tells ctest what really happened.

    python3 run_pytest.py [pytest args...] test_file.py

pytest exits 0 both when tests passed and when every test skipped itself (no docker, say), so ctest
would call a file that tested nothing "Passed". This wrapper exits with SKIP_CODE (77, which
tests/integration/CMakeLists.txt gives ctest as SKIP_RETURN_CODE) when pytest succeeded but every
test it collected was skipped: ctest then shows the file as Skipped, with pytest's reasons in the
test's output. A file where only some tests skip still passes, and the last line says how many
skipped (`-rs` lists their reasons above it). Any other pytest exit code is passed on, so a file
that collects no tests at all and skipped nothing (pytest's 5) fails.
"""
import sys

import pytest

SKIP_CODE = 77


class _Outcomes:
    def __init__(self):
        self.counts = {}

    def pytest_terminal_summary(self, terminalreporter):
        for key in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
            self.counts[key] = len(terminalreporter.stats.get(key, []))


def main(argv):
    outcomes = _Outcomes()
    rc = int(pytest.main(argv, plugins=[outcomes]))
    c = outcomes.counts
    ran = c.get("passed", 0) + c.get("xfailed", 0) + c.get("xpassed", 0)
    skipped = c.get("skipped", 0)
    summary = ", ".join(f"{v} {k}" for k, v in c.items() if v)
    broke = c.get("failed", 0) + c.get("error", 0)
    # A module-level skip (pytest.skip(allow_module_level=True)) makes pytest exit 5, "no tests".
    if rc in (0, 5) and skipped and not ran and not broke:
        print(f"run_pytest: every test skipped ({summary}): reporting the file as skipped "
              f"(exit {SKIP_CODE})", flush=True)
        return SKIP_CODE
    if rc == 0 and skipped:
        print(f"run_pytest: passed with {skipped} test(s) skipped ({summary}); reasons above",
              flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
