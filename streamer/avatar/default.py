"""The default avatar, generated from scikit-image's public-domain astronaut portrait, with the
action clips nod, greet and sway made from the same still (see streamer.avatar.motions)."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from streamer.avatar.actions import save_action
from streamer.avatar.motions import STILL_CLIPS
from streamer.avatar.prepare import prepare_image
from streamer.avatar.store import ACTIONS_DIR

log = logging.getLogger("livehost.avatar")

DEFAULT_ID = "default"
SOURCE = "skimage.data.astronaut"


def ensure_default_avatar(avatars_dir: Path) -> Path:
    """Return `<avatars_dir>/default`, building it (about a second) or its missing action clips
    first."""
    folder = Path(avatars_dir) / DEFAULT_ID
    exists = (folder / "avatar.json").is_file()
    missing = [name for name in STILL_CLIPS if not (folder / ACTIONS_DIR / name / "clip.json").is_file()]
    if exists and not missing:
        return folder
    image = _astronaut()
    if not exists:
        log.info("building the default avatar in %s", folder)
        prepare_image(image, DEFAULT_ID, Path(avatars_dir), source=SOURCE)
        missing = list(STILL_CLIPS)
    face = np.load(folder / "faces.npy", allow_pickle=False)[0]
    for name in missing:
        make, loop = STILL_CLIPS[name]
        save_action(folder, name, make(image, face), loop=loop, source=f"{SOURCE} ({name})")
    log.info("default avatar: action clips %s added", ", ".join(missing))
    return folder


def _astronaut() -> np.ndarray:
    from skimage import data  # imported only when building: it is slow to import

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
