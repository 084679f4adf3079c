"""A live rides out the faults of what it runs on, as its viewers and its operator see it: Redis
restarted without its data in the middle of a live (the live goes on, on the same worker, published
once; every say sent around the restart is spoken once), and a worker killed while says wait their
turn (the worker that resumes the live speaks each of them, none twice). Real MariaDB, a private
Redis, nginx-rtmp as the ingest, the scheduler and two workers as processes; says go through the
API; what was spoken is read from the live's events as the dashboard reads them."""
from __future__ import annotations

import signal
import time

import pytest

from tests.helpers.deployment import EventLog
from tests.helpers.media import Player

pytestmark = pytest.mark.slow

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def notes(tag: str, n: int) -> list[str]:
    """`n` says of one sentence each, told apart by their words."""
    return [f"Operator note {tag} {word}." for word in WORDS[:n]]


def say(api, session_id: int, text: str, timeout: float = 10.0) -> str:
    """POST a say as the dashboard does, again while the API answers 503 (Redis still coming back)."""
    deadline = time.monotonic() + timeout
    while True:
        r = api.post(f"/api/sessions/{session_id}/say", json={"text": text})
        if r.status_code == 202:
            return r.get_json()["command_id"]
        assert r.status_code == 503 and time.monotonic() < deadline, (r.status_code, r.get_json())
        time.sleep(0.1)


def heard(events: EventLog, text: str) -> tuple[int, int]:
    """(times `text` went on air, times it was heard to its end)."""
    starts = [e for e in events.utterances("start", "say") if e["text"] == text]
    ends = [e for e in events.utterances("end", "say") if e["text"] == text and not e.get("cut")]
    return len(starts), len(ends)


def all_heard(events: EventLog, texts: list[str]):
    return all(heard(events, t)[1] >= 1 for t in texts)


def live_on_two_workers(d, stream: str) -> tuple[int, dict]:
    session_id = d.go_live(d.room(stream), d.script())
    d.scheduler()
    workers = {"wA": d.worker("wA"), "wB": d.worker("wB")}
    d.wait_workers("wA", "wB")
    assert d.wait_for(lambda: d.session(session_id).status == "live", 30), d.logs()
    return session_id, workers


def test_redis_restarted_without_its_data_mid_live_neither_stops_nor_republishes_it_and_each_say_is_spoken_once(
        deployment, redis_server):
    d = deployment
    session_id, _workers = live_on_two_workers(d, "steady")
    events = EventLog(d.redis_url, session_id)
    events.start()
    player = Player(d.nginx.url("steady"), timeout=20)
    player.start()
    api = d.api()
    assert d.wait_for(lambda: events.utterances("start"), 20), "the host never spoke\n" + d.logs()
    owner = d.session(session_id).worker
    before, after = notes("before", 3), notes("after", 3)

    for text in before:  # they wait their turn behind the sentence on air when Redis goes
        say(api, session_id, text)
    redis_server.kill()
    time.sleep(0.5)
    redis_server.start()  # without persistence: every key and stream is gone
    restarted = time.time()
    for text in after:
        say(api, session_id, text)
    d.wait_workers("wA", "wB", timeout=10)  # they announce themselves again

    done = d.wait_for(lambda: all_heard(events, before + after), 45, step=0.2)
    time.sleep(1.5)  # a say spoken twice would be heard by now
    player.stop()
    events.stop()
    assert done, f"not every say was spoken: {[(t, heard(events, t)) for t in before + after]}\n" + d.logs()
    assert {t: heard(events, t) for t in before + after} == {t: (1, 1) for t in before + after}

    live = d.session(session_id)
    assert (live.status, live.worker, live.attempts, live.last_error) == ("live", owner, 1, None), d.logs()
    assert d.nginx.publishes("steady") == 1, "the live was published again\n" + d.logs()
    assert "lost its claim" not in d.logs() and "stopped responding" not in d.logs()
    arrivals = [a for a, _, _ in player.audio if restarted - 5 <= a <= restarted + 10]
    stall = max(b - a for a, b in zip(arrivals, arrivals[1:]))
    print(f"longest wait between audio frames at the player around the restart: {stall:.3f} s")
    assert stall < 0.6, f"the stream stalled {stall:.2f} s around the Redis restart"


def test_says_waiting_when_a_worker_is_killed_are_spoken_once_by_the_worker_that_resumes_the_live(deployment):
    d = deployment
    session_id, workers = live_on_two_workers(d, "resume")
    events = EventLog(d.redis_url, session_id)
    events.start()
    api = d.api()
    assert d.wait_for(lambda: events.utterances("start"), 20), "the host never spoke\n" + d.logs()
    texts = notes("waiting", 5)
    for text in texts:
        say(api, session_id, text)

    # Kill the worker once the first say has been heard to its end and the second is on air.
    assert d.wait_for(lambda: heard(events, texts[1])[0], 30, step=0.02), d.logs()
    victim = d.session(session_id).worker
    other = ({"wA", "wB"} - {victim}).pop()
    workers[victim].send_signal(signal.SIGKILL)
    killed = time.time()
    time.sleep(0.5)  # what the killed worker had published has been read
    before = {t: heard(events, t) for t in texts}

    resumed = d.wait_for(lambda: (lambda s: s if s.status == "live" and s.worker == other else None)(
        d.session(session_id)), 25, step=0.1)
    assert resumed is not None, "the live was not resumed\n" + d.logs()
    done = d.wait_for(lambda: all_heard(events, texts), 30, step=0.2)
    print(f"every waiting say spoken {time.time() - killed:.1f} s after the kill")
    time.sleep(1.5)
    events.stop()
    assert done, f"not every say was spoken: {[(t, heard(events, t)) for t in texts]}\n" + d.logs()
    assert before[texts[0]] == (1, 1) and before[texts[-1]] == (0, 0), before
    for text in texts:
        starts, ends = heard(events, text)
        assert ends == 1, f"{text!r} heard to its end {ends} times"
        cut_by_the_kill = before[text] == (1, 0)  # said again from its start, as a script sentence is
        assert starts == (2 if cut_by_the_kill else 1), f"{text!r} went on air {starts} times (before the kill: " \
                                                        f"{before[text]})"
