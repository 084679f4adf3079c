"""A worker's live run with a stand-in for the live: what the worker built it from, and the events
it reports, in a second (the streamer's own tests cover real lives)."""
from __future__ import annotations

import threading

from db.database import Database
from db.models import Avatar, LiveSession, Room, Script, SessionStatus, Voice
from scheduler import worker
from scheduler.dispatch import DispatchSettings, Local
from scheduler.worker import LiveRunner, WorkerContext
from streamer.build import LiveSpec
from streamer.control.bus import MemoryBus
from streamer.director import Position
from streamer.live import LiveState
from streamer.settings import Settings


class StandIn:
    """A live that reports `events` (compliance events) from a thread of its own, then ends."""

    def __init__(self, on_event, events=()):
        self.on_event, self.events, self.state, self.errors = on_event, events, LiveState.ENDED, []
        self.done = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._play, name="stand-in-live", daemon=True).start()

    def _play(self) -> None:
        for fields in self.events:
            self.on_event("compliance", **fields)
        self.done.set()

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def stop(self) -> None:
        pass

    def resume_position(self) -> Position:
        return Position()

    def status(self) -> dict:
        return {"seconds": 0.0, "destinations": []}


def queue_live(s, room: Room, script: Script) -> int:
    """Add `room` and `script` with the default avatar and an espeak voice, and a queued live of them."""
    avatar, voice = Avatar(slug="default", name="d", status="ready"), Voice(name="v", engine="espeak")
    s.add_all([room, script, avatar, voice])
    s.flush()
    live = LiveSession(room_id=room.id, script_id=script.id, avatar_id=avatar.id, voice_id=voice.id,
                       status=SessionStatus.QUEUED)
    s.add(live)
    s.commit()
    return live.id


def run_live(database: Database, session_id: int, monkeypatch, events=(), **dispatch) -> LiveSpec:
    """Run the live as a worker does, with a stand-in for the live; what the worker built it from."""
    built = []

    def build_live(spec, resources, **kw):
        built.append(spec)
        return StandIn(kw["on_event"], events)

    monkeypatch.setattr(worker, "build_live", build_live)
    ctx = WorkerContext(DispatchSettings(database_url=database.url, data_key="k" * 20, **dispatch), Settings(),
                        "w1", 1, local=Local(bus=MemoryBus()))
    assert LiveRunner(ctx, session_id).run() == "ended"
    (spec,) = built
    return spec
