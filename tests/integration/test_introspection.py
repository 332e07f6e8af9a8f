"""The frontend's introspection (issue 17): INFO commandstats and latencystats move as commands run,
SLOWLOG keeps every command with --slowlog-log-slower-than 0, CLIENT LIST shows every client of the
frontend, CONFIG SET changes a run-time setting, and --http serves /metrics that a real Prometheus
parser reads, with counters that move when operations run.
"""
import re
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cluster import Cluster, RawConn, RespError, free_port

WAIT_S = 10


class IntroCluster(Cluster):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.http_port = free_port()

    def _frontend_argv(self) -> list[str]:
        return super()._frontend_argv() + ["--slowlog-log-slower-than", "0",
                                           "--slowlog-max-len", "16",
                                           "--http", f"127.0.0.1:{self.http_port}"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = IntroCluster(tmp_path_factory.mktemp("intro"), workers=1, split_points=None)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def info_fields(conn: RawConn, section: str) -> dict[str, dict[str, str]]:
    text = conn.command("INFO", section).decode()
    out = {}
    for line in text.split("\r\n"):
        if ":" not in line or line.startswith("#"):
            continue
        name, rest = line.split(":", 1)
        out[name] = dict(kv.split("=", 1) for kv in rest.split(","))
    return out


def test_commandstats_and_latencystats_move(cluster):
    with cluster.raw() as c:
        before = info_fields(c, "commandstats").get("cmdstat_get", {"calls": "0"})
        for i in range(5):
            c.command("SET", f"k{i}", "v")
            assert c.command("GET", f"k{i}") == b"v"
        assert isinstance(c.command("GET"), RespError)  # arity: rejected, not called
        stats = info_fields(c, "commandstats")
        get = stats["cmdstat_get"]
        assert int(get["calls"]) == int(before["calls"]) + 5
        assert int(get["rejected_calls"]) >= 1
        assert int(get["usec"]) > 0
        assert float(get["usec_per_call"]) > 0
        assert int(stats["cmdstat_set"]["calls"]) >= 5
        lat = info_fields(c, "latencystats")["latency_percentiles_usec_get"]
        assert set(lat) == {"p50", "p99", "p99.9"}
        assert 0 < float(lat["p50"]) <= float(lat["p99"]) <= float(lat["p99.9"])
        hist = c.command("LATENCY", "HISTOGRAM", "get")
        assert hist[0] == b"get" and hist[1][:2] == [b"calls", int(get["calls"])]
        points = hist[1][3]
        bounds, counts = points[0::2], points[1::2]
        assert all(b & (b - 1) == 0 for b in bounds)  # powers of two (µs)
        assert counts == sorted(counts) and counts[-1] == int(get["calls"])
        everything = c.command("INFO", "everything").decode()
        assert "# Commandstats\r\n" in everything and "# Latencystats\r\n" in everything
        assert "# Commandstats" not in c.command("INFO").decode()  # not in the default set
        stats = c.command("INFO", "stats").decode()
        net_in = int(re.search(r"total_net_input_bytes:(\d+)", stats).group(1))
        net_out = int(re.search(r"total_net_output_bytes:(\d+)", stats).group(1))
        assert net_in > 5 * len(b"*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$1\r\nv\r\n") and net_out > 0
        assert c.command("CONFIG", "RESETSTAT") == "OK"
        assert "cmdstat_get" not in info_fields(c, "commandstats")


def test_slowlog_keeps_every_command_at_zero(cluster):
    with cluster.raw() as c:
        assert c.command("CLIENT", "SETNAME", "slowpoke") == "OK"
        assert c.command("SLOWLOG", "RESET") == "OK"
        c.command("SET", "slowkey", "x" * 200)
        entries = c.command("SLOWLOG", "GET", "-1")
        assert len(entries) >= 1
        newest = entries[0]
        assert len(newest) == 6
        ident, when, duration, args, addr, name = newest
        assert abs(when - time.time()) < 60
        assert duration >= 0
        assert args[0] == b"SET" and args[1] == b"slowkey"
        assert args[2] == b"x" * 128 + b"... (72 more bytes)"
        assert re.fullmatch(rb"127\.0\.0\.1:\d+", addr)
        assert name == b"slowpoke"
        assert c.command("SLOWLOG", "LEN") >= 1
        for i in range(40):
            c.command("PING")
        assert c.command("SLOWLOG", "LEN") == 16  # --slowlog-max-len
        assert isinstance(c.command("AUTH", "not-the-password"), RespError)
        auth = c.command("SLOWLOG", "GET", "1")[0][3]
        assert auth == [b"AUTH", b"(redacted)"]  # a password never reaches the slow log
        ids = [e[0] for e in c.command("SLOWLOG", "GET", "3")]
        assert ids == sorted(ids, reverse=True) and len(ids) == 3


def test_client_list_shows_every_client(cluster):
    with cluster.raw() as a, cluster.raw() as b, cluster.raw() as c:
        assert b.command("CLIENT", "SETNAME", "bee") == "OK"
        c.command("GET", "x")
        text = a.command("CLIENT", "LIST").decode()
        lines = [l for l in text.split("\n") if l]
        assert len(lines) == 3
        fields = [dict(kv.split("=", 1) for kv in l.split(" ")) for l in lines]
        order = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free "
                 "argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp").split()
        assert all(list(f) == order for f in fields)
        by_name = {f["name"]: f for f in fields}
        assert "bee" in by_name and by_name["bee"]["cmd"] == "client|setname"
        assert any(f["cmd"] == "get" for f in fields)
        assert any(f["cmd"] == "client|list" for f in fields)
        assert all(f["laddr"].endswith(f":{cluster.port}") for f in fields)
        my_id = a.command("CLIENT", "ID")
        mine = a.command("CLIENT", "LIST", "ID", str(my_id)).decode().strip()
        assert mine.startswith(f"id={my_id} ")
        assert a.command("CLIENT", "INFO").decode().startswith(f"id={my_id} ")
        # Every client's address and command is for admins only, as in Redis.
        assert a.command("ACL", "SETUSER", "plain", "on", ">pw", "~*", "+@all", "-@admin") == "OK"
        assert b.command("AUTH", "plain", "pw") == "OK"
        denied = b.command("CLIENT", "LIST")
        assert isinstance(denied, RespError) and b"NOPERM" in denied.line
        assert b.command("CLIENT", "INFO").decode().startswith("id=")
        assert a.command("ACL", "DELUSER", "plain") == 1


def test_config_set_changes_a_runtime_setting(cluster):
    with cluster.raw() as c:
        assert c.command("CONFIG", "SET", "slowlog-max-len", "4", "timeout", "0") == "OK"
        assert c.command("CONFIG", "GET", "slowlog-max-len") == [b"slowlog-max-len", b"4"]
        for i in range(10):
            c.command("PING")
        assert c.command("SLOWLOG", "LEN") == 4
        err = c.command("CONFIG", "SET", "port", "1")
        assert "can't set immutable config" in str(err)
        assert c.command("CONFIG", "SET", "maxclients", "1") == "OK"
        with cluster.raw() as refused:
            assert b"max number of clients" in refused.recv_some(5.0)
        assert c.command("CONFIG", "SET", "maxclients", "10000", "slowlog-max-len", "16") == "OK"


def scrape(c: IntroCluster) -> dict:
    """/metrics parsed by prometheus_client: {sample name: {labels tuple: value}}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http_port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    out: dict = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("clossyne_frontend_")
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def wait_metrics(c: IntroCluster, ready) -> dict:
    """Scrapes until ready(metrics) holds (pages are republished every 250 ms), bounded."""
    deadline = time.monotonic() + WAIT_S
    while True:
        m = scrape(c)
        if ready(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.1)


def metric_gets(m: dict) -> float:
    return m.get("clossyne_frontend_commands_total", {}).get((("command", "get"),), 0)


def test_metrics_parse_and_counters_move(cluster):
    with cluster.raw() as c:  # INFO is current; the page may be up to 250 ms old
        gets_before = int(info_fields(c, "commandstats").get("cmdstat_get", {"calls": 0})["calls"])
    before = wait_metrics(cluster, lambda m: metric_gets(m) == gets_before)
    assert metric_gets(before) == gets_before
    hist_before = before["clossyne_frontend_command_duration_seconds_count"][()]
    bytes_before = before["clossyne_frontend_received_bytes_total"][()]
    with cluster.raw() as c, cluster.raw() as d:
        for i in range(20):
            c.command("SET", f"m{i}", "v" * 10)
            c.command("GET", f"m{i}")
        assert isinstance(c.command("NOSUCHCMD"), RespError)
        assert isinstance(c.command("GET"), RespError)

        def ready(m):
            get = (("command", "get"),)
            return metric_gets(m) >= gets_before + 20 and \
                m.get("clossyne_frontend_commands_rejected_total", {}).get(get, 0) >= 1 and \
                m["clossyne_frontend_connections"][()] >= 2

        m = wait_metrics(cluster, ready)
        assert ready(m)
        d.command("PING")
    gets = m["clossyne_frontend_commands_total"][(("command", "get"),)]
    assert gets == gets_before + 20
    assert m["clossyne_frontend_commands_rejected_total"][(("command", "get"),)] >= 1
    assert m["clossyne_frontend_received_bytes_total"][()] > bytes_before + 20 * 20
    assert m["clossyne_frontend_sent_bytes_total"][()] > 0
    assert m["clossyne_frontend_connections_total"][()] >= 2
    count = m["clossyne_frontend_command_duration_seconds_count"][()]
    assert count >= hist_before + 40
    buckets = sorted((float(dict(k)["le"]), v)
                     for k, v in m["clossyne_frontend_command_duration_seconds_bucket"].items())
    assert buckets[-1][0] == float("inf") and buckets[-1][1] == count
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))  # cumulative
    assert m["clossyne_frontend_command_duration_seconds_sum"][()] > 0
    after = wait_metrics(cluster, lambda m: m["clossyne_frontend_connections"][()] <= 0)
    assert after["clossyne_frontend_connections"][()] == 0


def test_docs_name_exactly_the_served_frontend_metrics(cluster):
    """docs/OBSERVABILITY.md's frontend table names every family /metrics serves, and only those."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "OBSERVABILITY.md").read_text()
    section = doc.split("## The frontend: /metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(clossyne_[a-z_]+)`", section))
    with cluster.raw() as c:
        c.command("GET", "doc-check")  # so the per-command families have a sample
    assert metric_gets(wait_metrics(cluster, lambda m: metric_gets(m) > 0)) > 0
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.http_port}/metrics", timeout=5) as r:
        fams = list(text_string_to_metric_families(r.read().decode()))
    served = {f.name + "_total" if f.type == "counter" else f.name for f in fams}
    assert documented == served
