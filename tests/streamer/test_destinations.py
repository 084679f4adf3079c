"""One live, encoded once, to several places at a time: two real nginx-rtmp ingests and a recording
in segments. One ingest killed and restarted three times never touches the other's stream; the
recording plays back whole, survives a kill -9 of the streamer, and a full disk stops only it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest

from tests.helpers.media import playable_seconds, start_pull
from tests.helpers.process import livehost_cmd, need

pytestmark = pytest.mark.slow


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g} s")
        time.sleep(0.1)


def test_one_ingest_going_down_three_times_never_touches_the_other(nginx_rtmp, second_ingest, cli_env, tmp_path):
    steady, flaky = nginx_rtmp.url("both"), second_ingest.url("both")
    puller, result = start_pull(steady, decode=False, timeout=(30.0, 10.0))  # waits for the publisher
    time.sleep(0.5)
    kept = tmp_path / "kept"
    demo = subprocess.Popen(livehost_cmd("demo", "--push", steady, "--push", flaky, "--segments", str(kept),
                                         "--duration", "30", "--size", "320x568", "--no-console"),
                            env={**cli_env, "LIVEHOST_RECORDING_SEGMENT_S": "6"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: second_ingest.publishes("both") >= 1, 40, "the live never reached the second ingest")
        for restart in range(1, 4):
            time.sleep(3.0)
            second_ingest.kill()
            time.sleep(1.5)
            assert demo.poll() is None, "the streamer died with one of its ingests"
            second_ingest.start()
            wait_for(lambda: second_ingest.publishes("both") >= restart + 1, 10,
                     f"the push did not resume after restart {restart}")
        out, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, out
    seconds = float(re.search(r"ended after ([0-9.]+) s of media", out).group(1))  # the script may end first
    assert seconds >= 20, out[-3000:]
    puller.join(30)
    m = result["media"]
    assert m is not None and m.video, result.get("error")
    pts = np.array([p for p, _, _ in m.video])
    gaps = np.diff(pts)
    assert gaps.max() <= 0.1, f"the steady ingest's stream has a gap of {gaps.max():.2f} s at {pts[gaps.argmax()]:.1f} s"
    assert pts[-1] - pts[0] + 0.04 >= seconds - 0.1, f"the steady ingest got {pts[-1] - pts[0]:.1f} s of {seconds} s"
    assert second_ingest.publishes("both") == 4  # first push, then one after each restart

    manifest = json.loads((kept / "recording.json").read_text())
    assert manifest["complete"] is True and manifest["error"] is None
    files = sorted(kept.glob("seg-*.ts"))
    assert [s["file"] for s in manifest["segments"]] == [f.name for f in files] and len(files) >= 4
    played = [playable_seconds(f) for f in files]
    assert all(p > 0 for p in played), played
    assert abs(sum(played) - seconds) <= 1.0, f"the recording holds {sum(played):.2f} s of a {seconds} s live: {played}"
    for segment, seconds in zip(manifest["segments"], played):
        assert abs(segment["duration"] - seconds) <= 0.1 and segment["bytes"] == (kept / segment["file"]).stat().st_size


def test_a_streamer_killed_mid_live_leaves_every_finished_segment_playable(nginx_rtmp, cli_env, tmp_path):
    kept = tmp_path / "kept"
    demo = subprocess.Popen(livehost_cmd("demo", "--push", nginx_rtmp.url("killed"), "--segments", str(kept),
                                         "--size", "320x568", "--no-console"),
                            env={**cli_env, "LIVEHOST_RECORDING_SEGMENT_S": "2"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(list(kept.glob("seg-*.ts"))) >= 4, 60, "no fourth segment was started")
    finally:
        demo.send_signal(signal.SIGKILL)
        demo.wait(10)
    manifest = json.loads((kept / "recording.json").read_text())
    assert manifest["complete"] is False
    finished = [kept / s["file"] for s in manifest["segments"]]
    assert len(finished) >= 3
    for path in finished:
        assert playable_seconds(path) >= 1.9, f"{path.name} does not play after the kill"
    cut_short = sorted(kept.glob("seg-*.ts"))[len(finished):]  # the one being written at the kill

    # The live resumed (as another worker would): the recording goes on beside what was kept.
    again = subprocess.run(livehost_cmd("demo", "--push", nginx_rtmp.url("killed"), "--segments", str(kept),
                                        "--size", "320x568", "--no-console", "--duration", "5"),
                           env={**cli_env, "LIVEHOST_RECORDING_SEGMENT_S": "2"}, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    manifest = json.loads((kept / "recording.json").read_text())
    files = [s["file"] for s in manifest["segments"]]
    assert manifest["complete"] is True and files == sorted(set(files))
    assert files[:len(finished)] == [p.name for p in finished] and all(p.name in files for p in cut_short)
    assert len(files) >= len(finished) + len(cut_short) + 2
    assert all(playable_seconds(kept / f) > 0 for f in files)


def test_a_full_disk_stops_the_recording_and_the_live_goes_on(nginx_rtmp, cli_env, tmp_path):
    need(os.geteuid() == 0, "mounting a small tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(small)], capture_output=True)
    need(mounted.returncode == 0, f"cannot mount a tmpfs: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        url = nginx_rtmp.url("full")
        puller, result = start_pull(url, decode=False, timeout=(30.0, 10.0))
        time.sleep(0.5)
        demo = subprocess.run(livehost_cmd("demo", "--push", url, "--segments", str(small), "--duration", "20",
                                           "--size", "720x1280", "--no-console"),
                              env={**cli_env, "LIVEHOST_RECORDING_SEGMENT_S": "2"}, capture_output=True, text=True,
                              timeout=120)
        puller.join(30)
        manifest = json.loads((small / "recording.json").read_text()) if (small / "recording.json").exists() else {}
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)
    log = demo.stdout + demo.stderr
    assert demo.returncode == 0, log
    assert "recording stopped" in log and "No space left on device" in log, log[-3000:]
    m = result["media"]
    pts = [p for p, _, _ in m.video]
    assert pts[-1] - pts[0] >= 19.0, f"the live got {pts[-1] - pts[0]:.1f} s out of 20 after the disk filled"
    assert max(np.diff(pts)) <= 0.1
    assert manifest.get("complete") is not True
