"""A source's picture size, read from its header before anything is decoded.

A file of a hundred kilobytes can claim a picture of 30000 x 30000 pixels, which decodes to
gigabytes. So every avatar source is measured from its header first (Pillow for pictures,
FFmpeg's container probe for videos) and refused when larger than SourceLimits; FFmpeg's decoders
are given the same bound, for frames that no header announced.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from streamer.avatar.model import AvatarError

Size = tuple[int, int]  # width, height in pixels


@dataclass(frozen=True)
class SourceLimits:
    """The largest picture an avatar source may hold: `max_side` pixels a side and `max_pixels` in
    all (a 48-megapixel phone photo passes; frames are scaled down to 1920 a side anyway)."""

    max_side: int = 8192
    max_pixels: int = 50_000_000

    def allows(self, size: Size) -> bool:
        width, height = size
        return max(width, height) <= self.max_side and width * height <= self.max_pixels

    def decoder_options(self) -> dict[str, str]:
        """FFmpeg options that make a decoder refuse a frame of more than `max_pixels`."""
        return {"max_pixels": str(self.max_pixels)}

    def __str__(self) -> str:
        return f"{self.max_side} pixels a side and {self.max_pixels / 1e6:g} megapixels"


class SourceTooLarge(AvatarError):
    """A source's picture is larger than its SourceLimits; nothing of it was decoded."""

    def __init__(self, source: str, size: Size, limits: SourceLimits):
        super().__init__(f"{source} is {size[0]}x{size[1]} pixels; the limit is {limits}")
        self.source, self.size, self.limits = source, size, limits


def check_source(path: Path, limits: SourceLimits) -> Size | None:
    """The picture size of image or video `path`, read from its header; SourceTooLarge when it is
    over `limits`. None when neither Pillow nor FFmpeg can tell (then a decoder given
    limits.decoder_options() still refuses a large frame)."""
    path = Path(path)
    size = picture_size(path) or video_size(path, limits)
    if size is not None and not limits.allows(size):
        raise SourceTooLarge(path.name, size, limits)
    return size


def picture_size(path: Path) -> Size | None:
    """(width, height) of the picture in `path` from its header, or None when Pillow does not know
    the format. This is what Image.open does, less its decompression-bomb refusal, which would hide
    the size: nothing is decoded here."""
    Image.init()  # registers every format Pillow reads
    with open(path, "rb") as fp:
        prefix = fp.read(16)
        for name in Image.ID:
            factory, accept = Image.OPEN[name]
            fp.seek(0)
            try:
                if accept is not None and not accept(prefix):
                    continue
                size = factory(fp, path.name).size
            except Exception:  # noqa: BLE001 - a plugin that cannot read the header fails in its own way
                continue
            return size if min(size) > 0 else None
    return None


def video_size(path: Path, limits: SourceLimits) -> Size | None:
    """(width, height) of the first video stream of `path` as its container declares it, or None
    when FFmpeg cannot open it or does not say. FFmpeg's probe may decode a frame: it is bounded by
    `limits` too."""
    try:
        container = av.open(str(path), options=limits.decoder_options())
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError):
        return None
    try:
        streams = container.streams.video
        if not streams:
            return None
        size = streams[0].codec_context.width, streams[0].codec_context.height
        return size if min(size) > 0 else None
    finally:
        container.close()
