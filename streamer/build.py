"""How a live is built: a LiveSpec (what the live is) and the process's shared Resources give a
Live, ready to start. The demo, the workers, the embedded default, the benches and the tests all
build their lives here, so they share one behaviour:

- every voice the script uses is checked before going live;
- the lipsync engine is the spec's, or parametric when it cannot load (unless the settings say
  `lipsync_fallback: refuse`), and the fallback is reported;
- the output is opened before going live: an RTMP server is connected once (retried for the
  output's `connect_for` seconds), so a wrong URL is an error now rather than a retry loop;
- the control link (commands in, events and status out) is attached when a bus is given;
- the audience (the platforms' chats and their triage) is attached to every live: the relay and
  the dashboard feed it through the control link even when no source is named;
- the Live owns what was made for it and closes it when it ends; what was made before a failure
  is closed before the error goes up.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streamer.audience import SourceSpec
from streamer.audience.crowd import Audience
from streamer.avatar.model import Avatar
from streamer.avatar.store import load_avatar
from streamer.control.link import ControlLink
from streamer.director import Position
from streamer.lipsync import engine_or_fallback
from streamer.lipsync.base import LipsyncEngine
from streamer.live import Live, Parts
from streamer.llm import Replier, create_replier
from streamer.llm.complete import Completer
from streamer.output.file import FileSink
from streamer.output.rtmp import RtmpSink
from streamer.output.preview import HlsSink
from streamer.output.segments import SegmentSink
from streamer.output.sink import Sink, SinkError
from streamer.output.tee import TeeSink
from streamer.pipeline.encoder import Encoder
from streamer.pipeline.stage import EventHandler
from streamer.room import RoomPolicy
from streamer.scene.spec import Scene
from streamer.script import Script, ScriptError
from streamer.selling.compliance import Compliance
from streamer.selling.products import Catalog
from streamer.selling.rewording import Rewriter
from streamer.settings import Settings
from streamer.voice import create_voice
from streamer.voice.base import Voice
from streamer.voice.voices import Voices

log = logging.getLogger("livehost.build")

RETRY_CONNECT_S = 0.25  # pause between first-connect attempts


@dataclass(frozen=True)
class PushTo:
    """Push the live over RTMP(S) to `url`. The first connect is retried for `connect_for`
    seconds (a server that is still starting); `probe` first checks the server with a plain TCP
    connect (off for FFmpeg's one-client local receiver, which a probe would use up)."""

    url: str
    connect_for: float = 0.0
    probe: bool = True


@dataclass(frozen=True)
class RecordTo:
    """Record the live to a .flv/.mp4/.mkv file; `paced` at the media's speed, else as fast as it goes."""

    path: str | Path
    paced: bool = False


@dataclass(frozen=True)
class RecordSegments:
    """Keep the live under `folder` as it goes out, in MPEG-TS segments of about `segment_s`
    seconds (each playable alone, also when the process is killed), beside its destinations."""

    folder: str | Path
    segment_s: float = 60.0


@dataclass(frozen=True)
class Preview:
    """The outgoing live as HLS under `folder`, for the operator's console (the last few seconds)."""

    folder: str | Path


#: Where a live goes: a push URL, a recording, or any sink made on the live's encoder (tests, benches).
Output = PushTo | RecordTo | RecordSegments | Preview | Callable[[Encoder], Sink]


@dataclass(frozen=True)
class LiveSpec:
    """What one live is. None for voice, avatar or lipsync means the settings' default.

    `output`: one or several destinations (one encoding, each sent the same packets; see
    streamer.output.tee). `start` is where the script begins (a live resumed by another worker); `duration` ends it
    after that many seconds of media; `realtime` False lets a recording go as fast as it can.
    `sources`: the platforms' chats the live listens to (triaged by `policy.audience`);
    `audience_from`: the number of its first viewer event (a resumed live goes on counting).
    `catalog`: the products the script's `product` segments name (and the room's others) and the
    shop's knowledge, which replies are grounded in. `scene`: what is drawn around the avatar
    (captions, product card, AI label, background, logo, title) and the music under the voice.
    """

    script: Script
    output: Output | tuple[Output, ...]
    id: str = "live"
    voice: str | None = None
    avatar: str | None = None
    lipsync: str | None = None
    policy: RoomPolicy = field(default_factory=RoomPolicy)
    start: Position = Position()
    duration: float | None = None
    realtime: bool = True
    sources: tuple[SourceSpec, ...] = ()
    audience_from: int = 1
    catalog: Catalog = Catalog()
    scene: Scene = Scene()


class Resources:
    """What the lives of one process share: the settings, lipsync engines (loaded once: one model
    in GPU memory for all the worker's lives), prepared avatars (read-only) and the voice maker."""

    def __init__(self, settings: Settings, make_voice: Callable[[str], Voice] = create_voice):
        self.settings = settings
        self.make_voice = make_voice
        self._lock = threading.Lock()
        self._engines: dict[str, tuple[LipsyncEngine, str | None]] = {}
        self._avatars: dict[str, Avatar] = {}

    def engine(self, name: str) -> tuple[LipsyncEngine, str | None]:
        """(engine, why it fell back to parametric or None) for lipsync `name`, loaded once; with
        lipsync_fallback "refuse" an engine that cannot load raises LipsyncError."""
        with self._lock:
            if name not in self._engines:
                self._engines[name] = engine_or_fallback(name, self.settings)
            return self._engines[name]

    def avatar(self, avatar_id: str) -> Avatar:
        """The prepared avatar `avatar_id` under the settings' avatars_dir, loaded once."""
        with self._lock:
            if avatar_id not in self._avatars:
                self._avatars[avatar_id] = load_avatar(self.settings.avatars_dir, avatar_id)
            return self._avatars[avatar_id]


def build_live(spec: LiveSpec, resources: Resources, *, replier: Replier | None = None, bus=None,
               worker: str = "", on_event: EventHandler | None = None,
               cancel: threading.Event | None = None) -> Live:
    """The Live that `spec` describes, connected and ready to start().

    `replier` answers comments (default: the LLM in the settings, else the room's keyword rules;
    either way the live closes it when it ends);
    `bus` (RedisBus or MemoryBus) attaches a control link as `worker`; `on_event(kind, session=id,
    **fields)` hears the live's events; `cancel` gives up a first connect that is being retried.
    Raises the one-line error of what is wrong (VoiceError, AvatarError, LipsyncError, SinkError,
    ...) with nothing left open.
    """
    settings = resources.settings
    link = ControlLink(bus, spec.id, worker=worker) if bus is not None else None
    listen = _fan_out(on_event, link.on_event if link else None)
    made: list[Callable[[], None]] = []
    missing = [s.name for s in spec.script.segments if s.kind == "product" and spec.catalog.get(s.name) is None]
    if missing:
        raise ScriptError(f"the script names product {missing[0]}, which this live does not have "
                          f"(products: {', '.join(p.id for p in spec.catalog.products) or 'none'})")
    try:
        voices = Voices(spec.voice or settings.voice, resources.make_voice, settings.tts_cache_mb,
                        fallback=spec.policy.fallback_voice,
                        on_fallback=lambda voice, fallback, reason: listen(
                            "error", session=spec.id, source="voice",
                            message=f"voice {voice} failed ({reason}): {fallback} speaks instead"))
        made.append(voices.close)
        voices(spec.policy.fallback_voice).check()
        voices(None).check()
        for segment in spec.script.segments:
            if segment.voice:
                voices(segment.voice).check()
        avatar = resources.avatar(spec.avatar or settings.avatar)
        lipsync = "live2d" if avatar.live2d is not None else spec.lipsync or settings.lipsync  # a model, drawn
        engine, fell_back = resources.engine(lipsync)
        if fell_back:
            listen("error", session=spec.id, source="lipsync",
                   message=f"lipsync {lipsync} is not available, using parametric: {fell_back}")
        encoder = Encoder(settings)
        made.append(encoder.close)
        sink = _open_all(spec.output, encoder, settings, lambda kind, **f: listen(kind, session=spec.id, **f), cancel)
        made.append(sink.close)
        compliance = Compliance(spec.policy.banned, lambda kind, **f: listen(kind, session=spec.id, **f))
        llm = settings.llm()
        replier = replier or create_replier(llm, spec.policy.reply_rules(), compliance)
        made.append(replier.close)
        rewriter = (Rewriter(Completer(llm), compliance, spec.catalog, llm.timeout_s)
                    if llm is not None and spec.policy.reword_loops and spec.script.loop != 1 else None)
        if rewriter is not None:
            made.append(rewriter.close)
        audience = Audience(spec.policy.audience, spec.sources, settings, spec.audience_from, spec.policy.banned)
        parts = Parts(settings=settings, script=spec.script, avatar=avatar, engine=engine, voices=voices,
                      encoder=encoder, sink=sink, replier=replier, policy=spec.policy, audience=audience,
                      catalog=spec.catalog, rewriter=rewriter, attached=[audience] + ([link] if link else []),
                      closers=[replier.close, voices.close] + ([rewriter.close] if rewriter else []), fallback=fell_back,
                      scene=spec.scene)
        return Live(parts, live_id=spec.id, start=spec.start, duration=spec.duration, realtime=spec.realtime,
                    on_event=listen)  # draws the scene's layers: a media file that cannot be read fails here
    except BaseException:
        for close in reversed(made):
            _quietly(close)
        raise


def _open_all(outputs: Output | tuple[Output, ...], encoder: Encoder, settings: Settings, on_event: EventHandler,
              cancel: threading.Event | None) -> Sink:
    """The live's sink: one output's, or a tee of several. With several, a push destination that
    cannot be reached now is retried by its branch (an error event says so), unless none can."""
    if not isinstance(outputs, tuple):
        return _open(outputs, encoder, settings, on_event, cancel)
    if len(outputs) == 1:
        return _open(outputs[0], encoder, settings, on_event, cancel)
    sinks: list[Sink] = []
    down: list[SinkError] = []
    try:
        for output in outputs:
            try:
                sinks.append(_open(output, encoder, settings, on_event, cancel))
            except SinkError as e:
                if not isinstance(output, PushTo):
                    raise
                down.append(e)
                on_event("error", source="output", message=f"{e}; retrying while the live goes on")
                sinks.append(RtmpSink(output.url, encoder, settings.rtmp_connect_timeout, settings.reconnect_max_delay,
                                      on_event=on_event, probe=output.probe))
        if down and len(down) == sum(isinstance(o, PushTo) for o in outputs):
            raise down[0]  # no platform can be reached: the live cannot start
    except BaseException:
        for sink in sinks:
            _quietly(sink.close)
        raise
    return TeeSink(sinks, on_event)


def _open(output: Output, encoder: Encoder, settings: Settings, on_event: EventHandler,
          cancel: threading.Event | None) -> Sink:
    if isinstance(output, Preview):
        return HlsSink(output.folder, encoder, on_event=on_event)
    if isinstance(output, RecordSegments):
        return SegmentSink(output.folder, encoder, output.segment_s, on_event=on_event)
    if isinstance(output, RecordTo):
        return FileSink(output.path, encoder, realtime=output.paced)
    if not isinstance(output, PushTo):
        return output(encoder)
    sink = RtmpSink(output.url, encoder, settings.rtmp_connect_timeout, settings.reconnect_max_delay,
                    on_event=on_event, probe=output.probe)
    deadline = time.monotonic() + output.connect_for
    while True:
        try:
            sink.connect()
            return sink
        except SinkError:
            if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                raise
            time.sleep(RETRY_CONNECT_S)


def _fan_out(*handlers: EventHandler | None) -> EventHandler:
    handlers = tuple(h for h in handlers if h is not None)

    def handle(kind: str, **fields) -> None:
        for h in handlers:
            h(kind, **fields)
    return handle


def _quietly(close: Callable[[], None]) -> None:
    try:
        close()
    except Exception:  # noqa: BLE001 - already failing; the first error is the one to report
        log.exception("closing %s after a failed build", close)
