"""The output stage: packets from the encoder to the live's sink, as they come."""
from __future__ import annotations

from streamer.output.sink import Sink
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import Stage, StageSetup


class OutputStage(Stage):
    """Takes packet lists from `inp` and writes them to `sink` as they come (the encoder stage
    paces a live). Counts what it sent for status: `frames` (video packets) and `bytes`. Closes
    the sink when it ends, however it ends."""

    def __init__(self, setup: StageSetup, inp: Pipe, sink: Sink):
        super().__init__("output", setup, inp)
        self.sink = sink
        self.frames = 0
        self.bytes = 0

    def loop(self) -> None:
        try:
            while True:
                item = self.inp.get()
                if item is END:
                    return
                for packet in item:
                    size = packet.size
                    is_video = packet.stream.type == "video" if packet.stream else False
                    self.sink.write(packet)
                    self.bytes += size
                    self.frames += is_video
        finally:
            self.sink.close()
