"""How fast could the face descriptor be? dlib-bin's ResNet (the product's) against a network of
the same shape (dlib's ``dnn_face_recognition_ex.cpp`` ``anet_type``: 7x7/2 conv, max pool, 14
residual blocks of 32-256 filters, 128 outputs; 5.6 million parameters, as the model file) with
random weights, run by torch and by ONNX Runtime on one thread. The weights are random: this
measures only what converting dlib's model file once would buy, not a descriptor.

    python bench/face_descriptor_speed.py
"""
from __future__ import annotations

import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from machine_info import describe_machine  # noqa: E402


def dlib_ms(n: int = 20) -> float:
    import dlib

    from photoclust.core.faces.detect import model_paths

    describer = dlib.face_recognition_model_v1(str(model_paths()[1]))
    chip = np.random.default_rng(0).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    describer.compute_face_descriptor(chip)
    cpu = time.process_time()
    for _ in range(n):
        describer.compute_face_descriptor(chip)
    return (time.process_time() - cpu) / n * 1000


def same_shape_net():
    import torch.nn.functional as F
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, n: int, down: bool):
            super().__init__()
            self.c1 = nn.Conv2d(cin, n, 3, 2 if down else 1, 0 if down else 1)
            self.c2 = nn.Conv2d(n, n, 3, 1, 1)
            self.down, self.n = down, n

        def forward(self, x):
            y = self.c2(F.relu(self.c1(x)))
            skip = F.avg_pool2d(x, 2, 2) if self.down else x
            if skip.shape[1] < self.n:  # dlib's add_prev pads the missing channels with zeros
                skip = F.pad(skip, (0, 0, 0, 0, 0, self.n - skip.shape[1]))
            return F.relu(y + skip[:, :, :y.shape[2], :y.shape[3]])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 32, 7, 2, 0)
            cfg = [(32, 32, 0)] * 3 + [(32, 64, 1)] + [(64, 64, 0)] * 3 + [(64, 128, 1)] + \
                [(128, 128, 0)] * 2 + [(128, 256, 1)] + [(256, 256, 0)] * 2 + [(256, 256, 1)]
            self.blocks = nn.Sequential(*[Block(a, b, bool(d)) for a, b, d in cfg])
            self.fc = nn.Linear(256, 128, bias=False)

        def forward(self, x):
            x = self.blocks(F.max_pool2d(F.relu(self.conv(x)), 3, 2))
            return self.fc(x.mean((2, 3)))

    return Net().eval()


def main() -> int:
    import onnxruntime as ort
    import torch

    print(describe_machine())
    torch.set_num_threads(1)
    print(f"dlib-bin (the product's descriptor): {dlib_ms():.1f} ms CPU per face")
    net = same_shape_net()
    x = torch.randn(1, 3, 150, 150)
    print(f"same-shape network: {sum(p.numel() for p in net.parameters()):,} parameters")
    with torch.no_grad():
        for _ in range(3):
            net(x)
        cpu = time.process_time()
        for _ in range(20):
            net(x)
        print(f"torch, 1 thread: {(time.process_time() - cpu) / 20 * 1000:.1f} ms CPU per face")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), buf, input_names=["x"], dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(buf.getvalue(), options, providers=["CPUExecutionProvider"])
    xn = x.numpy()
    for _ in range(3):
        session.run(None, {"x": xn})
    cpu = time.process_time()
    for _ in range(20):
        session.run(None, {"x": xn})
    print(f"ONNX Runtime, 1 thread: {(time.process_time() - cpu) / 20 * 1000:.1f} ms CPU per face")
    return 0


if __name__ == "__main__":
    sys.exit(main())
