"""Each voice engine's time to its first audio and real-time factor on this machine:

  * espeak and Piper (the bundled English voice) synthesized here;
  * GPT-SoVITS and CosyVoice through local stand-ins of their servers (tests/helpers/tts_servers)
    that send their speech as fast as they can: what is measured is the client's own overhead
    (HTTP, WAV header, resampling to 16 kHz), not a model's; a real server adds its synthesis.
  * edge-tts is left out: it needs the internet.

First audio: from stream() to its first chunk. RTF: wall time / seconds of audio for a few
sentences. CPU: this process's CPU seconds per audio second (the stand-ins share the process, so
their sending is counted in).

Prints numbers; asserts nothing.

    python -m bench.voices [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

from streamer.voice import create_voice
from tests.helpers.tts_servers import FakeCosyVoice, FakeGptSovits

TEXT = ("Good evening and welcome to the live room. Tonight we look at three new phones, "
        "and I will answer your questions as we go. Leave a comment any time.")
ZH = "大家好，欢迎来到直播间。今天给大家带来三款新手机，有问题随时在评论区留言。"


def measure(spec: str, text: str, runs: int) -> dict:
    voice = create_voice(spec)
    voice.check()  # loads a model, switches weights: what a live does before it starts
    firsts, rtfs, cpus = [], [], []
    for _ in range(runs):
        t0, c0 = time.monotonic(), time.process_time()
        first, samples = None, 0
        for chunk in voice.stream(text):
            first = first if first is not None else time.monotonic() - t0
            samples += len(chunk)
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
        seconds = samples / 16000
        firsts.append(first or 0.0)
        rtfs.append(wall / seconds)
        cpus.append(cpu / seconds)
    voice.close()
    return {"first": statistics.median(firsts), "first_max": max(firsts), "rtf": statistics.median(rtfs),
            "cpu": statistics.median(cpus), "audio_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'engine':<40} {'first audio p50/max':>20} {'RTF':>7} {'CPU-s/audio-s':>14} {'audio':>7}")

    def show(name: str, spec: str, text: str) -> None:
        try:
            r = measure(spec, text, args.runs)
        except Exception as e:  # noqa: BLE001 - a bench reports what it could not measure
            print(f"{name:<40} not measured: {e}")
            return
        print(f"{name:<40} {r['first'] * 1000:>9.0f} / {r['first_max'] * 1000:>4.0f} ms {r['rtf']:>7.3f} "
              f"{r['cpu']:>14.3f} {r['audio_s']:>6.1f}s")

    show("espeak (English)", "espeak:en", TEXT)
    show("espeak (Mandarin)", "espeak:cmn", ZH)
    show("piper (en_US joe, bundled)", "piper", TEXT)
    with FakeGptSovits(speed=1000.0) as gpt, FakeCosyVoice(speed=1000.0) as cosy:
        show("gptsovits client (stand-in, 32 kHz)", f"gptsovits:{gpt.url}?ref_audio_path=ref.wav&prompt_lang=zh", ZH)
        show("cosyvoice client (stand-in, 22.05 kHz)", f"cosyvoice:{cosy.url}?mode=sft&spk_id=中文女", ZH)


if __name__ == "__main__":
    main()
