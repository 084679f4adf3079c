"""Action clips: short videos an avatar plays on command (wave, greet, show a product), then idles.

A clip lives inside its avatar's folder, in `actions/<name>/`:

    clip.json          {"name", "frames", "fps": 25, "loop", "has_audio", "source", "created"}
    frames/000000.jpg ...   BGR frames at the avatar's frame size, JPEG like the avatar's frames
    audio.npy          float32 mono 16 kHz, exactly frames * 640 samples (only if it has audio)

Like an avatar, a clip is written under a temporary name and renamed into place when complete:
a failed preparation leaves nothing behind, and an older clip of that name stays until then.
This module prepares, lists and removes clips; streamer.avatar.store reads them back with their avatar.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import av
import cv2
import numpy as np

from streamer.avatar.cubism import ACTION_S, model_actions
from streamer.avatar.model import AvatarError
from streamer.avatar.prepare import DECODER_THREADS, Progress, upright
from streamer.avatar.probe import SourceLimits, check_source
from streamer.avatar.store import (
    ACTION_NAME,
    ACTIONS_DIR,
    JPEG_QUALITY,
    avatar_folder,
    avatar_size,
    frame_name,
    read_action_metas,
    remove_stale_temps,
    replace_folder,
)
from streamer.frames import FPS, SAMPLE_RATE, SAMPLES_PER_VIDEO_FRAME

log = logging.getLogger("livehost.avatar")

_TMP_PREFIX = ".tmp-"


def check_name(name: str) -> str:
    """Return `name` if it is a valid clip name (letters, digits, _ and -; 1-40 chars)."""
    if not isinstance(name, str) or not ACTION_NAME.match(name):
        raise AvatarError(f"invalid action clip name {name!r}: use 1-40 of A-Z, a-z, 0-9, '_' and '-'")
    return name


def prepare_action(avatars_dir: Path, avatar_id: str, name: str, source: Path, loop: bool = False,
                   progress: Progress | None = None, max_seconds: float = 60.0,
                   limits: SourceLimits = SourceLimits()) -> Path:
    """Prepare video `source` as action clip `name` of avatar `avatar_id`; returns the clip folder.

    The video is resampled to 25 fps and fitted to the avatar's frame size (scaled to cover it,
    centre-cropped); its audio, if any, becomes 16 kHz mono float32. Only the first `max_seconds`
    are kept (with a warning). `progress(done, total)` is called after each frame. Raises
    AvatarError (SourceTooLarge, before decoding, when its picture is over `limits`) and then
    leaves nothing behind; an older clip of that name is replaced only on
    success.
    """
    t0 = time.perf_counter()
    check_name(name)
    folder = avatar_folder(avatars_dir, avatar_id)
    model = live2d_model(folder)
    if model is not None:
        raise AvatarError(f"avatar '{avatar_id}' is a Live2D model: its actions are the model's expressions and "
                          f"motions ({', '.join(model_actions(model)) or 'none'}); video clips cannot be added to it")
    size = avatar_size(folder)
    source = Path(source)
    if not source.is_file():
        raise AvatarError(f"source not found: {source}")
    if not max_seconds > 0:
        raise AvatarError(f"max_seconds must be a positive number of seconds, not {max_seconds}")
    check_source(source, limits)  # SourceTooLarge before anything is decoded
    try:
        container = av.open(str(source), options=limits.decoder_options())
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as e:
        raise AvatarError(f"cannot read {source.name}: not a supported video ({e.__class__.__name__})") from None
    try:
        if not container.streams.video:
            raise AvatarError(f"cannot use {source.name}: it has no video stream")
        container.streams.video[0].codec_context.options = limits.decoder_options()
        limit = max(1, int(round(max_seconds * FPS)))
        total = min(limit, _expected_frames(container)) or limit
        with _ClipWriter(folder, name, size) as writer:
            def emit(image: np.ndarray) -> None:
                writer.add_frame(fit_cover(image, size))
                if progress:  # "done" is reported once, after the commit
                    progress(writer.count, max(total, writer.count + 1))

            audio, cut = _decode(container, source.name, limit, emit)
            if writer.count == 0:
                raise AvatarError(f"cannot use {source.name}: the video has no frames")
            path = writer.commit(audio, loop, source.name)
    finally:
        container.close()
    if progress:
        progress(writer.count, writer.count)
    if cut:
        log.warning("action clip %s of avatar %s: %s is longer than %g s; kept the first %g s",
                    name, avatar_id, source.name, max_seconds, writer.count / FPS)
    log.info("action clip %s of avatar %s prepared from %s: %d frames, %s, in %.2f s", name, avatar_id,
             source.name, writer.count, "with audio" if audio is not None else "silent",
             time.perf_counter() - t0)
    return path


def save_action(avatar_dir: Path, name: str, frames: Iterable[np.ndarray], audio: np.ndarray | None = None,
                loop: bool = False, source: str = "") -> Path:
    """Write a clip from frames already at the avatar's frame size into `avatar_dir` atomically.
    `audio` (16 kHz mono) is padded or trimmed to frames * 640 samples."""
    check_name(name)
    avatar_dir = Path(avatar_dir)
    with _ClipWriter(avatar_dir, name, avatar_size(avatar_dir)) as writer:
        for frame in frames:
            writer.add_frame(frame)
        if writer.count == 0:
            raise AvatarError(f"action clip {name!r} needs at least one frame")
        return writer.commit(None if audio is None else np.asarray(audio, np.float32), loop, source)


def list_actions(avatars_dir: Path, avatar_id: str) -> list[dict]:
    """The clips of an avatar, by name, without decoding them: name, frames, seconds, loop, has_audio.
    A Live2D avatar's are its model's expressions and motions, played on the model for ACTION_S."""
    folder = avatar_folder(avatars_dir, avatar_id)
    model = live2d_model(folder)
    if model is not None:
        return [{"name": name, "frames": round(ACTION_S * FPS), "seconds": ACTION_S, "loop": False,
                 "has_audio": False} for name in model_actions(model)]
    metas = read_action_metas(folder)
    return [{"name": name, "frames": m["frames"], "seconds": m["frames"] / FPS, "loop": m["loop"],
             "has_audio": m["has_audio"]} for name, m in metas.items()]


def live2d_model(folder: Path) -> Path | None:
    """The model file of a Live2D avatar's folder; None for a photo avatar."""
    meta = json.loads((folder / "avatar.json").read_text())
    return folder / str(meta.get("model", "")) if meta.get("kind") == "live2d" else None


def remove_action(avatars_dir: Path, avatar_id: str, name: str) -> None:
    """Delete clip `name` of avatar `avatar_id`; AvatarError (listing the clips) if it has none."""
    check_name(name)
    root = avatar_folder(avatars_dir, avatar_id) / ACTIONS_DIR
    folder = root / name
    if not folder.is_dir():
        available = ", ".join(sorted(p.name for p in root.iterdir() if ACTION_NAME.match(p.name))
                              if root.is_dir() else []) or "none"
        raise AvatarError(f"avatar '{avatar_id}' has no action clip '{name}' (available: {available})")
    gone = root / f"{_TMP_PREFIX}del-{name}-{uuid.uuid4().hex[:8]}"
    os.replace(folder, gone)  # disappears at once for readers; the files go after
    shutil.rmtree(gone, ignore_errors=True)
    log.info("action clip %s of avatar %s removed", name, avatar_id)


def fit_cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` scaled to cover `size` (width, height) and centre-cropped: no bars, no stretching."""
    w, h = size
    ih, iw = image.shape[:2]
    if (iw, ih) == (w, h):
        return image
    scale = max(w / iw, h / ih)
    cw, ch = min(iw, max(1, round(w / scale))), min(ih, max(1, round(h / scale)))
    x, y = (iw - cw) // 2, (ih - ch) // 2
    crop = image[y:y + ch, x:x + cw]  # crop first: resizing only what is kept is cheaper
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


class _ClipWriter:
    """Writes one clip frame by frame into a temporary folder; commit() moves it into place."""

    def __init__(self, avatar_dir: Path, name: str, size: tuple[int, int]):
        self.name, self.size = name, size
        self.root = avatar_dir / ACTIONS_DIR
        self.root.mkdir(exist_ok=True)
        remove_stale_temps(self.root)
        self.tmp = self.root / f"{_TMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
        (self.tmp / "frames").mkdir(parents=True)
        self.count = 0
        self._last: tuple[np.ndarray | None, bytes] = (None, b"")
        self._done = False

    def __enter__(self) -> _ClipWriter:
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:
            self._done = True
            shutil.rmtree(self.tmp, ignore_errors=True)

    def add_frame(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if (w, h) != self.size or frame.dtype != np.uint8:
            raise AvatarError(f"clip frame {self.count} is {w}x{h} {frame.dtype}, "
                              f"expected {self.size[0]}x{self.size[1]} uint8")
        if frame is not self._last[0]:  # a repeated frame (a slow source) is encoded once
            ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise AvatarError(f"cannot encode clip frame {self.count} as JPEG")
            self._last = (frame, data.tobytes())
        (self.tmp / "frames" / frame_name(self.count)).write_bytes(self._last[1])
        self.count += 1

    def commit(self, audio: np.ndarray | None, loop: bool, source: str) -> Path:
        if audio is not None:
            audio = _fit_length(audio, self.count * SAMPLES_PER_VIDEO_FRAME)
            np.save(self.tmp / "audio.npy", audio)
        meta = {"name": self.name, "frames": self.count, "fps": FPS, "loop": bool(loop),
                "has_audio": audio is not None, "source": source,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (self.tmp / "clip.json").write_text(json.dumps(meta, indent=2) + "\n")
        final = replace_folder(self.tmp, self.root / self.name)
        self._done = True
        return final


def _decode(container, name: str, limit: int, emit) -> tuple[np.ndarray | None, bool]:
    """Pass the video to `emit` as BGR frames at 25 fps (at most `limit`; each output time shows the
    last source frame due by then). Returns the audio from the first video frame on (16 kHz mono
    float32, None without audio) and whether the source went on past the limit."""
    video = container.streams.video[0]
    video.thread_type = "AUTO"
    video.codec_context.thread_count = DECODER_THREADS
    audio = container.streams.audio[0] if container.streams.audio else None
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE) if audio else None
    chunks: list[np.ndarray] = []
    audio_t0, samples = None, 0  # source time of the first audio sample, samples decoded
    t0, k, cut = None, 0, False  # first video time, frames emitted, source longer than the limit
    held, held_image, held_end = None, None, 0.0  # the frame on screen, converted once, its end
    end = limit / FPS

    def show(frame) -> None:
        nonlocal held_image, k
        if held_image is None:
            held_image = upright(frame.to_ndarray(format="bgr24"), frame.rotation)
        emit(held_image)
        k += 1

    try:
        for packet in container.demux(*[s for s in (video, audio) if s is not None]):
            if cut and packet.stream is video:
                continue  # past the limit: only the audio is still needed
            for frame in packet.decode():
                if packet.stream is video:
                    t = frame.time if frame.time is not None else (0.0 if t0 is None else None)
                    if t is None:
                        continue
                    t0 = t if t0 is None else t0
                    while held is not None and k < limit and k / FPS < (t - t0) - 1e-3:
                        show(held)
                    if t - t0 >= end - 1e-3:
                        cut, held = True, None
                    else:
                        held, held_image = frame, None
                        held_end = (t - t0) + _duration(frame, video)
                elif packet.stream is audio:
                    if audio_t0 is None:
                        audio_t0 = frame.time or 0.0
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1))
                        samples += chunks[-1].size
            if cut and (audio is None or (audio_t0 is not None and t0 is not None
                                          and audio_t0 + samples / SAMPLE_RATE >= t0 + end)):
                break
        while held is not None and k < limit and (k == 0 or k / FPS < held_end - 1e-3):
            show(held)
    except av.FFmpegError as e:
        if k == 0:
            raise AvatarError(f"cannot read {name}: not a supported video ({e.__class__.__name__})") from None
        log.warning("video %s: decoding stopped at frame %d (%s)", name, k, e)
    if resampler is not None:
        try:
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
        except av.FFmpegError:
            pass
    if not chunks or t0 is None:
        return None, cut
    pcm = np.concatenate(chunks).astype(np.float32, copy=False)
    offset = int(round((audio_t0 - t0) * SAMPLE_RATE))  # audio may start before or after the video
    pcm = np.concatenate([np.zeros(offset, np.float32), pcm]) if offset > 0 else pcm[-offset:]
    return pcm, cut


def _duration(frame, stream) -> float:
    """How long a video frame is shown, in seconds."""
    if frame.duration and frame.time_base:
        return float(frame.duration * frame.time_base)
    rate = stream.average_rate or stream.guessed_rate
    return 1.0 / float(rate) if rate else 1.0 / FPS


def _expected_frames(container) -> int:
    """Frames at 25 fps the container's duration promises (0 when it does not say)."""
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    else:
        seconds = container.duration / 1e6 if container.duration else 0.0
    return int(np.ceil(seconds * FPS - 1e-6)) if seconds > 0 else 0


def _fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    audio = np.asarray(audio, np.float32).reshape(-1)
    if audio.size >= n:
        return np.ascontiguousarray(audio[:n])
    return np.concatenate([audio, np.zeros(n - audio.size, np.float32)])
