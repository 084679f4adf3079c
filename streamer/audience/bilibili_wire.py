"""Bilibili's danmaku wire format, socket-free: packets in and out, commands to AudienceEvents.

A packet is a 16-byte big-endian header (packet length, header length 16, protocol version,
operation, sequence 1) and a body. Operation 5 carries the room's commands: JSON (version 0), or a
zlib (2) or brotli (3) body that inflates to several packets back to back. decode() and
to_events() are pure and cheap; the source, the test fake and the bench all use them.

Values are in yuan: gold coins (金瓜子) are 1/1000 yuan, silver ones are worth nothing, a
super chat's price is already in yuan.
"""
from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import brotli

from streamer.audience.events import AudienceEvent, Kind

HEADER = struct.Struct(">IHHII")  # packet length, header length, protocol version, operation, sequence
PLATFORM = "bilibili"
CURRENCY = "CNY"
GUARD_LEVELS = {1: "总督", 2: "提督", 3: "舰长"}  # guard_level -> what the platform calls it


class Op(IntEnum):
    """Operations of the danmaku socket the web player uses."""

    HEARTBEAT = 2
    HEARTBEAT_REPLY = 3  # body: the room's popularity, uint32
    MESSAGE = 5  # body: commands
    AUTH = 7
    AUTH_REPLY = 8  # body: {"code": 0} when the token was accepted


class Proto(IntEnum):
    """Protocol version of a packet: how its body is written."""

    JSON = 0
    PLAIN = 1  # what the client sends (auth, heartbeats) and the popularity reply
    ZLIB = 2  # several packets, deflated
    BROTLI = 3  # several packets, brotli


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet read off the socket. `body`: a dict for a command (op 5) or the auth reply (op 8),
    the popularity (int) for a heartbeat reply, the bytes as received for anything else."""

    op: int
    body: Any


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A part of a frame that could not be read (`why`, one line); what came before it was."""

    why: str


class MalformedCommand(ValueError):
    """A command of a known kind whose fields are not what the platform sends."""


def pack(op: int, body: bytes | str | dict = b"", proto: int = Proto.PLAIN) -> bytes:
    """One packet: header and body (a dict is written as JSON, a str as UTF-8)."""
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode()
    return HEADER.pack(HEADER.size + len(body), HEADER.size, proto, op, 1) + body


def decode(data: bytes, _depth: int = 0) -> list[Packet | Unreadable]:
    """The packets of one WebSocket frame, compressed bodies opened, in order.

    Never raises: what cannot be read becomes an Unreadable and the packets around it are kept
    (a broken header ends the frame: nothing after it can be found)."""
    out: list[Packet | Unreadable] = []
    offset, end = 0, len(data)
    while offset < end:
        if end - offset < HEADER.size:
            out.append(Unreadable(f"{end - offset} bytes left, less than a header"))
            break
        length, header_length, proto, op, _ = HEADER.unpack_from(data, offset)
        if header_length < HEADER.size or length < header_length or offset + length > end:
            out.append(Unreadable(f"bad header: length {length}, header {header_length}, {end - offset} bytes left"))
            break
        body = data[offset + header_length:offset + length]
        offset += length
        if op == Op.HEARTBEAT_REPLY:
            # the server echoes the client's heartbeat after the 4 bytes, outside the packet length
            out.append(Packet(op, int.from_bytes(body[:4], "big")) if len(body) >= 4
                       else Unreadable(f"heartbeat reply of {len(body)} bytes"))
            break
        if op not in (Op.MESSAGE, Op.AUTH_REPLY):
            out.append(Packet(op, body))
        elif proto in (Proto.ZLIB, Proto.BROTLI) and op == Op.MESSAGE:
            out.extend(_inflate(body, proto, _depth))
        elif body:
            out.append(_command(op, body))
    return out


def _inflate(body: bytes, proto: int, depth: int) -> list[Packet | Unreadable]:
    if depth >= 2:  # the platform never nests; a frame that does is not from it
        return [Unreadable("compressed body inside a compressed body inside a compressed body")]
    try:
        inner = zlib.decompress(body) if proto == Proto.ZLIB else brotli.decompress(body)
    except (zlib.error, brotli.error) as e:
        return [Unreadable(f"{Proto(proto).name.lower()} body: {e}")]
    return decode(inner, depth + 1)


def _command(op: int, body: bytes) -> Packet | Unreadable:
    try:
        value = json.loads(body)
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError
        return Unreadable(f"operation {op}: not JSON ({e}): {body[:80]!r}")
    if not isinstance(value, dict):
        return Unreadable(f"operation {op}: JSON {type(value).__name__}, not an object")
    return Packet(op, value)


# -- commands -> events ----------------------------------------------------------------------------
def command_name(command: dict) -> str:
    """`cmd` without the suffix some carry ("DANMU_MSG:4:0:2:2:2:0" -> "DANMU_MSG")."""
    return str(command.get("cmd", "")).partition(":")[0]


def to_events(command: dict) -> list[AudienceEvent]:
    """The events of one command; [] for a command of no interest (the caller counts it as unknown).
    Raises MalformedCommand when a command it knows lacks what the platform always sends."""
    name = command_name(command)
    reader = _READERS.get(name)
    if reader is None:
        return []
    try:
        return reader(command)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise MalformedCommand(f"{name}: {type(e).__name__}: {e}") from e


def _uid(value: Any) -> str:
    return str(int(value)) if value else ""  # 0: hidden from a visitor who is not logged in


def _seconds(stamp: Any, per_second: int = 1) -> float:
    return stamp / per_second if stamp else time.time()


def _danmaku(command: dict) -> list[AudienceEvent]:
    info = command["info"]
    meta, text, user = info[0], info[1], info[2]
    mode_info = meta[15] if len(meta) > 15 and isinstance(meta[15], dict) else {}
    uid = user[0] or (mode_info.get("user") or {}).get("uid", 0)
    return [AudienceEvent(Kind.COMMENT, PLATFORM, user_id=_uid(uid), user=str(user[1]), text=str(text),
                          at=_seconds(meta[4], 1000), id=_message_id(mode_info.get("extra")), raw=command)]


def _message_id(extra: Any) -> str:
    """The danmaku's id_str from mode_info.extra, a JSON string of some forty fields: found by a
    search rather than a parse, which would cost more than the rest of the danmaku."""
    if isinstance(extra, dict):
        return str(extra.get("id_str", ""))
    if not isinstance(extra, str):
        return ""
    start = extra.find('"id_str":"')
    if start < 0:
        return ""
    start += len('"id_str":"')
    end = extra.find('"', start)
    return extra[start:end] if end > 0 else ""


def _gift(command: dict) -> list[AudienceEvent]:
    data = command["data"]
    return [_gift_event(data["uid"], data["uname"], data["giftName"], data["num"], data["price"],
                        data.get("coin_type"), data.get("timestamp"), data.get("tid") or data.get("rnd"), command)]


def _gift_event(uid, user, gift, num, price, coin_type, stamp, tid, command) -> AudienceEvent:
    num = int(num)
    value = int(price) * num / 1000 if coin_type == "gold" else 0.0
    return AudienceEvent(Kind.GIFT, PLATFORM, user_id=_uid(uid), user=str(user), gift=str(gift), count=num,
                         value=value, currency=CURRENCY, at=_seconds(stamp), id=str(tid or ""), raw=command)


def _gift_v2(command: dict) -> list[AudienceEvent]:
    """SEND_GIFT_V2: the same facts as SEND_GIFT, as protobuf in data.pb (rolled out from 2026)."""
    fields = _protobuf(base64.b64decode(command["data"]["pb"]))
    uid, user = _first(fields, 1, 0), _text(_first(fields, 2, b""))
    events = []
    for item in fields.get(10, []):
        gift = _protobuf(item)
        events.append(_gift_event(uid, user, _text(_first(gift, 2, b"")), _first(gift, 3, 0), _first(gift, 5, 0),
                                  _text(_first(gift, 8, b"")), _first(gift, 10, 0), _text(_first(gift, 9, b"")),
                                  command))
    return events


def _superchat(command: dict) -> list[AudienceEvent]:
    data = command["data"]
    return [AudienceEvent(Kind.SUPERCHAT, PLATFORM, user_id=_uid(data["uid"]), user=str(data["user_info"]["uname"]),
                          text=str(data["message"]), value=float(data["price"]), currency=CURRENCY, count=1,
                          at=_seconds(data.get("start_time")), id=str(data.get("id", "")), raw=command)]


def _guard(command: dict) -> list[AudienceEvent]:
    data = command["data"]
    level, num = int(data["guard_level"]), int(data["num"])
    return [AudienceEvent(Kind.GUARD, PLATFORM, user_id=_uid(data["uid"]), user=str(data["username"]),
                          gift=GUARD_LEVELS.get(level, str(data.get("gift_name", ""))), count=num,
                          value=int(data["price"]) * num / 1000, currency=CURRENCY,
                          at=_seconds(data.get("start_time")), raw=command)]


_INTERACTIONS = {1: Kind.ENTER, 2: Kind.FOLLOW}  # msg_type; 3 share, 4 special follow, 5 mutual follow, 6 like


def _interaction(uid: Any, user: str, msg_type: int, stamp: Any, command: dict) -> list[AudienceEvent]:
    kind = _INTERACTIONS.get(int(msg_type))
    if kind is None:
        return []
    return [AudienceEvent(kind, PLATFORM, user_id=_uid(uid), user=str(user), at=_seconds(stamp), raw=command)]


def _interact(command: dict) -> list[AudienceEvent]:
    data = command["data"]
    return _interaction(data["uid"], data["uname"], data["msg_type"], data.get("timestamp"), command)


def _interact_v2(command: dict) -> list[AudienceEvent]:
    """INTERACT_WORD_V2: what INTERACT_WORD said, as protobuf in data.pb."""
    fields = _protobuf(base64.b64decode(command["data"]["pb"]))
    return _interaction(_first(fields, 1, 0), _text(_first(fields, 2, b"")), _first(fields, 5, 0),
                        _first(fields, 7, 0), command)


def _like(command: dict) -> list[AudienceEvent]:
    data = command["data"]
    return [AudienceEvent(Kind.LIKE, PLATFORM, user_id=_uid(data["uid"]), user=str(data["uname"]), count=1,
                          raw=command)]


def _online(command: dict) -> list[AudienceEvent]:
    data = command["data"]
    count = data["online_count"] if "online_count" in data else data["count"]
    return [AudienceEvent(Kind.ONLINE, PLATFORM, count=int(count), raw=command)]


_READERS = {
    "DANMU_MSG": _danmaku,
    "SEND_GIFT": _gift,
    "SEND_GIFT_V2": _gift_v2,
    "SUPER_CHAT_MESSAGE": _superchat,
    "GUARD_BUY": _guard,
    "INTERACT_WORD": _interact,
    "INTERACT_WORD_V2": _interact_v2,
    "LIKE_INFO_V3_CLICK": _like,
    "ONLINE_RANK_COUNT": _online,
}


# -- the little of protobuf the V2 commands need ---------------------------------------------------------
def _protobuf(data: bytes) -> dict[int, list]:
    """Fields of one protobuf message: number -> values (int for varints and fixed-size numbers,
    bytes for strings and nested messages). Raises ValueError or IndexError when truncated."""
    fields: dict[int, list] = {}
    i, end = 0, len(data)
    while i < end:
        key, i = _varint(data, i)
        wire = key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > end:
                raise ValueError("protobuf field runs past the message")
            value, i = data[i:i + size], i + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = int.from_bytes(data[i:i + size], "little"), i + size
        else:
            raise ValueError(f"protobuf wire type {wire}")
        fields.setdefault(key >> 3, []).append(value)
    return fields


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _first(fields: dict[int, list], number: int, default: Any) -> Any:
    values = fields.get(number)
    return values[0] if values else default


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
