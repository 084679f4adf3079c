"""The `livehost` command: it composes the parts (streamer, transcriber, the admin API, the
scheduler and workers), which know nothing of each other above their layer."""
