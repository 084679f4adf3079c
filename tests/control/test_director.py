"""The Director, as the speaker sees it: what next() hands out, in which order, and how inject, cut,
pause and resume change that. Pure object; threads only where next() must block."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pytest

from streamer.pipeline.generation import Generation
from streamer.director import Action, Director, Lines, Pause, Position
from streamer.frames import Utterance
from streamer.llm import ReplyRules, ScriptedReplier
from streamer.llm.reply import Reply
from streamer.script import parse_script
from streamer.pipeline.pipe import END, Stopped

pytestmark = pytest.mark.timeout(20)

SHOW = [{"say": "Hello there. How are you?", "voice": "v1"}, {"pause": 250}, {"action": "wave"}, "Bye!"]
RULES = ReplyRules(keyword_replies={"price": "It is ten dollars. Shipping is free."})


_HOSTS: list[Host] = []  # stopped when the test ends, so no speaker thread outlives it


def _stop_hosts() -> None:
    for host in _HOSTS:
        host.stop.set()
    _HOSTS.clear()


@pytest.fixture(autouse=True)
def _hosts_stop_after_each_test():
    yield
    _stop_hosts()


class Host:
    """A Director over a script, with the events it reported and a stop Event for next()."""

    def __init__(self, segments=SHOW, loop=1, start: Position | None = None):
        self.events: list[tuple[str, dict]] = []
        self.stop = threading.Event()
        _HOSTS.append(self)
        self.director = Director(parse_script({"segments": segments, "loop": loop}), Generation(),
                                 lambda kind, **fields: self.events.append((kind, fields)), start or Position())

    def next(self):
        return self.director.next(self.stop)

    def take(self, n: int) -> list:
        return [self.next() for _ in range(n)]

    def replies(self) -> list[dict]:
        return [fields for kind, fields in self.events if kind == "reply"]

    def commands(self) -> list[dict]:
        return [fields for kind, fields in self.events if kind == "command"]


def said(item) -> str:
    """An item as the audience would notice it."""
    if item is END:
        return "END"
    if isinstance(item, Utterance):
        return item.text
    if isinstance(item, Pause):
        return f"<pause {item.ms}>"
    if isinstance(item, Action):
        return f"<action {item.name}>"
    raise AssertionError(f"unexpected item {item!r}")


@pytest.fixture
def speaker():
    """Runs one next() call at a time on a named thread, so the test can watch it block."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-speaker")
    yield pool
    _stop_hosts()
    pool.shutdown(wait=True, cancel_futures=True)


def blocks(future, seconds: float = 0.2) -> bool:
    try:
        future.result(timeout=seconds)
    except FutureTimeout:
        return True
    return False


def comment_reply(comment="what is the price?", user="ann", comment_id=7) -> Reply:
    return ScriptedReplier(RULES).reply(comment, user, comment_id=comment_id)


# -- the script --------------------------------------------------------------------------------------

def test_script_items_come_in_script_order_with_sentences_split_then_END():
    host = Host()
    items = host.take(7)
    assert [said(i) for i in items] == ["Hello there.", "How are you?", "<pause 250>", "<action wave>", "Bye!",
                                        "END", "END"]
    hello, how, pause, action, bye = items[:5]
    assert (hello.voice, hello.source, hello.reply_to, hello.gen) == ("v1", "script", None, 0)
    assert [hello.position, how.position, pause.position, action.position, bye.position] == [
        Position(0, 0, 0), Position(0, 0, 1), Position(0, 1, 0), Position(0, 2, 0), Position(0, 3, 0)]
    assert (pause.ms, pause.gen, action.loop, bye.voice) == (250, 0, None, None)


def test_position_is_the_script_item_most_recently_handed_out():
    host = Host()
    assert host.director.position is None
    host.take(3)
    assert host.director.position == Position(0, 1, 0)


def test_a_looped_script_plays_every_round_then_ends():
    host = Host(["One. Two.", {"pause": 10}], loop=2)
    items = host.take(7)
    assert [said(i) for i in items] == ["One.", "Two.", "<pause 10>"] * 2 + ["END"]
    assert [i.position.round for i in items[:6]] == [0, 0, 0, 1, 1, 1]
    assert items[3].position == Position(1, 0, 0)


def test_a_forever_script_never_ends():
    host = Host(["One.", "Two."], loop="forever")
    items = host.take(9)
    assert [said(i) for i in items] == ["One.", "Two."] * 4 + ["One."]
    assert items[-1].position == Position(4, 0, 0)


def test_the_script_starts_at_the_given_position_moved_forward_to_an_item_that_exists():
    assert said(Host(start=Position(0, 0, 1)).next()) == "How are you?"
    host = Host(start=Position(0, 0, 5))  # segment 0 has only two sentences
    first = host.next()
    assert (said(first), first.position) == ("<pause 250>", Position(0, 1, 0))
    assert Host(start=Position(1, 0, 0)).next() is END  # past the only round


def test_after_steps_over_sentence_segment_and_round_boundaries():
    d = Host(loop=2).director
    assert d.after(Position(0, 0, 0)) == Position(0, 0, 1)
    assert d.after(Position(0, 0, 1)) == Position(0, 1, 0)  # last sentence -> next segment
    assert d.after(Position(0, 1, 0)) == Position(0, 2, 0)
    assert d.after(Position(0, 3, 0)) == Position(1, 0, 0)  # loop wrap
    end = d.after(Position(1, 3, 0))
    assert end == Position(2, 0, 0)
    assert Host(loop=2, start=end).next() is END  # resolves to the end
    forever = Host(["One.", "Two."], loop="forever").director
    assert forever.after(Position(5, 1, 0)) == Position(6, 0, 0)


# -- replies and operator text ---------------------------------------------------------------------

def test_injected_replies_are_spoken_before_the_next_script_item_in_order():
    host = Host(["One.", "Two."])
    assert said(host.next()) == "One."
    host.director.inject(Lines("Say this. And this."))
    host.director.inject(comment_reply())
    assert host.director.pending == 2
    items = host.take(5)
    assert [said(i) for i in items] == ["Say this.", "And this.", "It is ten dollars.", "Shipping is free.", "Two."]
    say, reply = items[0], items[2]
    assert (say.source, say.reply_to, say.position, say.gen) == ("say", None, None, 0)
    assert (reply.source, reply.reply_to, reply.position) == ("rules", 7, None)
    assert host.director.pending == 0
    # Operator text without a comment reports nothing; the answered comment reports once, whole.
    assert host.replies() == [{"comment_id": 7, "text": "It is ten dollars. Shipping is free.", "source": "rules",
                               "cut": False}]


def test_text_said_for_a_comment_reports_a_reply_event():
    host = Host()
    host.director.inject(Lines("Thanks Bob.", comment_id=3))
    assert said(host.next()) == "Thanks Bob."
    host.next()
    assert host.replies() == [{"comment_id": 3, "text": "Thanks Bob.", "source": "say", "cut": False}]


def test_an_injected_reply_with_front_goes_before_the_queued_ones():
    host = Host(["One."])
    host.director.inject(Lines("Later."))
    host.director.inject(Lines("First!"), front=True)
    assert [said(i) for i in host.take(4)] == ["First!", "Later.", "One.", "END"]


def test_replies_are_spoken_after_the_script_has_ended_too():
    host = Host(["One."])
    host.take(2)
    host.director.inject(Lines("Still here."))
    assert [said(i) for i in host.take(2)] == ["Still here.", "END"]


def test_a_reply_that_is_not_ready_yet_is_waited_for_and_the_script_waits_behind_it():
    host = Host(["One.", "Two."])
    reply = Reply("hello?", "ann", comment_id=5, source="llm")
    host.director.inject(reply)

    def produce():
        time.sleep(0.3)
        reply.push("Here it is.")
        time.sleep(0.1)
        reply.finish()

    producer = threading.Thread(target=produce, name="test-producer")
    started = time.monotonic()
    producer.start()
    first = host.next()
    waited = time.monotonic() - started
    assert said(first) == "Here it is." and waited >= 0.25
    assert (first.source, first.reply_to) == ("llm", 5)
    assert said(host.next()) == "One."  # only once the reply has finished
    producer.join()
    assert host.replies() == [{"comment_id": 5, "text": "Here it is.", "source": "llm", "cut": False}]


# -- commands carried out ------------------------------------------------------------------------------

def test_a_commands_text_is_done_once_its_last_sentence_has_been_on_air():
    host = Host(["One."])
    host.director.inject(Lines("Say this. And this."), command="5-0")
    items = host.take(3)
    assert [said(i) for i in items] == ["Say this.", "And this.", "One."]

    host.director.aired(items[0].id)
    assert host.commands() == []  # half of it has been heard
    host.director.aired(items[1].id)
    assert host.commands() == [{"command_id": "5-0", "state": "done"}]
    host.director.aired(items[2].id)
    assert len(host.commands()) == 1


def test_a_sentence_handed_out_but_never_heard_is_over_once_a_later_one_has_been_on_air():
    host = Host(["One."])
    host.director.inject(Lines("Lost in the voice."), command="6-0")
    lost, script = host.take(2)  # the voice failed on `lost`: silence went out instead
    host.director.aired(script.id)
    assert host.commands() == [{"command_id": "6-0", "state": "done"}]


def test_a_cut_cancels_the_commands_whose_text_it_drops_and_the_then_text_carries_its_own():
    host = Host(["A. B."])
    host.director.inject(Lines("Half. Said."), command="1-0")
    host.director.inject(comment_reply(), command="2-0")
    host.director.inject(Lines("Not for a command."))
    assert said(host.next()) == "Half."

    host.director.cut(resume_at=None, hold=0, then=Lines("Sorry."), command="3-0")
    assert host.commands() == [{"command_id": "1-0", "state": "cancelled"},
                               {"command_id": "2-0", "state": "cancelled"}]
    sorry, _a = host.take(2)
    host.director.aired(sorry.id)
    assert host.commands()[2:] == [{"command_id": "3-0", "state": "done"}]


# -- interrupts --------------------------------------------------------------------------------------

def test_cut_bumps_the_generation_drops_pending_replies_and_rewinds_the_script():
    host = Host(["A. B. C."])
    assert [said(i) for i in host.take(2)] == ["A.", "B."]
    answering = comment_reply(comment_id=1)
    host.director.inject(answering)
    host.director.inject(comment_reply(comment_id=2))
    host.director.inject(Lines("Operator text."))
    assert said(host.next()) == "It is ten dollars."  # the first reply is half said

    gen = host.director.cut(resume_at=Position(0, 0, 1), hold=0)

    assert gen == 1 and host.director.gen.value == 1
    assert host.director.pending == 0
    assert answering.cancelled.is_set()
    assert host.replies() == [
        {"comment_id": 1, "text": "It is ten dollars.", "source": "rules", "cut": True},
        {"comment_id": 2, "text": "", "source": "rules", "cut": True},
    ]
    items = host.take(3)
    assert [said(i) for i in items] == ["B.", "C.", "END"]
    assert (items[0].gen, items[0].position) == (1, Position(0, 0, 1))


def test_cut_without_a_resume_position_leaves_the_script_where_it_was():
    host = Host(["A. B. C."])
    host.take(2)
    host.director.cut(resume_at=None, hold=0)
    item = host.next()
    assert (said(item), item.gen) == ("C.", 1)


def test_cut_holds_the_script_for_hold_seconds():
    host = Host(["A. B."])
    host.next()
    host.director.cut(resume_at=Position(0, 0, 0), hold=0.3)
    started = time.monotonic()
    item = host.next()
    waited = time.monotonic() - started
    assert said(item) == "A." and 0.28 <= waited < 2.0


def test_stop_during_a_hold_ends_next_at_once(speaker):
    host = Host()
    host.director.cut(resume_at=None, hold=10)
    pending = speaker.submit(host.next)
    assert blocks(pending)
    host.stop.set()
    with pytest.raises(Stopped):
        pending.result(timeout=0.5)


def test_text_injected_during_a_hold_is_given_at_once(speaker):
    host = Host()
    host.director.cut(resume_at=None, hold=10)
    pending = speaker.submit(host.next)
    assert blocks(pending)
    started = time.monotonic()
    host.director.inject(Lines("Quick answer."))
    item = pending.result(timeout=1)
    assert said(item) == "Quick answer." and time.monotonic() - started < 1.0  # the hold is 10 s
    assert item.gen == 1
    assert blocks(speaker.submit(host.next))  # the script is still held
    host.stop.set()


def test_the_then_reply_of_a_cut_is_spoken_first_and_the_hold_still_applies(speaker):
    host = Host(["A. B."])
    host.next()
    host.director.inject(Lines("Old text."))
    host.director.cut(resume_at=Position(0, 0, 0), hold=10, then=Lines("Sorry, go on."))
    item = host.next()
    assert (said(item), item.gen, item.source) == ("Sorry, go on.", 1, "say")
    assert blocks(speaker.submit(host.next))
    host.stop.set()


def test_cut_while_waiting_for_a_slow_reply_drops_it_and_speaks_the_new_one(speaker):
    host = Host()
    slow = Reply("hello?", "ann", comment_id=9, source="llm")
    host.director.inject(slow)
    pending = speaker.submit(host.next)
    assert blocks(pending)
    host.director.cut(resume_at=None, hold=10, then=Lines("Next question."))
    item = pending.result(timeout=1)
    assert (said(item), item.gen) == ("Next question.", 1)
    assert slow.cancelled.is_set() and slow.push("Too late.") is False
    assert host.replies() == [{"comment_id": 9, "text": "", "source": "llm", "cut": True}]
    host.stop.set()


# -- pause, resume, stop --------------------------------------------------------------------------

def test_pause_holds_the_script_but_injected_replies_still_come(speaker):
    host = Host(["One.", "Two."])
    host.next()
    host.director.pause()
    assert host.director.paused
    pending = speaker.submit(host.next)
    assert blocks(pending)
    host.director.inject(comment_reply())
    assert said(pending.result(timeout=1)) == "It is ten dollars."
    assert said(host.next()) == "Shipping is free."
    pending = speaker.submit(host.next)
    assert blocks(pending)
    host.director.resume()
    assert not host.director.paused
    assert said(pending.result(timeout=1)) == "Two."


def test_next_raises_stopped_when_stop_is_set_even_with_items_ready():
    host = Host()
    host.director.inject(Lines("Ready."))
    host.stop.set()
    with pytest.raises(Stopped):
        host.next()


def test_stop_ends_a_paused_next_promptly(speaker):
    host = Host()
    host.director.pause()
    pending = speaker.submit(host.next)
    assert blocks(pending)
    started = time.monotonic()
    host.stop.set()
    with pytest.raises(Stopped):
        pending.result(timeout=1)
    assert time.monotonic() - started < 1.0


def test_stop_ends_a_wait_for_a_slow_reply(speaker):
    host = Host()
    host.director.inject(Reply("hello?", comment_id=1, source="llm"))
    pending = speaker.submit(host.next)
    assert blocks(pending)
    host.stop.set()
    with pytest.raises(Stopped):
        pending.result(timeout=1)
