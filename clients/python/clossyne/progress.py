"""Progress of long operations (bulk loads), written to a stream (stderr by default).

On a terminal a bar redrawn in place with \\r; otherwise a plain line at most once a second, so logs
stay readable. Nothing is shown for operations shorter than `after` seconds.

    p = Progress(total=100_000)
    client.bulk_load(pairs, progress=p)   # calls p(done, total) as batches complete, then p.finish()
"""
import sys
import time
from typing import IO, Optional


def _duration(seconds: float) -> str:
    s = int(seconds + 0.999)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def progress_text(done: int, total: Optional[int], rate: float, bar_width: int = 0) -> str:
    """'1200/5000 keys (24%), 800 keys/s, about 5s left' or, with bar_width, the bar form
    '[#####.....] 1200/5000 keys  24%  800 keys/s  ETA 5s'. Without a total: '1200 keys, 800 keys/s'."""
    if total:
        pct = min(100, done * 100 // total)
        left = _duration((total - done) / rate) if rate > 0 and done < total else ""
        if bar_width:
            filled = min(bar_width, done * bar_width // total)
            out = f"[{'#' * filled}{'.' * (bar_width - filled)}] {done}/{total} keys {pct:3d}%"
            out += f"  {rate:.0f} keys/s" if rate > 0 else ""
            return out + (f"  ETA {left}" if left else "")
        out = f"{done}/{total} keys ({pct}%)"
    else:
        out = f"{done} keys"
    out += f", {rate:.0f} keys/s" if rate > 0 else ""
    return out + (f", about {left} left" if total and left else "")


class Progress:
    """A progress callback: progress(done, total) after each step, finish() at the end.

    stream: where to write (stderr); tty: draw a bar (default: stream.isatty()); after: seconds of
    silence before the first output (short loads print nothing); every: seconds between plain lines.
    """

    def __init__(self, total: Optional[int] = None, stream: Optional[IO[str]] = None,
                 tty: Optional[bool] = None, after: float = 1.0, every: float = 1.0,
                 clock=time.monotonic):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.after = after
        self.every = every
        self.clock = clock
        self.start = clock()
        self.done = 0
        self._last = None  # when the last line was written
        self._drawn = False
        self._shown = None  # (done, total) last shown

    def rate(self) -> float:
        elapsed = self.clock() - self.start
        return self.done / elapsed if elapsed > 0 and self.done else 0.0

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = self.clock()
        if now - self.start < self.after:
            return
        if not self.tty and self._last is not None and now - self._last < self.every:
            return
        self._show(now)

    def _show(self, now: float) -> None:
        if self.tty:
            self.stream.write("\r" + progress_text(self.done, self.total, self.rate(), 30) + "\033[K")
        else:
            self.stream.write("progress: " + progress_text(self.done, self.total, self.rate()) + "\n")
        self._last = now
        self._drawn = True
        self._shown = (self.done, self.total)
        self.stream.flush()

    def finish(self) -> None:
        """The final state, if anything was shown (or the load outlasted `after`) and it is not on
        screen already; ends the bar."""
        if not self._drawn and self.clock() - self.start < self.after:
            return
        if self._shown != (self.done, self.total):
            self._show(self.clock())
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
