"""INFO describes the cluster (issue 19, item 6): its memory and persistence fields are sums over the
live workers as `clossyne-admin status --json` reports them, and `# Clossyne` has one line per worker
with its bytes, rss and fsync mode. Workers w1 (--fsync always) and w2 (--fsync everysec) keep their
shards in a --data-dir; a worker w3 added later keeps nothing, so the cluster no longer logs every write.
"""
import json
import subprocess
import time

import pytest

from cluster import Cluster, RawConn, binary

WAIT_S = 20
VALUE = b"v" * 1000
N_KEYS = 3000


class InfoCluster(Cluster):
    FSYNC = {"w1": "always", "w2": "everysec"}  # w3: no --data-dir

    def _worker_argv(self, wid: str) -> list[str]:
        argv = super()._worker_argv(wid)
        if wid in self.FSYNC:
            argv += ["--data-dir", str(self.tmpdir / f"data-{wid}"), "--fsync", self.FSYNC[wid]]
        return argv


@pytest.fixture
def info_cluster(tmp_path_factory):
    c = InfoCluster(tmp_path_factory.mktemp("info"), workers=2)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def status(c: Cluster) -> dict:
    out = subprocess.run([binary("clossyne-admin"), "--broker", c.client_endpoint, "--timeout-ms",
                          "3000", "status", "--json"], capture_output=True, timeout=10, check=True)
    return json.loads(out.stdout)


def info(c: Cluster, *sections: str) -> dict[str, str]:
    with RawConn(c.port, timeout=5.0) as conn:
        text = conn.command("INFO", *sections)
    assert isinstance(text, bytes), text
    fields = {}
    for line in text.decode().split("\r\n"):
        if line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields[name] = value
    return fields


def numbered_lines(fields: dict[str, str], prefix: str) -> dict[str, dict[str, str]]:
    """workerN:id=..,alive=..,... (or shardN:...) lines by id."""
    out = {}
    for name, value in fields.items():
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            kv = dict(item.split("=", 1) for item in value.split(","))
            out[kv["id"]] = kv
    return out


def settled_status(c: Cluster, want: set[str]) -> dict:
    """Status once every worker in `want` is alive and has reported its memory (rss), and the shard
    sizes have stopped changing (two reports apart agree)."""
    deadline = time.monotonic() + WAIT_S
    last = None
    while time.monotonic() < deadline:
        s = status(c)
        live = {w["id"]: w for w in s["workers"] if w["alive"]}
        if want <= live.keys() and all(live[w]["rss"] > 0 for w in want):
            sizes = {w["id"]: w["bytes"] for w in s["workers"]}
            if sizes == last:
                return s
            last = sizes
        time.sleep(1.2)  # about one heartbeat
    raise AssertionError(f"status did not settle within {WAIT_S}s: {status(c)}\n{c.logs()}")


def info_between_statuses(c: Cluster, want: set[str]) -> tuple[dict, dict[str, str]]:
    """INFO taken between two statuses that agree on every worker's bytes (no report changed them)."""
    for _ in range(5):
        before = settled_status(c, want)
        fields = info(c)
        after = status(c)
        sizes = [{w["id"]: (w["alive"], w["bytes"]) for w in x["workers"]} for x in (before, after)]
        if sizes[0] == sizes[1]:
            return after, fields
    raise AssertionError(f"the workers' reports kept changing: {status(c)}")


def check_against(s: dict, fields: dict[str, str], expect_aof: int) -> None:
    live = [w for w in s["workers"] if w["alive"]]
    total_bytes = sum(w["bytes"] for w in live)
    total_rss = sum(w["rss"] for w in live)
    # used_memory_dataset: the live workers' shard trees, exactly as status sums them.
    assert int(fields["used_memory_dataset"]) == total_bytes
    # used_memory(_rss): the live workers' resident sizes. RSS moves a little between heartbeats:
    # within 10% of status's figure.
    assert total_rss > 0
    assert abs(int(fields["used_memory"]) - total_rss) <= total_rss // 10
    assert fields["used_memory_rss"] == fields["used_memory"]
    assert int(fields["used_memory"]) >= int(fields["used_memory_dataset"])
    assert fields["aof_enabled"] == str(expect_aof)
    assert int(fields["workers_alive"]) == len(live)
    assert int(fields["workers_persistent"]) == sum(1 for w in live if w["persistent"])
    lines = numbered_lines(fields, "worker")
    assert set(lines) == {w["id"] for w in s["workers"]}
    for w in s["workers"]:
        line = lines[w["id"]]
        assert line["alive"] == ("1" if w["alive"] else "0")
        assert int(line["bytes"]) == w["bytes"]
        assert int(line["shards"]) == w["shards"]
        assert line["fsync"] == (w["fsync"] if w["persistent"] else "none")
        # a worker's bytes are its shards' (the same heartbeats' reports)
        assert w["bytes"] == sum(sh["bytes"] for sh in s["shards"] if sh["owner"] == w["id"])
    shard_lines = numbered_lines(fields, "shard")
    assert {int(i) for i in shard_lines} == {sh["id"] for sh in s["shards"]}
    for sh in s["shards"]:
        assert int(shard_lines[str(sh["id"])]["bytes"]) == sh["bytes"]


def test_info_memory_and_persistence_are_the_workers(info_cluster):
    c = info_cluster
    r = c.redis()
    pipe = r.pipeline(transaction=False)
    for i in range(N_KEYS):
        pipe.set(f"info:{i:05d}".encode(), VALUE)
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()
    assert r.dbsize() == N_KEYS

    s, fields = info_between_statuses(c, {"w1", "w2"})
    by_id = {w["id"]: w for w in s["workers"]}
    assert by_id["w1"]["persistent"] and by_id["w1"]["fsync"] == "always"
    assert by_id["w2"]["persistent"] and by_id["w2"]["fsync"] == "everysec"
    check_against(s, fields, expect_aof=1)
    # The data written is in the cluster's figures (they are not the frontend's own memory).
    assert int(fields["used_memory_dataset"]) >= N_KEYS * len(VALUE)
    assert int(fields["frontend_rss"]) > 0
    # INFO memory / INFO persistence alone fetch the cluster's figures too.
    assert int(info(c, "memory")["used_memory_dataset"]) == int(fields["used_memory_dataset"])
    assert info(c, "persistence")["aof_enabled"] == "1"

    # A worker without --data-dir: not every write is logged any more.
    c.start_worker("w3")
    s, fields = info_between_statuses(c, {"w1", "w2", "w3"})
    w3 = next(w for w in s["workers"] if w["id"] == "w3")
    assert not w3["persistent"] and w3["fsync"] is None
    check_against(s, fields, expect_aof=0)
