"""Redis tools, unchanged, against a real cluster (split at "m", two workers): redis-cli one-shot, piped
and on a pseudo-terminal (real interactive mode, with its COMMAND DOCS hints), `redis-cli --scan`,
redis-benchmark with and without pipelining, and redis-py. Every tool run has a timeout."""
import os
import pty
import re
import select
import subprocess
import time

import pytest

TOOL_TIMEOUT_S = 60


def cli(cluster, *args, stdin=None, timeout=TOOL_TIMEOUT_S) -> str:
    """redis-cli -p PORT args...; its stdout (raises when it fails or says Error)."""
    r = subprocess.run(["redis-cli", "-p", str(cluster.port), *args], input=stdin,
                       capture_output=True, timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, f"redis-cli {args} failed ({r.returncode}): {out} {r.stderr!r}"
    assert "Could not connect" not in out and not r.stderr.strip(), (out, r.stderr)
    return out


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


# ---- redis-cli -----------------------------------------------------------------------------------

def test_redis_cli_one_shot_data_commands(cluster):
    assert cli(cluster, "PING") == "PONG\n"
    assert cli(cluster, "ECHO", "hello world") == "hello world\n"
    assert cli(cluster, "SET", "cli:a", "1") == "OK\n"
    assert cli(cluster, "GET", "cli:a") == "1\n"
    assert cli(cluster, "MSET", "cli:b", "2", "zcli:c", "3") == "OK\n"
    assert lines(cli(cluster, "MGET", "cli:a", "cli:b", "zcli:c", "cli:none")) == ["1", "2", "3"]
    assert cli(cluster, "EXISTS", "cli:a", "zcli:c", "cli:none", "cli:a") == "3\n"
    assert sorted(lines(cli(cluster, "KEYS", "cli:*"))) == ["cli:a", "cli:b"]
    assert lines(cli(cluster, "KEYS", "*cli:[bc]")) == ["cli:b", "zcli:c"]
    assert int(cli(cluster, "DBSIZE")) >= 3
    assert cli(cluster, "TYPE", "cli:a") == "string\n"
    assert cli(cluster, "TYPE", "cli:none") == "none\n"
    assert cli(cluster, "DEL", "cli:a", "zcli:c", "cli:none") == "2\n"
    assert cli(cluster, "GET", "cli:a") == "\n"  # nil prints as an empty line when not a tty
    scan = lines(cli(cluster, "SCAN", "0", "MATCH", "cli:*", "COUNT", "1000"))
    assert scan == ["0", "cli:b"]


def test_redis_cli_one_shot_server_commands(cluster):
    assert cli(cluster, "SELECT", "0") == "OK\n"
    assert "DB index is out of range" in cli(cluster, "SELECT", "1")
    assert cli(cluster, "CLIENT", "SETNAME", "me") == "OK\n"
    assert cli(cluster, "CLIENT", "GETNAME") == "\n"  # a new connection per redis-cli run
    assert int(cli(cluster, "CLIENT", "ID")) > 0
    assert lines(cli(cluster, "CONFIG", "GET", "save")) == ["save"]
    assert lines(cli(cluster, "CONFIG", "GET", "appendonly")) == ["appendonly", "no"]
    assert lines(cli(cluster, "CONFIG", "GET", "maxclients")) == ["maxclients", "10000"]
    info = cli(cluster, "INFO")
    for needle in ("# Server", "redis_version:", "clossyne_version:", "process_id:",
                   f"tcp_port:{cluster.port}", "uptime_in_seconds:", "# Clients", "connected_clients:",
                   "maxclients:10000", "# Memory", "used_memory:", "# Stats",
                   "total_commands_processed:", "total_connections_received:", "# Keyspace",
                   "# Clossyne", "cluster_state:ok", "workers:2", "shards:2"):
        assert needle in info, needle
    assert re.search(r"used_memory:[1-9]\d*", info)
    assert "# Clients" not in cli(cluster, "INFO", "server")
    docs = cli(cluster, "COMMAND", "DOCS", "get")
    assert "summary" in docs and "arguments" in docs
    assert int(cli(cluster, "COMMAND", "COUNT")) >= 20
    assert cli(cluster, "TIME").count("\n") == 2


def test_redis_cli_piped_commands(cluster):
    script = b"SET pipe:k v1\nGET pipe:k\nMSET pipe:a 1 pipe:b 2\nKEYS pipe:*\nDEL pipe:k\nEXISTS pipe:k\nQUIT\n"
    out = lines(cli(cluster, stdin=script))
    assert out[:3] == ["OK", "v1", "OK"]
    assert sorted(out[3:6]) == ["pipe:a", "pipe:b", "pipe:k"]
    assert out[6:8] == ["1", "0"]


def _read_until(fd, needle: bytes, timeout: float) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} not seen; got {buf[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    assert needle in buf, f"{needle!r} not seen; got {buf[-500:]!r}"
    return buf


def test_redis_cli_interactive_on_a_pty(cluster, tmp_path):
    """Real interactive mode: redis-cli fetches COMMAND DOCS for its hints and must not choke."""
    master, slave = pty.openpty()
    # TERM=dumb: linenoise reads plain lines (no cursor-position queries), still in the REPL.
    env = dict(os.environ, HOME=str(tmp_path), TERM="dumb")
    proc = subprocess.Popen(["redis-cli", "-p", str(cluster.port)], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    try:
        _read_until(master, b"> ", 15)
        os.write(master, b"SET tty:k hello\r")
        _read_until(master, b"OK", 15)
        os.write(master, b"GET tty:k\r")
        _read_until(master, b'"hello"', 15)
        os.write(master, b"SCAN 0 MATCH tty:*\r")
        _read_until(master, b'"tty:k"', 15)
        os.write(master, b"QUIT\r")
        proc.wait(timeout=15)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        os.close(master)
    assert cluster.redis().get("tty:k") == b"hello"


def test_redis_cli_scan_lists_every_key_once_across_shards(cluster):
    r = cluster.redis()
    mine = [f"{p}scan:{i:04d}" for p in ("a", "q", "z") for i in range(300)]  # both shards
    r.mset({k: "v" for k in mine})
    out = lines(cli(cluster, "--scan"))
    assert len(out) == len(set(out)), "a key was listed twice"
    assert set(mine) <= set(out)
    assert int(cli(cluster, "DBSIZE")) == len(out)
    only_z = lines(cli(cluster, "--scan", "--pattern", "zscan:*"))
    assert sorted(only_z) == sorted(k for k in mine if k.startswith("z"))
    glob = lines(cli(cluster, "--scan", "--pattern", "?scan:00[0-1]?"))
    assert sorted(glob) == sorted(k for k in mine if k[6:9] in ("000", "001"))


# ---- redis-benchmark -----------------------------------------------------------------------------

@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark_set_get_mset(cluster, pipeline):
    r = cluster.redis()
    argv = ["redis-benchmark", "-p", str(cluster.port), "-t", "set,get,mset", "-c", "50",
            "-n", "20000", "-r", "1000", "-q", "-P", str(pipeline)]
    # -r 1000: keys key:000000000000 .. key:000000000999 (its default key names, randomized)
    res = subprocess.run(argv, capture_output=True, timeout=TOOL_TIMEOUT_S)
    out = (res.stdout + res.stderr).decode("utf-8", "replace").replace("\r", "\n")
    assert res.returncode == 0, out
    bad = [line for line in out.splitlines() if re.search(r"error|ERR|WARNING|Could not", line, re.I)]
    assert not bad, bad
    for test in ("SET", "GET", "MSET (10 keys)"):
        m = re.search(rf"^{re.escape(test)}: ([\d.]+) requests per second", out, re.M)
        assert m, f"no result line for {test}: {out[-1000:]}"
        assert float(m.group(1)) > 0
    keys = list(r.scan_iter(match="key:*", count=500))
    assert 0 < len(keys) <= 1000
    assert all(re.fullmatch(rb"key:\d{12}", k) for k in keys), keys[:5]
    assert len(r.get(keys[0])) == 3  # redis-benchmark's default 3-byte payload


# ---- redis-py ------------------------------------------------------------------------------------

def test_redis_py_commands(cluster):
    r = cluster.redis()
    assert r.ping() is True
    assert r.set("py:a", "1") is True
    assert r.get("py:a") == b"1"
    assert r.mset({"py:b": "2", "zpy:c": b"\x00\xff"}) is True
    assert r.mget("py:a", "py:b", "zpy:c", "py:none") == [b"1", b"2", b"\x00\xff", None]
    assert r.exists("py:a", "zpy:c", "py:none") == 2
    assert r.type("py:a") == b"string"
    assert sorted(r.keys("py:*")) == [b"py:a", b"py:b"]
    assert sorted(r.scan_iter(match="*py:*", count=2)) == [b"py:a", b"py:b", b"zpy:c"]
    assert r.delete("py:a", "zpy:c", "py:none") == 2
    assert r.exists("py:a") == 0
    assert r.echo("x") == b"x"
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_get("save") == {"save": ""}
    info = r.info()
    assert info["redis_version"] == "7.0.0" and info["tcp_port"] == cluster.port
    assert info["connected_clients"] >= 1 and info["used_memory"] > 0
    assert r.info("keyspace")["db0"]["keys"] == r.dbsize()
    assert r.client_setname("pyclient") is True
    assert r.client_getname() == "pyclient"
    assert isinstance(r.client_id(), int)
    assert r.select(0) is True
    assert r.time()[0] > 0


def test_redis_py_scan_iter_every_key_once(cluster):
    r = cluster.redis()
    mine = {f"{p}it:{i}".encode() for p in ("b", "n", "y") for i in range(250)}
    r.mset({k: b"v" for k in mine})
    seen = list(r.scan_iter(count=33))
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)
    assert set(r.scan_iter(match="nit:*", count=10)) == {k for k in mine if k.startswith(b"nit:")}


def test_redis_py_non_transactional_pipeline(cluster):
    r = cluster.redis()
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.set(f"pl:{i}", i)
    p.get("pl:7").mget("pl:1", "pl:2", "pl:none").exists("pl:3", "pl:none").delete("pl:4")
    p.ping().echo("e").dbsize().info("keyspace").scan(0, match="pl:1*", count=1000)
    res = p.execute()
    assert res[:200] == [True] * 200
    assert res[200:205] == [b"7", [b"1", b"2", None], 1, 1, True]
    assert res[205] == b"e"
    assert res[206] >= 199
    assert res[207]["db0"]["keys"] >= 199
    cursor, keys = res[208]
    assert cursor == 0 and len(keys) == 111  # pl:1, pl:10-19, pl:100-199


def test_flushdb_empties_every_shard(fresh_cluster):
    r = fresh_cluster.redis()
    r.mset({f"{p}f:{i}": "v" for p in ("c", "x") for i in range(2500)})
    assert r.dbsize() == 5000
    assert r.flushdb() is True
    assert r.dbsize() == 0
    assert r.keys("*") == []
    assert r.set("after", "1") is True
    assert r.flushall() is True
    assert r.dbsize() == 0
