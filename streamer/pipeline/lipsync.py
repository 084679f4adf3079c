"""The lipsync stage: ticks in, ticks with their lip patch out, through one engine stream.

An interrupt drops what the engine holds (its held ticks come out unpatched, so no video frame is
lost); stale ticks pass through without a patch.
"""
from __future__ import annotations

from streamer.avatar.model import Avatar
from streamer.lipsync.base import LipFrame, LipsyncEngine
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import Stage, StageSetup


class LipsyncStage(Stage):
    """Reads Ticks from `inp`, writes LipFrames to `out`, then END. A stream that is not
    `realtime` (a recording made as fast as possible) waits for its engine however slow it is."""

    def __init__(self, setup: StageSetup, inp: Pipe, out: Pipe, engine: LipsyncEngine, avatar: Avatar,
                 realtime: bool = True):
        super().__init__("lipsync", setup, inp, out)
        self.stream = engine.open(avatar, realtime)

    def loop(self) -> None:
        try:
            while True:
                tick = self.receive()
                if tick is END:
                    for result in self.stream.flush():
                        self.out.put(result)
                    self.out.put(END)
                    return
                if self.stale(tick):
                    self.out.put(LipFrame(tick, None))
                    continue
                for result in self.stream.push(tick):
                    self.out.put(result)
        finally:
            self.stream.close()

    def interrupted(self, item) -> None:
        for result in self.stream.reset():  # what the engine holds is stale
            self.out.put(result)
