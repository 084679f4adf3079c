"""Live2D avatars: a Cubism model (a folder or zip holding a Cubism 3/4 `*.model3.json` or a
Cubism 2 `model.json` / `*.model.json`, with its textures, motions and expressions) checked and
kept as an avatar, rendered each frame by the live2d lipsync engine.

    <avatars_dir>/<id>/avatar.json   {"kind": "live2d", "model": "model/<its json>", ...}
    <avatars_dir>/<id>/model/        the model's files
    <avatars_dir>/<id>/rest.png      the model at rest (RGBA): the idle frame
    <avatars_dir>/<id>/thumbnail.jpg the same on a light background, for the dashboard

Checked before anything is kept: one model file, every file it names inside the model's folder
and present, textures that decode within MAX_TEXTURE_SIDE, a zip without paths that leave it and
within MAX_UNPACKED bytes.
"""
from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import cv2
from PIL import Image

from streamer.avatar.model import AvatarError
from streamer.avatar.store import FORMAT_VERSION, check_id, replace_folder

MAX_UNPACKED = 200_000_000  # bytes of a model's files
MAX_FILES = 2000
MAX_TEXTURE_SIDE = 8192
THUMBNAIL = "thumbnail.jpg"
THUMBNAIL_BACKGROUND = 236  # grey level behind the model in its thumbnail
SIZE = (540, 960)  # the frame it is drawn at: a standing host in a vertical live (scaled up to 720x1280: the Cubism 2 runtime is Python, its cost grows with pixels)


def is_live2d(source: Path) -> bool:
    """Whether `source` (a folder or a zip) holds a Live2D model file."""
    source = Path(source)
    if source.is_dir():
        return any(_is_model_json(p.name) for p in source.rglob("*.json"))
    try:
        with zipfile.ZipFile(source) as z:
            return any(_is_model_json(PurePosixPath(n).name) for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _is_model_json(name: str) -> bool:
    return name.endswith(".model3.json") or name == "model.json" or name.endswith(".model.json")


def prepare_live2d(source: Path, avatar_id: str, avatars_dir: Path, size: tuple[int, int] = SIZE) -> Path:
    """Check the model in `source` (folder or zip) and keep it as avatar `avatar_id`; its folder.
    Raises AvatarError saying what is wrong; nothing is left behind then."""
    check_id(avatar_id)
    source = Path(source)
    final = Path(avatars_dir) / avatar_id
    tmp = final.parent / f".tmp-{avatar_id}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        model_dir = tmp / "model"
        if source.is_dir():
            _copy_folder(source, model_dir)
        elif zipfile.is_zipfile(source):
            _unzip(source, model_dir)
        else:
            raise AvatarError(f"{source.name} is neither a folder nor a zip holding a Live2D model")
        model_file = _find_model(model_dir)
        _check_model(model_file)
        from streamer.lipsync.base import LipsyncError
        from streamer.lipsync.live2d import render_still, straight_bgr

        try:
            rgba = render_still(model_file, *size)
        except LipsyncError as e:
            raise AvatarError(str(e)) from None
        if not rgba[..., 3].any():
            raise AvatarError(f"the Live2D model {model_file.name} renders nothing (empty or off screen)")
        bgr, alpha = straight_bgr(rgba)
        bgra = cv2.merge([*cv2.split(bgr), rgba[..., 3]])
        cv2.imwrite(str(tmp / "rest.png"), bgra)
        thumbnail = bgr * alpha[..., None] + THUMBNAIL_BACKGROUND * (1 - alpha[..., None])
        cv2.imwrite(str(tmp / THUMBNAIL), thumbnail.round().astype("uint8"), [cv2.IMWRITE_JPEG_QUALITY, 90])
        meta = {"id": avatar_id, "format": FORMAT_VERSION, "kind": "live2d", "width": size[0], "height": size[1],
                "frames": 1, "fps": 25, "model": model_file.relative_to(tmp).as_posix(), "source": source.name,
                "created": datetime.now(timezone.utc).isoformat()}
        (tmp / "avatar.json").write_text(json.dumps(meta, indent=1))
        return replace_folder(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _copy_folder(source: Path, to: Path) -> None:
    files = [p for p in source.rglob("*") if p.is_file()]
    if len(files) > MAX_FILES or sum(p.stat().st_size for p in files) > MAX_UNPACKED:
        raise AvatarError(f"the model folder holds more than {MAX_FILES} files or {MAX_UNPACKED // 1_000_000} MB")
    shutil.copytree(source, to, symlinks=False)


def _unzip(source: Path, to: Path) -> None:
    try:
        _unzip_checked(source, to)
    # NotImplementedError: a compression method zipfile cannot read; EOFError: a truncated member
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
        raise AvatarError(f"{source.name} is not a zip that can be read: {e}") from None


def _unzip_checked(source: Path, to: Path) -> None:
    with zipfile.ZipFile(source) as z:
        entries = [i for i in z.infolist() if not i.is_dir()]
        if len(entries) > MAX_FILES:
            raise AvatarError(f"the zip holds {len(entries)} files; a model may have {MAX_FILES}")
        total = 0
        for info in entries:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or info.filename.startswith(("/", "\\")):
                raise AvatarError(f"the zip holds a path outside it ({info.filename}): refused")
            total += info.file_size
            if total > MAX_UNPACKED:
                raise AvatarError(f"the zip unpacks to more than {MAX_UNPACKED // 1_000_000} MB")
        to.mkdir(parents=True, exist_ok=True)
        for info in entries:
            target = to / PurePosixPath(info.filename.replace("\\", "/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            if target.stat().st_size != info.file_size:
                raise AvatarError(f"{info.filename} in the zip is not the size its header says: refused")


def _find_model(folder: Path) -> Path:
    found = sorted((p for p in folder.rglob("*.json") if _is_model_json(p.name)), key=lambda p: len(p.parts))
    if not found:
        raise AvatarError("no Live2D model file in it: give a Cubism 3/4 *.model3.json or a Cubism 2 model.json "
                          "with its textures")
    return found[0]


def _check_model(model_file: Path) -> None:
    """Every file the model names exists inside its folder; textures decode and are not too large."""
    home = model_file.parent.resolve()
    try:
        setting = json.loads(model_file.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as e:
        raise AvatarError(f"{model_file.name} is not readable JSON: {e}") from None
    if not isinstance(setting, dict):
        raise AvatarError(f"{model_file.name} is not a Live2D model setting")
    if model_file.name.endswith(".model3.json"):
        refs = setting.get("FileReferences") or {}
        moc, textures = refs.get("Moc"), refs.get("Textures") or []
        others = [refs.get("Physics"), refs.get("Pose"), refs.get("DisplayInfo")]
        others += [e.get("File") for e in refs.get("Expressions") or [] if isinstance(e, dict)]
        others += [m.get("File") for group in (refs.get("Motions") or {}).values() if isinstance(group, list)
                   for m in group if isinstance(m, dict)]
    else:
        moc, textures = setting.get("model"), setting.get("textures") or []
        others = [setting.get("physics"), setting.get("pose")]
        others += [e.get("file") for e in setting.get("expressions") or [] if isinstance(e, dict)]
        others += [m.get("file") for group in (setting.get("motions") or {}).values() if isinstance(group, list)
                   for m in group if isinstance(m, dict)]
    if not isinstance(moc, str) or not moc:
        raise AvatarError(f"{model_file.name} names no model (.moc/.moc3) file")
    if not isinstance(textures, list) or not textures:
        raise AvatarError(f"{model_file.name} names no texture")

    def inside(ref: str) -> Path:
        path = (home / ref).resolve()
        if home not in path.parents:
            raise AvatarError(f"{model_file.name} names {ref}, outside the model's folder: refused")
        if not path.is_file():
            raise AvatarError(f"{model_file.name} names {ref}, which is missing")
        return path

    inside(moc)
    for ref in [r for r in others if isinstance(r, str) and r]:
        inside(ref)
    for ref in textures:
        if not isinstance(ref, str):
            raise AvatarError(f"{model_file.name} has a texture entry that is not a file name")
        path = inside(ref)
        try:
            with Image.open(path) as image:
                w, h = image.size
                if max(w, h) > MAX_TEXTURE_SIDE:
                    raise AvatarError(f"texture {ref} is too large: {w}x{h}, over {MAX_TEXTURE_SIDE} pixels a side")
                image.verify()
        except AvatarError:
            raise
        except Image.DecompressionBombError:
            raise AvatarError(f"texture {ref} is too large: over {MAX_TEXTURE_SIDE} pixels a side") from None
        except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken picture
            raise AvatarError(f"texture {ref} is not a picture that can be read") from None
