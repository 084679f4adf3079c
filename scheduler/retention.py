"""How long recordings are kept: the scheduler deletes a live's recording (var/recordings/<session>/)
once it is older than `keep_days`, and the oldest ones while all of them together are larger than
`max_bytes`. A live that is still running keeps its recording whatever its size."""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

log = logging.getLogger("livehost.scheduler")


def prune_recordings(folder: Path, keep_days: float, max_bytes: int, running: set[int],
                     now: float | None = None) -> list[int]:
    """Delete the recordings under `folder` that are too old or over the total size (oldest first),
    except those of the `running` sessions; the session ids deleted."""
    now = time.time() if now is None else now
    recordings = []
    for path in folder.iterdir() if folder.is_dir() else []:
        if not (path.is_dir() and path.name.isdigit()):
            continue
        files = [f for f in path.iterdir() if f.is_file()]
        changed = max((f.stat().st_mtime for f in files), default=path.stat().st_mtime)
        recordings.append((changed, int(path.name), sum(f.stat().st_size for f in files), path))
    recordings.sort()
    total = sum(size for _, _, size, _ in recordings)
    deleted = []
    for changed, session_id, size, path in recordings:
        too_old = keep_days > 0 and now - changed > keep_days * 86400
        too_big = max_bytes > 0 and total > max_bytes
        if session_id in running or not (too_old or too_big):
            continue
        shutil.rmtree(path, ignore_errors=True)
        total -= size
        deleted.append(session_id)
        log.info("recording of session %s deleted (%s)", session_id, "older than the retention" if too_old
                 else "the recordings are over their size limit")
    return deleted
