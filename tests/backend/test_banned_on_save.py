"""Banned words (违禁词) on save: a script, a product or a room whose spoken text holds a word that
advertising law forbids is refused with a 422 that names each word and where it is, and nothing is
stored; a room's own additions and exceptions apply to what that room's host says."""
from __future__ import annotations

ROOM = {"name": "tea room", "platform": "douyin", "server_url": "rtmp://127.0.0.1/live"}


def refused(r) -> dict:
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "banned_words" and error["reason"] == "banned_words", error
    return error


def test_the_issue_s_example_say_is_a_422_naming_both_words_and_where(api, tokens):
    r = api.post("/api/scripts", headers=tokens["operator"], json={
        "name": "sale", "segments": [{"say": "欢迎来到直播间。"}, {"pause": 300}, {"say": "全网最低价，第一品牌"}]})
    error = refused(r)
    field = error["fields"]["segments.2.say"]
    assert field.startswith("banned words: ") and "第一" in field and ("最低价" in field or "最" in field), error
    assert "segments.2.say" in error["message"] and "第一" in error["message"], error
    words = error["field_reasons"]["segments.2.say"]["params"]["words"]  # the listed words, e.g. 全网最低, 第一品牌
    assert any("第一" in w for w in words) and any("最" in w for w in words), error
    assert error["params"]["words"] == words
    assert set(error["fields"]) == {"segments.2.say"}  # the clean say is not named
    assert api.get("/api/scripts", headers=tokens["viewer"]).get_json()["total"] == 0


def test_spaced_and_full_width_spellings_are_caught(api, tokens):
    for text in ("我们是第 一 品牌。", "全网最低价！", "国家级工艺。"):
        r = api.post("/api/scripts", headers=tokens["operator"], json={"name": "x", "segments": [text]})
        assert "segments.0.say" in refused(r)["fields"], text


def test_a_script_changed_to_hold_a_banned_word_keeps_its_old_text(api, tokens):
    op = tokens["operator"]
    script = api.post("/api/scripts", headers=op, json={"name": "s", "segments": ["Welcome to the shop."]}).get_json()
    r = api.patch(f"/api/scripts/{script['id']}", headers=op, json={"segments": ["Welcome.", "这是顶级好茶。"]})
    assert "segments.1.say" in refused(r)["fields"]
    assert api.get(f"/api/scripts/{script['id']}", headers=op).get_json()["segments"] == script["segments"]


def test_a_product_s_name_points_and_answers_are_checked_each_by_its_field(api, tokens):
    op = tokens["operator"]
    r = api.post("/api/products", headers=op, json={
        "name": "顶级龙井", "selling_points": ["清香", "绝对正宗"],
        "faq": [{"q": "最便宜吗", "a": "很实惠。"}, {"q": "好喝吗", "a": "全网第一好喝。"}]})
    error = refused(r)
    assert set(error["fields"]) == {"name", "selling_points.1", "faq.1.a"}, error  # a viewer's question is not said
    assert "顶级" in error["fields"]["name"] and "绝对" in error["fields"]["selling_points.1"]
    assert "第一" in error["fields"]["faq.1.a"]
    product = api.post("/api/products", headers=op, json={"name": "龙井", "selling_points": ["清香"]}).get_json()
    r = api.patch(f"/api/products/{product['id']}", headers=op, json={"selling_points": ["清香", "国家级"]})
    assert set(refused(r)["fields"]) == {"selling_points.1"}
    assert api.get(f"/api/products/{product['id']}", headers=op).get_json()["selling_points"] == ["清香"]


def test_a_room_s_spoken_settings_are_checked_with_its_own_additions_and_exceptions(api, tokens):
    op = tokens["operator"]
    settings = {"persona": "你是顶级主播。", "keyword_replies": {"价格": "最低价啦", "发货": "48小时内发货。"},
                "default_reply": "谢谢支持！", "fallback_line": "稍等，我查一下。"}
    error = refused(api.post("/api/rooms", headers=op, json={**ROOM, "settings": settings}))
    assert set(error["fields"]) == {"settings.persona", "settings.keyword_replies.价格"}, error

    allowed = {**settings, "banned_words": {"add": ["秒杀"], "allow": ["顶级", "最低价", "最"]}}
    r = api.post("/api/rooms", headers=op, json={**ROOM, "settings": allowed})
    assert r.status_code == 201, r.get_json()  # this room may say them
    room = r.get_json()
    assert room["settings"]["banned_words"] == {"add": ["秒杀"], "allow": ["顶级", "最低价", "最"]}
    r = api.patch(f"/api/rooms/{room['id']}", headers=op, json={"settings": {**allowed, "fallback_line": "秒杀开始！"}})
    assert set(refused(r)["fields"]) == {"settings.fallback_line"}  # and may not say its own addition
    assert api.get(f"/api/rooms/{room['id']}", headers=op).get_json()["settings"]["fallback_line"] == "稍等，我查一下。"
    r = api.patch(f"/api/rooms/{room['id']}", headers=op, json={"settings": {"default_reply": "全网第一！"}})
    assert set(refused(r)["fields"]) == {"settings.default_reply"}  # settings given are the whole settings


def test_clean_text_saves_everywhere(api, tokens):
    op = tokens["operator"]
    assert api.post("/api/scripts", headers=op, json={"name": "s", "segments": ["{今天|现在}下单，48小时发货。"]}) \
        .status_code == 201
    assert api.post("/api/products", headers=op, json={"name": "龙井", "faq": [{"q": "包邮吗", "a": "包邮。"}]}) \
        .status_code == 201
    assert api.post("/api/rooms", headers=op, json={**ROOM, "settings": {"persona": "你是茶叶店主播。"}}).status_code == 201
