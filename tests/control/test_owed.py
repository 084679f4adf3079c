"""What a live owes from its commands, as the next worker would find it on the bus: a say is owed
until its last sentence has been heard to its end, other commands not at all once applied, and a
live stopped in the middle of a say leaves it owed. A real live (espeak, parametric lipsync,
recorded at real-time pace) with its control link on the in-process bus."""
from __future__ import annotations

import pytest

from streamer.build import RecordTo
from streamer.control.bus import MemoryBus
from streamer.control.ledger import Ledger
from tests.helpers.live import end_live, start_live, utterance_start
from tests.helpers.process import wait_for

pytestmark = pytest.mark.timeout(60)

SCRIPT = {"segments": [{"say": "Hello and welcome to the shop."}], "loop": 0}


def owed(bus: MemoryBus, session_id: str) -> list[str]:
    return [msg_id for msg_id, _ in Ledger.from_dict(bus.ledger(session_id)).owed]


def command_event(command_id: str, state: str = "done"):
    return lambda kind, f: kind == "command" and f.get("command_id") == command_id and f.get("state") == state


def utterance_end(text: str):
    return lambda kind, f: (kind == "utterance" and f.get("state") == "end" and f["text"] == text
                            and not f.get("cut"))


def test_a_say_is_owed_until_heard_to_its_end_and_an_action_not_once_applied(avatars_dir, tmp_path):
    bus = MemoryBus()
    live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), bus=bus, script=SCRIPT)
    try:
        assert events.wait(utterance_start(), 10)
        say = bus.send(live.id, {"type": "say", "text": "A note from the operator."})
        pause = bus.send(live.id, {"type": "pause"})
        assert events.wait(command_event(pause), 5), "the pause was not reported done"
        assert owed(bus, live.id) == [say]  # waiting behind the sentence on air

        heard = events.wait(utterance_end("A note from the operator."), 15)
        assert heard, "the say was never heard to its end"
        done = events.wait(command_event(say), 1)
        assert done and done[0] <= heard[0], "the say was reported done before it had been heard"
        assert wait_for(lambda: owed(bus, live.id) == [], 3), owed(bus, live.id)
    finally:
        end_live(live)


def test_a_live_stopped_in_the_middle_of_a_say_leaves_it_owed(avatars_dir, tmp_path):
    bus = MemoryBus()
    live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), bus=bus, script=SCRIPT)
    try:
        assert events.wait(utterance_start(), 10)
        say = bus.send(live.id, {"type": "say", "text": "The first half of a note. And its second half."})
        assert events.wait(utterance_start("The first half of a note."), 15)
    finally:
        end_live(live)
    assert owed(bus, live.id) == [say]
    assert not events.of("command", command_id=say)
