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
import time
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


# x264's presets, fastest first, and the reference frames each uses (x264's preset table)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
X264_REFS = {"ultrafast": 1, "superfast": 1, "veryfast": 1, "faster": 2, "fast": 2, "medium": 3, "slow": 5,
             "slower": 8, "veryslow": 16, "placebo": 16}
RETIRED_FOR_S = 30.0  # an encoder replaced on the ladder is closed once its packets are surely sent


def preset_ladder(preset: str) -> tuple[str, ...]:
    """`preset` and the faster ones an overloaded live steps down to, at most three steps
    (veryfast -> superfast -> ultrafast); a preset x264 does not list has no ladder."""
    if preset not in X264_PRESETS:
        return (preset,)
    i = X264_PRESETS.index(preset)
    return tuple(reversed(X264_PRESETS[max(0, i - 3):i + 1]))


class Encoder:
    """Encodes I420 canvas frames and 16 kHz mono audio into platform-ready packets.

    H.264 yuv420p, no B-frames, a keyframe every `keyframe_seconds`, VBV-capped bitrate
    (CBR-like), tune zerolatency; AAC-LC stereo at `audio_rate`. Video pts = frame number
    (time base 1/25); audio pts = samples at 16 kHz, rescaled by the resampler. Not thread-safe:
    one stage thread calls encode() and step_preset(); any thread may call request_keyframe().

    With `encoder_adapt` the video may step to a faster x264 preset of its ladder and back
    (step_preset): a new x264 encoder takes over at a keyframe, writing the same parameter sets,
    so the sinks go on without noticing.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.ladder = preset_ladder(settings.preset) if settings.encoder_adapt else (settings.preset,)
        self.step = 0  # on the ladder: 0 is the configured preset
        self._video_out, self.video = self._open_video(self.ladder[0])
        self._audio_out = av.open(io.BytesIO(), "w", format="flv")
        a = self._audio_out.add_stream("aac", rate=settings.audio_rate)
        a.layout = "stereo"
        a.bit_rate = settings.audio_bitrate
        # FFmpeg's default AAC coder (two-loop search) spends ~50 ms of CPU a second of speech, more
        # than x264 at small sizes; the fast coder takes a third of that and sounds the same at
        # these bitrates (bench.pipeline prints its cost)
        a.codec_context.options = {"aac_coder": "fast"}
        self._audio_out.start_encoding()
        self.audio = a
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=settings.audio_rate)
        self._keyframe = threading.Event()
        self._retired: list[tuple[float, av.container.OutputContainer]] = []
        self.frames = 0

    @property
    def preset(self) -> str:
        return self.ladder[self.step]

    def _open_video(self, preset: str):
        """A started template FLV container in memory with an H.264 stream at `preset`."""
        settings = self.settings
        out = av.open(io.BytesIO(), "w", format="flv")
        kbps = settings.video_bitrate // 1000
        gop = round(FPS * settings.keyframe_seconds)
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = settings.width, settings.height, "yuv420p"
        v.bit_rate = settings.video_bitrate
        v.codec_context.options = {
            "preset": preset,
            "tune": "zerolatency",
            # One thread: a worker runs several lives, each with its own encoder, and x264's
            # frame threads cost 15-25 % more CPU a frame (and delay each frame by one). The
            # parameter sets are pinned (CABAC, 8x8 transforms, no weighted prediction, the
            # configured preset's reference count) so that every preset of the ladder writes the
            # same SPS/PPS.
            "x264-params": (f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:forced-idr=1:"
                            f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:sliced-threads=0:threads={settings.encoder_threads}:"
                            f"cabac=1:8x8dct=1:weightp=0:ref={X264_REFS.get(self.ladder[0], 1)}"),
        }
        out.start_encoding()
        return out, v

    def step_preset(self, by: int) -> list[av.Packet] | None:
        """Go `by` steps down the ladder (+1: the next faster preset; -1: back up) from the next
        frame, which is then a keyframe. The old encoder's last packets, or None if there is no
        such step or the new encoder's parameter sets would differ (it is then not used)."""
        step = self.step + by
        if not 0 <= step < len(self.ladder):
            return None
        out, video = self._open_video(self.ladder[step])
        if bytes(video.codec_context.extradata or b"") != bytes(self.video.codec_context.extradata or b""):
            out.close()  # (x264 lowers the chroma QP offset for presets with psy-rd: medium, fast, ...)
            self.ladder = self.ladder[:step]  # the ladder ends here
            return None
        flushed = list(self.video.encode(None))
        now = time.monotonic()
        self._retired.append((now, self._video_out))
        self._close_retired(now - RETIRED_FOR_S)
        self._video_out, self.video, self.step = out, video, step
        return flushed

    def _close_retired(self, before: float) -> None:
        """Close the replaced encoders retired before `before` (packets of theirs still queued in a
        sink refer to their streams until then)."""
        keep = []
        for at, out in self._retired:
            if at <= before:
                _close(out)
            else:
                keep.append((at, out))
        self._retired = keep

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
        packets.extend(self.encode_audio(index, audio))
        self.frames = index + 1
        return packets

    def encode_audio(self, index: int, audio: np.ndarray) -> list[av.Packet]:
        """The 640 audio samples of video frame `index` (AAC packets come every 1024 output samples)."""
        af = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
        af.sample_rate = SAMPLE_RATE
        af.pts = index * SAMPLES_PER_VIDEO_FRAME
        af.time_base = Fraction(1, SAMPLE_RATE)
        return [p for rf in self._resampler.resample(af) for p in self.audio.encode(rf)]

    def flush(self) -> list[av.Packet]:
        packets = list(self.video.encode(None))
        for rf in self._resampler.resample(None):
            packets.extend(self.audio.encode(rf))
        packets.extend(self.audio.encode(None))
        return packets

    def close(self) -> None:
        self._close_retired(float("inf"))
        _close(self._video_out)
        _close(self._audio_out)


def _close(out) -> None:
    try:
        out.close()
    except Exception:  # noqa: BLE001 - a template never reaches a real file
        pass


class Governor:
    """Decides the encoder's preset step from how late frames reach the encoder (seconds past their
    due time): a step down (faster) when a frame is `down_after` s late, at most one step per
    `settle_s`; a step back up after `up_after` s with no frame late by more than a frame (the
    wait doubles, up to `up_max`, each time a step up had to be undone within that wait); and
    `overloaded` while the fastest preset is still `overload_after` s late (until it catches up).
    """

    def __init__(self, steps: int, down_after: float = 0.25, settle_s: float = 2.0, up_after: float = 30.0,
                 up_max: float = 480.0, overload_after: float = 1.0):
        self.steps, self.down_after, self.settle_s = steps, down_after, settle_s
        self.up_after, self.up_max, self.overload_after = up_after, up_max, overload_after
        self.step = 0
        self.overloaded = False
        self.behind = 0.0
        self._changed_at = -1e9
        self._on_time_since: float | None = None
        self._went_up_at: float | None = None

    def observe(self, now: float, late: float) -> int:
        """The step to take now (+1 down to a faster preset, -1 back up, 0 none) for a frame
        `late` seconds past its due time; also updates `behind` and `overloaded`."""
        self.behind = max(0.0, late)
        if late > 1 / FPS:
            self._on_time_since = None
        elif self._on_time_since is None:
            self._on_time_since = now
        if self.overloaded and late < 2 / FPS:
            self.overloaded = False
        if late >= self.down_after and now - self._changed_at >= self.settle_s:
            if self.step + 1 < self.steps:
                if self._went_up_at is not None and now - self._went_up_at < self.up_after:
                    self.up_after = min(self.up_after * 2, self.up_max)  # that step up was too much
                self._went_up_at = None
                return self._move(now, +1)
            if late >= self.overload_after:
                self.overloaded = True
        if (self.step > 0 and self._on_time_since is not None and now - self._on_time_since >= self.up_after
                and now - self._changed_at >= self.up_after):
            self._went_up_at = now
            return self._move(now, -1)
        return 0

    def _move(self, now: float, by: int) -> int:
        self.step += by
        self._changed_at = now
        return by


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
        self.governor = Governor(len(encoder.ladder))

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
                self._govern(tick.index)
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

    def _govern(self, index: int) -> None:
        """Step the preset as the governor says, and tell when it changes or the live is overloaded."""
        g = self.governor
        was_overloaded = g.overloaded
        now = self.wall.now()
        by = g.observe(now, now - self._due(index))
        if by:
            flushed = self.encoder.step_preset(by)
            if flushed is None:  # the ladder ends before that step: stay
                g.step -= by
                g.steps = len(self.encoder.ladder)
            else:
                if flushed:
                    self.out.put(flushed)
                self.setup.on_event("encoder", preset=self.encoder.preset, step=g.step,
                                    behind_s=round(g.behind, 3), change="faster" if by > 0 else "back")
        if g.overloaded != was_overloaded:
            self.setup.on_event("overloaded" if g.overloaded else "caught_up", preset=self.encoder.preset,
                                behind_s=round(g.behind, 3))

    def _due(self, index: int) -> float:
        """When frame `index` is due at the encoder (wall clock): `margin` before it is due on the wire."""
        return self._origin + index / FPS - self.margin

    def interrupted(self, item: Picture) -> None:
        self.on_air.cut_from(item.tick.index, self.gen.cut_at)

    def _wait_until_due(self, index: int) -> None:
        """Encode each frame `margin` s before it is due on the wire, not earlier: what is encoded
        is committed, so the less is encoded ahead, the sooner an interrupt is heard."""
        now = self.wall.now()
        if self._origin is None:
            self._origin = now - index / FPS + self.margin
        delay = self._due(index) - now
        if delay > 0 and self.wall.wait(self.stop_event, delay):
            raise Stopped
