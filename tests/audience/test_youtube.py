"""YouTubeSource and check_connection against FakeYouTube, the Data API v3 on a local port."""
from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from streamer.audience.events import Kind
from streamer.audience.source import SourceError
from streamer.audience.youtube import YouTubeSource, check_connection
from tests.fakes.youtube_server import FakeYouTube
from tests.helpers.audience import QUICK, Received, wait_until

KEY = "AIzaSECRET-test-key-0123456789"


@pytest.fixture
def youtube():
    with FakeYouTube(api_key=KEY, polling_interval_ms=20) as fake:
        yield fake


@pytest.fixture
def run_source():
    started = []

    def run(fake: FakeYouTube, video_id: str = "", **options) -> tuple[YouTubeSource, Received]:
        received = Received()
        options = {"api_key": KEY, "min_interval_s": 0.01, "backoff": QUICK, **options}
        source = YouTubeSource(video_id or fake.video_id, received, api_base=fake.api_base, **options)
        source.start()
        started.append(source)
        return source, received

    yield run
    for source in started:
        source.stop()


def connected(source: YouTubeSource) -> bool:
    return wait_until(lambda: source.status()["connected"])


def gaps(requests) -> list[float]:
    return [b.at - a.at for a, b in zip(requests, requests[1:])]


def test_each_message_type_arrives_as_its_audience_event(youtube, run_source):
    source, received = run_source(youtube)
    assert connected(source)
    ids = [youtube.add_text("hello from Lisbon", user="Ana", channel_id="UCana"),
           youtube.add_superchat(5.0, "USD", "love the stream", user="Bo"),
           youtube.add_supersticker(2.5, "EUR", "A dancing cat", user="Cy"),
           youtube.add_new_member("Gold", user="Di"),
           youtube.add_milestone(6, "half a year!", "Gold", user="Ed"),
           youtube.add_gifting(5, user="Fay")]
    youtube.add("pollEvent", "A poll", "pollDetails", {"metadata": {}})

    events = received.wait_for(6)
    assert [e.id for e in events] == ids
    comment, superchat, sticker, member, milestone, gifting = events
    assert (comment.kind, comment.text, comment.user, comment.user_id) == (Kind.COMMENT, "hello from Lisbon", "Ana",
                                                                           "UCana")
    assert (superchat.kind, superchat.value, superchat.currency, superchat.text) == (Kind.SUPERCHAT, 5.0, "USD",
                                                                                     "love the stream")
    assert (sticker.kind, sticker.value, sticker.currency, sticker.text) == (Kind.SUPERCHAT, 2.5, "EUR",
                                                                             "A dancing cat")
    assert (member.kind, member.gift, member.user) == (Kind.GUARD, "Gold", "Di")
    assert (milestone.kind, milestone.count, milestone.text) == (Kind.GUARD, 6, "half a year!")
    assert (gifting.kind, gifting.gift, gifting.count) == (Kind.GIFT, "membership", 5)
    assert all(e.platform == "youtube" and abs(e.at - time.time()) < 60 for e in events)
    assert comment.raw["snippet"]["textMessageDetails"]["messageText"] == "hello from Lisbon"
    assert superchat.paid and sticker.paid
    assert wait_until(lambda: source.status()["unknown"] == 1)


def test_messages_published_before_the_source_connected_are_skipped(youtube, run_source):
    youtube.add_text("old news", published_at=time.time() - 120)
    youtube.add_superchat(1.0, "USD", "an old paid message", published_at=time.time() - 60)
    source, received = run_source(youtube)
    assert connected(source)
    youtube.add_text("fresh")

    events = received.wait_for(1)
    time.sleep(0.2)
    assert [e.text for e in received.events] == ["fresh"]
    assert events[0].text == "fresh"


def test_pages_are_followed_by_next_page_token_without_loss_or_repeat(youtube, run_source):
    youtube.page_size = 2
    source, received = run_source(youtube)
    assert connected(source)
    texts = [f"message {n}" for n in range(7)]
    for text in texts:
        youtube.add_text(text)

    received.wait_for(7)
    time.sleep(0.2)
    assert [e.text for e in received.events] == texts
    tokens = [r.params.get("pageToken") for r in youtube.message_requests()]
    assert tokens[0] is None and all(tokens[1:])
    assert all(r.params["maxResults"] == "2000" and r.params["part"] == "snippet,authorDetails"
               for r in youtube.message_requests())


def test_polling_waits_the_interval_youtube_asks_for(youtube, run_source):
    youtube.polling_interval_ms = 250
    run_source(youtube, min_interval_s=0.01)
    assert wait_until(lambda: len(youtube.message_requests()) >= 4)
    assert all(gap >= 0.25 for gap in gaps(youtube.message_requests()))


def test_polling_is_never_faster_than_min_interval(youtube, run_source):
    youtube.polling_interval_ms = 0
    run_source(youtube, min_interval_s=0.2)
    assert wait_until(lambda: len(youtube.message_requests()) >= 4)
    assert all(gap >= 0.2 for gap in gaps(youtube.message_requests()))


def test_quota_exceeded_shows_one_line_without_the_key_and_retries_slowly(youtube, run_source, caplog):
    caplog.set_level(logging.DEBUG)
    youtube.quota_exceeded = True
    source, received = run_source(youtube, slow_retry_s=0.3)
    assert wait_until(lambda: "quota" in (source.status()["error"] or ""))
    error = source.status()["error"]
    assert KEY not in error and "\n" not in error
    assert "next try in 0.3 s" in error
    assert wait_until(lambda: len(youtube.requests) >= 3)
    assert all(gap >= 0.3 for gap in gaps(youtube.requests))
    assert not source.status()["connected"]

    youtube.quota_exceeded = False
    assert connected(source)
    youtube.add_text("back again")
    assert [e.text for e in received.wait_for(1)] == ["back again"]
    assert KEY not in caplog.text


def test_a_refused_key_shows_one_line_without_the_key_and_keeps_retrying(youtube, run_source, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "AIzaWRONG-key-9876543210"
    source, _ = run_source(youtube, api_key=wrong)
    assert wait_until(lambda: len(youtube.requests) >= 3)
    status = source.status()
    assert "youtube_api_key" in status["error"] and "keyInvalid" in status["error"]
    assert wrong not in status["error"] and "\n" not in status["error"]
    assert not status["connected"]
    assert wrong not in caplog.text


def test_an_oauth_token_is_sent_as_a_bearer_and_never_shown(run_source, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeYouTube(api_key="", oauth_token="ya29.good-token", polling_interval_ms=20) as fake:
        source, received = run_source(fake, api_key="", oauth_token="ya29.good-token")
        assert connected(source)
        fake.add_text("hi")
        assert [e.text for e in received.wait_for(1)] == ["hi"]
        assert all("key" not in r.params for r in fake.requests)
        source.stop()

        refused, _ = run_source(fake, api_key="", oauth_token="ya29.expired-token")
        assert wait_until(lambda: "youtube_oauth_token" in (refused.status()["error"] or ""))
        assert "ya29" not in refused.status()["error"] and "ya29" not in caplog.text


def test_the_chat_ending_is_shown(youtube, run_source):
    source, received = run_source(youtube, slow_retry_s=0.1)
    assert connected(source)
    youtube.add_text("goodbye")
    youtube.end_chat()

    assert [e.text for e in received.wait_for(1)] == ["goodbye"]
    assert wait_until(lambda: "ended" in (source.status()["error"] or ""))
    assert not source.status()["connected"]
    assert wait_until(lambda: source.status()["error"] == "the video is not live or has no live chat")


def test_a_wrong_video_id_or_a_video_that_is_not_live_is_shown(youtube, run_source):
    wrong, _ = run_source(youtube, video_id="not-a-video")
    assert wait_until(lambda: "no YouTube video with the id 'not-a-video'" in (wrong.status()["error"] or ""))

    youtube.end_chat()
    ended, _ = run_source(youtube)
    assert wait_until(lambda: ended.status()["error"] == "the video is not live or has no live chat")


def test_an_unreachable_api_is_shown_without_the_key(run_source, caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    received = Received()
    source = YouTubeSource("vid", received, api_base=f"http://127.0.0.1:{port}/youtube/v3", api_key=KEY,
                           backoff=QUICK)
    source.start()
    try:
        assert wait_until(lambda: "cannot reach the YouTube API" in (source.status()["error"] or ""))
        assert KEY not in source.status()["error"] and KEY not in caplog.text
    finally:
        source.stop()


def test_stop_ends_the_source_while_it_waits_between_polls(youtube, run_source):
    youtube.polling_interval_ms = 60_000
    source, _ = run_source(youtube)
    assert connected(source)
    source.stop(timeout=5)
    assert f"audience-{source.name}" not in [t.name for t in threading.enumerate()]


def test_check_connection_answers_the_live_chat_and_title(youtube):
    answer = check_connection(youtube.video_id, api_base=youtube.api_base, api_key=KEY)
    assert answer == {"ok": True, "live_chat_id": youtube.live_chat_id, "title": "A test live"}


def test_check_connection_fails_with_one_line_without_the_key(youtube):
    with pytest.raises(SourceError) as refused:
        check_connection(youtube.video_id, api_base=youtube.api_base, api_key="AIzaWRONG-123")
    assert "youtube_api_key" in str(refused.value) and "AIzaWRONG-123" not in str(refused.value)

    youtube.end_chat()
    with pytest.raises(SourceError, match="not live"):
        check_connection(youtube.video_id, api_base=youtube.api_base, api_key=KEY)

    with pytest.raises(SourceError, match="no YouTube credentials"):
        check_connection(youtube.video_id, api_base=youtube.api_base)
