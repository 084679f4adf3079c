"""The live kept on disk as it goes out: MPEG-TS segments from the same packets (no second encode).

A segment is cut at the first keyframe after `segment_s` seconds, so each one plays alone. MPEG-TS
has no index to write at the end: a process killed mid-live leaves every finished segment
playable, and the one it was writing plays up to where it stopped. `recording.json` lists the
finished segments (file, start and duration in seconds, bytes), rewritten whole after each one.
A disk that is full or gone stops the recording with an `error` event; the live goes on.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import av

from streamer.output.sink import Sink, SinkError
from streamer.pipeline.encoder import Encoder

log = logging.getLogger("livehost.output")

MANIFEST = "recording.json"


def earlier_segments(folder: Path) -> list[dict]:
    """The segments a recording in `folder` already holds: its manifest's, and any segment it does
    not list (the one being written when a process was killed), measured from its packets."""
    manifest = folder / MANIFEST
    listed = json.loads(manifest.read_text())["segments"] if manifest.exists() else []
    known = {s["file"] for s in listed}
    for path in sorted(folder.glob("seg-[0-9][0-9][0-9][0-9][0-9].ts")):
        if path.name in known:
            continue
        try:
            with av.open(str(path)) as c:
                times = [float(p.pts * p.time_base) for p in c.demux(video=0) if p.pts is not None]
        except (av.FFmpegError, OSError):
            times = []
        if times:
            listed.append({"file": path.name, "start": round(times[0], 3),
                           "duration": round(times[-1] - times[0] + 0.04, 3), "bytes": path.stat().st_size})
    return sorted(listed, key=lambda s: s["file"])


class SegmentSink(Sink):
    """Writes the live into `folder` as seg-00001.ts, seg-00002.ts, ..."""

    realtime = False

    def __init__(self, folder: str | Path, encoder: Encoder, segment_s: float = 60.0,
                 on_event: Callable[..., None] | None = None):
        self.folder = Path(folder)
        self.encoder, self.segment_s = encoder, segment_s
        self.on_event = on_event or (lambda *a, **k: None)
        self.segments: list[dict] = []
        self.failed: str | None = None
        self._out: av.container.OutputContainer | None = None
        self._streams: dict[str, av.stream.Stream] = {}
        self._file: Path | None = None
        self._start = self._end = 0.0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / ".writable"
            probe.write_bytes(b"")
            probe.unlink()
            self.segments = earlier_segments(self.folder)  # a live resumed after its worker was lost
        except OSError as e:
            raise SinkError(f"cannot record into {self.folder}: {e.strerror or e}") from None
        self._next = max((int(s["file"][4:9]) for s in self.segments), default=0) + 1

    @property
    def connected(self) -> bool:
        return self.failed is None

    def describe(self) -> str:
        return "recording"

    def write(self, packet: av.Packet) -> None:
        if self.failed is not None:
            return
        kind = packet.stream.type
        t = float(packet.pts * packet.time_base) if packet.pts is not None else self._end
        try:
            if kind == "video" and packet.is_keyframe and (self._out is None or t - self._start >= self.segment_s):
                self._next_segment(t)
            if self._out is None:
                return  # nothing before the first keyframe
            packet.stream = self._streams[kind]
            self._out.mux(packet)
        except (av.FFmpegError, OSError) as e:
            self._fail(e)
            return
        if kind == "video":
            self._end = max(self._end, t + float((packet.duration or 0) * packet.time_base))

    def _next_segment(self, t: float) -> None:
        self._finish_segment()
        self._file = self.folder / f"seg-{self._next:05d}.ts"
        self._next += 1
        self._out = av.open(str(self._file), "w", format="mpegts")
        self._streams = {"video": self._out.add_stream_from_template(self.encoder.video),
                         "audio": self._out.add_stream_from_template(self.encoder.audio)}
        self._out.start_encoding()
        self._start = self._end = t

    def _finish_segment(self) -> None:
        if self._out is None:
            return
        out, self._out = self._out, None
        out.close()
        self.segments.append({"file": self._file.name, "start": round(self._start, 3),
                              "duration": round(self._end - self._start, 3), "bytes": self._file.stat().st_size})
        self._write_manifest(complete=False)

    def _write_manifest(self, complete: bool) -> None:
        body = json.dumps({"segments": self.segments, "complete": complete, "error": self.failed}, indent=1)
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(body)
        os.replace(tmp, self.folder / MANIFEST)

    def _fail(self, e: BaseException) -> None:
        self.failed = (getattr(e, "strerror", None) or str(e)).splitlines()[0]
        log.error("recording into %s stopped: %s", self.folder, self.failed)
        self.on_event("error", source="recording", message=f"recording stopped: {self.failed}; the live goes on")
        out, self._out = self._out, None
        if out is not None:
            try:
                out.close()
            except Exception:  # noqa: BLE001 - the disk is already failing
                pass
        try:
            self._write_manifest(complete=False)
        except OSError:
            pass

    def close(self) -> None:
        if self.failed is not None:
            return
        try:
            self._finish_segment()
            self._write_manifest(complete=True)
        except (av.FFmpegError, OSError) as e:
            self._fail(e)
