"""Interrupting the host, end to end: commands over real Redis, the real pipeline, the live pushed to
nginx-rtmp and pulled back by a low-latency player; LLM replies from a fake OpenAI-compatible server."""
from __future__ import annotations

import time

import numpy as np
import pytest

from streamer.avatar.store import load_avatar
from streamer.build import PushTo, RecordTo
from streamer.control.link import connect_redis, stream_time
from streamer.llm import LlmReplier, LlmSettings
from streamer.pipeline.compositor import Canvas
from streamer.room import RoomPolicy
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.live import H, W, end_live, mouth_box_on_canvas, start_live, utterance_start
from tests.helpers.media import Player


def idle_difference(player: Player, avatars_dir, box, t0: float, t1: float) -> list[float]:
    """Mean absolute difference of the mouth region from the idle avatar, per frame in [t0, t1)."""
    canvas = Canvas(load_avatar(avatars_dir, "default"), W, H)
    x1, y1, x2, y2 = box
    out = []
    for _, t, crop in list(player.video):
        if t0 <= t < t1 and crop is not None:
            idle = canvas.idle(round(t * 25))[:H][y1:y2, x1:x2].astype(np.float32)
            out.append(float(np.mean(np.abs(crop - idle))))
    return out


@pytest.mark.slow
def test_interrupt_silences_the_stream_within_200ms_then_replies_and_resumes_the_cut_sentence(
        nginx_rtmp, redis_bus, avatars_dir):
    url = nginx_rtmp.url("cut")
    box = mouth_box_on_canvas(avatars_dir, W, H)
    player = Player(url, box=box, probe_s=0.5)  # both streams, whichever packet comes first
    player.start()
    with FakeOpenAI(reply="Good question. It costs nine dollars, shipping included.", first_token_delay=1.0,
                    token_delay=0.02) as fake:
        replier = LlmReplier(LlmSettings(base_url=fake.base_url, model="fake-model", api_key="sk-test", timeout_s=5))
        live, events = start_live(avatars_dir, PushTo(url), replier=replier, bus=redis_bus)
        assert events.wait(utterance_start(source="script"), 10), "the host never started speaking"
        time.sleep(3.5)  # well inside the first (long) sentence
        msg_id = redis_bus.send(live.id, {"type": "comment", "text": "How much is it?", "user": "ann",
                                             "comment_id": 5, "interrupt": True})
        sent = stream_time(msg_id)
        assert events.wait(lambda k, f: k == "reply" and f.get("comment_id") == 5, 15, after=sent), "no reply"
        resumed = events.wait(utterance_start(source="script"), 15, after=sent)
        time.sleep(1.0)
        end_live(live)
    player.stop()

    # What the viewer heard: speech, then silence within 200 ms of stream time after the command.
    heard = player.stream_time_at(sent)
    assert max(rms for _, t, rms in player.audio if heard - 1.0 <= t < heard) > 0.02, "not speaking at the cut"
    quiet = player.silence_from(heard - 0.3, hold=0.5)
    assert quiet is not None, "the stream never went silent after the interrupt"
    assert quiet - heard <= 0.2, f"silent {1000 * (quiet - heard):.0f} ms of stream time after the command"

    # The mouth closed: the frames after the cut show the idle avatar; while speaking they did not.
    after = idle_difference(player, avatars_dir, box, quiet + 0.08, quiet + 0.6)
    before = idle_difference(player, avatars_dir, box, heard - 1.5, heard - 0.2)
    assert after and max(after) < 4.0, f"mouth still moving after the cut: {max(after):.1f}"
    assert max(before) > 8.0, "the mouth did not move while speaking (the check above would prove nothing)"

    # The reply followed (streamed from the LLM), then the script resumed at the sentence that was cut.
    assert player.loud_from(quiet + 0.5) is not None, "the reply was never heard"
    body = fake.requests[0].body
    assert body["stream"] is True and "How much is it?" in body["messages"][-1]["content"]
    (_, reply), = events.of("reply", comment_id=5)
    assert reply["source"] == "llm" and "nine dollars" in reply["text"] and not reply["cut"]
    cut = [f for _, f in events.of("utterance", state="end") if f.get("cut")]
    assert cut and cut[0]["source"] == "script"
    assert resumed is not None and resumed[1]["text"] == cut[0]["text"], "the script did not resume at the cut sentence"
    replies = [f for _, f in events.of("utterance", state="start") if f.get("source") == "llm"]
    assert replies and resumed[0] > events.of("reply", comment_id=5)[0][0] - 0.5

    # The stream itself never stopped: video timestamps advance in steady 40 ms steps.
    pts = np.array([t for _, t, _ in player.video])
    assert len(pts) > 150 and np.max(np.diff(pts)) < 0.05


@pytest.mark.slow
def test_interrupt_during_a_pending_llm_request_cancels_it(redis_bus, avatars_dir, tmp_path):
    with FakeOpenAI(mode="hang") as fake:
        replier = LlmReplier(LlmSettings(base_url=fake.base_url, model="fake-model", timeout_s=20))
        live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), replier=replier,
                                  bus=redis_bus, policy=RoomPolicy(interrupt_gap_s=0.5))
        assert events.wait(utterance_start(source="script"), 10)
        redis_bus.send(live.id, {"type": "comment", "text": "Are you there?", "comment_id": 9, "interrupt": True})
        assert fake.wait_for_requests(1, timeout=5), "the LLM was never asked"
        t = time.time()
        redis_bus.send(live.id, {"type": "interrupt"})
        assert fake.wait_for_disconnects(1, timeout=1.5), "the LLM request was not cancelled"
        reply = events.wait(lambda k, f: k == "reply" and f.get("comment_id") == 9, 3)
        assert reply is not None and reply[1]["cut"] and reply[1]["text"] == ""
        # The host goes back to the script after the room's interrupt gap.
        back = events.wait(utterance_start(source="script"), 6, after=t)
        assert back is not None and back[0] - t >= 0.4
        end_live(live)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hang", "error"])
def test_llm_failure_gets_the_fallback_line_within_the_timeout_and_the_live_goes_on(
        mode, redis_bus, avatars_dir, tmp_path):
    fallback = "Sorry, the line is a bit busy."
    with FakeOpenAI(mode=mode) as fake:
        replier = LlmReplier(LlmSettings(base_url=fake.base_url, model="fake-model", timeout_s=1.5),
                             RoomPolicy(fallback_line=fallback).reply_rules())
        live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), replier=replier,
                                  bus=redis_bus)
        assert events.wait(utterance_start(source="script"), 10)
        msg_id = redis_bus.send(live.id, {"type": "comment", "text": "Hello?", "comment_id": 3, "interrupt": True})
        said = events.wait(utterance_start(text=fallback), 5, after=stream_time(msg_id))
        assert said is not None, "the fallback line was never said"
        assert said[0] - stream_time(msg_id) < 1.5 + 0.8, "the fallback came later than the timeout allows"
        assert events.wait(utterance_start(source="script"), 10, after=said[0]), "the live did not go on"
        end_live(live)
        assert live.state == "ended" and fake.requests


@pytest.mark.slow
def test_redis_restarted_mid_live_the_stream_goes_on_and_commands_are_obeyed_once(
        nginx_rtmp, redis_server, avatars_dir):
    url = nginx_rtmp.url("redis")
    player = Player(url)
    player.start()
    bus = connect_redis(redis_server.url)
    live, events = start_live(avatars_dir, PushTo(url), bus=bus)
    assert events.wait(utterance_start(), 10)
    bus.send(live.id, {"type": "say", "text": "Before the restart.", "interrupt": True})
    assert events.wait(utterance_start("Before the restart."), 5), "a command before the restart was not obeyed"

    redis_server.kill()
    down = time.time()
    time.sleep(2.0)
    redis_server.start()  # same port, empty: no persistence
    up = time.time()
    bus.send(live.id, {"type": "say", "text": "After the restart.", "interrupt": True})
    assert events.wait(utterance_start("After the restart."), 8, after=up), "a command after the restart was lost"
    deadline = time.monotonic() + 10
    while not bus.status(live.id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert bus.status(live.id).get("state") == "live", "the heartbeat did not come back"
    time.sleep(1.0)
    end_live(live)
    player.stop()

    for text in ("Before the restart.", "After the restart."):
        assert len(events.of("utterance", state="start", text=text)) == 1, f"{text!r} applied more than once"
    arrived = [a for a, _, _ in player.video]
    assert any(down + 0.2 < a < up for a in arrived), "no video reached the player while Redis was down"
    pts = np.array([t for _, t, _ in player.video])
    assert np.max(np.diff(pts)) < 0.05, "the stream had a gap"


@pytest.mark.parametrize("policy", ["wait", "interrupt"])
def test_speech_waits_for_an_action_clip_or_cuts_it_as_the_room_says(policy, avatars_dir, tmp_path):
    from tests.helpers.media import read_media

    out = tmp_path / "clip.flv"
    script = {"segments": [{"action": "greet"}, {"say": "Hello after the greeting."}]}
    live, events = start_live(avatars_dir, RecordTo(out, paced=True), script=script,
                              policy=RoomPolicy(speech_during_action=policy))
    assert live.wait(30)
    m = read_media(str(out))
    onset = next(t for t in np.arange(0, 6, 0.04) if m.rms_at(t, t + 0.04) > 0.01)
    clip = load_avatar(avatars_dir, "default").actions["greet"]
    if policy == "wait":
        assert onset >= clip.seconds - 0.05, f"speech started at {onset:.2f} s, inside the {clip.seconds:.2f} s clip"
    else:
        assert onset < clip.seconds / 2, f"speech waited until {onset:.2f} s for the {clip.seconds:.2f} s clip"
    assert [f["state"] for _, f in events.of("action", name="greet")] == ["start", "end"]


def test_action_clip_plays_then_fades_back_to_the_idle_loop(avatars_dir, tmp_path):
    import av

    out = tmp_path / "nod.flv"
    script = {"segments": [{"pause": 500}, {"action": "nod"}, {"pause": 2500}, {"say": "Done."}]}
    live, _ = start_live(avatars_dir, RecordTo(out), script=script, realtime=False)
    assert live.wait(30)
    avatar = load_avatar(avatars_dir, "default")
    canvas = Canvas(avatar, W, H)
    diffs = []
    with av.open(str(out)) as c:
        for frame in c.decode(video=0):
            n = round(float(frame.pts * frame.time_base) * 25)
            luma = frame.to_ndarray(format="yuv420p")[:H].astype(np.float32)
            diffs.append(float(np.mean(np.abs(luma - canvas.idle(n)[:H]))))
    clip = len(avatar.actions["nod"].frames)
    start = 13  # 500 ms of pause, then the clip
    assert max(diffs[:start]) < 1.0, "the idle loop was not shown before the clip"
    assert max(diffs[start:start + clip]) > 2.5, "the clip's frames were not shown"
    tail = diffs[start + clip:start + clip + 6]
    assert all(a >= b - 0.3 for a, b in zip(tail, tail[1:])), f"no smooth fade back: {tail}"
    assert max(diffs[start + clip + 8:start + clip + 50]) < 1.0, "the idle loop did not come back"


def test_a_cut_while_replies_fill_a_script_pause_keeps_the_rest_of_the_pause(avatars_dir, tmp_path):
    """A pause is the script's last item; something said during it takes its place, and the host is
    cut off while saying it: the rest of the pause is still owed, so the live goes on (it used to
    resume after the pause, at the end of the script, and end)."""
    script = {"segments": [{"say": "Welcome."}, {"pause": 20_000}]}
    live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), script=script,
                              policy=RoomPolicy(interrupt_gap_s=0.3))
    assert events.wait(lambda k, f: k == "utterance" and f.get("state") == "end" and f.get("source") == "script", 15)
    time.sleep(1.0)  # inside the pause
    live.say("The tea comes from the hills above the lake, and it is picked by hand every spring.")
    assert events.wait(utterance_start(source="say"), 10), "the say was never heard"
    time.sleep(0.5)
    live.interrupt()
    assert live.resume_position().as_dict() == {"round": 0, "segment": 1, "sentence": 0}
    assert not live.wait(4.0), "the live ended: the rest of the pause was dropped by the cut"
    assert live.status()["position"] == {"round": 0, "segment": 1, "sentence": 0}
    end_live(live)
