"""A local nginx-rtmp for the benches that push lives and pull them back."""
from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.servers import NginxRtmp, nginx_binary, rtmp_module


@contextmanager
def local_ingest(bench: str, folder: Path) -> Iterator[NginxRtmp]:
    """nginx-rtmp on a free loopback port, its files under `folder`, stopped afterwards; without
    nginx and its RTMP module, SystemExit saying what `bench` needs."""
    nginx, module = nginx_binary(), rtmp_module()
    if nginx is None or module is None:
        raise SystemExit(f"{bench} needs nginx with the RTMP module (apt-get install nginx libnginx-mod-rtmp)")
    server = NginxRtmp(folder / "nginx", module, nginx)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def parametric_ingest(bench: str, size: str) -> Iterator[tuple[object, NginxRtmp, Path]]:
    """For a bench of lives of the default avatar (parametric lipsync, espeak) at `size` ("WxH")
    pushed to a local nginx-rtmp: (their Settings, the ingest, a temporary folder)."""
    from streamer.avatar.default import ensure_default_avatar
    from streamer.settings import Settings

    width, height = (int(v) for v in size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(width=width, height=height, avatars_dir=folder / "avatars", lipsync="parametric",
                            voice="espeak:en")
        ensure_default_avatar(settings.avatars_dir)
        with local_ingest(bench, folder) as server:
            yield settings, server, folder


def video_times(url: str, deadline: float, once: bool = False) -> Iterator[tuple[float, float]]:
    """(wall time, stream time) of each video packet a player of `url` gets (demux only, no
    decoding) until `deadline` (time.monotonic()). It connects again while the stream is not
    there yet, and after it ends unless `once`."""
    import av

    got = False
    while time.monotonic() < deadline and not (once and got):
        try:
            container = av.open(url, options={"rw_timeout": "5000000"}, timeout=5)
        except av.FFmpegError:
            time.sleep(0.2)
            continue
        try:
            for packet in container.demux(container.streams.video[0]):
                if packet.pts is None:
                    continue
                got, now = True, time.monotonic()
                yield now, float(packet.pts * packet.time_base)
                if now >= deadline:
                    return
        except av.FFmpegError:
            pass
        finally:
            container.close()
