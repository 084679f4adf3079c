"""Frames per second of MuseTalkModel.generate() (one UNet step + VAE decode) at several batch sizes.

On CUDA: the full-size networks (MuseTalk's UNet, ~850 M parameters; the sd-vae-ft-mse
architecture) with random weights, fp16 by default; real weights run at the same speed.
Without a GPU: the tiny test release, loaded through MuseTalkModel.load; those numbers only show
that the code path runs, not how fast MuseTalk is (`--size full` on 2 cores: ~2.6 s per frame in bf16).
Prints numbers; asserts nothing.

    python -m bench.musetalk_model [--batches 4,8,16] [--calls 10] [--size full|tiny] [--dtype fp16|bf16|fp32]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from streamer.lipsync.musetalk import MuseTalkModel, write_tiny_release
from streamer.lipsync.musetalk.model import device_and_dtype, quiet_libraries
from streamer.lipsync.musetalk.tiny import TINY_UNET

FULL_UNET = dict(TINY_UNET, block_out_channels=[320, 640, 1280, 1280], layers_per_block=2, attention_head_dim=8,
                 cross_attention_dim=384, norm_num_groups=32, sample_size=64,
                 down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                 up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3)
SD_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, sample_size=256, layers_per_block=2,
              block_out_channels=[128, 256, 512, 512], norm_num_groups=32,
              down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4)
WHISPER_TINY = dict(d_model=384, encoder_layers=4, encoder_attention_heads=6, encoder_ffn_dim=1536,
                    decoder_layers=4, decoder_attention_heads=6, decoder_ffn_dim=1536, num_mel_bins=80,
                    max_source_positions=1500)


def full_size_model(device: str | None, dtype: str | None) -> MuseTalkModel:
    """MuseTalk's real architecture with random weights, built in memory (no 3.4 GB file)."""
    dev, dt = device_and_dtype(device, dtype)
    with quiet_libraries():
        unet = UNet2DConditionModel.from_config(FULL_UNET)
        vae = AutoencoderKL(**SD_VAE)
        encoder = WhisperModel(WhisperConfig(**WHISPER_TINY)).get_encoder()
        for net in (unet, vae, encoder):
            net.to(device=dev, dtype=dt).eval().requires_grad_(False)
    return MuseTalkModel("v15", unet, vae, encoder, WhisperFeatureExtractor(), dev, dt)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="4,8,16", help="comma-separated batch sizes")
    p.add_argument("--calls", type=int, default=10, help="timed calls per batch size (after 2 warm-up calls)")
    p.add_argument("--size", choices=("full", "tiny"), help="network size (default: full on CUDA, tiny on CPU)")
    p.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    p.add_argument("--dtype", help="fp16, bf16 or fp32 (default: fp16 on CUDA, fp32 on CPU)")
    args = p.parse_args()

    cuda = (args.device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    size = args.size or ("full" if cuda else "tiny")
    if size == "full":
        model = full_size_model(args.device, args.dtype)
    else:
        model = MuseTalkModel.load(write_tiny_release(tempfile.mkdtemp(prefix="musetalk-tiny-")),
                                   device=args.device, dtype=args.dtype)
    where = torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"MuseTalk generate() = UNet step + VAE decode, {size.upper()} configuration, random weights")
    print(f"device: {where}; dtype: {str(model.dtype).removeprefix('torch.')}")
    if size == "tiny":
        print("note: the TINY test configuration, not MuseTalk's size: these numbers do not predict real speed")

    rng = np.random.default_rng(0)
    tokens_per_frame = 10 * model.hidden_states
    for batch in (int(b) for b in args.batches.split(",")):
        latents = rng.standard_normal((batch, 8, 32, 32)).astype(np.float16)
        tokens = rng.standard_normal((batch, tokens_per_frame, model.feature_dim)).astype(np.float32)
        for _ in range(2):
            model.generate(latents, tokens)
        t0 = time.perf_counter()
        for _ in range(args.calls):
            model.generate(latents, tokens)  # returns numpy: the GPU has finished
        took = time.perf_counter() - t0
        print(f"batch {batch:>3}: {batch * args.calls / took:8.1f} frames/s  "
              f"({1000 * took / args.calls:7.1f} ms per call)")


if __name__ == "__main__":
    main()
