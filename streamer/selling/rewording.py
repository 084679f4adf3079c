"""Never the same loop twice: with an LLM, each sentence of a looping script is re-worded for the
next loop while the current one is said, so that a platform does not flag the live as a replay.

The director hands the re-worder the sentence it is saying (prepare) and asks, one loop later,
for what it made (take). A re-wording is used only if it is ready in time, keeps every fact of the
sentence (its numbers, and the names and link numbers of the products it names) and holds no
banned word (asked again once); otherwise the script's own sentence is said. Speech never waits.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from streamer.llm.complete import Completer, LlmError
from streamer.llm.openai_chat import reask_messages
from streamer.selling.compliance import Compliance
from streamer.selling.products import Catalog

log = logging.getLogger("livehost.rewording")

REWORD_RULE = ("You re-word one sentence of a live-stream host's script so that it does not sound the same every "
               "time it is said. Keep its meaning, its language and every fact exactly as written: prices, numbers, "
               "product names, link numbers. Add no claim and nothing else. Answer with the one sentence only.")
MAX_READY = 4096  # re-worded sentences kept waiting for their turn
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass
class RewordStats:
    """What became of the sentences given to the re-worder."""

    asked: int = 0
    used: int = 0  # re-wordings said
    late: int = 0  # still being made when their turn came: the original was said
    rejected: int = 0  # lost a fact, held a banned word twice, or malformed: the original was said
    failed: int = 0  # the LLM failed


class Rewriter:
    """Re-words sentences on its own thread ("rewording"), one at a time, in the order asked.
    prepare() and take() never block (any thread); close() stops the thread."""

    def __init__(self, completer: Completer, compliance: Compliance, catalog: Catalog = Catalog(),
                 timeout_s: float = 8.0):
        self.completer, self.compliance, self.catalog = completer, compliance, catalog
        self.timeout_s = timeout_s
        self.stats = RewordStats()
        self._lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._pending: set[Hashable] = set()
        self._ready: OrderedDict[Hashable, str] = OrderedDict()
        self._thread = threading.Thread(target=self._run, name="rewording", daemon=True)
        self._thread.start()

    def prepare(self, key: Hashable, text: str) -> None:
        """Re-word `text` for its turn `key` (a script position one loop ahead)."""
        with self._lock:
            if key in self._pending or key in self._ready:
                return
            self._pending.add(key)
            self.stats.asked += 1
        self._jobs.put((key, text))

    def take(self, key: Hashable) -> str | None:
        """The re-wording made for `key`, or None (not asked, late, or rejected: say the original)."""
        with self._lock:
            text = self._ready.pop(key, None)
            if text is not None:
                self.stats.used += 1
            elif key in self._pending:
                self._pending.discard(key)  # too late: dropped when it is done
                self.stats.late += 1
            return text

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(self.timeout_s + 2)
        self.completer.close()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            key, text = job
            with self._lock:
                if key not in self._pending:
                    continue  # its turn came already
            made = self._reword(text)
            with self._lock:
                if key not in self._pending:
                    continue
                self._pending.discard(key)
                if made is not None:
                    self._ready[key] = made
                    while len(self._ready) > MAX_READY:
                        self._ready.popitem(last=False)

    def _reword(self, text: str) -> str | None:
        try:
            made = self._ask([{"role": "system", "content": REWORD_RULE}, {"role": "user", "content": text}])
            words = self.compliance.words(made)
            if words:
                self.compliance.report("rewording", words, "reasked", made)
                made = self._ask(reask_messages(made, words))
                words = self.compliance.words(made)
                if words:
                    self.compliance.report("rewording", words, "original", made)
                    self._reject()
                    return None
        except LlmError as e:
            with self._lock:
                self.stats.failed += 1
            log.warning("re-wording failed, the script's sentence is said (%s)", e)
            return None
        lost = self.lost_facts(text, made)
        if lost:
            log.info("re-wording dropped %s; the script's sentence is said", ", ".join(lost))
            self._reject()
            return None
        return made

    def _ask(self, messages: list[dict[str, str]]) -> str:
        made = self.completer.complete(messages, timeout_s=self.timeout_s, max_tokens=200)
        made = " ".join(made.split()).strip("\"'“”「」")
        if not made or "{" in made or len(made) > 400:
            raise LlmError("the re-wording was not one plain sentence")
        return made

    def _reject(self) -> None:
        with self._lock:
            self.stats.rejected += 1

    def lost_facts(self, original: str, made: str) -> list[str]:
        """The facts of `original` that `made` lacks: its numbers, and the names and link numbers
        of the products it names."""
        facts = _NUMBER.findall(original)
        for p in self.catalog.products:
            facts += [f for f in (p.name, p.link) if f and f in original]
        return [f for f in dict.fromkeys(facts) if f not in made]
