"""Shared fixtures: a fresh library file, photo folders drawn with Pillow, the shared datasets."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"


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


@pytest.fixture
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip("../shared/datasets is absent")
    return DATASETS
