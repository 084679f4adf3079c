"""What the API and the workers share of the media library: where a file is kept, which media a
room's stored scene names, and the streamer's Scene of a stored scene with those ids resolved."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import Media
from streamer.room import room_language
from streamer.scene.spec import Scene


def media_path(var_dir: Path, media: Media) -> Path:
    return var_dir / "media" / Path(media.file).name


def media_ids(scene: Any) -> list[tuple[str, int, str]]:
    """(field, media id, the kind it must be) of every medium a stored scene names."""
    if not isinstance(scene, dict):
        return []
    out = []
    background = scene.get("background") or {}
    if background.get("type") in ("image", "video") and isinstance(background.get("media"), int):
        out.append(("background.media", background["media"], background["type"]))
    if isinstance(scene.get("logo"), dict) and isinstance(scene["logo"].get("media"), int):
        out.append(("logo.media", scene["logo"]["media"], "image"))
    out += [(f"music.playlist.{i}", ident, "audio")
            for i, ident in enumerate((scene.get("music") or {}).get("playlist") or []) if isinstance(ident, int)]
    return out


def scene_media_paths(s, scene: Any, var_dir: Path) -> dict[int, Path]:
    """{id: file} of the media a stored scene names that the library still has."""
    ids = {ident for _, ident, _ in media_ids(scene)}
    rows = s.scalars(select(Media).where(Media.id.in_(ids))) if ids else []
    return {m.id: media_path(var_dir, m) for m in rows}


def scene_for_live(scene: Any, platform: str | None, language: Any, paths: dict[int, Path]) -> Scene:
    """The streamer's Scene of a stored scene (keys left out take their defaults), media ids
    resolved through `paths`; a medium gone from the library is left out (a background falls back
    to the blur). SettingsError if the stored scene is wrong."""
    data = dict(scene) if isinstance(scene, dict) else {}
    background = data.get("background")
    if isinstance(background, dict) and background.get("type") in ("image", "video"):
        path = paths.get(background.get("media"))
        data["background"] = {"type": background["type"], "media": str(path)} if path else {"type": "blur"}
    logo = data.get("logo")
    if isinstance(logo, dict):
        path = paths.get(logo.get("media"))
        data["logo"] = {**logo, "media": str(path)} if path else None
    music = data.get("music")
    if isinstance(music, dict):
        data["music"] = {**music, "playlist": [str(paths[i]) for i in music.get("playlist") or [] if i in paths]}
    return Scene.from_settings(data, platform,
                               room_language(language if language in ("zh", "en") else "auto", platform))
