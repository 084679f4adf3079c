"""68 face landmarks per frame, for MuseTalk's crop box and jaw mask.

The points follow the iBUG 300-W layout that MuseTalk's DWPose face keypoints use too: 0-16 the
jaw line from the subject's right ear to the left, 27-35 the nose (29 the middle of its ridge,
31-35 the nostrils' lower edge), 48-67 the lips. They come from dlib's HOG face detector and its
68-point shape predictor, which runs on a CPU in about 2 ms a face.

The predictor's file (shape_predictor_68_face_landmarks.dat, 100 MB) is found under the models
folder at dlib/ or, when the PyPI package face-recognition-models is installed, in that package.
Without dlib or the file, `landmarker_for` says why and MuseTalk preparation uses the avatar's
face and mouth boxes instead.
"""
from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from streamer.avatar.face import fill_gaps, smooth, smooth_boxes

log = logging.getLogger("livehost.avatar")

MODEL_FILE = "shape_predictor_68_face_landmarks.dat"
DETECT_SIDE = 640  # long side of the grey copy the detector searches a whole frame in
TRACK_FACE = 120  # face size (px) the detector sees when it looks near the last face
POINTS = 68
NOSE_RIDGE = 29
JAW = slice(0, 17)
NOSTRILS = (35, 34, 33, 32, 31)  # along the nose's lower edge, from the jaw's end back to its start
SIGMA = 1.0  # frames: landmark jitter smoothing over time

Progress = Callable[[int, int], None]


def find_model(models_dir: Path) -> Path | None:
    """The 68-point predictor file: models_dir/dlib/ first, then the face-recognition-models package."""
    own = Path(models_dir) / "dlib" / MODEL_FILE
    if own.is_file():
        return own
    spec = importlib.util.find_spec("face_recognition_models")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        packaged = Path(folder) / "models" / MODEL_FILE
        if packaged.is_file():
            return packaged
    return None


def landmarker_for(models_dir: Path) -> tuple[Landmarker | None, str]:
    """A Landmarker and where its model came from, or None and why there is none."""
    try:
        import dlib  # noqa: F401
    except ImportError:
        return None, "dlib is not installed (pip install dlib-bin face-recognition-models)"
    path = find_model(models_dir)
    if path is None:
        return None, (f"{MODEL_FILE} is neither in {Path(models_dir) / 'dlib'} nor in an installed "
                      f"face-recognition-models package")
    return Landmarker(path), str(path)


def describe(landmarker: Landmarker | None, where: str) -> str:
    """One line on landmarker_for's answer, for operators."""
    return f"dlib 68 points, {where}" if landmarker else f"{where}; crops come from face boxes instead"


class Landmarker:
    """dlib's face detector + 68-point shape predictor. One instance per thread."""

    def __init__(self, model_path: Path):
        import dlib

        self.model_path = Path(model_path)
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(model_path))
        self._dlib = dlib

    def detect(self, frame: np.ndarray, near: np.ndarray | None = None) -> np.ndarray | None:
        """The face box (x1, y1, x2, y2) in `frame`, or None when there is none. With `near` (the
        last frame's box) it looks around there first, which is fast; otherwise, or when the face
        is not there, in the whole frame, taking the largest face."""
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if near is not None:
            side = max(near[2] - near[0], near[3] - near[1])
            cx, cy = (near[0] + near[2]) / 2, (near[1] + near[3]) / 2
            x0, y0 = max(0, int(cx - side)), max(0, int(cy - side))
            window = grey[y0:int(cy + side), x0:int(cx + side)]
            box = self._largest(window, TRACK_FACE / side)
            if box is not None:
                return box + (x0, y0, x0, y0)
        h, w = grey.shape
        return self._largest(grey, min(1.0, DETECT_SIDE / max(h, w)), upsample=1)

    def _largest(self, grey: np.ndarray, scale: float, upsample: int = 0) -> np.ndarray | None:
        h, w = grey.shape
        if scale != 1.0:
            grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        found = self._detector(grey, upsample)
        if not found:
            return None
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in found], np.float64) / scale
        return boxes[np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))]

    def points(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(68, 2) float32 landmarks of the face in `box`."""
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        shape = self._predictor(grey, self._dlib.rectangle(x1, y1, x2, y2))
        return np.array([(p.x, p.y) for p in shape.parts()], np.float32)

    def track(self, frames: list[np.ndarray], source: str,
              progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Face boxes (N, 4) and landmarks (N, 68, 2) float32 of every frame, smoothed over time.

        A few frames in a row without a face are filled from their neighbours; more raise
        NoFaceError naming the frame (`source` is how the message calls the video).
        """
        n = len(frames)
        boxes: list[np.ndarray | None] = []
        last = None
        for i, frame in enumerate(frames):
            box = self.detect(frame, last)
            boxes.append(box)
            last = box if box is not None else last
            if progress and (i % 10 == 9 or i == n - 1):
                progress(i + 1, 2 * n)
        filled = smooth_boxes(fill_gaps(boxes, source))
        points = np.empty((n, POINTS, 2), np.float32)
        for i, frame in enumerate(frames):
            points[i] = self.points(frame, filled[i])
            if progress and (i % 10 == 9 or i == n - 1):
                progress(n + i + 1, 2 * n)
        points = smooth(points.reshape(n, -1), SIGMA, median=3).reshape(n, POINTS, 2).astype(np.float32)
        return filled.astype(np.float32), points
