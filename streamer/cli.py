"""The `livehost` command. Sub-commands stay thin: they parse, call the package, print."""
from __future__ import annotations

import argparse
import logging
import re
import sys

from streamer.demo import BAD_INPUT, DemoOptions, prepare, run_demo
from streamer.settings import Settings, SettingsError

STREAMER_COMMANDS = ("demo", "avatar")  # the rest (db, user, serve) live in backend/cli.py


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 720x1280, not {text!r}")
    return int(m.group(1)), int(m.group(2))


def build_parser(api: bool = True) -> argparse.ArgumentParser:
    """The `livehost` parser; `api` adds the admin API's commands (importing backend costs ~0.5 s)."""
    p = argparse.ArgumentParser(prog="livehost", description="Open-source AI live-streaming host.")
    p.add_argument("--config", help="settings YAML file (else $LIVEHOST_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="go live with a script: to --push URL, or to a local receiver")
    d.add_argument("--push", metavar="RTMP_URL", help="rtmp:// or rtmps:// URL to push to")
    d.add_argument("--record", metavar="FILE", help="write the live to a .flv/.mp4 file instead")
    d.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this much media")
    d.add_argument("--script", metavar="FILE", help="script (.yaml/.json, or .txt: a line per sentence)")
    d.add_argument("--avatar", metavar="ID", help="prepared avatar id (default: default)")
    d.add_argument("--voice", metavar="SPEC", help="espeak, espeak:cmn, edge:zh-CN-XiaoxiaoNeural ...")
    d.add_argument("--lipsync", metavar="ENGINE", help="lipsync engine (default: parametric)")
    d.add_argument("--size", type=_size, metavar="WxH", help="output size, e.g. 720x1280 or 1920x1080")
    d.add_argument("--bitrate", type=int, metavar="BPS", help="video bitrate in bit/s")
    d.add_argument("--preset", help="x264 preset (default veryfast)")
    d.add_argument("--no-pace", action="store_true", help="with --record: as fast as possible")

    a = sub.add_parser("avatar", help="prepare and list avatars")
    asub = a.add_subparsers(dest="avatar_command", required=True)
    ap = asub.add_parser("prepare", help="prepare an avatar from a photo or a video")
    ap.add_argument("source", metavar="VIDEO_OR_IMAGE")
    ap.add_argument("--id", required=True, help="avatar id: lower-case letters, digits, - and _")
    asub.add_parser("list", help="list prepared avatars")
    if api:
        from backend.cli import add_commands

        add_commands(sub)
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
    args = build_parser(api=_command_name(argv) not in STREAMER_COMMANDS).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("libav").setLevel(logging.ERROR)
    try:
        return _run(args)
    except BAD_INPUT as e:
        print(f"livehost: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command not in STREAMER_COMMANDS:
        from backend.cli import run

        return run(args)
    if args.command == "demo":
        w, h = args.size or (None, None)
        settings = Settings.load(args.config, avatar=args.avatar, voice=args.voice, lipsync=args.lipsync,
                                 width=w, height=h, video_bitrate=args.bitrate, preset=args.preset)
        if args.push and args.record:
            raise SettingsError("give either --push or --record, not both")
        if args.no_pace and not args.record:
            raise SettingsError("--no-pace only makes sense with --record (a live is paced)")
        return run_demo(settings, DemoOptions(args.push, args.record, args.duration, args.script,
                                              pace=not args.no_pace))
    settings = Settings.load(args.config)
    if args.avatar_command == "prepare":
        path = prepare(args.source, args.id, settings)
        print(f"avatar {args.id} ready in {path}")
        return 0
    folder = settings.avatars_dir
    ids = sorted(p.name for p in folder.iterdir() if (p / "avatar.json").exists()) if folder.exists() else []
    print("\n".join(ids) if ids else f"no avatars in {folder}/ (the default one is made on first demo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
