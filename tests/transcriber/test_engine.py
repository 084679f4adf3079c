"""The engine on its own: short windows go through a 10 s encoder input, longer ones through
Whisper's 30 s window, silence gives nothing, and the text is right either way."""
from __future__ import annotations

import numpy as np

from tests.helpers.speech import speech
from tests.helpers.transcription import wer
from transcriber.engine import FULL_FRAMES, SHORT_FRAMES

RATE = 16_000
SHORT = "Please leave a comment if you have a question."
LONG = ("Our tea comes from the mountains in the south. It is picked by hand in the spring, dried in the sun, "
        "and packed the same week. Every box holds fifty grams.")


def padded(text: str) -> np.ndarray:
    silence = np.zeros(RATE // 5, np.float32)
    return np.concatenate([silence, speech(text), silence])


def calls(engine, audio):
    before = dict(engine.windows)
    result = engine.transcribe(audio, "en")
    return result, {k: engine.windows[k] - before[k] for k in before}


def test_a_short_utterance_takes_the_10_second_window_once(engine):
    audio = padded(SHORT)
    assert audio.size < 8 * RATE
    result, used = calls(engine, audio)
    assert used == {SHORT_FRAMES: 1, FULL_FRAMES: 0}
    text = " ".join(p.text for p in result.pieces)
    assert wer(SHORT, text) < 0.1, text
    assert 0 <= result.pieces[0].start < result.pieces[-1].end <= audio.size / RATE + 0.01


def test_a_long_utterance_takes_the_30_second_window(engine):
    audio = padded(LONG)
    assert audio.size > 8 * RATE
    result, used = calls(engine, audio)
    assert used == {SHORT_FRAMES: 0, FULL_FRAMES: 1}
    # The same decode as faster-whisper's own transcribe() with the options the engine had before.
    reference, _ = engine._model.transcribe(audio, language="en", beam_size=1, best_of=1, temperature=0.0,
                                            condition_on_previous_text=False, vad_filter=False)
    assert [p.text for p in result.pieces] == [s.text.strip() for s in reference]
    assert wer(LONG, " ".join(p.text for p in result.pieces)) < 0.35  # tiny.en hearing espeak


def test_silence_gives_no_segments_after_a_second_look(engine):
    result, used = calls(engine, np.zeros(3 * RATE, np.float32))
    assert result.pieces == [] and used == {SHORT_FRAMES: 1, FULL_FRAMES: 1}
