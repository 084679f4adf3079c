"""An avatar source is measured from its header before anything is decoded: a picture or a video
over the limits is refused naming its size and the limit, and the process that meets a
decompression bomb stays small."""
from __future__ import annotations

import pytest

from streamer.avatar.prepare import prepare_avatar
from streamer.avatar.probe import SourceLimits, SourceTooLarge, check_source
from tests.helpers.bombs import png_bomb, run_python_measured, write_video
from tests.helpers.process import ROOT


def test_sizes_are_read_from_headers_and_checked_a_side_and_in_all(tmp_path):
    limits = SourceLimits(max_side=8192, max_pixels=50_000_000)
    fine = tmp_path / "fine.png"
    fine.write_bytes(png_bomb(8192, 100))
    assert check_source(fine, limits) == (8192, 100)
    video = write_video(tmp_path / "clip.mp4", 64, 48)
    assert check_source(video, limits) == (64, 48)
    for name, size in (("wide.png", (8193, 100)), ("big.png", (8000, 7000))):
        (tmp_path / name).write_bytes(png_bomb(*size))
        with pytest.raises(SourceTooLarge) as e:
            check_source(tmp_path / name, limits)
        assert str(e.value) == (f"{name} is {size[0]}x{size[1]} pixels; "
                                "the limit is 8192 pixels a side and 50 megapixels")


def test_a_video_wider_than_the_limit_is_refused_before_decoding(tmp_path):
    video = write_video(tmp_path / "wide.mp4", 9000, 64)
    with pytest.raises(SourceTooLarge, match=r"^wide\.mp4 is 9000x64 pixels; the limit is 8192 pixels a side"):
        prepare_avatar(video, "wide", tmp_path / "avatars")
    assert not (tmp_path / "avatars" / "wide").exists()


def test_a_png_bomb_is_refused_and_the_preparing_process_stays_small(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(30000, 30000))  # 2.7 GB once decoded as BGR
    assert bomb.stat().st_size < 1_000_000
    code = ("import sys; from pathlib import Path; from streamer.avatar.model import AvatarError\n"
            "from streamer.avatar.prepare import prepare_avatar\n"
            "try:\n    prepare_avatar(Path(sys.argv[1]), 'bomb', Path(sys.argv[2]))\n"
            "except AvatarError as e:\n    print(type(e).__name__, e)\n")
    status, out, peak_mb = run_python_measured(code, str(bomb), str(tmp_path / "avatars"), cwd=ROOT)
    assert status == 0, out
    assert out.strip() == ("SourceTooLarge bomb.png is 30000x30000 pixels; "
                           "the limit is 8192 pixels a side and 50 megapixels"), out
    assert peak_mb < 400, f"preparing the bomb took {peak_mb:.0f} MB at its peak"
