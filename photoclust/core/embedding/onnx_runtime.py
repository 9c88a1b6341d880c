"""Running the bundled models with ONNX Runtime: the default on the CPU (docs/performance.md).

The ONNX file is exported once, offline, from the very torch network and weights that torch runs
(so a library's vectors do not change: same model key), with the pixel normalisation inside the
graph: the runtime takes the uint8 crops as they are. It lives in a cache keyed by model, weights,
preprocessing, export and runtime version, beside a small JSON file holding its SHA-256 and the
class names (so that running it needs neither torch nor torchvision). Both are written atomically,
the JSON last: a missing, partial or corrupt cache is rebuilt, with one log line.

Models built ahead (``packaging/build_models.py``, which the packaged app ships) are found first
in the bundled folder (``$PHOTOCLUST_BUNDLED_MODELS``, or ``photoclust_models`` inside a frozen
app): then nothing is exported and torch is never imported, so the app runs without torch. A
model neither bundled nor cached needs torch once, to be exported; without torch that is one
sentence (``EmbeddingError``).

``RuntimeUnavailable`` says that ONNX Runtime cannot run here (not installed, a library that does
not load, a provider that does not start); the engine then falls back to torch with one line.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from photoclust.core.embedding.runners import (
    PREPROCESS_VERSION,
    BackboneSpec,
    EmbeddingError,
    ModelRunner,
)
from photoclust.core.files import replaced_atomically

log = logging.getLogger(__name__)

EXPORT_VERSION = 1
"""Version of the export (graph wrapper, opset, quantisation recipe); part of the cache key."""
OPSET = 17
QUANTIZE_VERSION = 2
"""Version of the int8 recipe (quantize.py), in the cache key of quantised models only: 2 keeps
every matrix product's weights to 7 bits, so that CPUs without VNNI do not saturate."""
CACHE_ENV = "PHOTOCLUST_MODEL_CACHE"
"""Environment variable naming the model cache folder (tests, portable installs)."""
BUNDLED_ENV = "PHOTOCLUST_BUNDLED_MODELS"
"""Environment variable naming a folder of models built ahead (read only)."""
BUNDLED_FOLDER = "photoclust_models"
"""The folder of models built ahead inside a frozen (PyInstaller) app."""

CPU_PROVIDER = "CPUExecutionProvider"
GPU_PROVIDERS = {"cuda": "CUDAExecutionProvider", "mps": "CoreMLExecutionProvider"}


class RuntimeUnavailable(EmbeddingError):
    """ONNX Runtime cannot run the model here; the message says why, in a few words."""


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except Exception as exc:
        raise RuntimeUnavailable(f"ONNX Runtime cannot be imported ({exc})") from exc
    return onnxruntime


def available_providers() -> tuple[str, ...] | None:
    """ONNX Runtime's execution providers on this machine, or None when it cannot be imported."""
    try:
        return tuple(import_onnxruntime().get_available_providers())
    except RuntimeUnavailable:
        return None


def model_cache_dir() -> Path:
    """Where exported models live: ``$PHOTOCLUST_MODEL_CACHE``, else the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    import appdirs

    from photoclust.core.library.db import APP_NAME

    return Path(appdirs.user_cache_dir(APP_NAME, appauthor=False)) / "models"


def bundled_models_dir() -> Path | None:
    """Where models built ahead are: ``$PHOTOCLUST_BUNDLED_MODELS``, else ``photoclust_models``
    inside a frozen app; None when neither is set."""
    configured = os.environ.get(BUNDLED_ENV)
    if configured:
        return Path(configured).expanduser()
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) / BUNDLED_FOLDER if frozen else None


def bundled_model(spec: BackboneSpec, runtime_version: str) -> tuple[Path, dict] | None:
    """The model built ahead for ``spec`` and this runtime version (its default weights), when
    the bundled folder holds a whole one."""
    folder = bundled_models_dir()
    if folder is None or not folder.is_dir():
        return None
    stem = cache_key(spec, None, runtime_version).rsplit("-", 1)[0]  # any weights tag
    for onnx_path in sorted(folder.glob(f"{stem}-*.onnx")):
        meta_path = onnx_path.with_suffix(".json")
        if cache_problem(onnx_path, meta_path) is None:
            return onnx_path, json.loads(meta_path.read_text(encoding="utf-8"))
    return None


def cache_key(spec: BackboneSpec, weights: Path | None, runtime_version: str) -> str:
    """File stem naming everything the exported graph depends on."""
    if weights is None:
        try:
            tag = "pkg" + importlib.metadata.version(spec.weights_package or "")
        except (importlib.metadata.PackageNotFoundError, ValueError):
            tag = "default"
    else:
        st = weights.stat()
        identity = f"{weights.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        tag = "w" + hashlib.sha256(identity.encode()).hexdigest()[:12]
    recipe = f"-q{QUANTIZE_VERSION}" if spec.quantized else ""
    return (f"{spec.name}-pre{PREPROCESS_VERSION}-exp{EXPORT_VERSION}{recipe}-"
            f"ort{runtime_version}-{tag}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cache_problem(onnx_path: Path, meta_path: Path) -> str | None:
    """None when the cached model is whole, else what is wrong with it."""
    if not onnx_path.exists() and not meta_path.exists():
        return "missing"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if onnx_path.stat().st_size != meta["size"]:
            return "partial (its size differs from the recorded one)"
        if file_sha256(onnx_path) != meta["sha256"]:
            return "corrupt (its checksum differs from the recorded one)"
        if len(meta["class_names"]) != meta["classes"]:
            return "corrupt (its class names are incomplete)"
    except FileNotFoundError:
        return "partial (a file is missing)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable ({exc})"
    return None


def is_cached(spec: BackboneSpec, weights: str | Path | None = None) -> bool:
    """True when ``spec``'s ONNX file is already built (loading it is then quick), False when
    loading first exports it (about half a minute, once) or ONNX Runtime cannot be imported."""
    try:
        ort = import_onnxruntime()
    except RuntimeUnavailable:
        return False
    path = Path(weights).expanduser() if weights is not None else None
    if path is not None and not path.exists():
        return False
    key = cache_key(spec, path, ort.__version__)
    folder = model_cache_dir()
    return cache_problem(folder / f"{key}.onnx", folder / f"{key}.json") is None


def prepare_export(onnx_path: Path, problem: str, what: str) -> None:
    """Say why ``what`` is exported into the cache now (``problem``: from ``cache_problem``:
    a first export is news, a damaged file a warning) and make the cache folder
    (``RuntimeUnavailable`` when it cannot be made)."""
    folder = onnx_path.parent
    if problem == "missing":
        log.info("exporting %s to ONNX once, into %s", what, folder)
    else:
        log.warning("The ONNX model cache %s is %s; rebuilding it.", onnx_path, problem)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeUnavailable(f"the model cache {folder} cannot be created ({exc})") from exc


def cached_model(spec: BackboneSpec, weights: Path | None, runtime_version: str
                 ) -> tuple[Path, dict]:
    """The ONNX file of ``spec`` and its metadata, exported (and quantised) first if needed."""
    if weights is None:
        built_ahead = bundled_model(spec, runtime_version)
        if built_ahead is not None:
            return built_ahead
    folder = model_cache_dir()
    key = cache_key(spec, weights, runtime_version)
    onnx_path, meta_path = folder / f"{key}.onnx", folder / f"{key}.json"
    problem = cache_problem(onnx_path, meta_path)
    if problem is None:
        return onnx_path, json.loads(meta_path.read_text(encoding="utf-8"))
    prepare_export(onnx_path, problem, spec.name)
    meta = _build(spec, weights, onnx_path)
    with replaced_atomically(meta_path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(meta), encoding="utf-8")
    return onnx_path, meta


def _build(spec: BackboneSpec, weights: Path | None, onnx_path: Path) -> dict:
    """Export the torch network (and quantise it for an int8 model) to ``onnx_path``."""
    from photoclust.core.embedding.runners import load_torch_backbone

    backbone = load_torch_backbone(spec, weights, "cpu")  # bad weights: EmbeddingError as usual
    try:
        with replaced_atomically(onnx_path, suffix=".onnx") as tmp:
            if spec.quantized:
                from photoclust.core.embedding.quantize import quantize_int8

                with tempfile.TemporaryDirectory(dir=onnx_path.parent) as scratch:
                    fp32 = Path(scratch) / "fp32.onnx"
                    _export(backbone, fp32)
                    quantize_int8(fp32, Path(tmp), backbone, Path(scratch))
            else:
                _export(backbone, Path(tmp))
    except EmbeddingError:
        raise
    except Exception as exc:
        raise RuntimeUnavailable(f"{spec.name} cannot be exported to ONNX ({exc})") from exc
    return {"model": spec.name, "dim": spec.dim, "classes": len(backbone.class_names),
            "class_names": backbone.class_names, "size": onnx_path.stat().st_size,
            "sha256": file_sha256(onnx_path), "quantized": spec.quantized}


def _export(backbone: Any, path: Path) -> None:
    """uint8 NHWC pixels in, ``features`` and ``logits`` out, batch size free."""
    import torch

    mean = torch.tensor(backbone.mean).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(backbone.std).view(1, 3, 1, 1) * 255.0

    class PixelsToOutputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = backbone.module

        def forward(self, pixels: torch.Tensor):
            return self.network((pixels.permute(0, 3, 1, 2).float() - mean) / std)

    size = backbone.input_size
    example = torch.zeros(2, size, size, 3, dtype=torch.uint8)
    batch_axis = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            PixelsToOutputs().eval(), (example,), str(path), input_names=["pixels"],
            output_names=["features", "logits"], opset_version=OPSET, dynamo=False,
            dynamic_axes={"pixels": batch_axis, "features": batch_axis, "logits": batch_axis})


@dataclass(kw_only=True)
class OnnxModel(ModelRunner):
    """A model run by ONNX Runtime: uint8 crops in, features and logits out."""

    session: Any
    provider: str
    threads: int
    quantized: bool = False
    runtime_version: str = ""

    def infer(self, crops: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pixels = np.ascontiguousarray(np.stack(crops) if isinstance(crops, list) else crops)
        features, logits = self.session.run(None, {"pixels": pixels})
        return features, logits

    def describe(self) -> str:
        where = self.provider.removesuffix("ExecutionProvider")
        threads = f", {self.threads} threads" if self.provider == CPU_PROVIDER else ""
        return (f"ONNX Runtime {self.runtime_version} on {where}, "
                f"{'int8' if self.quantized else 'fp32'}{threads}")


def load_onnx_model(spec: BackboneSpec, weights: str | Path | None = None,
                    providers: Sequence[str] = (CPU_PROVIDER,), threads: int | None = None,
                    device_id: int = 0) -> OnnxModel:
    """``spec`` on ONNX Runtime with ``providers`` (the first is the one wanted).

    Raises ``RuntimeUnavailable`` when ONNX Runtime cannot run it here, ``EmbeddingError`` for
    unusable weights (as torch would).
    """
    ort = import_onnxruntime()
    weights = Path(weights).expanduser() if weights is not None else None
    if weights is not None and not weights.exists():
        raise EmbeddingError(f"The weights file {weights} does not exist.")
    path, meta = cached_model(spec, weights, ort.__version__)
    threads = threads or os.cpu_count() or 1
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle pool threads sleep instead of spinning: indexing shares the cores (docs/performance.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    wanted = [(name, {"device_id": device_id}) if name == GPU_PROVIDERS["cuda"] else name
              for name in providers]
    try:
        session = ort.InferenceSession(str(path), options, providers=wanted)
    except Exception as exc:
        raise RuntimeUnavailable(f"ONNX Runtime cannot load {spec.name} ({exc})") from exc
    if providers[0] not in session.get_providers():
        raise RuntimeUnavailable(f"ONNX Runtime's {providers[0]} did not start")
    return OnnxModel(
        name=spec.name, dim=spec.dim, class_names=list(meta["class_names"]),
        input_size=spec.input_size, resize_size=spec.resize_size, mean=spec.mean, std=spec.std,
        session=session, provider=providers[0], threads=threads, quantized=spec.quantized,
        runtime_version=ort.__version__,
    )
