"""The bus with CurveZMQ (--cluster-keys): every process authenticated, operator commands only from
the admin key, registrations only from worker keys, strangers get no reply (issue 16, "The bus").

One cluster (broker, w1 w2, frontend) started with keys made by `clossyne-admin keygen` is shared by
the module; tests use their own key prefixes. Every wait is bounded.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import time

import pytest
import zmq

from bus_envelope import envelope_call
from cluster import REPO, Cluster, binary

sys.path.insert(0, str(REPO / "clients" / "python"))
import clossyne  # noqa: E402
from clossyne import ClossyneError  # noqa: E402

try:  # clusters listed here get their logs attached to failed tests' reports (conftest.py)
    from conftest import _active as _log_on_failure
except ImportError:
    _log_on_failure = []

NO_REPLY_S = 1.5  # a refused peer's wait: the handshake never completes, nothing comes back


def keygen(out, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([binary("clossyne-admin"), "keygen", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=30)


class KeyedCluster(Cluster):
    """A Cluster whose every process gets --cluster-keys; `worker_keys` overrides a worker's dir."""

    def __init__(self, tmpdir, keys, **kw):
        super().__init__(tmpdir, **kw)
        self.keys = str(keys)
        self.worker_keys: dict[str, str] = {}

    def _broker_argv(self):
        return super()._broker_argv() + ["--cluster-keys", self.keys]

    def _worker_argv(self, wid):
        return super()._worker_argv(wid) + ["--cluster-keys", self.worker_keys.get(wid, self.keys)]

    def _frontend_argv(self):
        return super()._frontend_argv() + ["--cluster-keys", self.keys]

    def admin(self, *args, keys=None, timeout_ms=3000):
        argv = [binary("clossyne-admin"), "--broker", self.client_endpoint, "--timeout-ms",
                str(timeout_ms)]
        if keys is not False:
            argv += ["--cluster-keys", str(keys or self.keys)]
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60)

    def status(self) -> dict:
        r = self.admin("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys") / "cluster"
    r = keygen(d)
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture(scope="module")
def kc(tmp_path_factory, keys):
    c = KeyedCluster(tmp_path_factory.mktemp("bus"), keys)
    _log_on_failure.append(c)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        _log_on_failure.remove(c)


def read_key(keys, name) -> bytes:
    return (keys / name).read_bytes().strip()


# ---- keygen ------------------------------------------------------------------------------------

def test_keygen_layout_and_modes(tmp_path):
    d = tmp_path / "k"
    r = keygen(d, "--worker", "w7")
    assert r.returncode == 0, r.stderr
    for base in ("broker", "worker", "client", "admin", "workers/w7"):
        secret = (d / f"{base}.key").read_bytes().strip()
        public = (d / f"{base}.pub").read_bytes().strip()
        assert len(secret) == 40 and zmq.curve_public(secret) == public
        assert stat.S_IMODE((d / f"{base}.key").stat().st_mode) == 0o600
    lines = [l.split()[:2] for l in (d / "authorized_keys").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    roles = sorted(role for role, _ in lines)
    assert roles == ["admin", "client", "worker", "worker"]
    assert ["admin", read_key(d, "admin.pub").decode()] in lines
    assert not any(k == read_key(d, "broker.pub").decode() for _, k in lines)
    # A second keygen into the same directory never overwrites a secret.
    before = (d / "admin.key").read_bytes()
    r = keygen(d)
    assert r.returncode != 0 and "exists" in (r.stderr + r.stdout)
    assert (d / "admin.key").read_bytes() == before
    # --keep-existing (compose's keygen service, run at every `up`) keeps a whole key set and succeeds;
    # a directory with only part of one is still refused rather than completed with new secrets.
    r = keygen(d, "--keep-existing")
    assert r.returncode == 0 and "kept" in r.stdout, r.stderr
    assert (d / "admin.key").read_bytes() == before
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "broker.key").write_bytes((d / "broker.key").read_bytes())
    r = keygen(partial, "--keep-existing")
    assert r.returncode != 0 and "exists" in (r.stderr + r.stdout)
    assert not (partial / "admin.key").exists()


# ---- the keyed cluster works ----------------------------------------------------------------------

def test_frontend_set_get_over_curve(kc):
    r = kc.redis()
    assert r.set("bk:a", "1") and r.set("bk:z", "2")
    assert r.get("bk:a") == b"1" and r.get("bk:z") == b"2"
    assert "bus encrypted and authenticated" in (kc.tmpdir / "broker.log").read_text()


def test_admin_status_and_move_with_admin_key(kc):
    st = kc.status()
    assert sorted(w["id"] for w in st["workers"]) == ["w1", "w2"]
    shard = st["shards"][0]
    to = "w2" if shard["owner"] == "w1" else "w1"
    r = kc.admin("--wait", "30", "move", str(shard["id"]), to)
    assert r.returncode == 0, r.stdout + r.stderr
    after = {s["id"]: s["owner"] for s in kc.status()["shards"]}
    assert after[shard["id"]] == to
    assert kc.redis().get("bk:a") == b"1"


def test_python_client_with_keys(kc, keys):
    with clossyne.Client(kc.client_endpoint, timeout=5, cluster_keys=str(keys)) as c:
        assert c.set(b"bk:py", b"v")
        assert c.get(b"bk:py") == b"v"
        assert c.request("status")["ok"] is True  # status is read-only: clients may see it
        with pytest.raises(ClossyneError, match="permission denied"):
            c.request("drain", worker="w1")
    with clossyne.Client(kc.client_endpoint, timeout=5, cluster_keys=str(keys), role="admin") as a:
        assert a.request("status")["ok"] is True
        assert b"draining" in a.request("drain", worker="w1")["value"]
        assert b"takes new shards" in a.request("undrain", worker="w1")["value"]


# ---- what is refused --------------------------------------------------------------------------------

def test_plain_dealer_gets_no_reply_and_broker_keeps_serving(kc):
    assert envelope_call(kc.client_endpoint, {"op": "ping"}, wait_s=NO_REPLY_S) is None
    assert envelope_call(kc.client_endpoint, {"op": "status"}, wait_s=NO_REPLY_S) is None
    r = kc.admin("status", keys=False, timeout_ms=1000)  # clossyne-admin without keys: the same
    assert r.returncode != 0 and "no reply" in r.stderr
    assert kc.redis().set("bk:after-plain", "x")
    assert kc.broker.alive()


def test_unknown_curve_key_gets_no_reply(kc, keys):
    stranger, _ = zmq.curve_keypair()
    server = read_key(keys, "broker.pub")
    assert envelope_call(kc.client_endpoint, {"op": "ping"}, (stranger, server),
                         wait_s=NO_REPLY_S) is None
    # The same DEALER code with the client key is answered (the test above is not vacuous).
    reply = envelope_call(kc.client_endpoint, {"op": "ping"}, (read_key(keys, "client.key"), server))
    assert reply is not None and reply["ok"] is True
    log = (kc.tmpdir / "broker.log").read_text()
    assert "refused an unknown key" in log
    assert kc.redis().get("bk:a") == b"1"


def test_client_key_cannot_drain_or_move_but_reads_and_writes(kc, keys):
    curve = (read_key(keys, "client.key"), read_key(keys, "broker.pub"))
    shard = kc.status()["shards"][0]
    for env in ({"op": "drain", "worker": "w1"}, {"op": "move", "shard": shard["id"], "worker": "w2"},
                {"op": "split", "shard": shard["id"]}, {"op": "forget", "worker": "w1"}):
        reply = envelope_call(kc.client_endpoint, env, curve)
        assert reply is not None and reply["ok"] is False, reply
        assert "permission denied" in reply["error"] and "admin key" in reply["error"]
    assert not any(w["draining"] for w in kc.status()["workers"])
    assert kc.status()["shards"] == kc.status()["shards"]  # nothing started moving
    assert envelope_call(kc.client_endpoint, {"op": "set", "key": b"bk:c", "value": b"v"},
                         curve)["ok"] is True
    assert envelope_call(kc.client_endpoint, {"op": "get", "key": b"bk:c"}, curve)["value"] == b"v"
    # clossyne-admin with the client key (a directory whose admin.key is the client's) is refused.
    fake = kc.tmpdir / "fake-admin"
    fake.mkdir(exist_ok=True)
    shutil.copy(keys / "broker.pub", fake / "broker.pub")
    shutil.copy(keys / "client.key", fake / "admin.key")
    r = kc.admin("drain", "w1", keys=fake)
    assert r.returncode != 0 and "permission denied" in (r.stdout + r.stderr)


def test_worker_with_client_key_cannot_register(kc, keys):
    fake = kc.tmpdir / "fake-worker"
    fake.mkdir(exist_ok=True)
    shutil.copy(keys / "broker.pub", fake / "broker.pub")
    shutil.copy(keys / "client.key", fake / "worker.key")
    kc.worker_keys["w9"] = str(fake)
    kc.start_worker("w9")
    try:
        deadline = time.monotonic() + 10
        log = ""
        while time.monotonic() < deadline:
            log = (kc.tmpdir / "broker.log").read_text()
            if "refused a client key" in log and "workers socket" in log:
                break
            time.sleep(0.1)
        assert "refused a client key" in log and "workers socket" in log
        time.sleep(1.0)  # it keeps retrying; it must still be absent
        assert "w9" not in [w["id"] for w in kc.status()["workers"]]
        assert kc.workers["w9"].alive()  # refused, not crashed: it just never gets in
    finally:
        kc.workers["w9"].kill()
        del kc.workers["w9"]
    assert kc.redis().get("bk:a") == b"1"
