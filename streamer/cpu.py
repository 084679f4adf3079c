"""CPU accounting for lives: the cores this process may use, the CPU time of given threads, and
what one live costs at given settings (measured, not guessed), so that a worker takes a live only
when it can hold it in real time."""
from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

import numpy as np

from streamer.frames import FPS, SAMPLES_PER_VIDEO_FRAME
from streamer.settings import Settings

# A live's CPU beyond its H.264 encoding (lipsync, compositing, AAC, muxing, the socket), as a share
# of the encoding: bench.capacity puts a paced 720p live at 1.25-1.35 x its encoder's CPU.
PIPELINE_OVERHEAD = 1.35
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def usable_cores() -> float:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container's --cpus) when one is set."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cores = float(os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, int(quota) / int(period))
    except (OSError, ValueError):
        pass
    return max(cores, 0.1)


def thread_cpu_seconds(native_ids) -> float | None:
    """CPU seconds (user + system) the threads `native_ids` of this process have used; None where
    /proc cannot tell (not Linux). A thread that has ended counts nothing."""
    total, seen = 0.0, False
    for tid in native_ids:
        if tid is None:
            continue
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen = True
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total if seen else (None if not Path("/proc/self/task").exists() else 0.0)


def live_cost(settings: Settings, frames: int = 50) -> float:
    """The cores one real-time live at `settings` takes here: the CPU x264 spends on `frames`
    moving frames at its size and preset, times the rest of the pipeline. About a second."""
    from streamer.pipeline.encoder import Encoder

    encoder = Encoder(settings)
    rng = np.random.default_rng(7)
    h, w = settings.height * 3 // 2, settings.width
    texture = rng.integers(0, 255, (h, w + frames * 4), dtype=np.uint8)
    silence = np.zeros(SAMPLES_PER_VIDEO_FRAME, np.float32)
    try:
        encoder.encode(0, np.ascontiguousarray(texture[:, :w]), silence)  # the first frame sets up x264
        before = _process_cpu()
        for i in range(1, frames + 1):
            encoder.encode(i, np.ascontiguousarray(texture[:, i * 4:i * 4 + w]), silence)
        per_frame = (_process_cpu() - before) / frames
    finally:
        encoder.close()
    return per_frame * FPS * PIPELINE_OVERHEAD


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuRate:
    """Cores used lately by something whose CPU seconds so far `read()` gives (None: unknown)."""

    def __init__(self, read, window_s: float = 10.0):
        self.read, self.window_s = read, window_s
        self._marks: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def cores(self) -> float | None:
        """Cores used over the last `window_s` (None until half a second has been seen)."""
        with self._lock:
            cpu = self.read()
            if cpu is None:
                return None
            now = time.monotonic()
            self._marks.append((now, cpu))
            while len(self._marks) > 2 and now - self._marks[1][0] >= self.window_s:
                self._marks.pop(0)
            t0, c0 = self._marks[0]
            return round((cpu - c0) / (now - t0), 3) if now - t0 >= 0.5 else None
