"""A test push: a few seconds of a test card (colour bars, a moving line, a 1 kHz tone) sent to an
RTMP URL in real time, with the live's own encoder settings, so that an operator knows before going
live that the server takes the stream (address, key, firewall) and how it looks there."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import cv2
import numpy as np

from streamer.frames import FPS, SAMPLE_RATE, SAMPLES_PER_VIDEO_FRAME
from streamer.pipeline.encoder import Encoder
from streamer.output.rtmp import RtmpSink
from streamer.output.sink import SinkError
from streamer.settings import Settings

BARS = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0), (192, 0, 192), (0, 0, 192), (192, 0, 0)]  # BGR
TONE_HZ = 1000
MAX_SECONDS = 10.0


@dataclass
class PushResult:
    url: str  # key masked
    seconds: float  # media sent
    connect_ms: int  # until the server accepted the stream


def card(width: int, height: int, label: str = "livehost test push") -> np.ndarray:
    """The BGR test card: seven colour bars and a label."""
    img = np.zeros((height, width, 3), np.uint8)
    for k, colour in enumerate(BARS):
        img[:, k * width // len(BARS):(k + 1) * width // len(BARS)] = colour
    scale = max(0.5, width / 1000)
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    y = height * 3 // 4
    cv2.rectangle(img, ((width - tw) // 2 - 10, y - th - 10), ((width + tw) // 2 + 10, y + 10), (0, 0, 0), -1)
    cv2.putText(img, label, ((width - tw) // 2, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
    return img


def push_test_card(url: str, settings: Settings, seconds: float = 3.0, connect_timeout: float = 5.0) -> PushResult:
    """Push `seconds` of the test card to `url` at real-time pace. Raises SinkError with the
    reason (the stream key masked) when the server cannot be reached, refuses the stream or
    drops it."""
    seconds = min(max(seconds, 1.0), MAX_SECONDS)
    encoder = Encoder(settings)
    sink = RtmpSink(url, encoder, connect_timeout=connect_timeout)
    w, h = settings.width, settings.height
    i420 = cv2.cvtColor(card(w, h), cv2.COLOR_BGR2YUV_I420)
    t = np.arange(SAMPLES_PER_VIDEO_FRAME) / SAMPLE_RATE
    key = urlsplit(url).path.strip("/").partition("/")[2]  # all after the application (mask_url's rule)
    try:
        started = time.monotonic()
        sink.connect()
        connect_ms = round(1000 * (time.monotonic() - started))
        frames = round(seconds * FPS)
        start = time.monotonic()
        for i in range(frames):
            if i % FPS == 0:
                encoder.request_keyframe()  # every second: a preview that joins late shows the card at once
            frame = i420.copy()
            x = (i * 8) % w
            frame[:h, x:x + 4] = 235  # a moving white line in the luma plane: the picture is live
            tone = (0.1 * np.sin(2 * np.pi * TONE_HZ * (t + i * SAMPLES_PER_VIDEO_FRAME / SAMPLE_RATE)))
            for packet in encoder.encode(i, frame, tone.astype(np.float32)):
                sink.write(packet)
            if not sink.connected:
                raise SinkError(f"{sink.last_error} (after {i / FPS:.1f} s)", "rtmp_dropped", seconds=round(i / FPS, 1))
            time.sleep(max(0.0, start + (i + 1) / FPS - time.monotonic()))
        for packet in encoder.flush():
            sink.write(packet)
        if not sink.connected:
            raise SinkError(f"{sink.last_error} (at the end)", "rtmp_dropped", seconds=round(frames / FPS, 1))
        return PushResult(sink.safe_url, frames / FPS, connect_ms)
    except SinkError as e:  # the key must not leak through a library's message
        message = str(e).replace(key, "***") if len(key) >= 4 else str(e)
        raise SinkError(message, e.reason, **e.params) from None
    finally:
        sink.close()
        encoder.close()
