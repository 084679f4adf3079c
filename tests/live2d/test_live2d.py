"""Live2D avatars: a real Cubism model (Haru, from npm) prepared, rendered headless on the CPU
(EGL on Mesa's llvmpipe) and pushed to nginx-rtmp like any other avatar: the picture pulled back
shows the model, its mouth opens with the speech and rests in silence; broken models are refused."""
from __future__ import annotations

import io
import struct
import subprocess
import threading
import time
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from streamer.avatar.live2d import prepare_live2d
from streamer.avatar.model import AvatarError
from streamer.avatar.store import load_avatar
from tests.helpers.live2d import haru_model
from tests.helpers.media import start_pull
from tests.helpers.process import livehost_cmd

pytest.importorskip("live2d", reason="pip install 'livehost[live2d]'")


@pytest.fixture(scope="module")
def model() -> Path:
    return haru_model()


@pytest.fixture(scope="module")
def prepared(model, tmp_path_factory) -> Path:
    avatars = tmp_path_factory.mktemp("avatars")
    prepare_live2d(model, "haru", avatars)
    return avatars


def mouth_box(avatar) -> tuple[int, int, int, int]:
    """Where the mouth is on the 720x1280 canvas: what changes between the model rendered with its mouth
    shut and wide open, at the avatar's size, scaled as the canvas scales the avatar (it fills it)."""
    from streamer.lipsync.live2d import Live2DModel

    out = {}
    w, h = avatar.size
    scale = 720 / w
    assert h * scale == 1280

    def run():
        m = Live2DModel(avatar.live2d, w, h)
        shut, wide = m.render(0.0, 0.0)[..., :3].astype(int), m.render(1.0, 0.0)[..., :3].astype(int)
        m.close()
        ys, xs = np.nonzero(np.abs(wide - shut).sum(axis=2) > 200)
        out["box"] = (int(xs.min() * scale), int(ys.min() * scale), int((xs.max() + 1) * scale),
                      int((ys.max() + 1) * scale))

    th = threading.Thread(target=run)
    th.start()
    th.join()
    return out["box"]


def test_a_prepared_model_keeps_its_files_and_a_rest_frame_of_the_model(prepared):
    avatar = load_avatar(prepared, "haru")
    assert avatar.live2d is not None and avatar.live2d.name == "haru01.model.json" and avatar.live2d.is_file()
    assert avatar.size == (540, 960)
    alpha = avatar.alphas[0]
    assert 0.1 < (alpha > 0.5).mean() < 0.6  # a standing figure, the rest transparent
    columns = np.flatnonzero((alpha > 0.5).any(axis=0))
    assert abs((columns[0] + columns[-1]) / 2 - 270) < 30  # centred
    assert avatar.frames[0][alpha > 0.9].mean() > 60  # coloured, not black


def test_a_live2d_live_pulled_back_from_nginx_rtmp_moves_its_mouth_with_the_speech(prepared, nginx_rtmp, cli_env,
                                                                                    tmp_path):
    box = mouth_box(load_avatar(prepared, "haru"))
    script = tmp_path / "script.yaml"
    script.write_text("segments:\n  - say: Hello everyone and welcome to the live room.\n  - pause: 2500\n"
                      "  - say: Today we look at three new phones, and I answer your questions.\n"
                      "  - pause: 2500\n")
    url = nginx_rtmp.url("live2d")
    puller, result = start_pull(url, box=box)
    time.sleep(0.5)
    env = {**cli_env, "LIVEHOST_AVATARS_DIR": str(prepared)}
    demo = subprocess.run(livehost_cmd("demo", "--push", url, "--avatar", "haru", "--script", str(script),
                                       "--voice", "espeak:en", "--duration", "12"),
                          env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    puller.join(30)
    m = result["media"]
    assert m is not None and (m.width, m.height) == (720, 1280), result
    assert len(m.crops) > 250  # 12 s at 25 fps, real time
    dark = np.array([(crop < 110).mean() for crop in m.crops])  # an open mouth shows its dark inside
    energy = np.array([m.rms_at(t, t + 0.04) for t in m.video_times[:len(dark)]])
    quiet, loud = dark[energy < 0.002], dark[energy > 0.03]
    assert quiet.size > 50 and loud.size > 25, (quiet.size, loud.size)
    assert loud.mean() > 3 * quiet.mean() + 0.01, (loud.mean(), quiet.mean())
    assert np.corrcoef(dark, energy)[0, 1] > 0.4


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def model_files(model: Path) -> dict[str, bytes]:
    return {p.relative_to(model).as_posix(): p.read_bytes() for p in model.rglob("*") if p.is_file()}


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG that says it is width x height (a picture too large to decode)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("broken, words", [
    ("missing_texture", "moc/haru01.1024/texture_01.png, which is missing"),
    ("traversal", "path outside it"),
    ("huge_texture", "texture_01.png is too large"),
    ("wide_texture", "texture_01.png is too large: 9000x16, over 8192 pixels a side"),
    ("bomb", "unpacks to more than 200 MB"),
    ("no_model", "no Live2D model file"),
])
def test_broken_models_are_refused_with_a_clear_message_and_leave_nothing(model, tmp_path, broken, words):
    files = model_files(model)
    if broken == "missing_texture":
        files.pop("moc/haru01.1024/texture_01.png")
    elif broken == "traversal":
        files["../../escape.txt"] = b"out"
    elif broken == "huge_texture":
        files["moc/haru01.1024/texture_01.png"] = png_header(30000, 30000)
    elif broken == "wide_texture":
        files["moc/haru01.1024/texture_01.png"] = png_header(9000, 16)
    elif broken == "bomb":
        files["padding.bin"] = bytes(250_000_000)
    else:
        files = {k: v for k, v in files.items() if not k.endswith(".model.json")}
    source = tmp_path / "model.zip"
    source.write_bytes(zip_of(files))
    avatars = tmp_path / "avatars"
    with pytest.raises(AvatarError, match=words.replace("(", r"\(").replace(".", r"\.")):
        prepare_live2d(source, "broken", avatars)
    assert not (avatars / "broken").exists() and not list(avatars.glob(".tmp-*"))
    assert not (tmp_path / "escape.txt").exists()


def test_a_zip_of_a_good_model_is_prepared_from_the_cli(model, cli_env, tmp_path):
    source = tmp_path / "haru.zip"
    source.write_bytes(zip_of({f"haru/{k}": v for k, v in model_files(model).items()}))
    avatars = tmp_path / "avatars"
    done = subprocess.run(livehost_cmd("avatar", "prepare", str(source), "--id", "haru-zip"),
                          env={**cli_env, "LIVEHOST_AVATARS_DIR": str(avatars)}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rest = cv2.imread(str(avatars / "haru-zip" / "rest.png"), cv2.IMREAD_UNCHANGED)
    assert rest.shape == (960, 540, 4) and (rest[..., 3] > 128).mean() > 0.1
    # its actions are the model's: listed by the command, and no video clip can be added
    env = {**cli_env, "LIVEHOST_AVATARS_DIR": str(avatars)}
    listed = subprocess.run(livehost_cmd("avatar", "action", "list", "haru-zip"), env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0 and {"f01", "tap_body"} <= set(listed.stdout.split()), listed.stdout + listed.stderr
    added = subprocess.run(livehost_cmd("avatar", "action", "add", "haru-zip", "wave", str(source)), env=env,
                           capture_output=True, text=True, timeout=60)
    assert added.returncode != 0 and "is a Live2D model" in added.stderr and "video clips cannot be added" in added.stderr


def test_an_expression_played_as_an_action_changes_the_face_and_it_returns(prepared):
    from streamer.frames import FrameKind, Tick
    from streamer.lipsync.live2d import Live2DEngine

    avatar = load_avatar(prepared, "haru")
    assert {"f01", "f05", "tap_body"} <= set(avatar.actions) and "idle" not in avatar.actions
    quiet = np.zeros(640, np.float32)
    faces = {}

    def run():
        stream = Live2DEngine().open(avatar)
        stream.push(Tick(0, quiet, FrameKind.IDLE, 0))
        model = stream.model  # held still, so that only the expression moves the face
        model.model.SetAutoBlink(False)
        model.model.SetAutoBreath(False)
        model.idle_group = None
        model.model.StopAllMotions()
        ticks = ([Tick(i, quiet, FrameKind.IDLE, 0) for i in range(1, 30)]
                 + [Tick(30 + i, quiet, FrameKind.ACTION, i, clip="f05") for i in range(40)]
                 + [Tick(70 + i, quiet, FrameKind.IDLE, 0) for i in range(40)])
        frames = [stream.push(t)[0].patch.image.astype(np.float32) for t in ticks]
        stream.close()
        alpha = avatar.alphas[0]
        rows = np.flatnonzero(alpha.any(axis=1))
        top, figure = rows[0], rows[-1] - rows[0]
        face = (slice(top, top + int(0.2 * figure)), slice(None))  # the head: the top fifth of the figure
        base = frames[28][face]
        faces.update(acting=np.abs(frames[65][face] - base).mean(), back=np.abs(frames[-1][face] - base).mean())

    th = threading.Thread(target=run)
    th.start()
    th.join()
    assert faces["acting"] > 1.0 and faces["acting"] > 4 * faces["back"], faces


def test_a_live_plays_the_models_motion_as_an_action_and_goes_back_to_idle(prepared, tmp_path):
    from streamer.build import LiveSpec, RecordTo, Resources, build_live
    from streamer.script import parse_script
    from streamer.settings import Settings
    from tests.helpers.media import read_media

    events = []
    settings = Settings(avatars_dir=prepared, avatar="haru")
    spec = LiveSpec(script=parse_script({"segments": [{"action": "tap_body"}, {"say": "Thank you!"}], "loop": 1}),
                    output=RecordTo(tmp_path / "live.flv", paced=False), duration=5.0, voice="espeak:en")
    session = build_live(spec, Resources(settings), on_event=lambda kind, **f: events.append((kind, f)))
    session.start()
    assert session.wait(60) and session.state == "ended"
    actions = [(f["name"], f["state"]) for kind, f in events if kind == "action"]
    assert ("tap_body", "start") in actions and ("tap_body", "end") in actions, events
    assert not [f for kind, f in events if kind == "error"], events
    m = read_media(str(tmp_path / "live.flv"))
    assert len(m.video) > 85  # the 3 s motion, then the thanks
    assert m.rms_at(0.2, 2.8) < 0.001 and m.rms_at(3.0, m.video_end()) > 0.01


def test_an_interrupt_closes_the_mouth_from_the_next_frame(prepared):
    """As with photo avatars: the frame after an interrupt shows the mouth shut, not closing."""
    from streamer.frames import FrameKind, Tick
    from streamer.lipsync.live2d import Live2DEngine

    avatar = load_avatar(prepared, "haru")
    x1, y1, x2, y2 = (round(v * avatar.size[0] / 720) for v in mouth_box(avatar))  # canvas -> avatar pixels
    t = np.arange(640) / 16000
    loud, quiet = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), np.zeros(640, np.float32)
    out = {}

    def run():
        stream = Live2DEngine().open(avatar)
        stream.push(Tick(0, quiet, FrameKind.IDLE, 0))
        model = stream.model  # held still, so that only the mouth moves
        model.model.SetAutoBlink(False)
        model.model.SetAutoBreath(False)
        model.idle_group = None
        model.model.StopAllMotions()
        n = iter(range(1, 1000))

        def mouth(audio, kind):
            return stream.push(Tick(next(n), audio, kind, 0))[0].patch.image[y1:y2, x1:x2].astype(np.float32)

        for _ in range(10):
            out["shut"] = mouth(quiet, FrameKind.IDLE)
        for _ in range(10):
            out["open"] = mouth(loud, FrameKind.SPEECH)
        out["closing"] = mouth(quiet, FrameKind.IDLE)  # no interrupt: the mouth eases shut over a few frames
        for _ in range(10):
            mouth(loud, FrameKind.SPEECH)
        stream.reset()  # the interrupt
        out["after"] = mouth(quiet, FrameKind.IDLE)
        stream.close()

    th = threading.Thread(target=run)
    th.start()
    th.join()
    moved = {k: float(np.abs(out[k] - out["shut"]).mean()) for k in ("open", "closing", "after")}
    assert moved["open"] > 5.0, moved
    assert moved["after"] < 0.1 * moved["open"] and moved["closing"] > 3 * moved["after"] + 0.5, moved
