"""One scheduler pass, specified: Scheduler.tick(now) on a SQLite database and a private Redis (Celery's
broker and the control bus), with explicit clocks. The end-to-end behaviour with real workers is in
test_scheduler.py; these are the fast rules it is built from."""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis
from sqlalchemy import select

from db.database import Database
from db.models import Avatar, LiveSession, Room, Schedule, Script, Voice
from scheduler.claims import MemoryClaims, RedisClaims, Renewal, owner_key
from scheduler.dispatch import DispatchSettings, Scheduler
from scheduler.queue import QUEUE
from streamer.control.bus import RedisBus
from tests.helpers.process import wait_for

NOW = datetime(2031, 5, 4, 10, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


class Rows:
    """The rows a pass works on, written with the models as the API would."""

    def __init__(self, db: Database):
        self.db = db
        with db.sessions() as s:
            avatar = Avatar(slug="default", name="Default", status="ready", progress=1.0, frames=75)
            voice = Voice(name="espeak", engine="espeak", voice="en")
            script = Script(name="test", loop=0, segments=[{"say": "Hello."}])
            s.add_all([avatar, voice, script])
            s.commit()
            self.avatar_id, self.voice_id, self.script_id = avatar.id, voice.id, script.id
        self.room_id = self.room("main")

    def room(self, name: str) -> int:
        with self.db.sessions() as s:
            room = Room(name=name, platform="custom", server_url="rtmp://127.0.0.1:1935/live")
            s.add(room)
            s.commit()
            return room.id

    def schedule(self, start: datetime, end: datetime, repeat: str = "none", room_id: int | None = None) -> int:
        with self.db.sessions() as s:
            sch = Schedule(room_id=room_id or self.room_id, script_id=self.script_id, avatar_id=self.avatar_id,
                           voice_id=self.voice_id, start_at=start, end_at=end, repeat=repeat)
            s.add(sch)
            s.commit()
            return sch.id

    def live(self, status: str, room_id: int | None = None, **values) -> int:
        with self.db.sessions() as s:
            live = LiveSession(room_id=room_id or self.room_id, script_id=self.script_id, avatar_id=self.avatar_id,
                               voice_id=self.voice_id, status=status, created_at=values.pop("created_at", NOW - HOUR),
                               **values)
            s.add(live)
            s.commit()
            return live.id

    def avatar_status(self, status: str) -> None:
        with self.db.sessions() as s:
            s.get(Avatar, self.avatar_id).status = status
            s.commit()

    def get(self, model, row_id: int):
        with self.db.sessions() as s:
            return s.get(model, row_id)

    def sessions_of(self, schedule_id: int) -> list[LiveSession]:
        with self.db.sessions() as s:
            return list(s.scalars(select(LiveSession).where(LiveSession.schedule_id == schedule_id)
                                  .order_by(LiveSession.id)))


@pytest.fixture
def rows(tmp_path):
    from db.commands import upgrade

    url = f"sqlite:///{tmp_path / 'dispatch.db'}"
    upgrade(url)
    db = Database(url)
    yield Rows(db)
    db.dispose()


@pytest.fixture
def broker(redis_server):
    r = redis.Redis.from_url(redis_server.url)
    yield r
    r.close()


def make_scheduler(rows: Rows, redis_url: str, **settings) -> Scheduler:
    return Scheduler(DispatchSettings(database_url=rows.db.url, redis_url=redis_url, data_key="k" * 20,
                                      max_attempts=3, **settings))


@pytest.fixture
def sched(rows, redis_server):
    scheduler = make_scheduler(rows, redis_server.url)
    yield scheduler
    scheduler.close()


def enqueued_ids(r: redis.Redis) -> list[int]:
    """The session ids of the run_live messages waiting on the worker queue, oldest first."""
    ids = []
    for raw in reversed(r.lrange(QUEUE, 0, -1)):  # Celery LPUSHes: the oldest message is last
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.append(args[0])
    return ids


# -- schedules -> sessions ----------------------------------------------------------------------------

@pytest.mark.parametrize("early, due", [(timedelta(seconds=3.5), False), (timedelta(seconds=3), True),
                                        (timedelta(seconds=1), True), (timedelta(0), True)])
def test_a_schedule_is_due_from_three_seconds_before_its_start(rows, sched, broker, early, due):
    start = NOW + HOUR
    schedule_id = rows.schedule(start, start + HOUR)

    assert sched.tick(start - early)["created"] == int(due)

    assert len(rows.sessions_of(schedule_id)) == int(due)
    assert broker.llen(QUEUE) == int(due)
    assert (rows.get(Schedule, schedule_id).dispatched_at is not None) == due


def test_a_one_off_schedule_becomes_exactly_one_queued_session_enqueued_once(rows, sched, broker):
    start, end = NOW + timedelta(seconds=2), NOW + HOUR
    schedule_id = rows.schedule(start, end)

    assert sched.tick(NOW) == {"created": 1, "enqueued": 1, "stopped": 0, "recovered": 0}
    assert sched.tick(NOW + timedelta(seconds=1)) == {"created": 0, "enqueued": 0, "stopped": 0, "recovered": 0}
    assert sched.tick(start + timedelta(seconds=5))["created"] == 0

    [live] = rows.sessions_of(schedule_id)
    assert live.status == "queued", live.last_error
    assert (live.scheduled_at, live.planned_end_at) == (start, end)
    assert (live.room_id, live.avatar_id, live.voice_id, live.script_id) == \
        (rows.room_id, rows.avatar_id, rows.voice_id, rows.script_id)
    assert live.enqueued_at == NOW
    assert live.last_error is None
    assert rows.get(Schedule, schedule_id).dispatched_at == NOW
    assert enqueued_ids(broker) == [live.id]


@pytest.mark.parametrize("repeat, period", [("daily", timedelta(days=1)), ("weekly", timedelta(days=7))])
def test_a_repeating_schedule_moves_to_its_next_occurrence_after_dispatch(rows, sched, broker, repeat, period):
    start, end = NOW, NOW + HOUR
    schedule_id = rows.schedule(start, end, repeat=repeat)

    assert sched.tick(NOW)["created"] == 1
    assert sched.tick(NOW + timedelta(minutes=30))["created"] == 0  # the next one is not due yet

    sch = rows.get(Schedule, schedule_id)
    assert (sch.start_at, sch.end_at) == (start + period, end + period)
    assert sch.dispatched_at is None
    [live] = rows.sessions_of(schedule_id)
    assert (live.status, live.scheduled_at, live.planned_end_at) == ("queued", start, end)
    assert enqueued_ids(broker) == [live.id]

    assert sched.tick(start + period)["created"] == 1  # and it runs again at the next occurrence
    assert [x.scheduled_at for x in rows.sessions_of(schedule_id)] == [start, start + period]


def test_occurrences_missed_while_the_scheduler_was_down_are_skipped_to_the_next_that_has_not_ended(rows, sched,
                                                                                                      broker):
    first = NOW - timedelta(days=3)
    schedule_id = rows.schedule(first, first + HOUR, repeat="daily")
    now = NOW + timedelta(minutes=30)  # today's occurrence (10:00-11:00) is under way

    assert sched.tick(now)["created"] == 1  # one record of the miss, not one per missed day

    sch = rows.get(Schedule, schedule_id)
    assert (sch.start_at, sch.end_at) == (NOW, NOW + HOUR)
    assert sch.dispatched_at is None
    [missed] = rows.sessions_of(schedule_id)
    assert missed.status == "failed" and missed.last_error.startswith("missed")
    assert broker.llen(QUEUE) == 0

    assert sched.tick(now + timedelta(seconds=1))["created"] == 1  # today's still has time left: it starts
    today = rows.sessions_of(schedule_id)[-1]
    assert (today.status, today.scheduled_at, today.planned_end_at) == ("queued", NOW, NOW + HOUR)
    assert enqueued_ids(broker) == [today.id]
    assert rows.get(Schedule, schedule_id).start_at == NOW + timedelta(days=1)


@pytest.mark.parametrize("end", [NOW - HOUR, NOW])
def test_a_schedule_whose_end_has_passed_gives_a_failed_session_saying_it_was_missed(rows, sched, broker, end):
    schedule_id = rows.schedule(NOW - 2 * HOUR, end)

    sched.tick(NOW)

    [live] = rows.sessions_of(schedule_id)
    assert live.status == "failed"
    assert live.last_error.startswith("missed"), live.last_error
    assert live.ended_at == NOW
    assert rows.get(Schedule, schedule_id).dispatched_at == NOW
    assert broker.llen(QUEUE) == 0


def test_a_schedule_whose_avatar_is_not_ready_fails_naming_the_avatar_and_its_status(rows, sched, broker):
    rows.avatar_status("preparing")
    schedule_id = rows.schedule(NOW, NOW + HOUR)

    sched.tick(NOW)

    [live] = rows.sessions_of(schedule_id)
    assert live.status == "failed"
    assert f"avatar {rows.avatar_id}" in live.last_error and "preparing" in live.last_error, live.last_error
    assert broker.llen(QUEUE) == 0


@pytest.mark.parametrize("busy_status", ["queued", "live"])
def test_a_schedule_for_a_busy_room_fails_naming_the_session_that_holds_it(rows, sched, broker, busy_status):
    busy = rows.live(busy_status, enqueued_at=NOW - HOUR, worker="w1" if busy_status == "live" else None)
    if busy_status == "live":
        RedisClaims(broker).claim(busy, "w1", 30)
    schedule_id = rows.schedule(NOW, NOW + HOUR)

    sched.tick(NOW)

    [live] = rows.sessions_of(schedule_id)
    assert live.status == "failed"
    assert f"session {busy}" in live.last_error, live.last_error
    assert live.id not in enqueued_ids(broker)
    assert rows.get(LiveSession, busy).status == busy_status


def test_two_schedules_of_one_room_due_in_the_same_pass_start_only_one(rows, sched, broker):
    first = rows.schedule(NOW, NOW + HOUR)
    second = rows.schedule(NOW + timedelta(seconds=1), NOW + HOUR)

    sched.tick(NOW)

    [a], [b] = rows.sessions_of(first), rows.sessions_of(second)
    assert a.status == "queued"
    assert b.status == "failed" and f"session {a.id}" in b.last_error, b.last_error
    assert enqueued_ids(broker) == [a.id]


def test_schedules_of_different_rooms_start_independently(rows, sched, broker):
    other = rows.room("other")
    first = rows.schedule(NOW, NOW + HOUR)
    second = rows.schedule(NOW, NOW + HOUR, room_id=other)

    assert sched.tick(NOW)["created"] == 2

    [a], [b] = rows.sessions_of(first), rows.sessions_of(second)
    assert (a.status, b.status) == ("queued", "queued")
    assert sorted(enqueued_ids(broker)) == sorted([a.id, b.id])


def test_a_disabled_schedule_is_not_started(rows, sched, broker):
    schedule_id = rows.schedule(NOW, NOW + HOUR)
    with rows.db.sessions() as s:
        s.get(Schedule, schedule_id).enabled = False
        s.commit()

    assert sched.tick(NOW)["created"] == 0
    assert rows.sessions_of(schedule_id) == []


# -- queued sessions -> the worker queue --------------------------------------------------------------

def test_a_queued_session_whose_end_passed_before_it_was_enqueued_fails(rows, sched, broker):
    late = rows.live("queued", planned_end_at=NOW)

    assert sched.tick(NOW)["enqueued"] == 0

    live = rows.get(LiveSession, late)
    assert live.status == "failed"
    assert "did not start before its end time" in live.last_error
    assert live.ended_at == NOW
    assert broker.llen(QUEUE) == 0


def test_a_go_live_now_session_is_enqueued_once(rows, sched, broker):
    now_live = rows.live("queued")  # no planned end: runs until stopped

    assert sched.tick(NOW)["enqueued"] == 1
    assert sched.tick(NOW + timedelta(seconds=1))["enqueued"] == 0

    assert rows.get(LiveSession, now_live).enqueued_at == NOW
    assert enqueued_ids(broker) == [now_live]


def test_a_queued_session_that_waited_on_the_queue_past_its_end_fails(rows, sched, broker):
    waiting = rows.live("queued", planned_end_at=NOW + HOUR)
    assert sched.tick(NOW)["enqueued"] == 1  # no worker takes it

    sched.tick(NOW + 2 * HOUR)

    live = rows.get(LiveSession, waiting)
    assert live.status == "failed" and "did not start before its end time" in live.last_error


def test_a_task_the_queue_lost_is_enqueued_again(rows, sched, broker):
    lost = rows.live("queued")
    sched.tick(NOW)
    broker.delete(QUEUE)  # Redis restarted without its data

    assert sched.tick(NOW + timedelta(seconds=5))["enqueued"] == 0  # it may just be on its way to a worker
    assert sched.tick(NOW + timedelta(seconds=11))["enqueued"] == 1
    assert enqueued_ids(broker) == [lost]


# -- end times ----------------------------------------------------------------------------------------

def stop_commands(broker: redis.Redis, session_id: int) -> list[dict]:
    return [c for _id, c in RedisBus(broker).commands(session_id, after="0") if c.get("type") == "stop"]


@pytest.mark.parametrize("status", ["live", "starting"])
def test_a_live_is_stopped_once_at_its_planned_end(rows, sched, broker, status):
    ending = rows.live(status, worker="w1", planned_end_at=NOW, enqueued_at=NOW - HOUR)
    RedisClaims(broker).claim(ending, "w1", 30)

    assert sched.tick(NOW)["stopped"] == 1
    assert sched.tick(NOW + timedelta(seconds=1))["stopped"] == 0

    assert rows.get(LiveSession, ending).status == "stopping"
    [stop] = stop_commands(broker, ending)
    assert stop["by"] == "scheduler"


def test_a_live_before_its_planned_end_is_left_running(rows, sched, broker):
    running = rows.live("live", worker="w1", planned_end_at=NOW + timedelta(seconds=1), enqueued_at=NOW - HOUR)
    RedisClaims(broker).claim(running, "w1", 30)

    assert sched.tick(NOW) == {"created": 0, "enqueued": 0, "stopped": 0, "recovered": 0}

    assert rows.get(LiveSession, running).status == "live"
    assert stop_commands(broker, running) == []


# -- dead workers -------------------------------------------------------------------------------------

TTL = timedelta(seconds=DispatchSettings.model_fields["claim_ttl_s"].default)


@pytest.mark.parametrize("status", ["live", "starting"])
def test_a_live_whose_worker_stopped_responding_is_queued_again(rows, sched, broker, status):
    lost = rows.live(status, worker="w1", attempts=1, enqueued_at=NOW - HOUR, started_at=NOW - HOUR)

    assert sched.tick(NOW)["recovered"] == 0  # its claim may just be coming back (Redis lost it)
    assert sched.tick(NOW + TTL)["recovered"] == 1

    live = rows.get(LiveSession, lost)
    assert (live.status, live.enqueued_at, live.worker) == ("queued", None, None)
    assert "worker w1 stopped responding" in live.last_error, live.last_error
    assert "attempt 2 of 3" in live.last_error, live.last_error

    assert sched.tick(NOW + TTL + timedelta(seconds=1))["enqueued"] == 1  # the next pass dispatches it again
    assert enqueued_ids(broker) == [lost]


def test_a_live_that_used_all_its_attempts_fails(rows, sched, broker):
    lost = rows.live("live", worker="w1", attempts=3, enqueued_at=NOW - HOUR)

    sched.tick(NOW)
    assert sched.tick(NOW + TTL)["recovered"] == 1

    live = rows.get(LiveSession, lost)
    assert live.status == "failed"
    assert "gave up after 3" in live.last_error, live.last_error
    assert live.ended_at == NOW + TTL
    assert broker.llen(QUEUE) == 0


def test_a_stopping_live_whose_worker_is_gone_is_ended(rows, sched, broker):
    lost = rows.live("stopping", worker="w1", attempts=1, enqueued_at=NOW - HOUR)

    sched.tick(NOW)
    sched.tick(NOW + TTL)

    live = rows.get(LiveSession, lost)
    assert (live.status, live.ended_at) == ("ended", NOW + TTL)
    assert broker.llen(QUEUE) == 0


def test_a_claim_redis_lost_and_its_worker_took_back_within_a_ttl_counts_no_attempt(rows, sched, broker):
    running = rows.live("live", worker="w1", attempts=1, enqueued_at=NOW - HOUR, started_at=NOW - HOUR)
    RedisClaims(broker).claim(running, "w1", 30)
    assert sched.tick(NOW)["recovered"] == 0

    broker.flushall()  # Redis restarted without its data
    assert sched.tick(NOW + timedelta(seconds=1))["recovered"] == 0
    assert RedisClaims(broker).renew(running, "w1", 30)  # the worker's next renewal
    assert sched.tick(NOW + TTL + timedelta(seconds=2))["recovered"] == 0

    live = rows.get(LiveSession, running)
    assert (live.status, live.worker, live.attempts, live.last_error) == ("live", "w1", 1, None)
    assert broker.llen(QUEUE) == 0


def test_a_claim_missing_again_later_waits_a_whole_ttl_again(rows, sched, broker):
    running = rows.live("live", worker="w1", attempts=1, enqueued_at=NOW - HOUR)
    sched.tick(NOW)  # missing: noticed
    RedisClaims(broker).claim(running, "w1", 30)
    sched.tick(NOW + TTL / 2)  # back
    broker.delete(owner_key(running))

    assert sched.tick(NOW + TTL)["recovered"] == 0  # missing since NOW + TTL only
    assert sched.tick(NOW + 2 * TTL)["recovered"] == 1


def test_a_live_whose_claim_is_held_is_left_alone(rows, sched, broker):
    held = rows.live("live", worker="w1", attempts=1, enqueued_at=NOW - HOUR)
    assert RedisClaims(broker).claim(held, "w1", 5)

    assert sched.tick(NOW)["recovered"] == 0

    live = rows.get(LiveSession, held)
    assert (live.status, live.worker, live.enqueued_at, live.last_error) == ("live", "w1", NOW - HOUR, None)
    assert broker.llen(QUEUE) == 0


# -- claims -------------------------------------------------------------------------------------------

def test_a_claim_is_held_by_one_worker_only(broker):
    assert RedisClaims(broker).claim(7, "w1", 5)
    assert not RedisClaims(broker).claim(7, "w2", 5)
    assert RedisClaims(broker).owners([7, 8]) == {7: "w1", 8: None}


def test_only_the_owner_renews_or_releases_a_claim(broker):
    RedisClaims(broker).claim(7, "w1", 5)

    assert RedisClaims(broker).renew(7, "w2", 5) == Renewal.LOST
    RedisClaims(broker).release(7, "w2")
    assert RedisClaims(broker).owners([7]) == {7: "w1"}

    assert RedisClaims(broker).renew(7, "w1", 60)
    assert broker.pttl(owner_key(7)) > 5000
    RedisClaims(broker).release(7, "w1")
    assert RedisClaims(broker).owners([7]) == {7: None}
    assert RedisClaims(broker).claim(7, "w2", 5)


@pytest.mark.parametrize("claims", ["redis", "memory"])
def test_a_claim_that_is_gone_is_taken_back_by_its_owner_but_one_another_holds_is_lost(broker, claims):
    c = RedisClaims(broker) if claims == "redis" else MemoryClaims()
    c.claim(7, "w1", 0.2)
    time.sleep(0.4)  # it lapsed, or Redis lost it: nobody holds it
    assert c.owners([7]) == {7: None}

    assert c.renew(7, "w1", 5) == Renewal.RETAKEN
    assert c.owners([7]) == {7: "w1"}
    assert c.renew(7, "w1", 5) == Renewal.RENEWED
    assert c.renew(7, "w2", 5) == Renewal.LOST and not c.renew(7, "w2", 5)
    assert c.owners([7]) == {7: "w1"}


# -- the loop -----------------------------------------------------------------------------------------


def test_the_scheduler_outlives_a_redis_outage_and_dispatches_when_it_returns(rows, redis_server, caplog):
    caplog.set_level(logging.INFO, logger="livehost.scheduler")
    scheduler = make_scheduler(rows, redis_server.url, interval_s=0.2)
    thread = threading.Thread(target=scheduler.run, name="test-scheduler", daemon=True)
    thread.start()
    try:
        redis_server.kill()
        start = datetime.now(timezone.utc)
        schedule_id = rows.schedule(start, start + HOUR)
        time.sleep(3)  # several passes, each failing to put the live on the queue

        assert thread.is_alive()
        failures = [r for r in caplog.records if r.levelno == logging.ERROR and "pass failed" in r.getMessage()]
        assert len(failures) == 1, [r.getMessage() for r in caplog.records]

        redis_server.start()
        r = redis.Redis.from_url(redis_server.url)

        def dispatched():
            sessions = rows.sessions_of(schedule_id)
            return sessions and sessions[0].enqueued_at is not None and r.llen(QUEUE) >= 1

        assert wait_for(dispatched, 5), [r.getMessage() for r in caplog.records]
        [live] = rows.sessions_of(schedule_id)
        assert live.status == "queued"
        assert enqueued_ids(r) == [live.id]
        time.sleep(0.6)  # a few good passes: the recovery is told once too
        assert sum("reachable again" in rec.getMessage() for rec in caplog.records) == 1
        r.close()
    finally:
        scheduler.stop()
        thread.join(3)
        scheduler.close()
    assert not thread.is_alive(), "run() did not end within 3 s of stop()"
