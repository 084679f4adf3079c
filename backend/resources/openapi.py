"""GET /api/openapi.json and /api/docs: the OpenAPI 3.1 document, generated from the registered
routes and their pydantic models (`python -m backend.openapi` prints it without a server)."""
from __future__ import annotations

import re
import typing
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from backend.api import INT_MAX, INT_MIN, MAX_ID

bp = Blueprint("openapi", __name__)

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}},
}


_KEPT = r"[^\s\x1c-\x1f\x85]"  # a character str.strip() keeps (ECMA's \s lacks \x1c-\x1f and \x85)


class RequestSchema(GenerateJsonSchema):
    """The JSON Schema of a request model, with what backend.api.Model adds: every integer in
    INT_MIN..INT_MAX; and a string with a least length, which is checked once stripped, says it
    neither begins nor ends with a space, so that its length is the one checked."""

    def int_schema(self, schema) -> dict[str, Any]:
        out = super().int_schema(schema)
        out["minimum"] = max(out.get("minimum", INT_MIN), INT_MIN)
        out["maximum"] = min(out.get("maximum", INT_MAX), INT_MAX)
        return out

    def str_schema(self, schema) -> dict[str, Any]:
        out = super().str_schema(schema)
        if out.get("minLength", 0) > 0 and "pattern" not in out and schema.get("strip_whitespace") is not False:
            out["pattern"] = rf"^{_KEPT}([\s\S]*{_KEPT})?$"
        return out

    def dict_schema(self, schema) -> dict[str, Any]:
        out = super().dict_schema(schema)
        patterns = out.pop("patternProperties", None)
        if patterns:  # pydantic's way to give the keys a pattern lets other keys hold anything
            ((pattern, values),) = patterns.items()
            out["additionalProperties"] = values
            out["propertyNames"] = {**out.get("propertyNames", {}), "pattern": pattern}
        return out


def build(app: Flask) -> dict:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def ref(model: Any, generator: type[GenerateJsonSchema] = GenerateJsonSchema) -> dict:
        if typing.get_origin(model) is list:
            return {"type": "array", "items": ref(typing.get_args(model)[0], generator)}
        if isinstance(model, type) and issubclass(model, BaseModel):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}", schema_generator=generator)
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            name = model.__name__.replace("[", "_").replace("]", "").replace(",", "_")
            schemas[name] = schema
            return {"$ref": f"#/components/schemas/{name}"}
        return {}

    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "livehost_op", None)
        if op is None:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        entry: dict[str, Any] = {"summary": op.summary, "operationId": rule.endpoint.replace(".", "_"),
                                 "tags": [rule.endpoint.split(".")[0]], "responses": {}}
        params = [{"name": arg, "in": "path", "required": True, "schema": _path_schema(rule._converters[arg])}
                  for arg in _path_args(rule.rule)]
        if op.query is not None:
            qs = op.query.model_json_schema(schema_generator=RequestSchema)
            for name, prop in qs.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in qs.get("required", []),
                               "schema": prop})
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": ref(op.body, RequestSchema)}}}
        if op.multipart:
            form = op.form or {"file": {"type": "string", "format": "binary", "description": _source_rule(app)},
                               "name": {"type": "string", "maxLength": 100}}
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": list(form), "properties": form}}}}
        ok: dict[str, Any] = {"description": "OK"}
        if op.stream:
            ok["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
        elif op.media:
            ok["content"] = {media: {"schema": {"type": "string", "format": "binary"}}
                             for media in ((op.media,) if isinstance(op.media, str) else op.media)}
        elif op.response is not None:
            ok["content"] = {"application/json": {"schema": ref(op.response)}}
        entry["responses"][str(op.status if op.status != 200 or op.response or op.stream or op.media else 204)] = ok
        errors = {"400": "malformed request", "422": "invalid input"}
        if op.body is not None or op.multipart:
            errors["413"] = "request body too large"
            errors["415"] = "not multipart/form-data" if op.multipart else "not a JSON body"
        if op.roles is not None:
            entry["security"] = [{"bearer": []}]
            errors.update({"401": "no valid refresh token" if op.refresh else "not signed in",
                           "403": "role not allowed"})
            if op.method in ("POST", "PUT", "PATCH", "DELETE"):
                errors["409"] = "conflicts with the current state (a taken name, a row in use, a live's state)"
        if rule.arguments:
            errors["404"] = "not found"
        errors.update({str(code): text for code, text in op.errors.items()})
        for code, text in errors.items():
            entry["responses"][code] = {"description": text, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "livehost admin API", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _source_rule(app: Flask) -> str:
    settings = app.config["LIVEHOST"]
    return (f"a portrait picture or a short video, at most {settings.max_source_side} pixels a side and "
            f"{settings.max_source_pixels / 1e6:g} megapixels (read from its header); larger ones are refused (422)")


def _path_schema(converter) -> dict[str, Any]:
    if converter.__class__.__name__ != "IntegerConverter":
        return {"type": "string"}
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # ids (backend.api.route)


@bp.get("/api/openapi.json")
def openapi_json():
    doc = current_app.extensions.get("livehost.openapi")
    if doc is None:
        doc = current_app.extensions["livehost.openapi"] = build(current_app)
    return jsonify(doc)


DOCS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>livehost API</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}code,pre{background:#f4f4f4}
h2{margin-top:1.5em}.m{display:inline-block;width:4.5em;font-weight:bold}pre{padding:.5em;overflow:auto}</style>
</head><body><h1>livehost admin API</h1><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>.
Sign in with <code>POST /api/auth/login</code>, then send <code>Authorization: Bearer ACCESS_TOKEN</code>.</p>
<div id="ops">loading...</div><script src="/api/docs.js"></script></body></html>"""

DOCS_JS = """fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
const el=document.getElementById('ops');el.textContent='';
for(const [path,ops] of Object.entries(doc.paths)){for(const [m,op] of Object.entries(ops)){
const h=document.createElement('h2');const s=document.createElement('span');s.className='m';
s.textContent=m.toUpperCase();h.append(s,document.createTextNode(' '+path));el.append(h);
const p=document.createElement('p');p.textContent=(op.summary||'')+(op.security?' (signed in)':' (public)');el.append(p);
if(op.requestBody){const pre=document.createElement('pre');
const c=op.requestBody.content;const sch=(c['application/json']||c['multipart/form-data']).schema;
const ref=sch.$ref?doc.components.schemas[sch.$ref.split('/').pop()]:sch;
pre.textContent=JSON.stringify(ref,null,1);el.append(pre);}}}});"""


@bp.get("/api/docs")
def docs_page():
    return DOCS_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/api/docs.js")
def docs_js():
    return DOCS_JS, 200, {"Content-Type": "text/javascript; charset=utf-8"}


def _path_args(rule: str) -> list[str]:
    """The path's variables in the order they appear (Rule.arguments is a set: its order changes
    from one process to the next, and the document with it)."""
    return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)
