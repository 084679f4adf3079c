"""Reading text drawn into frames, as a person would: Tesseract (Debian's tesseract-ocr with the
eng and chi_sim data) through its command line."""
from __future__ import annotations

import re
import shutil
import subprocess

import cv2
import numpy as np

from tests.helpers.process import need


def need_tesseract() -> None:
    have = shutil.which("tesseract") is not None
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout if have else ""
    need(have and "chi_sim" in langs and "eng" in langs,
         "Tesseract with English and Chinese data is not installed "
         "(apt-get install tesseract-ocr tesseract-ocr-chi-sim)")


def read_text(gray: np.ndarray, langs: str = "eng+chi_sim", scale: float = 1.0) -> str:
    """The text Tesseract reads in a grey image (light text on dark or dark on light), one block."""
    img = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if img.mean() < 128:  # Tesseract reads dark text on light best
        img = 255 - img
    ok, png = cv2.imencode(".png", img)
    assert ok
    out = subprocess.run(["tesseract", "stdin", "stdout", "-l", langs, "--psm", "6"], input=png.tobytes(),
                         capture_output=True, timeout=60)
    return out.stdout.decode("utf-8", "replace").strip()


def folded(text: str) -> str:
    """Letters, digits and Chinese only, lower case: OCR's spaces and punctuation set aside."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", text.lower())
