"""A whole livehost deployment in miniature: a database, a Redis (Celery's broker and the control
bus), nginx-rtmp as the ingest, and `livehost scheduler` / `livehost worker` / `livehost serve` as
real processes. Rows are written with the models, as the API would."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import redis

from backend import create_app
from backend.resources.users import create_user
from backend.settings import ApiSettings
from db.database import Database
from db.models import Avatar, LiveSession, Room, Schedule, Script, Voice
from db.secrets import fernet_for
from streamer.control.bus import BusError
from streamer.control.link import connect_redis
from tests.helpers.api import PASSWORD, login
from tests.helpers.process import free_port, livehost_cmd, wait_for, wait_port

DATA_KEY = "test-data-key-" + "x" * 20
LONG_SCRIPT = [
    {"say": "Welcome to the live room. This is the first sentence, and it is said slowly and at length."},
    {"say": "Here is the second sentence of the script, so that we know where the host has got to."},
    {"say": "The third sentence follows, and after it the fourth one, which closes the round."},
    {"say": "And this is the fourth sentence, the last of the round, before the script starts again."},
]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Deployment:
    """Processes of one test's deployment, and the rows they work on."""

    def __init__(self, db: Database, redis_url: str, nginx, avatars_dir, tmp_path):
        self.db, self.redis_url, self.nginx = db, redis_url, nginx
        self.tmp = tmp_path
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ, DATABASE_URL=db.url, REDIS_URL=redis_url, LIVEHOST_DATA_KEY=DATA_KEY,
                        LIVEHOST_JWT_SECRET="j" * 40, LIVEHOST_AVATARS_DIR=str(avatars_dir),
                        LIVEHOST_VAR_DIR=str(tmp_path / "var"), LIVEHOST_CLAIM_TTL="3", LIVEHOST_WIDTH="320",
                        LIVEHOST_HEIGHT="568", LIVEHOST_VIDEO_BITRATE="400000", PYTHONUNBUFFERED="1")
        with db.sessions() as s:
            avatar = Avatar(slug="default", name="Default", status="ready", progress=1.0, frames=75)
            voice = Voice(name="espeak", engine="espeak", voice="en")
            s.add_all([avatar, voice])
            s.commit()
            self.avatar_id, self.voice_id = avatar.id, voice.id

    def room(self, stream: str) -> int:
        with self.db.sessions() as s:
            room = Room(name=stream, platform="custom", server_url=f"rtmp://127.0.0.1:{self.nginx.port}/live",
                        stream_key_enc=fernet_for(DATA_KEY).encrypt(stream.encode()).decode(), key_hint="")
            s.add(room)
            s.commit()
            return room.id

    def script(self, segments=None, loop: int = 0) -> int:
        with self.db.sessions() as s:
            script = Script(name="test", loop=loop, segments=segments or LONG_SCRIPT)
            s.add(script)
            s.commit()
            return script.id

    def schedule(self, room_id: int, script_id: int, start: datetime, end: datetime, repeat: str = "none") -> int:
        with self.db.sessions() as s:
            sch = Schedule(room_id=room_id, script_id=script_id, avatar_id=self.avatar_id, voice_id=self.voice_id,
                           start_at=start, end_at=end, repeat=repeat)
            s.add(sch)
            s.commit()
            return sch.id

    def go_live(self, room_id: int, script_id: int, duration_s: float | None = None) -> int:
        """A 'go live now' session, as POST /api/sessions makes it."""
        now = utcnow()
        with self.db.sessions() as s:
            live = LiveSession(room_id=room_id, script_id=script_id, avatar_id=self.avatar_id, voice_id=self.voice_id,
                               status="queued", created_at=now,
                               planned_end_at=now + timedelta(seconds=duration_s) if duration_s else None)
            s.add(live)
            s.commit()
            return live.id

    def session(self, session_id: int) -> LiveSession:
        with self.db.sessions() as s:
            return s.get(LiveSession, session_id)

    def start(self, *args: str, log_name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{log_name}.log", "w")
        proc = subprocess.Popen(livehost_cmd(*args), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = self.tmp / f"{log_name}.log"
        self.procs.append(proc)
        return proc

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen:
        return self.start("scheduler", "--interval", "0.25", log_name=name)

    def worker(self, name: str, slots: int = 1) -> subprocess.Popen:
        return self.start("worker", "--slots", str(slots), "--name", name, log_name=name)

    def serve(self, transcriber_url: str = "") -> str:
        """The API (one gunicorn worker) on a free port, its base URL once it listens; push-to-talk
        on when `transcriber_url` names a transcription service."""
        self.env["LIVEHOST_TRANSCRIBER_URL"] = transcriber_url
        self.port = free_port()
        self.start("serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1", log_name="api")
        wait_port(self.port, timeout=30)
        return f"http://127.0.0.1:{self.port}"

    def wait_workers(self, *names: str, timeout: float = 30) -> None:
        """Wait until every worker `names` has announced itself (asserts they did)."""
        r = redis.Redis.from_url(self.redis_url)
        ok = self.wait_for(lambda: all(r.exists(f"livehost:worker:{n}") for n in names), timeout)
        r.close()
        assert ok, "workers did not come up\n" + self.logs()

    def api(self, role: str = "operator"):
        """A test client of the API on this deployment's database and Redis, signed in as a `role`."""
        settings = ApiSettings.from_env(env={}, database_url=self.db.url, redis_url=self.redis_url,
                                        var_dir=self.tmp / "api", testing=True, jwt_secret="j" * 40,
                                        data_key=DATA_KEY)
        app = create_app(settings)
        with app.extensions["livehost.db"].sessions() as s:
            create_user(s, f"the_{role}", PASSWORD, role)
            s.commit()
        client = app.test_client()
        r = login(client, f"the_{role}")
        assert r.status_code == 200, r.get_json()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['access_token']}"
        return client

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log_path.read_text()[-3000:]}" for p in self.procs)

    def wait_for(self, what, timeout: float, step: float = 0.1):
        return wait_for(what, timeout, step)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


class EventLog(threading.Thread):
    """Every event of one session as the dashboard would read them, kept here: the events stream
    itself is gone when Redis loses its data, so this reads it from the start and goes on reading
    across Redis outages (a new stream's ids come after the last one seen)."""

    def __init__(self, redis_url: str, session_id: int):
        super().__init__(name=f"events-{session_id}", daemon=True)
        self.bus, self.session_id = connect_redis(redis_url, block_ms=200), session_id
        self.events: list[dict] = []
        self._halt = threading.Event()

    def run(self) -> None:
        after = "0"
        while not self._halt.is_set():
            try:
                batch = self.bus.events(self.session_id, after=after, block_ms=200, count=1000)
            except BusError:
                time.sleep(0.1)
                continue
            for msg_id, event in batch:
                self.events.append(event)
                after = msg_id

    def stop(self) -> None:
        self._halt.set()
        self.join(5)
        self.bus.r.close()

    def utterances(self, state: str, source: str | None = None) -> list[dict]:
        """The utterance events of `state` ("start": went on air; "end": over), of `source` if given."""
        return [e for e in list(self.events) if e.get("type") == "utterance" and e.get("state") == state
                and (source is None or e.get("source") == source)]
