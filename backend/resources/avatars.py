"""Avatars: upload a portrait, a short video or a Live2D model (a zip); it is prepared in a background
thread (a photo's face boxes, mouth boxes and idle loop; a model checked and drawn at rest) into
`avatars_dir/<slug>/`, reporting progress in the database."""
from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path

from flask import Blueprint, current_app, send_file
from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename

from backend import audit
from backend.api import ANYONE, OPERATE, Out, Page, PageQuery, get_or_404, multipart_form, paginate, route
from backend.db import db
from backend.errors import REASONS, ApiError
from backend.resources.usage import delete_or_archive
from backend.settings import ApiSettings
from db.database import Database
from db.models import Avatar
from streamer.avatar.actions import list_actions
from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.live2d import THUMBNAIL, is_live2d, prepare_live2d
from streamer.avatar.model import AvatarError
from streamer.avatar.prepare import IMAGE_EXTS, prepare_avatar
from streamer.avatar.probe import SourceLimits, SourceTooLarge, check_source
from streamer.avatar.store import check_id

log = logging.getLogger("livehost.api")

bp = Blueprint("avatars", __name__, url_prefix="/api/avatars")

VIDEO_EXTS = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".flv", ".gif"}
MODEL_EXTS = {".zip"}  # a Live2D model: its model json with textures, motions and expressions
DEFAULT_SLUG = "default"  # streamer.avatar.default.DEFAULT_ID, reserved for the embedded avatar
PROGRESS_EVERY_S = 0.25  # at most four progress writes a second per preparation


class AvatarOut(Out):
    id: int
    slug: str = Field(description="folder name under avatars/, the id a worker loads")
    name: str
    kind: str = Field(description="photo (an image or a video of a face) or live2d (a Live2D model)")
    status: str = Field(description="preparing, ready or failed")
    progress: float = Field(description="0..1")
    error: str | None
    source: str = Field(description="the uploaded file's name")
    frames: int
    actions: list[str] = Field(default_factory=list, description="its action clips (for `action` commands)")
    created_at: datetime

    @classmethod
    def of(cls, a: Avatar) -> "AvatarOut":
        kind = "live2d" if Path(a.source).suffix.lower() in MODEL_EXTS else "photo"
        return cls(id=a.id, slug=a.slug, name=a.name, kind=kind, status=a.status, progress=a.progress,
                   error=a.error, source=Path(a.source).name, frames=a.frames, actions=clip_names(a),
                   created_at=a.created_at)


def clip_names(a: Avatar) -> list[str]:
    if a.status != "ready":
        return []
    try:
        return sorted(c["name"] for c in list_actions(current_app.config["LIVEHOST"].avatars_dir, a.slug))
    except (AvatarError, OSError, KeyError, ValueError):
        return []


def make_slug(s, name: str, avatars_dir: Path) -> str:
    """A valid avatar id from `name`, not taken by a row, a folder or the default avatar."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9_-]+", "-", ascii_name).strip("-_")[:32].strip("-_") or "avatar"
    taken = set(s.scalars(select(Avatar.slug).where(Avatar.slug.like(f"{base}%"))))
    slug, n = base, 1
    while slug in taken or slug == DEFAULT_SLUG or (avatars_dir / slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return check_id(slug)


def _form_name(form) -> str:
    name = (form.get("name") or "").strip()
    if not 1 <= len(name) <= 100:
        message = "name is required" if not name else "name must be at most 100 characters"
        raise ApiError(422, "invalid", message, {"name": message})
    return name


def _file_ext(upload) -> str:
    """The uploaded file's extension, one an avatar can be prepared from."""
    if upload is None or not upload.filename:
        message = "file is required: a portrait image, a short video of one face or a Live2D model (.zip)"
        raise ApiError(422, "invalid", message, {"file": message})
    ext = Path(upload.filename).suffix.lower()
    if ext not in IMAGE_EXTS | VIDEO_EXTS | MODEL_EXTS:
        message = (f"unsupported file type '{ext or upload.filename}'; use an image "
                   f"({', '.join(sorted(IMAGE_EXTS))}), a video ({', '.join(sorted(VIDEO_EXTS))}) "
                   "or a Live2D model in a .zip")
        raise ApiError(422, "invalid", message, {"file": message})
    return ext


@route(bp, "GET", "", roles=ANYONE, query=PageQuery, response=Page[AvatarOut])
def list_avatars(query: PageQuery):
    """All avatars, with their preparation status."""
    return paginate(db(), select(Avatar).where(Avatar.archived_at.is_(None)).order_by(Avatar.id), query, AvatarOut.of)


@route(bp, "GET", "/<int:avatar_id>", roles=ANYONE, response=AvatarOut)
def get_avatar(avatar_id: int):
    """One avatar; poll it to follow a preparation."""
    return AvatarOut.of(get_or_404(db(), Avatar, avatar_id, "avatar"))


@route(bp, "GET", "/<int:avatar_id>/thumbnail", roles=ANYONE, media="image/jpeg",
       errors={404: "no such avatar, or it is not prepared yet"})
def avatar_thumbnail(avatar_id: int):
    """The avatar's first frame as a JPEG (a Live2D model's: drawn at rest)."""
    avatar = get_or_404(db(), Avatar, avatar_id, "avatar")
    folder = current_app.config["LIVEHOST"].avatars_dir / avatar.slug
    path = folder / THUMBNAIL if (folder / THUMBNAIL).is_file() else folder / "frames" / "000000.jpg"
    if avatar.status != "ready" or not path.is_file():
        raise ApiError(404, "not_found", f"avatar {avatar_id} has no thumbnail yet (status: {avatar.status})")
    response = send_file(path, mimetype="image/jpeg", max_age=300)
    response.headers["Cache-Control"] = "private, max-age=300"  # for signed-in users only: no shared cache
    return response


@route(bp, "POST", "", roles=OPERATE, multipart=True, response=AvatarOut, status=201,
       errors={503: "the upload could not be stored (disk full)"})
def upload_avatar():
    """Upload a portrait, a short video or a Live2D model zip (multipart: file, name); preparation
    starts at once."""
    settings: ApiSettings = current_app.config["LIVEHOST"]
    upload, form = multipart_form("fields file and name")
    name = _form_name(form)
    ext = _file_ext(upload)
    s = db()
    slug = make_slug(s, name, settings.avatars_dir)
    stem = secure_filename(Path(upload.filename).stem)[:80] or slug
    relative = Path("uploads") / uuid.uuid4().hex[:12] / f"{stem}{ext}"
    path = settings.var_dir / relative
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        upload.save(path)
    except OSError as e:
        log.error("cannot store upload %s: %s", path, e)
        raise ApiError(503, "unavailable", f"the upload could not be stored: {e.strerror or e}") from None
    if path.stat().st_size == 0:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise ApiError(422, "invalid", "file is empty", {"file": "file is empty"})
    if ext in MODEL_EXTS:
        if not is_live2d(path):  # the names in the zip's directory only; the model is checked while preparing
            shutil.rmtree(path.parent, ignore_errors=True)
            params = {"file": Path(upload.filename).name}
            message = REASONS["no_model_in_zip"].format(**params)
            raise ApiError(422, "invalid", message, {"file": message},
                           field_reasons={"file": {"reason": "no_model_in_zip", "params": params}})
    else:
        try:
            check_source(path, source_limits(settings))  # from the header: nothing is decoded here
        except SourceTooLarge as e:
            shutil.rmtree(path.parent, ignore_errors=True)
            mp = e.limits.max_pixels / 1e6
            params = {"file": Path(upload.filename).name, "width": e.size[0], "height": e.size[1],
                      "max_side": e.limits.max_side, "megapixels": int(mp) if mp.is_integer() else round(mp, 1)}
            message = REASONS["source_too_large"].format(**params)
            raise ApiError(422, "invalid", message, {"file": message},
                           field_reasons={"file": {"reason": "source_too_large", "params": params}}) from None
    avatar = Avatar(slug=slug, name=name, status="preparing", progress=0.0, source=relative.as_posix())
    s.add(avatar)
    try:
        s.flush()
    except IntegrityError:  # the same slug taken a moment ago by a parallel upload
        s.rollback()
        shutil.rmtree(path.parent, ignore_errors=True)
        raise ApiError(409, "conflict", "another avatar of that name is being created; try again") from None
    audit.record("avatar.create", f"avatar:{avatar.id}", name=name, slug=slug, source=path.name)
    s.commit()
    start_preparation(current_app.extensions["livehost.db"], settings, avatar.id, slug, path)
    return AvatarOut.of(avatar)


@route(bp, "POST", "/default", roles=OPERATE, response=AvatarOut,
       errors={503: "the default avatar could not be built"})
def add_default_avatar():
    """Build the embedded default avatar and list it (idempotent: the same row every time)."""
    settings: ApiSettings = current_app.config["LIVEHOST"]
    try:
        folder = ensure_default_avatar(settings.avatars_dir)
    except AvatarError as e:
        raise ApiError(503, "unavailable", f"the default avatar could not be built: {e}") from None
    s = db()
    avatar = s.scalar(select(Avatar).where(Avatar.slug == DEFAULT_SLUG))
    if avatar is None:
        avatar = Avatar(slug=DEFAULT_SLUG, name="Default (astronaut)", source="skimage.data.astronaut")
        s.add(avatar)
    changed = avatar.id is None or (avatar.status, avatar.progress) != ("ready", 1.0) or avatar.archived_at
    avatar.status, avatar.progress, avatar.error, avatar.archived_at = "ready", 1.0, None, None
    avatar.frames = _frame_count(folder)
    try:
        if changed:
            s.flush()
            audit.record("avatar.default", f"avatar:{avatar.id}", slug=DEFAULT_SLUG)
        s.commit()
    except IntegrityError:  # registered by a parallel request a moment ago
        s.rollback()
        avatar = s.scalar(select(Avatar).where(Avatar.slug == DEFAULT_SLUG))
    return AvatarOut.of(avatar)


@route(bp, "DELETE", "/<int:avatar_id>", roles=OPERATE)
def delete_avatar(avatar_id: int):
    """Delete an avatar and its files (409 while a schedule or session uses it, or while preparing)."""
    settings: ApiSettings = current_app.config["LIVEHOST"]
    s = db()
    avatar = get_or_404(s, Avatar, avatar_id, "avatar")
    job = current_app.extensions.get("livehost.avatar_jobs", {}).get(avatar.id)
    if job is not None and job.is_alive():
        raise ApiError.because(409, "conflict", "avatar_preparing", id=avatar.id)
    audit.record("avatar.delete", f"avatar:{avatar.id}", name=avatar.name, slug=avatar.slug)
    slug, source = avatar.slug, avatar.source
    delete_or_archive(s, avatar, "avatar", "avatar_id")
    if slug != DEFAULT_SLUG:  # the default folder is shared with the demo; it is rebuilt cheaply anyway
        shutil.rmtree(settings.avatars_dir / slug, ignore_errors=True)
    if source.startswith("uploads/"):
        shutil.rmtree((settings.var_dir / source).parent, ignore_errors=True)


# --- background preparation -----------------------------------------------------------------

def start_preparation(database: Database, settings: ApiSettings, avatar_id: int, slug: str,
                      source: Path) -> threading.Thread:
    """Prepare `source` as avatar `slug` on a named daemon thread that writes progress to row `avatar_id`."""
    jobs = current_app.extensions.setdefault("livehost.avatar_jobs", {})
    thread = threading.Thread(target=_prepare, args=(database, settings, avatar_id, slug, source, jobs),
                              name=f"avatar-prepare-{avatar_id}", daemon=True)
    jobs[avatar_id] = thread
    thread.start()
    return thread


def _prepare(database: Database, settings: ApiSettings, avatar_id: int, slug: str, source: Path,
             jobs: dict) -> None:
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            _set(database, avatar_id, progress=min(0.99, done / max(total, 1)))

    try:
        if source.suffix.lower() in MODEL_EXTS and is_live2d(source):
            folder = prepare_live2d(source, slug, settings.avatars_dir)
        else:
            folder = prepare_avatar(source, slug, settings.avatars_dir, progress=progress,
                                    limits=source_limits(settings))
        frames = _frame_count(folder)
        if not _set(database, avatar_id, status="ready", progress=1.0, error=None, frames=frames):
            log.info("avatar %d was deleted while being prepared; removing %s", avatar_id, folder)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log.info("avatar %d (%s) ready", avatar_id, slug)
    except AvatarError as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        log.warning("avatar %d (%s) failed: %s", avatar_id, slug, message)
        _set(database, avatar_id, status="failed", error=message)
    except Exception:  # noqa: BLE001 - the row must not stay 'preparing' for ever
        log.exception("avatar %d (%s): preparation failed unexpectedly", avatar_id, slug)
        _set(database, avatar_id, status="failed",
             error="preparation failed unexpectedly; see the server log")
    finally:
        jobs.pop(avatar_id, None)


def source_limits(settings: ApiSettings) -> SourceLimits:
    return SourceLimits(max_side=settings.max_source_side, max_pixels=settings.max_source_pixels)


def _set(database: Database, avatar_id: int, **values) -> bool:
    """Update the avatar row in a session of its own; False when the row is gone."""
    try:
        with database.sessions() as s:
            count = s.execute(update(Avatar).where(Avatar.id == avatar_id).values(**values)).rowcount
            s.commit()
            return count > 0
    except Exception:  # noqa: BLE001 - a lost progress update must not end the preparation
        log.exception("avatar %d: could not record %s", avatar_id, sorted(values))
        return True


def _frame_count(folder: Path) -> int:
    return int(json.loads((folder / "avatar.json").read_text())["frames"])
