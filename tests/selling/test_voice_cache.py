"""A sentence said again is played from the cache: the same audio, no second synthesis."""
from __future__ import annotations

import threading

import numpy as np

from streamer.voice import create_voice
from streamer.voice.cache import CachedVoice, VoiceCache
from streamer.voice.voices import Voices


def audio(voice, text, cancel=None) -> np.ndarray:
    return np.concatenate([np.asarray(c, np.float32) for c in voice.stream(text, cancel)])


def test_the_same_sentence_twice_is_synthesized_once_and_sounds_the_same():
    voices = Voices("espeak:en", cache_mb=8)
    voice = voices(None)
    first = audio(voice, "Order now from link three.")
    second = audio(voice, "Order now from link three.")
    assert np.array_equal(first, second) and len(first) > 8000
    assert voices.cache.counts()["hits"] == 1 and voices.cache.counts()["misses"] == 1
    audio(voice, "Something else.")
    assert voices.cache.counts()["misses"] == 2
    voices.close()


def test_a_cut_sentence_is_not_kept_and_the_cache_stays_within_its_size():
    espeak = create_voice("espeak:en")
    cache = VoiceCache(max_bytes=600_000)  # about ten seconds of speech
    voice = CachedVoice(espeak, cache, "espeak:en")
    cancel = threading.Event()
    for chunk in voice.stream("A long sentence that is cut off before its end, as an interrupt does.", cancel):
        cancel.set()
    assert cache.counts()["entries"] == 0
    for i in range(8):
        audio(voice, f"Sentence number {i} of a looping script.")
    assert 0 < cache.counts()["bytes"] <= 600_000 and 0 < cache.counts()["entries"] < 8
    espeak.close()
