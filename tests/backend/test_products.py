"""Products over HTTP on SQLite and MariaDB: what an operator stores is what the dashboard and the
lives read back; odd input is a 4xx naming the field; a picture is checked by decoding it; a
product a script or a room names is archived, not deleted."""
from __future__ import annotations

import io

import cv2
import numpy as np
import sqlalchemy as sa

from db.models import AuditEntry
from tests.helpers.bombs import png_bomb

TEA = {"name": "明前龙井 250g", "price": 129.9, "currency": "CNY",
       "selling_points": ["清明前手工采摘", "头采嫩芽，香气清高"],
       "faq": [{"q": "多少钱", "a": "直播间到手价129.9元。"}, {"q": "包邮吗", "a": "全国包邮，偏远地区除外。"}],
       "link": "3号链接", "stock": "现货，仅剩20件"}


def picture(ext: str, width: int = 32, height: int = 24) -> bytes:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (0, 128, 255)
    ok, data = cv2.imencode(ext, pixels)
    assert ok
    return data.tobytes()


def upload(api, headers, product_id: int, content: bytes, filename: str = "photo.png"):
    return api.put(f"/api/products/{product_id}/image", headers=headers, content_type="multipart/form-data",
                   data={"file": (io.BytesIO(content), filename)})


def create(api, tokens, **changes) -> dict:
    r = api.post("/api/products", json={**TEA, **changes}, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_a_product_round_trips_and_its_changes_are_audited(api, tokens):
    product = create(api, tokens)
    assert {k: product[k] for k in TEA} == TEA
    assert product["image_url"] is None and product["archived"] is False
    assert product["created_at"] and product["updated_at"]
    url = f"/api/products/{product['id']}"
    assert api.get(url, headers=tokens["viewer"]).get_json() == product
    listed = api.get("/api/products", headers=tokens["viewer"]).get_json()
    assert listed["total"] == 1 and listed["items"] == [product]

    r = api.patch(url, json={"price": 99.999, "stock": "售罄"}, headers=tokens["admin"])
    changed = r.get_json()
    assert r.status_code == 200, changed
    assert changed["price"] == 100.0 and changed["stock"] == "售罄" and changed["name"] == TEA["name"]
    assert changed["updated_at"] > product["updated_at"]
    changed = api.patch(url, json={"price": None}, headers=tokens["operator"]).get_json()
    assert changed["price"] is None and changed["faq"] == TEA["faq"]  # null removes the price, the rest stays
    assert api.patch(url, json={"price": 0.1 + 0.2}, headers=tokens["operator"]).get_json()["price"] == 0.3

    assert api.delete(url, headers=tokens["operator"]).status_code == 204
    assert api.get(url, headers=tokens["viewer"]).status_code == 404
    with api.app_.extensions["livehost.db"].sessions() as s:
        actions = s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["product.create", "product.change", "product.change", "product.change", "product.delete"]


def test_the_list_pages_and_finds_by_name(api, tokens):
    ids = [create(api, tokens, name=name)["id"] for name in ("绿茶 A", "红茶 B", "绿茶 C", "含糖5%_款")]
    page = api.get("/api/products?per_page=2&page=2", headers=tokens["viewer"]).get_json()
    assert page["total"] == 4 and [p["id"] for p in page["items"]] == ids[2:]
    found = api.get("/api/products", query_string={"q": "绿茶"}, headers=tokens["viewer"]).get_json()
    assert [p["name"] for p in found["items"]] == ["绿茶 A", "绿茶 C"]
    literal = api.get("/api/products", query_string={"q": "%_"}, headers=tokens["viewer"]).get_json()
    assert [p["name"] for p in literal["items"]] == ["含糖5%_款"]  # a LIKE wildcard is a plain character


def test_only_operators_and_admins_change_products(api, tokens):
    product = create(api, tokens)
    url, viewer = f"/api/products/{product['id']}", tokens["viewer"]
    assert api.post("/api/products", json=TEA, headers=viewer).status_code == 403
    assert api.patch(url, json={"stock": "x"}, headers=viewer).status_code == 403
    assert api.delete(url, headers=viewer).status_code == 403
    assert upload(api, viewer, product["id"], picture(".png")).status_code == 403
    assert api.delete(url + "/image", headers=viewer).status_code == 403
    assert api.get(url).status_code == 401 and api.get("/api/products").status_code == 401
    assert api.get(url, headers=viewer).status_code == 200
    assert api.get(url, headers=viewer).get_json() == product  # nothing changed


BAD = [
    ({"price": "9.9"}, "price", "valid number"),
    ({"price": True}, "price", "valid number"),
    ({"price": -1}, "price", "greater than or equal to 0"),
    ({"price": 1e11}, "price", "less than or equal to"),
    ({"currency": "yuan"}, "currency", "should match pattern"),
    ({"name": ""}, "name", "at least 1 character"),
    ({"name": "茶" * 101}, "name", "at most 100 characters"),
    ({"name": None}, "name", "valid string"),
    ({"selling_points": "好喝"}, "selling_points", "valid list"),
    ({"selling_points": ["好"] * 21}, "selling_points", "at most 20 items"),
    ({"selling_points": ["好" * 201]}, "selling_points.0", "at most 200 characters"),
    ({"selling_points": [5]}, "selling_points.0", "valid string"),
    ({"faq": [{"q": "几号链接"}]}, "faq.0.a", "Field required"),
    ({"faq": [{"q": "几号链接", "a": "3号", "x": 1}]}, "faq.0.x", "Extra inputs"),
    ({"faq": [{"q": "q", "a": "a"}] * 51}, "faq", "at most 50 items"),
    ({"faq": ["多少钱"]}, "faq.0", "valid dictionary"),
    ({"link": "链" * 41}, "link", "at most 40 characters"),
    ({"stock": 20}, "stock", "valid string"),
    ({"image": "../../etc/passwd"}, "image", "Extra inputs"),
]


def test_bad_fields_are_422_naming_the_field(api, tokens):
    pid = create(api, tokens)["id"]
    for change, field, words in BAD:
        answers = [api.post("/api/products", json={**TEA, **change}, headers=tokens["operator"])]
        if change != {"name": None}:  # to PATCH, a null is a field not given
            answers.append(api.patch(f"/api/products/{pid}", json=change, headers=tokens["operator"]))
        for r in answers:
            assert r.status_code == 422, (change, r.get_json())
            assert words in r.get_json()["error"]["fields"][field], r.get_json()
    assert api.get("/api/products", headers=tokens["viewer"]).get_json()["total"] == 1


def test_odd_bodies_are_4xx_and_change_nothing(api, tokens):
    op = tokens["operator"]
    product = create(api, tokens)
    url = f"/api/products/{product['id']}"
    cut_short = api.post("/api/products", data='{"name": "x",', content_type="application/json", headers=op)
    assert cut_short.status_code == 400
    assert api.post("/api/products", json=["x"], headers=op).status_code == 422
    assert api.post("/api/products", json="x", headers=op).status_code == 422
    assert api.post("/api/products", data="name=x", headers=op).status_code == 415
    huge = {**TEA, "selling_points": ["x"] * 50_000}
    assert api.post("/api/products", json=huge, headers=op).status_code == 422
    assert api.patch(url, json={"price": float("nan")}, headers=op).status_code == 422
    assert api.patch(url, json={"faq": None, "name": 7}, headers=op).status_code == 422
    assert api.patch("/api/products/999999", json={"stock": "x"}, headers=op).status_code == 404
    assert api.patch("/api/products/0", json={"stock": "x"}, headers=op).status_code == 404
    assert api.get(url, headers=op).get_json() == product


def test_a_picture_is_uploaded_served_replaced_and_removed(api, tokens):
    op, pid = tokens["operator"], create(api, tokens)["id"]
    folder = api.app_.config["LIVEHOST"].var_dir / "products"
    png = picture(".png")
    r = upload(api, op, pid, png, "../../../evil name.exe")  # the name is not trusted: only the bytes count
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["image_url"] == f"/api/products/{pid}/image"
    got = api.get(f"/api/products/{pid}/image", headers=tokens["viewer"])
    assert got.status_code == 200 and got.mimetype == "image/png" and got.data == png
    assert [p.suffix for p in folder.iterdir()] == [".png"]

    for ext, media in ((".jpg", "image/jpeg"), (".webp", "image/webp")):
        data = picture(ext, 64, 48)
        assert upload(api, op, pid, data, "photo.png").status_code == 200
        got = api.get(f"/api/products/{pid}/image", headers=tokens["viewer"])
        assert (got.mimetype, got.data) == (media, data)
        assert [p.suffix for p in folder.iterdir()] == [ext]  # the one replaced is gone

    assert api.delete(f"/api/products/{pid}/image", headers=op).status_code == 204
    assert api.get(f"/api/products/{pid}/image", headers=op).status_code == 404
    assert api.get(f"/api/products/{pid}", headers=op).get_json()["image_url"] is None
    assert list(folder.iterdir()) == []
    assert api.delete(f"/api/products/{pid}/image", headers=op).status_code == 204  # none: nothing to do


def test_what_is_not_a_small_jpeg_png_or_webp_picture_is_refused(api, tokens):
    op, pid = tokens["operator"], create(api, tokens)["id"]
    png = picture(".png", 64, 64)
    cases = [
        (b"", "file is empty"),
        (b"not a picture at all", "not a JPEG, PNG or WebP picture"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a JPEG, PNG or WebP picture"),
        (png[: len(png) // 2], "cannot be decoded"),
        (picture(".bmp"), "not a JPEG, PNG or WebP picture"),
        (png_bomb(30000, 30000), "the limit is 8192 pixels a side and 40 megapixels"),
        (png_bomb(9000, 10), "9000x10 pixels; the limit is 8192 pixels a side"),
        (picture(".png") + b"\x00" * 5_000_000, "larger than 5 MB"),
    ]
    for content, words in cases:
        r = upload(api, op, pid, content)
        assert r.status_code == 422, (words, r.get_json())
        assert words in r.get_json()["error"]["fields"]["file"], r.get_json()
    r = api.put(f"/api/products/{pid}/image", headers=op, content_type="multipart/form-data", data={"file": "text"})
    assert r.status_code == 422 and "file is required" in r.get_json()["error"]["fields"]["file"]
    r = api.put(f"/api/products/{pid}/image", headers=op, json={"file": "x"})
    assert r.status_code == 415
    assert upload(api, op, 999999, png).status_code == 404
    assert api.get(f"/api/products/{pid}", headers=op).get_json()["image_url"] is None
    assert not (api.app_.config["LIVEHOST"].var_dir / "products").exists() or \
        list((api.app_.config["LIVEHOST"].var_dir / "products").iterdir()) == []


def test_a_product_a_script_or_a_room_names_is_archived_not_deleted(api, tokens):
    op = tokens["operator"]
    in_script, on_shelf, alone = (create(api, tokens, name=n)["id"] for n in ("A", "B", "C"))
    assert upload(api, op, in_script, picture(".jpg")).status_code == 200
    script = api.post("/api/scripts", headers=op, json={"name": "s", "segments": [{"product": in_script}, "Hello."]})
    assert script.status_code == 201, script.get_json()
    room = api.post("/api/rooms", headers=op, json={"name": "r", "platform": "custom",
                                                    "server_url": "rtmp://127.0.0.1/live",
                                                    "settings": {"products": [on_shelf]}})
    assert room.status_code == 201, room.get_json()
    for pid in (in_script, on_shelf, alone):
        assert api.delete(f"/api/products/{pid}", headers=op).status_code == 204
    assert api.get("/api/products", headers=op).get_json()["total"] == 0
    for pid in (in_script, on_shelf):
        kept = api.get(f"/api/products/{pid}", headers=op).get_json()
        assert kept["archived"] is True, kept
    assert api.get(f"/api/products/{in_script}/image", headers=op).status_code == 200  # its live still shows it
    assert api.get(f"/api/products/{alone}", headers=op).status_code == 404
    # what names them still saves; a new script cannot name an archived product
    sid = script.get_json()["id"]
    r = api.patch(f"/api/scripts/{sid}", headers=op, json={"segments": [{"product": in_script}, "Hello again."]})
    assert r.status_code == 200, r.get_json()
    r = api.post("/api/scripts", headers=op, json={"name": "t", "segments": [{"product": in_script}, "Hi."]})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["segments.0.product"] == \
        f"segment 1: product {in_script} does not exist"


def test_a_script_segment_names_a_product_that_exists(api, tokens):
    op, pid = tokens["operator"], create(api, tokens)["id"]
    r = api.post("/api/scripts", headers=op, json={"name": "sale", "segments": [
        {"product": pid}, {"say": "这款龙井，清明前采摘。"}, {"product": str(pid)}, "再说一遍。"]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["segments"] == [{"product": pid}, {"say": "这款龙井，清明前采摘。"}, {"product": pid},
                                        {"say": "再说一遍。"}]
    cases = [
        ({"product": 999999}, "segments.0.product", "segment 1: product 999999 does not exist"),
        ({"product": "tea"}, "segments.0.product", "segment 1: product must be a product's id"),
        ({"product": True}, "segments.0.product", "segment 1: product must be a product's id"),
        ({"product": 2**40}, "segments.0.product", "segment 1: product must be a product's id"),
        ({"product": "9" * 5000}, "segments.0.product", "segment 1: product must be a product's id"),
        ({"product": 1.5}, "segments.0.product", "segment 1: product must be a product's id"),
        ({"product": pid, "voice": "espeak"}, "segments.0", "only a say segment may name a voice"),
    ]
    for segment, field, words in cases:
        r = api.post("/api/scripts", headers=op, json={"name": "bad", "segments": [segment, "Hello."]})
        assert r.status_code == 422, (segment, r.get_json())
        assert words in r.get_json()["error"]["fields"][field], r.get_json()
    r = api.post("/api/scripts", headers=op, json={"name": "bad", "segments": [{"product": 999999}, "Hello."]})
    assert r.get_json()["error"]["field_reasons"]["segments.0.product"] == {
        "reason": "not_found", "params": {"what": "product", "id": 999999}}
    assert api.get("/api/scripts", headers=op).get_json()["total"] == 1


def test_a_room_s_selling_settings_are_stored_and_shown_with_defaults(api, tokens):
    op, pid = tokens["operator"], create(api, tokens)["id"]
    room = {"name": "r", "platform": "douyin", "server_url": "rtmp://127.0.0.1/live"}
    r = api.post("/api/rooms", headers=op, json=room)
    assert r.status_code == 201, r.get_json()
    shown = r.get_json()["settings"]
    assert (shown["knowledge"], shown["banned_words"], shown["products"], shown["reword_loops"]) == \
        ("", {"add": [], "allow": []}, [], True)
    settings = {"knowledge": "全国包邮；七天无理由退换。", "products": [pid, pid], "reword_loops": False,
                "banned_words": {"add": ["秒杀"], "allow": []}}
    r = api.patch(f"/api/rooms/{r.get_json()['id']}", headers=op, json={"settings": settings})
    assert r.status_code == 200, r.get_json()
    shown = r.get_json()["settings"]
    assert shown["products"] == [pid] and shown["knowledge"] == settings["knowledge"]
    assert shown["reword_loops"] is False and shown["banned_words"] == {"add": ["秒杀"], "allow": []}
    cases = [
        ({"products": [pid, 999999]}, "settings.products.1", "product 999999 does not exist"),
        ({"products": ["x"]}, "settings.products.0", "valid integer"),
        ({"products": list(range(1, 202))}, "settings.products", "at most 200 items"),
        ({"knowledge": "店" * 8001}, "settings.knowledge", "at most 8000 characters"),
        ({"banned_words": {"add": ["词" * 31]}}, "settings.banned_words.add.0", "at most 30 characters"),
        ({"banned_words": {"add": [""]}}, "settings.banned_words.add.0", "at least 1 character"),
        ({"banned_words": {"allow": ["x"] * 501}}, "settings.banned_words.allow", "at most 500 items"),
        ({"banned_words": ["秒杀"]}, "settings.banned_words", "valid dictionary"),
        ({"reword_loops": "yes"}, "settings.reword_loops", "valid boolean"),
    ]
    for bad, field, words in cases:
        r = api.post("/api/rooms", headers=op, json={**room, "settings": bad})
        assert r.status_code == 422, (bad, r.get_json())
        assert words in r.get_json()["error"]["fields"][field], r.get_json()
    assert api.get("/api/rooms", headers=op).get_json()["total"] == 1
