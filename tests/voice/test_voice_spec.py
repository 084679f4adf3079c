"""create_voice: the spec strings an operator types, and the errors they get back."""
from __future__ import annotations

import subprocess
import sys

import pytest

from streamer.voice import VoiceError, create_voice
from streamer.voice.edge import EdgeVoice
from streamer.voice.espeak import EspeakVoice


@pytest.mark.parametrize("spec, cls, name", [
    ("espeak", EspeakVoice, "espeak"),
    ("espeak:en", EspeakVoice, "espeak:en"),
    ("espeak:cmn", EspeakVoice, "espeak:cmn"),
    ("espeak:zh", EspeakVoice, "espeak:cmn"),
    (" ESPEAK:en:rate=170,pitch=60 ", EspeakVoice, "espeak:en"),
    ("espeak:rate=200", EspeakVoice, "espeak"),
    ("edge", EdgeVoice, "edge:zh-CN-XiaoxiaoNeural"),
    ("edge:zh-CN-XiaoxiaoNeural", EdgeVoice, "edge:zh-CN-XiaoxiaoNeural"),
    ("edge:en-US-AriaNeural:rate=+10%:pitch=-5Hz", EdgeVoice, "edge:en-US-AriaNeural"),
    ("edge:en-US-AriaNeural:rate=10,volume=-20,timeout=3", EdgeVoice, "edge:en-US-AriaNeural"),
])
def test_valid_specs_build_the_named_voice(spec, cls, name):
    voice = create_voice(spec)
    assert isinstance(voice, cls)
    assert voice.name == name


def test_options_reach_the_engine():
    voice = create_voice("edge:en-US-AriaNeural:rate=10,pitch=-5,timeout=2.5")
    assert (voice.rate, voice.pitch, voice.timeout) == ("+10%", "-5Hz", 2.5)
    assert create_voice("espeak:cmn:rate=200").rate == 200


@pytest.mark.parametrize("spec", ["", "   ", "festival", "festival:en", "coqui:xtts"])
def test_unknown_or_missing_engine_lists_the_valid_engines(spec):
    with pytest.raises(VoiceError) as raised:
        create_voice(spec)
    message = str(raised.value)
    assert "espeak" in message and "edge" in message
    assert "\n" not in message


@pytest.mark.parametrize("spec, words", [
    ("espeak:", "empty part"),
    ("espeak:en::rate=1", "empty part"),
    ("espeak:en:cmn", "one voice name"),
    ("espeak:rate=170:en", "one voice name"),
    ("espeak:en:speed=3", "unknown option 'speed'"),
    ("espeak:en:rate=fast", "must be a whole number"),
    ("espeak:en:rate=", "must be a whole number"),
    ("edge:en-US-AriaNeural:timeout=soon", "must be a number"),
    ("edge:en-US-AriaNeural:rate=fast", "Invalid rate"),
    ("edge:Aria", "Invalid voice"),
])
def test_malformed_specs_say_what_is_wrong(spec, words):
    with pytest.raises(VoiceError, match=words) as raised:
        create_voice(spec)
    assert "\n" not in str(raised.value)


def test_importing_the_voice_package_loads_no_engine():
    code = ("import sys, streamer.voice; "
            "print(any(m in sys.modules for m in ('edge_tts', 'aiohttp', 'av', 'streamer.voice.espeak')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
