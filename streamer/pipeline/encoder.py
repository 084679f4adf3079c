"""The encoder stage: H.264 + AAC, once per live, with timestamps from frame and sample counters only.

The encoder stage is the last stop before the wire: it turns every stale frame it meets into idle
+ silence, so nothing said before a cut is sent after it, and tells the on-air observer what it
commits. The codecs live on their own (in a template FLV container that writes to memory), so a sink
can reconnect and open a fresh container without touching encoder state: each sink container
copies the stream parameters (SPS/PPS, AudioSpecificConfig) from these template streams.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np

from streamer.frames import FPS, SAMPLE_RATE, SAMPLES_PER_VIDEO_FRAME, FrameKind, silence
from streamer.pipeline.compositor import Canvas, Picture
from streamer.pipeline.on_air import OnAir
from streamer.pipeline.pipe import END, Pipe, Stopped
from streamer.pipeline.stage import Stage, StageSetup
from streamer.settings import Settings


class Encoder:
    """Encodes I420 canvas frames and 16 kHz mono audio into platform-ready packets.

    H.264 yuv420p, no B-frames, a keyframe every `keyframe_seconds`, VBV-capped bitrate
    (CBR-like), tune zerolatency; AAC-LC stereo at `audio_rate`. Video pts = frame number
    (time base 1/25); audio pts = samples at 16 kHz, rescaled by the resampler. Not thread-safe:
    one stage thread calls encode(); any thread may call request_keyframe().
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._template = av.open(io.BytesIO(), "w", format="flv")
        kbps = settings.video_bitrate // 1000
        gop = round(FPS * settings.keyframe_seconds)
        v = self._template.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = settings.width, settings.height, "yuv420p"
        v.bit_rate = settings.video_bitrate
        v.codec_context.options = {
            "preset": settings.preset,
            "tune": "zerolatency",
            # Two frame threads instead of zerolatency's sliced threads: ~30 % more frames per
            # second for one frame (40 ms) of encoder delay. Never x264's automatic count: that
            # is 1.5 x cores frames of delay (a second on a 16-core machine), too much for
            # interrupts; a worker runs several lives, each with its own encoder, anyway.
            "x264-params": (f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:forced-idr=1:"
                            f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:sliced-threads=0:threads=2"),
        }
        a = self._template.add_stream("aac", rate=settings.audio_rate)
        a.layout = "stereo"
        a.bit_rate = settings.audio_bitrate
        self._template.start_encoding()
        self.video, self.audio = v, a
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=settings.audio_rate)
        self._keyframe = threading.Event()
        self.frames = 0

    def request_keyframe(self) -> None:
        """Make the next video frame an IDR frame (a sink just (re)connected)."""
        self._keyframe.set()

    def encode(self, index: int, i420: np.ndarray, audio: np.ndarray) -> list[av.Packet]:
        """Encode video frame `index` and its 640 audio samples; returns packets in any order."""
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = index
        frame.time_base = Fraction(1, FPS)
        if self._keyframe.is_set():
            self._keyframe.clear()
            frame.pict_type = av.video.frame.PictureType.I
        packets = list(self.video.encode(frame))
        af = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
        af.sample_rate = SAMPLE_RATE
        af.pts = index * SAMPLES_PER_VIDEO_FRAME
        af.time_base = Fraction(1, SAMPLE_RATE)
        for rf in self._resampler.resample(af):
            packets.extend(self.audio.encode(rf))
        self.frames = index + 1
        return packets

    def flush(self) -> list[av.Packet]:
        packets = list(self.video.encode(None))
        for rf in self._resampler.resample(None):
            packets.extend(self.audio.encode(rf))
        packets.extend(self.audio.encode(None))
        return packets

    def close(self) -> None:
        try:
            self._template.close()
        except Exception:  # noqa: BLE001 - the template never reaches a real file
            pass


class EncoderStage(Stage):
    """Encodes Pictures from `inp` into packet lists on `out`; with `pace`, each frame `margin`
    seconds before its wall-clock time (the output then sends packets as they come). `mix(kind,
    voice)` gives the audio to encode for a frame's voice (the scene's music mixer)."""

    def __init__(self, setup: StageSetup, inp: Pipe, out: Pipe, encoder: Encoder, canvas: Canvas, on_air: OnAir,
                 pace: bool = True, margin: float = 0.04,
                 mix: Callable[[FrameKind, np.ndarray], np.ndarray] | None = None):
        super().__init__("encoder", setup, inp, out)
        self.encoder, self.canvas, self.on_air = encoder, canvas, on_air
        self.mix = mix
        self.pace, self.margin = pace, margin
        self._origin: float | None = None

    def loop(self) -> None:
        silent = silence(SAMPLES_PER_VIDEO_FRAME)
        while True:
            item: Picture = self.inp.get()
            if item is END:
                self.on_air.ended()
                self.out.put(self.encoder.flush())
                self.out.put(END)
                return
            tick, i420 = item
            if self.pace:
                self._wait_until_due(tick.index)
            audio = tick.audio
            with self.on_air.lock:
                cut = self.stale(tick)
                if cut:
                    i420, audio = self.canvas.idle(tick.index), silent
                else:
                    self.on_air.track(tick)
                self.look_for_interrupt(item)  # after the wait: a cut during it counts from this frame
            self.on_air.show(None if cut else tick, cut)
            if self.mix is not None:  # after the cut: the music goes on under an interrupt
                audio = self.mix(FrameKind.IDLE if cut else tick.kind, audio)
            packets = self.encoder.encode(tick.index, i420, audio)
            self.on_air.encoded(packets)
            self.out.put(packets)

    def interrupted(self, item: Picture) -> None:
        self.on_air.cut_from(item.tick.index, self.gen.cut_at)

    def _wait_until_due(self, index: int) -> None:
        """Encode each frame `margin` s before it is due on the wire, not earlier: what is encoded
        is committed, so the less is encoded ahead, the sooner an interrupt is heard."""
        now = self.wall.now()
        if self._origin is None:
            self._origin = now - index / FPS + self.margin
        delay = self._origin + index / FPS - self.margin - now
        if delay > 0 and self.wall.wait(self.stop_event, delay):
            raise Stopped
