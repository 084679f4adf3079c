"""Ordinary speech: sentences separated by natural ~0.3 s pauses, which the VAD rarely hears as the end
of an utterance. Each sentence is still completed soon after it ends, in order and for good; audio that
simply stops is committed; END_OF_AUDIO gets the final commit and then the server's close."""
from __future__ import annotations

import threading
import time

import pytest

from tests.helpers.speech import speech
from tests.helpers.transcription import PARAGRAPHS, Run, natural_pauses, stream_sentences, wer

pytestmark = pytest.mark.slow


def speak_paragraph(url: str, uid: str, sentences: list[str], **kwargs) -> Run:
    clips = [speech(s) for s in sentences]
    return stream_sentences(url, uid, clips, gap=natural_pauses(len(clips)), **kwargs)


def assert_each_sentence_completed_within(run: Run, sentences: list[str], seconds: float) -> None:
    assert run.messages[0][1]["message"] == "SERVER_READY"
    assert all(m.get("uid") == run.uid for _, m in run.messages)
    assert run.rewrites() == [], "a completed segment was changed or overlapped later"
    delays = run.commit_delays()
    assert len(delays) == len(sentences), (run.uid, delays, run.transcript())
    assert max(delays) < seconds, (run.uid, [round(d, 2) for d in delays])
    assert wer(" ".join(sentences), run.transcript()) < 0.10, (run.uid, run.transcript())


@pytest.mark.parametrize("paragraph", range(len(PARAGRAPHS)))
def test_each_sentence_of_ordinary_speech_is_completed_within_2s_in_order_and_for_good(serve, paragraph):
    url = serve()
    sentences = PARAGRAPHS[paragraph]
    run = speak_paragraph(url, f"para-{paragraph}", sentences, tail=1.0)
    assert_each_sentence_completed_within(run, sentences, 2.0)


def test_three_clients_of_ordinary_speech_at_once_each_sentence_completed_within_2s(serve):
    url = serve(max_clients=4)
    runs: dict[int, Run] = {}
    clips = {k: [speech(s) for s in p] for k, p in enumerate(PARAGRAPHS)}

    def speak(k: int) -> None:
        time.sleep(k * 0.37)  # not in lock-step
        runs[k] = stream_sentences(url, f"client-{k}", clips[k], gap=natural_pauses(len(clips[k])), tail=1.0)

    threads = [threading.Thread(target=speak, args=(k,)) for k in clips]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for k, sentences in enumerate(PARAGRAPHS):
        assert_each_sentence_completed_within(runs[k], sentences, 2.0)


def test_audio_that_stops_without_end_of_audio_has_its_last_sentence_completed_within_3s(serve):
    url = serve()
    sentences = PARAGRAPHS[1][:3]
    run = speak_paragraph(url, "held", sentences, tail=0.0, end_of_audio=False, hold=5.0)
    assert not run.server_closed  # nothing said the audio ended: the connection stays
    delays = run.commit_delays()
    assert len(delays) == len(sentences), (delays, run.transcript())
    assert delays[-1] < 3.0, delays
    last = [m for _, m in run.messages if m.get("segments")][-1]["segments"]
    assert all(s["completed"] for s in last)
    assert wer(" ".join(sentences), run.transcript()) < 0.10, run.transcript()


def test_end_of_audio_gets_the_final_commit_and_then_the_server_closes(serve):
    url = serve()
    sentences = PARAGRAPHS[2][:2]
    # END_OF_AUDIO right after the last word: only END_OF_AUDIO can end that sentence.
    run = speak_paragraph(url, "ender", sentences, tail=0.0, hold=10.0)
    assert run.server_closed, "the server kept the connection open after END_OF_AUDIO"
    assert run.closed_at - run.end_of_audio_at < 5.0
    after = [m for t, m in run.messages if t >= run.end_of_audio_at]
    assert after and "segments" in after[-1], after
    assert all(s["completed"] for s in after[-1]["segments"])
    assert wer(" ".join(sentences), run.transcript()) < 0.10, run.transcript()
    assert run.rewrites() == []


def test_speech_without_pauses_is_committed_as_it_goes_with_a_short_window(serve):
    """Nobody pauses at all: with no pause to confirm a sentence's end, text is completed once the
    window reaches 8 s, so a window stays within Whisper's 10 s input and memory stays flat, however
    long the speaker goes on."""
    url = serve()
    sentences = PARAGRAPHS[0]
    run = stream_sentences(url, "nonstop", [speech(s) for s in sentences], gap=0.0, tail=1.0)
    assert run.rewrites() == []
    delays = run.commit_delays()
    assert len(delays) == len(sentences), (delays, run.transcript())
    assert max(delays) < 10.0, [round(d, 2) for d in delays]
    completed = run.completed()
    assert len(completed) >= 3 and max(float(s["end"]) - float(s["start"]) for s in completed) < 10.0, completed
    assert wer(" ".join(sentences), run.transcript()) < 0.10, run.transcript()
