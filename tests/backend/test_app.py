"""What every response promises: JSON errors, security headers, CORS allow-list, health, OpenAPI."""
from __future__ import annotations

from backend import create_app
from backend.settings import ApiSettings


def test_errors_are_json_never_html(api, tokens):
    # Outside /api the dashboard answers (its own "page not found"); see test_dashboard.py.
    for r in (api.get("/api/nope"), api.delete("/api/auth/login"), api.delete("/api/avatars/not-a-number"),
              api.patch("/api/rooms/x")):
        assert r.is_json and set(r.get_json()["error"]) >= {"code", "message"}
        assert b"<html" not in r.data.lower()


def test_security_headers(api):
    r = api.get("/api/health")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_pages_may_connect_to_the_api_and_the_configured_transcriber_only(tmp_path):
    def connect_src(**settings) -> str:
        app = create_app(ApiSettings.from_env(env={}, database_url=f"sqlite:///{tmp_path}/t.db", var_dir=tmp_path,
                                              testing=True, **settings))
        csp = app.test_client().get("/api/health").headers["Content-Security-Policy"]
        return next(p.strip() for p in csp.split(";") if p.strip().startswith("connect-src"))

    assert connect_src() == "connect-src 'self'"
    assert connect_src(transcriber_url="ws://127.0.0.1:9090") == "connect-src 'self' ws://127.0.0.1:9090"
    assert connect_src(transcriber_url="wss://stt.example.com/live?x=1") == "connect-src 'self' wss://stt.example.com"
    assert connect_src(transcriber_url="wss://[::1]:9090") == "connect-src 'self' wss://[::1]:9090"
    for bad in ("http://stt.example.com", "ws://a.example.com; script-src *", "ws://user:pw@a.example.com"):
        assert connect_src(transcriber_url=bad) == "connect-src 'self'"


def test_cors_only_for_allowed_origins(tmp_path):
    settings = ApiSettings.from_env(env={}, database_url=f"sqlite:///{tmp_path}/c.db", var_dir=tmp_path,
                                    cors_origins=("https://admin.example.com",), testing=True)
    client = create_app(settings).test_client()
    ok = client.get("/api/openapi.json", headers={"Origin": "https://admin.example.com"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    other = client.get("/api/openapi.json", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_health_reports_database_and_redis(api):
    r = api.get("/api/health")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_says_when_redis_is_down(tmp_path):
    settings = ApiSettings.from_env(env={}, database_url=f"sqlite:///{tmp_path}/h.db", var_dir=tmp_path,
                                    redis_url="redis://127.0.0.1:1/0", testing=True)
    r = create_app(settings).test_client().get("/api/health")
    assert r.status_code == 503 and r.get_json()["redis"].startswith("unreachable")


def test_openapi_document_describes_every_endpoint(api):
    doc = api.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    login = doc["paths"]["/api/auth/login"]["post"]
    assert "security" not in login and "requestBody" in login
    me = doc["paths"]["/api/auth/me"]["get"]
    assert me["security"] == [{"bearer": []}] and "401" in me["responses"]
    rooms = doc["paths"]["/api/rooms"]["post"]
    schema = doc["components"]["schemas"][rooms["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(schema["required"]) >= {"name", "platform", "server_url"}
    ops = {(p, m) for p, item in doc["paths"].items() for m in item}
    registered = {r.rule for r in api.app_.url_map.iter_rules() if r.rule.startswith("/api/")
                  and r.endpoint.split(".")[0] not in ("openapi",)}
    documented = {p for p, _ in ops}
    assert {r.replace("<int:", "{").replace("<", "{").replace(">", "}") for r in registered} <= documented
    assert api.get("/api/docs").status_code == 200


def test_wrong_content_type_is_415(api, tokens):
    r = api.post("/api/rooms", data="name=x", headers={**tokens["operator"],
                                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
