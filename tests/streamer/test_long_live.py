"""A 1-hour live made faster than real time: audio and video end together."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.helpers.media import read_media
from tests.helpers.process import livehost_cmd


@pytest.mark.slow
@pytest.mark.timeout(1500)  # an hour of media takes 8-10 minutes on 2 cores: more than the default 600 s
def test_one_hour_live_has_no_av_drift(cli_env, tmp_path):
    script = tmp_path / "loop.yaml"
    script.write_text("loop: forever\nsegments:\n"
                      "  - say: This sentence repeats for an hour, to see whether sound and picture drift apart.\n"
                      "  - pause: 700\n  - say: 一个小时以后，声音和画面仍然同步。\n")
    out = tmp_path / "hour.flv"
    p = subprocess.run(livehost_cmd("demo", "--record", str(out), "--no-pace", "--duration", "3600",
                                    "--size", "320x240", "--bitrate", "150000", "--preset", "ultrafast",
                                    "--script", str(script)),
                       env=cli_env, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    m = read_media(str(out), decode=False)
    pts = np.array([v[0] for v in m.video])
    assert len(pts) == 3600 * 25
    assert np.allclose(np.diff(pts), 0.04, atol=0.0015)
    drift = m.audio_end() - m.video_end()
    # one audio frame: the AAC encoder's last 1024-sample frame may be partly padding
    assert abs(drift) <= 1024 / 44100 + 0.001, f"A/V drift {drift * 1000:.1f} ms after an hour"
