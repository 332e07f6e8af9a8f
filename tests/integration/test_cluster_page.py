"""The broker's live cluster page (GET / with --http), in headless Chromium driven over the DevTools
protocol (cdp.py): after its scripts ran, every worker and every shard of /status.json is in the
DOM; a killed worker turns red (data-state "dead", its shards "unavailable") within a few seconds
in the page already open. A 1280x800 screenshot is taken each run (into the test's temp dir; with
CLOSSYNE_UPDATE_SCREENSHOT=1 also to docs/cluster-page.png, the README's picture).
Skipped, visibly, when no Chromium is installed (scripts/deps.sh installs Debian's)."""
import json
import os
import random
import shutil
import struct
import threading
import time
from pathlib import Path

import pytest

from cdp import Chromium, chromium_binary
from http_cluster import HttpCluster

pytestmark = pytest.mark.skipif(chromium_binary() is None,
                                reason="no Chromium installed (scripts/deps.sh installs chromium)")

DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "cluster-page.png"

DOM_STATE = """JSON.stringify({
  workers: Object.fromEntries([...document.querySelectorAll('tr[data-worker]')]
                              .map(e => [e.dataset.worker, e.dataset.state])),
  shards: Object.fromEntries([...document.querySelectorAll('#strip [data-shard]')]
                             .map(e => [e.dataset.shard, e.dataset.state])),
  events: [...document.querySelectorAll('[data-event]')]
            .map(e => ({kind: e.dataset.event, who: e.dataset.who, t: Number(e.dataset.t)}))
})"""


def dom(browser) -> dict:
    return json.loads(browser.evaluate(DOM_STATE))


def wait_dom(browser, check, timeout: float):
    """Polls the page's DOM until check(state) holds; returns the state, or fails with the last."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = dom(browser)
        if check(state):
            return state
        time.sleep(0.2)
    pytest.fail(f"the page's DOM did not get there within {timeout}s: {state}")


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def load(c, stop: threading.Event):
    """Writes in the background so the page shows operations per second."""
    r = c.redis()
    i = 0
    while not stop.is_set():
        try:
            r.set(f"{random.choice('abcdefghijklmnopqrstuvwxyz')}:{i % 500}", "v" * 40)
        except Exception:  # a key on the killed worker's shard: unavailable, as it should be
            pass
        i += 1


def test_cluster_page_shows_workers_shards_and_a_dead_worker(tmp_path):
    rnd = random.Random(7)
    with HttpCluster(tmp_path / "cluster", workers=4, split_points="d,h,m,q,u",
                     liveness_ms=1500) as c, Chromium(1280, 800) as browser:
        r = c.redis()
        pipe = r.pipeline(transaction=False)
        for i in range(3000):  # uneven: shards get visibly different sizes
            pipe.set(rnd.choice("aabbbcdefghhhhijkmmnopqrsstttuvwxyz") + f"{i:05}", "x" * rnd.randint(1, 300))
        pipe.execute()
        st = c.wait_for(lambda: (lambda s: s if s["ready"] else None)(c.status_json()), timeout=5)
        assert st, "/status.json never ready"
        workers = {w["id"] for w in st["workers"]}
        shards = {str(s["id"]) for s in st["shards"]}
        assert workers == {"w1", "w2", "w3", "w4"} and len(shards) == 6

        browser.open(c.base_url + "/")
        state = wait_dom(browser, lambda s: set(s["workers"]) == workers and
                         set(s["shards"]) == shards, timeout=15)
        assert all(v == "alive" for v in state["workers"].values()), state
        assert all(v == "ok" for v in state["shards"].values()), state

        stop = threading.Event()
        writer = threading.Thread(target=load, args=(c, stop), daemon=True)
        writer.start()
        try:
            time.sleep(2.5)  # a few seconds of traffic: ops/s shows in the rows
            w4_shards = {str(s["id"]) for s in c.status_json()["shards"] if s["owner"] == "w4"}
            assert w4_shards, "w4 owns no shard to turn red"
            killed_ms = time.time() * 1000
            c.kill_worker("w4")
            # Dead after --liveness-ms (1.5 s), seen at the page's next read (every second).
            state = wait_dom(browser, lambda s: s["workers"].get("w4") == "dead" and
                             all(s["shards"].get(i) == "unavailable" for i in w4_shards),
                             timeout=8)
            assert all(state["workers"][w] == "alive" for w in ("w1", "w2", "w3")), state
            died = [e for e in state["events"] if e["kind"] == "worker-dead" and e["who"] == "w4"]
            assert died, f"the page's own log missed w4 dying: {state['events']}"
            assert died[0]["t"] - killed_ms < 8000
            time.sleep(1.2)  # one more redraw: the heartbeat age of the dead worker has grown
            shot = tmp_path / "cluster-page.png"
            browser.screenshot(shot)
        finally:
            stop.set()
            writer.join(timeout=10)
        assert png_size(shot) == (1280, 800)
        if os.environ.get("CLOSSYNE_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, DOCS_PNG)
