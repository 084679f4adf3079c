"""One client's audio and transcript: the buffer since the last committed segment, the VAD that finds
where speech ends, and the segments to send back.

Threads: `add_audio` and `finish` are called by the connection (event loop thread); `next_job` and
`apply` by the inference worker. A lock guards what both touch. Memory stays flat: audio before the last
commit is dropped, and only the last `send_last_n_segments` completed segments are kept."""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

import numpy as np

from transcriber.engine import Result
from transcriber.protocol import SAMPLE_RATE, ClientOptions, segment
from transcriber.vad import FRAME, StreamingVad

SPEECH_ON = 0.5          # VAD probability that starts speech
SPEECH_OFF = 0.35        # below this, a frame is silence
END_SILENCE = 0.3        # seconds of silence that end an utterance
HOLD_SILENCE = 0.1       # seconds of silence after which partials pause: the commit is probably next
PAD = 0.2                # seconds kept before speech and after its end
PARTIAL_STEP = 0.4       # seconds of new audio before the partial segment is refreshed
MAX_WINDOW = 15.0        # seconds: a longer window commits all but its last segment
HARD_WINDOW = 28.0       # seconds: never send Whisper more than this (its window is 30 s)


@dataclass(frozen=True)
class Job:
    """A window of audio to transcribe: samples [start, end) of the stream; `commit` marks a final one."""
    stream: "ClientStream"
    audio: np.ndarray
    start: int
    end: int
    commit: bool


class ClientStream:
    """Audio buffer, VAD state and transcript of one client (see module doc for threads)."""

    def __init__(self, options: ClientOptions, vad: StreamingVad | None, clock=time.monotonic):
        self.options = options
        self._vad = vad if options.use_vad else None
        self._clock = clock
        self._lock = threading.Lock()
        self._audio = np.zeros(0, np.float32)
        self._base = 0               # stream sample index of _audio[0]
        self._done = 0               # everything before this sample is committed (or silence)
        self._received = 0           # samples received so far
        self._vad_pos = 0            # samples judged by the VAD
        self._in_speech = False
        self._silence = 0            # samples of silence since speech was last heard
        self._has_speech = not options.use_vad   # uncommitted speech in [_done, _received)
        self._commits: collections.deque[int] = collections.deque()  # ends of utterances to commit
        self._inferred_to = 0        # _received at the last partial inference
        self._waiting_since: float | None = None
        self._finished = False
        self.language: str | None = options.language
        self._completed: collections.deque[dict] = collections.deque(maxlen=options.send_last_n_segments)
        self._partial: dict | None = None
        self._last_partial_text = ""
        self._same_count = 0
        self._last_sent: list[dict] | None = None

    # ---- connection side -------------------------------------------------------------------
    def add_audio(self, samples: np.ndarray) -> None:
        probs = self._vad.feed(samples) if self._vad is not None else None
        with self._lock:
            if self._finished:
                return
            self._audio = np.concatenate([self._audio, samples]) if self._audio.size else samples.copy()
            self._received += samples.size
            if probs is not None:
                self._judge(probs)
            elif self._received - self._done > HARD_WINDOW * SAMPLE_RATE:  # no VAD: keep the window bounded
                self._commits.append(self._done + int(MAX_WINDOW * SAMPLE_RATE))
            if not self._has_speech and not self._commits:  # silence only: let it go, keep a little pre-roll
                self._done = max(self._done, self._received - int(PAD * SAMPLE_RATE))
                self._trim()
            if self._waiting_since is None and self._ready_locked():
                self._waiting_since = self._clock()

    def _judge(self, probs: np.ndarray) -> None:
        for p in probs:
            frame_end = self._vad_pos + FRAME
            if self._in_speech:
                if p < SPEECH_OFF:
                    self._silence += FRAME
                    if self._silence >= END_SILENCE * SAMPLE_RATE:
                        end = frame_end - self._silence + int(PAD * SAMPLE_RATE)
                        self._commits.append(min(end, frame_end))
                        self._in_speech = False
                else:
                    self._silence = 0
            elif p >= SPEECH_ON:
                self._in_speech = True
                self._silence = 0
                if not self._has_speech:
                    self._has_speech = True
                    self._done = max(self._done, self._commits[-1] if self._commits else 0,
                                     self._vad_pos - int(PAD * SAMPLE_RATE))
            self._vad_pos = frame_end
        # a very long utterance: commit what Whisper can take, keep going
        if self._in_speech and self._received - self._done > HARD_WINDOW * SAMPLE_RATE and not self._commits:
            self._commits.append(self._received)

    def finish(self) -> None:
        """END_OF_AUDIO: whatever is pending becomes final."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            if self._received > self._done and (self._has_speech or self._in_speech):
                self._commits.append(self._received)
            self._in_speech = False
            if self._waiting_since is None and self._ready_locked():
                self._waiting_since = self._clock()

    # ---- worker side -----------------------------------------------------------------------
    def waiting_since(self) -> tuple[int, float] | None:
        """Sort key of the worker (commits first, then the oldest waiting audio), or None if idle."""
        with self._lock:
            if not self._ready_locked():
                self._waiting_since = None
                return None
            return (0 if self._commits else 1, self._waiting_since or self._clock())

    def _ready_locked(self) -> bool:
        if self._commits:
            return True
        return (self._has_speech and not self._finished and self._silence < HOLD_SILENCE * SAMPLE_RATE
                and self._received - self._inferred_to >= PARTIAL_STEP * SAMPLE_RATE
                and self._received - self._done >= 0.3 * SAMPLE_RATE)

    def next_job(self) -> Job | None:
        with self._lock:
            if not self._ready_locked():
                return None
            self._waiting_since = None
            if self._commits:
                end = self._commits[0]
                commit = True
            else:
                end = self._received
                commit = False
                self._inferred_to = end
            start = self._done
            end = min(end, start + int(HARD_WINDOW * SAMPLE_RATE))
            audio = self._audio[start - self._base:end - self._base].copy()
            return Job(self, audio, start, end, commit)

    def apply(self, job: Job, result: Result) -> list[dict] | None:
        """Fold an inference into the transcript; the segments to send, or None when nothing changed."""
        offset = job.start / SAMPLE_RATE
        pieces = [p for p in result.pieces if p.text and p.no_speech_prob <= self.options.no_speech_thresh]
        made = [segment(offset + p.start, min(offset + p.end, job.end / SAMPLE_RATE), p.text, True)
                for p in pieces]
        with self._lock:
            if job.start != self._done:  # the stream moved on meanwhile (cannot happen with one worker)
                return None
            if job.commit:
                self._completed.extend(made)
                self._partial = None
                self._commits.popleft()
                self._advance(job.end)
                if not self._in_speech and not self._commits:
                    self._has_speech = False
            else:
                self._fold_partial(job, made, pieces)
            out = list(self._completed) + ([self._partial] if self._partial else [])
            if out == self._last_sent:
                return None
            self._last_sent = out
            return out

    def _fold_partial(self, job: Job, made: list[dict], pieces) -> None:
        window = (job.end - job.start) / SAMPLE_RATE
        if len(made) > 1 and window >= MAX_WINDOW:  # long speech: all but the last segment are final
            self._completed.extend(made[:-1])
            self._advance(job.start + int(pieces[-1].start * SAMPLE_RATE))
            made = made[-1:]
        if not made:
            self._partial = None
            return
        text = " ".join(m["text"] for m in made)
        self._same_count = self._same_count + 1 if text == self._last_partial_text else 0
        self._last_partial_text = text
        partial = dict(made[0], end=made[-1]["end"], text=text, completed=False)
        if self._same_count >= self.options.same_output_threshold:  # repeated often enough: final
            self._completed.append(dict(partial, completed=True))
            self._advance(job.end)
            self._partial = None
            self._same_count = 0
            return
        self._partial = partial

    def _advance(self, sample: int) -> None:
        self._done = max(self._done, sample)
        self._trim()

    def _trim(self) -> None:
        drop = self._done - self._base
        if drop > 0:
            self._audio = self._audio[drop:]
            self._base = self._done

    @property
    def buffered_seconds(self) -> float:
        return self._audio.size / SAMPLE_RATE
