"""The live's sound: the room's music under the voice, ducked while the host speaks, the mix at a
steady loudness whatever the voice's own level, no sample clipped; a music file that cannot be
played is reported and skipped. Measured on the mixer's output as the encoder gets it, with the
music read from real files (PyAV) and loudness as BS.1770 defines it (pyloudnorm)."""
from __future__ import annotations

import time

import numpy as np
import pyloudnorm
import pytest

from streamer.frames import SAMPLE_RATE, SAMPLES_PER_VIDEO_FRAME, FrameKind
from streamer.scene.mixer import Mixer
from streamer.scene.spec import MusicSpec
from tests.helpers.media import write_audio

N = SAMPLES_PER_VIDEO_FRAME
TONE = 5000.0  # the music: a tone above every harmonic of the voice, so its level can be read under speech
SPEAK_S, PAUSE_S = 2.4, 1.6


def _music_file(path, seconds: float = 7.0) -> None:
    t = np.arange(int(seconds * 44100)) / 44100
    write_audio(path, 0.3 * np.sin(2 * np.pi * TONE * t), 44100)


def _voice(seconds: float, peak: float) -> tuple[list[np.ndarray], list[bool]]:
    """A voice-like signal at `peak`: 140 Hz and its harmonics up to 2.5 kHz with a syllable rhythm,
    SPEAK_S on, PAUSE_S off; its 40 ms frames and whether each is speech."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    x = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 18))
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)  # syllables
    speaking = (t % (SPEAK_S + PAUSE_S)) < SPEAK_S
    x = (x * speaking / np.max(np.abs(x)) * peak).astype(np.float32)
    frames = [x[i:i + N] for i in range(0, len(x) - N + 1, N)]
    return frames, [bool(speaking[i]) for i in range(0, len(x) - N + 1, N)]


def _mix(mixer: Mixer, frames: list[np.ndarray], speech: list[bool]) -> np.ndarray:
    """Mixes as the encoder does, the music's decoder given time to keep ahead (the live is paced)."""
    mixer.start()
    out = []
    try:
        for frame, is_speech in zip(frames, speech):
            deadline = time.monotonic() + 5
            while mixer.player and mixer.player.playing and mixer.player.buffered < N and time.monotonic() < deadline:
                time.sleep(0.001)
            out.append(mixer.mix(FrameKind.SPEECH if is_speech else FrameKind.IDLE, frame))
    finally:
        mixer.close()
    return np.concatenate(out)


def _tone_db(x: np.ndarray) -> float:
    """The level of the music's tone in a stretch of the mix (dB)."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    band = (freqs > TONE - 100) & (freqs < TONE + 100)
    return 10 * np.log10(np.sum(spectrum[band] ** 2) + 1e-20)


@pytest.mark.parametrize("peak", [0.02, 0.9], ids=["quiet-voice", "loud-voice"])
def test_music_is_ducked_under_speech_and_the_mix_is_at_the_target_loudness_unclipped(tmp_path, peak):
    _music_file(tmp_path / "music.mp3")
    frames, speech = _voice(60.0, peak)
    mixer = Mixer(MusicSpec((tmp_path / "music.mp3",), volume_db=-14, duck_db=12), loudness=-16)
    mix = _mix(mixer, frames, speech)

    loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(mix.astype(np.float64))
    assert abs(loudness - -16) <= 2, f"the mix is at {loudness:.1f} LUFS"
    assert np.max(np.abs(mix)) < 1.0
    assert np.count_nonzero(np.abs(mix) >= 0.98) < 10  # the limiter's ceiling is touched, never passed

    cycle = SPEAK_S + PAUSE_S
    under_speech, in_pauses = [], []
    for k in range(2, int(60 / cycle)):  # after the first words set the voice's level
        s = int((k * cycle + 1.0) * SAMPLE_RATE)  # 0.6 s stretches: in the words, and late in the pause
        under_speech.append(_tone_db(mix[s:s + int(0.6 * SAMPLE_RATE)]))
        p = int((k * cycle + SPEAK_S + 0.9) * SAMPLE_RATE)
        in_pauses.append(_tone_db(mix[p:p + int(0.6 * SAMPLE_RATE)]))
    speech_db, pause_db = np.median(under_speech), np.median(in_pauses)
    assert pause_db - speech_db >= 10, f"music under speech only {pause_db - speech_db:.1f} dB below the pauses"
    assert pause_db - speech_db <= 14
    status = mixer.status()
    assert status["errors"] == 0 and status["tracks"] == 1


def test_a_voice_alone_is_brought_to_the_target_whatever_its_level():
    for peak in (0.01, 0.95):
        frames, speech = _voice(30.0, peak)
        mix = _mix(Mixer(None, loudness=-20), frames, speech)
        loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(mix.astype(np.float64))
        assert abs(loudness - -20) <= 1.5, f"a voice peaking at {peak} came out at {loudness:.1f} LUFS"
        assert Mixer(None).status() is None


def test_a_music_file_that_cannot_be_played_is_reported_and_the_next_one_plays(tmp_path):
    (tmp_path / "broken.mp3").write_text("this is not a sound")
    _music_file(tmp_path / "good.mp3", seconds=2.0)
    failed = []
    mixer = Mixer(MusicSpec((tmp_path / "broken.mp3", tmp_path / "good.mp3")), on_error=lambda p, why: failed.append(p))
    silent = [np.zeros(N, np.float32)] * 150  # 6 s: the good file three times over
    mix = _mix(mixer, silent, [False] * len(silent))
    assert failed and failed[0].name == "broken.mp3"
    assert _tone_db(mix[-SAMPLE_RATE:]) > _tone_db(np.zeros(SAMPLE_RATE)) + 60  # music heard to the end
    assert mixer.status()["errors"] >= 1 and mixer.status()["playing"]


def test_when_no_music_file_can_be_played_the_voice_goes_on_alone(tmp_path):
    (tmp_path / "a.mp3").write_bytes(b"\x00" * 1000)
    failed = []
    mixer = Mixer(MusicSpec((tmp_path / "a.mp3",)), on_error=lambda p, why: failed.append(why))
    frames, speech = _voice(4.0, 0.3)
    mix = _mix(mixer, frames, speech)
    assert failed and not mixer.status()["playing"]
    assert np.sqrt(np.mean(mix ** 2)) > 0.05  # the voice, levelled
