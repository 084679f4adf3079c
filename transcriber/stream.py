"""One client's audio and transcript: the buffer since the last committed segment, the VAD that finds
where speech ends, and the segments to send back.

A segment is committed (sent as `completed`, never changed after) when the first of these happens:
- the speaker pauses (0.3 s of silence by the VAD): the whole utterance;
- while the speaker goes on, a segment is stable: every segment but the last of a window, once two
  passes agree on it, or at once when it ends a sentence (. ? !) and the VAD heard a short pause
  after it (a clause, , ; :, and a longer pause too). A segment in which Whisper wrote several
  sentences is first split at their ends where the VAD heard such a pause. The window then starts
  in that pause, so it stays a few seconds long (the 10 s encoder input) however long nobody pauses;
- nothing new has arrived for `IDLE_COMMIT` s (the client stopped sending but kept the socket);
- END_OF_AUDIO.

Threads: `add_audio` and `finish` are called by the connection (event loop thread); `next_job` and
`apply` by the inference worker. A lock guards what both touch. Memory stays flat: audio and VAD
probabilities before the last commit are dropped, and only the last `send_last_n_segments` completed
segments are kept."""
from __future__ import annotations

import collections
import re
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
SHORT_PAUSE = 0.09       # seconds of silence between two segments that confirm a sentence's end
PAUSE_REACH = 0.35       # seconds around two segments' boundary where their pause is looked for
AGREE_S = 0.5            # seconds two passes' starts of the same segment may differ by
PAD = 0.2                # seconds kept before speech and after its end
PARTIAL_STEP = 0.4       # seconds of new audio before the partial segment is refreshed
IDLE_COMMIT = 1.0        # seconds without new audio after which pending speech is committed
MAX_WINDOW = 8.0         # seconds: a longer window commits all but its last segment (stays in 10 s input)
HARD_WINDOW = 28.0       # seconds: never send Whisper more than this (its window is 30 s)
CLAUSE_PAUSE = 0.2       # seconds of silence after a clause (, ; :) that make it a unit of its own
SENTENCE_ENDS = (".", "?", "!", "…", "。", "？", "！")
CLAUSE_ENDS = (",", ";", ":", "，", "；", "：")
BREAK = re.compile(r"(?<=[.?!…,;:])\s+(?=\S)|(?<=[。？！，；：])(?=\S)")  # after a sentence or clause
SPLIT_REACH = 0.6        # seconds around a sentence end's estimated time where its pause is looked for


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
        self._last_audio_at = clock()
        self._vad_pos = 0            # samples judged by the VAD
        self._probs: collections.deque[float] = collections.deque()  # VAD probability per frame from _probs_base
        self._probs_base = 0         # frame index (sample / FRAME) of _probs[0]
        self._in_speech = False
        self._silence = 0            # samples of silence since speech was last heard
        self._has_speech = not options.use_vad   # uncommitted speech in [_done, _received)
        self._commits: collections.deque[int] = collections.deque()  # ends of utterances to commit
        self._inferred_to = 0        # _received at the last partial inference
        self._previous: list[tuple[float, str]] = []  # (start s, text) of the last pass's uncommitted segments
        self._waiting_since: float | None = None
        self._finished = False
        self.language: str | None = options.language
        self._completed: collections.deque[dict] = collections.deque(maxlen=options.send_last_n_segments)
        self.commit_lags: list[float] = []  # seconds of audio received after each new commit's end (metrics)
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
            self._last_audio_at = self._clock()
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
        self._probs.extend(probs.tolist())
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

    @property
    def drained(self) -> bool:
        """END_OF_AUDIO came and its final commit is applied: nothing more will be sent."""
        with self._lock:
            return self._finished and not self._commits

    # ---- worker side -----------------------------------------------------------------------
    def waiting_since(self) -> tuple[int, float] | None:
        """Sort key of the worker (commits first, then the oldest waiting audio), or None if idle.
        Polled by the worker, so it is also where a stream that went quiet commits what it holds."""
        with self._lock:
            self._commit_if_idle()
            if not self._ready_locked():
                self._waiting_since = None
                return None
            return (0 if self._commits else 1, self._waiting_since or self._clock())

    def _commit_if_idle(self) -> None:
        if (self._finished or self._commits or not (self._has_speech or self._in_speech)
                or self._received <= self._done or self._clock() - self._last_audio_at < IDLE_COMMIT):
            return
        self._commits.append(self._received)
        self._in_speech = False
        self._silence = 0
        self._waiting_since = self._clock()

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
                self._complete(made)
                self._partial = None
                self._previous = []
                self._commits.popleft()
                self._advance(job.end)
            else:
                self._fold_partial(job, made)
            out = list(self._completed) + ([self._partial] if self._partial else [])
            if out == self._last_sent:
                return None
            self._last_sent = out
            return out

    def _complete(self, made: list[dict]) -> None:
        self._completed.extend(made)
        now = self._received / SAMPLE_RATE
        self.commit_lags.extend(max(0.0, now - float(m["end"])) for m in made)

    def _fold_partial(self, job: Job, made: list[dict]) -> None:
        made = [piece for m in made for piece in self._sentences(m)]
        stable, cut = self._stable_prefix(job, made)
        if stable:  # the speaker went on, these are final: the window now starts after them
            self._complete([dict(m, end=f"{min(float(m['end']), cut / SAMPLE_RATE):.3f}") for m in made[:stable]])
            self._advance(cut)
            made = made[stable:]
        self._previous = [(float(m["start"]), m["text"]) for m in made]
        if not made:
            self._partial = None
            return
        text = " ".join(m["text"] for m in made)
        self._same_count = self._same_count + 1 if text == self._last_partial_text else 0
        self._last_partial_text = text
        partial = dict(made[0], end=made[-1]["end"], text=text, completed=False)
        if self._same_count >= self.options.same_output_threshold:  # repeated often enough: final
            self._complete([dict(partial, completed=True)])
            self._advance(job.end)
            self._partial = None
            self._same_count = 0
            return
        self._partial = partial

    def _sentences(self, m: dict) -> list[dict]:
        """Segment `m` split after its sentences (and clauses) where the VAD heard a pause near their
        end: Whisper often writes two sentences with a short pause between as one segment. An end's
        time is estimated from the share of the text before it, and the pause looked for around it."""
        text, start, end = m["text"], float(m["start"]), float(m["end"])
        if self._vad is None or end <= start:
            return [m]
        out, begin, at = [], 0, start
        for brk in BREAK.finditer(text):
            guess = start + (end - start) * brk.start() / len(text)
            pause = self._pause_in(int((guess - SPLIT_REACH) * SAMPLE_RATE), int((guess + SPLIT_REACH) * SAMPLE_RATE),
                                   _least_pause(text[:brk.start()]) or SHORT_PAUSE)
            if pause is None or not at < pause / SAMPLE_RATE < end:
                continue
            out.append(segment(at, pause / SAMPLE_RATE, text[begin:brk.start()], m["completed"]))
            begin, at = brk.end(), pause / SAMPLE_RATE
        if not out:
            return [m]
        return [*out, segment(at, end, text[begin:], m["completed"])]

    def _stable_prefix(self, job: Job, made: list[dict]) -> tuple[int, int]:
        """How many leading segments of a partial pass are final, and the stream sample where the
        window continues after them (a pause between two segments when the VAD heard one)."""
        long_window = job.end - job.start >= MAX_WINDOW * SAMPLE_RATE
        stable, cut = 0, job.start
        for k in range(len(made) - 1):  # never the last one: the speaker may still be in it
            seg, following = made[k], made[k + 1]
            agreed = any(text == seg["text"] and abs(start - float(seg["start"])) <= AGREE_S
                         for start, text in self._previous)
            least = _least_pause(seg["text"])
            if not (agreed or least or long_window):
                break
            lo = max(job.start, int((float(seg["end"]) - PAUSE_REACH) * SAMPLE_RATE))
            hi = min(job.end, int((float(following["start"]) + PAUSE_REACH) * SAMPLE_RATE))
            pause = self._pause_in(lo, hi, SHORT_PAUSE if agreed else least or SHORT_PAUSE)
            if pause is None:
                if not (agreed or long_window) and self._vad is not None:
                    break  # a sentence's end that the VAD did not hear as one: wait for a second pass
                pause = max(cut, int(float(following["start"]) * SAMPLE_RATE))
            if pause <= cut:
                break
            stable, cut = k + 1, pause
        return stable, cut

    def _pause_in(self, lo: int, hi: int, least: float = SHORT_PAUSE) -> int | None:
        """The middle of the longest run of silent VAD frames within samples [lo, hi) when it lasts
        at least `least` seconds, else None."""
        first, last = -(-lo // FRAME), hi // FRAME  # whole frames inside
        best, run_start, best_run = 0, None, None
        for f in range(max(first, self._probs_base), min(last, self._probs_base + len(self._probs))):
            if self._probs[f - self._probs_base] < SPEECH_OFF:
                run_start = f if run_start is None else run_start
                if f + 1 - run_start > best:
                    best, best_run = f + 1 - run_start, run_start
            else:
                run_start = None
        if best_run is None or best * FRAME < least * SAMPLE_RATE:
            return None
        return (best_run * 2 + best) * FRAME // 2

    def _advance(self, sample: int) -> None:
        self._done = max(self._done, sample)
        while self._commits and self._commits[0] <= self._done:  # already covered by this commit
            self._commits.popleft()
        if self._vad is not None and not self._in_speech and not self._commits:
            self._has_speech = False
        self._trim()

    def _trim(self) -> None:
        drop = self._done - self._base
        if drop > 0:
            self._audio = self._audio[drop:]
            self._base = self._done
        while self._probs and (self._probs_base + 1) * FRAME <= self._done:
            self._probs.popleft()
            self._probs_base += 1

    @property
    def buffered_seconds(self) -> float:
        return self._audio.size / SAMPLE_RATE


def _least_pause(text: str) -> float | None:
    """The silence after `text` that makes it a unit of its own: a short pause after a sentence, a
    longer one after a clause; None when it ends neither."""
    text = text.rstrip()
    if text.endswith(SENTENCE_ENDS):
        return SHORT_PAUSE
    if text.endswith(CLAUSE_ENDS):
        return CLAUSE_PAUSE
    return None
