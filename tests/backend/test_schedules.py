"""Schedules over HTTP: CRUD, every bad field, and no overlapping lives on one room."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from db.models import AuditEntry
from tests.helpers.api import make_refs


@pytest.fixture
def refs(api, tokens):
    return make_refs(api, tokens, rooms=2)


def body(refs, start: str, end: str, repeat: str = "none", **extra) -> dict:
    b = {k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")}
    b.update(start_at=start, end_at=end, repeat=repeat, **extra)
    return b


def create(api, tokens, refs, start, end, repeat="none", **extra):
    return api.post("/api/schedules", headers=tokens["operator"], json=body(refs, start, end, repeat, **extra))


def parse(t: str) -> datetime:
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def test_schedule_crud_stores_utc_and_reports_next_start(api, tokens, refs):
    r = create(api, tokens, refs, "2030-06-01T20:00:00+08:00", "2030-06-01T22:00:00+08:00")
    assert r.status_code == 201, r.get_json()
    sc = r.get_json()
    assert sc["start_at"] in ("2030-06-01T12:00:00Z", "2030-06-01T12:00:00+00:00")
    assert parse(sc["end_at"]) == datetime(2030, 6, 1, 14, tzinfo=timezone.utc)
    assert parse(sc["next_start"]) == parse(sc["start_at"])
    assert sc["repeat"] == "none" and sc["enabled"] is True and sc["room_id"] == refs["room_id"]

    assert api.get(f"/api/schedules/{sc['id']}", headers=tokens["viewer"]).get_json() == sc
    other = create(api, tokens, dict(refs, room_id=refs["rooms"][1]), "2030-06-01T12:00:00Z", "2030-06-01T13:00:00Z")
    assert other.status_code == 201
    page = api.get(f"/api/schedules?room_id={refs['room_id']}", headers=tokens["viewer"]).get_json()
    assert page["total"] == 1 and [s["id"] for s in page["items"]] == [sc["id"]]
    assert api.get("/api/schedules", headers=tokens["viewer"]).get_json()["total"] == 2

    r = api.patch(f"/api/schedules/{sc['id']}", headers=tokens["operator"],
                  json={"end_at": "2030-06-01T15:30:00Z", "enabled": False})
    assert r.status_code == 200, r.get_json()
    assert parse(r.get_json()["end_at"]) == datetime(2030, 6, 1, 15, 30, tzinfo=timezone.utc)
    assert r.get_json()["enabled"] is False and r.get_json()["next_start"] is None

    assert api.delete(f"/api/schedules/{sc['id']}", headers=tokens["operator"]).status_code == 204
    r = api.get(f"/api/schedules/{sc['id']}", headers=tokens["viewer"])
    assert r.status_code == 404 and r.get_json()["error"]["message"] == f"schedule {sc['id']} does not exist"

    with api.app_.extensions["livehost.db"].sessions() as s:
        actions = [(a.action, a.username, a.target) for a in s.query(AuditEntry).filter(
            AuditEntry.target == f"schedule:{sc['id']}").order_by(AuditEntry.id)]
    assert actions == [("schedule.create", "operator_1", f"schedule:{sc['id']}"),
                                         ("schedule.change", "operator_1", f"schedule:{sc['id']}"),
                                         ("schedule.delete", "operator_1", f"schedule:{sc['id']}")]


def test_next_start_of_repeating_and_past_schedules(api, tokens, refs):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now - timedelta(days=3, hours=1)
    daily = create(api, tokens, refs, start.isoformat(), (start + timedelta(minutes=30)).isoformat(), "daily")
    assert daily.status_code == 201, daily.get_json()
    nxt = parse(daily.get_json()["next_start"])
    assert now < nxt <= now + timedelta(days=1) and (nxt - start) % timedelta(days=1) == timedelta(0)

    room2 = dict(refs, room_id=refs["rooms"][1])
    past = create(api, tokens, room2, (now - timedelta(hours=3)).isoformat(), (now - timedelta(hours=2)).isoformat(),
                  enabled=False)  # an enabled one-off that is over could never run: refused (test_hardening)
    assert past.status_code == 201 and past.get_json()["next_start"] is None
    running = create(api, tokens, room2, (now - timedelta(minutes=5)).isoformat(),
                     (now + timedelta(hours=1)).isoformat())
    assert parse(running.get_json()["next_start"]) == now - timedelta(minutes=5)  # not over yet


BAD = [
    ({"room_id": 9999}, "room_id", "room 9999 does not exist"),
    ({"script_id": 9999}, "script_id", "script 9999 does not exist"),
    ({"avatar_id": 9999}, "avatar_id", "avatar 9999 does not exist"),
    ({"voice_id": 9999}, "voice_id", "voice 9999 does not exist"),
    ({"room_id": "1 OR 1=1"}, "room_id", None),
    ({"start_at": "2030-06-01T20:00:00"}, "start_at", "timezone"),
    ({"end_at": "2030-06-01T21:00:00"}, "end_at", "timezone"),
    ({"start_at": "tomorrow at eight"}, "start_at", None),
    ({"start_at": 1906732800}, "start_at", "ISO 8601"),
    ({"end_at": "2030-06-01T19:00:00Z"}, "end_at", "end_at must be after start_at"),
    ({"end_at": "2030-06-01T20:00:00Z"}, "end_at", "end_at must be after start_at"),
    ({"end_at": "2030-06-02T20:00:01Z"}, "end_at", "at most 24 hours"),
    ({"end_at": "2030-06-02T20:00:00Z", "repeat": "daily"}, "end_at", "less than"),
    ({"repeat": "monthly"}, "repeat", None),
    ({"enabled": "maybe"}, "enabled", None),
    ({"colour": "red"}, "colour", None),
]


@pytest.mark.parametrize("change,field,message", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_field_is_422_naming_it(api, tokens, refs, change, field, message):
    b = body(refs, "2030-06-01T20:00:00Z", "2030-06-01T21:00:00Z")
    b.update(change)
    r = api.post("/api/schedules", headers=tokens["operator"], json=b)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "invalid" and field in err["fields"]
    if message:
        assert message in err["fields"][field] and err["message"].startswith(f"{field}: ")
    assert api.get("/api/schedules", headers=tokens["viewer"]).get_json()["total"] == 0


def test_24_hour_weekly_schedule_is_allowed_and_patch_is_checked_like_create(api, tokens, refs):
    r = create(api, tokens, refs, "2030-06-01T00:00:00Z", "2030-06-02T00:00:00Z", "weekly")
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    r = api.patch(f"/api/schedules/{sid}", headers=tokens["operator"], json={"repeat": "daily"})
    assert r.status_code == 422 and "end_at" in r.get_json()["error"]["fields"]
    r = api.patch(f"/api/schedules/{sid}", headers=tokens["operator"], json={"end_at": "2030-05-31T00:00:00Z"})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["end_at"] == "end_at must be after start_at"
    r = api.patch(f"/api/schedules/{sid}", headers=tokens["operator"], json={"voice_id": 4242})
    assert r.status_code == 422 and "voice_id" in r.get_json()["error"]["fields"]
    assert api.patch("/api/schedules/777", headers=tokens["operator"], json={"enabled": True}).status_code == 404


def assert_overlap(r, other_id: int):
    assert r.status_code == 409, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "conflict" and f"schedule {other_id}" in err["message"]


def test_one_offs_overlap_but_adjacent_ones_do_not(api, tokens, refs):
    first = create(api, tokens, refs, "2030-06-01T20:00:00Z", "2030-06-01T21:00:00Z").get_json()
    assert_overlap(create(api, tokens, refs, "2030-06-01T20:59:00Z", "2030-06-01T22:00:00Z"), first["id"])
    assert_overlap(create(api, tokens, refs, "2030-06-01T20:10:00Z", "2030-06-01T20:20:00Z"), first["id"])
    assert create(api, tokens, refs, "2030-06-01T21:00:00Z", "2030-06-01T22:00:00Z").status_code == 201
    assert create(api, tokens, refs, "2030-06-01T19:00:00+00:00", "2030-06-01T20:00:00Z").status_code == 201
    # another room is free at the same time
    assert create(api, tokens, dict(refs, room_id=refs["rooms"][1]),
                  "2030-06-01T20:00:00Z", "2030-06-01T21:00:00Z").status_code == 201


def test_daily_and_weekly_overlap_on_the_weekday_they_share(api, tokens, refs):
    # daily 20:00-21:00 UTC from Monday 2030-06-03; weekly 20:30-21:30 from Saturday 2030-06-08
    daily = create(api, tokens, refs, "2030-06-03T20:00:00Z", "2030-06-03T21:00:00Z", "daily").get_json()
    r = create(api, tokens, refs, "2030-06-08T20:30:00Z", "2030-06-08T21:30:00Z", "weekly")
    assert_overlap(r, daily["id"])
    assert "2030-06-08T20:30:00Z" in r.get_json()["error"]["message"]
    # a weekly that starts where the daily ends is fine, whatever its first day
    assert create(api, tokens, refs, "2030-06-01T21:00:00Z", "2030-06-01T23:00:00Z", "weekly").status_code == 201
    # and a daily crossing midnight into the weekly's slot is not
    assert_overlap(create(api, tokens, refs, "2030-06-10T23:00:00Z", "2030-06-11T20:30:00Z", "daily"), daily["id"])


def test_weekly_started_earlier_clashes_with_daily_started_later(api, tokens, refs):
    weekly = create(api, tokens, refs, "2030-01-02T08:00:00Z", "2030-01-02T09:00:00Z", "weekly").get_json()
    # daily at 08:30 from a Friday months later: it meets the weekly on the next Wednesday
    r = create(api, tokens, refs, "2030-05-03T08:30:00Z", "2030-05-03T08:45:00Z", "daily")
    assert_overlap(r, weekly["id"])
    assert "2030-05-08T08:30:00Z" in r.get_json()["error"]["message"]


def test_one_off_against_daily(api, tokens, refs):
    daily = create(api, tokens, refs, "2030-06-03T20:00:00Z", "2030-06-03T21:00:00Z", "daily").get_json()
    # ten days in, at the daily's hour
    assert_overlap(create(api, tokens, refs, "2030-06-13T20:45:00Z", "2030-06-13T22:00:00Z"), daily["id"])
    # before the daily's first day the slot is free, and so is the hour after it any day
    assert create(api, tokens, refs, "2030-06-02T20:00:00Z", "2030-06-02T21:00:00Z").status_code == 201
    later = create(api, tokens, refs, "2030-06-13T21:00:00Z", "2030-06-13T22:00:00Z")
    assert later.status_code == 201
    # a one-off first, then a daily from an earlier day that would run over it
    assert_overlap(create(api, tokens, refs, "2030-05-01T21:30:00Z", "2030-05-01T21:40:00Z", "daily"),
                   later.get_json()["id"])


def test_disabled_schedules_do_not_block_until_enabled(api, tokens, refs):
    first = create(api, tokens, refs, "2030-06-01T20:00:00Z", "2030-06-01T21:00:00Z").get_json()
    off = create(api, tokens, refs, "2030-06-01T20:30:00Z", "2030-06-01T21:30:00Z", enabled=False)
    assert off.status_code == 201
    r = api.patch(f"/api/schedules/{off.get_json()['id']}", headers=tokens["operator"], json={"enabled": True})
    assert_overlap(r, first["id"])
    r = api.patch(f"/api/schedules/{off.get_json()['id']}", headers=tokens["operator"],
                  json={"enabled": True, "start_at": "2030-06-01T21:00:00Z"})
    assert r.status_code == 200, r.get_json()
    # moving the first one onto it is refused too, naming the other
    r = api.patch(f"/api/schedules/{first['id']}", headers=tokens["operator"], json={"end_at": "2030-06-01T21:15:00Z"})
    assert_overlap(r, off.get_json()["id"])


def test_viewers_read_but_cannot_write_schedules(api, tokens, refs):
    sid = create(api, tokens, refs, "2030-06-01T20:00:00Z", "2030-06-01T21:00:00Z").get_json()["id"]
    b = body(refs, "2030-07-01T20:00:00Z", "2030-07-01T21:00:00Z")
    assert api.post("/api/schedules", headers=tokens["viewer"], json=b).status_code == 403
    assert api.patch(f"/api/schedules/{sid}", headers=tokens["viewer"], json={"enabled": False}).status_code == 403
    assert api.delete(f"/api/schedules/{sid}", headers=tokens["viewer"]).status_code == 403
    assert api.get(f"/api/schedules/{sid}", headers=tokens["viewer"]).status_code == 200
    assert api.post("/api/schedules", json=b).status_code == 401
    assert api.post("/api/schedules", headers=tokens["admin"], json=b).status_code == 201
