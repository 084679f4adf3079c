"""MuseTalk lipsync: the release files (weights), the loaded networks (model) and a tiny random
release for tests (tiny).

Importing this package does not import torch: `weights` needs only the standard library, and
MuseTalkModel, window_indices and write_tiny_release are imported on first use.
"""
from __future__ import annotations

from streamer.lipsync.musetalk.weights import VERSIONS, WeightFile, check, download, required_files

_LAZY = {"MuseTalkModel": "model", "window_indices": "audio", "write_tiny_release": "tiny"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["VERSIONS", "MuseTalkModel", "WeightFile", "check", "download", "required_files", "window_indices",
           "write_tiny_release"]
