"""What a live kept off the air for banned words, as the dashboard reads it: the worker's rows, newest
first, a page at a time, for anyone signed in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from db.models import ComplianceEvent
from tests.helpers.api import use_in_schedule

AT = datetime(2031, 5, 4, 10, 0, tzinfo=timezone.utc)


def test_a_live_s_compliance_events_page_newest_first(api, tokens):
    sid = use_in_schedule(api, session=True)
    other = use_in_schedule(api, session=True)
    rows = [("reply", ["第一"], "reasked", "我们是全网第一！"), ("reply", ["第一"], "replaced", "真的是第一。"),
            ("rewording", ["最", "顶级"], "original", "最顶级的茶。"), ("viewer", ["国家级"], "dropped", "国家级主播")]
    with api.app_.extensions["livehost.db"].sessions() as s:
        for i, (where, words, action, text) in enumerate(rows):
            s.add(ComplianceEvent(session_id=sid, at=AT + timedelta(seconds=i), where=where, words=words,
                                  action=action, text=text))
        s.add(ComplianceEvent(session_id=other, where="reply", words=["绝对"], action="dropped", text="绝对好"))
        s.commit()
    page = api.get(f"/api/sessions/{sid}/compliance?per_page=3", headers=tokens["viewer"]).get_json()
    assert (page["total"], page["page"], page["per_page"]) == (4, 1, 3)
    assert [(i["where"], i["words"], i["action"], i["text"]) for i in page["items"]] == rows[::-1][:3]
    assert page["items"][0]["at"].startswith("2031-05-04T10:00:03")
    last = api.get(f"/api/sessions/{sid}/compliance?per_page=3&page=2", headers=tokens["viewer"]).get_json()
    assert [i["text"] for i in last["items"]] == ["我们是全网第一！"]
    assert api.get(f"/api/sessions/{sid}/compliance").status_code == 401
    assert api.get("/api/sessions/999999/compliance", headers=tokens["viewer"]).status_code == 404
    assert api.get(f"/api/sessions/{sid}/compliance?per_page=1000", headers=tokens["viewer"]).status_code == 422
    assert api.get(f"/api/sessions/{sid}/compliance?page=x", headers=tokens["viewer"]).status_code == 422
