"""Lipsync engines: one folder or module per engine, all behind streamer.lipsync.base."""
from __future__ import annotations

import logging
from pathlib import Path

from streamer.lipsync.base import LipFrame, LipPatch, LipsyncEngine, LipsyncError, LipStream
from streamer.settings import Settings

log = logging.getLogger("livehost.lipsync")

ENGINES = ("parametric", "musetalk", "live2d")


def create_engine(name: str, settings: Settings | None = None) -> LipsyncEngine:
    """A ready engine by name: 'parametric' (CPU, no weights) or 'musetalk' (weights under
    settings.models_dir). Raises LipsyncError saying what is missing or wrong."""
    # each engine's module loads when that engine is asked for (MuseTalk's imports torch)
    if name == "parametric":
        from streamer.lipsync.parametric import ParametricEngine

        return ParametricEngine()
    if name == "live2d":  # Live2D avatars: the model rendered each frame (streamer.avatar.live2d)
        from streamer.lipsync.live2d import Live2DEngine

        return Live2DEngine()
    if name == "musetalk":
        from streamer.lipsync.musetalk.engine import MuseTalkEngine

        settings = settings or _default_settings()
        model = load_musetalk_model(settings)
        landmarker, parser = preparation_tools(model, settings.models_dir)
        return MuseTalkEngine(model, batch=settings.musetalk_batch, landmarker=landmarker, parser=parser)
    raise LipsyncError(f"unknown lipsync engine {name!r} (known: {', '.join(ENGINES)})")


def load_musetalk_model(settings: Settings | None = None):
    """The MuseTalkModel that settings describe (weights under settings.models_dir). Raises
    LipsyncError saying what is missing, including torch and friends."""
    settings = settings or _default_settings()
    try:
        from streamer.lipsync.musetalk.model import MuseTalkModel
    except ImportError as e:
        raise LipsyncError(f"the musetalk engine needs torch, diffusers and transformers "
                           f"(pip install 'livehost[musetalk]'): {e}") from None
    return MuseTalkModel.load(settings.models_dir, settings.musetalk_version,
                              device=settings.musetalk_device or None, dtype=settings.musetalk_dtype or None)


def _log_finding(text: str, missing: bool) -> None:
    log.log(logging.WARNING if missing else logging.INFO, "MuseTalk avatar preparation: %s", text)


def preparation_tools(model, models_dir, say=_log_finding):
    """(landmarker or None, face parser or None) for preparing avatars for `model`. What was found,
    or why not, goes to `say(text, missing)` (default: the log); preparation then uses face boxes
    for the crop and the jaw line for the mask."""
    # torch (the face parser) and the landmarkers: loaded only to prepare for MuseTalk
    from streamer.avatar.landmarks import describe, landmarker_for
    from streamer.lipsync.musetalk.parsing import WEIGHTS, FaceParser

    landmarker, where = landmarker_for(models_dir)
    say(f"face landmarks: {describe(landmarker, where)}", landmarker is None)
    parser = FaceParser.load(models_dir, model.device, model.dtype)
    weights = Path(models_dir) / WEIGHTS
    say(f"face parsing: {weights}" if parser else f"face parsing: none ({weights} is missing), the mask follows "
        "the jaw line", parser is None)
    return landmarker, parser


def _default_settings() -> Settings:
    return Settings()


def engine_or_fallback(name: str, settings: Settings) -> tuple[LipsyncEngine, str | None]:
    """The engine `name`, or with settings.lipsync_fallback "parametric" the parametric engine
    when `name` cannot load; returns (engine, why it fell back or None). "refuse" re-raises."""
    try:
        return create_engine(name, settings), None
    except LipsyncError as e:
        if settings.lipsync_fallback != "parametric" or name == "parametric":
            raise
        log.warning("lipsync %s is not available (%s); using parametric instead", name, e)
        return create_engine("parametric"), str(e)


__all__ = ["ENGINES", "LipFrame", "LipPatch", "LipStream", "LipsyncEngine", "LipsyncError", "create_engine",
           "engine_or_fallback"]
