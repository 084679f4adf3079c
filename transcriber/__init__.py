"""Real-time transcription service speaking WhisperLive's WebSocket protocol (faster-whisper backend).

`TranscriptionServer` (server.py) accepts clients; each gets a `ClientStream` (stream.py) that owns its
audio buffer, VAD state and transcript; one `InferenceWorker` (worker.py) runs the one shared
`WhisperEngine` (engine.py) for every client, oldest waiting audio first."""
