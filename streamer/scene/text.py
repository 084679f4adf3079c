"""Text drawn for the scene: captions, titles, labels and cards, with a font that has Chinese.

The font is Noto Sans CJK from Debian's `fonts-noto-cjk` package (`apt-get install fonts-noto-cjk`;
the CI and the Docker images install it), found where Debian puts it or through fontconfig, or the
file the `LIVEHOST_FONT` variable names. Without one, Latin text still renders in Pillow's own font
and Chinese shows as boxes: a warning says what to install. Text is rendered once per change by the
layers that use it (never per frame).
"""
from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger("livehost.scene")

FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc")
_BREAKABLE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")  # CJK: a line may break anywhere


@functools.cache
def font_file() -> str | None:
    """The CJK font's file, or None (then Pillow's built-in font)."""
    given = os.environ.get("LIVEHOST_FONT")
    if given and Path(given).is_file():
        return given
    for path in FONT_FILES:
        if Path(path).is_file():
            return path
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", "sans-serif:lang=zh-cn"], capture_output=True,
                                   text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and "cjk" in found.lower() and Path(found).is_file():
            return found
    log.warning("no CJK font found: Chinese captions will show as boxes. Install Debian's fonts-noto-cjk "
                "or set LIVEHOST_FONT to a .ttc/.otf/.ttf file")
    return None


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_file()
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


def wrap(text: str, size: int, width: int) -> list[str]:
    """`text` in lines no wider than `width` pixels: Chinese breaks between any two characters,
    other scripts between words (a word wider than the line is broken where it must)."""
    f = font(size)
    tokens = re.findall(r"[A-Za-z0-9'’.,!?%:;-]+\s*|\s+|.", text.strip())
    lines: list[str] = []
    line = ""
    for token in tokens:
        if f.getlength(line + token.rstrip()) <= width or not line:
            line += token
            while f.getlength(line.rstrip()) > width and len(line.rstrip()) > 1:  # one word too long
                cut = len(line) - 1
                while cut > 1 and f.getlength(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut].rstrip())
                line = line[cut:]
        else:
            lines.append(line.rstrip())
            line = token.lstrip() if not _BREAKABLE.match(token) else token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def fit(text: str, size: int, width: int, max_lines: int) -> tuple[list[str], int]:
    """Lines and font size for `text` in at most `max_lines` lines of `width`: the size shrinks to
    two thirds before the last line is cut with an ellipsis."""
    smallest = max(10, size * 2 // 3)
    while True:
        lines = wrap(text, size, width)
        if len(lines) <= max_lines or size <= smallest:
            break
        size = max(smallest, size - max(1, size // 10))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font(size).getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines, size


def draw_lines(lines: list[str], size: int, width: int, height: int, *, color=(255, 255, 255),
               outline: int = 0, band: tuple[int, int, int, int] | None = None, align: str = "center",
               valign: str = "center") -> np.ndarray:
    """An RGBA (height, width, 4) uint8 image with `lines` drawn: on a rounded `band` (RGBA fill)
    behind the text, or with an `outline` of that many pixels in black."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    f = font(size)
    step = round(size * 1.3)
    widths = [f.getlength(line) for line in lines]
    block = step * len(lines)
    pad = size // 3 if band is not None else outline
    top = {"top": pad // 2, "center": (height - block) // 2, "bottom": height - block - pad // 2}[valign]
    if band is not None and lines:
        left = (width - max(widths)) / 2 - pad if align == "center" else 0
        right = (width + max(widths)) / 2 + pad if align == "center" else max(widths) + 2 * pad
        draw.rounded_rectangle((max(0, left), max(0, top - pad // 2), min(width - 1, right),
                                min(height - 1, top + block + pad // 2)), radius=size // 3, fill=band)
    for i, (line, w) in enumerate(zip(lines, widths)):
        x = (width - w) / 2 if align == "center" else (size // 3 if band is not None else outline)
        draw.text((x, top + i * step + step / 2), line, font=f, fill=(*color, 255), anchor="lm",
                  stroke_width=outline, stroke_fill=(0, 0, 0, 255))
    return np.asarray(image)
