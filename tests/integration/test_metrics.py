"""The broker's --http endpoint: /metrics read by Prometheus' own text parser
(prometheus_client.parser), counters that move when operations run, labels per worker and per shard,
/status.json equal to `clossyne-admin status --json`, 404/405, and a taken port refused."""
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cluster import binary, free_port
from http_cluster import HttpCluster

# Fields that change between two reads of a live cluster: compared modulo these.
TIMING_FIELDS = {"heartbeat_age_ms", "ops_per_sec", "rss"}


@pytest.fixture(scope="module")
def hc(tmp_path_factory):
    c = HttpCluster(tmp_path_factory.mktemp("metrics"), workers=2, split_points="m",
                    liveness_ms=1500)
    c.start()
    # The pages are re-rendered every 250 ms: wait (bounded) for one rendered after readiness.
    assert c.wait_for(lambda: c.status_json()["ready"], timeout=5), "/status.json never ready"
    yield c
    c.stop()


def scrape(c) -> dict:
    """{family name: Metric} from /metrics, parsed by prometheus_client."""
    code, ctype, body = c.get("/metrics")
    assert code == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(body)}


def value(fams, family, sample_name, **labels) -> float | None:
    for s in fams[family].samples:
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def test_metrics_parse_with_types_and_per_worker_labels(hc):
    fams = scrape(hc)
    expect = {"clossyne_ready": "gauge", "clossyne_workers": "gauge", "clossyne_worker_up": "gauge",
              "clossyne_worker_keys": "gauge", "clossyne_worker_bytes": "gauge",
              "clossyne_worker_heartbeat_age_seconds": "gauge", "clossyne_shard_keys": "gauge",
              "clossyne_shard_bytes": "gauge", "clossyne_operations": "counter",
              "clossyne_operation_errors": "counter", "clossyne_worker_operations": "counter",
              "clossyne_operation_duration_seconds": "histogram", "clossyne_barriers_held": "gauge",
              "clossyne_ops_waiting": "gauge", "clossyne_changes_in_flight": "gauge",
              "clossyne_shard_members": "gauge", "clossyne_ranges_unavailable": "gauge"}
    for name, typ in expect.items():
        assert name in fams, f"{name} missing from /metrics"
        assert fams[name].type == typ, name
    assert value(fams, "clossyne_ready", "clossyne_ready") == 1
    assert value(fams, "clossyne_workers", "clossyne_workers", state="alive") == 2
    for w in ("w1", "w2"):
        assert value(fams, "clossyne_worker_up", "clossyne_worker_up", worker=w) == 1
        age = value(fams, "clossyne_worker_heartbeat_age_seconds",
                    "clossyne_worker_heartbeat_age_seconds", worker=w)
        assert age is not None and 0 <= age < 5
    shards = {s.labels["shard"]: s.labels["owner"] for s in fams["clossyne_shard_keys"].samples}
    assert set(shards.values()) == {"w1", "w2"} and len(shards) == 2
    assert value(fams, "clossyne_ranges_unavailable", "clossyne_ranges_unavailable") == 0


def test_counters_move_when_operations_run(hc):
    r = hc.redis()
    before = scrape(hc)
    sets0 = value(before, "clossyne_operations", "clossyne_operations_total", op="set") or 0
    hist0 = value(before, "clossyne_operation_duration_seconds",
                  "clossyne_operation_duration_seconds_count")
    w_ops0 = {w: value(before, "clossyne_worker_operations", "clossyne_worker_operations_total",
                       worker=w) for w in ("w1", "w2")}
    errs0 = value(before, "clossyne_operation_errors", "clossyne_operation_errors_total",
                  op="incr") or 0
    for i in range(60):
        r.set(f"a:{i}", "x")  # shard [-inf, m)
        r.set(f"z:{i}", "x" * 10)  # shard [m, +inf)
    r.set("a:notint", "abc")
    with pytest.raises(Exception):
        r.execute_command("INCR", "a:notint")

    def moved():
        f = scrape(hc)
        sets = value(f, "clossyne_operations", "clossyne_operations_total", op="set")
        errs = value(f, "clossyne_operation_errors", "clossyne_operation_errors_total", op="incr")
        return f if (sets or 0) >= sets0 + 121 and (errs or 0) >= errs0 + 1 else None

    after = hc.wait_for(moved, timeout=5)
    if after is None:
        f = scrape(hc)
        pytest.fail("operation counters did not move within 5 s: " + repr(
            (sets0, errs0, f["clossyne_operations"].samples, f["clossyne_operation_errors"].samples)))
    hist = after["clossyne_operation_duration_seconds"]
    assert value(after, "clossyne_operation_duration_seconds",
                 "clossyne_operation_duration_seconds_count") >= hist0 + 122
    buckets = [s for s in hist.samples if s.name.endswith("_bucket")]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), "histogram buckets are not cumulative"
    assert buckets[-1].labels["le"] == "+Inf"
    codes = {s.labels["code"] for s in after["clossyne_operation_errors"].samples
             if s.labels["op"] == "incr"}
    assert codes, "the INCR error has no code label"
    # Both workers answered sub-operations: the per-worker counters moved.
    for w in ("w1", "w2"):
        now = value(after, "clossyne_worker_operations", "clossyne_worker_operations_total",
                    worker=w)
        assert now >= w_ops0[w] + 60, w
    # Keys reach the per-worker and per-shard gauges with the next heartbeats.
    def keys_seen():
        f = scrape(hc)
        k = {w: value(f, "clossyne_worker_keys", "clossyne_worker_keys", worker=w)
             for w in ("w1", "w2")}
        return k if k["w1"] >= 60 and k["w2"] >= 60 else None
    assert hc.wait_for(keys_seen, timeout=8), "worker keys did not reach /metrics"


def strip_timing(st: dict) -> dict:
    for w in st["workers"]:
        for k in TIMING_FIELDS:
            w.pop(k, None)
    return st


def test_status_json_is_what_admin_prints(hc):
    # The page may be up to 250 ms old and a heartbeat may land in between: a few tries.
    last = None
    for _ in range(20):
        served = strip_timing(hc.status_json())
        printed = strip_timing(hc.admin_status())
        if served == printed:
            break
        last = (served, printed)
        time.sleep(0.3)
    else:
        pytest.fail(f"/status.json and clossyne-admin status --json differ: {last}")
    assert {w["id"] for w in served["workers"]} == {"w1", "w2"}
    assert served["ready"] is True
    assert all("change" in s for s in served["shards"])
    # The timing fields are there too, as numbers.
    raw = hc.status_json()
    assert all(isinstance(w["heartbeat_age_ms"], int) and isinstance(w["ops_per_sec"], int)
               for w in raw["workers"])


def test_other_paths_and_methods(hc):
    assert hc.get("/nothing")[0] == 404
    import urllib.request
    import urllib.error
    req = urllib.request.Request(hc.base_url + "/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 405
    code, ctype, body = hc.get("/")
    assert code == 200 and ctype.startswith("text/html") and "/status.json" in body
    # Self-contained: nothing fetched from elsewhere.
    assert "http://" not in body and "https://" not in body and "src=" not in body


def test_a_taken_http_port_is_a_clear_error(hc, tmp_path):
    argv = [binary("clossyne-broker"), "--clients", f"tcp://127.0.0.1:{free_port()}",
            "--workers", f"tcp://127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{hc.http_port}"]
    r = subprocess.run(argv, capture_output=True, timeout=10)
    assert r.returncode != 0
    assert b"--http" in r.stderr + r.stdout and b"cannot listen" in r.stderr + r.stdout
    r = subprocess.run(argv[:-1] + ["nonsense"], capture_output=True, timeout=10)
    assert r.returncode != 0 and b"malformed" in r.stderr + r.stdout


def test_a_dead_worker_shows_in_metrics(hc):
    hc.kill_worker("w2")

    def dead():
        f = scrape(hc)
        return f if value(f, "clossyne_worker_up", "clossyne_worker_up", worker="w2") == 0 else None
    f = hc.wait_for(dead, timeout=10)
    assert f is not None, "w2 still up in /metrics 10 s after it was killed"
    assert value(f, "clossyne_workers", "clossyne_workers", state="dead") == 1
    assert value(f, "clossyne_ranges_unavailable", "clossyne_ranges_unavailable") >= 1
    assert value(f, "clossyne_worker_heartbeat_age_seconds",
                 "clossyne_worker_heartbeat_age_seconds", worker="w2") >= 1


def test_docs_and_dashboard_name_only_served_metrics(hc):
    """Every clossyne_* name in docs/OBSERVABILITY.md's broker table and in the Grafana dashboard is
    served, and every served family is in the doc (the doc stays true, the dashboard works)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    fams = scrape(hc)
    served = set()
    for f in fams.values():
        served.add(f.name)
        served.update(s.name for s in f.samples)
    doc = (root / "docs" / "OBSERVABILITY.md").read_text()
    broker_doc = doc.split("## Broker metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(clossyne_[a-z_]+)`", broker_doc))
    dashboard = set(re.findall(r"clossyne_[a-z_]+", (root / "docs" / "grafana-dashboard.json").read_text()))
    dashboard.discard("clossyne_cluster")  # the dashboard's uid
    assert documented - served == set(), "documented but not served"
    assert dashboard - served == set(), "in the dashboard but not served"
    families = {n + "_total" if fams[n].type == "counter" else n for n in fams}
    assert families - documented == set(), "served but not documented"


def test_refused_while_not_ready_counts_as_not_ready(tmp_path):
    c = HttpCluster(tmp_path / "nr", workers=1, min_workers=2)
    try:
        c.start(wait=False)
        c.wait_port()
        r = c.redis()

        # A SET per probe: the first ones may be refused by the frontend itself (its link to the
        # broker still connecting), which the broker cannot count; later ones reach the broker.
        def refused():
            with pytest.raises(Exception):
                r.set("k", "v")
            f = scrape(c)
            n = value(f, "clossyne_operation_errors", "clossyne_operation_errors_total", op="set",
                      code="not_ready")
            return f if (n or 0) >= 3 else None
        f = c.wait_for(refused, timeout=10)
        assert f is not None, "not-ready refusals not counted"
        assert value(f, "clossyne_ready", "clossyne_ready") == 0
        assert value(f, "clossyne_workers", "clossyne_workers", state="alive") == 1
    finally:
        c.stop()
