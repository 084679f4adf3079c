"""Copy generation (文案生成) over HTTP: the LLM (the fake OpenAI-compatible server, real wire format)
drafts a script from the products' facts and the room's knowledge; what it still says with a banned
word is named for the operator, who edits and saves it. Without an LLM the API says so (409) and
invents nothing; an LLM that fails is a 502 saying why."""
from __future__ import annotations

import json

import pytest

from streamer.settings import Settings
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.llm import API_KEY

TEA = {"name": "明前龙井", "price": 129.9, "selling_points": ["清明前手工采摘"], "link": "3号链接", "stock": "现货",
       "faq": [{"q": "包邮吗", "a": "全国包邮。"}]}
ROOM = {"name": "tea room", "platform": "douyin", "server_url": "rtmp://127.0.0.1/live",
        "settings": {"knowledge": "七天无理由退换。", "banned_words": {"add": ["秒杀"], "allow": []}}}


@pytest.fixture
def llm(monkeypatch):
    """The fake LLM, configured for the API's drafts as an operator would (LIVEHOST_LLM_*)."""
    with FakeOpenAI() as fake:
        monkeypatch.delenv("LIVEHOST_CONFIG", raising=False)
        monkeypatch.setenv(Settings.variable("llm_base_url"), fake.base_url)
        monkeypatch.setenv(Settings.variable("llm_model"), "fake-writer")
        monkeypatch.setenv(Settings.variable("llm_api_key"), API_KEY)
        yield fake


def made(api, tokens, path: str, body: dict) -> int:
    r = api.post(path, json=body, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_a_draft_is_written_from_the_facts_and_names_what_it_still_holds(api, tokens, llm):
    pid, room = made(api, tokens, "/api/products", TEA), made(api, tokens, "/api/rooms", ROOM)
    draft = {"title": "龙井专场", "segments": [
        {"say": "{家人们|朋友们}好，欢迎来到直播间！"}, {"product": str(pid)}, {"say": "明前龙井，129.9元，3号链接。"},
        {"say": "全网第一的好茶！"}, {"pause": 500}, {"say": "秒杀马上开始！"}, {"product": "999"}]}
    rewordings = iter(["口碑很好的一款茶！", "秒杀价马上开始！"])  # the second still holds the room's word

    def respond(body: dict) -> str:
        if "JSON" in body["messages"][0]["content"]:
            return "```json\n" + json.dumps(draft, ensure_ascii=False) + "\n```"
        return next(rewordings)

    llm.respond = respond
    r = api.post("/api/scripts/draft", headers=tokens["operator"],
                 json={"product_ids": [pid], "style": "lively", "room_id": room})
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["title"] == "龙井专场"
    # a re-wording that is still banned is not taken; a product that was not asked for is dropped
    assert got["segments"] == [{"say": "{家人们|朋友们}好，欢迎来到直播间！"}, {"product": str(pid)},
                               {"say": "明前龙井，129.9元，3号链接。"}, {"say": "口碑很好的一款茶！"}, {"pause": 500},
                               {"say": "秒杀马上开始！"}]
    assert got["banned"] == [{"segment": 5, "words": ["秒杀"]}]

    asked = llm.requests[0]
    assert asked.headers["authorization"] == f"Bearer {API_KEY}" and asked.body["model"] == "fake-writer"
    facts = asked.body["messages"][1]["content"]
    assert "明前龙井" in facts and "129.9" in facts and "3号链接" in facts and "七天无理由退换" in facts

    segments = got["segments"][:5] + [{"say": "优惠马上开始！"}]  # the operator's edit
    r = api.post("/api/scripts", headers=tokens["operator"], json={"name": got["title"], "segments": segments})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["segments"][1] == {"product": pid}


def test_without_an_llm_there_is_no_draft(api, tokens, monkeypatch):
    with FakeOpenAI() as fake:
        monkeypatch.delenv("LIVEHOST_CONFIG", raising=False)
        monkeypatch.setenv(Settings.variable("llm_base_url"), "")  # none configured, whatever the shell says
        monkeypatch.setenv(Settings.variable("llm_model"), "fake-writer")
        pid = made(api, tokens, "/api/products", TEA)
        r = api.post("/api/scripts/draft", headers=tokens["operator"], json={"product_ids": [pid], "style": "calm"})
        assert r.status_code == 409, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == "no_llm" and error["reason"] == "no_llm" and "LIVEHOST_LLM_BASE_URL" in error["message"]
        assert fake.requests == []


def test_an_llm_that_fails_or_answers_no_script_is_a_502_saying_why(api, tokens, llm):
    pid = made(api, tokens, "/api/products", TEA)
    body = {"product_ids": [pid], "style": "professional", "language": "en"}
    llm.mode = "error"
    r = api.post("/api/scripts/draft", headers=tokens["operator"], json=body)
    assert r.status_code == 502, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "llm_failed" and error["params"]["error"] in error["message"]
    assert API_KEY not in json.dumps(r.get_json())
    llm.mode, llm.reply = "ok", "Sorry, I cannot help with that."
    r = api.post("/api/scripts/draft", headers=tokens["operator"], json=body)
    assert r.status_code == 502 and "not a script" in r.get_json()["error"]["message"], r.get_json()


def test_bad_drafts_requests_are_4xx_and_ask_no_llm(api, tokens, llm):
    pid = made(api, tokens, "/api/products", TEA)
    gone = made(api, tokens, "/api/products", {"name": "下架"})
    assert api.delete(f"/api/products/{gone}", headers=tokens["operator"]).status_code == 204
    ok = {"product_ids": [pid], "style": "warm"}
    assert api.post("/api/scripts/draft", headers=tokens["viewer"], json=ok).status_code == 403
    assert api.post("/api/scripts/draft", json=ok).status_code == 401
    cases = [
        ({"product_ids": [pid, 999999]}, "product_ids.1", "product 999999 does not exist"),
        ({"product_ids": [gone]}, "product_ids.0", f"product {gone} does not exist"),
        ({"room_id": 999999}, "room_id", "room 999999 does not exist"),
        ({"product_ids": []}, "product_ids", "at least 1 item"),
        ({"product_ids": [pid] * 21}, "product_ids", "at most 20 items"),
        ({"product_ids": ["1"]}, "product_ids.0", "valid integer"),
        ({"style": "loud"}, "style", "Input should be"),
        ({"language": "fr"}, "language", "Input should be"),
        ({"knowledge": "x"}, "knowledge", "Extra inputs"),
    ]
    for change, field, words in cases:
        r = api.post("/api/scripts/draft", headers=tokens["operator"], json={**ok, **change})
        assert r.status_code == 422, (change, r.get_json())
        assert words in r.get_json()["error"]["fields"][field], r.get_json()
    assert api.post("/api/scripts/draft", headers=tokens["operator"], data="x", content_type="application/json") \
        .status_code == 400
    assert llm.requests == []
