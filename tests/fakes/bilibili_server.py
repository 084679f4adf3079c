"""FakeBilibili: Bilibili's live HTTP API and danmaku WebSocket server on 127.0.0.1, speaking the
real wire format, bytes and all, for tests and benchmarks.

HTTP (ThreadingHTTPServer): the nav API (login state and WBI keys), room_init (short id -> real
id) and getDanmuInfo (token and host_list, WBI signature checked: code -352 when wrong). The
danmaku server (websockets, a thread per connection) reads the auth packet, answers op 8 with
{"code": 0} when roomid and key match (-101 and a close otherwise), and answers each heartbeat
with op 3 and the popularity. It records what it received as the bytes said it (`auths`,
`heartbeats`, `requests`).

The builders (danmaku(), gift(), superchat(), ...) return commands shaped as the platform sends
them; send() packs several in one frame, plain, zlib or brotli. The packets are built here with
struct, not with the codec under test.
"""
from __future__ import annotations

import base64
import json
import random
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import brotli
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from streamer.audience.bilibili import wbi_key, wbi_sign

COMPRESSIONS = ("none", "zlib", "brotli")
IMG_KEY, SUB_KEY = "7cd084941338484aae1ad9425b84077c", "4932caff0ff746eab6f01bf08b70ac45"
_HEADER = struct.Struct(">IHHII")
_FACE = "https://i0.hdslb.com/bfs/face/member/noface.jpg"


@dataclass
class Received:
    """One packet as the server read it off the socket: its header fields and body bytes."""

    length: int
    header_length: int
    version: int
    op: int
    sequence: int
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class HttpRequest:
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # names lower-cased


def packet(op: int, body: bytes, version: int) -> bytes:
    return _HEADER.pack(_HEADER.size + len(body), _HEADER.size, version, op, 1) + body


def pack_commands(commands: list[dict], compression: str = "none") -> bytes:
    """One WebSocket frame carrying `commands` as op 5 packets, back to back; with zlib or
    brotli, those packets are the body of one version 2 or 3 packet, as the platform sends them."""
    inner = b"".join(packet(5, json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode(), 0)
                     for c in commands)
    if compression == "zlib":
        return packet(5, zlib.compress(inner), 2)
    if compression == "brotli":
        return packet(5, brotli.compress(inner), 3)
    if compression != "none":
        raise ValueError(f"compression must be one of {COMPRESSIONS}, not {compression!r}")
    return inner


# -- commands as the platform sends them -----------------------------------------------------------------
def danmaku(text: str, uid: int = 35481926, uname: str = "小明同学", *, id_str: str | None = None,
            cmd: str = "DANMU_MSG", at_ms: int | None = None) -> dict:
    at_ms = at_ms or int(time.time() * 1000)
    id_str = id_str if id_str is not None else f"{random.getrandbits(96):024x}"
    crc = f"{zlib.crc32(str(uid).encode()):08x}"
    extra = {"send_from_me": False, "mode": 0, "color": 16777215, "dm_type": 0, "font_size": 25, "player_mode": 1,
             "show_player_type": 0, "content": text, "user_hash": str(int(crc, 16)), "emoticon_unique": "",
             "bulge_display": 0, "recommend_score": 3, "main_state_dm_color": "", "objective_state_dm_color": "",
             "direction": 0, "pk_direction": 0, "quartet_direction": 0, "anniversary_crowd": 0, "yeah_space_type": "",
             "yeah_space_url": "", "jump_to_url": "", "space_type": "", "space_url": "", "animation": {},
             "emots": None, "is_audited": False, "id_str": id_str, "icon": None, "show_reply": True, "reply_mid": 0,
             "reply_uname": "", "reply_uname_color": "", "reply_is_mystery": False, "reply_type_enum": 0,
             "hit_combo": 0, "esports_jump_url": ""}
    extra_json = json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
    mode_info = {"mode": 0, "show_player_type": 0, "extra": extra_json,
                 "user": {"uid": uid, "base": {"name": uname, "face": _FACE, "name_color": 0, "is_mystery": False,
                                               "risk_ctrl_info": None, "origin_info": None, "official_info": None,
                                               "name_color_str": ""},
                          "medal": None, "wealth": None, "title": {"old_title_css_id": "", "title_css_id": ""},
                          "guard": None, "uhead_frame": None, "guard_leader": None}}
    info = [[0, 1, 25, 16777215, at_ms, random.getrandbits(31), 0, crc, 0, 0, 0, "", 0, "{}", "{}", mode_info,
             {"activity_identity": "", "activity_source": 0, "not_show": 0}, 0],
            text, [uid, uname, 0, 0, 0, 10000, 1, ""],
            [21, "小雨点", "某主播", 21452505, 1725515, "", 0, 1725515, 1725515, 5414290, 0, 1, 2345678],
            [0, 0, 9868950, ">50000", 0], ["", ""], 0, 0, None, {"ts": at_ms // 1000, "ct": "5B3A1C9E"},
            0, 0, None, None, 0, 105, [15], None]
    return {"cmd": cmd, "info": info, "dm_v2": ""}


def gift(name: str = "小花花", num: int = 1, price: int = 100, *, coin_type: str = "gold", uid: int = 35481926,
         uname: str = "小明同学") -> dict:
    """SEND_GIFT; `price`: gold (or silver) coins each, 1000 gold = 1 yuan."""
    now = int(time.time())
    tid = f"{now}{random.getrandbits(40):013d}"
    return {"cmd": "SEND_GIFT", "data": {
        "action": "投喂", "batch_combo_id": "", "batch_combo_send": None, "beatId": "0", "biz_source": "Live",
        "blind_gift": None, "broadcast_id": 0, "coin_type": coin_type, "combo_resources_id": 1, "combo_send": None,
        "combo_stay_time": 5, "combo_total_coin": price * num, "crit_prob": 0, "demarcation": 1,
        "discount_price": price,
        "dmscore": 36, "draw": 0, "effect": 0, "effect_block": 1, "face": _FACE, "face_effect_id": 0,
        "face_effect_type": 0, "float_sc_resource_id": 0, "giftId": 31036, "giftName": name, "giftType": 0,
        "gift_info": {"effect_id": 0, "gif": "", "has_imaged_gift": 0, "img_basic": "", "webp": ""},
        "gold": 0, "guard_level": 0, "is_first": True, "is_join_receiver": False, "is_naming": False,
        "is_special_batch": 0, "magnification": 1,
        "medal_info": {"anchor_roomid": 0, "anchor_uname": "", "guard_level": 0, "icon_id": 0, "is_lighted": 1,
                       "medal_color": 1725515, "medal_color_border": 1725515, "medal_color_end": 5414290,
                       "medal_color_start": 1725515, "medal_level": 21, "medal_name": "小雨点", "special": "",
                       "target_id": 2345678},
        "name_color": "", "num": num, "original_gift_name": "", "price": price, "rcost": 2000000, "receive_user_info":
        {"uid": 2345678, "uname": "某主播"}, "remain": 0, "rnd": tid, "send_master": None, "silver": 0, "super": 0,
        "super_batch_gift_num": 1, "super_gift_num": 1, "svga_block": 0, "switch": True, "tag_image": "", "tid": tid,
        "timestamp": now, "top_list": None, "total_coin": price * num, "uid": uid, "uname": uname}}


def superchat(message: str, price: int = 30, *, uid: int = 35481926, uname: str = "小明同学", sc_id: int = 8123456) -> dict:
    """SUPER_CHAT_MESSAGE; `price` in yuan."""
    now = int(time.time())
    return {"cmd": "SUPER_CHAT_MESSAGE", "roomid": 21452505, "data": {
        "background_bottom_color": "#2A60B2", "background_color": "#EDF5FF", "background_color_end": "#405D85",
        "background_color_start": "#3171D2", "background_icon": "", "background_image": "",
        "background_price_color": "#7497CD", "color_point": 0.7, "dmscore": 120, "end_time": now + 60,
        "gift": {"gift_id": 12000, "gift_name": "醒目留言", "num": 1}, "id": sc_id, "is_ranked": 1,
        "is_send_audit": 0, "medal_info": None, "message": message, "message_font_color": "#A3F6FF",
        "message_trans": "", "price": price, "rate": 1000, "start_time": now, "time": 60,
        "token": "8F3A21C0", "trans_mark": 0, "ts": now, "uid": uid,
        "user_info": {"face": _FACE, "face_frame": "", "guard_level": 0, "is_main_vip": 0, "is_svip": 0,
                      "is_vip": 0, "level_color": "#969696", "manager": 0, "name_color": "#666666", "title": "0",
                      "uname": uname, "user_level": 12}}}


_GUARD = {1: ("总督", 19998000, 10001), 2: ("提督", 1998000, 10002), 3: ("舰长", 198000, 10003)}


def guard(level: int = 3, num: int = 1, *, uid: int = 35481926, username: str = "小明同学") -> dict:
    """GUARD_BUY; `price` is gold coins for one month."""
    name, price, gift_id = _GUARD[level]
    now = int(time.time())
    return {"cmd": "GUARD_BUY", "data": {"uid": uid, "username": username, "guard_level": level, "num": num,
                                         "price": price, "gift_id": gift_id, "gift_name": name,
                                         "start_time": now, "end_time": now}}


def interact(msg_type: int = 1, *, uid: int = 35481926, uname: str = "小明同学") -> dict:
    """INTERACT_WORD: 1 entered, 2 followed, 3 shared."""
    now = time.time()
    return {"cmd": "INTERACT_WORD", "data": {
        "contribution": {"grade": 0}, "contribution_v2": {"grade": 0, "rank_type": "", "text": ""}, "dmscore": 12,
        "fans_medal": {"anchor_roomid": 0, "guard_level": 0, "icon_id": 0, "is_lighted": 0, "medal_color": 0,
                       "medal_level": 0, "medal_name": "", "score": 0, "special": "", "target_id": 0},
        "identities": [1], "is_spread": 0, "msg_type": msg_type, "privilege_type": 0, "roomid": 21452505,
        "score": 1718000000000, "spread_desc": "", "spread_info": "", "tail_icon": 0, "timestamp": int(now),
        "trigger_time": int(now * 1e9), "uid": uid, "uname": uname, "uname_color": ""}}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _pb(*fields: tuple[int, int | str | bytes]) -> bytes:
    """A protobuf message from (number, value) pairs: ints as varints, the rest length-delimited."""
    out = b""
    for number, value in fields:
        if isinstance(value, int):
            out += _varint(number << 3) + _varint(value)
        else:
            data = value.encode() if isinstance(value, str) else value
            out += _varint(number << 3 | 2) + _varint(len(data)) + data
    return out


def interact_v2(msg_type: int = 1, *, uid: int = 35481926, uname: str = "小明同学") -> dict:
    """INTERACT_WORD_V2: INTERACT_WORD's facts as base64 protobuf (uid 1, uname 2, msg_type 5, timestamp 7)."""
    pb = _pb((1, uid), (2, uname), (5, msg_type), (6, 21452505), (7, int(time.time())),
             (22, _pb((1, uid), (2, _pb((1, uname), (2, _FACE))))))
    return {"cmd": "INTERACT_WORD_V2", "data": {"dmscore": 12, "pb": base64.b64encode(pb).decode()}}


def gift_v2(name: str = "小花花", num: int = 1, price: int = 100, *, uid: int = 35481926,
            uname: str = "小明同学") -> dict:
    """SEND_GIFT_V2: SEND_GIFT's facts as base64 protobuf, the gifts in field 10."""
    item = _pb((1, 31036), (2, name), (3, num), (4, 0), (5, price), (7, price * num), (8, "gold"),
               (9, f"{int(time.time())}1234567"), (10, int(time.time())), (18, "投喂"))
    pb = _pb((1, uid), (2, uname), (3, _FACE), (5, 0), (10, item))
    return {"cmd": "SEND_GIFT_V2", "data": {"pb": base64.b64encode(pb).decode()}}


def like(*, uid: int = 35481926, uname: str = "小明同学") -> dict:
    return {"cmd": "LIKE_INFO_V3_CLICK", "data": {
        "show_area": 0, "msg_type": 6, "like_icon": "https://i0.hdslb.com/bfs/live/like.png", "uid": uid,
        "like_text": "为主播点赞了", "uname": uname, "uname_color": "", "identities": [1],
        "fans_medal": {"target_id": 0, "medal_level": 0, "medal_name": "", "medal_color": 0, "is_lighted": 0,
                       "guard_level": 0, "special": "", "icon_id": 0, "anchor_roomid": 0, "score": 0},
        "contribution_info": {"grade": 0}, "dmscore": 20}}


def online(count: int) -> dict:
    return {"cmd": "ONLINE_RANK_COUNT", "data": {"count": count, "count_text": str(count), "online_count": count,
                                                 "online_count_text": str(count)}}


def unknown_command(cmd: str = "STOP_LIVE_ROOM_LIST") -> dict:
    return {"cmd": cmd, "data": {"room_id_list": [1017, 21452505, 22637261]}}


# -- the servers -----------------------------------------------------------------------------------------
class FakeBilibili:
    """The fake platform for one room: real id `room_id`, short id `short_id`. Start and stop it as
    a context manager. Behaviour attributes, read at each request: `token`, `refuse_auth` (op 8
    with code -101), `require_wbi`, `sessdata` (the SESSDATA the nav API takes as logged in, as
    `uid`), `popularity`, `extra_hosts` (host_list entries put before its own, e.g. a dead one), `own_host`
    (False: host_list lists only the extra hosts), `answer_heartbeats` (False: a server gone silent)."""

    def __init__(self, room_id: int = 21452505, short_id: int = 1, *, token: str = "fake-danmaku-token",
                 sessdata: str = "", uid: int = 0, popularity: int = 1):
        self.room_id, self.short_id, self.token = room_id, short_id, token
        self.sessdata, self.uid, self.popularity = sessdata, uid, popularity
        self.refuse_auth = False
        self.require_wbi = True
        self.extra_hosts: list[dict] = []
        self.own_host = True
        self.answer_heartbeats = True
        self.buvid3 = "C0FFEE00-1234-5678-9ABC-DEF012345678infoc"  # what the fingerprint API hands out
        self.auths: list[Received] = []
        self.heartbeats: list[Received] = []
        self.requests: list[HttpRequest] = []
        self._changed = threading.Condition()
        self._clients: list[ServerConnection] = []  # authenticated, open
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _http_handler(self))
        self._http.daemon_threads = True
        self._ws = serve(self._serve_client, "127.0.0.1", 0, ping_interval=None, close_timeout=1)
        self.ws_port = self._ws.socket.getsockname()[1]
        self._threads: list[threading.Thread] = []

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def start(self) -> FakeBilibili:
        self._threads = [
            threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-bilibili-http",
                             daemon=True),
            threading.Thread(target=self._ws.serve_forever, name="fake-bilibili-ws", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._ws.shutdown()  # closes the connections and waits for their handlers
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> FakeBilibili:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what a test does ----------------------------------------------------------------------------------
    def send(self, *commands: dict, compression: str = "none") -> int:
        """Send the commands packed in one frame to every authenticated client; returns how many."""
        return self.send_raw(pack_commands(list(commands), compression))

    def send_raw(self, frame: bytes) -> int:
        with self._changed:
            clients = list(self._clients)
        sent = 0
        for client in clients:
            try:
                client.send(frame)
                sent += 1
            except ConnectionClosed:
                pass
        return sent

    def drop_connections(self) -> None:
        """A forced disconnect: every client's TCP connection cut, no close frame."""
        with self._changed:
            clients, self._clients = list(self._clients), []
            self._changed.notify_all()
        for client in clients:
            try:
                client.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def client_count(self) -> int:
        """Clients connected and authenticated now."""
        with self._changed:
            return len(self._clients)

    def wait_for_clients(self, n: int = 1, timeout: float = 5.0) -> bool:
        """True once `n` clients are connected and authenticated."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._clients) >= n, timeout)

    def wait_for_heartbeats(self, n: int, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.heartbeats) >= n, timeout)

    def wait_for_auths(self, n: int, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.auths) >= n, timeout)

    # -- the danmaku server ------------------------------------------------------------------------------
    def _serve_client(self, conn: ServerConnection) -> None:
        try:
            auth = _read(conn.recv(timeout=5))
        except (TimeoutError, ConnectionClosed, struct.error, TypeError):
            return
        with self._changed:
            self.auths.append(auth)
            self._changed.notify_all()
        try:
            body = auth.json()
        except ValueError:
            body = {}
        accepted = (not self.refuse_auth and auth.op == 7 and body.get("roomid") == self.room_id
                    and body.get("key") == self.token)
        try:
            conn.send(packet(8, json.dumps({"code": 0 if accepted else -101}).encode(), 1))
            if not accepted:
                conn.close()
                return
            with self._changed:
                self._clients.append(conn)
                self._changed.notify_all()
            for frame in conn:
                received = _read(frame)
                if received.op == 2:
                    with self._changed:
                        self.heartbeats.append(received)
                        self._changed.notify_all()
                    if self.answer_heartbeats:
                        conn.send(packet(3, self.popularity.to_bytes(4, "big"), 1))
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                if conn in self._clients:
                    self._clients.remove(conn)
                self._changed.notify_all()

    # -- the HTTP API ------------------------------------------------------------------------------------
    def _answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> dict | None:
        if path == "/x/web-interface/nav":
            images = {"img_url": f"https://i0.hdslb.com/bfs/wbi/{IMG_KEY}.png",
                      "sub_url": f"https://i0.hdslb.com/bfs/wbi/{SUB_KEY}.png"}
            cookies = dict(part.strip().partition("=")[::2] for part in headers.get("cookie", "").split(";"))
            if self.sessdata and cookies.get("SESSDATA") == self.sessdata:
                return {"code": 0, "message": "0", "ttl": 1,
                        "data": {"isLogin": True, "mid": self.uid, "uname": "主播的朋友", "wbi_img": images}}
            return {"code": -101, "message": "账号未登录", "ttl": 1, "data": {"isLogin": False, "wbi_img": images}}
        if path == "/x/frontend/finger/spi":
            return {"code": 0, "message": "ok", "data": {"b_3": self.buvid3, "b_4": "F00D-buvid4-infoc"}}
        if path == "/room/v1/Room/room_init":
            if params.get("id") not in (str(self.room_id), str(self.short_id)):
                return {"code": 60004, "msg": "直播间不存在", "message": "直播间不存在", "data": []}
            return {"code": 0, "msg": "ok", "message": "ok", "data": {
                "room_id": self.room_id, "short_id": self.short_id, "uid": 2345678, "need_p2p": 0, "is_hidden": False,
                "is_locked": False, "is_portrait": False, "live_status": 1, "hidden_till": 0, "lock_till": 0,
                "encrypted": False, "pwd_verified": False, "live_time": int(time.time()) - 600, "room_shield": 0,
                "is_sp": 0, "special_type": 0}}
        if path == "/xlive/web-room/v1/index/getDanmuInfo":
            if self.require_wbi and not _signed(params):
                return {"code": -352, "message": "-352", "ttl": 1, "data": {"v_voucher": "voucher_fake"}}
            if params.get("id") != str(self.room_id):
                return {"code": 1002002, "message": "房间不存在", "ttl": 1, "data": None}
            own = {"host": "127.0.0.1", "port": self.ws_port, "wss_port": self.ws_port, "ws_port": self.ws_port}
            hosts = [*self.extra_hosts, *([own] if self.own_host else [])]
            return {"code": 0, "message": "0", "ttl": 1, "data": {
                "group": "live", "business_id": 0, "refresh_row_factor": 0.125, "refresh_rate": 100,
                "max_delay": 5000, "token": self.token, "host_list": hosts}}
        return None


def _signed(params: dict[str, str]) -> bool:
    given = dict(params)
    w_rid, wts = given.pop("w_rid", ""), given.pop("wts", "")
    if not wts.isdigit():
        return False
    return wbi_sign(given, wbi_key(IMG_KEY, SUB_KEY), int(wts))["w_rid"] == w_rid


def _read(frame: bytes) -> Received:
    length, header_length, version, op, sequence = _HEADER.unpack_from(frame)
    return Received(length, header_length, version, op, sequence, frame[header_length:length], time.monotonic())


def _http_handler(fake: FakeBilibili) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query))
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(HttpRequest(url.path, params, headers))
            answer = fake._answer(url.path, params, headers)
            body = json.dumps(answer if answer is not None else {"code": -404, "message": "啥都木有"},
                              ensure_ascii=False).encode()
            self.send_response(200 if answer is not None else 404)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
