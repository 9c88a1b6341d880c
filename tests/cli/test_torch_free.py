"""The app without torch (issue #24, point 8): with the models built ahead (what the packaged app
ships, packaging/build_models.py), organize runs on ONNX Runtime alone and never imports torch;
without them, one sentence says what is missing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import write_photos

REPO = Path(__file__).resolve().parents[2]

#: Runs the command line with torch, torchvision and timm impossible to import.
NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "timm"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoTorch())
from photoclust.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "timm"))
print("torch modules loaded:", loaded)
sys.exit(code)
"""


def run_without_torch(tmp_path: Path, env: dict, *argv: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k != "PHOTOCLUST_BUNDLED_MODELS"},
           "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.mark.slow
def test_organize_runs_on_models_built_ahead_without_torch(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "packaging"))
    from build_models import main as build_models

    models = tmp_path / "models"
    # build_models points the model cache at its output folder in this process: monkeypatch
    # puts both variables back afterwards, so no later test finds these models.
    monkeypatch.setenv("PHOTOCLUST_MODEL_CACHE", str(models))
    monkeypatch.delenv("PHOTOCLUST_BUNDLED_MODELS", raising=False)
    assert build_models([str(models), "--models", "efficientnet_lite0"]) == 0
    photos = write_photos(tmp_path / "photos", 20)
    library = tmp_path / "library.sqlite"
    done = run_without_torch(
        tmp_path, {"PHOTOCLUST_BUNDLED_MODELS": str(models),
                   "PHOTOCLUST_MODEL_CACHE": str(tmp_path / "empty-cache")},
        "organize", "--library", str(library), "--model", "efficientnet_lite0", str(photos))
    assert done.returncode == 0, done.stderr
    assert "20 embedded with efficientnet_lite0" in done.stdout
    assert "ONNX Runtime" in done.stdout
    assert "torch modules loaded: []" in done.stdout
    assert not (tmp_path / "empty-cache").exists() or not any((tmp_path / "empty-cache").iterdir())


def test_without_torch_or_a_built_model_one_sentence_says_so(tmp_path):
    photos = write_photos(tmp_path / "photos", 2)
    done = run_without_torch(
        tmp_path, {"PHOTOCLUST_MODEL_CACHE": str(tmp_path / "cache")},
        "organize", "--library", str(tmp_path / "library.sqlite"), str(photos))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "needs torch, which is not installed here" in done.stderr
    assert "torch modules loaded: []" in done.stdout
