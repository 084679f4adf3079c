"""The default avatar, generated from scikit-image's public-domain astronaut portrait."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2

from streamer.avatar.prepare import prepare_image

log = logging.getLogger("livehost.avatar")

DEFAULT_ID = "default"


def ensure_default_avatar(avatars_dir: Path) -> Path:
    """Return `<avatars_dir>/default`, building it first if it is missing (about a second)."""
    folder = Path(avatars_dir) / DEFAULT_ID
    if (folder / "avatar.json").is_file():
        return folder
    from skimage import data  # imported only when building: it is slow to import

    log.info("building the default avatar in %s", folder)
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return prepare_image(image, DEFAULT_ID, Path(avatars_dir), source="skimage.data.astronaut")
