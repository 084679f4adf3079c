"""The transcription service under real-time load: commit delay p50/p95 per sentence, WER, and the
CPU it costs, for three ways of speaking, each with 1, 3 and 6 clients at once (tiny.en int8 here).

- pauses: sentences with 1.5 s of silence between them, then END_OF_AUDIO;
- ordinary: paragraphs of ordinary speech (natural 0.25-0.35 s pauses between sentences), then
  END_OF_AUDIO;
- held-open: the same paragraphs, but the client stops sending and keeps its socket open (as
  WhisperLive's TranscriptionClient does) with no END_OF_AUDIO.

Each client streams espeak speech in 100 ms chunks in real time. The commit delay of a sentence runs
from its last chunk to the first update that marks it completed. CPU-s per audio-s is this process's
CPU time (server, model and the light clients) over the seconds of audio all clients sent. Prints
numbers; asserts nothing.

    python -m bench.transcriber [--clients 1,3,6] [--cases pauses,ordinary,held-open] [--model tiny.en]
"""
from __future__ import annotations

import argparse
import os
import resource
import threading
import time

import numpy as np

from tests.helpers.speech import speech
from tests.helpers.transcription import PARAGRAPHS, Run, natural_pauses, stream_sentences, wer
from transcriber.engine import WhisperEngine
from transcriber.server import TranscriptionServer
from transcriber.settings import TranscriberSettings

CASES = {  # name: (pauses between sentences, seconds after the last, END_OF_AUDIO)
    "pauses": (lambda n: [1.5] * (n - 1), 2.0, True),
    "ordinary": (natural_pauses, 1.0, True),
    "held-open": (natural_pauses, 0.0, False),
}
HOLD_S = 4.0  # how long a held-open client waits, silent, for its last sentence


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load(url: str, case: str, clients: int, clips: dict[str, np.ndarray]) -> dict:
    """`clients` speakers at once, each a paragraph; the figures of the run."""
    pauses, tail, end_of_audio = CASES[case]
    texts = [PARAGRAPHS[c % len(PARAGRAPHS)] for c in range(clients)]
    runs: dict[int, Run] = {}

    def speak(c: int) -> None:
        time.sleep(c * 0.37)  # clients do not start in lock-step
        audio = [clips[s] for s in texts[c]]
        runs[c] = stream_sentences(url, f"{case}-{c}", audio, gap=pauses(len(audio)), tail=tail,
                                   end_of_audio=end_of_audio, hold=HOLD_S)

    cpu0 = cpu_seconds()
    threads = [threading.Thread(target=speak, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = cpu_seconds() - cpu0
    delays, errors, missing, audio_s = [], [], 0, 0.0
    for c, run in runs.items():
        got = run.commit_delays()
        missing += len(texts[c]) - len(got)
        delays += got
        errors.append(wer(" ".join(texts[c]), run.transcript()))
        audio_s += run.audio_ends[-1] + tail
    d = np.array(delays) if delays else np.array([float("inf")])
    return {"p50": float(np.percentile(d, 50)), "p95": float(np.percentile(d, 95)), "max": float(d.max()),
            "wer": float(np.mean(errors)), "missing": missing, "sentences": sum(map(len, texts)),
            "cpu_per_audio_s": cpu / audio_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", default="1,3,6", help="loads to run, comma-separated")
    p.add_argument("--cases", default=",".join(CASES), help=f"ways of speaking: {', '.join(CASES)}")
    p.add_argument("--model", default="tiny.en")
    args = p.parse_args()
    loads = [int(n) for n in args.clients.split(",")]
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        p.error(f"unknown case(s): {', '.join(unknown)}; choose from {', '.join(CASES)}")
    engine = WhisperEngine(args.model, "cpu", "int8")
    server = TranscriptionServer(TranscriberSettings(port=0, max_clients=max(loads) + 1), engine).start()
    url = f"ws://127.0.0.1:{server.port}"
    clips = {s: speech(s) for paragraph in PARAGRAPHS for s in paragraph}
    print(f"model {args.model} int8 on {os.cpu_count()} cores; one paragraph of 6-7 sentences per client")
    print("case       clients  commit p50  commit p95   max      WER   not committed  CPU-s/audio-s")
    try:
        for case in cases:
            for n in loads:
                r = load(url, case, n, clips)
                print(f"{case:<10} {n:>7}  {r['p50']:>8.2f} s  {r['p95']:>8.2f} s  {r['max']:>5.2f} s  "
                      f"{r['wer']:>6.1%}  {r['missing']:>5}/{r['sentences']:<7}  {r['cpu_per_audio_s']:>8.2f}",
                      flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
