"""Lives for tests and benches: built by the real builder, with their events recorded."""
from __future__ import annotations

import threading
import time
import uuid

from streamer.avatar.store import load_avatar
from streamer.build import LiveSpec, Output, Resources, build_live
from streamer.live import Live
from streamer.pipeline.compositor import Canvas
from streamer.room import RoomPolicy
from streamer.scene.spec import Scene
from streamer.script import parse_script
from streamer.selling.products import Catalog
from streamer.settings import Settings

W, H = 320, 568
LONG_SCRIPT = {"segments": [
    {"say": "Welcome to the shop, where today we look at a long list of products and talk about every one "
            "of them in great detail, so please stay with us for a while."},
    {"say": "The second sentence of the script comes after the first one, and it is also rather long."},
], "loop": 0}


class Recorder:
    """Collects a live's events with the wall time they happened; waits for one to show up."""

    def __init__(self):
        self.events: list[tuple[float, str, dict]] = []
        self._cv = threading.Condition()

    def __call__(self, kind: str, **fields) -> None:
        with self._cv:
            self.events.append((time.time(), kind, fields))
            self._cv.notify_all()

    def wait(self, pred, timeout: float, after: float = 0.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for t, kind, f in self.events:
                    if t >= after and pred(kind, f):
                        return t, f
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def of(self, kind: str, **match) -> list[tuple[float, dict]]:
        return [(t, f) for t, k, f in self.events if k == kind and all(f.get(a) == b for a, b in match.items())]


def utterance_start(text=None, source=None):
    return lambda kind, f: (kind == "utterance" and f.get("state") == "start"
                            and (text is None or f["text"] == text) and (source is None or f.get("source") == source))


def start_live(avatars_dir, output: Output, *, replier=None, policy=None, bus=None, script=LONG_SCRIPT,
               realtime=True, size=(W, H), sources=(), catalog=Catalog(), voice="espeak:en",
               scene=Scene(), **settings) -> tuple[Live, Recorder]:
    """A live of the default avatar speaking `script` with espeak (English; "espeak": by the
    text's language) and parametric lipsync, started; commands from `bus` when given, viewers
    from `sources`, products from `catalog`, the `scene` drawn around it; `settings`: more streamer settings (bilibili_api_base=...)."""
    settings = Settings(width=size[0], height=size[1], avatars_dir=avatars_dir, **settings)
    events = Recorder()
    spec = LiveSpec(script=parse_script(script), output=output, id=f"t-{uuid.uuid4().hex[:10]}", voice=voice,
                    lipsync="parametric", policy=policy or RoomPolicy(), realtime=realtime, sources=tuple(sources),
                    catalog=catalog, scene=scene)
    live = build_live(spec, Resources(settings), replier=replier, bus=bus, worker="test", on_event=events)
    live.start()
    return live, events


def end_live(live: Live) -> None:
    live.stop()
    assert live.state == "ended", live.errors


def mouth_box_on_canvas(avatars_dir, width: int, height: int) -> tuple[int, int, int, int]:
    """The box on a width x height canvas that holds the default avatar's mouth in every frame."""
    avatar = load_avatar(avatars_dir, "default")
    canvas = Canvas(avatar, width, height)
    x1, y1 = avatar.mouths[:, 0].min(), avatar.mouths[:, 1].min()
    x2, y2 = avatar.mouths[:, 2].max(), avatar.mouths[:, 3].max()
    s = canvas.scale
    return (int(canvas.x0 + x1 * s), int(canvas.y0 + y1 * s), int(canvas.x0 + x2 * s), int(canvas.y0 + y2 * s))
