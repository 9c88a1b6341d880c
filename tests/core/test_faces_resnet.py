"""dlib's face descriptor run by ONNX Runtime and by torch from the installed model file: the
same descriptors as dlib's own code (fp32: on any CPU), the ONNX graph exported once into the
model cache or found built ahead (then without torch), and dlib's kept when the file is not that
network."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from photoclust.core.embedding.onnx_runtime import RuntimeUnavailable
from photoclust.core.faces import onnx_describer
from photoclust.core.faces.detect import FaceFinder, _checked_fast_describer, model_paths
from photoclust.core.faces.onnx_describer import OnnxDescriber, model_digest, onnx_key
from photoclust.core.faces.resnet import ModelFormatError, TorchDescriber, read_layers


@pytest.fixture(scope="module")
def finder():
    found = FaceFinder()
    found.load()
    return found


def _chips():
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    ramp = np.broadcast_to(np.linspace(0, 255, 150, dtype=np.uint8)[None, :, None],
                           (150, 150, 3)).copy()
    face = np.full((150, 150, 3), 180, dtype=np.uint8)
    face[50:60, 40:60] = face[50:60, 90:110] = 30  # eyes
    face[100:110, 55:95] = (150, 40, 40)  # mouth
    return [noise, ramp, face]


@pytest.mark.parametrize("route", [TorchDescriber, OnnxDescriber])
def test_the_fast_descriptors_are_dlibs(finder, route):
    fast = route.load(model_paths()[1])
    chips = _chips()
    mine = fast.compute(chips)
    assert mine.shape == (3, 128) and mine.dtype == np.float32
    for chip, vector in zip(chips, mine):
        theirs = np.asarray(finder._describer.compute_face_descriptor(chip))
        assert np.abs(vector - theirs).max() < 1e-4
    assert fast.compute([]).shape == (0, 128)
    assert np.abs(fast.compute(chips[:1])[0] - mine[0]).max() < 1e-5  # one chip or a batch


def test_the_finder_prefers_onnx_runtime_then_torch(finder, monkeypatch):
    assert isinstance(finder.fast, OnnxDescriber)
    monkeypatch.setenv("PHOTOCLUST_FACES_DESCRIBER", "torch")
    assert isinstance(_checked_fast_describer(model_paths()[1], finder._describer),
                      TorchDescriber)
    monkeypatch.setenv("PHOTOCLUST_FACES_DESCRIBER", "onnx")
    monkeypatch.setattr(onnx_describer.OnnxDescriber, "load",
                        classmethod(lambda cls, path: (_ for _ in ()).throw(
                            RuntimeUnavailable("no runtime"))))
    assert _checked_fast_describer(model_paths()[1], finder._describer) is None
    monkeypatch.delenv("PHOTOCLUST_FACES_DESCRIBER")
    assert isinstance(_checked_fast_describer(model_paths()[1], finder._describer),
                      TorchDescriber)  # ONNX Runtime cannot run it: torch's


@pytest.mark.datasets
def test_on_real_faces_the_onnx_descriptor_is_dlibs(finder, dataset):
    """Chips of LFW faces aligned as the product aligns them: ONNX Runtime's descriptor within
    1e-3 (Euclidean) of dlib's own; two people's descriptors are far apart, one person's near."""
    dlib = finder._dlib
    chips = []
    for name in ("Bill_Gates", "Bill_Gates", "Serena_Williams"):
        n = len(chips) if name == "Bill_Gates" else 1
        path = sorted((dataset("faces_lfw") / name).glob("*.jpg"))[n]
        rgb = np.asarray(Image.open(path).convert("RGB"))
        rect = finder._detector(rgb, 1)[0]
        chips.append(dlib.get_face_chip(rgb, finder._landmarks(rgb, rect), size=150,
                                        padding=0.25))
    mine = OnnxDescriber.load(model_paths()[1]).compute(chips)
    theirs = np.array([finder._describer.compute_face_descriptor(c) for c in chips])
    assert np.linalg.norm(mine - theirs, axis=1).max() < 1e-3
    assert np.linalg.norm(mine[0] - mine[1]) < 0.6 < np.linalg.norm(mine[0] - mine[2])


def test_the_onnx_graph_is_exported_once_and_rebuilt_when_damaged(model_cache, monkeypatch):
    path = model_paths()[1]
    first = OnnxDescriber.load(path)
    assert first.path.parent == model_cache
    assert first.path.stem == onnx_key(model_digest(path), first.path.stem.split("-ort")[1]
                                       .split("-")[0])
    exported = []
    real_export = onnx_describer.export
    monkeypatch.setattr(onnx_describer, "export",
                        lambda *a: exported.append(a) or real_export(*a))
    OnnxDescriber.load(path)
    assert exported == []  # cached
    first.path.write_bytes(first.path.read_bytes()[:1000])  # a partial file
    again = OnnxDescriber.load(path)
    assert len(exported) == 1 and again.compute(_chips()).shape == (3, 128)


def test_a_graph_built_ahead_is_used_without_torch(model_cache, tmp_path, monkeypatch, finder):
    path = model_paths()[1]
    cached = OnnxDescriber.load(path).path
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    for suffix in (".onnx", ".json"):
        (bundled / cached.with_suffix(suffix).name).write_bytes(
            cached.with_suffix(suffix).read_bytes())
    monkeypatch.setenv("PHOTOCLUST_BUNDLED_MODELS", str(bundled))
    monkeypatch.setenv("PHOTOCLUST_MODEL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(sys.modules, "torch", None)  # as in the packaged app: no torch
    fast = _checked_fast_describer(path, finder._describer)
    assert isinstance(fast, OnnxDescriber) and fast.path.parent == bundled
    assert not (tmp_path / "empty-cache").exists()
    # Neither built ahead nor torch to build it: dlib's own, no error.
    monkeypatch.delenv("PHOTOCLUST_BUNDLED_MODELS")
    with pytest.raises(RuntimeUnavailable, match="torch"):
        OnnxDescriber.load(path)
    assert _checked_fast_describer(path, finder._describer) is None
    assert json.loads(cached.with_suffix(".json").read_text())["size"] == cached.stat().st_size


def test_another_file_is_refused_and_dlib_is_kept(finder, tmp_path):
    landmarks, descriptor = model_paths()
    with pytest.raises(ModelFormatError):
        read_layers(landmarks)
    cut = tmp_path / "cut.dat"
    cut.write_bytes(descriptor.read_bytes()[:5_000_000])
    with pytest.raises(ModelFormatError):
        read_layers(cut)
    assert _checked_fast_describer(landmarks, finder._describer) is None
    assert _checked_fast_describer(cut, finder._describer) is None


def test_dlib_only_when_asked(monkeypatch):
    monkeypatch.setenv("PHOTOCLUST_FACES_DLIB_ONLY", "1")
    plain = FaceFinder()
    plain.load()
    assert plain.fast is None
