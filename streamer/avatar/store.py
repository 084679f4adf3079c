"""The avatar folder format: write a prepared avatar atomically, load it back.

An avatar lives in `<avatars_dir>/<id>/`:

    avatar.json      {"id", "format", "width", "height", "frames", "fps", "kind", "source", "created"}
    frames/000000.jpg ...   BGR frames, JPEG quality 95, all of one size
    faces.npy        (N, 4) int32 face boxes x1, y1, x2, y2, one per frame
    mouths.npy       (N, 4) int32 mouth boxes: around the lips, centred on the line between them
    mouth_mask.png   8-bit grey feathered mask for a mouth box (0 at its borders)
    actions/<name>/  optional action clips (prepared by streamer.avatar.actions, loaded here)

A folder is written under a temporary name next to its final place and renamed when complete,
so a failed or interrupted preparation never leaves a half-written avatar behind.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from streamer.avatar.cubism import ACTION_NAME, ACTION_S, model_actions
from streamer.avatar.model import ActionClip, Avatar, AvatarError
from streamer.frames import FPS, SAMPLES_PER_VIDEO_FRAME

log = logging.getLogger("livehost.avatar")

FORMAT_VERSION = 1
JPEG_QUALITY = 95
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ACTIONS_DIR = "actions"  # an avatar's action clips: actions/<name>/ (written by streamer.avatar.actions)
_TMP_PREFIX = ".tmp-"
_STALE_TMP_S = 3600.0


def check_id(avatar_id: str) -> str:
    """Return `avatar_id` if it is a valid avatar id (lowercase, digits, _ and -; 1-40 chars)."""
    if not isinstance(avatar_id, str) or not ID_PATTERN.match(avatar_id):
        raise AvatarError(
            f"invalid avatar id {avatar_id!r}: use 1-40 of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit")
    return avatar_id


def list_avatars(avatars_dir: Path) -> list[str]:
    """Ids of the avatars in `avatars_dir` (folders with an avatar.json), sorted."""
    avatars_dir = Path(avatars_dir)
    if not avatars_dir.is_dir():
        return []
    return sorted(p.name for p in avatars_dir.iterdir()
                  if ID_PATTERN.match(p.name) and (p / "avatar.json").is_file())


def replace_folder(tmp: Path, final: Path) -> Path:
    """Move the finished folder `tmp` to `final`, replacing what is there in one rename; the old
    folder is moved aside first and removed after, so `final` is always whole."""
    old = None
    if final.exists():
        old = final.parent / f"{_TMP_PREFIX}old-{final.name}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def frame_name(index: int) -> str:
    return f"{index:06d}.jpg"


class AvatarWriter:
    """Writes one avatar frame by frame into a temporary folder; commit() makes it appear.

    Use as a context manager: leaving the block without commit() removes everything written.
    An existing avatar with the same id is replaced only when commit() succeeds.
    """

    def __init__(self, avatars_dir: Path, avatar_id: str):
        self.avatar_id = check_id(avatar_id)
        self.avatars_dir = Path(avatars_dir)
        self.avatars_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.avatars_dir)
        self.tmp = self.avatars_dir / f"{_TMP_PREFIX}{avatar_id}-{uuid.uuid4().hex[:8]}"
        (self.tmp / "frames").mkdir(parents=True)
        self.count = 0
        self.size: tuple[int, int] | None = None
        self._done = False

    def __enter__(self) -> AvatarWriter:
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:
            self.abort()

    def add_frame(self, frame: np.ndarray) -> int:
        """Append one BGR uint8 frame; returns its index."""
        h, w = frame.shape[:2]
        if self.size is None:
            self.size = (w, h)
        elif self.size != (w, h):
            raise AvatarError(f"frame {self.count} is {w}x{h}, expected {self.size[0]}x{self.size[1]}")
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise AvatarError(f"cannot encode frame {self.count} as JPEG")
        (self.tmp / "frames" / frame_name(self.count)).write_bytes(data.tobytes())
        self.count += 1
        return self.count - 1

    def commit(self, faces: np.ndarray, mouths: np.ndarray, mouth_mask: np.ndarray,
               source: str, kind: str, fps: int = 25) -> Path:
        """Write the boxes, mask and avatar.json, then move the folder into place; returns it."""
        faces = np.asarray(faces, dtype=np.int32)
        mouths = np.asarray(mouths, dtype=np.int32)
        n = self.count
        if n == 0 or self.size is None:
            raise AvatarError("an avatar needs at least one frame")
        for name, boxes in (("faces", faces), ("mouths", mouths)):
            if boxes.shape != (n, 4):
                raise AvatarError(f"{name} has shape {boxes.shape}, expected ({n}, 4)")
        np.save(self.tmp / "faces.npy", faces)
        np.save(self.tmp / "mouths.npy", mouths)
        mask8 = np.clip(np.asarray(mouth_mask, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        cv2.imwrite(str(self.tmp / "mouth_mask.png"), mask8)
        meta = {
            "id": self.avatar_id, "format": FORMAT_VERSION, "width": self.size[0],
            "height": self.size[1], "frames": n, "fps": int(fps), "kind": kind,
            "source": source, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (self.tmp / "avatar.json").write_text(json.dumps(meta, indent=2) + "\n")
        final = replace_folder(self.tmp, self.avatars_dir / self.avatar_id)
        self._done = True
        log.info("avatar %s saved: %d frames %dx%d from %s", self.avatar_id, n, *self.size, source)
        return final

    def abort(self) -> None:
        """Remove everything written so far."""
        self._done = True
        shutil.rmtree(self.tmp, ignore_errors=True)


def save_avatar(avatars_dir: Path, avatar_id: str, frames: list[np.ndarray], faces: np.ndarray,
                mouths: np.ndarray, mouth_mask: np.ndarray, source: str, kind: str = "image",
                fps: int = 25) -> Path:
    """Write a complete avatar folder atomically and return it."""
    with AvatarWriter(avatars_dir, avatar_id) as writer:
        for frame in frames:
            writer.add_frame(frame)
        return writer.commit(faces, mouths, mouth_mask, source=source, kind=kind, fps=fps)


def load_avatar(avatars_dir: Path, avatar_id: str) -> Avatar:
    """Load `<avatars_dir>/<avatar_id>` fully into memory, with its action clips.

    Raises AvatarError for an invalid or unknown id (listing the available ones) and for a broken
    folder (naming the file that is missing or wrong). A broken action clip is logged and skipped.
    """
    folder = avatar_folder(avatars_dir, avatar_id)

    def broken(what: str) -> AvatarError:
        return AvatarError(f"avatar '{avatar_id}' is broken: {what} ({folder})")

    try:
        meta = json.loads((folder / "avatar.json").read_text())
        n, width, height = int(meta["frames"]), int(meta["width"]), int(meta["height"])
        version, fps = int(meta.get("format", 0)), int(meta.get("fps", 25))
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise broken(f"avatar.json is unreadable ({e.__class__.__name__}: {e})") from None
    if version != FORMAT_VERSION:
        raise broken(f"avatar.json has format {version}, this version reads {FORMAT_VERSION}")
    if meta.get("kind") == "live2d":
        return load_live2d(folder, meta)
    if n < 1:
        raise broken("avatar.json says it has no frames")
    boxes = {}
    for name in ("faces", "mouths"):
        try:
            arr = np.load(folder / f"{name}.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise broken(f"{name}.npy is missing or unreadable ({e.__class__.__name__})") from None
        if arr.shape != (n, 4):
            raise broken(f"{name}.npy has shape {arr.shape}, expected ({n}, 4)")
        boxes[name] = arr.astype(np.int32, copy=False)
    mask = cv2.imread(str(folder / "mouth_mask.png"), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise broken("mouth_mask.png is missing or unreadable")
    frames = read_images([folder / "frames" / frame_name(i) for i in range(n)])
    for i, frame in enumerate(frames):
        if frame is None:
            raise broken(f"frames/{frame_name(i)} is missing or unreadable")
        if frame.shape[:2] != (height, width):
            raise broken(f"frames/{frame_name(i)} is {frame.shape[1]}x{frame.shape[0]}, "
                         f"expected {width}x{height}")
    return Avatar(id=avatar_id, path=folder, frames=frames, faces=boxes["faces"],
                  mouths=boxes["mouths"], mouth_mask=mask.astype(np.float32) / 255.0, fps=fps,
                  actions=load_actions(folder, size=(width, height)))


def avatar_folder(avatars_dir: Path, avatar_id: str) -> Path:
    """The folder of an existing avatar; AvatarError for an invalid or unknown id (listing the
    available ones) or a folder without avatar.json."""
    check_id(avatar_id)
    avatars_dir = Path(avatars_dir)
    folder = avatars_dir / avatar_id
    if not (folder / "avatar.json").is_file():
        if folder.is_dir():
            raise AvatarError(f"avatar '{avatar_id}' is broken: avatar.json is missing in {folder}")
        available = ", ".join(list_avatars(avatars_dir)) or "none"
        raise AvatarError(f"unknown avatar '{avatar_id}' (available: {available})")
    return folder


def read_images(paths: list[Path]) -> list[np.ndarray | None]:
    """Decode image files to BGR uint8 (None for a missing or unreadable one), in order."""
    # JPEG decoding releases the GIL: a few threads load a 75-frame avatar several times faster.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(cv2.imread, [str(p) for p in paths]))


def remove_stale_temps(folder: Path) -> None:
    """Remove temporary folders left in `folder` by a preparation that was killed long ago."""
    now = time.time()
    for p in folder.glob(_TMP_PREFIX + "*"):
        try:
            if now - p.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def avatar_size(avatar_dir: Path) -> tuple[int, int]:
    """(width, height) of the avatar in `avatar_dir`, from its avatar.json; AvatarError if unreadable."""
    try:
        meta = json.loads((Path(avatar_dir) / "avatar.json").read_text())
        return int(meta["width"]), int(meta["height"])
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise AvatarError(f"avatar '{Path(avatar_dir).name}' is broken: avatar.json is unreadable "
                          f"({e.__class__.__name__})") from None


# -- action clips: read here with their avatar, prepared by streamer.avatar.actions ---------------

def load_actions(avatar_dir: Path, size: tuple[int, int] | None = None) -> dict[str, ActionClip]:
    """All action clips of the avatar in `avatar_dir`, by name. A broken clip is logged and skipped.

    `size` (width, height) is the avatar's frame size, read from avatar.json when not given.
    """
    avatar_dir = Path(avatar_dir)
    metas = read_action_metas(avatar_dir)
    if not metas:
        return {}
    size = size or avatar_size(avatar_dir)
    paths = [avatar_dir / ACTIONS_DIR / name / "frames" / frame_name(i)
             for name, meta in metas.items() for i in range(meta["frames"])]
    images = read_images(paths)  # one pool for every clip: decoding is the slow part
    clips, start = {}, 0
    for name, meta in metas.items():
        n = meta["frames"]
        frames, start = images[start:start + n], start + n
        try:
            clips[name] = _clip(avatar_dir / ACTIONS_DIR / name, meta, frames, size)
        except AvatarError as e:
            log.warning("avatar %s: %s; skipped", avatar_dir.name, e)
    return clips


def read_action_metas(avatar_dir: Path) -> dict[str, dict]:
    """clip.json of every clip folder, by name, sorted; unreadable ones are logged and skipped."""
    root = avatar_dir / ACTIONS_DIR
    if not root.is_dir():
        return {}
    metas = {}
    for folder in sorted(root.iterdir()):
        if not ACTION_NAME.match(folder.name) or not folder.is_dir():
            continue
        try:
            meta = json.loads((folder / "clip.json").read_text())
            meta = {"frames": int(meta["frames"]), "fps": int(meta.get("fps", FPS)),
                    "loop": bool(meta.get("loop", False)), "has_audio": bool(meta.get("has_audio", False))}
        except (ValueError, KeyError, TypeError, OSError) as e:
            log.warning("avatar %s: action clip %s is broken: clip.json is missing or unreadable (%s); "
                        "skipped", avatar_dir.name, folder.name, e.__class__.__name__)
            continue
        if meta["frames"] < 1 or meta["fps"] != FPS:
            log.warning("avatar %s: action clip %s is broken: %d frames at %d fps; skipped",
                        avatar_dir.name, folder.name, meta["frames"], meta["fps"])
            continue
        metas[folder.name] = meta
    return metas


def _clip(folder: Path, meta: dict, frames: list[np.ndarray | None], size: tuple[int, int]) -> ActionClip:
    def broken(what: str) -> AvatarError:
        return AvatarError(f"action clip {folder.name} is broken: {what}")

    for i, frame in enumerate(frames):
        if frame is None:
            raise broken(f"frames/{frame_name(i)} is missing or unreadable")
        if (frame.shape[1], frame.shape[0]) != size:
            raise broken(f"frames/{frame_name(i)} is {frame.shape[1]}x{frame.shape[0]}, "
                         f"expected {size[0]}x{size[1]}")
    audio = None
    if meta["has_audio"]:
        try:
            audio = np.load(folder / "audio.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise broken(f"audio.npy is missing or unreadable ({e.__class__.__name__})") from None
        expected = (len(frames) * SAMPLES_PER_VIDEO_FRAME,)
        if audio.dtype != np.float32 or audio.shape != expected:
            raise broken(f"audio.npy is {audio.dtype} {audio.shape}, expected float32 {expected}")
    return ActionClip(name=folder.name, frames=frames, audio=audio, loop=meta["loop"])


def load_live2d(folder: Path, meta: dict) -> Avatar:
    """The Avatar of a prepared Live2D model (streamer.avatar.live2d): its rest frame for the idle canvas,
    the model the live2d engine draws each frame."""
    avatar_id = meta.get("id") or folder.name
    model = folder / str(meta.get("model", ""))
    rest = cv2.imread(str(folder / "rest.png"), cv2.IMREAD_UNCHANGED)
    if not model.is_file() or rest is None or rest.ndim != 3 or rest.shape[2] != 4:
        raise AvatarError(f"avatar '{avatar_id}' is broken: its model or rest.png is missing ({folder})")
    alpha = rest[..., 3].astype(np.float32) / 255.0
    bgr = np.ascontiguousarray(rest[..., :3])
    h, w = bgr.shape[:2]
    box = np.array([[0, 0, w, h]], np.int32)
    # its expressions and motion groups are its actions: the clock plays them for a while (the frames are
    # only a length here), the live2d engine starts them on the model and draws every frame
    actions = {name: ActionClip(name, [bgr] * round(ACTION_S * FPS), None) for name in model_actions(model)}
    return Avatar(id=avatar_id, path=folder, frames=[bgr], faces=box, mouths=box,
                  mouth_mask=np.ones((2, 2), np.float32), fps=25, actions=actions, alphas=[alpha], live2d=model)
