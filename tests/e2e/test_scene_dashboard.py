"""The scene in the dashboard, by clicking: an operator uploads a picture to the media library,
makes it a room's logo and sees it in the scene preview the API draws, saves the room, and is told,
naming the room, that the picture cannot be deleted while the scene uses it. A real Chromium and the
real API (no worker: nothing goes live)."""
from __future__ import annotations

import time

import pytest
from PIL import Image

from tests.e2e.test_dashboard import T, fill, log_in, sel
from tests.helpers.api import PASSWORD, api_call
from tests.helpers.browser import shot

pytestmark = pytest.mark.slow

# How many clearly red pixels the preview image holds, read back through a canvas at its own size
# (-1 while it is not loaded). The blob: URL is the page's own, so the canvas is not tainted.
RED_PIXELS = """() => {
  const img = document.querySelector('[data-test="scene-preview-img"]')
  if (!img || !img.complete || !img.naturalWidth) return -1
  const c = document.createElement('canvas')
  c.width = img.naturalWidth
  c.height = img.naturalHeight
  const g = c.getContext('2d')
  g.drawImage(img, 0, 0)
  const d = g.getImageData(0, 0, c.width, c.height).data
  let n = 0
  for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 60 && d[i + 2] < 60) n++
  return n
}"""


def test_operator_makes_an_uploaded_picture_a_rooms_logo_sees_it_in_the_preview_and_cannot_delete_it(stack, browser, tmp_path):
    started = time.monotonic()
    base = stack.serve()
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("localStorage.setItem('livehost.locale', 'en')")
    log_in(page, base)

    # A picture uploaded on the media page is listed.
    picture = tmp_path / "red-logo.png"
    Image.new("RGB", (64, 32), (255, 0, 0)).save(picture)
    page.locator(sel("nav-media")).click()
    page.locator(sel("media-page")).wait_for(timeout=T)
    page.locator(sel("media-upload")).locator("input[type=file]").set_input_files(str(picture))
    page.locator(sel("media-table")).locator("tr", has_text="red-logo").wait_for(timeout=T)
    token = api_call(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})["access_token"]
    [logo] = api_call(base, "GET", "/api/media", token)["items"]
    assert logo["kind"] == "image" and logo["name"] == "red-logo", logo
    shot(page, "40-media-uploaded")

    # A room whose scene has the picture as its logo: the preview drawn by the API shows it.
    page.locator(sel("nav-rooms")).click()
    page.locator(sel("room-create")).click()
    fill(page, "room-name", "Scene room")
    page.locator(sel("room-platform-custom")).click()
    fill(page, "room-server-url", f"rtmp://127.0.0.1:{stack.nginx.port}/live")
    fill(page, "room-stream-key", "scene-e2e-key")
    page.locator(sel("scene-section")).scroll_into_view_if_needed()
    page.locator(sel("scene-preview")).scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({RED_PIXELS})() >= 0", timeout=T)  # the scene without a logo, drawn
    assert page.evaluate(RED_PIXELS) == 0, "the scene holds red before it has the red logo"
    page.locator(sel("scene-logo")).click()
    page.locator(sel("scene-logo-media")).click()
    page.locator(".el-select-dropdown__item:visible", has_text="red-logo").first.click()
    page.wait_for_function(f"() => ({RED_PIXELS})() > 0", timeout=T)
    preview = page.locator(sel("scene-preview-img"))
    assert preview.evaluate("img => img.naturalWidth") > 0
    shot(page, "41-room-scene-logo")
    page.locator(sel("room-save")).click()
    page.locator(sel("room-dialog")).wait_for(state="hidden", timeout=T)

    [room] = api_call(base, "GET", "/api/rooms", token)["items"]
    room = api_call(base, "GET", f"/api/rooms/{room['id']}", token)
    assert room["settings"]["scene"]["logo"]["media"] == logo["id"], room["settings"]["scene"]

    # Deleting the picture is refused, naming the room; it stays listed.
    page.locator(sel("nav-media")).click()
    page.locator(sel("media-table")).locator("tr", has_text="red-logo").wait_for(timeout=T)
    page.locator(sel(f"media-delete-{logo['id']}")).click()
    page.locator(".el-message-box__btns .el-button--primary").click()
    refusal = page.locator(".el-message--error", has_text="is used in the scene of")
    refusal.wait_for(timeout=T)
    assert "Scene room" in refusal.inner_text() and "red-logo" in refusal.inner_text(), refusal.inner_text()
    shot(page, "42-media-in-use")
    assert page.locator(sel("media-table")).locator("tr", has_text="red-logo").count() == 1
    assert [m["id"] for m in api_call(base, "GET", "/api/media", token)["items"]] == [logo["id"]]
    assert not errors, f"uncaught errors in the page: {errors}"
    print(f"scene dashboard end to end: {time.monotonic() - started:.1f} s")
