"""One live, running: the stages of the pipeline wired together, with control, status and one stop path.

    Director -> Speaker (TTS) -> Clock -> Lipsync -> Compositor -> Encoder -> Output (sink)

The speaker pulls from the director; every other arrow is a small bounded Pipe (streamer.pipeline).
In a live the clock releases each tick 160 ms before its wall-clock time and the encoder encodes it
40 ms before (the output sends packets as they come), so about three video frames wait between
them; an interrupt turns every one of them to idle at the encoder, so that what was cut is off the
wire within about 70 ms of stream time (median, bench.interrupt). Off real time the pipes' bounds
set the pace. A Live is made by streamer.build.build_live from a LiveSpec; it owns what it was
given and closes it when it ends.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from streamer.audience.crowd import Audience, events_of
from streamer.avatar.model import Avatar
from streamer.cpu import CpuRate, thread_cpu_seconds
from streamer.director import Action, Director, Lines, Position, product_at
from streamer.frames import FPS
from streamer.lipsync.base import LipsyncEngine
from streamer.llm.context import History, ReplyContext
from streamer.llm.reply import Replier
from streamer.output.sink import Sink
from streamer.pipeline.clock import LEAD, Clock
from streamer.pipeline.compositor import Canvas, CompositorStage
from streamer.pipeline.encoder import Encoder, EncoderStage
from streamer.pipeline.generation import Generation
from streamer.pipeline.lipsync import LipsyncStage
from streamer.pipeline.on_air import OnAir
from streamer.pipeline.output import OutputStage
from streamer.pipeline.pipe import Pipe
from streamer.pipeline.speaker import Speaker
from streamer.pipeline.stage import EventHandler, Stage, StageSetup
from streamer.room import RoomPolicy
from streamer.scene.mixer import Mixer
from streamer.scene.spec import CARDS, Scene
from streamer.script import Script
from streamer.selling import faq
from streamer.selling.products import Catalog
from streamer.selling.rewording import Rewriter
from streamer.settings import Settings
from streamer.voice.base import Voice

log = logging.getLogger("livehost.live")


class CommandError(ValueError):
    """A control command is malformed or unknown. One line."""


class LiveState(StrEnum):
    """Where a live is in its life; the values are what events and status carry."""

    STARTING = "starting"
    LIVE = "live"
    STOPPING = "stopping"
    ENDED = "ended"
    FAILED = "failed"


@dataclass
class Parts:
    """What one live is made of, ready to run (streamer.build makes them from a LiveSpec).

    `voices(spec)` gives the Voice for an utterance's voice spec (None: the live's own voice).
    `attached` are started with the live (`start(live)`) and stopped after it ends (`stop()`),
    as the control link is; `closers` are called once the live has ended. `fallback` says why
    the lipsync engine asked for was replaced by parametric, if it was. `audience`: the viewers'
    sources and triage (one of `attached`). `catalog`: the products and shop knowledge replies are
    grounded in; `rewriter`: re-words a looping script's sentences for the next loop (with an LLM).
    """

    settings: Settings
    script: Script
    avatar: Avatar
    engine: LipsyncEngine
    voices: Callable[[str | None], Voice]
    encoder: Encoder
    sink: Sink
    replier: Replier
    policy: RoomPolicy = field(default_factory=RoomPolicy)
    audience: Audience | None = None
    catalog: Catalog = field(default_factory=Catalog)
    rewriter: Rewriter | None = None
    attached: list = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    fallback: str | None = None
    scene: Scene = field(default_factory=Scene)


class Live:
    """Runs one live until the script ends, `duration` seconds of media are out, or stop().

    `realtime` False lets the clock wait for speech and the sink run unpaced (recordings, tests).
    Events (utterance, reply, command, action, interrupt, cut, error, output, state, audience,
    audience_action, product, compliance, card) go to
    `on_event(kind, session=id, **fields)` from stage threads; control methods are thread-safe.
    """

    def __init__(self, parts: Parts, *, live_id: str = "live", start: Position = Position(),
                 duration: float | None = None, realtime: bool = True, on_event: EventHandler | None = None):
        self.id = live_id
        self.parts = parts
        self.audience = parts.audience
        self._listener = on_event or (lambda kind, **f: None)
        self.errors: list[str] = []
        self.state = LiveState.STARTING
        self.started_at: float | None = None
        self.gen = Generation()
        self._stop = threading.Event()
        self._done = threading.Event()
        setup = StageSetup(self._stop, self.gen, self._stage_failed, self._event)
        q = lambda n: Pipe(self._stop, n)  # noqa: E731
        audio, ticks, lips, frames, packets = q(25), q(3), q(3), q(3), q(3)
        paced = realtime and parts.sink.realtime
        self.director = Director(parts.script, self.gen, self._event, start, catalog=parts.catalog,
                                 rewriter=parts.rewriter)
        self.canvas = canvas = Canvas(parts.avatar, parts.settings.width, parts.settings.height, parts.scene,
                                      product_at=lambda pos: product_at(parts.script, parts.catalog, pos),
                                      product=self.director.product)
        self.history = History()
        self.on_air = OnAir(self.director, self._event)
        self.speaker = Speaker(setup, self.director, audio, parts.voices)
        self.clock = Clock(setup, audio, ticks, parts.avatar, realtime,
                           max_frames=round(duration * FPS) if duration else None,
                           lead=LEAD + parts.engine.delay_s, speech_during_action=parts.policy.speech_during_action)
        self.lipsync = LipsyncStage(setup, ticks, lips, parts.engine, parts.avatar, realtime=paced)
        self.compositor = CompositorStage(setup, lips, frames, canvas)
        self.mixer = Mixer(parts.scene.music, parts.scene.loudness, on_error=self._music_failed)
        self.encoder = EncoderStage(setup, frames, packets, parts.encoder, canvas, self.on_air, pace=paced,
                                    mix=self.mixer.mix)
        self.output = OutputStage(setup, packets, parts.sink)
        self.stages: list[Stage] = [self.speaker, self.clock, self.lipsync, self.compositor, self.encoder,
                                    self.output]
        self.pipes = {"audio": audio, "ticks": ticks, "lips": lips, "frames": frames, "packets": packets}
        self._rate: deque[tuple[float, int, int]] = deque(maxlen=12)
        self._cpu = CpuRate(lambda: thread_cpu_seconds(stage.native_id for stage in self.stages))

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = time.monotonic()
        self._set_state(LiveState.LIVE)
        self.mixer.start()
        for stage in self.stages:
            stage.start()
        threading.Thread(target=self._watch, name=f"live-{self.id}", daemon=True).start()
        for part in self.parts.attached:
            part.start(self)

    def _watch(self) -> None:
        self.output.join()
        self._stop.set()
        self.speaker.cut()
        for stage in self.stages:
            stage.join(timeout=5)
        self.parts.encoder.close()
        self.mixer.close()
        if self.state != LiveState.FAILED:
            self._set_state(LiveState.ENDED)
        for part in self.parts.attached:
            part.stop()
        for close in self.parts.closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - the live is over; what failed to close is only logged
                log.exception("[%s] closing %s failed", self.id, close)
        self._done.set()

    def request_stop(self) -> None:
        """Begin stopping without waiting (safe from any thread, including event handlers)."""
        if not self._done.is_set() and not self._stop.is_set():
            self._set_state(LiveState.STOPPING)
            self.speaker.cut()
            self._stop.set()

    def stop(self) -> None:
        """Stop now: cancel speech, stop every stage, close the stream properly, join threads."""
        self.request_stop()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the live has ended and what it owned is closed; True if it has."""
        return self._done.wait(timeout)

    # -- control (any thread) --------------------------------------------------------------------
    def interrupt(self, at: float | None = None, hold: float | None = None, then=None,
                  command_id: str | None = None) -> None:
        """Cut the host off now: pending speech and replies are dropped, queued frames turn idle at
        the encoder, and the script goes on from the cut sentence after `hold` seconds (the room's
        interrupt gap by default) unless a reply or say comes first. `at`: when the command arrived
        (time.time()), for the latency measurement. `then`: a reply to speak first, carrying out
        command `command_id`."""
        with self.on_air.lock:
            resume = self.on_air.resume_position()
            self.director.cut(resume, self.parts.policy.interrupt_gap_s if hold is None else hold, at, then,
                              command_id)
            self.on_air.rewind(resume)
        self.speaker.cut()
        self.pipes["audio"].drain()  # stale already; this frees the speaker at once
        log.info("[%s] interrupted; the script resumes at %s", self.id, resume)
        self._event("interrupt", resume=resume.as_dict())

    def comment(self, text: str, user: str = "", comment_id: int | None = None, interrupt: bool = False,
                at: float | None = None, command_id: str | None = None, audience: int | None = None) -> None:
        """A viewer's comment: answered after the current sentence, or at once if `interrupt` (or the
        room answers immediately). The reply starts generating now either way. `audience`: the
        number of the viewer event it answers (triaged by the audience; `user` is then the name the
        host may say, or "").

        A question the products' facts answer (an FAQ, the price, the link number) is answered from
        them at once; anything else goes to the replier, grounded in the persona, the shop
        knowledge, the current product and the last exchanges of this live."""
        policy, catalog, product = self.parts.policy, self.parts.catalog, self.director.product
        known = faq.answer(text, catalog, product, policy.language)
        if known is not None:
            reply = Lines(known.text, comment_id, source="faq")
        else:
            context = ReplyContext(persona=policy.persona, knowledge=catalog.knowledge, product=product,
                                   products=catalog.products, history=self.history.last(), language=policy.language)
            reply = self.parts.replier.reply(text, user, comment_id, context)
        reply.audience = audience
        reply.asked_at = at if at is not None else time.time()
        self.history.add(text, reply)
        if interrupt or self.parts.policy.answer_immediately:
            self.interrupt(at, hold=0.0, then=reply, command_id=command_id)
        else:
            self.director.inject(reply, command=command_id)

    def say(self, text: str, interrupt: bool = False, at: float | None = None, command_id: str | None = None,
            source: str = "say") -> None:
        """Say `text` after the current sentence, or now if `interrupt`; `source` names it in the
        events ("say", or "thanks" for the audience's thank-you lines)."""
        lines = Lines(text, source=source)
        if interrupt:
            self.interrupt(at, hold=0.0, then=lines, command_id=command_id)
        else:
            self.director.inject(lines, command=command_id)

    def action(self, name: str, loop: bool | None = None) -> None:
        """Play the avatar's action clip `name` from the next video frame."""
        self.clock.play(Action(name, self.gen.value, None, loop))

    def pause(self) -> None:
        """Pause the script after the current sentence (comments are still answered)."""
        self.director.pause()
        self._event("paused", paused=True)

    def resume(self) -> None:
        self.director.resume()
        self._event("paused", paused=False)

    def show_card(self, card: str | None) -> None:
        """Put card `card` ("starting_soon", "be_right_back") on air over the whole picture, or take
        it off (None). The host's voice and the music go on: pause first for a silent break."""
        if card is not None and card not in CARDS:
            raise CommandError(f"card must be one of {', '.join(CARDS)} or null, not {card!r}")
        self.canvas.show_card(card)
        self._event("card", card=card)

    def apply(self, command: dict, at: float | None = None, command_id: str | None = None) -> None:
        """Apply one control command {"type": ..., ...} as the bus and the demo's stdin carry them.

        With a `command_id` (its id on the control stream) the live reports one `command` event
        {command_id, state} once the command is carried out: say and comment when their speech has
        been on air ("done") or an interrupt dropped it ("cancelled"), the others at once ("done").
        A refused command (CommandError) reports nothing."""
        kind = command.get("type") if isinstance(command, dict) else None
        text = command.get("text") if isinstance(command, dict) else None
        if kind in ("comment", "say"):
            if not isinstance(text, str) or not text.strip():
                raise CommandError(f"a {kind} command needs a non-empty text")
            if kind == "comment":
                comment_id = command.get("comment_id")
                self.comment(text, str(command.get("user") or ""),
                             comment_id if isinstance(comment_id, int) else None,
                             bool(command.get("interrupt", False)), at, command_id)
            else:
                self.say(text, bool(command.get("interrupt", False)), at, command_id)
            return
        elif kind == "interrupt":
            self.interrupt(at)
        elif kind == "action":
            name = command.get("name")
            if not isinstance(name, str) or not name:
                raise CommandError("an action command needs the clip's name")
            loop = command.get("loop")
            self.action(name, loop if isinstance(loop, bool) else None)
        elif kind == "pause":
            self.pause()
        elif kind == "resume":
            self.resume()
        elif kind == "stop":
            self.request_stop()
        elif kind == "card":
            self.show_card(command.get("card"))
        elif kind in ("audience", "answer", "skip", "block"):
            self._audience_command(kind, command)
        else:
            raise CommandError(f"unknown command type {kind!r}")
        if command_id is not None:
            self._event("command", command_id=command_id, state="done")

    def _audience_command(self, kind: str, command: dict) -> None:
        """Relayed events, and the operator's answer now / skip / block of a viewer's message."""
        if self.audience is None:
            raise CommandError("this live does not listen to an audience")
        if kind == "audience":
            try:
                self.audience.feed(events_of(command))
            except (TypeError, ValueError) as e:
                raise CommandError(f"bad audience events: {e}") from None
        elif kind == "block":
            user = command.get("user")
            if not isinstance(user, str) or not user.strip():
                raise CommandError("a block command needs the user")
            self.audience.block(user)
        else:
            seq = command.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool):
                raise CommandError(f"an {kind} command needs the event's number (seq)")
            done = self.audience.answer_now(seq) if kind == "answer" else self.audience.skip(seq)
            if not done:
                raise CommandError(f"viewer message {seq} cannot be {'answered' if kind == 'answer' else 'skipped'}"
                                   " now (unknown, not a comment, or no longer waiting)")

    # -- status and events --------------------------------------------------------------------
    def resume_position(self) -> Position:
        """Where the script would go on if the host were cut off now (and after a restart)."""
        return self.on_air.resume_position()

    def status(self) -> dict:
        now = time.monotonic()
        frames, sent = self.output.frames, self.output.bytes
        self._rate.append((now, frames, sent))
        t0, f0, b0 = self._rate[0]
        dt = now - t0
        return {
            "id": self.id,
            "state": self.state,
            "seconds": round(frames / FPS, 2),
            "fps": round((frames - f0) / dt, 1) if dt > 0.5 else 0.0,
            "bitrate": round((sent - b0) * 8 / dt) if dt > 0.5 else 0,
            "speaking": self.on_air.speaking,
            "action": self.clock.action,
            "paused": self.director.paused,
            "pending_replies": self.director.pending,
            "position": self.resume_position().as_dict(),
            "queues": {name: p.qsize() for name, p in self.pipes.items()},
            "cpu": self._cpu.cores(),
            "encoder": {"preset": self.parts.encoder.preset, "step": self.encoder.governor.step,
                        "behind_s": round(self.encoder.governor.behind, 3),
                        "overloaded": self.encoder.governor.overloaded},
            "connected": getattr(self.parts.sink, "connected", True),
            "destinations": self.parts.sink.destinations(),
            "errors": len(self.errors),
            "product": ({"id": self.director.product.id, "name": self.director.product.name}
                        if self.director.product is not None else None),
            "scene": {"card": self.canvas.card, "music": self.mixer.status()},
            "tts_cache": cache.counts() if (cache := getattr(self.parts.voices, "cache", None)) else None,
            **({"audience": self.audience.status()} if self.audience is not None else {}),
        }

    def emit(self, kind: str, **fields) -> None:
        """Report an event of the live (from any thread): to its listener and the control link."""
        self._event(kind, **fields)

    def _event(self, kind: str, **fields) -> None:
        if kind == "error":
            self.errors.append(fields.get("message", ""))
        try:
            self._listener(kind, session=self.id, **fields)
        except Exception:  # noqa: BLE001 - a listener must not break the live
            log.exception("event handler failed")

    def _set_state(self, state: LiveState) -> None:
        self.state = state
        self._event("state", state=state)

    def _music_failed(self, path, why: str) -> None:
        self._event("error", source="music", message=f"music: {path.name} cannot be played ({why})")

    def _stage_failed(self, stage: str, e: BaseException) -> None:
        self._set_state(LiveState.FAILED)
        self._event("error", source=stage, message=f"{stage}: {e}")
        self._stop.set()
