"""Shared fixtures: a fresh library file, photo folders drawn with Pillow, the shared datasets."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
#: The labelled photo sets (imagenette224, clothing14, ...): beside the checkout, or where
#: PHOTOCLUST_DATASETS says.
DATASETS = Path(os.environ.get("PHOTOCLUST_DATASETS") or REPO.parent / "shared" / "datasets")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_data(message: str) -> None:
    """Skip on a developer machine without the data; fail in CI, where the data must be."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: tests that need the labelled photo sets must run)")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory) -> Path:
    """Models exported for ONNX Runtime go to one folder per test session (subprocesses too),
    never to the user's cache."""
    folder = tmp_path_factory.mktemp("model-cache")
    previous = os.environ.get("PHOTOCLUST_MODEL_CACHE")
    os.environ["PHOTOCLUST_MODEL_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("PHOTOCLUST_MODEL_CACHE", None)
    else:
        os.environ["PHOTOCLUST_MODEL_CACHE"] = previous


@pytest.fixture
def library(tmp_path):
    from photoclust.core.library import open_library

    lib = open_library(tmp_path / "lib" / "library.sqlite")
    yield lib
    lib.close()


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory) -> Path:
    """``<label>/<photo>.jpg``: 4 classes of 6 drawn shapes, and a stray text file."""
    from helpers import make_labeled_folder

    root = tmp_path_factory.mktemp("dataset")
    make_labeled_folder(root, per_class=6, size=(96, 72))
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture
def datasets_dir() -> Path:
    """The folder of labelled photo sets (tests using it are marked ``datasets``)."""
    if not DATASETS.is_dir():
        missing_data(f"the labelled photo sets are not at {DATASETS} (set PHOTOCLUST_DATASETS)")
    return DATASETS


@pytest.fixture
def dataset(datasets_dir):
    """``dataset("imagenette224")``: one labelled set's folder, with the same skip/fail rule."""

    def find(name: str) -> Path:
        root = datasets_dir / name
        if not root.is_dir():
            missing_data(f"{name} is not in {datasets_dir}")
        return root

    return find
