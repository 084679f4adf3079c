"""BilibiliSource and check_connection against FakeBilibili: the platform's HTTP API and danmaku
WebSocket on local ports, the real packets on the wire."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
import zlib

import pytest

from streamer.audience.bilibili import BilibiliSource, check_connection, wbi_key, wbi_sign
from streamer.audience.bilibili_wire import to_events
from streamer.audience.events import Kind
from streamer.audience.source import SourceError
from tests.fakes import bilibili_server as bili
from tests.fakes.bilibili_server import FakeBilibili, packet
from tests.helpers.audience import QUICK, Received, wait_until

REAL_ID, SHORT_ID = 21452505, 1


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake():
    with FakeBilibili(REAL_ID, SHORT_ID) as server:
        yield server


@pytest.fixture
def run_source(fake):
    started = []

    def run(room_id: int = SHORT_ID, **options) -> tuple[BilibiliSource, Received]:
        received = Received()
        source = BilibiliSource(room_id, received, api_base=fake.api_base, **{"backoff": QUICK, **options})
        source.start()
        started.append(source)
        return source, received

    yield run
    for source in started:
        source.stop()


@pytest.fixture
def connected(fake, run_source):
    """A source on the fake's room, logged in to the danmaku server."""
    source, received = run_source()
    assert fake.wait_for_clients(1)
    return source, received


# -- the wire, as the server sees it ------------------------------------------------------------------
def test_login_packet_is_the_web_players_with_the_real_room_id_token_and_viewer(fake, run_source):
    fake.sessdata, fake.uid = "sess-abc", 123456
    run_source(SHORT_ID, cookie="SESSDATA=sess-abc; DedeUserID=123456", buvid="AB12-buvid3-infoc")
    assert fake.wait_for_clients(1)

    auth = fake.auths[0]
    assert (auth.length, auth.header_length, auth.version, auth.op, auth.sequence) == (16 + len(auth.body), 16, 1, 7, 1)
    assert auth.json() == {"uid": 123456, "roomid": REAL_ID, "protover": 3, "buvid": "AB12-buvid3-infoc",
                           "platform": "web", "type": 2, "key": fake.token}
    info = next(r for r in fake.requests if r.path.endswith("/getDanmuInfo"))
    assert info.params["id"] == str(REAL_ID) and "w_rid" in info.params and "wts" in info.params
    assert "SESSDATA=sess-abc" in info.headers["cookie"] and "buvid3=AB12-buvid3-infoc" in info.headers["cookie"]
    assert info.headers["user-agent"].startswith("Mozilla/5.0")


def test_a_cookie_given_as_the_bare_sessdata_value_logs_in_as_the_nav_api_says(fake, run_source):
    fake.sessdata, fake.uid = "sess-only-value", 778899
    run_source(cookie="sess-only-value")
    assert fake.wait_for_clients(1)
    assert fake.auths[0].json()["uid"] == 778899


def test_without_a_cookie_the_login_is_anonymous_with_a_device_id_of_its_own(fake, connected):
    source, _ = connected
    auth = fake.auths[0].json()
    assert (auth["uid"], auth["buvid"]) == (0, fake.buvid3)
    assert "cookie" not in fake.requests[0].headers  # the fingerprint API, first
    assert all(r.headers.get("cookie") == f"buvid3={fake.buvid3}" for r in fake.requests[1:])

    fake.drop_connections()
    assert fake.wait_for_auths(2)
    assert fake.auths[1].json()["buvid"] == fake.buvid3
    assert sum(r.path == "/x/frontend/finger/spi" for r in fake.requests) == 1  # kept across reconnects


def test_heartbeats_go_out_on_their_own_clock_even_while_danmaku_pours_in(fake, run_source):
    source, _ = run_source(heartbeat_s=0.05)
    assert fake.wait_for_clients(1)
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            fake.send(bili.danmaku("刷屏"), compression="brotli")
            time.sleep(0.002)

    flooding = threading.Thread(target=flood, name="test-flood")
    flooding.start()
    try:
        assert fake.wait_for_heartbeats(6)
    finally:
        stop.set()
        flooding.join()
    for beat in fake.heartbeats:
        assert (beat.length, beat.header_length, beat.version, beat.op, beat.sequence, beat.body) == \
            (31, 16, 1, 2, 1, b"[object Object]")
    status = source.status()
    assert status["connected"] and status["reconnects"] == 0 and status["error"] is None


# -- commands -> events ----------------------------------------------------------------------------------
def test_questions_in_a_zlib_body_and_a_brotli_body_arrive_as_comments_in_order(fake, connected):
    source, received = connected
    first = [bili.danmaku(f"zlib question {i}?", uid=1000 + i, uname=f"观众{i}") for i in range(3)]
    second = [bili.danmaku("brotli 问题一？", id_str="6fa9959ab8feabcd1b337aa5066768334027"),
              bili.danmaku("brotli 问题二？", cmd="DANMU_MSG:4:0:2:2:2:0"),
              bili.danmaku("brotli 问题三？", at_ms=1_700_000_000_123)]
    fake.send(*first, compression="zlib")
    fake.send(*second, compression="brotli")

    events = received.wait_for(6)
    assert [e.text for e in events] == ["zlib question 0?", "zlib question 1?", "zlib question 2?",
                                        "brotli 问题一？", "brotli 问题二？", "brotli 问题三？"]
    assert all(e.kind == Kind.COMMENT and e.platform == "bilibili" for e in events)
    assert (events[1].user, events[1].user_id) == ("观众1", "1001")
    assert events[3].id == "6fa9959ab8feabcd1b337aa5066768334027"
    assert events[5].at == pytest.approx(1_700_000_000.123)
    assert events[0].raw == first[0]
    assert source.status()["events"] == 6


def test_paid_and_social_commands_become_their_kinds_with_values_in_yuan(fake, connected):
    _, received = connected
    fake.send(bili.gift("小花花", 5, 100), bili.gift("辣条", 10, 100, coin_type="silver"),
              bili.superchat("主播唱首歌吧", 50, uname="土豪", sc_id=990011), bili.guard(2, 1, username="船员甲"),
              bili.guard(3, 3), bili.interact(2, uname="新粉丝"), bili.interact(1, uname="路人"), bili.like(),
              bili.online(1234), compression="brotli")

    events = received.wait_for(9)
    seen = [(e.kind, e.user, e.text, e.gift, e.count, e.value) for e in events]
    assert seen == [
        (Kind.GIFT, "小明同学", "", "小花花", 5, pytest.approx(0.5)),
        (Kind.GIFT, "小明同学", "", "辣条", 10, 0.0),
        (Kind.SUPERCHAT, "土豪", "主播唱首歌吧", "", 1, 50.0),
        (Kind.GUARD, "船员甲", "", "提督", 1, 1998.0),
        (Kind.GUARD, "小明同学", "", "舰长", 3, 594.0),
        (Kind.FOLLOW, "新粉丝", "", "", 0, 0.0),
        (Kind.ENTER, "路人", "", "", 0, 0.0),
        (Kind.LIKE, "小明同学", "", "", 1, 0.0),
        (Kind.ONLINE, "", "", "", 1234, 0.0),
    ]
    assert events[2].id == "990011" and events[2].paid
    assert {e.currency for e in events[:5]} == {"CNY"}
    assert events[3].raw["cmd"] == "GUARD_BUY"


def test_protobuf_gift_and_interaction_commands_read_like_their_json_forms(fake, connected):
    _, received = connected
    fake.send(bili.gift_v2("人气票", 2, 1000, uname="投票人"), bili.interact_v2(1, uname="进来了"),
              bili.interact_v2(2, uid=42, uname="关注了"), compression="zlib")

    events = received.wait_for(3)
    assert [(e.kind, e.user, e.gift, e.count, e.value) for e in events] == [
        (Kind.GIFT, "投票人", "人气票", 2, 2.0), (Kind.ENTER, "进来了", "", 0, 0.0), (Kind.FOLLOW, "关注了", "", 0, 0.0)]
    assert events[2].user_id == "42"


def test_unknown_commands_are_counted_and_ignored(fake, connected):
    source, received = connected
    fake.send(bili.unknown_command("STOP_LIVE_ROOM_LIST"), bili.unknown_command("WATCHED_CHANGE"),
              bili.interact(3), bili.danmaku("still here"), compression="brotli")

    events = received.wait_for(1)
    assert wait_until(lambda: source.status()["unknown"] == 3)
    assert [e.text for e in received.events] == ["still here"] and events


def test_a_malformed_packet_is_counted_and_the_connection_goes_on(fake, connected):
    source, received = connected
    fake.send_raw(b"\x00\x00\x00\x40not a packet")  # a header that claims more than the frame holds
    fake.send_raw(packet(5, b"{not json", 0))
    fake.send_raw(packet(5, b"\x1b\x00 not brotli at all", 3))
    fake.send_raw(packet(5, zlib.compress(b"\x00\x00\x00\x10\x00\x10"), 2))  # a truncated packet inside
    fake.send({"cmd": "DANMU_MSG", "info": []}, compression="none")  # a danmaku without its fields
    fake.send(bili.danmaku("after the garbage"), compression="zlib")

    events = received.wait_for(1)
    assert [e.text for e in events] == ["after the garbage"]
    status = source.status()
    assert status["malformed"] == 5
    assert status["connected"] and status["reconnects"] == 0 and len(fake.auths) == 1


# -- failures ----------------------------------------------------------------------------------------------
def test_after_a_forced_disconnect_it_reconnects_and_every_later_danmaku_arrives(fake, connected):
    source, received = connected
    fake.send(bili.danmaku("before"))
    received.wait_for(1)

    fake.drop_connections()
    assert fake.wait_for_auths(2) and fake.wait_for_clients(1)
    after = [bili.danmaku(f"after {i}") for i in range(20)]
    for i in range(0, 20, 5):
        fake.send(*after[i:i + 5], compression="brotli")

    events = received.wait_for(21)
    assert [e.text for e in events] == ["before"] + [f"after {i}" for i in range(20)]
    assert wait_until(lambda: source.status()["connected"])
    status = source.status()
    assert status["reconnects"] == 1 and status["error"] is None


def test_a_refused_login_shows_in_status_and_is_retried_with_a_new_token(fake, run_source):
    fake.refuse_auth = True
    source, received = run_source()
    assert fake.wait_for_auths(3)
    status = source.status()
    assert not status["connected"] and "refused the danmaku login" in status["error"]
    assert sum(r.path.endswith("/getDanmuInfo") for r in fake.requests) >= 3  # a token asked for each time

    fake.refuse_auth = False
    assert fake.wait_for_clients(1)
    fake.send(bili.danmaku("finally in"))
    assert [e.text for e in received.wait_for(1)] == ["finally in"]
    assert wait_until(lambda: source.status()["connected"] and source.status()["error"] is None)


def test_a_server_gone_silent_is_noticed_and_left_for_a_new_connection(fake, run_source, caplog):
    fake.answer_heartbeats = False
    source, _ = run_source(heartbeat_s=0.05, timeout_s=0.3)
    assert fake.wait_for_auths(2)
    assert "no data from the danmaku server" in caplog.text
    assert wait_until(lambda: source.status()["reconnects"] >= 1)


def test_an_unknown_room_shows_the_platforms_message_in_status(fake, run_source):
    source, _ = run_source(room_id=999)
    assert wait_until(lambda: source.status()["error"] is not None)
    assert source.status()["error"] == "Bilibili has no live room 999 (直播间不存在)"
    assert not fake.auths


def test_a_refused_signature_shows_the_platforms_code_and_a_hint(fake, run_source):
    fake.require_wbi = True
    source, _ = run_source(web_api_base=f"http://127.0.0.1:{dead_port()}")  # no WBI keys: unsigned
    assert wait_until(lambda: source.status()["error"] is not None)
    assert source.status()["error"] == ("Bilibili getDanmuInfo for room 21452505: -352 (code -352); "
                                        "refused by risk control; a logged-in cookie with buvid3 usually helps")


def test_a_dead_danmaku_host_is_skipped_for_the_next_in_the_list(fake, run_source):
    port = dead_port()
    fake.extra_hosts = [{"host": "localhost", "port": port, "wss_port": port, "ws_port": port}]
    _, received = run_source()
    assert fake.wait_for_clients(1)
    fake.send(bili.danmaku("via the second host"))
    assert [e.text for e in received.wait_for(1)] == ["via the second host"]


def test_stop_ends_the_session_and_its_thread(fake, connected):
    source, _ = connected
    source.stop()
    assert not source.status()["connected"]
    assert not any(t.name == f"audience-{source.name}" for t in threading.enumerate())
    assert wait_until(lambda: fake.client_count == 0)


def test_the_cookie_never_appears_in_status_or_logs(fake, run_source, caplog):
    caplog.set_level(logging.DEBUG)
    fake.sessdata = "the-right-one"
    source, _ = run_source(room_id=999, cookie="SESSDATA=top-secret-value; bili_jct=also-secret")
    assert wait_until(lambda: source.status()["error"] is not None)
    source.stop()
    assert "top-secret-value" not in caplog.text and "also-secret" not in caplog.text
    assert "top-secret-value" not in json.dumps(source.status()) and "top-secret" not in repr(source.name)


# -- check_connection --------------------------------------------------------------------------------------
def test_check_connection_reports_the_real_room_the_host_and_the_login(fake):
    assert check_connection(SHORT_ID, api_base=fake.api_base) == {
        "ok": True, "room_id": REAL_ID, "host": "127.0.0.1", "logged_in": False}
    fake.sessdata, fake.uid = "good-sess", 5566
    assert check_connection(SHORT_ID, api_base=fake.api_base, cookie="SESSDATA=good-sess")["logged_in"] is True
    assert wait_until(lambda: fake.client_count == 0)  # it closed the socket


def test_check_connection_names_an_unknown_room(fake):
    with pytest.raises(SourceError, match=r"^Bilibili has no live room 424242 \(直播间不存在\)$"):
        check_connection(424242, api_base=fake.api_base)


def test_check_connection_says_the_cookie_was_refused_without_showing_it(fake):
    fake.sessdata = "the-right-one"
    with pytest.raises(SourceError, match="did not accept the cookie") as refused:
        check_connection(SHORT_ID, api_base=fake.api_base, cookie="SESSDATA=stale-secret")
    assert "stale-secret" not in str(refused.value)


def test_check_connection_says_an_unreachable_api_cannot_be_reached():
    with pytest.raises(SourceError, match="cannot reach the Bilibili API at 127.0.0.1:"):
        check_connection(SHORT_ID, api_base=f"http://127.0.0.1:{dead_port()}", timeout_s=2)


def test_check_connection_says_when_no_danmaku_server_answers(fake):
    port = dead_port()
    fake.extra_hosts = [{"host": "127.0.0.1", "port": port, "wss_port": port, "ws_port": port}]
    fake.own_host = False
    with pytest.raises(SourceError, match="cannot reach a Bilibili danmaku server \\(127.0.0.1: "):
        check_connection(SHORT_ID, api_base=fake.api_base, timeout_s=2)


# -- the pure parts ---------------------------------------------------------------------------------------
def test_wbi_signature_matches_the_published_example():
    key = wbi_key("7cd084941338484aae1ad9425b84077c", "4932caff0ff746eab6f01bf08b70ac45")
    assert key == "ea1db124af3c7062474693fa704f4ff8"
    assert wbi_sign({"foo": "114", "bar": "514", "zab": 1919810}, key, 1702204169)["w_rid"] == \
        "8f6f2b5b3d485fe1886cec6a0be8c5d4"


def test_names_masked_for_a_visitor_stay_as_given():
    [event] = to_events(bili.danmaku("你好", uid=0, uname="用户***"))
    assert (event.user, event.user_id, event.text) == ("用户***", "", "你好")
    [event] = to_events(bili.interact(1, uid=0, uname="***"))
    assert (event.kind, event.user, event.user_id) == (Kind.ENTER, "***", "")
