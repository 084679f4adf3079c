"""Bilibili live danmaku: one room's comments, gifts, super chats, guards, follows, entries, likes
and online count, read the way the web player reads them.

Each session asks the HTTP API for the room's real id (a short id such as 1 maps to a long one)
and for a danmaku token and servers (getDanmuInfo, WBI-signed with keys from the nav API), then
opens the danmaku WebSocket, authenticates with the token and sends a heartbeat every
`heartbeat_s`. The bytes are streamer.audience.bilibili_wire's.

The cookie (SESSDATA, so that viewers' names are not masked) is a credential: it goes in the
Cookie header and nowhere else, not in a name, a message or a log line.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from streamer.audience.bilibili_wire import MalformedCommand, Op, Packet, Unreadable, command_name, decode, pack, \
    to_events
from streamer.audience.events import AudienceEvent
from streamer.audience.source import Backoff, Source, SourceError

log = logging.getLogger("livehost.audience")

WEB_API = "https://api.bilibili.com"  # where the nav API (login state, WBI keys) lives
# the danmaku token is bound to the User-Agent: the HTTP calls and the socket send the same one
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/138.0.0.0 Safari/537.36")
HEARTBEAT_BODY = "[object Object]"  # what the web player's heartbeat carries
ROOM_MISSING = 60004  # room_init's code for a room that does not exist
HINTS = {-352: "refused by risk control; a logged-in cookie with buvid3 usually helps",
         -412: "blocked for too many requests from this address"}
# the order in which WBI mixes img_key + sub_key into its signing key (the first 32 of 64)
WBI_ORDER = (46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35,
             27, 43, 5, 49, 33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13)


def wbi_key(img_key: str, sub_key: str) -> str:
    """The WBI signing key from the nav API's two keys (the file names in wbi_img's URLs)."""
    mixed = img_key + sub_key
    return "".join(mixed[i] for i in WBI_ORDER if i < len(mixed))[:32]


def wbi_sign(params: dict, key: str, wts: int | None = None) -> dict:
    """`params` with wts (seconds) and w_rid: the MD5 of the sorted query, !'()* left out of the
    values, followed by the signing key."""
    signed = {**params, "wts": int(time.time()) if wts is None else wts}
    query = urlencode(sorted((k, "".join(c for c in str(v) if c not in "!'()*")) for k, v in signed.items()),
                      quote_via=quote)
    return {**signed, "w_rid": hashlib.md5((query + key).encode()).hexdigest()}


def _cookie_jar(cookie: str, buvid: str) -> dict[str, str]:
    """The cookies to send: `cookie` is a whole Cookie header or only SESSDATA's value."""
    cookie = cookie.strip()
    if cookie.lower().startswith("cookie:"):
        cookie = cookie[len("cookie:"):].strip()
    if cookie and "=" not in cookie:
        cookie = f"SESSDATA={cookie}"
    jar = {}
    for part in cookie.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name:
            jar[name] = value
    if buvid and "buvid3" not in jar:
        jar["buvid3"] = buvid
    return jar


class PlatformError(SourceError):
    """The API answered with a non-zero code: `code` and the platform's `message`."""

    def __init__(self, text: str, code: object, message: str):
        super().__init__(text)
        self.code, self.message = code, message


@dataclass(frozen=True)
class DanmakuLink:
    """What one connection to a room's danmaku needs, from the HTTP API. Holds the token: not logged."""

    room_id: int  # the real (long) room id
    uid: int  # the logged-in viewer; 0 anonymous
    token: str = field(repr=False)
    buvid: str
    servers: tuple[tuple[str, str], ...]  # (host, WebSocket URL), in the order given
    cookie_refused: bool  # a cookie was given and the nav API says it is not logged in

    def auth(self) -> bytes:
        return pack(Op.AUTH, {"uid": self.uid, "roomid": self.room_id, "protover": 3, "buvid": self.buvid,
                              "platform": "web", "type": 2, "key": self.token})


class BilibiliApi:
    """The HTTP calls before a connection, on one httpx client (close() it; safe from another thread)."""

    def __init__(self, *, api_base: str, cookie: str = "", buvid: str = "", timeout_s: float = 10.0,
                 web_api_base: str | None = None):
        self.api_base = api_base.rstrip("/")
        self.plain = self.api_base.startswith("http://")  # a local fake: ws:// and the nav API beside it
        self.web_api_base = (web_api_base or (self.api_base if self.plain else WEB_API)).rstrip("/")
        self._jar = _cookie_jar(cookie, buvid)
        self.has_login = bool(self._jar.get("SESSDATA"))
        self.cookie_uid = int(self._jar["DedeUserID"]) if self._jar.get("DedeUserID", "").isdigit() else 0
        self._client = httpx.Client(headers={"User-Agent": USER_AGENT, "Origin": "https://live.bilibili.com",
                                             "Referer": "https://live.bilibili.com/"}, timeout=timeout_s)
        self._set_cookie()

    @property
    def buvid(self) -> str:
        return self._jar.get("buvid3", "")

    def _set_cookie(self) -> None:
        if self._jar:
            self._client.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._jar.items())

    def close(self) -> None:
        self._client.close()

    def link(self, room_id: int) -> DanmakuLink:
        """The real room id, the token and the servers of `room_id` (a short id is fine)."""
        if not self.buvid:
            self._new_buvid()
        uid, key, refused = self._nav()
        try:
            room = self._get(self.api_base, "/room/v1/Room/room_init", {"id": room_id}, f"room {room_id}")
        except PlatformError as e:
            if e.code == ROOM_MISSING:
                raise SourceError(f"Bilibili has no live room {room_id} ({e.message})") from None
            raise
        real_id = int(room["room_id"])
        params = {"id": real_id, "type": 0}
        info = self._get(self.api_base, "/xlive/web-room/v1/index/getDanmuInfo",
                         wbi_sign(params, key) if key else params, f"room {real_id}")
        servers = []
        for host in info.get("host_list") or []:
            port = host.get("ws_port") if self.plain else host.get("wss_port")
            if host.get("host") and port:
                servers.append((str(host["host"]), f"{'ws' if self.plain else 'wss'}://{host['host']}:{port}/sub"))
        if not servers or not info.get("token"):
            raise SourceError(f"Bilibili gave no danmaku server for room {real_id}")
        return DanmakuLink(real_id, uid, str(info["token"]), self.buvid, tuple(servers), refused)

    def _new_buvid(self) -> None:
        """A device id (buvid3) from the fingerprint API, as a browser gets one on its first visit:
        the platform refuses more of a visitor without one. Nothing when it cannot be had."""
        try:
            b3 = self._client.get(f"{self.web_api_base}/x/frontend/finger/spi").json()["data"]["b_3"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            log.debug("bilibili: no buvid3 from the fingerprint API (%s)", type(e).__name__)
            return
        if isinstance(b3, str) and b3:
            self._jar["buvid3"] = b3
            self._set_cookie()

    def _nav(self) -> tuple[int, str, bool]:
        """(uid, WBI signing key, cookie refused) from the nav API. It answers code -101 to a visitor
        and still gives the keys. When it cannot be read, the uid comes from DedeUserID and the
        request goes unsigned (the platform then says what it wants)."""
        try:
            reply = self._client.get(f"{self.web_api_base}/x/web-interface/nav")
            data = reply.json().get("data") or {}
            images = data["wbi_img"]
            key = wbi_key(*(url.rpartition("/")[2].partition(".")[0] for url in (images["img_url"], images["sub_url"])))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.debug("bilibili: nav API unreadable (%s); getDanmuInfo unsigned", type(e).__name__)
            return self.cookie_uid, "", False
        logged_in = bool(data.get("isLogin"))
        uid = int(data.get("mid") or 0) if logged_in else 0
        return uid, key, self.has_login and not logged_in

    def _get(self, base: str, path: str, params: dict, what: str) -> dict:
        """The `data` of a GET; SourceError (PlatformError for a non-zero code) in one line."""
        try:
            reply = self._client.get(f"{base}{path}", params=params)
        except httpx.HTTPError as e:
            raise SourceError(f"cannot reach the Bilibili API at {urlsplit(base).netloc}: "
                              f"{str(e) or type(e).__name__}") from e
        try:
            answer = reply.json()
        except ValueError:
            raise SourceError(f"Bilibili API answered HTTP {reply.status_code} without JSON for {path}") from None
        if not isinstance(answer, dict):
            raise SourceError(f"Bilibili API answered {type(answer).__name__} for {path}")
        code = answer.get("code")
        if code != 0:
            message = " ".join(str(answer.get("message") or answer.get("msg") or "no message").split())
            hint = f"; {HINTS[code]}" if code in HINTS else ""
            raise PlatformError(f"Bilibili {path.rpartition('/')[2]} for {what}: {message} (code {code}){hint}",
                                code, message)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise SourceError(f"Bilibili API gave no data for {path}")
        return data


@contextmanager
def danmaku_socket(link: DanmakuLink, timeout_s: float) -> Iterator[tuple[ClientConnection, str]]:
    """The socket of the first of the link's servers that answers, logged in: (connection, host),
    closed on leaving. SourceError when none can be reached or the token is refused."""
    failures = []
    for host, url in link.servers:
        try:
            # no WebSocket pings: the platform's own heartbeat is what keeps the connection
            ws = connect(url, open_timeout=timeout_s, close_timeout=1.0, ping_interval=None,
                         user_agent_header=USER_AGENT, additional_headers={"Origin": "https://live.bilibili.com"},
                         max_size=8 * 2**20)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as e:
            failures.append(f"{host}: {str(e) or type(e).__name__}")
            continue
        with ws:
            ws.send(link.auth())
            _await_auth_reply(ws, link.room_id, timeout_s)
            yield ws, host
        return
    raise SourceError(f"cannot reach a Bilibili danmaku server ({'; '.join(failures)})")


def _await_auth_reply(ws: ClientConnection, room_id: int, timeout_s: float) -> None:
    try:
        frame = ws.recv(timeout=timeout_s)
    except TimeoutError:
        raise SourceError(f"no answer to the danmaku login within {timeout_s:g} s") from None
    except ConnectionClosed:
        raise SourceError(f"the danmaku server closed the connection at login (room {room_id})") from None
    reply = next((p for p in decode(frame) if isinstance(p, Packet) and p.op == Op.AUTH_REPLY), None) \
        if isinstance(frame, bytes) else None
    if reply is None:
        raise SourceError("the danmaku server did not answer the login")
    if reply.body.get("code") != 0:
        raise SourceError(f"Bilibili refused the danmaku login for room {room_id} (code {reply.body.get('code')}); "
                          "a new token is asked for on retry")


class BilibiliSource(Source):
    """One Bilibili live room's danmaku as AudienceEvents (see the module's docstring). `room_id`
    may be a short id. `api_base` with http:// means a local fake: plain ws:// and the nav API
    on the same base unless `web_api_base` says otherwise."""

    platform = "bilibili"

    def __init__(self, room_id: int, on_event: Callable[[AudienceEvent], None], *, api_base: str, cookie: str = "",
                 buvid: str = "", backoff: Backoff = Backoff(), heartbeat_s: float = 30.0, timeout_s: float = 10.0,
                 web_api_base: str | None = None):
        super().__init__(f"bilibili:{room_id}", on_event, backoff)
        self.room_id = room_id
        self.heartbeat_s, self.timeout_s = heartbeat_s, timeout_s
        self._api_setup = dict(api_base=api_base, cookie=cookie, buvid=buvid, timeout_s=timeout_s,
                               web_api_base=web_api_base)
        self._api: BilibiliApi | None = None
        self._ws: ClientConnection | None = None
        self._warned_cookie = False

    def session(self) -> None:
        api = self._api = BilibiliApi(**self._api_setup)
        try:
            link = api.link(self.room_id)
        finally:
            api.close()
            self._api = None
        self._api_setup["buvid"] = link.buvid  # one device id for all the sessions of this source
        if link.cookie_refused and not self._warned_cookie:
            self._warned_cookie = True
            log.warning("%s: Bilibili did not accept the cookie (not logged in); viewers' names will be masked",
                        self.name)
        if self.halt.is_set():
            return
        with danmaku_socket(link, self.timeout_s) as (ws, host):
            self._ws = ws
            try:
                if self.halt.is_set():
                    return
                self.connected()
                log.info("%s: danmaku from %s (room %d, %s)", self.name, host, link.room_id,
                         "logged in" if link.uid else "anonymous")
                self._read(ws)
            finally:
                self._ws = None

    def close(self) -> None:
        ws, api = self._ws, self._api
        if ws is not None:
            ws.close()
        if api is not None:
            api.close()

    def _read(self, ws: ClientConnection) -> None:
        """Frames until the connection ends, a heartbeat every heartbeat_s on its own clock."""
        heartbeat = pack(Op.HEARTBEAT, HEARTBEAT_BODY)
        silence_limit = self.heartbeat_s + self.timeout_s  # a heartbeat's reply is due by then
        try:
            ws.send(heartbeat)  # the web player's first one goes right after the login
            start = time.monotonic()
            next_beat, last_frame = start + self.heartbeat_s, start
            while not self.halt.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    ws.send(heartbeat)
                    next_beat = max(next_beat + self.heartbeat_s, now)
                try:
                    frame = ws.recv(timeout=max(0.0, next_beat - now))
                except TimeoutError:
                    if time.monotonic() - last_frame > silence_limit:
                        raise SourceError(f"no data from the danmaku server for {silence_limit:g} s") from None
                    continue
                last_frame = time.monotonic()
                if isinstance(frame, str):
                    self.malformed(f"a text frame: {frame[:80]!r}")
                else:
                    self._handle(decode(frame))
        except ConnectionClosed as e:
            if self.halt.is_set():
                return
            code = e.rcvd.code if e.rcvd is not None else "none"
            raise SourceError(f"the danmaku server closed the connection (close code {code})") from None

    def _handle(self, packets: list[Packet | Unreadable]) -> None:
        for packet in packets:
            if isinstance(packet, Unreadable):
                self.malformed(packet.why)
            elif packet.op == Op.MESSAGE:
                try:
                    events = to_events(packet.body)
                except MalformedCommand as e:
                    self.malformed(str(e))
                    continue
                if not events:
                    self.unknown(command_name(packet.body) or "a command without cmd")
                for event in events:
                    self.emit(event)
            elif packet.op not in (Op.HEARTBEAT_REPLY, Op.AUTH_REPLY):
                self.unknown(f"operation {packet.op}")


def check_connection(room_id: int, *, api_base: str, cookie: str = "", buvid: str = "", timeout_s: float = 10.0,
                     web_api_base: str | None = None) -> dict:
    """The dashboard's "test connection": room, token, danmaku socket and login, then close.
    {"ok": True, "room_id": the real id, "host": the danmaku server, "logged_in": bool}, or a
    SourceError whose one line says what to fix (unknown room, refused cookie, unreachable host)."""
    api = BilibiliApi(api_base=api_base, cookie=cookie, buvid=buvid, timeout_s=timeout_s, web_api_base=web_api_base)
    try:
        link = api.link(room_id)
    finally:
        api.close()
    if link.cookie_refused:
        raise SourceError("Bilibili did not accept the cookie (not logged in): copy SESSDATA again "
                          "from a browser logged in to bilibili.com")
    with danmaku_socket(link, timeout_s) as (_, host):
        pass
    return {"ok": True, "room_id": link.room_id, "host": host, "logged_in": link.uid != 0}
