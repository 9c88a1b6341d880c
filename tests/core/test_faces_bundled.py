"""The packaged app's faces without dlib's descriptor model file (22.5 MB, left out of the
bundle, issue #24): the descriptor's ONNX graph that ``packaging/build_models.py`` built and
compared with dlib's own descriptor is used in its place and gives dlib's descriptors; a graph
missing, damaged, never compared or giving other descriptors is one sentence, and Organize goes
on without faces. Outside the bundle (no models built ahead) the model file is still needed."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_labeled_folder
from photoclust.core.faces.detect import (
    DESCRIPTOR_FILE,
    LANDMARKS_FILE,
    MODELS_ENV,
    FaceFinder,
    FaceModelError,
    finder_model_paths,
    models_folder,
)
from photoclust.core.faces.onnx_describer import DLIB_CHECK, OnnxDescriber, check_chip
from photoclust.core.jobs import run_job

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dlib_finder():
    """dlib's own descriptor, from the installed model file."""
    found = FaceFinder()
    found.load()
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The face graph as ``packaging/build_models.py`` builds it for the bundle."""
    sys.path.insert(0, str(REPO / "packaging"))
    from build_models import build_face_graph

    out = tmp_path_factory.mktemp("built-models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PHOTOCLUST_MODEL_CACHE", str(out))
        mp.delenv("PHOTOCLUST_BUNDLED_MODELS", raising=False)
        path, difference = build_face_graph()
    assert path.parent == out and difference < 1e-3
    return path


@pytest.fixture
def bundle(built, tmp_path, monkeypatch):
    """A packaged app's folders: the graph built ahead, the landmark model without the
    descriptor's model file, an empty model cache. Returns the graph's copy."""
    bundled = tmp_path / "photoclust_models"
    bundled.mkdir()
    for suffix in (".onnx", ".json"):
        shutil.copy(built.with_suffix(suffix), bundled / built.with_suffix(suffix).name)
    models = tmp_path / "face_recognition_models"
    models.mkdir()
    source = models_folder()
    assert source is not None
    shutil.copy(source / LANDMARKS_FILE, models / LANDMARKS_FILE)
    monkeypatch.setenv(MODELS_ENV, str(models))
    monkeypatch.setenv("PHOTOCLUST_BUNDLED_MODELS", str(bundled))
    return bundled / built.name


def _chips():
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    face = np.full((150, 150, 3), 170, dtype=np.uint8)
    face[48:58, 42:62] = face[48:58, 88:108] = 25
    face[98:108, 52:98] = (160, 50, 50)
    return [noise, face, check_chip()]


def test_build_models_records_dlibs_descriptor_of_the_check_chip(built, dlib_finder):
    record = json.loads(built.with_suffix(".json").read_text())[DLIB_CHECK]
    theirs = np.asarray(dlib_finder._describer.compute_face_descriptor(check_chip()))
    assert np.abs(np.asarray(record["descriptor"]) - theirs).max() < 1e-6
    assert 0 <= record["max_difference"] < 1e-3


def test_the_bundled_graph_is_used_without_the_model_file(bundle, tmp_path, monkeypatch,
                                                           dlib_finder):
    monkeypatch.setenv("PHOTOCLUST_MODEL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(sys.modules, "torch", None)  # as in the packaged app: no torch
    finder = FaceFinder()
    finder.check()
    assert finder_model_paths()[1] is None
    finder.load()
    assert isinstance(finder.fast, OnnxDescriber) and finder.fast.path == bundle
    assert finder._describer is None  # dlib's descriptor is not loaded (no file)
    chips = _chips()
    mine = finder.fast.compute(chips)
    theirs = np.array([dlib_finder._describer.compute_face_descriptor(c) for c in chips])
    assert np.linalg.norm(mine - theirs, axis=1).max() < 1e-3
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (90, 120, 3),
                                                              dtype=np.uint8))
    assert finder.find(photo) == []  # the whole route runs (no face in noise)
    assert not (tmp_path / "empty-cache").exists()


def test_outside_the_bundle_the_model_file_is_still_needed(bundle, monkeypatch):
    monkeypatch.delenv("PHOTOCLUST_BUNDLED_MODELS")
    with pytest.raises(FaceModelError, match="missing") as caught:
        FaceFinder().check()
    assert DESCRIPTOR_FILE in str(caught.value)


def _lose(graph: Path) -> None:
    graph.unlink()
    graph.with_suffix(".json").unlink()


def _flip_a_byte(graph: Path) -> None:
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))


def _never_compared(graph: Path) -> None:
    meta = json.loads(graph.with_suffix(".json").read_text())
    del meta[DLIB_CHECK]
    graph.with_suffix(".json").write_text(json.dumps(meta))


def _other_descriptors(graph: Path) -> None:
    meta = json.loads(graph.with_suffix(".json").read_text())
    meta[DLIB_CHECK]["descriptor"] = [v + 0.01 for v in meta[DLIB_CHECK]["descriptor"]]
    graph.with_suffix(".json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, words", [
    (_lose, "is missing from"), (_flip_a_byte, "corrupt"),
    (_never_compared, "not checked against dlib"),
    (_other_descriptors, "other descriptors than dlib's on this computer")])
def test_a_bundled_graph_that_cannot_stand_for_the_file_is_one_sentence(bundle, damage, words):
    damage(bundle)
    with pytest.raises(FaceModelError, match=words) as caught:
        finder = FaceFinder()
        finder.check()
        finder.load()
    text = str(caught.value)
    assert "\n" not in text and text.startswith("Faces are not searched:")
    assert DESCRIPTOR_FILE in text and text.endswith("reinstall photoclust.")


def test_organize_goes_on_without_faces_when_the_bundled_graph_is_damaged(bundle, library,
                                                                           tmp_path, model_cache,
                                                                           monkeypatch):
    from photoclust.core.organize.pipeline import OrganizeJob

    monkeypatch.setenv("PHOTOCLUST_MODEL_CACHE", str(model_cache))
    _flip_a_byte(bundle)
    folder = tmp_path / "photos"
    make_labeled_folder(folder, per_class=3, size=(96, 72))
    result = run_job(OrganizeJob(library, [folder], model="efficientnet_lite0", k=2,
                                 device="cpu"))
    assert result.cluster.n == result.index.added > 0
    assert result.faces is not None and result.faces.error.startswith("Faces are not searched")
    assert "corrupt" in result.faces.error
