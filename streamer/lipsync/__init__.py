"""Lipsync engines: one folder or module per engine, all behind streamer.lipsync.base."""
from __future__ import annotations

from streamer.lipsync.base import LipPatch, LipsyncEngine, LipsyncError, LipStream

ENGINES = ("parametric",)


def create_engine(name: str) -> LipsyncEngine:
    """A ready engine by name: 'parametric' (CPU, no weights). Raises LipsyncError otherwise."""
    if name == "parametric":
        from streamer.lipsync.parametric import ParametricEngine

        return ParametricEngine()
    if name == "musetalk":
        raise LipsyncError("musetalk engine is not available yet")
    raise LipsyncError(f"unknown lipsync engine {name!r} (known: {', '.join(ENGINES)})")


__all__ = ["ENGINES", "LipPatch", "LipStream", "LipsyncEngine", "LipsyncError", "create_engine"]
