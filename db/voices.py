"""What the API and the workers share of saved voices: where a cloned voice's reference clip is kept,
and the voice spec a worker speaks a saved voice with."""
from __future__ import annotations

import re
from pathlib import Path

from db.models import Voice
from streamer.voice import voice_spec

_CJK = re.compile(r"[\u3400-\u9fff]")


def voices_dir(var_dir: Path) -> Path:
    """The reference clips of cloned voices."""
    return var_dir / "voices"


def saved_spec(voice: Voice, var_dir: Path, ref_dir: str = "") -> str:
    """The spec of `voice`, its reference clip given to its server as the server takes it: GPT-SoVITS
    reads `ref_audio_path` from its own disk (`ref_dir`, the folder where it sees var/voices; this
    machine's path when empty), CosyVoice gets the clip uploaded by the worker (`prompt_wav`, a path
    here). The clip's transcript is the prompt text; the clip wins over parameters naming another."""
    params = dict(voice.params or {})
    reference = voice.reference or {}
    if reference.get("file") and voice.engine in ("gptsovits", "cosyvoice"):
        local = (voices_dir(var_dir) / Path(reference["file"]).name).resolve()
        text = reference.get("text") or ""
        if voice.engine == "gptsovits":
            params["ref_audio_path"] = f"{ref_dir.rstrip('/')}/{local.name}" if ref_dir else str(local)
            params["prompt_text"] = text
            params.setdefault("prompt_lang", "zh" if _CJK.search(text) else "en")
        else:  # CosyVoice's modes that clone: zero_shot (the clip and its words), cross_lingual and instruct2
            mode = params.setdefault("mode", "zero_shot")
            if mode in ("zero_shot", "cross_lingual", "instruct2"):
                params["prompt_wav"] = str(local)
            if mode == "zero_shot":
                params["prompt_text"] = text
    return voice_spec(voice.engine, voice.voice, voice.rate, voice.pitch, params)
