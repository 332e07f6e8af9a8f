"""TLS on the client port, as Redis has it (--tls-port, --tls-cert-file, --tls-key-file,
--tls-ca-cert-file, --tls-auth-clients, --port 0): redis-cli --tls, redis-py ssl=True and
redis-benchmark --tls against a frontend whose certificates come from a test CA made here with the
openssl CLI; client certificates required, optional and refused; plain text on the TLS port, a
silent half-open handshake and a bad certificate close that connection only.
"""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import redis

from cluster import READY_TIMEOUT_S, Cluster, free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
            cwd=d)


def make_cert(d: Path, name: str, ca: str, cn: str, san: str | None = None) -> None:
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    extra = []
    if san:
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", f"{name}.ext"]
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *extra, cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """ca (the cluster's CA), server (SAN 127.0.0.1 and localhost), client (signed by ca) and
    stranger (a client certificate from another CA)."""
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_cert(d, "server", "ca", "localhost", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "ca", "test client")
    make_ca(d, "other-ca")
    make_cert(d, "stranger", "other-ca", "stranger")
    return d


class TlsCluster(Cluster):
    """A cluster whose frontend also (or only, with plain=False) listens with TLS."""

    def __init__(self, tmpdir: Path, certs: Path, auth_clients: str, plain: bool = True,
                 extra: list[str] | None = None, **kw):
        super().__init__(tmpdir, **kw)
        self.certs = certs
        self.auth_clients = auth_clients
        self.plain = plain
        self.extra = extra or []
        self.tls_port = free_port()

    def _frontend_argv(self) -> list[str]:
        argv = super()._frontend_argv() + [
            "--tls-port", str(self.tls_port),
            "--tls-cert-file", str(self.certs / "server.crt"),
            "--tls-key-file", str(self.certs / "server.key"),
            "--tls-ca-cert-file", str(self.certs / "ca.crt"),
            "--tls-auth-clients", self.auth_clients,
            "--tls-handshake-timeout-ms", "500"]
        return argv + ([] if self.plain else ["--port", "0"]) + self.extra

    def tls_redis(self, cert: str | None = None, **kw) -> redis.Redis:
        kw.setdefault("socket_timeout", 5)
        kw.setdefault("socket_connect_timeout", 5)
        if cert:
            kw["ssl_certfile"] = str(self.certs / f"{cert}.crt")
            kw["ssl_keyfile"] = str(self.certs / f"{cert}.key")
        return redis.Redis(host="127.0.0.1", port=self.tls_port, ssl=True,
                           ssl_ca_certs=str(self.certs / "ca.crt"), **kw)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        if self.plain:
            return super().wait_ready(timeout)
        deadline = time.monotonic() + timeout
        last = None
        cert = None if self.auth_clients == "no" else "client"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                pw = self.extra[self.extra.index("--requirepass") + 1] \
                    if "--requirepass" in self.extra else None
                if isinstance(self.tls_redis(cert, socket_timeout=2, password=pw).dbsize(), int):
                    return
            except (OSError, redis.RedisError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise TimeoutError(f"cluster not ready within {timeout}s (last: {last})\n{self.logs()}")


@pytest.fixture(scope="module")
def optional_cluster(tmp_path_factory, certs):
    """Plain port and TLS port, client certificates optional."""
    with TlsCluster(tmp_path_factory.mktemp("tls-optional"), certs, "optional") as c:
        yield c


@pytest.fixture(scope="module")
def strict_cluster(tmp_path_factory, certs):
    """TLS port only (--port 0), client certificates required."""
    with TlsCluster(tmp_path_factory.mktemp("tls-strict"), certs, "yes", plain=False) as c:
        yield c


def redis_cli(c: TlsCluster, *args: str, cert: str | None = None) -> subprocess.CompletedProcess:
    argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(c.tls_port), "--tls",
            "--cacert", str(c.certs / "ca.crt")]
    if cert:
        argv += ["--cert", str(c.certs / f"{cert}.crt"), "--key", str(c.certs / f"{cert}.key")]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30)


def refused(fn) -> bool:
    """True when fn's TLS connection fails (a handshake alert, a reset or a closed socket)."""
    try:
        fn()
    except (OSError, redis.ConnectionError):
        return True
    return False


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the peer closes sock (EOF or reset) within `seconds`, reading whatever it sends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            return False
        except ConnectionError:
            return True
    return False


def test_start_log_names_port_subject_and_mode_but_no_key(optional_cluster):
    log = (optional_cluster.tmpdir / "frontend.log").read_text()
    line = next(l for l in log.splitlines() if "TLS listening" in l)
    assert f":{optional_cluster.tls_port}" in line
    assert "CN=localhost" in line and "client auth optional" in line
    key_body = (optional_cluster.certs / "server.key").read_text().splitlines()[1]
    assert key_body not in log and "PRIVATE KEY" not in log


def test_redis_cli_tls_set_get(optional_cluster):
    helptext = subprocess.run(["redis-cli", "--help"], capture_output=True, text=True, timeout=30)
    if "--tls" not in helptext.stdout + helptext.stderr:
        pytest.skip("this redis-cli is built without TLS")
    r = redis_cli(optional_cluster, "SET", "tls:cli", "über")
    assert r.returncode == 0 and r.stdout.strip() == "OK", r.stderr
    r = redis_cli(optional_cluster, "GET", "tls:cli")
    assert r.stdout.strip() == "über", r.stderr
    # A client certificate from the cluster's CA is accepted too (optional: verified if present).
    r = redis_cli(optional_cluster, "GET", "tls:cli", cert="client")
    assert r.stdout.strip() == "über", r.stderr


def test_redis_py_ssl_and_plain_port_share_the_data(optional_cluster):
    r = optional_cluster.tls_redis()
    assert r.set("tls:py", "v1") is True
    assert optional_cluster.redis().get("tls:py") == b"v1"  # the plain port still works
    optional_cluster.redis().set("tls:py2", "from plain")
    assert r.get("tls:py2") == b"from plain"
    # Big values cross many TLS records each way (partial writes, data buffered inside OpenSSL).
    big = bytes(range(256)) * 8192  # 2 MiB
    assert r.set("tls:big", big) is True
    assert r.get("tls:big") == big
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"tls:p{i}", i)
    for i in range(2000):
        pipe.get(f"tls:p{i}")
    out = pipe.execute()
    assert out[:2000] == [True] * 2000 and out[2000:] == [str(i).encode() for i in range(2000)]


def test_server_certificate_names_127_0_0_1_and_localhost(optional_cluster):
    ctx = ssl.create_default_context(cafile=str(optional_cluster.certs / "ca.crt"))
    for host in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", optional_cluster.tls_port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=host) as t:
                assert t.version() in ("TLSv1.2", "TLSv1.3")
                t.sendall(b"*1\r\n$4\r\nPING\r\n")
                assert t.recv(64) == b"+PONG\r\n"


def test_the_clossyne_dialect_works_over_tls(optional_cluster):
    ctx = ssl.create_default_context(cafile=str(optional_cluster.certs / "ca.crt"))
    with socket.create_connection(("127.0.0.1", optional_cluster.tls_port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"SET:tls:seed value with spaces\n")
            assert t.recv(64) == b"OK\n"
            # No line ending: complete after the pause (--seed-pause-ms), as over plain TCP.
            t.sendall(b"GET:tls:seed")
            assert t.recv(64) == b"value with spaces"


def test_tls_1_1_is_refused_by_the_server(optional_cluster):
    # SECLEVEL=0 lets the openssl client offer TLS 1.1, so the refusal is the server's alert.
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{optional_cluster.tls_port}",
                        "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
                       input="", capture_output=True, text=True, timeout=30)
    assert "alert protocol version" in r.stdout + r.stderr, r.stdout + r.stderr
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{optional_cluster.tls_port}",
                        "-tls1_2", "-CAfile", str(optional_cluster.certs / "ca.crt")],
                       input="", capture_output=True, text=True, timeout=30)
    assert "Protocol  : TLSv1.2" in r.stdout and "Verify return code: 0 (ok)" in r.stdout, r.stdout
    assert optional_cluster.tls_redis().ping() is True


def test_optional_refuses_a_certificate_from_another_ca(optional_cluster):
    assert refused(lambda: optional_cluster.tls_redis("stranger").ping())
    assert optional_cluster.tls_redis().ping() is True


def test_plain_text_on_the_tls_port_is_closed_and_nothing_else_breaks(optional_cluster):
    other = optional_cluster.tls_redis()
    other.set("tls:survivor", "yes")
    for payload in (b"*1\r\n$4\r\nPING\r\n", b"PING\r\n", b"GET / HTTP/1.1\r\n\r\n", b"\x16\x03" * 4000):
        with socket.create_connection(("127.0.0.1", optional_cluster.tls_port), timeout=5) as s:
            try:
                s.sendall(payload)
            except ConnectionError:
                continue  # closed while we were still sending: that is the point
            assert closed_within(s, 5.0), payload[:20]
    optional_cluster.check_alive()
    assert other.get("tls:survivor") == b"yes"  # an established TLS client is unaffected
    assert optional_cluster.redis().ping() is True


def test_a_silent_half_open_handshake_is_closed(optional_cluster):
    with socket.create_connection(("127.0.0.1", optional_cluster.tls_port), timeout=5) as s:
        t0 = time.monotonic()
        assert closed_within(s, 5.0)  # --tls-handshake-timeout-ms 500
        assert time.monotonic() - t0 >= 0.3
    # A client that stops half way through its ClientHello is closed the same way.
    with socket.create_connection(("127.0.0.1", optional_cluster.tls_port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        assert closed_within(s, 5.0)
    assert optional_cluster.tls_redis().ping() is True


def test_redis_benchmark_tls(optional_cluster):
    r = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(optional_cluster.tls_port),
                        "--tls", "--cacert", str(optional_cluster.certs / "ca.crt"),
                        "-n", "4000", "-c", "8", "-P", "4", "-t", "set,get", "-q"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout.replace("\r", "\n")
    assert "SET:" in out and "GET:" in out and "requests per second" in out, out
    optional_cluster.check_alive()


def test_auth_clients_yes_requires_a_client_certificate(strict_cluster):
    assert refused(lambda: strict_cluster.tls_redis().ping())
    assert refused(lambda: strict_cluster.tls_redis("stranger").ping())
    r = strict_cluster.tls_redis("client")
    assert r.set("tls:strict", "ok") is True and r.get("tls:strict") == b"ok"
    cli = redis_cli(strict_cluster, "GET", "tls:strict", cert="client")
    assert cli.stdout.strip() == "ok", cli.stderr
    cli = redis_cli(strict_cluster, "GET", "tls:strict")
    assert cli.stdout.strip() != "ok"
    d = strict_cluster.certs
    bench = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(strict_cluster.tls_port),
                            "--tls", "--cacert", str(d / "ca.crt"), "--cert", str(d / "client.crt"),
                            "--key", str(d / "client.key"), "-n", "2000", "-c", "4", "-t", "set",
                            "-q"], capture_output=True, text=True, timeout=120)
    assert bench.returncode == 0 and "requests per second" in bench.stdout, bench.stdout + bench.stderr
    strict_cluster.check_alive()


def test_port_0_turns_the_plain_port_off(strict_cluster):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", strict_cluster.port), timeout=5).close()
    log = (strict_cluster.tmpdir / "frontend.log").read_text()
    assert "plain-text client port off" in log and "client auth yes" in log


def frontend_has_flag(flag: str) -> bool:
    from cluster import binary
    r = subprocess.run([binary("clossyne-frontend"), "--help"], capture_output=True, text=True,
                       timeout=30)
    return flag in r.stdout


def test_a_password_applies_over_tls_too(tmp_path, certs):
    if not frontend_has_flag("--requirepass"):
        pytest.skip("this frontend has no --requirepass")
    with TlsCluster(tmp_path, certs, "no", plain=False, extra=["--requirepass", "s3cret"]) as c:
        with pytest.raises(redis.AuthenticationError):
            c.tls_redis().get("k")
        r = c.tls_redis(password="s3cret")
        assert r.set("tls:auth", "v") is True and r.get("tls:auth") == b"v"
        cli = redis_cli(c, "--no-auth-warning", "-a", "s3cret", "GET", "tls:auth")
        assert cli.stdout.strip() == "v", cli.stderr
        cli = redis_cli(c, "GET", "tls:auth")
        assert "NOAUTH" in cli.stdout + cli.stderr


@pytest.mark.parametrize("args, message", [
    (["--tls-port", "{port}"], "--tls-cert-file"),
    (["--tls-port", "{port}", "--tls-cert-file", "{d}/server.crt", "--tls-key-file",
      "{d}/server.key"], "--tls-ca-cert-file"),
    (["--port", "0"], "--tls-port"),
    (["--tls-port", "{port}", "--tls-cert-file", "{d}/server.crt", "--tls-key-file",
      "{d}/client.key", "--tls-auth-clients", "no"], "client.key"),
    (["--tls-port", "{port}", "--tls-cert-file", "{d}/missing.crt", "--tls-key-file",
      "{d}/server.key", "--tls-auth-clients", "no"], "missing.crt"),
])
def test_bad_tls_settings_are_a_clear_startup_error(certs, args, message):
    from cluster import binary
    argv = [binary("clossyne-frontend"), "--listen", f"127.0.0.1:{free_port()}"]
    argv += [a.format(port=free_port(), d=certs) for a in args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stdout + r.stderr
