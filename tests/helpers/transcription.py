"""A WhisperLive-style test client: options, real-time 100 ms chunks of speech, then END_OF_AUDIO (and the
server's close) or a socket held open; records every server message with its arrival time. And the word
error rate of what came back, and paragraphs of ordinary speech (sentences with natural ~0.3 s pauses)."""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from websockets.sync.client import connect

from tests.helpers.speech import RATE

CHUNK = 1_600  # 100 ms
NATURAL_PAUSES = (0.3, 0.25, 0.35, 0.28, 0.32, 0.27)  # seconds between sentences in ordinary speech

PARAGRAPHS = [  # sentences that tiny.en hears right when espeak reads them, however the window cuts them
    ["Good morning and welcome to our show.", "Everyone on our team loves this one.",
     "It comes with a soft cloth for cleaning.", "It works well in the kitchen and the garden.",
     "It fits in your pocket.", "Please remember to check the size chart.",
     "Please leave a comment if you have a question."],
    ["Let me show you how the kettle works.", "Then you press the button on the side.",
     "The light turns blue when the water is hot.", "You will find the recipe on our website.",
     "I will show you how to use it.", "Thank you for watching and see you tomorrow."],
    ["Welcome to the show.", "This was the first thing we ever made.", "The next item is a small wooden table.",
     "You can ask us anything about the product.", "We will answer your questions after the break.",
     "Ask me anything in the chat.", "We hope to see you again next week."],
]


def natural_pauses(sentences: int) -> list[float]:
    """The pauses between `sentences` sentences of ordinary speech (0.25-0.35 s)."""
    return [NATURAL_PAUSES[k % len(NATURAL_PAUSES)] for k in range(sentences - 1)]


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
    audio_ends: list[float] = field(default_factory=list)    # stream time (s) each sentence ends
    end_of_audio_at: float | None = None  # wall time END_OF_AUDIO left
    closed_at: float | None = None        # wall time the connection ended
    server_closed: bool = False           # the server closed it (before the client would have)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

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

    def rewrites(self) -> list[tuple[dict, dict]]:
        """(first, later) pairs of a completed segment that a later update changed, and of completed
        segments that overlap one completed earlier: empty when completion is final."""
        first: dict[str, dict] = {}
        out = []
        for _, m in self.messages:
            for s in m.get("segments", []):
                if not s["completed"]:
                    continue
                if s["start"] in first:
                    if first[s["start"]] != s:
                        out.append((first[s["start"]], s))
                    continue
                out += [(f, s) for f in first.values()
                        if float(f["start"]) < float(s["end"]) - 1e-3 and float(s["start"]) < float(f["end"]) - 1e-3]
                first[s["start"]] = s
        return out

    def commit_delays(self) -> list[float]:
        """Per sentence: seconds from its last audio chunk to the first update whose completed
        segments reach past that sentence's end."""
        delays = []
        for k, t_end in enumerate(self.speech_ends):
            for t, m in self.messages:
                done = [s for s in m.get("segments", []) if s["completed"]]
                if t >= t_end and done and float(done[-1]["end"]) >= self.audio_ends[k] - 0.6:
                    delays.append(t - t_end)
                    break
        return delays


def stream_sentences(url: str, uid: str, clips: list[np.ndarray], gap: float | Sequence[float] = 1.5,
                     tail: float = 2.0, options: dict | None = None, end_of_audio: bool = True,
                     realtime: bool = True, hold: float = 5.0) -> Run:
    """Send `clips` in real time with `gap` s of silence between them (one value, or one per pause) and
    `tail` s after. Then END_OF_AUDIO, waiting up to `hold` s for the server to close; or, with
    `end_of_audio` False, nothing more for `hold` s with the socket open. Return what came back."""
    gaps = list(gap) if isinstance(gap, Sequence) else [gap] * (len(clips) - 1)
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
            run.closed_at = time.monotonic()

        receiver = threading.Thread(target=receive, name=f"client-{uid}", daemon=True)
        receiver.start()
        pieces, sent = [], 0
        for k, clip in enumerate(clips):
            pieces.append(clip)
            sent += clip.size
            run.audio_ends.append(sent / RATE)
            silence = np.zeros(int((gaps[k] if k < len(gaps) else tail) * RATE), np.float32)
            pieces.append(silence)
            sent += silence.size
        audio = np.concatenate(pieces)
        ends = [int(e * RATE) for e in run.audio_ends]
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
            run.end_of_audio_at = time.monotonic()
        receiver.join(timeout=hold)
        run.server_closed = not receiver.is_alive()
    receiver.join(timeout=5)
    return run
