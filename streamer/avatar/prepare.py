"""Turn a portrait photo or a short video into an avatar folder (see streamer.avatar.store).

Memory is bounded by the source's picture size, which is read from its header and checked against
SourceLimits before anything is decoded (streamer.avatar.probe); video frames are scaled down as
they are converted, and only the last one is held."""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from streamer.avatar import face as facelib
from streamer.avatar.idle import idle_loop
from streamer.avatar.model import AvatarError, NoFaceError
from streamer.avatar.probe import SourceLimits, check_source, picture_size
from streamer.avatar.store import AvatarWriter, check_id
from streamer.frames import FPS

log = logging.getLogger("livehost.avatar")

Progress = Callable[[int, int], None]

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".jfif"}
MAX_SIDE = 1920  # larger sources are scaled down: no stream needs more
DECODER_THREADS = 4  # a frame-threaded decoder holds a frame per thread


def prepare_avatar(source: Path, avatar_id: str, avatars_dir: Path,
                   progress: Progress | None = None, max_seconds: float = 10.0,
                   limits: SourceLimits = SourceLimits()) -> Path:
    """Prepare `source` (an image or a video) as avatar `avatar_id`; returns its folder.

    A video keeps at most `max_seconds` at 25 fps; a still image becomes a 3 s idle loop.
    `progress(done, total)` is called after each frame. Raises AvatarError (SourceTooLarge, before
    decoding, when its picture is over `limits`; NoFaceError when a frame has no face) and then
    leaves nothing behind; an older avatar of that id is replaced only on success.
    """
    source = Path(source)
    check_id(avatar_id)
    if not source.is_file():
        raise AvatarError(f"source not found: {source}")
    check_source(source, limits)
    image = _read_image(source) if source.suffix.lower() in IMAGE_EXTS else None
    if image is not None:
        return prepare_image(image, avatar_id, avatars_dir, source.name, progress)
    try:
        return _prepare_video(source, avatar_id, avatars_dir, progress, max_seconds, limits)
    except _NotVideo:
        image = _read_image(source)
        if image is None:
            raise AvatarError(f"cannot read {source.name}: not a supported image or video") from None
        return prepare_image(image, avatar_id, avatars_dir, source.name, progress)


def prepare_image(image: np.ndarray, avatar_id: str, avatars_dir: Path, source: str,
                  progress: Progress | None = None) -> Path:
    """Prepare a BGR uint8 portrait (grey and BGRA are accepted too) as an avatar with a
    breathing, blinking idle loop."""
    t0 = time.perf_counter()
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise AvatarError(f"{source}: expected an 8-bit picture, got {image.dtype} {image.shape}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    image = _fit(np.ascontiguousarray(image))
    finder = facelib.FaceFinder()
    box = finder.find(image)
    if box is None:
        raise NoFaceError(source, 0)
    rel = facelib.find_mouth(image, box)
    eyes = finder.eyes(image, box)
    frames = idle_loop(image, box, eyes)
    n = len(frames)
    h, w = image.shape[:2]
    faces = np.repeat(_in_frame(box[None], w, h), n, axis=0)
    mouths = np.repeat(_in_frame(facelib.mouth_box(box, rel)[None], w, h), n, axis=0)
    with AvatarWriter(avatars_dir, avatar_id) as writer:
        for i, frame in enumerate(frames):
            writer.add_frame(frame)
            if progress:
                progress(i + 1, n)
        folder = writer.commit(faces, mouths, mouth_mask(), source=source, kind="image")
    log.info("avatar %s prepared from image %s in %.2f s", avatar_id, source, time.perf_counter() - t0)
    return folder


def mouth_mask(width: int = 128, height: int = 64) -> np.ndarray:
    """Feathered float32 mask for a mouth box: 1 over the lips, 0 at the box borders."""
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(mask, (width // 2, height // 2), (int(width * 0.36), int(height * 0.32)), 0, 0, 360,
                1.0, -1, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=width * 0.05, sigmaY=height * 0.06)
    return np.clip((mask - 0.01) / (mask.max() - 0.01), 0.0, 1.0)


class _NotVideo(Exception):
    pass


def _prepare_video(source: Path, avatar_id: str, avatars_dir: Path, progress: Progress | None,
                   max_seconds: float, limits: SourceLimits) -> Path:
    t0 = time.perf_counter()
    try:
        container = av.open(str(source), options=limits.decoder_options())
        stream = container.streams.video[0]
    except (av.FFmpegError, IndexError, UnicodeDecodeError, ValueError, OSError):
        raise _NotVideo() from None
    try:
        stream.codec_context.options = limits.decoder_options()  # frames the header did not announce
        limit = max(1, int(round(max_seconds * FPS)))
        duration = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                    else (container.duration / 1e6 if container.duration else 0.0))
        total = min(limit, int(np.ceil(duration * FPS))) if duration > 0 else limit
        frames = _decode(container, stream, limit, source.name)
        return _write_video(frames, total, source, avatar_id, avatars_dir, progress, t0)
    finally:
        container.close()


def _write_video(frames: Iterator[np.ndarray], total: int, source: Path,
                 avatar_id: str, avatars_dir: Path, progress: Progress | None, t0: float) -> Path:
    finder = facelib.FaceFinder()
    boxes: list[np.ndarray | None] = []
    rels: list[tuple[float, float, float] | None] = []
    missing = 0
    first = list(itertools.islice(frames, 2))
    if not first:
        raise AvatarError(f"cannot read {source.name}: the video has no frames")
    if len(first) == 1:  # a still that FFmpeg opened (a GIF of one frame, an odd image type)
        return prepare_image(first[0], avatar_id, avatars_dir, source.name, progress)
    with AvatarWriter(avatars_dir, avatar_id) as writer:
        for i, frame in enumerate(itertools.chain(first, frames)):
            frame = _fit(frame)
            box = finder.find(frame)
            boxes.append(box)
            rels.append(None if box is None else facelib.find_mouth(frame, box))
            missing = missing + 1 if box is None else 0
            if missing > facelib.MAX_GAP:  # fail early, naming the frame
                raise NoFaceError(source.name, i)
            writer.add_frame(frame)
            if progress:
                progress(i + 1, max(total, i + 1))
        faces = facelib.smooth_boxes(facelib.fill_gaps(boxes, source.name))
        rel = facelib.smooth(facelib.fill_gaps([None if r is None else np.array(r) for r in rels],
                                               source.name), 2.0, median=15)
        mouths = np.stack([facelib.mouth_box(f, r) for f, r in zip(faces, rel)])
        w, h = writer.size
        folder = writer.commit(_in_frame(faces, w, h), _in_frame(mouths, w, h), mouth_mask(),
                               source=source.name, kind="video")
    if progress:
        progress(len(boxes), len(boxes))
    log.info("avatar %s prepared from video %s: %d frames in %.2f s", avatar_id, source.name,
             len(boxes), time.perf_counter() - t0)
    return folder


def _decode(container, stream, limit: int, name: str) -> Iterator[np.ndarray]:
    """BGR frames of `stream` resampled to 25 fps (the last frame shown at each 40 ms tick), at
    most MAX_SIDE pixels a side: each is scaled down as it is converted from the decoder's."""
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = DECODER_THREADS
    k, t0, held = 0, None, None  # next output index, first timestamp, last decoded frame
    try:
        for frame in container.decode(stream):
            t = frame.time if frame.time is not None else (0.0 if t0 is None else None)
            if t is None:
                continue
            t0 = t if t0 is None else t0
            # The held frame covers every output time before this frame's time.
            while held is not None and k < limit and k / FPS < (t - t0) - 1e-3:
                yield held
                k += 1
            if k >= limit:
                return
            width, height = fitted_size(frame.width, frame.height)
            held = upright(frame.to_ndarray(format="bgr24", width=width, height=height, interpolation="AREA"),
                           frame.rotation)
        if held is not None and k < limit:
            yield held
    except av.FFmpegError as e:
        if k == 0:
            raise AvatarError(f"cannot read {name}: not a supported image or video "
                              f"({e.__class__.__name__})") from None
        log.warning("video %s: decoding stopped at frame %d (%s)", name, k, e)


def _in_frame(boxes: np.ndarray, w: int, h: int) -> np.ndarray:
    """Boxes rounded to whole pixels and clipped to a w x h frame."""
    return np.clip(np.round(boxes), 0, [w, h, w, h]).astype(np.int32)


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """`image` turned upright by a video's display rotation (degrees counter-clockwise, as phones
    record)."""
    turn = int(round((rotation or 0) / 90.0)) % 4
    if turn == 0:
        return image
    turns = (cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE)
    return cv2.rotate(image, turns[turn - 1])


def _read_image(path: Path) -> np.ndarray | None:
    """The picture in `path` as BGR, or None when it is not one: only a picture whose size its
    header gave (and check_source allowed) is decoded."""
    if picture_size(path) is None:
        return None
    data = np.fromfile(str(path), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def fitted_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) scaled down to at most MAX_SIDE a side, keeping the aspect ratio."""
    scale = MAX_SIDE / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _fit(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    size = fitted_size(w, h)
    if size == (w, h):
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
