"""A terminal progress bar for long work (avatar preparation), on stderr."""
from __future__ import annotations

import sys
import time


class ProgressBar:
    """Call with (done, total); draws `label [#####.....] done/total  rate/s` in place."""

    def __init__(self, label: str, stream=sys.stderr, width: int = 30):
        self.label, self.stream, self.width = label, stream, width
        self._t0 = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / total) if total else self.width
        rate = done / max(now - self._t0, 1e-6)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{total}  {rate:.1f}/s{end}")
        self.stream.flush()
