"""A WhisperLive-style test client: options, real-time 100 ms chunks of speech, END_OF_AUDIO;
records every server message with its arrival time. And the word error rate of what came back."""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from websockets.sync.client import connect

from tests.helpers.speech import RATE

CHUNK = 1_600  # 100 ms


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference).split(), normalise(hypothesis).split()
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(1, len(ref))


@dataclass
class Run:
    uid: str
    messages: list[tuple[float, dict]] = field(default_factory=list)
    speech_ends: list[float] = field(default_factory=list)   # wall time the last chunk of each sentence left
    closed: bool = False

    def completed(self) -> list[dict]:
        """Completed segments in order, merged over all updates (by start time)."""
        seen: dict[str, dict] = {}
        for _, m in self.messages:
            for s in m.get("segments", []):
                if s["completed"]:
                    seen[s["start"]] = s
        return [seen[k] for k in sorted(seen, key=float)]

    def transcript(self) -> str:
        return " ".join(s["text"] for s in self.completed())

    def commit_delays(self) -> list[float]:
        """Per sentence: seconds from its last audio chunk to the first update whose completed
        segments reach past that sentence's end."""
        delays = []
        for k, t_end in enumerate(self.speech_ends):
            for t, m in self.messages:
                done = [s for s in m.get("segments", []) if s["completed"]]
                if t >= t_end and len({s["start"] for s in done}) and self._covers(done, k):
                    delays.append(t - t_end)
                    break
        return delays

    def _covers(self, done: list[dict], k: int) -> bool:
        return float(done[-1]["end"]) >= self._audio_ends[k] - 0.6

    _audio_ends: list[float] = field(default_factory=list)  # stream time (s) each sentence ends


def stream_sentences(url: str, uid: str, clips: list[np.ndarray], gap: float = 1.5, tail: float = 2.0,
                     options: dict | None = None, end_of_audio: bool = True, realtime: bool = True) -> Run:
    """Send `clips` in real time with `gap` s of silence between them and `tail` s after, then
    END_OF_AUDIO; return what came back."""
    run = Run(uid)
    with connect(url, max_size=None, open_timeout=10) as ws:
        ws.send(json.dumps({"uid": uid, "language": "en", "task": "transcribe", "model": "tiny.en",
                            "use_vad": True, **(options or {})}))
        ready = json.loads(ws.recv(timeout=10))
        run.messages.append((time.monotonic(), ready))
        if ready.get("message") != "SERVER_READY":
            return run

        def receive() -> None:
            try:
                for raw in ws:
                    run.messages.append((time.monotonic(), json.loads(raw)))
            except Exception:
                pass
            run.closed = True

        receiver = threading.Thread(target=receive, name=f"client-{uid}", daemon=True)
        receiver.start()
        silence = np.zeros(int(gap * RATE), np.float32)
        pieces, sent = [], 0
        for clip in clips:
            pieces.append(clip)
            sent += clip.size
            run._audio_ends.append(sent / RATE)
            pieces.append(silence)
            sent += silence.size
        audio = np.concatenate(pieces + [np.zeros(int(max(0.0, tail - gap) * RATE), np.float32)])
        ends = [int(e * RATE) for e in run._audio_ends]
        t0 = time.monotonic()
        for n, i in enumerate(range(0, audio.size, CHUNK)):
            if realtime:
                time.sleep(max(0.0, t0 + n * CHUNK / RATE - time.monotonic()))
            ws.send(audio[i:i + CHUNK].tobytes())
            for e in ends:
                if i < e <= i + CHUNK:
                    run.speech_ends.append(time.monotonic())
        if end_of_audio:
            ws.send(b"END_OF_AUDIO")
            time.sleep(1.0)
    receiver.join(timeout=5)
    return run
