"""GPT-SoVITS and CosyVoice voices in a live: their speech (the fakes' tones) is heard in the stream
pulled back from nginx-rtmp, an interrupt hangs up on the server at once, and a server that hangs
is replaced by the room's fallback voice within the voice's timeout."""
from __future__ import annotations

import time

import numpy as np

from streamer.build import LiveSpec, PushTo, RecordTo, Resources, build_live
from streamer.room import RoomPolicy
from streamer.script import parse_script
from streamer.settings import Settings
from tests.helpers.media import read_media, start_pull
from tests.helpers.tts_servers import FakeCosyVoice, FakeGptSovits, dominant_hz

SOVITS_HZ, COSY_HZ = 700.0, 1100.0


def sovits(fake, **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"ref_audio_path": "ref.wav", "prompt_lang": "en", **extra}.items())
    return f"gptsovits:{fake.url}?{query}"


def live_of(avatars_dir, script: dict, output, seconds: float, policy: RoomPolicy | None = None, events=None):
    settings = Settings(width=320, height=568, avatars_dir=avatars_dir, voice="espeak:en")
    spec = LiveSpec(script=parse_script(script), output=output, duration=seconds, policy=policy or RoomPolicy())
    heard = events if events is not None else []
    return build_live(spec, Resources(settings), on_event=lambda kind, **f: heard.append((kind, f)))


def mono16k(media) -> np.ndarray:
    """The pulled-back audio as 16 kHz mono float (44.1 kHz AAC in)."""
    from scipy.signal import resample_poly

    audio = np.concatenate([pcm for _, pcm in media.pcm]).astype(np.float32)
    return resample_poly(audio, 160, 441).astype(np.float32)


def tones(audio: np.ndarray, window: float = 0.5) -> list[tuple[float, float]]:
    """(start s, dominant Hz) of each loud window."""
    step = int(window * 16000)
    return [(i / 16000, dominant_hz(audio[i:i + step])) for i in range(0, audio.size - step, step)
            if np.sqrt(np.mean(audio[i:i + step] ** 2)) > 0.02]


def test_both_servers_voices_are_heard_in_the_live_pulled_back_from_nginx_rtmp(nginx_rtmp, avatars_dir):
    with FakeGptSovits(tone_hz=SOVITS_HZ, speed=4.0) as gpt, FakeCosyVoice(tone_hz=COSY_HZ, speed=4.0) as cosy:
        script = {"segments": [{"say": "Hello from the cloned voice of our host.", "voice": sovits(gpt)},
                               {"pause": 500},
                               {"say": "大家好，欢迎来到直播间。", "voice": f"cosyvoice:{cosy.url}?mode=sft&spk_id=中文女"},
                               {"pause": 3000}], "loop": 1}
        url = nginx_rtmp.url("servers")
        puller, result = start_pull(url)
        time.sleep(0.5)
        session = live_of(avatars_dir, script, PushTo(url, connect_for=5), 7.0)
        session.start()
        assert session.wait(30) and session.state == "ended"
        puller.join(30)
        assert gpt.requests[-1].params["text"] == "Hello from the cloned voice of our host."
        assert gpt.requests[-1].params["text_lang"] == "en" and cosy.requests[-1].params["spk_id"] == "中文女"
    media = result.get("media")
    assert media is not None, result
    heard = tones(mono16k(media))
    sovits_at = [t for t, hz in heard if abs(hz - SOVITS_HZ) < 15]
    cosy_at = [t for t, hz in heard if abs(hz - COSY_HZ) < 15]
    # 40 characters at 0.06 s each: 2.4 s of the GPT-SoVITS tone, then 12 characters of CosyVoice's: 0.7 s
    assert len(sovits_at) >= 3 and len(cosy_at) >= 1, heard
    assert max(sovits_at) < min(cosy_at), heard


def test_an_interrupt_hangs_up_on_the_server_within_200_ms(avatars_dir, tmp_path):
    with FakeGptSovits(tone_hz=SOVITS_HZ, speed=1.0) as gpt:  # a real-time server: 6 s of speech to come
        text = "This sentence is long enough for the server to still be speaking it when the host is cut off."
        script = {"segments": [{"say": text, "voice": sovits(gpt)}, {"pause": 500}], "loop": 0}
        session = live_of(avatars_dir, script, RecordTo(tmp_path / "live.flv", paced=True), 8.0)
        gpt.client_left.clear()  # the voice's check at the start asked for a greeting's first audio and left
        gpt.first_audio_at = None
        session.start()
        try:
            deadline = time.monotonic() + 10
            while gpt.first_audio_at is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(1.0)
            assert not gpt.client_left.is_set() and not gpt.finished_sending.is_set()
            cut = time.monotonic()
            session.interrupt()
            assert gpt.client_left.wait(2), "the server never saw the client leave"
            left_after = gpt.left_at - cut
        finally:
            session.stop()
    assert left_after < 0.2, f"the HTTP stream closed {left_after * 1000:.0f} ms after the interrupt"


def test_a_hanging_server_is_replaced_by_the_fallback_voice_within_its_timeout(avatars_dir, tmp_path):
    events = []
    with FakeGptSovits(tone_hz=SOVITS_HZ) as gpt:
        script = {"segments": [{"say": "Welcome everyone, thank you for joining us.", "voice": sovits(gpt, timeout=1)},
                               {"pause": 3000}], "loop": 1}
        out = tmp_path / "live.flv"
        session = live_of(avatars_dir, script, RecordTo(out, paced=True), 5.0, RoomPolicy(fallback_voice="espeak:en"),
                          events)
        assert not [e for e in events if e[0] == "error"]  # the server answered the check at the start
        gpt.hang = "headers"  # now it answers 200 and then nothing
        gpt.client_left.clear()
        session.start()
        assert session.wait(20) and session.state == "ended"
        assert gpt.client_left.is_set()  # the hung request was hung up on
    audio = mono16k(read_media(str(out)))
    loud = np.flatnonzero(np.abs(audio) > 0.05)
    assert loud.size, "nothing was heard"
    first = loud[0] / 16000
    assert 0.9 < first < 1.6, f"the fallback voice began at {first:.2f} s (timeout 1 s)"
    assert all(abs(hz - SOVITS_HZ) > 15 for _, hz in tones(audio))  # espeak's voice, not the server's
    errors = [f["message"] for kind, f in events if kind == "error"]
    assert any("gptsovits:" in e and "no audio within 1 s" in e and "espeak:en speaks instead" in e
               for e in errors), errors


def test_a_server_down_at_the_start_does_not_stop_the_live_the_fallback_speaks_at_once(avatars_dir, tmp_path):
    events = []
    with FakeGptSovits(tone_hz=SOVITS_HZ) as gpt:
        down = gpt.url
    script = {"segments": [{"say": "Welcome everyone.", "voice": sovits(type("Gone", (), {"url": down}))},
                           {"pause": 2000}], "loop": 1}
    out = tmp_path / "live.flv"
    session = live_of(avatars_dir, script, RecordTo(out, paced=False), 3.0, RoomPolicy(fallback_voice="espeak:en"),
                      events)
    session.start()
    assert session.wait(20) and session.state == "ended"
    audio = mono16k(read_media(str(out)))
    loud = np.flatnonzero(np.abs(audio) > 0.05)
    assert loud.size and loud[0] / 16000 < 0.5, "the fallback voice did not speak the first sentence at once"
    errors = [f["message"] for kind, f in events if kind == "error"]
    assert any(down in e and "espeak:en speaks instead" in e for e in errors), errors
