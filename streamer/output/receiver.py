"""A local RTMP receiver for the embedded default: FFmpeg's RTMP server mode (one publisher at a
time) remuxing what it receives into FLV files, one per connection, under a folder."""
from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import av

log = logging.getLogger("livehost.receiver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalReceiver(threading.Thread):
    """Listens on rtmp://127.0.0.1:{port}/live/{name} and records each publish to
    `folder`/{name}-{n}.flv. `recordings` lists the files written; stop() ends it."""

    def __init__(self, folder: Path, name: str = "demo", port: int | None = None):
        super().__init__(name="rtmp-receiver", daemon=True)
        self.folder = Path(folder)
        self.name_ = name
        self.port = port or free_port()
        self.url = f"rtmp://127.0.0.1:{self.port}/live/{name}"
        self.recordings: list[Path] = []
        self.packets = 0
        self._halt = threading.Event()

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        while not self._halt.is_set():
            try:
                inp = av.open(self.url, options={"listen": "1"}, timeout=(None, 10.0))
            except (av.FFmpegError, OSError) as e:
                if not self._halt.is_set():
                    log.debug("receiver: a connection that did not publish: %s", e)
                continue
            if self._halt.is_set():
                inp.close()
                break
            self._record(inp)

    def _record(self, inp) -> None:
        path = self.folder / f"{self.name_}-{len(self.recordings) + 1}.flv"
        self.recordings.append(path)
        out = av.open(str(path), "w", format="flv")
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        log.info("receiving %s into %s", self.url, path)
        try:
            for packet in inp.demux():
                if packet.dts is None or packet.stream.index not in streams:
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
                self.packets += 1
        except (av.FFmpegError, OSError) as e:  # the publisher went away
            log.info("publisher left: %s", e)
        finally:
            out.close()
            inp.close()

    def stop(self) -> None:
        """Stop listening; a recording in progress is finished properly."""
        self._halt.set()
        try:  # wake a blocked listen by connecting to it
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self.join(timeout=15)
