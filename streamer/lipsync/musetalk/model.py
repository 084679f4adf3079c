"""The MuseTalk networks, loaded once per worker: UNet + SD VAE + Whisper-tiny encoder.

One generate() call is one UNet step at timestep 0 and one VAE decode: no diffusion loop. The
model holds no per-session state, so every session of a worker can share it (calls from
several threads must be serialised by the caller).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import diffusers.utils.logging as diffusers_logging
import transformers.utils.logging as transformers_logging
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import WhisperFeatureExtractor, WhisperModel

from streamer.lipsync.base import LipsyncError
from streamer.lipsync.musetalk import audio
from streamer.lipsync.musetalk.weights import FETCH_HINT, VERSIONS, missing_required, required_files

LATENT_SCALE = 0.18215  # what MuseTalk was trained with (diffusers' default for this VAE)
ENCODE_BATCH = 16
SEGMENT_SAMPLES = 30 * 16_000  # Whisper sees at most 30 s at a time
DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
          "half": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


class MuseTalkModel:
    """A loaded MuseTalk release. Build it with MuseTalkModel.load().

    Images are BGR uint8 at face_size x face_size; latents are (8, 32, 32) per frame; audio is
    float32 mono 16 kHz. Every method runs under torch.inference_mode() and returns numpy.
    """

    face_size = 256

    def __init__(self, version: str, unet, vae, whisper_encoder, feature_extractor,
                 device: torch.device, dtype: torch.dtype):
        self.version, self.device, self.dtype = version, device, dtype
        self.unet, self.vae, self.whisper = unet, vae, whisper_encoder
        self.feature_extractor = feature_extractor
        self.feature_dim: int = whisper_encoder.config.d_model
        self.hidden_states: int = whisper_encoder.config.encoder_layers + 1  # L + 1
        self._pe = torch.from_numpy(audio.positional_encoding(audio.PE_MAX_LEN, self.feature_dim)).to(device, dtype)

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, models_dir: Path, version: str = "v15", device: str | None = None,
             dtype: str | None = None) -> "MuseTalkModel":
        """Load `version` from the release layout under `models_dir`.

        device: "cuda", "cuda:N" or "cpu" (default: cuda when available). dtype: fp16, bf16 or fp32
        (default fp16 on CUDA, fp32 on CPU; fp16 is refused on CPU). Raises LipsyncError when a
        file is missing or a checkpoint does not fit its configuration: never runs on random weights.
        """
        if version not in VERSIONS:
            raise LipsyncError(f"unknown MuseTalk version {version!r} (known: {', '.join(VERSIONS)})")
        models_dir = Path(models_dir)
        missing = missing_required(models_dir, version)
        if missing:
            paths = ", ".join(str(models_dir / f.path) for f in missing)
            raise LipsyncError(f"MuseTalk {version} weights missing: {paths} "
                               f"(fetch them with: {FETCH_HINT} --version {version} --models-dir {models_dir})")
        dev, dt = device_and_dtype(device, dtype)
        config_file, weights_file = (models_dir / f.path for f in required_files(version)[:2])
        with quiet_libraries():
            unet = _load_unet(config_file, weights_file)
            vae = _load_vae(models_dir / "sd-vae")
            encoder, extractor = _load_whisper(models_dir / "whisper")
            if unet.config.cross_attention_dim != encoder.config.d_model:
                raise LipsyncError(f"{config_file} expects audio features of width {unet.config.cross_attention_dim}, "
                                   f"but the Whisper in {models_dir / 'whisper'} gives {encoder.config.d_model}")
            for net in (unet, vae, encoder):
                net.to(device=dev, dtype=dt).eval().requires_grad_(False)
        return cls(version, unet, vae, encoder, extractor, dev, dt)

    # ---------------------------------------------------------------- avatar side
    @torch.inference_mode()
    def encode_reference(self, crops_bgr: np.ndarray) -> np.ndarray:
        """(N, 256, 256, 3) uint8 BGR face crops -> (N, 8, 32, 32) float16 UNet latents.

        Channels 0-3 encode the crop with its lower half black (what the mouth must fill in),
        channels 4-7 the whole crop (who the face is). Deterministic: the VAE's mean is used.
        """
        crops = np.asarray(crops_bgr)
        size = self.face_size
        if crops.ndim != 4 or crops.shape[1:] != (size, size, 3) or crops.dtype != np.uint8:
            raise ValueError(f"crops must be uint8 of shape (N, {size}, {size}, 3), "
                             f"not {crops.dtype} {crops.shape}")
        out = []
        for start in range(0, len(crops), ENCODE_BATCH):
            rgb = self._to_device(crops[start:start + ENCODE_BATCH]).flip(-1).permute(0, 3, 1, 2)
            full = rgb.to(self.dtype) / 127.5 - 1.0
            masked = full.clone()
            masked[:, :, size // 2:, :] = -1.0  # pixel value 0
            latents = self.vae.encode(torch.cat([masked, full])).latent_dist.mode() * LATENT_SCALE
            n = len(full)
            out.append(torch.cat([latents[:n], latents[n:]], dim=1).to(torch.float16).cpu().numpy())
        if not out:
            return np.zeros((0, 8, size // 8, size // 8), np.float16)
        return np.concatenate(out)

    # ---------------------------------------------------------------- audio side
    @torch.inference_mode()
    def audio_features(self, pcm16k: np.ndarray) -> np.ndarray:
        """float32 mono 16 kHz audio -> (T, L+1, D) float32 Whisper encoder hidden states.

        T = ceil(samples / 320): 50 feature frames per second, one per started 20 ms
        (see audio.feature_count). Audio is cut into 30 s segments, each encoded on its own.
        """
        pcm = np.asarray(pcm16k, dtype=np.float32)
        if pcm.ndim != 1:
            raise ValueError(f"audio must be mono (1-D), not shape {pcm.shape}")
        parts = [np.zeros((0, self.hidden_states, self.feature_dim), np.float32)]
        for start in range(0, len(pcm), SEGMENT_SAMPLES):
            piece = pcm[start:start + SEGMENT_SAMPLES]
            mel = self.feature_extractor(piece, sampling_rate=16_000, return_tensors="pt").input_features
            states = self.whisper(mel.to(self.device, self.dtype), output_hidden_states=True).hidden_states
            stacked = torch.stack(states, dim=2)[0]  # (1500, L+1, D)
            parts.append(stacked[:audio.feature_count(len(piece))].float().cpu().numpy())
        return np.concatenate(parts)

    def audio_windows(self, features: np.ndarray, frames: Sequence[int] | np.ndarray) -> np.ndarray:
        """The audio tokens of each 25 fps video frame in `frames`: (len(frames), 10 * (L+1), D)
        float32. Frame 0 starts at feature frame 0. See audio.window_indices for the rule."""
        return audio.gather_windows(self.version, features, frames)

    # ---------------------------------------------------------------- the step
    @torch.inference_mode()
    def generate(self, latents: np.ndarray | torch.Tensor, tokens: np.ndarray | torch.Tensor) -> np.ndarray:
        """(B, 8, 32, 32) latents + (B, 50, D) audio tokens -> (B, 256, 256, 3) uint8 BGR faces."""
        lat = self._to_device(latents).to(self.dtype)
        tok = self._to_device(tokens).to(self.dtype)
        if lat.ndim != 4 or tok.ndim != 3 or len(lat) != len(tok) or tok.shape[-1] != self.feature_dim:
            raise ValueError(f"need latents (B, 8, 32, 32) and tokens (B, n, {self.feature_dim}), "
                             f"not {tuple(lat.shape)} and {tuple(tok.shape)}")
        tok = tok + self._pe[:tok.shape[1]]
        pred = self.unet(lat, 0, encoder_hidden_states=tok).sample
        image = self.vae.decode(pred / LATENT_SCALE).sample
        image = ((image.float() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
        return image.flip(1).permute(0, 2, 3, 1).contiguous().cpu().numpy()  # RGB -> BGR, NCHW -> NHWC

    def _to_device(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
        if self.device.type == "cuda" and t.device.type == "cpu":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.device)


@contextmanager
def quiet_libraries():
    """diffusers and transformers narrate loading (progress bars, hints about accelerate and
    safetensors); our own errors say what matters, so keep their output to errors meanwhile."""
    saved = [(lib, lib.get_verbosity(), lib.is_progress_bar_enabled())
             for lib in (diffusers_logging, transformers_logging)]
    for lib, _, _ in saved:
        lib.set_verbosity_error()
        lib.disable_progress_bar()
    try:
        yield
    finally:
        for lib, level, bars in saved:
            lib.set_verbosity(level)
            if bars:
                lib.enable_progress_bar()


def device_and_dtype(device: str | None, dtype: str | None) -> tuple[torch.device, torch.dtype]:
    """The device and dtype load() uses for these arguments (see load); LipsyncError if unusable."""
    try:
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError as e:
        raise LipsyncError(f"bad device {device!r}: {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LipsyncError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    if dtype is None:
        return dev, torch.float16 if dev.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise LipsyncError(f"unknown dtype {dtype!r} (use fp16, bf16 or fp32)")
    if dev.type == "cpu" and DTYPES[dtype] is torch.float16:
        raise LipsyncError("fp16 is not supported on CPU: use bf16 or fp32")
    return dev, DTYPES[dtype]


def _load_unet(config_file: Path, weights_file: Path) -> UNet2DConditionModel:
    """Build the UNet from its json without allocating memory, then give it the checkpoint's
    tensors; any key missing, extra or of another shape is an error."""
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as e:
        raise LipsyncError(f"cannot read UNet configuration {config_file}: {e}") from None
    try:
        with torch.device("meta"):
            unet = UNet2DConditionModel.from_config(config)
    except (TypeError, ValueError) as e:
        raise LipsyncError(f"bad UNet configuration {config_file}: {e}") from None
    state = _read_state_dict(weights_file)
    _check_fit(unet.state_dict(), state, weights_file, config_file)
    unet.load_state_dict(state, strict=True, assign=True)
    left = [n for n, t in chain(unet.named_parameters(), unet.named_buffers()) if t.is_meta]
    if left:
        raise LipsyncError(f"{weights_file} left {len(left)} tensors unset: {', '.join(left[:5])}")
    return unet


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # saved in torch's legacy (non-zip) format: cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # unpickling raises many kinds; the user needs the file and one line
        raise LipsyncError(f"cannot read checkpoint {path}: {str(e).splitlines()[0] if str(e) else e!r}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LipsyncError(f"{path} is not a state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _few(keys: list[str], n: int = 5) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def _check_fit(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], weights_file: Path,
               config_file: Path) -> None:
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    reshaped = sorted(k for k in expected.keys() & state.keys() if expected[k].shape != state[k].shape)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({_few(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({_few(unexpected)})")
    if reshaped:
        shown = [f"{k} {list(state[k].shape)} vs {list(expected[k].shape)}" for k in reshaped]
        problems.append(f"{len(reshaped)} keys of another shape, checkpoint vs model ({_few(shown)})")
    if problems:
        raise LipsyncError(f"checkpoint {weights_file} does not fit {config_file}: {'; '.join(problems)}")


def _loading_problems(info: dict, keep: str = "") -> str:
    """One line from a from_pretrained loading report; only keys starting with `keep` count."""
    missing = sorted(k for k in info.get("missing_keys", ()) if k.startswith(keep))
    mismatched = sorted(str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys", ()))
    mismatched = [k for k in mismatched if k.startswith(keep)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({_few(missing)})")
    if mismatched:
        problems.append(f"{len(mismatched)} keys of another shape ({_few(mismatched)})")
    return "; ".join(problems)


def _load_vae(folder: Path) -> AutoencoderKL:
    try:
        safetensors = (folder / "diffusion_pytorch_model.safetensors").is_file()
        vae, info = AutoencoderKL.from_pretrained(folder, local_files_only=True, output_loading_info=True,
                                                  use_safetensors=safetensors)
    except (OSError, ValueError, RuntimeError) as e:
        raise LipsyncError(f"cannot load the VAE from {folder}: {str(e).splitlines()[0]}") from None
    problems = _loading_problems(info)
    if problems:
        raise LipsyncError(f"VAE weights in {folder} do not fit its config.json: {problems}")
    return vae


def _load_whisper(folder: Path):
    """The Whisper encoder (the decoder is dropped) and its feature extractor."""
    try:
        model, info = WhisperModel.from_pretrained(folder, local_files_only=True, output_loading_info=True)
        extractor = WhisperFeatureExtractor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as e:
        raise LipsyncError(f"cannot load Whisper from {folder}: {str(e).splitlines()[0]}") from None
    problems = _loading_problems(info, keep="encoder.")
    if problems:
        raise LipsyncError(f"Whisper weights in {folder} do not fit its config.json: {problems}")
    return model.get_encoder(), extractor
