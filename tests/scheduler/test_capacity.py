"""A worker knows its capacity: it measures what a live costs on its machine, takes a live only
while its lives with the new one fit in its share of the cores (a full worker sends the live back
to the scheduler, which queues it for another worker), a full worker leaves the queue until it has
room, and /api/workers shows each live's load."""
from __future__ import annotations

import pytest

from streamer.cpu import live_cost, usable_cores
from streamer.settings import Settings


def test_a_live_costs_a_measured_fraction_of_the_machine_and_more_at_1080p_than_at_360p():
    small = live_cost(Settings(width=640, height=360))
    big = live_cost(Settings(width=1920, height=1080))
    assert 0 < small < big < usable_cores() * 4, (small, big)
    assert big > 2 * small, (small, big)  # 9x the pixels


@pytest.mark.slow
def test_a_full_worker_sends_the_live_back_and_a_worker_with_room_runs_it(deployment):
    d = deployment
    d.env["LIVEHOST_CPU_SHARE"] = "0.001"  # room for one live only (the first is always taken)
    d.scheduler()
    d.worker("small", slots=3)
    d.wait_workers("small")
    room1, room2, script = d.room("cap-one"), d.room("cap-two"), d.script()
    first = d.go_live(room1, script)
    assert d.wait_for(lambda: d.session(first).status == "live", 60), d.logs()
    second = d.go_live(room2, script)
    api = d.api("viewer")

    def small_worker():
        return next((w for w in api.get("/api/workers").get_json() if w["name"] == "small"), None)

    assert d.wait_for(lambda: (w := small_worker()) and w["lives"] and (w["lives"][0]["cpu"] or 0) > 0, 30), d.logs()
    w = small_worker()
    (load,) = w["lives"]
    assert load["session"] == first and load["preset"] == "veryfast" and load["fps"] > 20, w
    assert w["running"] == 1 and w["slots"] == 3 and w["cores"] > 0 and w["cpu_share"] == 0.001, w
    assert w["load"] >= load["cpu"] > 0 and w["live_cost"] > 0, w

    assert not d.wait_for(lambda: d.session(second).status != "queued", 15), "the full worker took a second live"
    assert "worker small: is full" in (d.tmp / "small.log").read_text(), d.logs()  # off the queue
    d.env["LIVEHOST_CPU_SHARE"] = "0.9"
    d.worker("roomy", slots=1)
    assert d.wait_for(lambda: d.session(second).status == "live", 60), d.logs()
    assert d.session(second).worker == "roomy" and d.session(first).worker == "small"

    operator = d.api("operator")
    assert operator.post(f"/api/sessions/{first}/stop").status_code == 202
    third = d.go_live(d.room("cap-three"), script)  # roomy's one slot is taken: only small can run it
    assert d.wait_for(lambda: d.session(third).status == "live", 60), d.logs()
    assert d.session(third).worker == "small" and "worker small: has room again" in (d.tmp / "small.log").read_text()
