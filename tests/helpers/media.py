"""Reading back what was pushed or recorded, the way a platform or a player sees it (PyAV)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    channels: list[np.ndarray] = field(default_factory=list)  # decoded audio as sent: channels x samples
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
    `quick_start` probes briefly before the first packet, as a low-latency player does: at most
    half a second, for both streams (a player that joins mid-stream may get audio before the next
    keyframe, and one that took the first packet's stream alone would never see the video)."""
    m = Media()
    options = {"analyzeduration": "500000"} if quick_start else {}
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
                        pcm = frame.to_ndarray()
                        m.pcm.append((float(frame.pts * frame.time_base), pcm.mean(axis=0)))
                        m.channels.append(pcm)
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


class Player(threading.Thread):
    """Pulls a live as a low-latency player does and notes when each decoded frame arrived.

    `audio`: (arrived time.time(), pts s, rms) per decoded audio frame; `video`: (arrived, pts s,
    crop of `box` from the Y plane, or None). Start it before the publisher; stop() ends it."""

    def __init__(self, url: str, box: tuple[int, int, int, int] | None = None, timeout: float = 20.0,
                 probe_s: float = 0.5):
        super().__init__(name="player", daemon=True)
        self.url, self.box, self.timeout = url, box, timeout
        # No probing (probe_s 0) takes only the streams of the first packets: a stream whose
        # first packet is audio (a player joining before the next keyframe, or a publisher that
        # starts under load) would never show its video. Probing delays only the first half second;
        # every packet after it is read as it arrives.
        self.options = ({"analyzeduration": str(int(probe_s * 1e6))} if probe_s else
                        {"analyzeduration": "0", "probesize": "32", "fflags": "nobuffer"})
        self.audio: list[tuple[float, float, float]] = []
        self.video: list[tuple[float, float, np.ndarray | None]] = []
        self.audio_rate = 0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            with av.open(self.url, timeout=(self.timeout, 10.0), options=self.options) as c:
                for packet in c.demux():
                    if self._halt.is_set():
                        return
                    if packet.dts is None:
                        continue
                    for frame in packet.decode():
                        now = time.time()
                        t = float(frame.pts * frame.time_base)
                        if packet.stream.type == "audio":
                            self.audio_rate = frame.sample_rate
                            x = frame.to_ndarray().mean(axis=0)
                            self.audio.append((now, t, float(np.sqrt(np.mean(x * x)))))
                        elif packet.stream.type == "video":
                            crop = None
                            if self.box is not None:
                                x1, y1, x2, y2 = self.box
                                luma = frame.to_ndarray(format="yuv420p")[:frame.height]  # Y as sent
                                crop = luma[y1:y2, x1:x2].astype(np.float32)
                            self.video.append((now, t, crop))
        except (av.FFmpegError, OSError):
            pass  # the stream ended or the publisher left

    def stop(self, timeout: float = 10.0) -> None:
        self._halt.set()
        self.join(timeout)

    def stream_time_at(self, wall: float) -> float:
        """How far into the stream the player had heard at wall time `wall` (end of the last audio)."""
        heard = [t + 1024 / (self.audio_rate or 44100) for arrived, t, _ in list(self.audio) if arrived <= wall]
        return max(heard) if heard else 0.0

    def silence_from(self, after: float, hold: float = 0.5, level: float = 0.003) -> float | None:
        """Stream time where the audio goes quiet (rms < `level`) for at least `hold` s, at or after
        `after`; the start of the first such run."""
        start = None
        for _, t, rms in list(self.audio):
            if t < after - 0.05:
                continue
            if rms < level:
                start = t if start is None else start
                if t - start >= hold:
                    return start
            else:
                start = None
        return None

    def loud_from(self, after: float, level: float = 0.02) -> float | None:
        """First stream time at or after `after` where the audio is louder than `level`."""
        return next((t for _, t, rms in list(self.audio) if t >= after and rms > level), None)

    def heard_after(self, sent: float, within: float = 10.0) -> float | None:
        """Wall time the player first heard speech after wall time `sent` (None if not within
        `within` seconds): the first loud audio past the stream time it had reached at `sent`."""
        deadline = time.time() + within
        while time.time() < deadline:
            loud = self.loud_from(self.stream_time_at(sent) + 0.05)
            got = self.arrival_of(loud) if loud is not None else None
            if got is not None:
                return got
            time.sleep(0.05)
        return None

    def arrival_of(self, pts: float) -> float | None:
        """Wall time the audio frame at stream time `pts` arrived."""
        return next((arrived for arrived, t, _ in list(self.audio) if t >= pts - 1e-6), None)


class FrameGrabber(threading.Thread):
    """Pulls a live as a player does and keeps, for every decoded video frame, the grey (Y plane)
    crops of `boxes` {name: (x1, y1, x2, y2)}, and the first `keep_bgr` frames whole in BGR.

    `frames`: (arrived time.time(), pts s, {name: uint8 crop}). Start it before the publisher."""

    def __init__(self, url: str, boxes: dict[str, tuple[int, int, int, int]], keep_bgr: int = 0,
                 timeout: float = 20.0):
        super().__init__(name="grabber", daemon=True)
        self.url, self.boxes, self.keep_bgr, self.timeout = url, boxes, keep_bgr, timeout
        self.frames: list[tuple[float, float, dict[str, np.ndarray]]] = []
        self.bgr: list[tuple[float, np.ndarray]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            with av.open(self.url, timeout=(self.timeout, 10.0), options={"analyzeduration": "500000"}) as c:
                for frame in c.decode(video=0):
                    if self._halt.is_set():
                        return
                    now, t = time.time(), float(frame.pts * frame.time_base)
                    luma = frame.to_ndarray(format="yuv420p")[:frame.height]
                    self.frames.append((now, t, {k: luma[y1:y2, x1:x2].copy()
                                                 for k, (x1, y1, x2, y2) in self.boxes.items()}))
                    if len(self.bgr) < self.keep_bgr:
                        self.bgr.append((t, frame.to_ndarray(format="bgr24")))
        except (av.FFmpegError, OSError):
            pass  # the stream ended or the publisher left

    def stop(self, timeout: float = 10.0) -> None:
        self._halt.set()
        self.join(timeout)

    def between(self, t0: float, t1: float, by: str = "arrived") -> list[tuple[float, float, dict]]:
        """Frames that arrived (by="arrived", wall time) or are stamped (by="pts") within [t0, t1]."""
        i = 0 if by == "arrived" else 1
        return [f for f in list(self.frames) if t0 <= f[i] <= t1]


def write_audio(path, samples: np.ndarray, rate: int, codec: str = "mp3") -> None:
    """Encodes mono float samples (-1..1) to `path` with `codec` (mp3, aac, flac, libopus...)."""
    with av.open(str(path), "w") as c:
        stream = c.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)


def start_pull(url: str, **kw):
    """read_media(url, **kw) on a thread of its own: (the thread, {"media"} or {"media": None, "error"})."""
    result = {}

    def pull():
        try:
            result["media"] = read_media(url, **kw)
        except Exception as e:  # noqa: BLE001 - shown by the test that looks for the media
            result["media"] = None
            result["error"] = repr(e)

    th = threading.Thread(target=pull, daemon=True)
    th.start()
    return th, result


def playable_seconds(path: Path) -> float:
    """Seconds of video a segment decodes to (0 when it does not decode)."""
    try:
        with av.open(str(path)) as c:
            times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    except (av.FFmpegError, OSError):
        return 0.0
    return times[-1] - times[0] + 0.04 if times else 0.0
