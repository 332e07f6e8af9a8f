"""Authentication on the client port (issue 16), against a real cluster: --requirepass and --aclfile
with Redis 7.0's replies (NOAUTH, WRONGPASS, NOPERM), redis-cli -a, redis-py password= and
username=, redis-benchmark -a, the seed dialect refused without AUTH, and protected mode refusing a
client from another network namespace (a second loopback address would not do: the client must
come from another interface)."""
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis

from cluster import Cluster, Proc, RawConn, RespError, binary, free_port

PASSWORD = "s3cret-pass"
NOAUTH = RespError(b"NOAUTH Authentication required.")
WRONGPASS = RespError(b"WRONGPASS invalid username-password pair or user is disabled.")


class AuthCluster(Cluster):
    """A cluster whose frontend takes extra flags, ready once AUTH and DBSIZE answer."""

    def __init__(self, tmpdir, frontend_args, env=None, password=PASSWORD):
        super().__init__(tmpdir)
        self.frontend_args = frontend_args
        self.password = password
        self.env = env or {}

    def _frontend_argv(self):
        return super()._frontend_argv() + self.frontend_args

    def start_frontend_proc(self):
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            super().start_frontend_proc()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def wait_ready(self, timeout=30.0):
        self.wait_port(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if isinstance(self.redis(password=self.password).dbsize(), int):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise TimeoutError("cluster not ready\n" + self.logs())


@pytest.fixture(scope="module")
def acl_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("acl") / "users.acl"
    path.write_text(
        "# the test's users\n"
        f"user default on >{PASSWORD} ~* &* +@all\n"
        "user reader on >readpw ~* +@read\n"
        "user app on >apppw ~app:* +@all -@dangerous\n"
        "user disabled off >offpw ~* +@all\n")
    return path


@pytest.fixture(scope="module")
def secured(tmp_path_factory, acl_file):
    c = AuthCluster(tmp_path_factory.mktemp("auth"), ["--aclfile", str(acl_file)])
    c.start()
    yield c
    c.stop()


def test_noauth_wrongpass_then_auth(secured):
    with secured.raw() as c:
        assert c.command("GET", "k") == NOAUTH
        assert c.command("SET", "k", "v") == NOAUTH
        assert c.command("AUTH", "wrong") == WRONGPASS
        assert c.command("AUTH", "default", "wrong") == WRONGPASS
        assert c.command("AUTH", "disabled", "offpw") == WRONGPASS
        assert c.command("GET", "k") == NOAUTH
        assert c.command("AUTH", PASSWORD) == "OK"
        assert c.command("SET", "auth:k", "v") == "OK"
        assert c.command("GET", "auth:k") == b"v"
        assert c.command("ACL", "WHOAMI") == b"default"


def test_hello_auth(secured):
    with secured.raw() as c:
        reply = c.command("HELLO", "2", "AUTH", "default", "bad")
        assert reply == WRONGPASS
        reply = c.command("HELLO", "2", "AUTH", "reader", "readpw")
        assert isinstance(reply, list) and reply[:2] == [b"server", b"redis"]
        assert c.command("ACL", "WHOAMI") == RespError(
            b"NOPERM this user has no permissions to run the 'acl|whoami' command")
        assert c.command("GET", "auth:k") in (b"v", None)


def test_read_only_user_refused_a_write(secured):
    r = secured.redis(username="reader", password="readpw")
    r.get("auth:ro")  # reads are allowed
    with pytest.raises(redis.exceptions.NoPermissionError) as e:
        r.set("auth:ro", "v")
    assert str(e.value) == "this user has no permissions to run the 'set' command"


def test_key_pattern_user_refused_a_key_outside(secured):
    r = secured.redis(username="app", password="apppw")
    assert r.set("app:1", "x")
    assert r.get("app:1") == b"x"
    with pytest.raises(redis.exceptions.NoPermissionError) as e:
        r.set("other:1", "x")
    assert str(e.value) == "this user has no permissions to access one of the keys used as " \
                           "arguments"
    with pytest.raises(redis.exceptions.NoPermissionError):
        r.mget("app:1", "other:1")
    with pytest.raises(redis.exceptions.NoPermissionError):
        r.keys("*")  # -@dangerous


def test_redis_py_password(secured):
    assert secured.redis(password=PASSWORD).set("auth:py", "1")
    # What redis-py raises against redis-server 7.0 too.
    with pytest.raises(redis.exceptions.ResponseError, match="^WRONGPASS invalid"):
        secured.redis(password="nope").get("auth:py")
    with pytest.raises(redis.exceptions.AuthenticationError, match="Authentication required"):
        secured.redis().get("auth:py")  # NOAUTH


def test_redis_py_acl_getuser_and_genpass(secured):
    r = secured.redis(password=PASSWORD)
    assert r.acl_setuser("gu", enabled=True, passwords=["+gupw"], keys=["gu:*"], commands=["+@read"])
    user = r.acl_getuser("gu")  # redis-py parses Redis 7.0's reply into a dict
    assert user["enabled"] is True and "on" in user["flags"]
    assert user["keys"] == ["~gu:*"] and user["categories"] == ["-@all", "+@read"], user
    assert len(user["passwords"]) == 1 and len(user["passwords"][0]) == 64
    assert "gupw" not in repr(user)
    assert r.acl_getuser("no-such-user") is None
    # redis-py 4.3 drops acl_genpass(bits) on the floor; the bits go by hand.
    a, b = r.acl_genpass(), r.execute_command("ACL", "GENPASS", "128").decode()
    assert len(a) == 64 and len(b) == 32 and a[:32] != b


def redis_cli(port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                       timeout=20)
    return r.stdout.strip()


def test_redis_cli_a(secured):
    assert redis_cli(secured.port, "-a", PASSWORD, "--no-auth-warning", "SET", "auth:cli",
                     "7") == "OK"
    assert redis_cli(secured.port, "-a", PASSWORD, "--no-auth-warning", "GET", "auth:cli") == "7"
    assert redis_cli(secured.port, "GET", "auth:cli") == "NOAUTH Authentication required."
    assert redis_cli(secured.port, "--user", "reader", "--pass", "readpw", "--no-auth-warning",
                     "SET", "auth:cli", "8") == \
        "NOPERM this user has no permissions to run the 'set' command"
    acl = redis_cli(secured.port, "-a", PASSWORD, "--no-auth-warning", "ACL", "LIST")
    assert "user reader on #" in acl and "readpw" not in acl


def test_redis_benchmark_a(secured):
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark not installed")
    r = subprocess.run(["redis-benchmark", "-p", str(secured.port), "-a", PASSWORD, "-t", "set",
                        "-n", "200", "-c", "2", "-q"], capture_output=True, text=True, timeout=60)
    assert "requests per second" in r.stdout, r.stdout + r.stderr


def test_seed_dialect_refused_without_auth(secured):
    with socket.create_connection(("127.0.0.1", secured.port), timeout=5) as s:
        s.sendall(b"SET:seed:k v\n")
        s.settimeout(5)
        line = s.recv(4096)
    assert line == b"-NOAUTH the Clossyne dialect has no AUTH and a password is set: use RESP " \
                   b"and AUTH\n"


def test_password_never_logged(secured):
    log = (secured.tmpdir / "frontend.log").read_text()
    assert PASSWORD not in log and "readpw" not in log
    assert "default user needs a password" in log


def test_requirepass_from_the_environment(tmp_path):
    c = AuthCluster(tmp_path, [], env={"CLOSSYNE_REQUIREPASS": "envpw"}, password="envpw")
    with c:
        with c.raw() as conn:
            assert conn.command("PING") == NOAUTH
            assert conn.command("AUTH", "envpw") == "OK"
            assert conn.command("CONFIG", "GET", "requirepass") == [b"requirepass", b"(hidden)"]
        # The flag is not on the command line, where ps would show it.
        assert "envpw" not in " ".join(c.frontend.argv)


# ---- protected mode, from another network namespace ------------------------------------------


def _ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def two_namespaces():
    """Namespaces A and B joined by a veth pair (10.231.N.1 in A, .2 in B), deleted after."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    tag = uuid.uuid4().hex[:6]
    a, b = f"clsA{tag}", f"clsB{tag}"
    net = 1 + int(tag[:2], 16) % 250
    made = []
    try:
        for ns in (a, b):
            r = _ip("netns", "add", ns)
            if r.returncode != 0:
                pytest.skip(f"ip netns add failed: {r.stderr.strip()}")
            made.append(ns)
        va, vb = f"va{tag}", f"vb{tag}"
        steps = [
            ("link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b),
            ("-n", a, "addr", "add", f"10.231.{net}.1/24", "dev", va),
            ("-n", b, "addr", "add", f"10.231.{net}.2/24", "dev", vb),
            ("-n", a, "link", "set", va, "up"),
            ("-n", b, "link", "set", vb, "up"),
            ("-n", a, "link", "set", "lo", "up"),
        ]
        for step in steps:
            r = _ip(*step)
            if r.returncode != 0:
                pytest.skip(f"ip {' '.join(step)} failed: {r.stderr.strip()}")
        yield a, b, f"10.231.{net}.1"
    finally:
        for ns in made:
            _ip("netns", "del", ns)


def _in_ns(ns, host, port, payload=b"*1\r\n$4\r\nPING\r\n"):
    """Connects from namespace ns, sends payload, returns what comes back before close/timeout."""
    code = (
        "import socket,sys\n"
        f"s=socket.create_connection(({host!r},{port}),timeout=5)\n"
        f"s.sendall({payload!r})\n"
        "out=b''\n"
        "try:\n"
        "    while True:\n"
        "        d=s.recv(65536)\n"
        "        if not d: break\n"
        "        out+=d\n"
        "        if out.endswith(b'\\r\\n') and not out.startswith(b'-DENIED'): break\n"
        "except OSError: pass\n"
        "sys.stdout.buffer.write(out)\n")
    r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code],
                       capture_output=True, timeout=20)
    return r.stdout


def _frontend_in_ns(tmp_path, ns, port, *flags):
    # No broker is needed: protected mode acts at accept, and PING and AUTH are answered locally.
    argv = ["ip", "netns", "exec", ns, binary("clossyne-frontend"), "--listen", f"0.0.0.0:{port}",
            "--broker", "tcp://127.0.0.1:1", *flags]
    p = Proc("frontend", argv, tmp_path / f"frontend-{len(list(tmp_path.iterdir()))}.log")
    p.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _in_ns(ns, "127.0.0.1", port) == b"+PONG\r\n" or \
                _in_ns(ns, "127.0.0.1", port).startswith(b"-NOAUTH"):
            return p
        time.sleep(0.1)
    p.kill()
    raise TimeoutError("frontend in namespace not ready: " + p.log_path.read_text())


DENIED = b"-DENIED Redis is running in protected mode because protected mode is enabled and no " \
         b"password is set for the default user."


def test_protected_mode_refuses_a_client_from_another_namespace(two_namespaces, tmp_path):
    a, b, addr_a = two_namespaces
    port = free_port()
    p = _frontend_in_ns(tmp_path, a, port)
    try:
        remote = _in_ns(b, addr_a, port)
        assert remote.startswith(DENIED), remote
        assert remote.endswith(b"accepting connections from the outside.\r\n")
        assert _in_ns(a, "127.0.0.1", port) == b"+PONG\r\n"  # loopback is served
    finally:
        p.kill()


def test_protected_mode_no_and_a_password_let_remote_clients_in(two_namespaces, tmp_path):
    a, b, addr_a = two_namespaces
    port = free_port()
    p = _frontend_in_ns(tmp_path, a, port, "--protected-mode", "no")
    try:
        assert _in_ns(b, addr_a, port) == b"+PONG\r\n"
    finally:
        p.kill()
    port = free_port()
    p = _frontend_in_ns(tmp_path, a, port, "--requirepass", "pw")
    try:
        assert _in_ns(b, addr_a, port) == b"-NOAUTH Authentication required.\r\n"
        auth_ping = b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*1\r\n$4\r\nPING\r\n"
        assert _in_ns(b, addr_a, port, auth_ping).startswith(b"+OK\r\n")
    finally:
        p.kill()
