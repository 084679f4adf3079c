"""Lives start on time, on any worker, and survive a worker's death: real MariaDB, Redis, Celery
worker processes, the scheduler as a process, nginx-rtmp receiving the pushes."""
from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
import redis

from streamer.control.bus import RedisBus
from streamer.script import split_sentences
from tests.helpers.deployment import LONG_SCRIPT, utcnow
from tests.helpers.media import Player

pytestmark = pytest.mark.slow


def first_arrival(player: Player, after: float = 0.0) -> float | None:
    times = [a for a, _, _ in list(player.audio) + list(player.video) if a >= after]
    return min(times) if times else None


def test_a_scheduled_live_reaches_the_ingest_on_time_and_stops_at_its_end(deployment):
    d = deployment
    room, script = d.room("onair"), d.script()
    d.scheduler()
    d.worker("wA")
    d.wait_workers("wA")
    player = Player(d.nginx.url("onair"), timeout=30)
    player.start()
    start = utcnow() + timedelta(seconds=3)
    end = start + timedelta(seconds=6)
    schedule_id = d.schedule(room, script, start, end)

    seen: list[str] = []

    def ended():
        with d.db.sessions() as s:
            from db.models import LiveSession
            from sqlalchemy import select
            live = s.scalar(select(LiveSession).where(LiveSession.schedule_id == schedule_id))
        if live is not None and (not seen or seen[-1] != live.status):
            seen.append(live.status)
        return live if live is not None and live.status in ("ended", "failed") else None

    live = d.wait_for(ended, 30, step=0.05)
    player.stop()
    assert live is not None, f"the live never ended (states {seen})\n" + d.logs()
    assert live.status == "ended", live.last_error
    got = first_arrival(player)
    assert got is not None, "the ingest never received the live\n" + d.logs()
    delay = got - start.timestamp()
    assert -0.1 <= delay <= 1.5, f"first media at the ingest {delay:.2f} s after the start time"
    assert abs((live.ended_at - end).total_seconds()) < 3.0, f"ended at {live.ended_at}, planned {end}"
    last = max(a for a, _, _ in player.video)
    assert last <= end.timestamp() + 3.0, "the push went on after the end time"
    order = [s for s in seen if s in ("queued", "live", "ended")]
    assert order == ["queued", "live", "ended"], f"session states {seen}"
    assert live.scheduled_at == start and live.started_at is not None and live.worker == "wA"


def test_killing_the_worker_of_a_live_resumes_it_on_another_from_its_script_position(deployment):
    d = deployment
    room, script = d.room("survive"), d.script()
    session_id = d.go_live(room, script)
    d.scheduler()
    workers = {"wA": d.worker("wA"), "wB": d.worker("wB")}
    d.wait_workers("wA", "wB")
    assert d.wait_for(lambda: d.session(session_id).status == "live", 30), d.logs()
    moved = d.wait_for(lambda: d.session(session_id).position not in ({}, {"round": 0, "segment": 0, "sentence": 0}),
                       30)
    assert moved, "the script position was never saved"
    time.sleep(1.0)
    before = d.session(session_id)
    victim, other = before.worker, ({"wA", "wB"} - {before.worker}).pop()
    saved = before.position

    workers[victim].send_signal(signal.SIGKILL)
    killed = time.time()
    player = Player(d.nginx.url("survive"), timeout=30)
    player.start()
    resumed = d.wait_for(lambda: (lambda s: s if s.status == "live" and s.worker == other else None)(
        d.session(session_id)), 20, step=0.1)
    assert resumed is not None, "the live was not resumed\n" + d.logs()
    back = d.wait_for(lambda: first_arrival(player, killed), 20)
    player.stop()
    assert back is not None, "the ingest never received the live again"
    assert back - killed <= 15.0, f"the ingest got the live again {back - killed:.1f} s after the kill"
    assert resumed.attempts == 2 and "stopped responding" in (resumed.last_error or "")

    # The new worker went on from the position the dead one had reached.
    bus = RedisBus(redis.Redis.from_url(d.redis_url))

    def first_said_again():
        events = [e for _, e in bus.events(session_id, after="0", count=1000)]
        return next((e for e in events if e.get("type") == "utterance" and e.get("state") == "start"
                     and e.get("at", 0) > killed), None)

    first_again = d.wait_for(first_said_again, 15)
    assert first_again is not None, "the resumed live never said anything\n" + d.logs()
    sentences = split_sentences(LONG_SCRIPT[saved["segment"]]["say"])
    assert first_again["text"] == sentences[saved["sentence"]], (saved, first_again["text"])


def test_two_schedulers_start_each_due_schedule_exactly_once(deployment):
    d = deployment
    script = d.script()
    start = utcnow() + timedelta(seconds=2)
    schedules = [d.schedule(d.room(f"twice{i}"), script, start, start + timedelta(minutes=5)) for i in range(8)]
    d.scheduler("s1")
    d.scheduler("s2")
    time.sleep(2 + 4)
    from sqlalchemy import func, select

    from db.models import LiveSession, Schedule
    with d.db.sessions() as s:
        counts = dict(s.execute(select(LiveSession.schedule_id, func.count()).group_by(LiveSession.schedule_id)).all())
        dispatched = s.scalars(select(Schedule.dispatched_at)).all()
    assert counts == {sid: 1 for sid in schedules}, counts
    assert all(t is not None for t in dispatched)
    logs = d.logs()
    assert "schedule(s) started" in logs


def test_more_lives_than_slots_wait_queued_with_a_position_then_start(deployment):
    d = deployment
    script = d.script()
    rooms = d.room("slot1"), d.room("slot2")
    d.scheduler()
    d.worker("wA", slots=1)
    d.wait_workers("wA")  # up first: the first live's 8 s do not include the processes' start
    first = d.go_live(rooms[0], script, duration_s=8)
    second = d.go_live(rooms[1], script)
    assert d.wait_for(lambda: d.session(first).status == "live", 30), d.logs()
    time.sleep(1.5)
    api = d.api("viewer")
    body = api.get(f"/api/sessions/{second}").get_json()
    assert body["status"] == "queued" and body["queue_position"] == 1, body
    assert body["estimated_wait_s"] is not None and 0 < body["estimated_wait_s"] <= 8, body
    started = d.wait_for(lambda: d.session(second).status == "live", 25)
    assert started, "the queued live never started\n" + d.logs()
    a, b = d.session(first), d.session(second)
    assert a.status == "ended" and b.started_at >= a.ended_at - timedelta(seconds=1)
    assert api.get(f"/api/sessions/{second}").get_json()["queue_position"] is None


def test_sigterm_stops_a_workers_lives_cleanly_and_another_worker_takes_them(deployment):
    d = deployment
    session_id = d.go_live(d.room("handover"), d.script())
    d.scheduler()
    workers = {"wA": d.worker("wA")}
    d.wait_workers("wA")
    assert d.wait_for(lambda: d.session(session_id).status == "live", 30), d.logs()
    workers["wB"] = d.worker("wB")
    d.wait_workers("wB")
    t = time.time()
    workers["wA"].send_signal(signal.SIGTERM)
    assert workers["wA"].wait(20) == 0, d.logs()
    taken = d.wait_for(lambda: (lambda s: s if s.status == "live" and s.worker == "wB" else None)(
        d.session(session_id)), 15)
    assert taken is not None, "no other worker took the live\n" + d.logs()
    assert time.time() - t < 15
    assert "handed back" in (taken.last_error or "") and taken.attempts == 2


def test_a_live_whose_session_row_is_deleted_is_stopped_by_its_worker_not_left_on_air(deployment):
    from sqlalchemy import delete

    from db.models import LiveSession

    d = deployment
    room, script = d.room("orphan"), d.script()
    player = Player(d.nginx.url("orphan"), timeout=30)
    player.start()
    live = d.go_live(room, script)
    d.scheduler()
    d.worker("wA")
    d.wait_workers("wA")
    assert d.wait_for(lambda: d.session(live).status == "live", 30), d.logs()
    assert d.wait_for(lambda: player.video, 15), "the live never reached the ingest\n" + d.logs()
    with d.db.sessions() as s:  # as a hand-made DELETE would: nobody can see or stop the live any more
        s.execute(delete(LiveSession).where(LiveSession.id == live))
        s.commit()
    deleted = time.time()
    assert d.wait_for(lambda: "its row is gone from the database" in d.logs(), 15), d.logs()
    time.sleep(2.0)
    player.stop()
    last = max(a for a, _, _ in player.video)
    assert last < deleted + 6.0, f"media still arrived {last - deleted:.1f} s after the row was deleted"
