"""Sources that are small on disk and huge once decoded, made on the spot as an attacker would, and
the peak memory of the process that meets them."""
from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import av
import numpy as np


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit black PNG of width x height: 30000 x 30000 (2.7 GB as BGR) is about 110 KB."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the row's bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def write_video(path: Path, width: int, height: int, frames: int = 2) -> Path:
    """A tiny black H.264 video of width x height at `path`."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def peak_rss_mb(pid: int) -> float:
    """The most memory process `pid` has held at once so far (VmHWM), in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


_REPORT_PEAK = ("import atexit\n"
                "atexit.register(lambda: print('\\npeak-rss-kb', open('/proc/self/status').read()"
                ".split('VmHWM:')[1].split()[0], flush=True))\n")


def run_python_measured(code: str, *args: str, timeout: float = 120, **popen) -> tuple[int, str, float]:
    """Run Python `code` (with sys.argv[1:] = `args`) in a new interpreter: its exit code, its
    output and its peak memory in MB, as it stood when it exited (VmHWM: wait4's count would
    include the memory of this process, which it started from)."""
    run = subprocess.run([sys.executable, "-c", _REPORT_PEAK + code, *args], capture_output=True, text=True,
                         timeout=timeout, **popen)
    output, _, peak = (run.stderr + run.stdout).rpartition("\npeak-rss-kb ")
    return run.returncode, output, int(peak.split()[0]) / 1024 if peak else float("nan")
