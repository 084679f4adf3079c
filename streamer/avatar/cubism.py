"""What a Live2D model's setting file says of it (Cubism 2 `model.json` or Cubism 3/4 `*.model3.json`):
its motion groups and expressions, which are also the avatar's actions."""
from __future__ import annotations

import json
import re
from pathlib import Path

IDLE_GROUPS = ("idle", "Idle")  # the motion group played when nothing else is
ACTION_S = 3.0  # how long an expression is held, or a motion given, when played as an action
ACTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # an action's name: a clip's folder, a model's expression or motion


def motion_groups(model_file: Path) -> dict[str, int]:
    """{motion group: how many motions} of a model, from its model json (Cubism 2 or 3)."""
    try:
        setting = json.loads(Path(model_file).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    groups = setting.get("motions") if "motions" in setting else (setting.get("FileReferences") or {}).get("Motions")
    return {str(k): len(v) for k, v in (groups or {}).items() if isinstance(v, list)}


def expressions(model_file: Path) -> list[str]:
    """The names of a model's expressions, from its model json (Cubism 2 or 3)."""
    try:
        setting = json.loads(Path(model_file).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return []
    found = setting.get("expressions") if "expressions" in setting else \
        (setting.get("FileReferences") or {}).get("Expressions")
    return [str(e.get("name") or e.get("Name")) for e in found or [] if isinstance(e, dict)
            and (e.get("name") or e.get("Name"))]


def model_actions(model_file: Path) -> list[str]:
    """The avatar's actions of a model: its expressions, then its motion groups but idle (names the
    action command can take)."""
    names = expressions(model_file) + [g for g in motion_groups(model_file) if g not in IDLE_GROUPS]
    return [n for n in dict.fromkeys(names) if ACTION_NAME.match(n)]
