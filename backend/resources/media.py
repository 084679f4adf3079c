"""The media library: pictures (backgrounds, logos), videos (moving backgrounds) and sounds
(background music) that rooms' scenes name by id (backend.resources.scene).

A file's kind is read from its content, never from its name: Pillow reads a picture's header and
OpenCV decodes it; PyAV (FFmpeg) opens a video or a sound and decodes its first frame. Anything
else is refused with 422. Files are kept under var/media/; one a room's scene uses cannot be deleted
(409 in_use)."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from pathlib import Path
from typing import Literal

import av
import cv2
from flask import Blueprint, current_app, send_file
from PIL import Image
from pydantic import Field
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Out, Page, PageQuery, get_or_404, multipart_form, paginate, route
from backend.db import db
from backend.errors import ApiError
from db.media import media_ids, media_path
from db.models import Media, Room

log = logging.getLogger("livehost.api")
bp = Blueprint("media", __name__, url_prefix="/api/media")

MAX_MEDIA_BYTES = 100_000_000
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_PIXELS = 40_000_000
MediaKind = Literal["image", "video", "audio"]
# Pillow's name of a picture format -> (media type, extension)
IMAGES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
# FFmpeg's names of a container -> (media type of a video, of a sound, extension); the first that matches
CONTAINERS = [({"mp4", "mov", "m4a"}, "video/mp4", "audio/mp4", ".mp4"),
              ({"webm", "matroska"}, "video/webm", "audio/webm", ".webm"),
              ({"gif"}, "image/gif", None, ".gif"), ({"avi"}, "video/x-msvideo", None, ".avi"),
              ({"flv"}, "video/x-flv", None, ".flv"), ({"mpegts"}, "video/mp2t", None, ".ts"),
              ({"mp3"}, None, "audio/mpeg", ".mp3"), ({"ogg"}, None, "audio/ogg", ".ogg"),
              ({"wav"}, None, "audio/wav", ".wav"), ({"flac"}, None, "audio/flac", ".flac"),
              ({"aac"}, None, "audio/aac", ".aac")]
WHAT = "a picture (JPEG, PNG, WebP), a video (MP4, WebM, MOV, GIF...) or a sound (MP3, M4A, OGG, WAV, FLAC)"


class MediaQuery(PageQuery):
    kind: MediaKind | None = Field(None, description="only media of this kind")


class MediaOut(Out):
    id: int
    name: str
    kind: str = Field(description="image, video or audio: read from the file's content")
    content_type: str
    size: int = Field(description="bytes")
    duration: float | None = Field(description="seconds, for a video or a sound")
    width: int | None = Field(description="pixels, for a picture or a video")
    height: int | None
    url: str = Field(description="the file (GET, signed in)")
    created_at: datetime

    @classmethod
    def of(cls, m: Media) -> "MediaOut":
        return cls(id=m.id, name=m.name, kind=m.kind, content_type=m.content_type, size=m.size,
                   duration=m.duration, width=m.width, height=m.height, url=f"/api/media/{m.id}/file",
                   created_at=m.created_at)


def _invalid_file(message: str) -> ApiError:
    return ApiError(422, "invalid", f"file: {message}", {"file": message})


def probe(path: Path) -> dict:
    """{kind, content_type, ext, duration, width, height} of the file at `path`, from its content;
    422 for anything that is not a picture, a video or a sound that decodes."""
    try:
        with Image.open(path) as header:  # the header only
            fmt, (width, height) = header.format, header.size
    except Image.DecompressionBombError:
        raise _invalid_file(f"the picture is far too large; the limit is {MAX_IMAGE_SIDE} pixels a side") from None
    except Exception:  # noqa: BLE001 - not a picture Pillow knows: perhaps a video or a sound
        fmt, width, height = None, 0, 0
    if fmt in IMAGES:
        if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
            raise _invalid_file(f"the picture is {width}x{height} pixels; the limit is {MAX_IMAGE_SIDE} pixels a "
                                f"side and {MAX_IMAGE_PIXELS / 1e6:g} megapixels")
        if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
            raise _invalid_file(f"the {fmt} picture cannot be decoded (damaged or cut short?)")
        return {"kind": "image", "content_type": IMAGES[fmt][0], "ext": IMAGES[fmt][1], "duration": None,
                "width": width, "height": height}
    video, audio, frame, names = [], [], None, set()
    try:
        with av.open(str(path)) as container:
            names = set(container.format.name.split(","))
            video = [s for s in container.streams.video
                     if not s.disposition & av.stream.Disposition.attached_pic]  # an MP3's cover is no video
            audio = list(container.streams.audio)
            duration = container.duration / 1e6 if container.duration else None
            stream = video[0] if video else audio[0] if audio else None
            frame = next(container.decode(stream), None) if stream is not None else None
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        frame = None
    kind = "video" if video and frame is not None else "audio" if audio and frame is not None else None
    for formats, video_type, audio_type, ext in CONTAINERS:
        content_type = video_type if kind == "video" else audio_type
        if names & formats and content_type:
            break
    else:
        kind = None
    if kind is None:
        raise _invalid_file(f"not {WHAT}, or it cannot be decoded")
    if kind == "video" and max(frame.width, frame.height) > MAX_IMAGE_SIDE:
        raise _invalid_file(f"the video is {frame.width}x{frame.height}; the limit is {MAX_IMAGE_SIDE} pixels a side")
    return {"kind": kind, "content_type": content_type, "ext": ext, "duration": duration,
            "width": frame.width if kind == "video" else None, "height": frame.height if kind == "video" else None}


def media_dir() -> Path:
    return current_app.config["LIVEHOST"].var_dir / "media"


def rooms_using(s, media_id: int) -> list[int]:
    """The rooms (not archived) whose scene names media `media_id`."""
    rows = s.execute(select(Room.id, Room.settings).where(Room.archived_at.is_(None)))
    return [room_id for room_id, settings in rows
            if any(ident == media_id for _, ident, _ in media_ids((settings or {}).get("scene") or {}))]


UPLOAD_FORM = {"file": {"type": "string", "format": "binary",
                        "description": f"{WHAT}, at most {MAX_MEDIA_BYTES / 1e6:g} MB"},
               "name": {"type": "string", "maxLength": 100, "description": "its name in the library; "
                                                                             "default: the file's name"}}


@route(bp, "GET", "", roles=ANYONE, query=MediaQuery, response=Page[MediaOut])
def list_media(query: MediaQuery):
    """The media library, newest first; kind: only pictures, videos or sounds."""
    stmt = select(Media)
    if query.kind:
        stmt = stmt.where(Media.kind == query.kind)
    return paginate(db(), stmt.order_by(Media.id.desc()), query, MediaOut.of)


@route(bp, "GET", "/<int:media_id>", roles=ANYONE, response=MediaOut)
def get_media(media_id: int):
    """One file of the library."""
    return MediaOut.of(get_or_404(db(), Media, media_id, "media"))


@route(bp, "POST", "", roles=OPERATE, multipart=True, form=UPLOAD_FORM, response=MediaOut, status=201,
       errors={413: "the file is too large", 503: "the file could not be stored (disk full)"})
def upload_media():
    """Add a picture, a video or a sound (multipart: file, and name); its kind is read from it."""
    upload, form = multipart_form("the field file")
    name = (form.get("name") or "").strip()
    if upload is None:
        raise _invalid_file(f"file is required: {WHAT}")
    name = name or Path(upload.filename or "").stem.strip() or "media"
    if len(name) > 100:
        raise ApiError(422, "invalid", "name: at most 100 characters", {"name": "at most 100 characters"})
    folder = media_dir()
    path = folder / f"upload-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        size = _save(upload.stream, path)
        if size == 0:
            raise _invalid_file("file is empty")
        found = probe(path)
        final = path.with_name(f"{uuid.uuid4().hex[:16]}{found['ext']}")
        path.rename(final)
    except OSError as e:
        path.unlink(missing_ok=True)
        log.error("cannot store a media upload: %s", e)
        raise ApiError(503, "unavailable", f"the file could not be stored: {e.strerror or e}") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    s = db()
    media = Media(name=name, kind=found["kind"], content_type=found["content_type"], file=final.name, size=size,
                  duration=found["duration"], width=found["width"], height=found["height"])
    s.add(media)
    s.flush()
    audit.record("media.create", f"media:{media.id}", name=name, kind=media.kind, bytes=size)
    s.commit()
    return MediaOut.of(media)


def _save(stream, path: Path) -> int:
    """Copy the upload to `path`; 413 past MAX_MEDIA_BYTES."""
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > MAX_MEDIA_BYTES:
                raise ApiError(413, "too_large", f"a media file is limited to {MAX_MEDIA_BYTES / 1e6:g} MB")
            out.write(chunk)
    return size


@route(bp, "GET", "/<int:media_id>/file", roles=ANYONE, media=("image/*", "video/*", "audio/*"),
       errors={404: "no such media, or its file is gone"})
def media_file(media_id: int):
    """The file, as uploaded (ranges served: a video or a sound can be played from anywhere)."""
    media = get_or_404(db(), Media, media_id, "media")
    path = media_path(current_app.config["LIVEHOST"].var_dir, media)
    if not path.is_file():
        raise ApiError(404, "not_found", f"the file of media {media_id} is gone")
    response = send_file(path, mimetype=media.content_type, conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, max-age=3600"  # a file never changes under its id
    return response


@route(bp, "DELETE", "/<int:media_id>", roles=OPERATE, errors={409: "a room's scene uses it"})
def delete_media(media_id: int):
    """Delete a file of the library: 409 while a room's scene uses it."""
    s = db()
    media = get_or_404(s, Media, media_id, "media")
    rooms = rooms_using(s, media.id)
    if rooms:
        raise ApiError.because(409, "conflict", "in_use", what="media", id=media_id,
                               users=", ".join(f"room {i}" for i in rooms[:10]), rooms=rooms[:10])
    audit.record("media.delete", f"media:{media.id}", name=media.name)
    path = media_path(current_app.config["LIVEHOST"].var_dir, media)
    s.delete(media)
    s.commit()
    path.unlink(missing_ok=True)
