"""dlib's face descriptor run by torch from the installed model file: the same descriptors as
dlib's own code, and dlib's kept when the file is not that network."""
from __future__ import annotations

import numpy as np
import pytest

from photoclust.core.faces.detect import FaceFinder, _checked_fast_describer, model_paths
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


def test_the_torch_descriptor_is_dlibs(finder):
    assert isinstance(finder.fast, TorchDescriber)
    chips = _chips()
    mine = finder.fast.compute(chips)
    assert mine.shape == (3, 128) and mine.dtype == np.float32
    for chip, vector in zip(chips, mine):
        theirs = np.asarray(finder._describer.compute_face_descriptor(chip))
        assert np.abs(vector - theirs).max() < 1e-4
    assert finder.fast.compute([]).shape == (0, 128)


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
