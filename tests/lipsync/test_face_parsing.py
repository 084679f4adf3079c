"""Face parsing (BiSeNet) for MuseTalk's blending mask: loading the release's checkpoint layout,
refusing one that does not fit, labels of the right shape, and the mask it gives."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the musetalk extra is not installed (pip install 'livehost[musetalk]')")

from streamer.avatar.store import load_avatar  # noqa: E402
from streamer.lipsync.base import LipsyncError  # noqa: E402
from streamer.lipsync.musetalk import write_tiny_release  # noqa: E402
from streamer.lipsync.musetalk.avatar import (FACE, LOWER_LIP, MOUTH, NOSE, SKIN, UPPER_LIP,  # noqa: E402
                                              blend_box, parsing_mask, prepare)
from streamer.lipsync.musetalk.model import MuseTalkModel  # noqa: E402
from streamer.lipsync.musetalk.parsing import CLASSES, WEIGHTS, BiSeNet, FaceParser  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint():
    torch.manual_seed(0)
    return BiSeNet().state_dict()


def write(folder, state):
    path = folder / WEIGHTS
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def test_network_has_the_size_of_the_release_checkpoint(checkpoint):
    # 79999_iter.pth is 53 MB of float32: 13.3 M values with the BatchNorm statistics.
    values = sum(v.numel() for k, v in checkpoint.items() if not k.endswith("num_batches_tracked"))
    assert 13.2e6 < values < 13.4e6
    for key in ("cp.resnet.conv1.weight", "cp.resnet.layer2.0.downsample.0.weight", "cp.arm16.conv_atten.weight",
                "cp.conv_avg.bn.running_var", "ffm.convblk.conv.weight", "conv_out.conv_out.weight",
                "conv_out16.conv.conv.weight"):
        assert key in checkpoint
    assert checkpoint["conv_out.conv_out.weight"].shape == (CLASSES, 256, 1, 1)


def test_no_weights_means_no_parser(tmp_path):
    assert FaceParser.load(tmp_path) is None


def test_labels_for_any_image_size(tmp_path, checkpoint):
    write(tmp_path, checkpoint)
    parser = FaceParser.load(tmp_path)
    images = [np.random.default_rng(1).integers(0, 255, (300, 280, 3), np.uint8), np.zeros((90, 120, 3), np.uint8)]
    labels = parser.labels(images)
    assert labels.shape == (2, 512, 512) and labels.dtype == np.uint8 and labels.max() < CLASSES
    assert np.array_equal(parser.labels(images[:1])[0], labels[0]), "the same image gets the same labels"


def test_a_checkpoint_saved_without_step_counters_or_from_data_parallel_loads(tmp_path, checkpoint):
    old = {f"module.{k}": v for k, v in checkpoint.items() if not k.endswith("num_batches_tracked")}
    write(tmp_path, old)
    parser = FaceParser.load(tmp_path)
    assert torch.equal(parser.net.state_dict()["cp.resnet.conv1.weight"], checkpoint["cp.resnet.conv1.weight"])


def test_a_checkpoint_that_does_not_fit_is_refused_naming_the_keys(tmp_path, checkpoint):
    state = dict(checkpoint)
    del state["ffm.conv1.weight"]
    state["cp.resnet.fc.weight"] = torch.zeros(1000, 512)
    path = write(tmp_path, state)
    with pytest.raises(LipsyncError, match=rf"checkpoint {path} does not fit the BiSeNet face-parsing network: "
                                           r"1 missing keys \(ffm\.conv1\.weight\); 1 unexpected keys "
                                           r"\(cp\.resnet\.fc\.weight\)"):
        FaceParser.load(tmp_path)


def test_blend_box_is_half_again_the_crop_and_stays_in_the_frame():
    assert blend_box(np.array([100, 100, 200, 180]), (400, 400)).tolist() == [75, 65, 225, 215]
    assert blend_box(np.array([0, 10, 100, 110]), (120, 400)).tolist() == [0, 0, 120, 135]


def face_labels() -> np.ndarray:
    """A 512x512 label map of a face filling a blend box: skin oval, nose, mouth and lips."""
    labels = np.zeros((512, 512), np.uint8)
    cv2.ellipse(labels, (256, 256), (150, 200), 0, 0, 360, SKIN, -1)
    cv2.ellipse(labels, (256, 250), (25, 45), 0, 0, 360, NOSE, -1)
    cv2.ellipse(labels, (256, 340), (50, 14), 0, 0, 360, UPPER_LIP, -1)
    cv2.ellipse(labels, (256, 355), (45, 6), 0, 0, 360, MOUTH, -1)
    cv2.ellipse(labels, (256, 370), (48, 12), 0, 0, 360, LOWER_LIP, -1)
    return labels


def test_parsing_mask_takes_the_lower_face_without_nose_or_background():
    crop = np.array([100, 100, 300, 300])
    box = blend_box(crop, (1000, 1000))  # 50..350: the label map covers 300 px, 512 labels
    mask = parsing_mask(face_labels(), crop, box)
    assert mask.shape == (FACE, FACE) and mask.dtype == np.uint8

    def at(label_x, label_y):  # label-map pixel -> mask value
        x = box[0] + label_x * (box[2] - box[0]) / 512
        y = box[1] + label_y * (box[3] - box[1]) / 512
        return int(mask[int((y - crop[1]) * FACE / (crop[3] - crop[1])), int((x - crop[0]) * FACE / (crop[2] - crop[0]))])

    assert at(256, 355) == 255, "the mouth is replaced"
    assert at(180, 380) > 240, "so is the cheek beside it"
    assert at(256, 292) < 40, "the nose is not"
    assert at(256, 200) == 0, "nor the upper face"
    assert at(420, 420) == 0 and at(90, 400) == 0, "nor the background beyond the face's outline"
    assert mask[:, 0].max() == 0 and mask[-1].max() == 0, "the border fades out"


def test_prepare_with_a_parser_records_a_parsing_mask(tmp_path, avatars_dir, checkpoint):
    release = write_tiny_release(tmp_path / "models", "v15")
    write(release, checkpoint)
    model = MuseTalkModel.load(release, "v15")
    parser = FaceParser.load(release, model.device, model.dtype)
    shutil.copytree(avatars_dir / "default", tmp_path / "avatars" / "default")
    full = load_avatar(tmp_path / "avatars", "default")
    n = 6  # parsing runs at 512x512: a few frames keep the test short on a CPU
    avatar = replace(full, frames=full.frames[:n], faces=full.faces[:n], mouths=full.mouths[:n])
    seen = []
    data = prepare(avatar, model, parser=parser, progress=lambda done, total: seen.append((done, total)))
    meta = json.loads((avatar.path / "musetalk" / "v15" / "meta.json").read_text())
    assert meta["mask"] == "parsing" and data.masks.shape == (len(avatar), FACE, FACE)
    assert data.masks[:, :FACE // 2 - 32].max() == 0
    assert seen[-1] == (2 * len(avatar), 2 * len(avatar))
