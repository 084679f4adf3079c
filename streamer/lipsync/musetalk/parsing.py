"""Face parsing for MuseTalk's blending mask: BiSeNet (ResNet-18 backbone, 19 labels), loaded from
the release's face-parse-bisent/79999_iter.pth when it is there.

The network has the layout of the public face-parsing checkpoint (a context path on ResNet-18 with
attention refinement, a feature fusion module, three output heads; only the main head is used):
the module names below are that checkpoint's key names, and a checkpoint that does not fit them
is refused naming the keys. Input: RGB at 512x512 normalised with ImageNet's mean and std.
Labels: 0 background, 1 skin, 2-3 brows, 4-5 eyes, 6 glasses, 7-9 ears, 10 nose, 11 mouth,
12 upper lip, 13 lower lip, 14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat.

streamer.lipsync.musetalk.avatar.parsing_mask turns a label map into the blending mask.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS = Path("face-parse-bisent/79999_iter.pth")
SIZE = 512  # the network's input side
CLASSES = 19
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
BATCH = 8


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, ks: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ks, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if cin != cout or stride != 1:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """ResNet-18 without its classifier; returns the features at 1/8, 1/16 and 1/32."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x8 = self.layer2(self.layer1(x))
        x16 = self.layer3(x8)
        return x8, x16, self.layer4(x16)


class AttentionRefinement(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, cout)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x):
        feat = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(feat.mean((2, 3), keepdim=True))))


class ContextPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = ResNet18()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, ks=1, padding=0)

    def forward(self, x):
        x8, x16, x32 = self.resnet(x)
        context = self.conv_avg(x32.mean((2, 3), keepdim=True))
        up32 = self.conv_head32(F.interpolate(self.arm32(x32) + context, x16.shape[2:], mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(x16) + up32, x8.shape[2:], mode="nearest"))
        return x8, up16


class FeatureFusion(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.convblk = ConvBNReLU(cin, cout, ks=1, padding=0)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, spatial, context):
        feat = self.convblk(torch.cat([spatial, context], 1))
        atten = torch.sigmoid(self.conv2(F.relu(self.conv1(feat.mean((2, 3), keepdim=True)))))
        return feat + feat * atten


class Head(nn.Module):
    def __init__(self, cin: int, mid: int, classes: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, mid)
        self.conv_out = nn.Conv2d(mid, classes, 1, bias=False)

    def forward(self, x):
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    def __init__(self, classes: int = CLASSES):
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = Head(256, 256, classes)
        # Training-time auxiliary heads: in the checkpoint, never run here.
        self.conv_out16 = Head(128, 64, classes)
        self.conv_out32 = Head(128, 64, classes)

    def forward(self, x):
        x8, context8 = self.cp(x)
        logits = self.conv_out(self.ffm(x8, context8))
        return F.interpolate(logits, x.shape[2:], mode="bilinear", align_corners=True)


class FaceParser:
    """A loaded BiSeNet: label maps for BGR face images."""

    def __init__(self, net: BiSeNet, device: torch.device, dtype: torch.dtype):
        self.net, self.device, self.dtype = net, device, dtype

    @classmethod
    def load(cls, models_dir: Path, device: torch.device | str = "cpu",
             dtype: torch.dtype = torch.float32) -> FaceParser | None:
        """The parser from models_dir/face-parse-bisent/79999_iter.pth, or None when the file is
        not there. A file that is not this network's checkpoint raises LipsyncError naming keys."""
        # the model module imports diffusers and transformers: loaded only when weights are read
        from streamer.lipsync.musetalk.model import _check_fit, _read_state_dict

        path = Path(models_dir) / WEIGHTS
        if not path.is_file():
            return None
        state = _read_state_dict(path)
        net = BiSeNet()
        expected = net.state_dict()
        # Checkpoints from before PyTorch 0.4.1 have no BatchNorm step counters; they are unused here.
        for key in [k for k in expected if k.endswith("num_batches_tracked") and k not in state]:
            state[key] = expected[key]
        _check_fit(expected, state, path, Path("the BiSeNet face-parsing network"))
        net.load_state_dict(state, strict=True)
        return cls(net.to(device=device, dtype=dtype).eval(), torch.device(device), dtype)

    @torch.inference_mode()
    def labels(self, images_bgr: list[np.ndarray]) -> np.ndarray:
        """(n, 512, 512) uint8 labels of each image (any size; resized to 512x512)."""
        out = np.empty((len(images_bgr), SIZE, SIZE), np.uint8)
        for start in range(0, len(images_bgr), BATCH):
            part = images_bgr[start:start + BATCH]
            rgb = np.stack([cv2.resize(im, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)[..., ::-1] for im in part])
            x = torch.from_numpy(((rgb.astype(np.float32) / 255 - MEAN) / STD).transpose(0, 3, 1, 2).copy())
            logits = self.net(x.to(self.device, self.dtype))
            out[start:start + len(part)] = logits.argmax(1).to(torch.uint8).cpu().numpy()
        return out
