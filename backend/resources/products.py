"""Products: what a room's lives sell and the host answers from (name, price, selling points, FAQ,
link number, stock note, a picture). A script's `product` segment and a room's shelf
(settings.products) name them; the worker gives the live their facts (db.models.Product.facts).

Names, selling points and FAQ answers holding a banned word are refused (backend.banned). A product
that a script or a room names is archived rather than deleted: gone from the list, still known to
the lives that use it. Pictures are checked by decoding them, never by their file's name."""
from __future__ import annotations

import io
import logging
import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
from flask import Blueprint, current_app, send_file
from PIL import Image
from pydantic import Field, StrictFloat, StringConstraints
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, multipart_form, paginate, route
from backend.banned import check_banned
from backend.db import db
from backend.errors import ApiError
from db.models import Product, Room, Script, utcnow
from streamer.selling.banned import BannedWords

log = logging.getLogger("livehost.api")

bp = Blueprint("products", __name__, url_prefix="/api/products")

MAX_IMAGE_BYTES = 5_000_000
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_PIXELS = 40_000_000
# Pillow's name of a format -> (its media type, the stored file's extension)
IMAGE_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
MAX_PRICE = 9_999_999_999.99  # Numeric(12, 2)

Point = Annotated[str, StringConstraints(min_length=1, max_length=200)]
PRICE_DOC = "price (>= 0), rounded to cents; null: none told"


class Faq(Model):
    q: str = Field(min_length=1, max_length=200, description="a question viewers ask")
    a: str = Field(min_length=1, max_length=500, description="its answer, said as written")


class ProductIn(Model):
    name: str = Field(min_length=1, max_length=100)
    price: StrictFloat | None = Field(None, ge=0, le=MAX_PRICE, allow_inf_nan=False, description=PRICE_DOC)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    selling_points: list[Point] = Field(default_factory=list, max_length=20)
    faq: list[Faq] = Field(default_factory=list, max_length=50,
                           description="questions answered from here at once, without the LLM")
    link: str = Field("", max_length=40, description="the link number viewers buy from, e.g. 3号链接")
    stock: str = Field("", max_length=200, description="availability note, e.g. 现货 or 仅剩20件")


class ProductPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    price: StrictFloat | None = Field(None, ge=0, le=MAX_PRICE, allow_inf_nan=False,
                                      description=PRICE_DOC + " (given as null: removed)")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    selling_points: list[Point] | None = Field(None, max_length=20)
    faq: list[Faq] | None = Field(None, max_length=50)
    link: str | None = Field(None, max_length=40)
    stock: str | None = Field(None, max_length=200)


class ProductQuery(PageQuery):
    q: str | None = Field(None, max_length=100, description="part of the name")


class FaqOut(Out):
    q: str
    a: str


class ProductOut(Out):
    id: int
    name: str
    price: float | None
    currency: str
    selling_points: list[str]
    faq: list[FaqOut]
    link: str
    stock: str
    image_url: str | None = Field(description="its picture (GET, signed in); null when none was uploaded")
    archived: bool = Field(description="deleted while a script or a room named it: kept for those")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Product) -> "ProductOut":
        return cls(**p.facts(), archived=p.archived_at is not None, created_at=p.created_at, updated_at=p.updated_at)


def cents(price: float | None) -> Decimal | None:
    return None if price is None else Decimal(repr(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def check_product_words(fields: dict) -> None:
    """422 banned_words if the given name, selling points or FAQ answers hold a banned word."""
    texts = [("name", fields.get("name") or "")]
    texts += [(f"selling_points.{i}", text) for i, text in enumerate(fields.get("selling_points") or [])]
    texts += [(f"faq.{i}.a", item["a"]) for i, item in enumerate(fields.get("faq") or [])]
    check_banned(texts, BannedWords.for_room())


def used_by(s, product_id: int) -> bool:
    """A script's segment or a room's shelf names product `product_id`."""
    for segments in s.scalars(select(Script.segments)):
        if any(isinstance(seg, dict) and seg.get("product") == product_id for seg in segments or []):
            return True
    for settings in s.scalars(select(Room.settings)):
        if product_id in ((settings or {}).get("products") or []):
            return True
    return False


@route(bp, "GET", "", roles=ANYONE, query=ProductQuery, response=Page[ProductOut])
def list_products(query: ProductQuery):
    """All products (not the archived ones), by id; q: those whose name holds it."""
    stmt = select(Product).where(Product.archived_at.is_(None))
    if query.q:
        stmt = stmt.where(Product.name.contains(query.q, autoescape=True))
    return paginate(db(), stmt.order_by(Product.id), query, ProductOut.of)


@route(bp, "GET", "/<int:product_id>", roles=ANYONE, response=ProductOut)
def get_product(product_id: int):
    """One product (an archived one too)."""
    return ProductOut.of(get_or_404(db(), Product, product_id, "product"))


@route(bp, "POST", "", roles=OPERATE, body=ProductIn, response=ProductOut, status=201)
def create_product(body: ProductIn):
    """Create a product (422 banned_words when its texts hold a banned word)."""
    fields = body.model_dump()
    check_product_words(fields)
    s = db()
    product = Product(**{**fields, "price": cents(body.price)})
    s.add(product)
    s.flush()
    audit.record("product.create", f"product:{product.id}", name=product.name)
    s.commit()
    return ProductOut.of(product)


@route(bp, "PATCH", "/<int:product_id>", roles=OPERATE, body=ProductPatch, response=ProductOut)
def change_product(product_id: int, body: ProductPatch):
    """Change the fields given (price given as null removes it)."""
    s = db()
    product = get_or_404(s, Product, product_id, "product")
    fields = body.model_dump(exclude_none=True)
    check_product_words(fields)
    for name, value in fields.items():
        setattr(product, name, value)
    if "price" in body.model_fields_set:
        product.price = cents(body.price)
    product.updated_at = utcnow()
    audit.record("product.change", f"product:{product.id}", fields=sorted(body.model_fields_set))
    s.commit()
    return ProductOut.of(product)


@route(bp, "DELETE", "/<int:product_id>", roles=OPERATE)
def delete_product(product_id: int):
    """Delete a product; one a script or a room names is archived instead (its lives keep it)."""
    s = db()
    product = get_or_404(s, Product, product_id, "product")
    keep = used_by(s, product.id)
    audit.record("product.delete", f"product:{product.id}", name=product.name, archived=keep)
    if keep:
        product.archived_at = product.archived_at or utcnow()
        s.commit()
        return
    image = product.image
    s.delete(product)
    s.commit()
    _remove_image(image)


# --- its picture ---------------------------------------------------------------------------------

def images_dir() -> Path:
    return current_app.config["LIVEHOST"].var_dir / "products"


def _remove_image(name: str) -> None:
    if name and Path(name).name == name:
        (images_dir() / name).unlink(missing_ok=True)


def _invalid_file(message: str) -> ApiError:
    return ApiError(422, "invalid", f"file: {message}", {"file": message})


def image_format(data: bytes) -> str:
    """The format (a key of IMAGE_FORMATS) of picture `data`, measured from its header and then
    decoded whole; 422 for anything else, larger, or broken."""
    if not data:
        raise _invalid_file("file is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise _invalid_file(f"the picture is larger than {MAX_IMAGE_BYTES / 1e6:g} MB")
    limit = f"the limit is {MAX_IMAGE_SIDE} pixels a side and {MAX_IMAGE_PIXELS / 1e6:g} megapixels"
    try:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            kind, (width, height) = header.format, header.size
    except Image.DecompressionBombError:  # a header Pillow will not even measure: far too large
        raise _invalid_file(f"the picture is over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; {limit}") \
            from None
    except Exception:  # noqa: BLE001 - not a picture Pillow knows: refused
        kind, width, height = None, 0, 0
    if kind not in IMAGE_FORMATS:
        raise _invalid_file("not a JPEG, PNG or WebP picture")
    if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise _invalid_file(f"the picture is {width}x{height} pixels; {limit}")
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise _invalid_file(f"the {kind} picture cannot be decoded (damaged or cut short?)")
    return kind


IMAGE_FORM = {"file": {"type": "string", "format": "binary",
                       "description": f"a JPEG, PNG or WebP picture of at most {MAX_IMAGE_BYTES / 1e6:g} MB, "
                                      f"{MAX_IMAGE_SIDE} pixels a side and {MAX_IMAGE_PIXELS / 1e6:g} megapixels"}}


@route(bp, "PUT", "/<int:product_id>/image", roles=OPERATE, multipart=True, form=IMAGE_FORM, response=ProductOut,
       errors={503: "the picture could not be stored (disk full)"})
def put_image(product_id: int):
    """Upload the product's picture (multipart field file), replacing the one it had."""
    s = db()
    product = get_or_404(s, Product, product_id, "product")
    upload, _ = multipart_form("the field file")
    if upload is None:
        raise _invalid_file("file is required: a JPEG, PNG or WebP picture")
    data = upload.stream.read(MAX_IMAGE_BYTES + 1)
    kind = image_format(data)
    name = f"{product.id}-{uuid.uuid4().hex[:12]}{IMAGE_FORMATS[kind][1]}"
    try:
        images_dir().mkdir(parents=True, exist_ok=True)
        (images_dir() / name).write_bytes(data)
    except OSError as e:
        log.error("cannot store the picture of product %s: %s", product.id, e)
        raise ApiError(503, "unavailable", f"the picture could not be stored: {e.strerror or e}") from None
    old, product.image, product.updated_at = product.image, name, utcnow()
    audit.record("product.image", f"product:{product.id}", format=kind, bytes=len(data))
    s.commit()
    _remove_image(old)
    return ProductOut.of(product)


@route(bp, "GET", "/<int:product_id>/image", roles=ANYONE, media=tuple(m for m, _ in IMAGE_FORMATS.values()),
       errors={404: "no such product, or it has no picture"})
def get_image(product_id: int):
    """The product's picture, as uploaded."""
    product = get_or_404(db(), Product, product_id, "product")
    path = images_dir() / Path(product.image).name if product.image else None
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", f"product {product_id} has no picture")
    media = next((m for m, ext in IMAGE_FORMATS.values() if path.suffix == ext), "application/octet-stream")
    response = send_file(path, mimetype=media, conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, no-cache"  # signed-in users only; replaced pictures show at once
    return response


@route(bp, "DELETE", "/<int:product_id>/image", roles=OPERATE)
def delete_image(product_id: int):
    """Remove the product's picture (nothing happens when it has none)."""
    s = db()
    product = get_or_404(s, Product, product_id, "product")
    old = product.image
    if old:
        product.image, product.updated_at = "", utcnow()
        audit.record("product.image_delete", f"product:{product.id}")
        s.commit()
        _remove_image(old)
