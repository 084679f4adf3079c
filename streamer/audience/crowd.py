"""Audience: one live's sources and triage, attached to the live (started and stopped with it).

Events from the sources' threads and from the control stream (the relay, the dashboard) go
through the triage at once; a thread of its own ("audience-<live>") then turns the triage's
answers and thank-you lines into speech at the host's pace: a comment is answered when the host
holds no other reply, within the room's replies a minute. Nothing here can stall the live: a
source is a thread that reconnects on its own, the triage only counts and queues, and speech is
handed to the director, which never waits for it.

Every event is reported as an `audience` event (the event and what triage made of it) and every
later outcome as `audience_action` (answered, thanked, skipped, dropped), with the event's number.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from streamer.audience import SourceSpec
from streamer.audience.events import AudienceEvent
from streamer.audience.source import Source
from streamer.audience.triage import Decision, Triage, TriagePolicy, Waiting
from streamer.settings import Settings

log = logging.getLogger("livehost.audience")

TICK_S = 0.05  # how often the crowd's thread looks for what to say


def open_source(spec: SourceSpec, settings: Settings, on_event: Callable[[AudienceEvent], None]) -> Source | None:
    """The Source reading `spec`'s chat (None for the relay, whose events come by command)."""
    if spec.platform == "bilibili":
        from streamer.audience.bilibili import BilibiliSource

        return BilibiliSource(int(spec.target), on_event, api_base=settings.bilibili_api_base,
                              cookie=spec.secrets.get("cookie", ""), buvid=spec.secrets.get("buvid", ""))
    if spec.platform == "youtube":
        from streamer.audience.youtube import YouTubeSource

        return YouTubeSource(spec.target, on_event, api_base=settings.youtube_api_base,
                             api_key=spec.secrets.get("api_key", ""),
                             oauth_token=spec.secrets.get("oauth_token", ""))
    if spec.platform == "relay":
        return None
    raise ValueError(f"unknown audience source {spec.platform!r}")


class Audience:
    """The part of a live that listens to its viewers. `seq_start`: the first event number (a live
    resumed elsewhere goes on from the numbers its last run used)."""

    def __init__(self, policy: TriagePolicy, sources: tuple[SourceSpec, ...] = (), settings: Settings | None = None,
                 seq_start: int = 1, banned=None):
        self.triage = Triage(policy, seq_start, banned=banned)
        self.specs = sources
        self.sources: list[Source] = []
        for spec in sources:
            source = open_source(spec, settings or Settings(), self.receive)
            if source is not None:
                self.sources.append(source)
        self.live = None
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # -- attached to the live ------------------------------------------------------------------------
    def start(self, live) -> None:
        self.live = live
        self._thread = threading.Thread(target=self._run, name=f"audience-{live.id}", daemon=True)
        self._thread.start()
        for source in self.sources:
            source.start()

    def stop(self) -> None:
        self._halt.set()
        for source in self.sources:
            source.stop()
        if self._thread is not None:
            self._thread.join(timeout=3)
        for seq in self.triage.drop_all():
            self._action(seq, "dropped", "live_ended")

    # -- events in (any thread) ------------------------------------------------------------------
    def receive(self, event: AudienceEvent) -> None:
        """A viewer did something: triage it, report it, and answer at once if it cuts in."""
        decision = self.triage.receive(event)
        self._report(event, decision)
        for seq, reason in decision.dropped:
            self._action(seq, "dropped", reason)
        if decision.action == "interrupt" and self.live is not None:
            self._answer(decision.waiting, interrupt=True)

    def feed(self, events: list[AudienceEvent]) -> None:
        for event in events:
            self.receive(event)

    # -- the operator's commands -----------------------------------------------------------------
    def answer_now(self, seq: int) -> bool:
        waiting = self.triage.take(seq)
        if waiting is None:
            return False
        self._answer(waiting, interrupt=True)
        return True

    def skip(self, seq: int) -> bool:
        if not self.triage.skip(seq):
            return False
        self._action(seq, "skipped", "operator")
        return True

    def block(self, user: str) -> None:
        for seq in self.triage.block(user):
            self._action(seq, "skipped", "blocked_user")

    def status(self) -> dict:
        return {**self.triage.status(), "sources": [s.status() for s in self.sources]}

    # -- speaking ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._halt.wait(TICK_S):
            live = self.live
            try:
                for line, seqs, urgent in self.triage.due_thanks():
                    live.say(line, interrupt=urgent, source="thanks")
                    for seq in seqs:
                        self._action(seq, "thanked", reply=line)
                if live.director.pending:
                    continue  # a reply or a line is still to be said: the next waits its turn
                waiting, stale = self.triage.next_answer()
                for seq, reason in stale:
                    self._action(seq, "dropped", reason)
                if waiting is not None:
                    self._answer(waiting, interrupt=False)
            except Exception:  # noqa: BLE001 - the audience must never take the live down
                log.exception("[%s] audience: answering failed", live.id)

    def _answer(self, waiting: Waiting, interrupt: bool) -> None:
        self._action(waiting.seq, "answering")  # first: the answer can be over before answer() returns
        self.live.comment(waiting.event.text, waiting.name, interrupt=interrupt, audience=waiting.seq)

    # -- reporting ----------------------------------------------------------------------------------
    def _report(self, event: AudienceEvent, decision: Decision) -> None:
        if self.live is None:
            return
        fields = event.as_dict()  # the control link leaves `raw` out of what it publishes
        fields.pop("id", None)
        fields["event"] = fields.pop("kind")  # `kind` names the live's event itself
        self.live.emit("audience", seq=decision.seq, action=decision.action, reason=decision.reason, **fields)

    def _action(self, seq: int, action: str, reason: str | None = None, reply: str | None = None) -> None:
        if self.live is not None:
            self.live.emit("audience_action", seq=seq, action=action, reason=reason, reply=reply)


def events_of(command: dict) -> list[AudienceEvent]:
    """The events of an `audience` command (the relay's, checked by the API); ValueError if bad."""
    items = command.get("events")
    if not isinstance(items, list) or not items:
        raise ValueError("an audience command needs a list of events")
    fields = set(AudienceEvent.__dataclass_fields__)
    out = []
    for item in items:
        if not isinstance(item, dict) or not {"kind", "platform"} <= set(item):
            raise ValueError("an audience event needs a kind and a platform")
        out.append(AudienceEvent(**{k: v for k, v in item.items() if k in fields}))
    return out
