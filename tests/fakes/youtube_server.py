"""FakeYouTube: the YouTube Data API v3 endpoints a live chat reader uses, on 127.0.0.1.

    GET /youtube/v3/videos?part=...liveStreamingDetails...&id=VIDEO
    GET /youtube/v3/liveChat/messages?liveChatId=..&part=..&maxResults=200..2000[&pageToken=..]

in the real JSON shapes (youtube#videoListResponse, youtube#liveChatMessageListResponse with
youtube#liveChatMessage items) and with errors in Google's shape
({"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}).
Credentials are checked: `key=` must be `api_key`, or `Authorization: Bearer` must be `oauth_token`.

The chat is a list of messages added by the test (add_text, add_superchat, ...); a page token is
the position after the last message returned, so the first call returns the history. Every request
is recorded in `requests` with its time.monotonic(). end_chat() and `quota_exceeded` make the
answers of a chat that ended and of a project without quota.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PREFIX = "/youtube/v3"


@dataclass
class RecordedRequest:
    """One request as the fake received it: path below /youtube/v3, query (one value per name),
    lower-cased headers, and time.monotonic() on arrival."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float


class FakeYouTube:
    """A ThreadingHTTPServer on a free loopback port; `api_base` is what the client is given.

    Attributes read at each request: `polling_interval_ms`, `page_size` (messages per page at most),
    `quota_exceeded` (every call answers 403 quotaExceeded)."""

    def __init__(self, video_id: str = "live123", *, api_key: str = "test-key", oauth_token: str = "",
                 title: str = "A test live", polling_interval_ms: int = 100, page_size: int = 2000):
        self.video_id, self.api_key, self.oauth_token, self.title = video_id, api_key, oauth_token, title
        self.live_chat_id = f"chat-{video_id}"
        self.polling_interval_ms, self.page_size = polling_interval_ms, page_size
        self.quota_exceeded = False
        self.ended = False
        self.requests: list[RecordedRequest] = []
        self._messages: list[dict] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PREFIX}"

    def start(self) -> FakeYouTube:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-youtube", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeYouTube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def message_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/liveChat/messages"]

    # -- the chat -------------------------------------------------------------------------------
    def add_text(self, text: str, **author) -> str:
        return self.add("textMessageEvent", text, "textMessageDetails", {"messageText": text}, **author)

    def add_superchat(self, amount: float, currency: str, comment: str = "", **author) -> str:
        details = {"amountMicros": str(round(amount * 1e6)), "currency": currency,
                   "amountDisplayString": f"{currency} {amount:.2f}", "userComment": comment, "tier": 2}
        return self.add("superChatEvent", comment or details["amountDisplayString"], "superChatDetails", details,
                        **author)

    def add_supersticker(self, amount: float, currency: str, alt_text: str = "", **author) -> str:
        details = {"superStickerMetadata": {"stickerId": "sticker-1", "altText": alt_text, "language": "en"},
                   "amountMicros": str(round(amount * 1e6)), "currency": currency,
                   "amountDisplayString": f"{currency} {amount:.2f}", "tier": 1}
        return self.add("superStickerEvent", f"Super Sticker: {alt_text}", "superStickerDetails", details, **author)

    def add_new_member(self, level: str = "", **author) -> str:
        return self.add("newSponsorEvent", "Welcome to the club!", "newSponsorDetails",
                        {"memberLevelName": level, "isUpgrade": False}, **author)

    def add_milestone(self, months: int, comment: str = "", level: str = "", **author) -> str:
        details = {"userComment": comment, "memberMonth": months, "memberLevelName": level}
        return self.add("memberMilestoneChatEvent", comment, "memberMilestoneChatDetails", details, **author)

    def add_gifting(self, count: int, level: str = "", **author) -> str:
        details = {"giftMembershipsCount": count, "giftMembershipsLevelName": level}
        return self.add("membershipGiftingEvent", f"Gifted {count} memberships", "membershipGiftingDetails", details,
                        **author)

    def add(self, kind: str, display: str, details_key: str = "", details: dict | None = None, *,
            user: str = "Viewer", channel_id: str = "", published_at: float | None = None) -> str:
        """Any liveChatMessage (`kind` is snippet.type); returns its id."""
        number = next(self._ids)
        message_id = f"LCC.msg{number:06d}"
        channel_id = channel_id or f"UC{abs(hash(user)) % 10**20:020d}"
        snippet = {"type": kind, "liveChatId": self.live_chat_id, "authorChannelId": channel_id,
                   "publishedAt": _rfc3339(time.time() if published_at is None else published_at),
                   "hasDisplayContent": bool(display), "displayMessage": display}
        if details_key:
            snippet[details_key] = details or {}
        item = {"kind": "youtube#liveChatMessage", "etag": f"etag-{number}", "id": message_id, "snippet": snippet,
                "authorDetails": {"channelId": channel_id, "channelUrl": f"http://www.youtube.com/channel/{channel_id}",
                                  "displayName": user, "profileImageUrl": "https://yt3.ggpht.com/a/default.jpg",
                                  "isVerified": False, "isChatOwner": False, "isChatSponsor": False,
                                  "isChatModerator": False}}
        with self._lock:
            self._messages.append(item)
        return message_id

    def end_chat(self) -> None:
        """The live ends: the next messages page carries offlineAt and a chatEndedEvent, later calls
        answer 403 liveChatEnded and the video no longer has an activeLiveChatId."""
        self.add("chatEndedEvent", "", user="YouTube")
        with self._lock:
            self.ended = True

    # -- the answers ----------------------------------------------------------------------------
    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(RecordedRequest(path, params, headers, time.monotonic()))
        refused = self._refused(params, headers)
        if refused:
            return refused
        if self.quota_exceeded:
            return _error(403, "youtube.quota", "quotaExceeded", "The request cannot be completed because you have "
                          "exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.")
        if path == "/videos":
            return self._videos(params)
        if path == "/liveChat/messages":
            return self._page(params)
        return _error(404, "global", "notFound", "Not Found")

    def _refused(self, params: dict[str, str], headers: dict[str, str]) -> tuple[int, dict] | None:
        bearer = headers.get("authorization", "")
        if bearer:
            if not self.oauth_token or bearer != f"Bearer {self.oauth_token}":
                return _error(401, "global", "authError", "Request had invalid authentication credentials.",
                              status="UNAUTHENTICATED")
            return None
        if "key" not in params:
            return _error(403, "global", "forbidden", "The request is missing a valid API key.",
                          status="PERMISSION_DENIED")
        if params["key"] != self.api_key or not self.api_key:
            return _error(400, "usageLimits", "keyInvalid", "API key not valid. Please pass a valid API key.",
                          status="INVALID_ARGUMENT")
        return None

    def _videos(self, params: dict[str, str]) -> tuple[int, dict]:
        parts = params.get("part", "").split(",")
        if not params.get("part") or "id" not in params:
            return _error(400, "youtube.parameter", "missingRequiredParameter", "No filter selected.")
        items = []
        if params["id"] == self.video_id:
            video: dict = {"kind": "youtube#video", "etag": "etag-video", "id": self.video_id}
            if "snippet" in parts:
                video["snippet"] = {"title": self.title, "channelId": "UCowner", "liveBroadcastContent":
                                    "none" if self.ended else "live"}
            if "liveStreamingDetails" in parts:
                details = {"actualStartTime": "2024-05-01T12:00:00Z", "concurrentViewers": "42"}
                if self.ended:
                    details["actualEndTime"] = _rfc3339(time.time())
                else:
                    details["activeLiveChatId"] = self.live_chat_id
                video["liveStreamingDetails"] = details
            items.append(video)
        return 200, {"kind": "youtube#videoListResponse", "etag": "etag-videos", "items": items,
                     "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}}

    def _page(self, params: dict[str, str]) -> tuple[int, dict]:
        if params.get("liveChatId") != self.live_chat_id:
            return _error(404, "youtube.liveChat", "liveChatNotFound", "The live chat that you are trying to "
                          "retrieve cannot be found.")
        try:
            size = int(params.get("maxResults", "500"))
            start = int(params.get("pageToken", "t0").removeprefix("t"))
        except ValueError:
            return _error(400, "youtube.parameter", "invalidPageToken", "The request specifies an invalid page token.")
        if not 200 <= size <= 2000:
            return _error(400, "youtube.parameter", "invalidValue", "Invalid value for maxResults.")
        with self._lock:
            if self.ended and start >= len(self._messages):
                return _error(403, "youtube.liveChat", "liveChatEnded", "The live chat is no longer live.")
            items = self._messages[start:start + min(size, self.page_size)]
            end = start + len(items)
            more = end < len(self._messages)
        page = {"kind": "youtube#liveChatMessageListResponse", "etag": f"etag-page-{end}", "nextPageToken": f"t{end}",
                "pollingIntervalMillis": 0 if more else self.polling_interval_ms,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}, "items": items}
        if self.ended and not more:
            page["offlineAt"] = _rfc3339(time.time())
        return 200, page


def _error(code: int, domain: str, reason: str, message: str, status: str = "") -> tuple[int, dict]:
    error = {"code": code, "message": message, "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if status:
        error["status"] = status
    return code, {"error": error}


def _rfc3339(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _handler_for(fake: FakeYouTube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlsplit(self.path)
            path = url.path.removeprefix(PREFIX) if url.path.startswith(PREFIX + "/") else "/404"
            params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = fake.answer(path, params, headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            pass

    return Handler
