"""espeak voices: what a listener hears, how soon, and how they stop."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from streamer.voice import VoiceError, create_voice
from streamer.voice.espeak import EspeakVoice

RATE = 16_000
EN = "Welcome to the live room. Today we have a great deal for everyone, so stay tuned and ask me anything."
ZH = "欢迎来到直播间，今天给大家推荐一款好物。"  # 18 hanzi
LONG_EN = " ".join([EN] * 6)


def speak(voice, text, cancel=None):
    chunks = list(voice.stream(text, cancel))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32), chunks


def rms(audio):
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def median_f0(audio):
    """Median pitch (Hz) over voiced 40 ms windows, by autocorrelation."""
    window, found = 640, []
    for start in range(0, len(audio) - window, window):
        x = audio[start:start + window] - audio[start:start + window].mean()
        if rms(x) < 0.05:
            continue
        r = np.correlate(x, x, "full")[window - 1:]
        lo, hi = RATE // 400, RATE // 60
        lag = lo + int(np.argmax(r[lo:hi]))
        if r[lag] > 0.3 * r[0]:
            found.append(RATE / lag)
    return float(np.median(found))


def test_english_sentence_is_spoken_for_a_few_seconds():
    audio, _ = speak(EspeakVoice("en"), EN)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 3.0 < len(audio) / RATE < 9.0
    assert rms(audio) > 0.03
    assert np.abs(audio).max() <= 1.0


def test_mandarin_sentence_is_spoken_as_mandarin_syllables():
    audio, _ = speak(EspeakVoice("cmn"), ZH)
    seconds_per_hanzi = len(audio) / RATE / 18
    # one syllable per character; spelling out characters or tone numbers takes far longer
    # (the English voice reading the same text takes ~0.7 s per character)
    assert 0.12 < seconds_per_hanzi < 0.45
    assert rms(audio) > 0.03


def same_speech(a, b):
    """espeak varies by a few ms between runs (noise in its wave generator); compare coarsely."""
    return abs(len(a) - len(b)) < 0.02 * len(b) and abs(rms(a) - rms(b)) < 0.1 * rms(b)


def test_plain_espeak_speaks_cjk_text_in_mandarin_and_other_text_in_english():
    auto = create_voice("espeak")
    mandarin, english = speak(EspeakVoice("cmn"), ZH)[0], speak(EspeakVoice("en"), EN)[0]
    assert same_speech(speak(auto, ZH)[0], mandarin)
    assert same_speech(speak(auto, EN)[0], english)
    assert len(speak(EspeakVoice("en"), ZH)[0]) > 1.5 * len(mandarin)  # English would spell it out


def test_output_is_16khz_speech_band_audio_at_the_voice_natural_pitch():
    audio, _ = speak(EspeakVoice("en"), EN)
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    assert power[(freqs >= 100) & (freqs <= 4000)].sum() / power[freqs > 20].sum() > 0.85
    # espeak's default English voice sits near 100 Hz; mislabelled 22.05 kHz audio would read ~73 Hz
    assert 88 < median_f0(audio) < 118


def test_chunks_stream_out_while_synthesis_is_still_running():
    started = time.perf_counter()
    arrivals, sizes = [], []
    for chunk in EspeakVoice("en").stream(LONG_EN):
        arrivals.append(time.perf_counter() - started)
        sizes.append(len(chunk))
    total_audio = sum(sizes) / RATE
    assert total_audio > 30
    assert len(sizes) > 100 and max(sizes) <= 0.1 * RATE  # ~50 ms pieces, not one block
    assert arrivals[0] < 0.2
    assert arrivals[0] < 0.5 * arrivals[-1]


def test_cancel_after_the_first_chunk_stops_the_stream():
    cancel = threading.Event()
    voice = EspeakVoice("en")
    heard = 0
    for chunk in voice.stream(LONG_EN, cancel):
        heard += len(chunk)
        cancel.set()
    assert heard < 0.2 * RATE  # the full text is over 30 s
    started = time.perf_counter()  # the engine is free again at once
    assert len(speak(voice, "Next.")[0]) > 0
    assert time.perf_counter() - started < 2.0  # the cancelled text would hold it for 30 s


def test_cancel_set_before_start_yields_nothing():
    cancel = threading.Event()
    cancel.set()
    assert speak(EspeakVoice("cmn"), ZH, cancel)[1] == []


def test_voices_in_parallel_threads_each_get_their_own_speech():
    expected = {"en": speak(EspeakVoice("en"), EN)[0], "cmn": speak(EspeakVoice("cmn"), ZH)[0]}
    texts = {"en": EN, "cmn": ZH}
    mismatches = []

    def run(lang):
        voice = EspeakVoice(lang, rate=175)
        for _ in range(5):
            if not same_speech(speak(voice, texts[lang])[0], expected[lang]):
                mismatches.append(lang)

    threads = [threading.Thread(target=run, args=(lang,)) for lang in ("en", "cmn", "en", "cmn")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert mismatches == []


def test_rate_and_pitch_options_change_what_is_heard():
    slow = speak(create_voice("espeak:en:rate=120"), EN)[0]
    fast = speak(create_voice("espeak:en:rate=300"), EN)[0]
    assert len(slow) > 1.8 * len(fast)
    low = speak(create_voice("espeak:en:pitch=10"), EN)[0]
    high = speak(create_voice("espeak:en:pitch=90"), EN)[0]
    assert median_f0(high) > 1.4 * median_f0(low)


def test_empty_text_yields_nothing():
    assert speak(EspeakVoice(), "   ")[1] == []


def test_check_passes_for_the_bundled_voices():
    for spec in ("espeak", "espeak:en", "espeak:cmn"):
        create_voice(spec).check()


def test_unknown_language_is_refused_with_a_clear_message():
    with pytest.raises(VoiceError, match="espeak has no language 'xx'"):
        create_voice("espeak:xx")


@pytest.mark.parametrize("spec", ["espeak:en:rate=20", "espeak:en:pitch=101", "espeak:en:volume=-1"])
def test_out_of_range_options_are_refused(spec):
    with pytest.raises(VoiceError, match="must be between"):
        create_voice(spec)
