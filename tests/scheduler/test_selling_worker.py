"""A worker gives its live the products it sells and keeps what the live kept off the air: the
room's shelf and the script's products (archived ones too) with the room's knowledge go into the
live's catalog, and the live's "compliance" events, reported from its own threads, end up as
rows of the session. On SQLite and MariaDB; the live itself is a stand-in that reports events (the
streamer's tests cover a real one), so these run in a second."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from db.database import Database
from db.models import ComplianceEvent, LiveSession, Product, Room, Script, SessionStatus
from tests.helpers.worker import queue_live, run_live

FAQ = [{"q": "几号链接", "a": "3号链接。"}]
EVENTS = [  # what a live reports (streamer: the "compliance" event)
    {"where": "reply", "words": ["第一"], "action": "reasked", "text": "我们是全网第一。"},
    {"where": "reply", "words": ["第一"], "action": "replaced", "text": "真的是第一。"},
    {"where": "rewording", "words": ["最", "顶级"], "action": "original", "text": "最顶级的好茶。" * 60},
    {"where": "viewer", "words": ["国家级"], "action": "dropped", "text": "国家级品鉴师", "at": 1_900_000_000.5},
]


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


def test_the_live_knows_its_products_and_its_compliance_events_are_kept(any_database, monkeypatch):
    database = any_database
    sid, ids = selling_session(database)
    spec = run_live(database, sid, monkeypatch, events=EVENTS)
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
