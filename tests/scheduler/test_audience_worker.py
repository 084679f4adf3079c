"""Viewers reach a scheduled deployment's live: a room set up through the API with a Bilibili
source (the fake platform, real wire format) and the relay on; a worker process runs the live,
answers and thanks, and writes every event and what became of it to MariaDB, which the API pages
through."""
from __future__ import annotations

import pytest

from tests.fakes.bilibili_server import FakeBilibili, danmaku, gift

pytestmark = pytest.mark.slow


def test_danmaku_and_relayed_events_are_answered_by_a_worker_and_kept_in_the_database(deployment):
    d = deployment
    with FakeBilibili(room_id=21452505, short_id=1017) as fake:
        d.env["LIVEHOST_BILIBILI_API_BASE"] = fake.api_base
        room, script = d.room("viewers"), d.script([{"say": "Welcome."}, {"pause": 600_000}], loop=1)
        api = d.api()
        r = api.patch(f"/api/rooms/{room}", json={
            "sources": {"bilibili_room_id": 1017, "relay": True},
            "settings": {"keyword_replies": {"price": "Nine yuan."},
                         "audience": {"thank_batch_s": 1, "replies_per_minute": 30}}})
        assert r.status_code == 200, r.get_json()
        token = api.post(f"/api/rooms/{room}/relay-token").get_json()["token"]
        d.scheduler()
        d.worker("wA")
        d.wait_workers("wA")
        session = d.go_live(room, script)
        assert fake.wait_for_clients(1, timeout=40), "the worker's live never joined the danmaku server\n" + d.logs()

        fake.send(danmaku("what is the price?", uid=1001, uname="Ann"), gift("小花花", 2, 100, uid=1002, uname="Bo"),
                  compression="brotli")
        relay = api.post(f"/api/rooms/{room}/relay/events", headers={"Authorization": f"Bearer {token}"},
                         json={"events": [{"type": "comment", "platform": "douyin", "user_id": "77",
                                           "user": "Cy", "text": "price please?"}]})
        assert relay.status_code == 202, relay.get_json()

        def kept():
            rows = api.get(f"/api/sessions/{session}/audience").get_json()["items"]
            done = {(row["platform"], row["action"]) for row in rows}
            return rows if {("bilibili", "answered"), ("bilibili", "thanked"), ("douyin", "answered")} <= done \
                else None
        rows = d.wait_for(kept, 40, step=0.5)
        assert rows, f"events not answered and kept: {api.get(f'/api/sessions/{session}/audience').get_json()}\n" \
                     + d.logs()
        by_text = {row["text"] or row["gift"]: row for row in rows}
        assert by_text["what is the price?"]["reply"] == "Nine yuan." and by_text["what is the price?"]["user"] == "Ann"
        assert by_text["小花花"]["kind"] == "gift" and by_text["小花花"]["count"] == 2
        assert by_text["小花花"]["reply"] == "Thank you Bo for the gifts!"
        assert by_text["price please?"]["platform"] == "douyin" and by_text["price please?"]["user_id"] == "77"
        assert sorted(row["seq"] for row in rows) == [1, 2, 3]
        only_gifts = api.get(f"/api/sessions/{session}/audience?kind=gift").get_json()["items"]
        assert [row["gift"] for row in only_gifts] == ["小花花"]
        assert api.post(f"/api/sessions/{session}/stop").status_code == 202
        assert d.wait_for(lambda: d.session(session).status == "ended", 30), d.logs()
