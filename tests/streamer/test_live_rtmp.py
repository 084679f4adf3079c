"""The spine, end to end: `livehost demo` pushes to a real nginx-rtmp, and PyAV pulls it back."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from tests.helpers.live import mouth_box_on_canvas
from tests.helpers.media import mouth_motion, start_pull
from tests.helpers.process import livehost_cmd

SCRIPT = """\
segments:
  - say: Hello and welcome. Today we test the whole pipeline, from the voice to the stream.
  - pause: 1500
  - say: 大家好，欢迎来到直播间。
  - pause: 1500
  - say: The mouth should move while I speak, and rest while I am silent.
"""


@pytest.mark.slow
def test_demo_push_is_what_a_platform_accepts(nginx_rtmp, cli_env, avatars_dir, tmp_path):
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    url = nginx_rtmp.url("spine")
    box = mouth_box_on_canvas(avatars_dir, 720, 1280)
    puller, result = start_pull(url, box=box)  # nginx-rtmp lets a player wait for the publisher
    time.sleep(0.5)
    demo = subprocess.run(livehost_cmd("demo", "--push", url, "--script", str(script), "--size", "720x1280"),
                          env=cli_env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    puller.join(30)
    m = result["media"]

    assert (m.vcodec, m.acodec) == ("h264", "aac")
    assert (m.width, m.height) == (720, 1280)
    assert (m.audio_rate, m.audio_channels) == (44100, 2)
    pts = np.array([p for p, _, _ in m.video])
    assert len(pts) > 25 * 10, f"only {len(pts)} video frames arrived"
    steps = np.round(np.diff(pts), 3)
    assert set(steps.tolist()) == {0.04}, f"video timestamps not a steady 25 fps: {sorted(set(steps.tolist()))}"
    assert all(p == d for p, d, _ in m.video), "pts != dts: the stream has reordered (B) frames"
    assert "B" not in m.picture_types
    gaps = m.keyframe_gaps()
    assert gaps and max(gaps) <= 2.0 + 1e-6, f"keyframe gaps {gaps}"
    assert abs(m.audio_end() - m.video_end()) <= 0.040, (m.audio_end(), m.video_end())
    speaking, silent, n_speak, n_quiet = mouth_motion(m)
    assert n_speak > 50 and n_quiet > 25, (n_speak, n_quiet)
    assert speaking > 3 * max(silent, 0.2), f"mouth motion speaking {speaking:.2f} vs silent {silent:.2f}"


@pytest.mark.slow
def test_push_resumes_after_rtmp_server_restart(nginx_rtmp, cli_env):
    url = nginx_rtmp.url("restart")
    demo = subprocess.Popen(livehost_cmd("demo", "--push", url, "--duration", "25", "--size", "320x568"),
                            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        th, first = start_pull(url, decode=False, max_seconds=3)
        th.join(30)
        assert len(first["media"].video) >= 50, "the live never reached the server"
        nginx_rtmp.kill()
        time.sleep(1.0)
        assert demo.poll() is None, "the streamer died with the server"
        nginx_rtmp.start()
        restarted = time.monotonic()
        # A player retries as a viewer's app does: one that joined in the wrong instant may see
        # an empty stream and come back.
        m, attempts = None, []
        while time.monotonic() - restarted < 30 and not (m and m.video):
            th, again = start_pull(url, decode=False, max_seconds=1, quick_start=True, timeout=(10.0, 5.0))
            th.join(20)
            m = again.get("media")
            attempts.append(again.get("error") or ("still waiting after 20 s" if m is None else
                                                   f"{len(m.video)} video / {len(m.audio)} audio packets"))
        if m is None or not m.video:
            demo.kill()
            out, _ = demo.communicate(timeout=10)
            log = (nginx_rtmp.dir / "logs/error.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"the push never resumed (player attempts: {attempts})\n"
                        f"--- streamer output ---\n{out[-3000:]}\n--- nginx log ---\n{log}")
        assert m.first_packet_at - restarted <= 3.0, f"resumed {m.first_packet_at - restarted:.2f} s after the restart"
        assert demo.poll() is None, "the streamer exited after the reconnect"
        out, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, out
        assert "connected" in out
    finally:
        if demo.poll() is None:
            demo.kill()
