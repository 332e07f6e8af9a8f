"""pytest fixtures: a real cluster (broker, two workers w1 w2, frontend) on free ports.

`cluster` is shared by the tests of one module (tests there use their own key prefixes);
`fresh_cluster` is a new cluster for one test (for tests that kill processes or need an empty store).
When a test fails, the tail of every process's log is attached to its report.
"""
import pytest

from cluster import Cluster

_active: list[Cluster] = []


def _make(tmp_path_factory, name, **kw) -> Cluster:
    c = Cluster(tmp_path_factory.mktemp(name), **kw)
    _active.append(c)
    try:
        c.start()
    except BaseException:
        _active.remove(c)
        raise
    return c


def _running(tmp_path_factory, name):
    """A cluster for the length of a fixture, stopped afterwards."""
    c = _make(tmp_path_factory, name)
    yield c
    c.stop()
    _active.remove(c)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from _running(tmp_path_factory, "cluster")


@pytest.fixture
def fresh_cluster(tmp_path_factory):
    yield from _running(tmp_path_factory, "fresh")


@pytest.fixture
def make_cluster(tmp_path_factory):
    """Factory for clusters with other settings; all are stopped after the test."""
    made = []

    def make(start=True, **kw):
        c = Cluster(tmp_path_factory.mktemp("custom"), **kw)
        _active.append(c)
        made.append(c)
        if start:
            c.start()
        return c

    yield make
    for c in made:
        c.stop()
        _active.remove(c)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for i, c in enumerate(_active):
            rep.sections.append((f"cluster {i} logs ({c.tmpdir})", c.logs()))
