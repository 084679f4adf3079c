"""The embedded default sells without the API: `livehost demo --room` with products, knowledge and
banned-word settings, the sample selling script, and clear errors for what does not fit."""
from __future__ import annotations

import subprocess

import av

from streamer.demo import SAMPLE_SCRIPT
from tests.helpers.process import livehost_cmd

SAMPLES = SAMPLE_SCRIPT.parent


def test_the_sample_selling_room_goes_live_presenting_its_products(cli_env, tmp_path):
    record = tmp_path / "sell.flv"
    p = subprocess.run(livehost_cmd("demo", "--room", str(SAMPLES / "selling_room.yaml"), "--script",
                                    str(SAMPLES / "selling.yaml"), "--record", str(record), "--duration", "12",
                                    "--no-pace", "--no-console", "--size", "320x568"),
                       env=cli_env, capture_output=True, text=True, timeout=180)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "now presenting product tea: 明前龙井" in out and "只要59.9元，在3号链接。" in out
    with av.open(str(record)) as c:
        assert {s.type for s in c.streams} == {"video", "audio"} and float(c.duration / 1e6) > 10


def test_a_script_naming_a_product_the_room_does_not_sell_is_refused_in_one_line(cli_env, tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text("segments: [{product: shoes}, {say: 看看这双鞋。}]\n", encoding="utf-8")
    p = subprocess.run(livehost_cmd("demo", "--room", str(SAMPLES / "selling_room.yaml"), "--script", str(script),
                                    "--record", str(tmp_path / "x.flv"), "--duration", "2", "--no-console"),
                       env=cli_env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert "names product shoes, which this live does not have (products: tea, cup)" in p.stderr
