"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (no websocket library):
headless Chromium reads commands on fd 3 and writes replies and events on fd 4, each a JSON
message ended by a NUL byte. Enough to open a page, evaluate JavaScript and take screenshots."""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    def __init__(self, width: int = 1280, height: int = 800, timeout: float = 30.0):
        exe = chromium_binary()
        if exe is None:
            raise FileNotFoundError("no chromium binary")
        self.timeout = timeout
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def child_fds():  # fds 3 and 4 in the child, whatever numbers the pipes got here
            a = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        # --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--hide-scrollbars", "--no-first-run", "--disable-extensions",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._next = 1
        self.session = None
        self.width, self.height = width, height

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        msg_id = self._next
        self._next += 1
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == msg_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chromium did not answer {method} within {self.timeout}s")
            ready, _, _ = select.select([self._from_r], [], [], left)
            if ready:
                chunk = os.read(self._from_r, 1 << 20)
                if not chunk:
                    raise ConnectionError("chromium closed its pipe")
                self._buf += chunk

    def open(self, url: str) -> None:
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self._send("Target.attachToTarget",
                                  {"targetId": target, "flatten": True})["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False})
        self.call("Page.enable")
        self.call("Page.navigate", {"url": url})

    def call(self, method: str, params: dict | None = None) -> dict:
        return self._send(method, params, self.session)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serializable)."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path) -> None:
        r = self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self) -> None:
        try:
            os.close(self._to_w)
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._from_r)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
