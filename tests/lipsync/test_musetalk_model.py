"""The MuseTalk model core on a tiny random release: loading, the step, audio features and windows,
and refusing anything that would run on missing or random weights."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel

from streamer.lipsync import LipsyncError
from streamer.lipsync.musetalk import MuseTalkModel, check, required_files, window_indices, write_tiny_release

RNG = np.random.default_rng(7)
TINY_D = 32  # the tiny Whisper's d_model
TINY_LAYERS = 5  # 4 encoder layers + the embeddings, as whisper-tiny


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_tiny_release(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def model(release):
    return MuseTalkModel.load(release, device="cpu")


@pytest.fixture(scope="module")
def latents(model):
    crops = RNG.integers(0, 256, (4, 256, 256, 3), dtype=np.uint8)
    return model.encode_reference(crops)


def speech(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def tokens_for(model, seconds: float, frames) -> np.ndarray:
    return model.audio_windows(model.audio_features(speech(seconds)), frames)


def assert_same_faces(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to rounding: CPU kernels may sum in another order depending on memory alignment,
    which can move a pixel that sits on a .5 boundary by one step."""
    diff = np.abs(a.astype(int) - b)
    assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())


# ---------------------------------------------------------------- the step
def test_tiny_release_loads_on_cpu_in_fp32(model):
    assert (model.version, model.device.type, model.dtype) == ("v15", "cpu", torch.float32)
    assert model.feature_dim == TINY_D
    assert not any(p.requires_grad for p in model.unet.parameters())


def test_reference_latents_are_8x32x32_float16_and_deterministic(model, latents):
    assert latents.shape == (4, 8, 32, 32) and latents.dtype == np.float16
    crops = RNG.integers(0, 256, (3, 256, 256, 3), dtype=np.uint8)
    np.testing.assert_array_equal(model.encode_reference(crops), model.encode_reference(crops))


def test_masked_latents_ignore_the_lower_half_of_the_crop(model):
    crop = RNG.integers(0, 256, (1, 256, 256, 3), dtype=np.uint8)
    other_mouth = crop.copy()
    other_mouth[:, 128:] = 255 - other_mouth[:, 128:]
    a, b = model.encode_reference(np.concatenate([crop, other_mouth]))
    np.testing.assert_array_equal(a[:4], b[:4])  # masked half: the mouth is hidden
    assert not np.array_equal(a[4:], b[4:])  # reference half: the whole face


def test_generate_gives_bgr_faces_of_the_crop_size(model, latents):
    faces = model.generate(latents, tokens_for(model, 1.0, [0, 5, 10, 20]))
    assert faces.shape == (4, 256, 256, 3) and faces.dtype == np.uint8
    assert faces.std() > 0


def test_different_audio_gives_different_faces(model, latents):
    tokens = tokens_for(model, 1.0, [10, 10])
    tokens[1] = tokens_for(model, 1.0, [20])[0]
    faces = model.generate(latents[[0, 0]], tokens)
    assert np.abs(faces[0].astype(int) - faces[1]).mean() > 0.5


def test_same_inputs_give_the_same_faces(model, latents):
    tokens = tokens_for(model, 1.0, [3, 4])
    assert_same_faces(model.generate(latents[:2], tokens), model.generate(latents[:2].copy(), tokens.copy()))


def test_generate_accepts_torch_tensors(model, latents):
    tokens = tokens_for(model, 1.0, [3, 4])
    assert_same_faces(model.generate(torch.from_numpy(latents[:2]), torch.from_numpy(tokens)),
                      model.generate(latents[:2], tokens))


def test_bf16_on_cpu_loads_and_generates(release, latents):
    model = MuseTalkModel.load(release, device="cpu", dtype="bf16")
    assert model.dtype == torch.bfloat16
    faces = model.generate(latents[:2], tokens_for(model, 1.0, [1, 2]))
    assert faces.shape == (2, 256, 256, 3) and faces.dtype == np.uint8


def test_fp16_on_cpu_is_refused_with_a_hint(release):
    with pytest.raises(LipsyncError, match="bf16 or fp32"):
        MuseTalkModel.load(release, device="cpu", dtype="fp16")


# ---------------------------------------------------------------- audio features
@pytest.mark.parametrize("seconds, frames", [(1.0, 50), (2.5, 125), (0.0625, 4)])
def test_audio_features_are_50_per_second_with_every_hidden_state(model, seconds, frames):
    features = model.audio_features(speech(seconds))
    assert features.shape == (frames, TINY_LAYERS, TINY_D) and features.dtype == np.float32


def test_audio_longer_than_30_seconds_is_encoded_in_30_second_segments(model):
    pcm = speech(31.0)
    features = model.audio_features(pcm)
    assert features.shape == (1550, TINY_LAYERS, TINY_D)
    np.testing.assert_allclose(features[:1500], model.audio_features(pcm[:480_000]), atol=1e-5)
    np.testing.assert_allclose(features[1500:], model.audio_features(pcm[480_000:]), atol=1e-5)


def test_audio_windows_are_ten_feature_frames_flattened_frame_major(model):
    features = RNG.standard_normal((20, TINY_LAYERS, TINY_D)).astype(np.float32)
    tokens = model.audio_windows(features, [0, 2])
    assert tokens.shape == (2, 10 * TINY_LAYERS, TINY_D)
    np.testing.assert_array_equal(tokens[1], features[0:10].reshape(-1, TINY_D))
    np.testing.assert_array_equal(tokens[0, :4 * TINY_LAYERS], 0)  # v15: zero padding before the start
    np.testing.assert_array_equal(tokens[0, 4 * TINY_LAYERS:], features[0:6].reshape(-1, TINY_D))


# ---------------------------------------------------------------- windows, from MUSETALK.md by hand
N = None
V15_WINDOWS_OF_20 = {  # centre c = 2i, frames [c - 4, c + 6), zeros outside
    0: [N, N, N, N, 0, 1, 2, 3, 4, 5],
    1: [N, N, 0, 1, 2, 3, 4, 5, 6, 7],
    2: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    7: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    8: [12, 13, 14, 15, 16, 17, 18, 19, N, N],
    9: [14, 15, 16, 17, 18, 19, N, N, N, N],
}
V1_WINDOWS_OF_20 = {  # same window, indices clamped to [0, 19]
    0: [0, 0, 0, 0, 0, 1, 2, 3, 4, 5],
    1: [0, 0, 0, 1, 2, 3, 4, 5, 6, 7],
    2: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    7: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    8: [12, 13, 14, 15, 16, 17, 18, 19, 19, 19],
    9: [14, 15, 16, 17, 18, 19, 19, 19, 19, 19],
}


@pytest.mark.parametrize("frame", sorted(V15_WINDOWS_OF_20))
def test_v15_window_pads_with_zero_frames(frame):
    assert window_indices("v15", frame, 20) == V15_WINDOWS_OF_20[frame]


@pytest.mark.parametrize("frame", sorted(V1_WINDOWS_OF_20))
def test_v1_window_clamps_to_the_ends(frame):
    assert window_indices("v1", frame, 20) == V1_WINDOWS_OF_20[frame]


def test_v1_release_loads_and_repeats_the_edge_frames(tmp_path):
    model = MuseTalkModel.load(write_tiny_release(tmp_path, "v1"), "v1", device="cpu")
    assert model.version == "v1"
    features = RNG.standard_normal((20, TINY_LAYERS, TINY_D)).astype(np.float32)
    tokens = model.audio_windows(features, [0])[0].reshape(10, TINY_LAYERS, TINY_D)
    np.testing.assert_array_equal(tokens[:5], np.repeat(features[:1], 5, axis=0))


# ---------------------------------------------------------------- refusing bad releases
def copy_release(release, tmp_path):
    return shutil.copytree(release, tmp_path / "models")


def rewrite_unet(folder, change):
    path = folder / "musetalkV15" / "unet.pth"
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)


def test_checkpoint_missing_a_key_is_refused_naming_it(release, tmp_path):
    folder = copy_release(release, tmp_path)
    rewrite_unet(folder, lambda s: s.pop("conv_in.weight"))
    with pytest.raises(LipsyncError, match=r"1 missing keys \(conv_in\.weight\)") as err:
        MuseTalkModel.load(folder, device="cpu")
    assert str(folder / "musetalkV15" / "unet.pth") in str(err.value)


def test_checkpoint_with_an_extra_key_is_refused_naming_it(release, tmp_path):
    folder = copy_release(release, tmp_path)
    rewrite_unet(folder, lambda s: s.update({"audio_proj.weight": torch.zeros(3)}))
    with pytest.raises(LipsyncError, match=r"1 unexpected keys \(audio_proj\.weight\)"):
        MuseTalkModel.load(folder, device="cpu")


def test_checkpoint_with_a_tensor_of_another_shape_is_refused_naming_it(release, tmp_path):
    folder = copy_release(release, tmp_path)
    rewrite_unet(folder, lambda s: s.update({"conv_out.bias": torch.zeros(5)}))
    with pytest.raises(LipsyncError, match=r"conv_out\.bias \[5\] vs \[4\]"):
        MuseTalkModel.load(folder, device="cpu")


def test_checkpoint_saved_from_data_parallel_loads(release, tmp_path, latents):
    folder = copy_release(release, tmp_path)
    rewrite_unet(folder, lambda s: s.update({f"module.{k}": s.pop(k) for k in list(s)}))
    tokens = np.zeros((1, 10 * TINY_LAYERS, TINY_D), np.float32)
    reference = MuseTalkModel.load(release, device="cpu").generate(latents[:1], tokens)
    assert_same_faces(MuseTalkModel.load(folder, device="cpu").generate(latents[:1], tokens), reference)


def test_vae_weights_that_do_not_fit_are_refused(release, tmp_path):
    folder = copy_release(release, tmp_path)
    path = folder / "sd-vae" / "diffusion_pytorch_model.bin"
    state = torch.load(path, weights_only=True)
    del state["decoder.conv_out.weight"]
    torch.save(state, path)
    with pytest.raises(LipsyncError, match=r"VAE .*decoder\.conv_out\.weight"):
        MuseTalkModel.load(folder, device="cpu")


def test_whisper_of_another_width_than_the_unet_expects_is_refused(release, tmp_path):
    folder = copy_release(release, tmp_path)
    config = json.loads((folder / "musetalkV15" / "musetalk.json").read_text())
    rewrite = dict(config, cross_attention_dim=48)
    (folder / "musetalkV15" / "musetalk.json").write_text(json.dumps(rewrite))
    torch.save(UNet2DConditionModel.from_config(rewrite).state_dict(), folder / "musetalkV15" / "unet.pth")
    with pytest.raises(LipsyncError, match="width 48.* gives 32"):
        MuseTalkModel.load(folder, device="cpu")


def test_empty_folder_is_refused_naming_the_paths_and_the_command(tmp_path):
    with pytest.raises(LipsyncError) as err:
        MuseTalkModel.load(tmp_path, device="cpu")
    message = str(err.value)
    assert str(tmp_path / "musetalkV15" / "unet.pth") in message
    assert str(tmp_path / "whisper" / "pytorch_model.bin") in message
    assert "livehost models download" in message


def test_one_missing_file_is_named_alone(release, tmp_path):
    folder = copy_release(release, tmp_path)
    (folder / "whisper" / "preprocessor_config.json").unlink()
    with pytest.raises(LipsyncError) as err:
        MuseTalkModel.load(folder, device="cpu")
    assert str(folder / "whisper" / "preprocessor_config.json") in str(err.value)
    assert "unet.pth" not in str(err.value)


def test_check_reports_the_tiny_release_complete_and_an_empty_folder_missing(release, tmp_path):
    required = {str(f.path) for f in required_files("v15") if not f.optional}
    assert required == {"musetalkV15/musetalk.json", "musetalkV15/unet.pth", "sd-vae/config.json",
                        "sd-vae/diffusion_pytorch_model.bin", "whisper/config.json", "whisper/pytorch_model.bin",
                        "whisper/preprocessor_config.json"}
    assert all(ok for f, ok in check(release, "v15") if not f.optional)
    assert [str(f.path) for f in required_files("v15") if f.optional] == ["face-parse-bisent/79999_iter.pth"]
    v1 = {str(f.path): ok for f, ok in check(release, "v1")}
    assert not v1["musetalk/pytorch_model.bin"] and v1["whisper/pytorch_model.bin"]  # shared files count
    assert not any(ok for _, ok in check(tmp_path, "v15"))
