"""YouTube live chat through the official Data API v3, polled: `videos` gives the live video's
chat id, then `liveChat/messages` is read page after page, following `nextPageToken` and waiting
the `pollingIntervalMillis` YouTube asks for (never less than `min_interval_s`) between calls.

Quota: every messages call costs quota of the key's Google Cloud project, so the source never
polls faster than YouTube says, and when the quota is used up it waits `slow_retry_s` (minutes)
before it tries again. The API key travels as the `key=` query parameter, an OAuth access token as
`Authorization: Bearer` (the token is used when both are set); neither ever appears in a message,
an exception or a log line (httpx's request log lines included).
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from streamer.audience.events import AudienceEvent, Kind
from streamer.audience.source import Backoff, Source, SourceError

MESSAGE_PARTS = "snippet,authorDetails"
MAX_RESULTS = 2000  # the most liveChat/messages returns per page
_SEEN = 4096  # message ids remembered to drop repeats after a reconnect
_QUOTA = {"quotaExceeded", "dailyLimitExceeded"}
_ENDED = {"liveChatEnded", "liveChatNotFound"}
_SAYS = {  # Google's error reason -> what the operator reads
    "quotaExceeded": "YouTube API quota used up: the key's Google Cloud project has none left until midnight "
                     "Pacific time",
    "dailyLimitExceeded": "YouTube API daily limit reached for the key's Google Cloud project",
    "rateLimitExceeded": "YouTube asks to poll less often; retrying with backoff",
    "accessNotConfigured": "the YouTube Data API v3 is not enabled in the key's Google Cloud project",
    "liveChatEnded": "the live chat has ended",
    "liveChatNotFound": "the live chat was not found: the live has ended or the video id is wrong",
    "liveChatDisabled": "live chat is disabled for this video",
}
_SECRET_PARAM = re.compile(r"((?:[?&]|\b)(?:key|access_token|token)=)[^&\s\"'#]+", re.IGNORECASE)


class YouTubeSource(Source):
    """The live chat of one live YouTube video (`video_id`, the id in its watch URL).

    Only messages published after the source first connected are emitted: the first page YouTube
    returns is the chat's history (the backlog), and what of it is older than the connect is
    skipped. A reconnect goes on from the last page token, so nothing is skipped or repeated.
    A chat that ended and an exhausted quota are shown in status() and retried after
    `slow_retry_s`; every other failure is retried with `backoff`.
    """

    platform = "youtube"

    def __init__(self, video_id: str, on_event: Callable[[AudienceEvent], None], *, api_base: str,
                 api_key: str = "", oauth_token: str = "", backoff: Backoff = Backoff(),
                 min_interval_s: float = 2.0, timeout_s: float = 10.0, slow_retry_s: float = 300.0):
        super().__init__(f"youtube:{video_id}", on_event, backoff)
        self.video_id = video_id
        self.min_interval_s = min_interval_s
        self.slow_retry_s = slow_retry_s
        self._api = YouTubeApi(api_base, api_key=api_key, oauth_token=oauth_token, timeout_s=timeout_s)
        self._chat_id = ""
        self._page_token = ""
        self._since: float | None = None  # time.time() of the first connect: older messages are backlog
        self._not_before = 0.0  # time.monotonic() before which no call is made (quota, chat ended)
        self._seen: dict[str, None] = {}

    def session(self) -> None:
        if not _sleep(self.halt, self._not_before - time.monotonic()):
            return
        if self._since is None:
            self._since = time.time()
        with self._api as api:
            try:
                self._poll(api)
            except YouTubeError as e:
                if e.reason in _QUOTA or e.reason in _ENDED:
                    self._not_before = time.monotonic() + self.slow_retry_s
                if e.reason in _ENDED:
                    self._chat_id = self._page_token = ""
                if e.reason == "invalidPageToken":
                    self._page_token = ""
                if e.reason in _QUOTA:
                    raise YouTubeError(f"{e}; next try in {_duration(self.slow_retry_s)}", e.status, e.reason) from None
                raise

    def _poll(self, api: YouTubeApi) -> None:
        if not self._chat_id:
            self._chat_id = live_chat_id(api, self.video_id)["live_chat_id"]
        first = True
        while not self.halt.is_set():
            page = api.get("liveChat/messages", liveChatId=self._chat_id, part=MESSAGE_PARTS,
                           maxResults=MAX_RESULTS, pageToken=self._page_token or None)
            if first:
                self.connected()
                first = False
            if self.halt.is_set():
                return
            backlog = not self._page_token
            ended = self._take(page.get("items"), backlog)
            self._page_token = str(page.get("nextPageToken") or self._page_token)
            if ended or page.get("offlineAt"):
                raise _chat_ended()
            wait_ms = page.get("pollingIntervalMillis")
            wait = wait_ms / 1000 if isinstance(wait_ms, (int, float)) and wait_ms > 0 else 0.0
            _sleep(self.halt, max(self.min_interval_s, wait))

    def _take(self, items: Any, backlog: bool) -> bool:
        """Emit a page's messages; True when one of them says the chat ended."""
        ended = False
        for item in items if isinstance(items, list) else []:
            try:
                kind = item["snippet"]["type"]
                if kind == "chatEndedEvent":
                    ended = True
                    continue
                event = to_event(item)
            except (KeyError, TypeError, ValueError) as e:
                self.malformed(f"{type(e).__name__}: {e}")
                continue
            if event is None:
                self.unknown(str(kind))
            elif not self._repeat(event.id) and not (backlog and self._since and event.at < self._since):
                self.emit(event)
        return ended

    def _repeat(self, message_id: str) -> bool:
        if not message_id:
            return False
        if message_id in self._seen:
            return True
        self._seen[message_id] = None
        if len(self._seen) > _SEEN:
            del self._seen[next(iter(self._seen))]
        return False


def to_event(item: dict) -> AudienceEvent | None:
    """The AudienceEvent of one liveChatMessage resource, or None for a type that is not one
    (deletions, bans, polls, ...). Raises KeyError/TypeError/ValueError on a malformed item."""
    snippet, author = item["snippet"], item.get("authorDetails") or {}
    kind = snippet["type"]
    common = {"platform": "youtube", "user": author.get("displayName", ""),
              "user_id": author.get("channelId") or snippet.get("authorChannelId", ""),
              "id": str(item.get("id", "")), "at": _timestamp(snippet.get("publishedAt")), "raw": item}
    if kind == "textMessageEvent":
        text = (snippet.get("textMessageDetails") or {}).get("messageText") or snippet.get("displayMessage", "")
        return AudienceEvent(Kind.COMMENT, text=text, **common)
    if kind == "superChatEvent":
        details = snippet["superChatDetails"]
        return AudienceEvent(Kind.SUPERCHAT, text=details.get("userComment", ""), value=_amount(details),
                             currency=details.get("currency", ""), **common)
    if kind == "superStickerEvent":
        details = snippet["superStickerDetails"]
        sticker = details.get("superStickerMetadata") or {}
        return AudienceEvent(Kind.SUPERCHAT, text=sticker.get("altText", ""), value=_amount(details),
                             currency=details.get("currency", ""), **common)
    if kind == "newSponsorEvent":
        details = snippet.get("newSponsorDetails") or {}
        return AudienceEvent(Kind.GUARD, gift=details.get("memberLevelName", ""), count=1, **common)
    if kind == "memberMilestoneChatEvent":
        details = snippet["memberMilestoneChatDetails"]
        return AudienceEvent(Kind.GUARD, text=details.get("userComment", ""), gift=details.get("memberLevelName", ""),
                             count=int(details.get("memberMonth", 0)), **common)
    if kind == "membershipGiftingEvent":
        details = snippet["membershipGiftingDetails"]
        return AudienceEvent(Kind.GIFT, gift="membership", count=int(details["giftMembershipsCount"]), **common)
    return None


def check_connection(video_id: str, *, api_base: str, api_key: str = "", oauth_token: str = "",
                     timeout_s: float = 10.0) -> dict:
    """The dashboard's "test connection": the video's live chat and one messages call.
    Returns {"ok": True, "live_chat_id", "title"}; raises SourceError (one line, no secret)."""
    with YouTubeApi(api_base, api_key=api_key, oauth_token=oauth_token, timeout_s=timeout_s) as api:
        found = live_chat_id(api, video_id)
        api.get("liveChat/messages", liveChatId=found["live_chat_id"], part="id", maxResults=200)
    return {"ok": True, **found}


def live_chat_id(api: YouTubeApi, video_id: str) -> dict:
    """{"live_chat_id", "title"} of a live video; SourceError when it has no live chat."""
    page = api.get("videos", part="snippet,liveStreamingDetails", id=video_id)
    items = page.get("items") or []
    if not items:
        raise SourceError(f"no YouTube video with the id {video_id!r} (check the id in the watch URL)")
    video = items[0]
    chat = (video.get("liveStreamingDetails") or {}).get("activeLiveChatId")
    if not chat:
        raise SourceError("the video is not live or has no live chat")
    return {"live_chat_id": str(chat), "title": str((video.get("snippet") or {}).get("title", ""))}


class YouTubeError(SourceError):
    """An error answer of the API: `status`, `reason` (Google's errors[0].reason) and one line
    for the operator."""

    def __init__(self, message: str, status: int = 0, reason: str = ""):
        super().__init__(message)
        self.status, self.reason = status, reason


class YouTubeApi:
    """GETs on the Data API with the credentials, as a context manager (one connection pool).
    Answers are JSON objects; failures are YouTubeError/SourceError without the credentials."""

    def __init__(self, api_base: str, *, api_key: str = "", oauth_token: str = "", timeout_s: float = 10.0):
        self.base = api_base.rstrip("/")
        self._key, self._token, self._timeout = api_key, oauth_token, timeout_s
        self._client: httpx.Client | None = None
        _hide_secrets_in(logging.getLogger("httpx"))

    def __enter__(self) -> YouTubeApi:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._client = httpx.Client(headers=headers, timeout=self._timeout, follow_redirects=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, path: str, **params: Any) -> dict:
        if not self._key and not self._token:
            raise SourceError("no YouTube credentials: set youtube_api_key (or youtube_oauth_token)")
        assert self._client is not None, "use YouTubeApi as a context manager"
        query = {k: v for k, v in params.items() if v is not None}
        if self._key and not self._token:
            query["key"] = self._key
        try:
            answer = self._client.get(f"{self.base}/{path}", params=query)
            body = answer.json() if answer.content else None
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise SourceError(self.scrub(f"cannot reach the YouTube API: {type(e).__name__}: {e}")) from None
        except ValueError:
            body = None
        if answer.status_code >= 400:
            raise self._error(answer.status_code, body) from None
        if not isinstance(body, dict):
            raise SourceError(f"the YouTube API answered {answer.status_code} without a JSON object")
        return body

    def _error(self, status: int, body: Any) -> YouTubeError:
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        details = error.get("errors") if isinstance(error.get("errors"), list) else []
        reason = str(details[0].get("reason", "")) if details and isinstance(details[0], dict) else ""
        said = " ".join(re.sub(r"<[^>]*>", "", str(error.get("message") or "")).split())[:200]
        if status == 400 and self._key and (reason in ("keyInvalid", "keyExpired") or "API key" in said):
            line = f"YouTube refused the API key ({reason}): check youtube_api_key"
        elif status == 401:
            line = ("YouTube refused the OAuth token (401): it may have expired; set a fresh youtube_oauth_token"
                    if self._token else "YouTube refused the credentials (401): check youtube_api_key")
        elif reason in _SAYS:
            line = f"{_SAYS[reason]} ({reason})"
        elif status == 403:
            line = f"YouTube refused access ({reason or 'forbidden'}): check the key's restrictions or token's scopes"
        else:
            line = f"YouTube API error {status} {reason}: {said}".strip()
        return YouTubeError(self.scrub(line), status, reason)

    def scrub(self, text: str) -> str:
        """`text` on one line without the credentials."""
        for secret in (self._key, self._token):
            if secret:
                text = text.replace(secret, "***")
        return " ".join(_SECRET_PARAM.sub(r"\1***", text).split())


def _chat_ended() -> YouTubeError:
    return YouTubeError("the live chat has ended (the stream went offline)", 0, "liveChatEnded")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:g} s"


def _amount(details: dict) -> float:
    return int(details.get("amountMicros", 0)) / 1e6


def _timestamp(text: Any) -> float:
    """time.time() of an RFC 3339 stamp ("2024-05-01T12:00:00.123Z"); now when unreadable."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def _sleep(halt, seconds: float) -> bool:
    """Wait at least `seconds` unless `halt` is set first; False when halted."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if halt.wait(left):
            return False
    return not halt.is_set()


class _HideSecrets(logging.Filter):
    """Masks key=... in the URLs that httpx logs for each request."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message:
            record.msg, record.args = _SECRET_PARAM.sub(r"\1***", message), None
        return True


def _hide_secrets_in(logger: logging.Logger) -> None:
    if not any(isinstance(f, _HideSecrets) for f in logger.filters):
        logger.addFilter(_HideSecrets())
