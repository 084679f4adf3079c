"""A tiny MuseTalk release with random weights, for tests and the CPU benchmark.

Same classes, same file layout and file formats as the public release, only small: it loads
through exactly the code path of the real one. Its faces are noise, but a deterministic
function of the inputs.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

from streamer.lipsync.musetalk.weights import required_files

TINY_WHISPER = dict(d_model=32, encoder_layers=4, encoder_attention_heads=2, encoder_ffn_dim=64,
                    decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80,
                    max_source_positions=1500, max_target_positions=64, vocab_size=64, pad_token_id=0,
                    bos_token_id=1, eos_token_id=2, decoder_start_token_id=3, suppress_tokens=None,
                    begin_suppress_tokens=None)

TINY_UNET = {
    "_class_name": "UNet2DConditionModel",
    "in_channels": 8, "out_channels": 4, "sample_size": 32,
    "block_out_channels": [32, 64], "layers_per_block": 1,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "attention_head_dim": 4, "cross_attention_dim": TINY_WHISPER["d_model"], "norm_num_groups": 8,
    "norm_eps": 1e-5, "act_fn": "silu", "flip_sin_to_cos": True, "freq_shift": 0, "downsample_padding": 1,
    "mid_block_scale_factor": 1, "center_input_sample": False,
}

TINY_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, sample_size=256, layers_per_block=1,
                block_out_channels=[16, 16, 32, 32], norm_num_groups=8,
                down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4)


def write_tiny_release(models_dir: Path, version: str = "v15", seed: int = 0) -> Path:
    """Write the required files of `version` under `models_dir` (random weights from `seed`)."""
    models_dir = Path(models_dir)
    unet_json, unet_weights = (models_dir / f.path for f in required_files(version)[:2])
    with torch.random.fork_rng(devices=[]):  # seeded, without touching the caller's generator
        torch.manual_seed(seed)
        unet_json.parent.mkdir(parents=True, exist_ok=True)
        unet_json.write_text(json.dumps(TINY_UNET, indent=2))
        torch.save(UNet2DConditionModel.from_config(TINY_UNET).state_dict(), unet_weights)

        AutoencoderKL(**TINY_VAE).save_pretrained(models_dir / "sd-vae", safe_serialization=False)

        whisper_dir = models_dir / "whisper"
        config = WhisperConfig(**TINY_WHISPER)
        config.save_pretrained(whisper_dir)
        torch.save(WhisperModel(config).state_dict(), whisper_dir / "pytorch_model.bin")  # the release's format
        WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(whisper_dir)
    return models_dir
