"""`livehost demo`'s standard input: a person types comments and commands to the live host.

    a plain line        a comment (answered after the current sentence)
    /ask TEXT           a comment that cuts the host off and is answered at once
    /interrupt          cut the host off; the script goes on after the room's interrupt gap
    /say TEXT           the host says TEXT after the current sentence (/say! TEXT: at once)
    /action NAME [loop] play an action clip of the avatar
    /pause  /resume     pause or resume the script
    /card soon|brb|off  show the starting-soon or be-right-back card over the picture, or take it off
    /stop               end the live
"""
from __future__ import annotations

import logging
import threading
from typing import TextIO

from streamer.live import CommandError

log = logging.getLogger("livehost.console")

HELP = ("type a comment, or /ask TEXT, /interrupt, /say TEXT, /say! TEXT, /action NAME [loop], "
        "/pause, /resume, /card soon|brb|off, /stop, /help")


def parse_line(line: str) -> dict | None:
    """The command a console line stands for; None for a blank line or /help. Raises CommandError."""
    line = line.strip()
    if not line:
        return None
    if not line.startswith("/"):
        return {"type": "comment", "text": line, "user": "console"}
    word, rest = (line[1:].split(None, 1) + [""])[:2]
    word, rest = word.lower(), rest.strip()
    if word == "help":
        return None
    if word in ("interrupt", "pause", "resume", "stop"):
        if rest:
            raise CommandError(f"/{word} takes nothing after it")
        return {"type": word}
    if word in ("say", "say!", "ask"):
        if not rest:
            raise CommandError(f"/{word} needs a text, e.g. /{word} hello everyone")
        if word == "ask":
            return {"type": "comment", "text": rest, "user": "console", "interrupt": True}
        return {"type": "say", "text": rest, "interrupt": word == "say!"}
    if word == "action":
        parts = rest.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() != "loop"):
            raise CommandError("usage: /action NAME [loop]")
        command = {"type": "action", "name": parts[0]}
        if len(parts) == 2:
            command["loop"] = True
        return command
    if word == "card":
        cards = {"soon": "starting_soon", "brb": "be_right_back", "off": None}
        if rest.lower() not in cards:
            raise CommandError("usage: /card soon|brb|off")
        return {"type": "card", "card": cards[rest.lower()]}
    raise CommandError(f"unknown command /{word}; {HELP}")


class Console(threading.Thread):
    """Reads lines from `inp` until EOF or the session ends and applies them to `session`.

    Replies to the person (errors, help) go to `out`. EOF leaves the live running.
    """

    def __init__(self, session, inp: TextIO, out: TextIO):
        super().__init__(name="console", daemon=True)
        self.session, self.inp, self.out = session, inp, out

    def run(self) -> None:
        for line in self.inp:
            try:
                command = parse_line(line)
            except CommandError as e:
                print(f"livehost: {e}", file=self.out, flush=True)
                continue
            if command is None:
                if line.strip():
                    print(HELP, file=self.out, flush=True)
                continue
            try:
                self.session.apply(command)
            except CommandError as e:
                print(f"livehost: {e}", file=self.out, flush=True)
                continue
            log.info("console: %s", command["type"])
            if command["type"] == "stop" or self.session.wait(0):
                return
