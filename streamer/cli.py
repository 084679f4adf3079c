"""The streamer's `livehost` sub-commands: `demo`, `avatar`, `models`. They stay thin: they parse,
call the package, print. livehost/cli.py registers them with add_commands() and hands the parsed
arguments to run()."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from streamer.audience import parse_source
from streamer.avatar import actions
from streamer.avatar.landmarks import describe, landmarker_for
from streamer.demo import DemoOptions, prepare, run_demo
from streamer.lipsync.musetalk import weights
from streamer.progress import ProgressBar
from streamer.settings import Settings, SettingsError

STREAMER_COMMANDS = ("demo", "avatar", "models")


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 720x1280, not {text!r}")
    return int(m.group(1)), int(m.group(2))


def _source(text: str):
    try:
        return parse_source(text)
    except SettingsError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--source ")) from None


def add_commands(sub) -> None:
    """Add the streamer's sub-commands to the `livehost` parser's sub-parsers."""
    d = sub.add_parser("demo", help="go live with a script: to --push URL, or to a local receiver")
    d.add_argument("--push", metavar="RTMP_URL", action="append", default=[],
                   help="rtmp:// or rtmps:// URL to push to; repeat it to push the same live (encoded once) to several")
    d.add_argument("--record", metavar="FILE", help="write the live to a .flv/.mp4 file instead")
    d.add_argument("--segments", metavar="DIR", help="also keep the live under DIR in 60 s MPEG-TS segments "
                   "(playable even if the process is killed)")
    d.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this much media")
    d.add_argument("--script", metavar="FILE", help="script (.yaml/.json, or .txt: a line per sentence)")
    d.add_argument("--avatar", metavar="ID", help="prepared avatar id (default: default)")
    d.add_argument("--voice", metavar="SPEC", help="espeak, espeak:cmn, edge:zh-CN-XiaoxiaoNeural ...")
    d.add_argument("--lipsync", metavar="ENGINE", help="lipsync engine (default: parametric)")
    d.add_argument("--size", type=_size, metavar="WxH", help="output size, e.g. 720x1280 or 1920x1080")
    d.add_argument("--bitrate", type=int, metavar="BPS", help="video bitrate in bit/s")
    d.add_argument("--preset", help="x264 preset (default veryfast)")
    d.add_argument("--no-pace", action="store_true", help="with --record: as fast as possible")
    d.add_argument("--room", metavar="FILE", help="room settings YAML: persona, keyword_replies, "
                   "answer_immediately, interrupt_gap_ms, speech_during_action, banned_words, knowledge, "
                   "products (see streamer/samples/selling_room.yaml)")
    d.add_argument("--session", metavar="ID", help="also obey the admin API's commands for session ID "
                   "(over Redis: REDIS_URL) and report status and events there")
    d.add_argument("--no-console", action="store_true", help="do not read commands from standard input")
    d.add_argument("--source", action="append", type=_source, default=[], metavar="SOURCE",
                   help="listen to viewers' chat: bilibili:ROOM_ID, youtube:VIDEO_ID or relay (repeatable)")

    a = sub.add_parser("avatar", help="prepare and list avatars")
    asub = a.add_subparsers(dest="avatar_command", required=True)
    ap = asub.add_parser("prepare", help="prepare an avatar from a photo, a video or a Live2D model (a folder "
                         "or zip holding a *.model3.json or model.json)")
    ap.add_argument("source", metavar="VIDEO_IMAGE_OR_MODEL")
    ap.add_argument("--id", required=True, help="avatar id: lower-case letters, digits, - and _")
    ap.add_argument("--engine", choices=("parametric", "musetalk"), default="parametric",
                    help="also prepare it for this lipsync engine (musetalk: crop boxes, masks and VAE "
                    "latents, with the weights under models_dir; default: parametric, nothing more)")
    ap.add_argument("--bbox-shift", type=int, default=0, metavar="PX",
                    help="musetalk: move the crop's top by PX (positive opens the mouth more)")
    ap.add_argument("--extra-margin", type=int, default=None, metavar="PX",
                    help="musetalk: extend the crop PX below the chin (default: 10 for v15, 0 for v1)")
    asub.add_parser("list", help="list prepared avatars")
    ac = asub.add_parser("action", help="an avatar's action clips (wave, greet, show a product ...)")
    acsub = ac.add_subparsers(dest="action_command", required=True)
    aa = acsub.add_parser("add", help="add an action clip from a video (replaces one of that name)")
    aa.add_argument("avatar", metavar="AVATAR", help="avatar id")
    aa.add_argument("name", metavar="NAME", help="clip name: 1-40 letters, digits, - and _")
    aa.add_argument("video", metavar="VIDEO", help="video file; its sound, if any, plays with it")
    aa.add_argument("--loop", action="store_true", help="play looped until something else happens")
    aa.add_argument("--max-seconds", type=float, default=60.0, metavar="SECONDS",
                    help="keep at most this much of the video (default 60)")
    al = acsub.add_parser("list", help="list an avatar's action clips")
    al.add_argument("avatar", metavar="AVATAR", help="avatar id")
    ar = acsub.add_parser("remove", help="remove an action clip")
    ar.add_argument("avatar", metavar="AVATAR", help="avatar id")
    ar.add_argument("name", metavar="NAME", help="clip name")
    m = sub.add_parser("models", help="check or download model weights (MuseTalk)")
    msub = m.add_subparsers(dest="models_command", required=True)
    mc = msub.add_parser("check", help="list each engine's files: present or missing, and where to get them")
    mc.add_argument("--models-dir", metavar="DIR", help="models folder (default: setting models_dir, ./models)")
    mc.add_argument("--version", choices=("v15", "v1", "all"), default="v15",
                    help="MuseTalk version whose completeness sets the exit code (default v15)")
    md = msub.add_parser("download", help="download the missing MuseTalk files from Hugging Face")
    md.add_argument("--models-dir", metavar="DIR", help="models folder (default: setting models_dir, ./models)")
    md.add_argument("--version", choices=("v15", "v1", "all"), default="v15", help="MuseTalk version (default v15)")
    md.add_argument("--mirror", metavar="URL", help="Hugging Face mirror, e.g. https://hf-mirror.com "
                    "(else $HF_ENDPOINT or huggingface.co)")
    md.add_argument("--required-only", action="store_true", help="skip the optional face-parsing weights")


def run(args) -> int:
    """Run a parsed streamer sub-command; the process exit code. Bad input raises one of
    streamer.demo.BAD_INPUT (the `livehost` command prints it as one line)."""
    if args.command == "demo":
        w, h = args.size or (None, None)
        settings = Settings.load(args.config, avatar=args.avatar, voice=args.voice, lipsync=args.lipsync,
                                 width=w, height=h, video_bitrate=args.bitrate, preset=args.preset)
        if (args.push or args.segments) and args.record:
            raise SettingsError("give either --push (and --segments) or --record, not both")
        if args.no_pace and not args.record:
            raise SettingsError("--no-pace only makes sense with --record (a live is paced)")
        return run_demo(settings, DemoOptions(tuple(args.push), args.record, args.duration, args.script,
                                              pace=not args.no_pace, room=args.room, bus_session=args.session,
                                              commands=None if args.no_console else sys.stdin,
                                              sources=tuple(args.source), segments=args.segments))
    settings = Settings.load(args.config)
    if args.command == "models":
        return _models(args, settings)
    if args.avatar_command == "prepare":
        path = prepare(args.source, args.id, settings, engine=args.engine, bbox_shift=args.bbox_shift,
                       extra_margin=args.extra_margin)
        print(f"avatar {args.id} ready in {path}")
        return 0
    if args.avatar_command == "action":
        return _action(args, settings)
    folder = settings.avatars_dir
    ids = sorted(p.name for p in folder.iterdir() if (p / "avatar.json").exists()) if folder.exists() else []
    print("\n".join(ids) if ids else f"no avatars in {folder}/ (the default one is made on first demo)")
    return 0


def _action(args, settings: Settings) -> int:
    if args.action_command == "add":
        path = actions.prepare_action(settings.avatars_dir, args.avatar, args.name, args.video, loop=args.loop,
                                      progress=ProgressBar(f"preparing {args.avatar}/{args.name}"),
                                      max_seconds=args.max_seconds)
        print(f"action clip {args.name} of avatar {args.avatar} ready in {path}")
    elif args.action_command == "remove":
        actions.remove_action(settings.avatars_dir, args.avatar, args.name)
        print(f"action clip {args.name} removed from avatar {args.avatar}")
    else:
        rows = actions.list_actions(settings.avatars_dir, args.avatar)
        if not rows:
            print(f"avatar {args.avatar} has no action clips "
                  f"(add one: livehost avatar action add {args.avatar} NAME VIDEO)")
            return 0
        width = max(4, *(len(r["name"]) for r in rows))
        print(f"{'NAME':<{width}}  FRAMES  SECONDS  LOOP  AUDIO")
        for r in rows:
            print(f"{r['name']:<{width}}  {r['frames']:>6}  {r['seconds']:>7.2f}  "
                  f"{'yes' if r['loop'] else 'no':<4}  {'yes' if r['has_audio'] else 'no'}")
    return 0


def _models(args, settings: Settings) -> int:
    folder = Path(args.models_dir) if args.models_dir else settings.models_dir
    versions = weights.VERSIONS if args.version == "all" else (args.version,)
    hint = f"{weights.FETCH_HINT} --version {args.version} --models-dir {folder}"
    if args.models_command == "download":
        for version in versions:
            weights.download(folder, version, mirror=args.mirror, optional=not args.required_only)
            print(f"musetalk {version}: complete in {folder}")
        return 0
    print(f"models folder: {folder.resolve()}")
    print("parametric: ready (no weights needed)")
    complete = {}
    for version in weights.VERSIONS:
        rows = weights.check(folder, version)
        lacking = sum(1 for f, ok in rows if not ok and not f.optional)
        complete[version] = not lacking
        print(f"musetalk {version}: " + ("complete" if not lacking else f"incomplete, {lacking} required "
                                         f"file{'s' if lacking > 1 else ''} missing"))
        for f, ok in rows:
            state = ("present" if ok else "missing") + (" (optional)" if f.optional else "")
            print(f"  {state:<18} {folder / f.path}  ({f.what}, {f.size_hint}; {f.source})")
    print(f"face landmarks (MuseTalk avatar preparation): {describe(*landmarker_for(folder))}")
    if all(complete[v] for v in versions):
        return 0
    print(f"fetch the missing files with: {hint}")
    return 1
