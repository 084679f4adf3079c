"""The worker's ControlLink, over the in-process MemoryBus and a real Redis (db 15): commands applied
once and in order, refused commands reported, events and status out, a prompt stop, and a bus that is
down never stalling the live."""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import redis

from streamer.control.bus import MemoryBus, RedisBus, key
from streamer.control.link import ControlLink, connect_redis, stream_time
from streamer.live import CommandError
from tests.helpers.process import free_port, need

pytestmark = pytest.mark.timeout(30)

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15


class FakeSession:
    """Records apply(command, at, command_id) calls as a live takes them; refuses types in
    `refuse`, crashes on types in `crash`. Reports each command carried out at once (a `command`
    event to the link it was started on, see start()), except say and comment when `speaking`:
    those are owed until finish(command_id), as speech waiting its turn is."""

    def __init__(self, refuse: tuple[str, ...] = (), crash: tuple[str, ...] = (), apply_s: float = 0.0,
                 speaking: bool = False):
        self.refuse, self.crash, self.apply_s, self.speaking = refuse, crash, apply_s, speaking
        self.calls: list[tuple[dict, float | None]] = []
        self.command_ids: list[str | None] = []
        self.report = None  # the link's on_event
        self._lock = threading.Lock()

    def apply(self, command: dict, at: float | None = None, command_id: str | None = None) -> None:
        if command["type"] in self.refuse:
            raise CommandError(f"no clip named {command.get('name')!r}")
        if command["type"] in self.crash:
            raise RuntimeError("the speaker fell over")
        with self._lock:
            self.calls.append((command, at))
            self.command_ids.append(command_id)
        time.sleep(self.apply_s)
        if not (self.speaking and command["type"] in ("say", "comment")):
            self.finish(command_id)

    def finish(self, command_id: str) -> None:
        """The command's speech has been on air."""
        if self.report is not None and command_id is not None:
            self.report("command", command_id=command_id, state="done")

    @property
    def commands(self) -> list[dict]:
        with self._lock:
            return [c for c, _ in self.calls]

    def status(self) -> dict:
        return {"state": "live", "frames_out": 42}


def wait_until(condition, timeout: float = 3.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what} not met within {timeout} s")


def start(link: ControlLink, session: FakeSession) -> None:
    """Start `link` on `session`, which reports to it what it carried out (as a live's events do)."""
    session.report = link.on_event
    link.start(session)


def link_threads(session_id) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("control-") and t.name.endswith(f"-{session_id}")]


@pytest.fixture
def session_id():
    return f"control-test-{uuid.uuid4().hex}"  # not "t-": tests/conftest.py redis_bus deletes those


@pytest.fixture(params=["memory", "redis"])
def bus(request, session_id):
    if request.param == "memory":
        yield MemoryBus()
        return
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as e:
        need(False, f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {e}")
    yield RedisBus(client)
    for k in client.scan_iter(f"livehost:session:{session_id}:*"):
        client.delete(k)
    client.close()


@pytest.fixture
def links():
    """Makes ControlLinks; any still running when the test ends is stopped."""
    made: list[ControlLink] = []

    def make(bus, session_id, **kwargs) -> ControlLink:
        kwargs.setdefault("block_ms", 200)
        link = ControlLink(bus, session_id, **kwargs)
        made.append(link)
        return link

    yield make
    for link in made:
        link.stop()


def published(bus, session_id) -> list[dict]:
    return [data for _id, data in bus.events(session_id, after="0", count=10_000)]


# -- commands -----------------------------------------------------------------------------------------

def test_commands_are_applied_in_order_exactly_once_at_their_arrival_time(bus, session_id, links):
    sent = [(bus.send(session_id, {"type": "say", "text": f"early {n}"}), time.time()) for n in range(4)]
    session = FakeSession()
    link = links(bus, session_id)
    start(link, session)
    wait_until(lambda: len(session.calls) == 4, what="the queued commands applied")
    sent += [(bus.send(session_id, {"type": "comment", "text": f"late {n}"}), time.time()) for n in range(3)]
    wait_until(lambda: len(session.calls) == 7, what="the new commands applied")
    time.sleep(0.3)  # nothing more arrives

    assert [c["text"] for c in session.commands] == [f"early {n}" for n in range(4)] + [f"late {n}" for n in range(3)]
    assert link.applied == 7
    for (msg_id, sent_at), (_command, at) in zip(sent, session.calls, strict=True):
        assert at == stream_time(msg_id) == int(msg_id.split("-")[0]) / 1000
        assert abs(at - sent_at) < 1.0


def test_the_cursor_is_kept_so_a_restarted_worker_applies_only_newer_commands(bus, session_id, links):
    first_ids = [bus.send(session_id, {"type": "say", "text": f"before {n}"}) for n in range(3)]
    before = FakeSession()
    link = links(bus, session_id)
    start(link, before)
    wait_until(lambda: bus.cursor(session_id) == first_ids[-1], what="the cursor stored on the bus")
    link.stop()

    bus.send(session_id, {"type": "say", "text": "after 0"})
    bus.send(session_id, {"type": "say", "text": "after 1"})
    after = FakeSession()
    restarted = links(bus, session_id)
    start(restarted, after)
    wait_until(lambda: len(after.calls) == 2, what="the new commands applied")
    time.sleep(0.3)

    assert [c["text"] for c in before.commands] == ["before 0", "before 1", "before 2"]
    assert [c["text"] for c in after.commands] == ["after 0", "after 1"]


def test_stopping_in_the_middle_of_a_batch_applies_no_command_twice_after_restart(session_id, links):
    bus = MemoryBus()
    for n in range(3):
        bus.send(session_id, {"type": "say", "text": f"cmd {n}"})
    slow = FakeSession(apply_s=0.3)
    link = links(bus, session_id)
    start(link, slow)
    wait_until(lambda: slow.calls, what="the first command applied")
    link.stop()  # while the first of three is being applied

    fresh = FakeSession()
    restarted = links(bus, session_id)
    start(restarted, fresh)
    wait_until(lambda: len(slow.calls) + len(fresh.calls) >= 3, what="the rest applied")
    time.sleep(0.3)
    assert [c["text"] for c in slow.commands + fresh.commands] == ["cmd 0", "cmd 1", "cmd 2"]


def test_what_a_live_still_owed_when_it_stopped_is_carried_out_by_the_next_and_nothing_else_again(
        bus, session_id, links):
    spoken = bus.send(session_id, {"type": "say", "text": "spoken already"})
    bus.send(session_id, {"type": "action", "name": "wave"})
    waiting = bus.send(session_id, {"type": "say", "text": "still waiting", "interrupt": True})
    comment = bus.send(session_id, {"type": "comment", "text": "is it cheap?", "user": "ann"})
    first = FakeSession(speaking=True)
    link = links(bus, session_id)
    start(link, first)
    wait_until(lambda: len(first.calls) == 4, what="the commands applied")
    first.finish(spoken)  # on air to its end; the other say and the answer wait their turn
    link.stop()  # the worker stops (handed back, or killed: the ledger was written at each change)

    second = FakeSession()
    restarted = links(bus, session_id)
    start(restarted, second)
    wait_until(lambda: len(second.calls) == 2, what="what was owed carried out")
    later = bus.send(session_id, {"type": "say", "text": "sent later"})
    wait_until(lambda: len(second.calls) == 3, what="the next command applied")
    time.sleep(0.3)

    assert second.command_ids == [waiting, comment, later]
    assert [c["text"] for c in second.commands] == ["still waiting", "is it cheap?", "sent later"]
    assert "interrupt" not in second.commands[0]  # it cut the host off the first time; now it waits its turn
    assert second.commands[1]["user"] == "ann"
    assert second.calls[0][1] is None  # no interrupt latency is measured from a command sent long ago


def test_a_command_stream_that_redis_lost_is_read_anew_even_when_its_new_ids_are_lower(redis_server, session_id,
                                                                                     links):
    bus = connect_redis(redis_server.url, block_ms=200)
    bus.send(session_id, {"type": "pause"})
    session = FakeSession()
    link = links(bus, session_id, heartbeat_s=0.1)
    start(link, session)
    wait_until(lambda: len(session.calls) == 1, what="the first command applied")

    redis_server.kill()
    redis_server.start()  # without its data: the command stream is gone
    client = redis.Redis.from_url(redis_server.url)
    wait_until(lambda: client.hget(key(session_id, "status"), "command_cursor") == b'"0"', timeout=8,
               what="the link reading the new stream from its start")
    # The API's next command creates a new stream; a server whose clock is behind gives it a lower id.
    client.xadd(key(session_id, "commands"), {"data": json.dumps({"type": "resume"})}, id="1-1")
    wait_until(lambda: len(session.calls) == 2, timeout=5, what="the command on the new stream applied")
    assert [c["type"] for c in session.commands] == ["pause", "resume"]
    client.close()


def test_a_refused_command_becomes_an_error_event_and_the_link_goes_on(bus, session_id, links):
    bus.send(session_id, {"type": "say", "text": "one"})
    refused = bus.send(session_id, {"type": "action", "name": "nope"})
    crashed = bus.send(session_id, {"type": "boom"})
    bus.send(session_id, {"type": "pause"})
    session = FakeSession(refuse=("action",), crash=("boom",))
    link = links(bus, session_id)
    start(link, session)
    wait_until(lambda: link.applied == 2, what="the good commands applied")
    wait_until(lambda: len([e for e in published(bus, session_id) if e["type"] == "error"]) == 2,
               what="both error events published")
    errors = [e for e in published(bus, session_id) if e["type"] == "error"]

    assert [c["type"] for c in session.commands] == ["say", "pause"]
    assert link.applied == 2
    assert [(e["source"], e["command_id"]) for e in errors] == [("command", refused), ("command", crashed)]
    assert errors[0]["message"] == "no clip named 'nope'"
    assert "boom" in errors[1]["message"] and "the speaker fell over" in errors[1]["message"]


# -- events and status ----------------------------------------------------------------------------------

def test_events_reach_the_events_stream_in_order_with_their_type(bus, session_id, links):
    link = links(bus, session_id)
    link.on_event("state", state="starting", session=object())  # queued before start
    start(link, FakeSession())
    link.on_event("reply", comment_id=1, text="Hi ann.", source="rules", cut=False)
    link.on_event("progress", seconds=3.5)
    events = wait_until(lambda: published(bus, session_id) if len(published(bus, session_id)) >= 3 else None,
                        what="three events published")

    assert [e["type"] for e in events] == ["state", "reply", "progress"]
    assert events[0] == {"type": "state", "state": "starting", "at": events[0]["at"]}  # no session object
    assert events[1]["text"] == "Hi ann." and events[1]["cut"] is False
    assert events[2]["seconds"] == 3.5
    assert all(abs(e["at"] - time.time()) < 5 for e in events)


def test_the_status_hash_carries_the_heartbeat_and_expires(bus, session_id, links):
    link = links(bus, session_id, worker="worker-7", heartbeat_s=0.1, ttl_s=5)
    start(link, FakeSession())
    status = wait_until(lambda: bus.status(session_id), what="a status")
    assert status["state"] == "live" and status["frames_out"] == 42  # the session's own status
    assert status["worker"] == "worker-7"
    assert abs(status["updated_at"] - time.time()) < 2
    assert status["commands_applied"] == 0
    if isinstance(bus, RedisBus):
        assert 0 < bus.r.ttl(key(session_id, "status")) <= 5

    msg_id = bus.send(session_id, {"type": "pause"})
    status = wait_until(lambda: (s := bus.status(session_id)).get("commands_applied") == 1 and s,
                        what="the heartbeat counting the command")
    assert status["command_cursor"] == msg_id
    first = status["updated_at"]
    wait_until(lambda: bus.status(session_id)["updated_at"] > first, what="a later heartbeat")


def test_stop_returns_promptly_and_flushes_the_queued_events(bus, session_id, links):
    link = links(bus, session_id, worker="w", block_ms=1000)  # the default 1 s blocking read
    start(link, FakeSession())
    time.sleep(0.2)  # the command reader is inside its blocking read
    for n in range(50):
        link.on_event("progress", n=n)
    started = time.monotonic()
    link.stop()
    assert time.monotonic() - started < 3
    assert [e["n"] for e in published(bus, session_id)] == list(range(50))
    assert link_threads(session_id) == []
    assert bus.status(session_id)["worker"] == "w"  # a last status was written


# -- a bus that is down ------------------------------------------------------------------------------------

def test_an_unreachable_redis_never_blocks_the_live_and_stop_still_returns(session_id):
    bus = connect_redis(f"redis://127.0.0.1:{free_port()}/{REDIS_DB}")  # nothing listens there
    link = ControlLink(bus, session_id, worker="w")
    session = FakeSession()
    started = time.monotonic()
    start(link, session)
    assert time.monotonic() - started < 1.5
    slowest = 0.0
    for n in range(3000):  # more than the outbox keeps
        t = time.monotonic()
        link.on_event("progress", n=n)
        slowest = max(slowest, time.monotonic() - t)
    assert slowest < 0.25  # never waits on the dead bus's connect timeout
    time.sleep(0.5)  # both threads meet the dead bus
    assert link_threads(session_id) and all(t.is_alive() for t in link_threads(session_id))
    started = time.monotonic()
    link.stop()
    assert time.monotonic() - started < 4
    assert link_threads(session_id) == []
    assert session.calls == []
