"""Reading back what was pushed or recorded, the way a platform or a player sees it (PyAV)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import av
import numpy as np


@dataclass
class Media:
    vcodec: str = ""
    acodec: str = ""
    width: int = 0
    height: int = 0
    audio_rate: int = 0
    audio_channels: int = 0
    video: list[tuple[float, float, bool]] = field(default_factory=list)  # pts, dts (s), keyframe
    audio: list[tuple[float, float]] = field(default_factory=list)  # pts, duration (s)
    picture_types: set[str] = field(default_factory=set)
    video_times: list[float] = field(default_factory=list)  # decoded frames' times
    crops: list[np.ndarray] = field(default_factory=list)  # grey crops of `box`, per decoded frame
    pcm: list[tuple[float, np.ndarray]] = field(default_factory=list)  # decoded audio: start, mono
    first_packet_at: float | None = None  # time.monotonic() when the first packet arrived

    def video_end(self) -> float:
        return self.video[-1][0] + 1 / 25

    def audio_end(self) -> float:
        return self.audio[-1][0] + self.audio[-1][1]

    def keyframe_gaps(self) -> list[float]:
        keys = [p for p, _, k in self.video if k]
        return [b - a for a, b in zip(keys, keys[1:])]

    def rms_at(self, t0: float, t1: float) -> float:
        parts = []
        for start, samples in self.pcm:
            end = start + len(samples) / self.audio_rate
            if end <= t0 or start >= t1:
                continue
            a = max(0, int((t0 - start) * self.audio_rate))
            b = min(len(samples), int((t1 - start) * self.audio_rate))
            parts.append(samples[a:b])
        if not parts:
            return 0.0
        x = np.concatenate(parts)
        return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def read_media(url: str, box: tuple[int, int, int, int] | None = None, decode: bool = True,
               timeout: tuple[float, float] = (20.0, 10.0), max_seconds: float | None = None,
               quick_start: bool = False) -> Media:
    """Demux (and decode) everything from `url` until it ends; `box` = (x1, y1, x2, y2) to crop.
    `quick_start` probes as little as possible before the first packet, as a low-latency player does."""
    m = Media()
    options = {"analyzeduration": "0", "probesize": "32", "fflags": "nobuffer"} if quick_start else {}
    with av.open(url, timeout=timeout, options=options) as c:
        if c.streams.video:
            vs = c.streams.video[0]
            m.vcodec, m.width, m.height = vs.codec_context.name, vs.codec_context.width, vs.codec_context.height
        if c.streams.audio:
            aus = c.streams.audio[0]
            m.acodec = aus.codec_context.name
            m.audio_rate, m.audio_channels = aus.codec_context.sample_rate, aus.codec_context.channels
        try:
            for packet in c.demux():
                if packet.dts is None:
                    continue
                if m.first_packet_at is None:
                    m.first_packet_at = time.monotonic()
                tb = packet.time_base
                if packet.stream.type == "video":
                    m.video.append((float(packet.pts * tb), float(packet.dts * tb), packet.is_keyframe))
                    if max_seconds is not None and m.video[-1][0] - m.video[0][0] >= max_seconds:
                        break
                else:
                    m.audio.append((float(packet.pts * tb), float(packet.duration * tb)))
                if not decode:
                    continue
                for frame in packet.decode():
                    if packet.stream.type == "video":
                        m.picture_types.add(frame.pict_type.name if hasattr(frame.pict_type, "name") else str(frame.pict_type))
                        m.video_times.append(float(frame.pts * frame.time_base))
                        if box is not None:
                            grey = frame.to_ndarray(format="gray")
                            x1, y1, x2, y2 = box
                            m.crops.append(grey[y1:y2, x1:x2].astype(np.float32))
                    else:
                        m.pcm.append((float(frame.pts * frame.time_base), frame.to_ndarray().mean(axis=0)))
        except (av.FFmpegError, OSError):
            pass  # the stream ended or the publisher left
    return m


def mouth_motion(m: Media, speaking_rms: float = 0.02, silent_rms: float = 0.002) -> tuple[float, float, int, int]:
    """Mean frame-to-frame change of the mouth crop while speaking and while silent (and counts)."""
    speak, quiet = [], []
    for i in range(1, len(m.crops)):
        t = m.video_times[i]
        rms = m.rms_at(t - 0.04, t + 0.08)
        diff = float(np.mean(np.abs(m.crops[i] - m.crops[i - 1])))
        if rms >= speaking_rms:
            speak.append(diff)
        elif rms <= silent_rms:
            quiet.append(diff)
    return (float(np.mean(speak)) if speak else 0.0, float(np.mean(quiet)) if quiet else 0.0,
            len(speak), len(quiet))
