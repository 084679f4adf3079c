"""Bad input gets one clear line and a non-zero exit, fast; nothing hangs, no traceback."""
from __future__ import annotations

import subprocess
import time

import numpy as np

from tests.helpers.process import free_port, livehost_cmd


def run(env, *args, timeout=60):
    t = time.monotonic()
    p = subprocess.run(livehost_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - t


def assert_one_line_error(p, *words):
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("livehost: error: "), p.stderr
    for w in words:
        assert w in last, last


def test_malformed_push_url_is_refused(cli_env):
    p, _ = run(cli_env, "demo", "--push", "http://example.com/live/key")
    assert_one_line_error(p, "rtmp://")
    p, _ = run(cli_env, "demo", "--push", "rtmp:///live/key")
    assert_one_line_error(p, "no host")


def test_unreachable_rtmp_server_fails_fast_and_hides_the_key(cli_env):
    port = free_port()  # nothing listens there
    p, took = run(cli_env, "demo", "--push", f"rtmp://127.0.0.1:{port}/live/secretkey123")
    assert_one_line_error(p, "cannot connect", str(port))
    assert "secretkey123" not in p.stderr + p.stdout
    assert took < 20


def test_unknown_avatar(cli_env):
    p, _ = run(cli_env, "demo", "--avatar", "nobody", "--record", "/tmp/x.flv")
    assert_one_line_error(p, "unknown avatar 'nobody'", "default")


def test_empty_script(cli_env, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    p, _ = run(cli_env, "demo", "--script", str(empty), "--record", str(tmp_path / "x.flv"))
    assert_one_line_error(p, "empty")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n")
    p, _ = run(cli_env, "demo", "--script", str(blank), "--record", str(tmp_path / "x.flv"))
    assert_one_line_error(p, "empty")


def test_missing_script_file(cli_env, tmp_path):
    p, _ = run(cli_env, "demo", "--script", str(tmp_path / "nope.yaml"), "--record", str(tmp_path / "x.flv"))
    assert_one_line_error(p, "not found")


def test_unknown_voice(cli_env, tmp_path):
    p, _ = run(cli_env, "demo", "--voice", "robot:beep", "--record", str(tmp_path / "x.flv"))
    assert_one_line_error(p, "robot")


def test_photo_without_a_face_names_the_frame(cli_env, tmp_path):
    import cv2
    from skimage.data import coffee

    photo = tmp_path / "coffee.png"
    cv2.imwrite(str(photo), coffee()[:, :, ::-1])
    p, _ = run(cli_env, "avatar", "prepare", str(photo), "--id", "cup")
    assert_one_line_error(p, "no face", "frame 0")


def test_voice_that_cannot_work_goes_live_with_the_fallback_voice_and_says_so(cli_env, tmp_path):
    """edge-tts cannot reach Microsoft from here: the demo goes live anyway, the room's fallback voice
    (espeak) speaking, and the terminal names the voice that failed and why (never a mute live)."""
    from tests.helpers.media import read_media

    out = tmp_path / "x.flv"
    p, took = run(cli_env, "demo", "--voice", "edge:en-US-AriaNeural:timeout=3",
                  "--record", str(out), "--duration", "4")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "edge-tts voice en-US-AriaNeural failed" in p.stderr and "espeak speaks instead" in p.stderr, p.stderr
    m = read_media(str(out))
    assert m.audio_end() >= 3.5
    assert max(m.rms_at(t, t + 0.5) for t in np.arange(0, 3.5, 0.5)) > 0.02  # speech heard
    assert took < 40


def test_voice_and_fallback_that_cannot_work_are_refused_before_going_live(cli_env, tmp_path):
    """When the room's fallback voice cannot speak either, the demo says so instead of going live mute."""
    room = tmp_path / "room.yaml"
    room.write_text("fallback_voice: edge:en-GB-SoniaNeural:timeout=3\n")
    p, took = run(cli_env, "demo", "--voice", "edge:en-US-AriaNeural:timeout=3", "--room", str(room),
                  "--record", str(tmp_path / "x.flv"), "--duration", "2")
    assert_one_line_error(p, "edge-tts voice en-GB-SoniaNeural failed")
    assert took < 20
