"""The file sink: records the live (FLV or MP4 by extension) as fast as it is produced."""
from __future__ import annotations

from pathlib import Path

import av

from streamer.pipeline.encoder import Encoder
from streamer.output.sink import Sink, SinkError


class FileSink(Sink):
    """Writes packets to `path`; .flv, .mp4 and .mkv are accepted."""

    realtime = False
    FORMATS = {".flv": "flv", ".mp4": "mp4", ".mkv": "matroska"}

    def __init__(self, path: str | Path, encoder: Encoder, realtime: bool = False):
        self.path = Path(path)
        fmt = self.FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise SinkError(f"recording must end in {', '.join(self.FORMATS)}, not {self.path.name}")
        self.realtime = realtime
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = av.open(str(self.path), "w", format=fmt)
            self._streams = {"video": self._out.add_stream_from_template(encoder.video),
                             "audio": self._out.add_stream_from_template(encoder.audio)}
            self._out.start_encoding()
        except (av.FFmpegError, OSError) as e:
            raise SinkError(f"cannot write recording {self.path}: {e}") from None

    def describe(self) -> str:
        return str(self.path)

    def write(self, packet: av.Packet) -> None:
        packet.stream = self._streams[packet.stream.type]
        self._out.mux(packet)

    def close(self) -> None:
        self._out.close()
