"""A Cluster whose broker serves HTTP (--http): /metrics, /status.json and the cluster page."""
import json
import subprocess
import time
import urllib.error
import urllib.request

from cluster import Cluster, binary, free_port


class HttpCluster(Cluster):
    def __init__(self, *a, liveness_ms: int | None = None, broker_args: list[str] | None = None,
                 **kw):
        super().__init__(*a, **kw)
        self.http_port = free_port()
        self.liveness_ms = liveness_ms
        self.broker_args = broker_args or []

    def _broker_argv(self) -> list[str]:
        argv = super()._broker_argv() + ["--http", f"127.0.0.1:{self.http_port}"]
        if self.liveness_ms is not None:
            argv += ["--liveness-ms", str(self.liveness_ms)]
        return argv + self.broker_args

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, str, str]:
        """(status, content type, body) of GET path."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode()

    def status_json(self) -> dict:
        code, _, body = self.get("/status.json")
        assert code == 200, body
        return json.loads(body)

    def admin_status(self) -> dict:
        r = subprocess.run([binary("clossyne-admin"), "--broker", self.client_endpoint,
                            "--timeout-ms", "3000", "status", "--json"],
                           capture_output=True, timeout=10, check=True)
        return json.loads(r.stdout)

    def wait_for(self, what, timeout: float = 10.0, every: float = 0.1):
        """Polls what() until it returns a truthy value (returned); None after the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = what()
            if v:
                return v
            time.sleep(every)
        return None
