"""The demo's console: what each typed line means, what a mistyped line answers, and the reader
thread from first line to EOF or /stop."""
from __future__ import annotations

import io
import threading

import pytest

from streamer.control.console import HELP, Console, parse_line
from streamer.live import CommandError

pytestmark = pytest.mark.timeout(20)


@pytest.mark.parametrize("line, command", [
    ("hello everyone", {"type": "comment", "text": "hello everyone", "user": "console"}),
    ("   spaced out  \n", {"type": "comment", "text": "spaced out", "user": "console"}),
    ("/ask what is the price?", {"type": "comment", "text": "what is the price?", "user": "console",
                                 "interrupt": True}),
    ("/interrupt", {"type": "interrupt"}),
    ("/pause", {"type": "pause"}),
    ("/resume", {"type": "resume"}),
    ("/stop\n", {"type": "stop"}),
    ("/PAUSE", {"type": "pause"}),
    ("/say welcome back", {"type": "say", "text": "welcome back", "interrupt": False}),
    ("/say   Mixed Case kept ", {"type": "say", "text": "Mixed Case kept", "interrupt": False}),
    ("/say! right now", {"type": "say", "text": "right now", "interrupt": True}),
    ("/action wave", {"type": "action", "name": "wave"}),
    ("/action wave loop", {"type": "action", "name": "wave", "loop": True}),
])
def test_each_console_form_stands_for_its_command(line, command):
    assert parse_line(line) == command


@pytest.mark.parametrize("line", ["", "   ", "\n", "/help", "  /HELP  "])
def test_blank_lines_and_help_are_no_command(line):
    assert parse_line(line) is None


@pytest.mark.parametrize("line, words", [
    ("/dance", ["unknown command /dance", "/ask TEXT", "/say TEXT", "/stop"]),
    ("/say", ["/say needs a text", "e.g. /say hello"]),
    ("/say   ", ["/say needs a text"]),
    ("/say!", ["/say! needs a text"]),
    ("/ask", ["/ask needs a text"]),
    ("/pause now", ["/pause takes nothing after it"]),
    ("/resume please", ["/resume takes nothing after it"]),
    ("/interrupt x", ["/interrupt takes nothing after it"]),
    ("/stop it", ["/stop takes nothing after it"]),
    ("/action", ["usage: /action NAME [loop]"]),
    ("/action wave twice", ["usage: /action NAME [loop]"]),
    ("/action wave loop again", ["usage: /action NAME [loop]"]),
])
def test_a_mistyped_command_is_refused_with_a_helpful_message(line, words):
    with pytest.raises(CommandError) as refused:
        parse_line(line)
    message = str(refused.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


class FakeSession:
    """Records the commands applied; refuses the command types in `refuse`; `ended` ends the live."""

    def __init__(self, refuse: tuple[str, ...] = ()):
        self.applied: list[dict] = []
        self.refuse = refuse
        self.ended = threading.Event()

    def apply(self, command: dict, at: float | None = None) -> None:
        if command["type"] in self.refuse:
            raise CommandError(f"no clip named {command.get('name')!r}")
        self.applied.append(command)

    def wait(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)


def run_console(session: FakeSession, typed: str) -> str:
    out = io.StringIO()
    console = Console(session, io.StringIO(typed), out)
    assert console.name == "console" and console.daemon
    console.start()
    console.join(5)
    assert not console.is_alive(), "the console thread did not end"
    return out.getvalue()


def test_console_applies_lines_in_order_and_ends_at_eof_leaving_the_live_running():
    session = FakeSession()
    out = run_console(session, "hello\n/say hi there\n\n/action wave loop\n/pause\n")
    assert session.applied == [
        {"type": "comment", "text": "hello", "user": "console"},
        {"type": "say", "text": "hi there", "interrupt": False},
        {"type": "action", "name": "wave", "loop": True},
        {"type": "pause"},
    ]
    assert out == ""  # a blank line answers nothing
    assert not session.ended.is_set()


def test_console_prints_errors_and_help_and_goes_on():
    session = FakeSession(refuse=("action",))
    out = run_console(session, "/dance\n/say\n/help\n/action nope\n/resume\n")
    lines = out.splitlines()
    assert lines[0].startswith("livehost: unknown command /dance")
    assert lines[1].startswith("livehost: /say needs a text")
    assert lines[2] == HELP
    assert lines[3] == "livehost: no clip named 'nope'"  # refused by the session
    assert len(lines) == 4
    assert session.applied == [{"type": "resume"}]


def test_console_stop_applies_stop_and_reads_no_further():
    session = FakeSession()
    run_console(session, "/pause\n/stop\nhello after stop\n/resume\n")
    assert session.applied == [{"type": "pause"}, {"type": "stop"}]


def test_console_ends_once_the_live_has_ended():
    session = FakeSession()
    session.ended.set()
    run_console(session, "first\nsecond\n")
    assert session.applied == [{"type": "comment", "text": "first", "user": "console"}]


def test_any_whitespace_separates_a_command_from_its_text_and_loop_is_case_insensitive():
    assert parse_line("/say\thello there") == {"type": "say", "text": "hello there", "interrupt": False}
    assert parse_line("/action wave LOOP") == {"type": "action", "name": "wave", "loop": True}
