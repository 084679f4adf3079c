"""A room's extra destinations and a live's recording over HTTP, on SQLite and MariaDB: keys are
write-only and kept by id, bad ones are a 422 naming the field; a recording made by the streamer's
own segment sink is listed, served and deleted (not while its live runs); nothing outside a
session's folders can be reached."""
from __future__ import annotations

from pathlib import Path

import av

from db.models import LiveSession, Room
from streamer.build import LiveSpec, RecordSegments, Resources, build_live
from streamer.script import parse_script
from streamer.settings import Settings
from tests.helpers.api import make_refs

ROOM = {"name": "Tea", "platform": "douyin", "server_url": "rtmp://push.example.com/live", "stream_key": "main-key-123456"}
SECOND = {"name": "Bilibili", "server_url": "rtmp://live-push.bilivideo.com/live-bvc", "stream_key": "bili-key-123456"}


def push_urls(api, room_id: int) -> list[str]:
    with api.app_.extensions["livehost.db"].sessions() as s:
        return s.get(Room, room_id).push_urls(api.app_.config["LIVEHOST"].data_key)


def test_extra_destinations_keep_their_keys_secret_and_by_id(api, tokens):
    r = api.post("/api/rooms", headers=tokens["operator"], json={**ROOM, "destinations": [
        SECOND, {"name": "YouTube", "server_url": "rtmps://a.rtmp.youtube.com/live2", "stream_key": "yt-key-abcdefgh",
                 "enabled": False}]})
    assert r.status_code == 201, r.get_json()
    room = r.get_json()
    assert [(d["id"], d["name"], d["stream_key"], d["enabled"]) for d in room["destinations"]] == [
        (1, "Bilibili", "****3456", True), (2, "YouTube", "****efgh", False)]
    assert "bili-key" not in r.get_data(as_text=True)
    assert push_urls(api, room["id"]) == ["rtmp://push.example.com/live/main-key-123456",
                                          "rtmp://live-push.bilivideo.com/live-bvc/bili-key-123456"]  # not the off one

    url = f"/api/rooms/{room['id']}"
    kept = api.patch(url, headers=tokens["operator"], json={"destinations": [
        {"id": 2, "name": "YouTube", "server_url": "rtmps://a.rtmp.youtube.com/live2", "enabled": True},
        {"name": "Kuaishou", "server_url": "rtmp://open-push.voip.yximgs.com/gifshow", "stream_key": "ks-key-000000"}]})
    assert kept.status_code == 200, kept.get_json()
    assert [(d["id"], d["name"], d["stream_key"]) for d in kept.get_json()["destinations"]] == [
        (2, "YouTube", "****efgh"), (3, "Kuaishou", "****0000")]
    assert push_urls(api, room["id"])[1:] == ["rtmps://a.rtmp.youtube.com/live2/yt-key-abcdefgh",
                                              "rtmp://open-push.voip.yximgs.com/gifshow/ks-key-000000"]

    bad = [({"destinations": [{"id": 9, "name": "x", "server_url": "rtmp://h/app"}]}, "destinations.0.id"),
           ({"destinations": [{"name": "x", "server_url": "http://h/app"}]}, "destinations.0.server_url"),
           ({"destinations": [{"name": "", "server_url": "rtmp://h/app"}]}, "destinations.0.name"),
           ({"destinations": [{"name": "x", "server_url": "rtmp://h/app", "stream_key": "a b"}]},
            "destinations.0.stream_key"),
           ({"destinations": [{"name": f"d{i}", "server_url": "rtmp://h/app"} for i in range(6)]}, "destinations")]
    for body, field in bad:
        r = api.patch(url, headers=tokens["operator"], json=body)
        assert r.status_code == 422 and field in r.get_json()["error"]["fields"], (body, r.get_json())
    assert api.patch(url, headers=tokens["viewer"], json={"destinations": []}).status_code == 403
    assert api.patch(url, headers=tokens["operator"], json={"destinations": []}).get_json()["destinations"] == []
    assert push_urls(api, room["id"]) == ["rtmp://push.example.com/live/main-key-123456"]


def new_session(api, tokens, refs: dict) -> int:
    body = {"room_id": refs["rooms"][0], **{k: refs[k] for k in ("script_id", "avatar_id", "voice_id")}}
    r = api.post("/api/sessions", headers=tokens["operator"], json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def record(var: Path, session_id: int, seconds: float = 5.0) -> None:
    """A recording of a short live, made by the streamer's segment sink, where a worker puts it."""
    settings = Settings(width=320, height=568, avatars_dir=var.parent / "avatars")
    from streamer.avatar.default import ensure_default_avatar
    ensure_default_avatar(settings.avatars_dir)
    spec = LiveSpec(script=parse_script({"segments": [{"say": "A recorded line."}], "loop": 0}),
                    output=RecordSegments(var / "recordings" / str(session_id), 2.0), duration=seconds, realtime=False)
    live = build_live(spec, Resources(settings))
    live.start()
    live.wait()


def test_a_lives_recording_is_listed_served_and_deleted_after_the_live(api, tokens, tmp_path):
    refs = make_refs(api, tokens, rooms=1)
    sid = new_session(api, tokens, refs)
    var = api.app_.config["LIVEHOST"].var_dir
    url = f"/api/sessions/{sid}/recording"
    assert api.get(url, headers=tokens["viewer"]).status_code == 404  # not recorded (yet)
    record(var, sid)

    rec = api.get(url, headers=tokens["viewer"]).get_json()
    assert rec["complete"] is True and rec["error"] is None and len(rec["segments"]) >= 2
    assert abs(rec["duration"] - 5.0) <= 0.5 and rec["bytes"] == sum(s["bytes"] for s in rec["segments"])
    first = rec["segments"][0]
    r = api.get(first["url"], headers=tokens["viewer"])
    assert r.status_code == 200 and r.mimetype == "video/mp2t" and len(r.data) == first["bytes"]
    (tmp_path / "seg.ts").write_bytes(r.data)
    with av.open(str(tmp_path / "seg.ts")) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 45
    assert api.get(first["url"]).status_code == 401
    for name in ("recording.json", "seg-1.ts", "..%2Frecording.json", "seg-00001.ts.tmp"):
        assert api.get(f"{url}/{name}", headers=tokens["viewer"]).status_code == 404, name

    assert api.delete(url, headers=tokens["operator"]).status_code == 409  # its live is queued: not over
    with api.app_.extensions["livehost.db"].sessions() as s:
        s.get(LiveSession, sid).status = "ended"
        s.commit()
    assert api.delete(url, headers=tokens["viewer"]).status_code == 403
    assert api.delete(url, headers=tokens["operator"]).status_code == 204
    assert api.get(url, headers=tokens["viewer"]).status_code == 404
    assert not (var / "recordings" / str(sid)).exists()


def test_the_preview_is_only_its_own_files_to_signed_in_users(api, tokens):
    refs = make_refs(api, tokens, rooms=1)
    sid = new_session(api, tokens, refs)
    folder = api.app_.config["LIVEHOST"].var_dir / "preview" / str(sid)
    base = f"/api/sessions/{sid}/preview"
    assert api.get(f"{base}/index.m3u8", headers=tokens["viewer"]).status_code == 404  # no worker writes one
    folder.mkdir(parents=True)
    (folder / "index.m3u8").write_text("#EXTM3U\n#EXTINF:2.0,\nseg-000001.ts\n")
    (folder / "seg-000001.ts").write_bytes(b"G" * 188)
    (folder / "notes.txt").write_text("not served")
    r = api.get(f"{base}/index.m3u8", headers=tokens["viewer"])
    assert r.status_code == 200 and r.mimetype == "application/vnd.apple.mpegurl"
    assert r.headers["Cache-Control"] == "no-store"
    assert api.get(f"{base}/seg-000001.ts", headers=tokens["viewer"]).data == b"G" * 188
    assert api.get(f"{base}/index.m3u8").status_code == 401
    assert api.get(f"{base}/notes.txt", headers=tokens["viewer"]).status_code == 404
    assert api.get("/api/sessions/987654/preview/index.m3u8", headers=tokens["viewer"]).status_code == 404
    with api.app_.extensions["livehost.db"].sessions() as s:
        assert s.get(LiveSession, sid) is not None
