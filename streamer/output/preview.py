"""The operator's preview: the outgoing live as HLS (a playlist of the last few MPEG-TS segments), made
from the same packets as the destinations (no second encode). The API serves the folder to
signed-in users; a browser plays it with hls.js. Segments are cut at keyframes (every 2 s), so the
preview runs one to three segments behind the live. The folder is emptied when the live ends.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import av

from streamer.output.sink import Sink, SinkError
from streamer.pipeline.encoder import Encoder

log = logging.getLogger("livehost.output")

PLAYLIST = "index.m3u8"


class HlsSink(Sink):
    """Writes `folder`/index.m3u8 and its segments, keeping the last `segments` of them."""

    realtime = True

    def __init__(self, folder: str | Path, encoder: Encoder, segments: int = 4,
                 on_event: Callable[..., None] | None = None):
        self.folder = Path(folder)
        self.on_event = on_event or (lambda *a, **k: None)
        self.failed: str | None = None
        try:
            if self.folder.exists():
                shutil.rmtree(self.folder)  # a preview left by a live that was killed
            self.folder.mkdir(parents=True)
            self._out = av.open(str(self.folder / PLAYLIST), "w", format="hls", options={
                "hls_time": "1", "hls_list_size": str(segments), "hls_flags": "delete_segments+omit_endlist",
                "hls_segment_filename": str(self.folder / "seg-%06d.ts")})
            self._streams = {"video": self._out.add_stream_from_template(encoder.video),
                             "audio": self._out.add_stream_from_template(encoder.audio)}
            self._out.start_encoding()
        except (av.FFmpegError, OSError) as e:
            raise SinkError(f"cannot write the preview into {self.folder}: {getattr(e, 'strerror', None) or e}") \
                from None
        self._started = False

    @property
    def connected(self) -> bool:
        return self.failed is None

    def describe(self) -> str:
        return "preview"

    def write(self, packet: av.Packet) -> None:
        if self.failed is not None:
            return
        kind = packet.stream.type
        if not self._started:
            if kind != "video" or not packet.is_keyframe:
                return
            self._started = True
        packet.stream = self._streams[kind]
        try:
            self._out.mux(packet)
        except (av.FFmpegError, OSError) as e:
            self.failed = (getattr(e, "strerror", None) or str(e)).splitlines()[0]
            log.error("preview stopped: %s", self.failed)
            self.on_event("error", source="preview", message=f"the preview stopped: {self.failed}; the live goes on")

    def close(self) -> None:
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - it is being removed anyway
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
