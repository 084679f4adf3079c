"""`livehost transcriber serve`: the WhisperLive-compatible transcription service."""
from __future__ import annotations

import logging

from transcriber.settings import TranscriberSettings

log = logging.getLogger(__name__)


def add_commands(sub) -> None:
    """Add `transcriber` to the `livehost` parser's sub-parsers (imports no model code)."""
    t = sub.add_parser("transcriber", help="real-time transcription service (WhisperLive's WebSocket protocol)")
    tsub = t.add_subparsers(dest="transcriber_command", required=True)
    s = tsub.add_parser("serve", help="serve WhisperLive clients with one shared faster-whisper model "
                                      "(settings also from LIVEHOST_TRANSCRIBER_*)")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 9090)")
    s.add_argument("--model", help="CTranslate2 model folder or a name available offline (default tiny.en)")
    s.add_argument("--device", choices=("cpu", "cuda", "auto"), help="default cpu")
    s.add_argument("--compute-type", help="CTranslate2 compute type (default int8 on CPU, float16 on CUDA)")
    s.add_argument("--cpu-threads", type=int, help="CTranslate2 threads (default: its own choice)")
    s.add_argument("--max-clients", type=int, help="clients at once; more get WAIT (default 4)")
    s.add_argument("--max-connection-time", type=float, metavar="SECONDS",
                   help="a client is sent DISCONNECT after this long (default 600)")
    s.add_argument("--send-last-n-segments", type=int, metavar="N",
                   help="completed segments sent with each update when a client does not say (default 10)")
    s.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve Prometheus metrics at http://HOST:PORT/metrics (default: off)")


def run(args) -> int:
    from transcriber.server import TranscriptionServer

    settings = TranscriberSettings.load(
        host=args.host, port=args.port, model=args.model, device=args.device, compute_type=args.compute_type,
        cpu_threads=args.cpu_threads, max_clients=args.max_clients,
        max_connection_time=args.max_connection_time, send_last_n_segments=args.send_last_n_segments,
        metrics_port=args.metrics_port)
    server = TranscriptionServer(settings)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("transcription service stopped")
    return 0
