"""How many real-time speakers the transcription service holds with a commit delay under 1 s
(tiny.en int8 on this machine), and the commit delay p50/p95 at each load.

Each client streams espeak sentences in real time (100 ms chunks) with 1.5 s pauses; the commit delay
is from the last chunk of a sentence to the update that marks it completed. Prints numbers; asserts
nothing.

    python -m bench.transcriber [--max-clients 8] [--sentences 4] [--model tiny.en]
"""
from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np

from tests.helpers.speech import speech
from tests.helpers.transcription import stream_sentences, wer
from transcriber.engine import WhisperEngine
from transcriber.server import TranscriptionServer
from transcriber.settings import TranscriberSettings

SENTENCES = ["Hello everyone, welcome to the live room.", "Please leave a comment if you have a question.",
             "Thank you for watching and see you tomorrow.", "Good morning and welcome to our show.",
             "We will answer your questions after the break.", "Let me show you how it works."]


def load(url: str, clients: int, sentences: int) -> tuple[list[float], float, int]:
    """Run `clients` speakers at once; (commit delays, mean WER, sentences never committed)."""
    texts = [[SENTENCES[(c + k) % len(SENTENCES)] for k in range(sentences)] for c in range(clients)]
    clips = {s: speech(s) for s in SENTENCES}
    runs = {}

    def speak(c: int) -> None:
        time.sleep(c * 0.37)  # clients do not start in lock-step
        runs[c] = stream_sentences(url, f"bench-{c}", [clips[s] for s in texts[c]], gap=1.5, tail=2.0)

    threads = [threading.Thread(target=speak, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delays, errors, missing = [], [], 0
    for c, run in runs.items():
        got = run.commit_delays()
        missing += len(texts[c]) - len(got)
        delays += got
        errors.append(wer(" ".join(texts[c]), run.transcript()))
    return delays, float(np.mean(errors)), missing


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-clients", type=int, default=8)
    p.add_argument("--sentences", type=int, default=4)
    p.add_argument("--model", default="tiny.en")
    args = p.parse_args()
    engine = WhisperEngine(args.model, "cpu", "int8")
    server = TranscriptionServer(TranscriberSettings(port=0, max_clients=args.max_clients + 1), engine).start()
    url = f"ws://127.0.0.1:{server.port}"
    print(f"model {args.model} int8 on {os.cpu_count()} cores; {args.sentences} sentences per client")
    print("clients  commit p50  commit p95  max     WER    not committed")
    held = 0
    try:
        for n in range(1, args.max_clients + 1):
            delays, error, missing = load(url, n, args.sentences)
            d = np.array(delays) if delays else np.array([float("inf")])
            p50, p95 = np.percentile(d, 50), np.percentile(d, 95)
            print(f"{n:>7}  {p50:>8.2f} s  {p95:>8.2f} s  {d.max():>5.2f} s  {error:>5.1%}  {missing}")
            if p95 < 1.0 and missing == 0:
                held = n
            elif n > held + 1:
                break
    finally:
        server.stop()
    print(f"real-time clients held with commit delay p95 < 1 s: {held}")


if __name__ == "__main__":
    main()
