"""The `livehost` command: the root parser and dispatch. Each part adds and runs its own
sub-commands: streamer (demo, avatar, models), transcriber (transcriber), backend (db, user,
serve) and scheduler (scheduler, worker)."""
from __future__ import annotations

import argparse
import logging
import sys

from streamer import cli as streamer_cli
from streamer.demo import BAD_INPUT
from transcriber import cli as transcriber_cli

SCHEDULER_COMMANDS = ("scheduler", "worker")
LOCAL_COMMANDS = streamer_cli.STREAMER_COMMANDS + ("transcriber",)  # need neither the API nor the scheduler


def build_parser(api: bool = True) -> argparse.ArgumentParser:
    """The `livehost` parser; `api` adds the admin API's and the scheduler's commands (importing
    backend costs ~0.5 s)."""
    p = argparse.ArgumentParser(prog="livehost", description="Open-source AI live-streaming host.")
    p.add_argument("--config", help="settings YAML file (else $LIVEHOST_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    streamer_cli.add_commands(sub)
    transcriber_cli.add_commands(sub)
    if api:
        # Flask, SQLAlchemy, Alembic: loaded only for the commands that need them
        from backend import cli as backend_cli
        from scheduler import cli as scheduler_cli

        backend_cli.add_commands(sub)
        scheduler_cli.add_commands(sub)
    return p


def _command_name(argv: list[str]) -> str | None:
    """The sub-command named in `argv` (skipping global options), without parsing it."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(api=_command_name(argv) not in LOCAL_COMMANDS).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("libav").setLevel(logging.ERROR)
    try:
        return _run(args)
    except BAD_INPUT as e:
        print(f"livehost: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command in streamer_cli.STREAMER_COMMANDS:
        return streamer_cli.run(args)
    if args.command == "transcriber":
        return transcriber_cli.run(args)
    if args.command in SCHEDULER_COMMANDS:
        from scheduler import cli as scheduler_cli  # loaded by build_parser already

        return scheduler_cli.run(args)
    from backend import cli as backend_cli
    from livehost.serve import app_with_embedded

    return backend_cli.run(args, make_app=app_with_embedded)
