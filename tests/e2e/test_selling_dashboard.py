"""The selling host in the dashboard, by clicking: an operator creates a product with an FAQ, is
told which banned word (违禁词) its answer holds and where, saves it without and with a picture, and
presents it in a script with a product segment. A real Chromium and the real API (no worker:
nothing goes live)."""
from __future__ import annotations

import time

import pytest
from PIL import Image

from tests.e2e.test_dashboard import T, fill, log_in, no_page_overflow, sel
from tests.helpers.api import PASSWORD, api_call
from tests.helpers.browser import shot

pytestmark = pytest.mark.slow


def test_operator_creates_a_product_with_an_faq_is_told_its_banned_word_and_presents_it_in_a_script(stack, browser, tmp_path):
    started = time.monotonic()
    base = stack.serve()
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script("localStorage.setItem('livehost.locale', 'en')")
    log_in(page, base)

    # A product with a selling point and an FAQ whose answer claims the lowest price on the web.
    page.locator(sel("nav-products")).click()
    page.locator(sel("products-page")).wait_for(timeout=T)
    page.locator(sel("product-create")).click()
    fill(page, "product-name", "Spring tea")
    fill(page, "product-price", "99")
    fill(page, "product-link", "3号链接")
    page.locator(sel("product-point-add")).click()
    fill(page, "product-point-text-0", "picked before Qingming")
    page.locator(sel("product-faq-add")).click()
    fill(page, "product-faq-q-0", "多少钱")
    fill(page, "product-faq-a-0", "99 元，全网最低价")
    page.locator(sel("product-save")).click()

    # Refused: the word is named under the answer it is in, and above the form.
    at_field = page.locator(sel("product-faq-error-0"))
    at_field.wait_for(timeout=T)
    assert "Banned words" in at_field.inner_text() and "最低" in at_field.inner_text(), at_field.inner_text()
    summary = page.locator(sel("banned-summary-text")).inner_text()
    assert "answer of FAQ 1" in summary and "最低" in summary, summary
    shot(page, "30-product-banned-word")

    # Without the claim it is saved; a picture that is no picture is refused at the image, a real one shows.
    fill(page, "product-faq-a-0", "99 元，今天下单包邮")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    page.locator(sel("product-image-pick")).locator("input[type=file]").set_input_files(str(broken))
    page.locator(sel("product-save")).click()
    image_error = page.locator(sel("product-form")).locator(".el-form-item__error", has_text="picture")
    image_error.wait_for(timeout=T)
    picture = tmp_path / "tea.png"
    Image.new("RGB", (64, 64), (40, 140, 60)).save(picture)
    page.locator(sel("product-image-pick")).locator("input[type=file]").set_input_files(str(picture))
    page.locator(sel("product-save")).click()
    page.locator(sel("product-dialog")).wait_for(state="hidden", timeout=T)
    row = page.locator(sel("products-table")).locator("tr", has_text="Spring tea")
    row.locator(sel("product-image-img")).wait_for(timeout=T)
    shot(page, "31-products")

    # A script presents it: a product segment, chosen by name, then a line with alternatives.
    page.locator(sel("nav-scripts")).click()
    page.locator(sel("script-create")).click()
    fill(page, "script-name", "Tea hour")
    fill(page, "segment-text-0", "Welcome, {today|now} we taste spring tea.")
    page.locator(sel("segment-alts-0")).locator(".alt-choice").wait_for(timeout=T)
    page.locator(sel("segment-add-product")).click()
    page.locator(sel("segment-product-1")).click()
    page.locator(".el-select-dropdown__item:visible", has_text="Spring tea").first.click()
    shot(page, "32-script-product-segment")
    page.locator(sel("script-save")).click()
    page.wait_for_function("() => /\\/scripts\\/\\d+$/.test(location.pathname)", timeout=T)

    token = api_call(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})["access_token"]
    product = api_call(base, "GET", "/api/products", token)["items"][0]
    assert product["faq"] == [{"q": "多少钱", "a": "99 元，今天下单包邮"}] and product["price"] == 99, product
    script = api_call(base, "GET", "/api/scripts", token)["items"][0]
    assert script["segments"] == [{"say": "Welcome, {today|now} we taste spring tea."}, {"product": product["id"]}], script
    # The product segment shows the product's name when the script is opened again.
    page.reload()
    page.locator(sel("segment-product-1"), has_text="Spring tea").wait_for(timeout=T)

    # A room sells it: on its shelf, with its own banned word besides the built-in list.
    page.locator(sel("nav-rooms")).click()
    page.locator(sel("room-create")).click()
    fill(page, "room-name", "Tea room")
    page.locator(sel("room-platform-custom")).click()
    fill(page, "room-server-url", f"rtmp://127.0.0.1:{stack.nginx.port}/live")
    fill(page, "room-knowledge", "Ships within 48 hours; 7-day returns.")
    page.locator(sel("room-products")).click()
    page.locator(".el-select-dropdown__item:visible", has_text="Spring tea").first.click()
    fill(page, "room-banned-add", "秒杀")
    page.keyboard.press("Enter")
    page.locator(sel("room-banned-note")).scroll_into_view_if_needed()
    shot(page, "34-room-selling")
    page.locator(sel("room-save")).click()
    page.locator(sel("room-dialog")).wait_for(state="hidden", timeout=T)
    settings = api_call(base, "GET", "/api/rooms", token)["items"][0]["settings"]
    assert settings["products"] == [product["id"]] and settings["banned_words"]["add"] == ["秒杀"], settings
    assert settings["knowledge"] == "Ships within 48 hours; 7-day returns." and settings["reword_loops"] is True, settings

    # On a phone the products page and the product form fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/products")
    page.locator(sel("products-table"), has_text="Spring tea").wait_for(timeout=T)
    no_page_overflow(page)
    page.locator("[data-test^='product-edit-']").first.click()
    page.locator(sel("product-faq-q-0")).wait_for(timeout=T)
    page.wait_for_timeout(400)  # the dialog's fade-in, for the screenshot
    no_page_overflow(page)
    shot(page, "33-phone-product-form")
    assert not errors, f"uncaught errors in the page: {errors}"
    print(f"selling dashboard end to end: {time.monotonic() - started:.1f} s")
