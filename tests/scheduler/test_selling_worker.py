"""A worker gives its live the products it sells and keeps what the live kept off the air: the
room's shelf and the script's products (archived ones too) with the room's knowledge go into the
live's catalog, and the live's "compliance" events, reported from its own threads, end up as
rows of the session. On SQLite and MariaDB; the live itself is a stand-in that reports events (the
streamer's tests cover a real one), so these run in a second."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from sqlalchemy import select

from db.database import Database
from db.models import Avatar, ComplianceEvent, LiveSession, Product, Room, Script, SessionStatus, Voice
from scheduler import worker
from scheduler.dispatch import DispatchSettings, Local
from scheduler.worker import LiveRunner, WorkerContext
from streamer.build import LiveSpec
from streamer.control.bus import MemoryBus
from streamer.director import Position
from streamer.live import LiveState
from streamer.settings import Settings

FAQ = [{"q": "几号链接", "a": "3号链接。"}]
EVENTS = [  # what a live reports (streamer: the "compliance" event)
    {"where": "reply", "words": ["第一"], "action": "reasked", "text": "我们是全网第一。"},
    {"where": "reply", "words": ["第一"], "action": "replaced", "text": "真的是第一。"},
    {"where": "rewording", "words": ["最", "顶级"], "action": "original", "text": "最顶级的好茶。" * 60},
    {"where": "viewer", "words": ["国家级"], "action": "dropped", "text": "国家级品鉴师", "at": 1_900_000_000.5},
]


class StandIn:
    """A live that reports the compliance events from a thread of its own, then ends."""

    def __init__(self, on_event):
        self.on_event, self.state, self.errors = on_event, LiveState.ENDED, []
        self.done = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._play, name="stand-in-live", daemon=True).start()

    def _play(self) -> None:
        for fields in EVENTS:
            self.on_event("compliance", **fields)
        self.done.set()

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def stop(self) -> None:
        pass

    def resume_position(self) -> Position:
        return Position()


def selling_session(db: Database) -> tuple[int, dict[str, int]]:
    """A queued live of a room with a shelf, playing a script that names products."""
    with db.sessions() as s:
        products = {name: Product(name=name, price=price, faq=FAQ, link="3号链接")
                    for name, price in (("shelf", 129.9), ("in script", 59), ("archived", None), ("unused", 1))}
        s.add_all(products.values())
        s.flush()
        products["archived"].archived_at = datetime.now(timezone.utc)
        ids = {name: p.id for name, p in products.items()}
        room = Room(name="r", platform="douyin", server_url="rtmp://127.0.0.1:1935/live",
                    settings={"products": [ids["shelf"], 987654], "knowledge": "全国包邮。"})
        script = Script(name="sale", loop=0, segments=[{"product": ids["in script"]}, {"say": "这款很好。"},
                                                       {"product": ids["archived"]}, {"say": "这款也好。"},
                                                       {"product": ids["shelf"]}, {"say": "最后一款。"}])
        return queue_live(s, room, script), ids


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


def run_live(database: Database, session_id: int, monkeypatch, **dispatch) -> LiveSpec:
    """Run the live as a worker does, with a stand-in for the live; what the worker built it from."""
    built = []

    def build_live(spec, resources, **kw):
        built.append(spec)
        return StandIn(kw["on_event"])

    monkeypatch.setattr(worker, "build_live", build_live)
    ctx = WorkerContext(DispatchSettings(database_url=database.url, data_key="k" * 20, **dispatch), Settings(),
                        "w1", 1, local=Local(bus=MemoryBus()))
    assert LiveRunner(ctx, session_id).run() == "ended"
    (spec,) = built
    return spec


def test_the_live_knows_its_products_and_its_compliance_events_are_kept(any_database, monkeypatch):
    database = any_database
    sid, ids = selling_session(database)
    spec = run_live(database, sid, monkeypatch)
    catalog = spec.catalog
    assert [p.id for p in catalog.products] == [str(ids[n]) for n in ("shelf", "in script", "archived")]
    assert catalog.knowledge == "全国包邮。"
    shelf = catalog.get(ids["shelf"])
    assert (shelf.name, shelf.price, shelf.link, shelf.faq[0].a) == ("shelf", 129.9, "3号链接", "3号链接。")
    assert catalog.get(ids["archived"]).price is None and catalog.get(ids["unused"]) is None

    with database.sessions() as s:
        assert s.get(LiveSession, sid).status == SessionStatus.ENDED
        rows = s.scalars(select(ComplianceEvent).where(ComplianceEvent.session_id == sid)
                         .order_by(ComplianceEvent.id)).all()
    assert [(r.where, r.words, r.action) for r in rows] == [(e["where"], e["words"], e["action"]) for e in EVENTS]
    assert [r.text for r in rows] == [e["text"][:300] for e in EVENTS]  # what was not said, at most 300 characters
    assert rows[3].at == datetime.fromtimestamp(1_900_000_000.5, timezone.utc)
