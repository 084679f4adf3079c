"""Live2D avatars, rendered on the server: an offscreen OpenGL context (EGL; Mesa's llvmpipe on a
CPU, a GPU's driver when there is one), the Cubism model through live2d-py, and the mouth driven
by each 40 ms of speech.

Cubism 2 models (`model.json`) use live2d-py's Python implementation of that runtime, Cubism 3/4
models (`*.model3.json`) its native binding of the Cubism SDK. Every frame is rendered: the model
breathes, blinks and plays its idle motions in silence too; speech opens the mouth by its loudness
and shapes it by a vowel estimate (how much of the voiced energy lies above 1 kHz), smoothed.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np

from streamer.avatar.cubism import IDLE_GROUPS, expressions, motion_groups
from streamer.avatar.model import Avatar
from streamer.frames import FrameKind, Tick
from streamer.lipsync.base import LipFrame, LipPatch, LipsyncEngine, LipsyncError, LipStream

log = logging.getLogger("livehost.lipsync")

# the parameters a model's mouth is driven by, in Cubism 2's and Cubism 3's standard names
MOUTH_OPEN = ("PARAM_MOUTH_OPEN_Y", "ParamMouthOpenY")
MOUTH_FORM = ("PARAM_MOUTH_FORM", "ParamMouthForm")
QUIET_DB, LOUD_DB = -50.0, -18.0  # speech level (dBFS of a 40 ms window) for a closed and a wide-open mouth
ATTACK, RELEASE = 0.7, 0.4  # how much of the way to the target the mouth goes in one frame
_context_lock = threading.Lock()
_runtime_ready = False


def mouth_shape(audio: np.ndarray, rate: int = 16_000) -> tuple[float, float]:
    """(openness 0..1 from the loudness, form -1..1 from the vowel: -1 'o/u', +1 'i/e') of 40 ms of speech."""
    audio = np.asarray(audio, np.float32)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0
    db = 20 * np.log10(rms + 1e-9)
    openness = float(np.clip((db - QUIET_DB) / (LOUD_DB - QUIET_DB), 0.0, 1.0))
    if openness == 0.0:
        return 0.0, 0.0
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size))) ** 2
    hz = np.fft.rfftfreq(audio.size, 1 / rate)
    low = spectrum[(hz >= 200) & (hz < 1000)].sum()
    high = spectrum[(hz >= 1000) & (hz < 3500)].sum()
    share = high / (low + high + 1e-12)  # front vowels put their second formant above 1 kHz
    return openness, float(np.clip((share - 0.3) * 4.0, -1.0, 1.0))


class Offscreen:
    """An OpenGL context of its own with a width x height RGBA framebuffer, current in the thread that
    made it. EGL on the surfaceless platform (no display needed): Mesa's llvmpipe on a CPU."""

    def __init__(self, width: int, height: int):
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        if not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
            os.environ.setdefault("EGL_PLATFORM", "surfaceless")
        try:
            import ctypes

            import OpenGL
            from OpenGL import EGL

            OpenGL.ERROR_CHECKING = False  # GL only (EGL needs it): a glGetError after every call costs
            OpenGL.ERROR_LOGGING = False  # a third of a frame's time
            from OpenGL import GL
        except ImportError as e:
            raise LipsyncError(f"Live2D needs PyOpenGL and an EGL library (pip install 'livehost[live2d]'; "
                               f"apt install libegl1 libegl-mesa0 libgl1-mesa-dri): {e}") from None
        self.EGL, self.GL, self.width, self.height = EGL, GL, width, height
        try:
            display = EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)
            major, minor = EGL.EGLint(), EGL.EGLint()
            if not EGL.eglInitialize(display, ctypes.pointer(major), ctypes.pointer(minor)):
                raise LipsyncError("EGL would not initialise")
            wanted = (EGL.EGLint * 13)(EGL.EGL_SURFACE_TYPE, EGL.EGL_PBUFFER_BIT, EGL.EGL_RED_SIZE, 8,
                                       EGL.EGL_GREEN_SIZE, 8, EGL.EGL_BLUE_SIZE, 8, EGL.EGL_ALPHA_SIZE, 8,
                                       EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT, EGL.EGL_NONE)
            config, found = EGL.EGLConfig(), EGL.EGLint()
            if not EGL.eglChooseConfig(display, wanted, ctypes.pointer(config), 1, ctypes.pointer(found)) \
                    or not found.value:
                raise LipsyncError("EGL has no RGBA OpenGL configuration")
            size = (EGL.EGLint * 5)(EGL.EGL_WIDTH, width, EGL.EGL_HEIGHT, height, EGL.EGL_NONE)
            self.surface = EGL.eglCreatePbufferSurface(display, config, size)
            EGL.eglBindAPI(EGL.EGL_OPENGL_API)
            self.context = EGL.eglCreateContext(display, config, EGL.EGL_NO_CONTEXT, None)
            if not EGL.eglMakeCurrent(display, self.surface, self.surface, self.context):
                raise LipsyncError("the EGL context cannot be made current")
        except LipsyncError:
            raise
        except Exception as e:  # noqa: BLE001 - EGL's errors are exceptions of PyOpenGL's
            raise LipsyncError(f"no offscreen OpenGL (EGL) context: {e}") from None
        self.display = display
        self.renderer = GL.glGetString(GL.GL_RENDERER).decode(errors="replace")
        GL.glViewport(0, 0, width, height)

    def read(self) -> np.ndarray:
        """The framebuffer as RGBA uint8, top row first."""
        GL = self.GL
        data = GL.glReadPixels(0, 0, self.width, self.height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 4)[::-1]

    def close(self) -> None:
        EGL = self.EGL
        EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(self.display, self.context)
        EGL.eglDestroySurface(self.display, self.surface)


class Live2DModel:
    """A Live2D model rendered at width x height in the calling thread's own offscreen context."""

    def __init__(self, model_file: Path, width: int, height: int):
        global _runtime_ready
        self.screen = Offscreen(width, height)
        self.cubism2 = not str(model_file).endswith(".model3.json")
        try:
            with _context_lock:
                if self.cubism2:
                    import live2d.v2 as live2d
                else:
                    import live2d
                if not _runtime_ready:
                    live2d.init()
                    _runtime_ready = True
                live2d.glInit()
            self.live2d = live2d
            self.model = live2d.Model()
            self.model.LoadModelJson(str(model_file))
            self.model.Resize(width, height)
        except Exception as e:  # noqa: BLE001 - the runtime raises whatever its parser met
            self.screen.close()
            raise LipsyncError(f"the Live2D model {model_file.name} cannot be loaded: {e}") from None
        self.model.SetAutoBlink(True)
        self.model.SetAutoBreath(True)
        self.open_id, self.form_id = (MOUTH_OPEN[0], MOUTH_FORM[0]) if self.cubism2 else (MOUTH_OPEN[1], MOUTH_FORM[1])
        self.motions = motion_groups(model_file)
        self.expressions = expressions(model_file)
        self.idle_group = next((g for g in IDLE_GROUPS if self.motions.get(g)), None)
        self._centre(width)

    def _centre(self, width: int) -> None:
        """Move the model to the middle of the frame (a model's own layout often leaves it to a side):
        SetOffset moves it by half the frame's width per unit."""
        alpha = self.render(0.0, 0.0)[..., 3]
        columns = np.flatnonzero(alpha.any(axis=0))
        if columns.size:
            self.model.SetOffset((width / 2 - (columns[0] + columns[-1]) / 2) / (width / 2), 0.0)

    def act(self, name: str) -> None:
        """Start action `name`: an expression of the model, or a random motion of that group."""
        if name in self.expressions:
            self.model.SetExpression(name)
        elif self.motions.get(name):
            self.model.StartRandomMotion(name, 3)  # priority force: over the idle motion

    def rest(self) -> None:
        """Back to the model's own face after an expression."""
        self.model.ResetExpression()

    def render(self, mouth_open: float, mouth_form: float) -> np.ndarray:
        """One frame as RGBA uint8 (premultiplied by its alpha), the model's clock advanced to now."""
        model = self.model
        if self.idle_group and model.IsMotionFinished():
            model.StartRandomMotion(self.idle_group, 1)  # priority idle: any other motion wins
        self.live2d.clearBuffer(0.0, 0.0, 0.0, 0.0)
        model.Update()
        model.SetParamById(self.open_id, mouth_open, 1.0)
        model.SetParamById(self.form_id, mouth_form, 1.0)
        model.Draw()
        return self.screen.read()

    def close(self) -> None:
        self.screen.close()


def straight_bgr(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(BGR with the colour un-premultiplied, alpha float32 0..1) of a premultiplied RGBA frame."""
    import cv2

    alpha = rgba[..., 3]
    bgr = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)
    a3 = cv2.merge([alpha, alpha, alpha])
    bgr = cv2.divide(bgr, np.maximum(a3, 1), scale=255.0)
    return bgr, alpha.astype(np.float32) * (1.0 / 255.0)


def premultiplied_bgr(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(BGR as drawn, premultiplied; alpha float32 0..1) of an RGBA frame: what the compositor blends
    without dividing the colours back (a division a pixel costs a live2d frame 5 ms)."""
    import cv2

    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR), rgba[..., 3].astype(np.float32) * (1.0 / 255.0)


class Live2DStream(LipStream):
    """One live's Live2D model: every tick becomes a whole-frame patch rendered from its audio. The
    context is made in the lipsync thread on the first tick (OpenGL contexts belong to a thread)."""

    def __init__(self, avatar: Avatar):
        self.avatar = avatar
        self.model: Live2DModel | None = None
        self.open = self.form = 0.0
        self.acting: str | None = None  # the action being played

    def push(self, tick: Tick) -> list[LipFrame]:
        if self.model is None:
            w, h = self.avatar.size
            self.model = Live2DModel(self.avatar.live2d, w, h)
            log.info("Live2D avatar %s rendered by %s", self.avatar.id, self.model.screen.renderer)
        if tick.kind is FrameKind.ACTION and tick.clip:
            if tick.avatar_index == 0 or tick.clip != self.acting:
                self.model.act(tick.clip)
            self.acting = tick.clip
        elif self.acting is not None:
            self.model.rest()
            self.acting = None
        speaking = tick.kind is FrameKind.SPEECH
        target_open, target_form = mouth_shape(tick.audio) if speaking else (0.0, 0.0)
        step = ATTACK if target_open > self.open else RELEASE
        self.open += (target_open - self.open) * step
        self.form += (target_form - self.form) * 0.5
        bgr, alpha = premultiplied_bgr(self.model.render(self.open, self.form))
        h, w = bgr.shape[:2]
        return [LipFrame(tick, LipPatch((0, 0, w, h), bgr, alpha, premultiplied=True))]

    def reset(self) -> list[LipFrame]:
        self.open = self.form = 0.0  # an interrupt: the mouth is closed from the next frame
        return []

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
            self.model = None


class Live2DEngine(LipsyncEngine):
    """Renders Live2D avatars (streamer.avatar.live2d); refuses photo avatars."""

    name = "live2d"

    def open(self, avatar: Avatar, realtime: bool = True) -> LipStream:
        if avatar.live2d is None:
            raise LipsyncError(f"avatar {avatar.id} is not a Live2D model")
        return Live2DStream(avatar)


def render_still(model_file: Path, width: int, height: int, frames: int = 3) -> np.ndarray:
    """The model at rest as RGBA uint8 (premultiplied): for the thumbnail and the idle frame."""
    done: dict = {}

    def run() -> None:  # a thread of its own: its context never meets the caller's
        try:
            model = Live2DModel(model_file, width, height)
            try:
                for _ in range(frames):
                    done["rgba"] = model.render(0.0, 0.0)
                    time.sleep(0.01)
            finally:
                model.close()
        except Exception as e:  # noqa: BLE001 - handed to the caller
            done["error"] = e

    worker = threading.Thread(target=run, name="live2d-still")
    worker.start()
    worker.join()
    if "error" in done:
        raise done["error"]
    return done["rgba"]
