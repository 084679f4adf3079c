"""`livehost demo`: one live from the command line, pushed to an RTMP URL or to a local receiver."""
from __future__ import annotations

import logging
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from streamer.avatar.model import AvatarError
from streamer.audience import SourceSpec
from streamer.build import LiveSpec, PushTo, RecordSegments, RecordTo, Resources, build_live
from streamer.control.bus import BusError
from streamer.control.console import HELP, Console
from streamer.control.link import connect_redis
from streamer.lipsync.base import LipsyncError
from streamer.output.receiver import LocalReceiver
from streamer.output.rtmp import parse_rtmp_url
from streamer.output.sink import SinkError
from streamer.progress import ProgressBar
from streamer.room import RoomPolicy, load_room, load_room_scene
from streamer.scene.spec import Scene
from streamer.selling.products import Catalog
from streamer.script import ScriptError, load_script
from streamer.settings import Settings, SettingsError
from streamer.voice.base import VoiceError

log = logging.getLogger("livehost.demo")

SAMPLE_SCRIPT = Path(__file__).parent / "samples" / "demo.yaml"
BAD_INPUT = (AvatarError, LipsyncError, ScriptError, SettingsError, SinkError, VoiceError)


@dataclass
class DemoOptions:
    push: tuple[str, ...] = ()  # one live, encoded once, to each
    record: str | None = None
    duration: float | None = None
    script: str | None = None
    pace: bool = True
    room: str | None = None  # room settings YAML (persona, keyword replies, interrupt gap, ...)
    bus_session: str | None = None  # also take commands from the Redis bus as this session id
    commands: TextIO | None = None  # where typed commands come from (stdin); None: none
    sources: tuple[SourceSpec, ...] = ()  # the platforms' chats to listen to (--source)
    segments: str | None = None  # also keep the live there in MPEG-TS segments


def ensure_avatar(settings: Settings) -> None:
    """The default avatar is made on first use (and given action clips an older one lacks)."""
    from streamer.avatar.default import ensure_default_avatar

    if settings.avatar == "default":
        if not (settings.avatars_dir / "default").exists():
            print("Preparing the default avatar (once)...", file=sys.stderr)
        ensure_default_avatar(settings.avatars_dir)


def run_demo(settings: Settings, opts: DemoOptions, out=sys.stdout) -> int:
    """Run one live; returns the process exit code. Bad input raises one of BAD_INPUT first."""
    for url in opts.push:
        parse_rtmp_url(url)
    if opts.duration is not None and opts.duration <= 0:
        raise SettingsError(f"--duration must be a positive number of seconds, not {opts.duration:g}")
    script = load_script(opts.script or SAMPLE_SCRIPT)
    policy, catalog = load_room(opts.room) if opts.room else (RoomPolicy(), Catalog())
    scene = load_room_scene(opts.room) if opts.room else Scene()
    bus = _bus(settings, opts.bus_session)
    ensure_avatar(settings)
    receiver = None
    if opts.record:
        output = RecordTo(opts.record, paced=opts.pace)
    elif opts.push:
        output = tuple(PushTo(url) for url in opts.push)
    else:
        receiver = LocalReceiver(settings.var_dir / "demo")
        receiver.start()
        output = (PushTo(receiver.url, connect_for=5.0, probe=False),)
    if opts.segments:
        output = (*output, RecordSegments(opts.segments, settings.recording_segment_s))
    spec = LiveSpec(script=script, output=output, id=opts.bus_session or "demo", policy=policy, catalog=catalog,
                    duration=opts.duration, realtime=opts.pace, sources=with_credentials(opts.sources, settings),
                    scene=scene)
    try:
        live = build_live(spec, Resources(settings), bus=bus, worker="demo", on_event=_log_event)
    except BaseException:
        if receiver is not None:
            receiver.stop()
        raise
    if live.parts.fallback:
        print(f"livehost: lipsync {settings.lipsync} is not available, using parametric: {live.parts.fallback}",
              file=out, flush=True)
    print(f"livehost: live to {live.parts.sink.describe()} at {settings.width}x{settings.height}, "
          f"voice {settings.voice}, avatar {settings.avatar}, lipsync {live.parts.engine.name}, "
          f"replies by {'LLM ' + settings.llm_model if settings.llm() else 'keyword rules'}", file=out, flush=True)
    relay = _start_relay(live, settings, out) if any(src.platform == "relay" for src in opts.sources) else None
    live.start()
    for source in opts.sources:
        if source.platform != "relay":
            print(f"livehost: listening to {source.name}", file=out, flush=True)
    if bus is not None:
        print(f"livehost: taking commands for session {opts.bus_session} from the control bus", file=out, flush=True)
    if opts.commands is not None:
        print(f"livehost: {HELP}", file=out, flush=True)
        Console(live, opts.commands, out).start()
    try:
        while not live.wait(1.0):
            _print_status(live.status(), out)
    except KeyboardInterrupt:
        print("\nstopping...", file=out, flush=True)
        live.stop()
    live.wait()
    if relay is not None:
        relay.stop()
    if receiver is not None:
        time.sleep(0.3)
        receiver.stop()
    st = live.status()
    print(f"livehost: {st['state']} after {st['seconds']:.1f} s of media", file=out, flush=True)
    if receiver is not None and receiver.recordings:
        for path in receiver.recordings:
            print(f"recorded: {path}  (play it: ffplay {path})", file=out)
    elif opts.record:
        print(f"recorded: {opts.record}  (play it: ffplay {opts.record})", file=out)
    if opts.segments:
        print(f"kept in segments: {opts.segments}  (play them: ffplay {opts.segments}/seg-00001.ts)", file=out)
    if live.errors:
        print(f"livehost: finished with {len(live.errors)} error(s); first: {live.errors[0]}",
              file=out, flush=True)
        return 1
    return 0 if live.state == "ended" else 1


def with_credentials(sources: tuple[SourceSpec, ...], settings: Settings) -> tuple[SourceSpec, ...]:
    """The demo's sources with the credentials its settings hold (LIVEHOST_BILIBILI_COOKIE, ...)."""
    given = {"bilibili": {"cookie": settings.bilibili_cookie, "buvid": settings.bilibili_buvid},
             "youtube": {"api_key": settings.youtube_api_key, "oauth_token": settings.youtube_oauth_token}}
    return tuple(SourceSpec(s.platform, s.target, given.get(s.platform, {})) for s in sources)


def _start_relay(live, settings: Settings, out):
    """The embedded default's relay endpoint (`--source relay`): events posted to it reach the live."""
    from streamer.audience.relay import RelayServer

    token = settings.relay_token or secrets.token_urlsafe(24)
    relay = RelayServer(settings.relay_listen, token, live.audience.feed)
    relay.start()
    shown = "the token in LIVEHOST_RELAY_TOKEN" if settings.relay_token else f"token {token}"
    print(f"livehost: relay events to POST {relay.url}/events or {relay.ws_url} with {shown}", file=out, flush=True)
    return relay


def _bus(settings: Settings, session_id: str | None):
    """The control bus for --session, checked now so a wrong URL is an error before going live."""
    if session_id is None:
        return None
    if not settings.redis_url:
        raise SettingsError("--session needs the control bus: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    bus = connect_redis(settings.redis_url)
    try:
        bus.cursor(session_id)
    except BusError as e:
        raise SettingsError(str(e)) from None
    return bus


def _print_status(st: dict, out) -> None:
    saying = st["speaking"] or "(idle)"
    if len(saying) > 60:
        saying = saying[:57] + "..."
    link = "" if st["connected"] else "  [reconnecting]"
    crowd = st.get("audience") or {}
    chat = (f" | chat {crowd['per_minute']:.0f}/min, {crowd['queued']} waiting, {crowd['answered']} answered"
            if crowd.get("received") else "")
    print(f"[{st['seconds']:7.1f}s] {st['fps']:5.1f} fps {st['bitrate'] / 1e6:5.2f} Mb/s{link}{chat} | {saying}",
          file=out, flush=True)


def _log_event(kind: str, **fields) -> None:
    if kind == "utterance":
        if fields.get("state") == "start":
            log.info("[%s] saying: %s", fields.get("session"), fields.get("text"))
        elif fields.get("cut"):
            log.info("[%s] cut off: %s", fields.get("session"), fields.get("text"))
    elif kind == "reply":
        log.info("[%s] reply (%s) to comment %s: %s", fields.get("session"), fields.get("source"),
                 fields.get("comment_id"), fields.get("text"))
    elif kind == "cut":
        log.info("[%s] interrupt: first silent frame out of the encoder after %.0f ms", fields.get("session"),
                 fields.get("latency_ms", 0))
    elif kind == "action":
        log.info("[%s] action %s %s", fields.get("session"), fields.get("name"), fields.get("state"))
    elif kind == "error":
        log.error("[%s] %s: %s", fields.get("session"), fields.get("source"), fields.get("message"))
    elif kind == "output":
        log.info("[%s] output %s %s", fields.get("session"), fields.get("state"), fields.get("url"))
    elif kind == "audience" and fields.get("action") not in ("seen", "skipped"):
        log.info("[%s] %s %s from %s: %s (%s)", fields.get("session"), fields.get("platform"), fields.get("event"),
                 fields.get("user"), fields.get("text") or fields.get("gift"), fields.get("action"))
    elif kind == "product":
        log.info("[%s] now presenting product %s: %s", fields.get("session"), fields.get("product"), fields.get("name"))
    elif kind == "compliance":
        log.warning("[%s] banned words %s in a %s: %s (%s)", fields.get("session"), ", ".join(fields.get("words", [])),
                    fields.get("where"), fields.get("text"), fields.get("action"))
    else:
        log.debug("[%s] %s %s", fields.get("session"), kind, fields)


def prepare(source: str, avatar_id: str, settings: Settings, engine: str = "parametric", bbox_shift: int = 0,
            extra_margin: int | None = None) -> Path:
    """Prepare an avatar from `source`; for engine "musetalk" also its MuseTalk data (the
    weights are loaded first, so missing ones are reported before the long part)."""
    from streamer.avatar.live2d import is_live2d, prepare_live2d
    from streamer.avatar.prepare import prepare_avatar
    from streamer.avatar.store import load_avatar

    if is_live2d(Path(source)):  # a Live2D model (folder or zip): kept and rendered, no engine data
        return prepare_live2d(Path(source), avatar_id, settings.avatars_dir)
    model = landmarker = parser = None
    if engine == "musetalk":
        from streamer.lipsync import load_musetalk_model, preparation_tools

        model = load_musetalk_model(settings)
        landmarker, parser = preparation_tools(model, settings.models_dir,
                                               say=lambda text, _missing: print(text, file=sys.stderr))
    path = prepare_avatar(Path(source), avatar_id, settings.avatars_dir,
                          progress=ProgressBar(f"preparing {avatar_id}"))
    if model is not None:
        from streamer.lipsync.musetalk import avatar as mt_avatar

        mt_avatar.prepare(load_avatar(settings.avatars_dir, avatar_id), model, bbox_shift, extra_margin,
                          progress=ProgressBar(f"MuseTalk {model.version} crops, masks and latents"),
                          landmarker=landmarker, parser=parser)
    return path
