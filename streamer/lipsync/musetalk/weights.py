"""The MuseTalk release files: which ones a version needs, which are here, and fetching the rest.

Paths are relative to the models folder (settings.models_dir, `models/` by default) and follow the
public release layout, so a folder filled by MuseTalk's own download script works as it is.
Nothing here imports torch; downloading needs huggingface_hub (the `musetalk` extra).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from streamer.lipsync.base import LipsyncError

VERSIONS = ("v15", "v1")
FETCH_HINT = "livehost models download"

_UNET = {  # version -> (folder, weights file name) in the TMElyralab/MuseTalk repository
    "v15": ("musetalkV15", "unet.pth"),
    "v1": ("musetalk", "pytorch_model.bin"),
}


@dataclass(frozen=True)
class WeightFile:
    """One file of the release: where it goes under the models folder and where it comes from.

    `alternatives` are other names that serve as well (a .safetensors beside the .bin).
    """

    path: Path
    what: str
    repo: str  # Hugging Face repository id
    remote: str  # file name inside that repository
    size_hint: str
    optional: bool = False
    alternatives: tuple[Path, ...] = field(default=())

    @property
    def source(self) -> str:
        return f"huggingface {self.repo} {self.remote}"

    def present(self, models_dir: Path) -> bool:
        return any((Path(models_dir) / p).is_file() for p in (self.path, *self.alternatives))


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise LipsyncError(f"unknown MuseTalk version {version!r} (known: {', '.join(VERSIONS)})")


def required_files(version: str) -> list[WeightFile]:
    """Every file of `version`'s release that livehost uses, the required ones first, then the
    optional face parsing (a better blending mask when present). The release's DWPose is not
    among them: avatar preparation takes its 68 landmarks from dlib (streamer.avatar.landmarks)."""
    _check_version(version)
    folder, weights = _UNET[version]
    muse = "TMElyralab/MuseTalk"
    vae, whisper = "stabilityai/sd-vae-ft-mse", "openai/whisper-tiny"
    return [
        WeightFile(Path(folder, "musetalk.json"), f"UNet configuration ({version})", muse,
                   f"{folder}/musetalk.json", "1 KB"),
        WeightFile(Path(folder, weights), f"UNet weights ({version})", muse, f"{folder}/{weights}", "3.4 GB"),
        WeightFile(Path("sd-vae/config.json"), "VAE configuration", vae, "config.json", "1 KB"),
        WeightFile(Path("sd-vae/diffusion_pytorch_model.bin"), "VAE weights", vae,
                   "diffusion_pytorch_model.bin", "335 MB",
                   alternatives=(Path("sd-vae/diffusion_pytorch_model.safetensors"),)),
        WeightFile(Path("whisper/config.json"), "Whisper configuration", whisper, "config.json", "2 KB"),
        WeightFile(Path("whisper/pytorch_model.bin"), "Whisper tiny weights", whisper, "pytorch_model.bin",
                   "151 MB", alternatives=(Path("whisper/model.safetensors"),)),
        WeightFile(Path("whisper/preprocessor_config.json"), "Whisper feature extractor", whisper,
                   "preprocessor_config.json", "185 KB"),
        WeightFile(Path("face-parse-bisent/79999_iter.pth"), "face parsing (BiSeNet), for the blending mask",
                   "ManyOtherFunctions/face-parse-bisent", "79999_iter.pth", "53 MB", optional=True),
    ]


def check(models_dir: Path, version: str) -> list[tuple[WeightFile, bool]]:
    """Each file of `version` with whether it is present under `models_dir`."""
    return [(f, f.present(models_dir)) for f in required_files(version)]


def missing_required(models_dir: Path, version: str) -> list[WeightFile]:
    return [f for f, ok in check(models_dir, version) if not ok and not f.optional]


Progress = Callable[[int, int], None]


def download(models_dir: Path, version: str, mirror: str | None = None, progress: Progress | None = None,
             optional: bool = True) -> None:
    """Fetch the files of `version` that are missing (the optional ones too unless told not to).

    `mirror` is a Hugging Face endpoint such as https://hf-mirror.com. Each file is downloaded
    into a temporary folder under `models_dir` and renamed into place, so an interrupted or failed
    download leaves no partial file behind. `progress(done, total)` counts files.
    Raises LipsyncError (one line) when a file cannot be fetched.
    """
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise LipsyncError("downloading needs huggingface_hub: pip install 'livehost[musetalk]'") from None
    models_dir = Path(models_dir)
    todo = [f for f, ok in check(models_dir, version) if not ok and (optional or not f.optional)]
    if progress:
        progress(0, len(todo))
    if not todo:
        return
    endpoint = (mirror or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    _reachable(endpoint)
    models_dir.mkdir(parents=True, exist_ok=True)
    for done, wf in enumerate(todo, 1):
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=models_dir))
        try:
            try:
                got = hf_hub_download(wf.repo, wf.remote, local_dir=staging, endpoint=endpoint)
            except Exception as e:  # the hub client raises many kinds; the user needs one line
                raise LipsyncError(f"cannot download {wf.source} from {endpoint}: {_root_cause(e)}") from None
            target = models_dir / wf.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(got, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if progress:
            progress(done, len(todo))


def _reachable(endpoint: str) -> None:
    """Fail in a second, with one line, when the hub cannot be reached at all (the hub client
    would retry for half a minute first). Any HTTP answer counts as reachable."""
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=10).close()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise LipsyncError(f"cannot reach {endpoint}: {reason} "
                           f"(check the network or proxy, or pass --mirror, e.g. https://hf-mirror.com)") from None


def _root_cause(e: BaseException) -> str:
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]
