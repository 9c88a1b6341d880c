"""dlib's face descriptor (``dlib_face_recognition_resnet_model_v1.dat``) run by torch: the same
network and the same weights, read from the installed model file (nothing is downloaded), 11 ms
of CPU per face instead of dlib-bin's 75 ms (its wheel is built without BLAS; docs/people.md,
"Cost"). The same network, exported to ONNX (``onnx_describer.py``), runs on ONNX Runtime at
5-7 ms; ``FaceFinder`` prefers that, then this, then dlib's own.

The network is dlib's example ``anet_type`` (``dnn_face_recognition_ex.cpp``): the chip's pixels
minus dlib's mean colour, over 256; a 7x7 convolution with stride 2, affine, relu, a 3x3 max
pool with stride 2; 14 residual blocks (3 of 32 filters, 4 of 64, 3 of 128, 4 of 256; the first
block of 64, 128 and 256 and the last one reduce by 2, their shortcut average-pooled); a mean
over the positions and a 128 x 256 matrix. dlib's ``add_prev`` adds tensors of different sizes
by padding the smaller with zeros, as done here. Convolutions with stride 2 have no padding,
those with stride 1 pad by 1 (dlib's defaults).

The model file holds the layers from the input up, each one's name as a string followed by its
parameters as a tensor (a version, four dimensions as dlib's packed integers, then the float32
values): 29 ``con_4``, 29 ``affine_`` and one ``fc_2``. ``TorchDescriber.load`` reads them and
``FaceFinder`` checks, when loading, that it gives dlib's descriptor for a test chip (else it
keeps dlib's).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

#: dlib's ``input_rgb_image`` mean colour (subtracted, then divided by 256).
MEAN_RGB = (122.782, 117.001, 104.298)
CONVOLUTIONS = 29
BLOCKS = 14

_NAMES = re.compile(rb"con_4|affine_|fc_2")


class ModelFormatError(ValueError):
    """The model file is not the network this module knows."""


def _packed_int(data: bytes, pos: int) -> tuple[int, int]:
    head = data[pos]
    size = head & 0x0F
    if size > 8 or pos + 1 + size > len(data):
        raise ModelFormatError("bad integer")
    value = int.from_bytes(data[pos + 1:pos + 1 + size], "little")
    return (-value if head & 0x80 else value), pos + 1 + size


def _tensor(data: bytes, pos: int) -> tuple[np.ndarray, int]:
    version, pos = _packed_int(data, pos)
    if version != 2:
        raise ModelFormatError("unknown tensor version")
    n = 1
    for _ in range(4):
        dim, pos = _packed_int(data, pos)
        n *= dim
    if n <= 0 or pos + 4 * n > len(data):
        raise ModelFormatError("bad tensor size")
    return np.frombuffer(data, "<f4", n, pos).astype(np.float32), pos + 4 * n


def read_layers(path: Path) -> tuple[list, list, np.ndarray]:
    """``(convolutions, affines, fc)`` from the model file: each convolution
    ``(weights [out, in, h, w], bias, stride, padding)``, each affine ``(gamma, beta)``, ``fc``
    256 x 128. Raises ``ModelFormatError`` for anything else."""
    data = Path(path).read_bytes()
    convolutions: list = []
    affines: list = []
    fc: np.ndarray | None = None
    for match in _NAMES.finditer(data):
        name = match.group()
        if data[match.start() - 1] != len(name) or data[match.start() - 2] != 1:
            continue  # not a serialized string (packed length 01 NN before it)
        pos = match.end()
        if name == b"con_4":
            params, pos = _tensor(data, pos)
            values = []
            for _ in range(7):
                value, pos = _packed_int(data, pos)
                values.append(value)
            filters, rows, cols, stride, _sx, padding, _px = values
            inputs = (len(params) - filters) // (filters * rows * cols)
            size = filters * inputs * rows * cols
            if inputs < 1 or size + filters != len(params):
                raise ModelFormatError("bad convolution")
            convolutions.append((params[:size].reshape(filters, inputs, rows, cols),
                                 params[size:], stride, padding))
        elif name == b"affine_":
            params, pos = _tensor(data, pos)
            k = len(params) // 2
            affines.append((params[:k], params[k:]))
        else:
            outputs, pos = _packed_int(data, pos)
            inputs, pos = _packed_int(data, pos)
            params, pos = _tensor(data, pos)
            if params.size != inputs * outputs:
                raise ModelFormatError("bad fc layer")
            fc = params.reshape(inputs, outputs)
    if len(convolutions) != CONVOLUTIONS or len(affines) != CONVOLUTIONS or fc is None:
        raise ModelFormatError(f"{len(convolutions)} convolutions, {len(affines)} affine layers")
    return convolutions, affines, fc


class TorchDescriber:
    """``compute(chips)``: the 128-number descriptors of aligned 150 x 150 RGB chips."""

    def __init__(self, convolutions: list, affines: list, fc: np.ndarray):
        import torch

        self._torch = torch
        self._convs = [(torch.from_numpy(w), torch.from_numpy(b), int(s), int(p))
                       for w, b, s, p in convolutions]
        self._affines = [(torch.from_numpy(g)[None, :, None, None],
                          torch.from_numpy(b)[None, :, None, None]) for g, b in affines]
        self._fc = torch.from_numpy(fc)
        self._mean = torch.tensor(MEAN_RGB, dtype=torch.float32)

    @classmethod
    def load(cls, path: Path) -> TorchDescriber:
        return cls(*read_layers(path))

    def _layer(self, x: Any, k: int) -> Any:
        import torch.nn.functional as F

        weights, bias, stride, padding = self._convs[k]
        gamma, beta = self._affines[k]
        return F.conv2d(x, weights, bias, stride, padding) * gamma + beta

    @staticmethod
    def _add(a: Any, b: Any) -> Any:
        """dlib's ``add_prev``: the larger size in each dimension, the smaller zero-padded."""
        import torch.nn.functional as F

        shape = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:])]

        def pad(t):
            return F.pad(t, (0, shape[2] - t.shape[3], 0, shape[1] - t.shape[2],
                             0, shape[0] - t.shape[1]))
        return pad(a) + pad(b)

    def compute(self, chips: list[np.ndarray]) -> np.ndarray:
        torch = self._torch
        if not chips:
            return np.zeros((0, 128), dtype=np.float32)
        # One thread: a face is too small a job to share, and the other threads' waiting costs
        # more CPU than it saves (measured: 23 -> 11 ms per face on 2 cores).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._compute(chips)
        finally:
            torch.set_num_threads(threads)

    def _compute(self, chips: list[np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.no_grad():
            pixels = torch.from_numpy(np.stack([np.asarray(c, dtype=np.uint8) for c in chips]))
            out = self.forward(pixels)
        return out.numpy().astype(np.float32)

    def forward(self, pixels: Any) -> Any:
        """The network on a torch tensor of uint8 chips, N x 150 x 150 x 3 (RGB): N x 128.
        Also the graph exported to ONNX (``onnx_describer.py``), pixel normalisation included."""
        import torch.nn.functional as F

        x = ((pixels.float() - self._mean) / 256.0).permute(0, 3, 1, 2).contiguous()
        x = F.max_pool2d(F.relu(self._layer(x, 0)), 3, 2)
        for block in range(BLOCKS):
            first = 1 + 2 * block
            y = self._layer(F.relu(self._layer(x, first)), first + 1)
            shortcut = F.avg_pool2d(x, 2, 2) if self._convs[first][2] == 2 else x
            x = F.relu(self._add(y, shortcut))
        return x.mean(dim=(2, 3)) @ self._fc

    def module(self) -> Any:
        """The network as a ``torch.nn.Module`` (uint8 N x 150 x 150 x 3 in, N x 128 out), for
        ``torch.onnx.export``."""
        import torch

        describer = self

        class Network(torch.nn.Module):
            def forward(self, pixels):
                return describer.forward(pixels)

        return Network().eval()
