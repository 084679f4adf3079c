"""The client manager: WAIT when full, DISCONNECT at the time limit, ERROR for garbage and a wrong API
key, and none of it disturbs the clients that behave."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.helpers.speech import speech
from tests.helpers.transcription import stream_sentences, wer

SENTENCE = "Hello everyone, welcome to the live room."


def hello(ws, uid: str, **options) -> dict:
    ws.send(json.dumps({"uid": uid, "language": "en", **options}))
    return json.loads(ws.recv(timeout=10))


def answers_then_close(ws) -> list[dict]:
    out = []
    try:
        while True:
            out.append(json.loads(ws.recv(timeout=10)))
    except ConnectionClosed:
        return out


def test_a_client_over_max_clients_gets_wait_with_minutes_and_one_over_the_time_limit_disconnect(serve):
    url = serve(max_clients=1, max_connection_time=3)
    with connect(url) as first:
        assert hello(first, "first")["message"] == "SERVER_READY"
        t0 = time.monotonic()
        with connect(url) as second:
            answer = hello(second, "second")
            assert answer["uid"] == "second" and answer["status"] == "WAIT"
            assert isinstance(answer["message"], float) and 0 < answer["message"] <= 3 / 60
            assert answers_then_close(second) == []
        first.send(np.zeros(1600, np.float32).tobytes())
        assert answers_then_close(first)[-1] == {"uid": "first", "message": "DISCONNECT"}
        assert 2.5 < time.monotonic() - t0 < 6.0
    with connect(url) as third:  # the slot is free again
        assert hello(third, "third")["message"] == "SERVER_READY"


@pytest.mark.parametrize("garbage", ["not json", b"\x00\x01\x02", "odd", "int16", "bad task"])
def test_garbage_gets_error_and_does_not_disturb_a_speaker(serve, garbage):
    url = serve(max_clients=4)
    clip = speech(SENTENCE)
    result = {}
    speaker = threading.Thread(target=lambda: result.update(run=stream_sentences(url, "good", [clip], 1.0, 1.0)))
    speaker.start()
    time.sleep(0.8)
    with connect(url) as bad:
        if garbage in ("not json", b"\x00\x01\x02"):
            bad.send(garbage)
            answers = answers_then_close(bad)
        elif garbage == "bad task":
            answers = [hello(bad, "bad", task="dance")]
        else:
            assert hello(bad, "bad")["message"] == "SERVER_READY"
            if garbage == "odd":
                bad.send(b"\x00" * 1601)
            else:  # int16 samples while the options said float32
                bad.send((clip[:16000] * 32767).astype("<i2").tobytes())
            answers = answers_then_close(bad)
    assert answers and answers[-1]["status"] == "ERROR" and answers[-1]["message"]
    if garbage not in ("not json", b"\x00\x01\x02"):  # it gave its uid: WhisperLive's client reads only its own
        assert answers[-1]["uid"] == "bad"
    speaker.join(30)
    assert wer(SENTENCE, result["run"].transcript()) < 0.10


def test_a_client_leaving_mid_sentence_does_not_disturb_another(serve):
    url = serve(max_clients=4)
    clip = speech(SENTENCE)
    result = {}
    speaker = threading.Thread(target=lambda: result.update(run=stream_sentences(url, "stays", [clip], 1.0, 1.0)))
    speaker.start()
    with connect(url) as leaver:
        assert hello(leaver, "leaves")["message"] == "SERVER_READY"
        for i in range(0, clip.size // 2, 1600):
            leaver.send(clip[i:i + 1600].tobytes())
            time.sleep(0.1)
    speaker.join(30)
    assert wer(SENTENCE, result["run"].transcript()) < 0.10


def test_api_key_from_query_or_bearer_header_and_error_without_it(serve):
    url = serve(api_key="s3cret")
    for bad_url, headers in ((url, None), (url + "/?api_key=wrong", None)):
        with connect(bad_url, additional_headers=headers) as ws:
            answer = hello(ws, "k")
            assert answer["status"] == "ERROR" and "API key" in answer["message"]
            assert answers_then_close(ws) == []
    with connect(url + "/?api_key=s3cret") as ws:
        assert hello(ws, "q")["message"] == "SERVER_READY"
    with connect(url, additional_headers={"Authorization": "Bearer s3cret"}) as ws:
        assert hello(ws, "h")["message"] == "SERVER_READY"


def test_settings_come_from_the_environment_and_the_key_is_never_shown():
    from transcriber.settings import TranscriberSettings

    s = TranscriberSettings.load(env={"LIVEHOST_TRANSCRIBER_MAX_CLIENTS": "7", "LIVEHOST_TRANSCRIBER_API_KEY": "k3y",
                                      "LIVEHOST_TRANSCRIBER_MAX_CONNECTION_TIME": "30"}, port=9999)
    assert (s.max_clients, s.max_connection_time, s.port, s.effective_compute_type) == (7, 30.0, 9999, "int8")
    assert "k3y" not in repr(s)


def test_livehost_transcriber_serve_is_a_command():
    from livehost.cli import build_parser

    args = build_parser(api=False).parse_args(["transcriber", "serve", "--port", "0", "--max-clients", "2"])
    assert (args.command, args.transcriber_command, args.max_clients) == ("transcriber", "serve", 2)
