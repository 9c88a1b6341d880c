"""dlib's face descriptor run by ONNX Runtime: the network of ``resnet.py`` (dlib's, with the
weights of the installed model file) exported once to ONNX, fp32, the chip's pixel normalisation
inside the graph (uint8 chips in, 128 numbers out). About half torch's CPU per face and no torch
needed to run it, so the packaged app (which has no torch) describes faces at that speed too
(docs/people.md, "Cost").

The ONNX file is found, in order: in the folder of models built ahead
(``$PHOTOCLUST_BUNDLED_MODELS`` or the frozen app's ``photoclust_models``,
``packaging/build_models.py``), in the model cache (``$PHOTOCLUST_MODEL_CACHE`` or the user's
cache folder), else exported there once from the model file (needs torch; about a second). Its
name holds the export version, the ONNX Runtime version and the start of the model file's
SHA-256, so another model file never meets a graph made from another; beside it a JSON record
holds its size and SHA-256 (a partial or corrupt file is rebuilt), as for the image models
(``core/embedding/onnx_runtime.py``). ``FaceFinder`` checks, when loading, that it gives dlib's
descriptor for a test chip (``check_chip``), else it uses torch's, else dlib's own.

The packaged app leaves the model file (22.5 MB) out: ``packaging/build_models.py`` compares the
graph with dlib's own descriptor when it builds it and records dlib's descriptor of the test chip
in the graph's JSON (``DLIB_CHECK``); a graph built ahead with that record is used without the
model file (``bundled_checked_graph``, ``OnnxDescriber.load_checked``), and is checked at load
time against the recorded descriptor instead of dlib's.
"""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from photoclust.core.embedding.onnx_runtime import (
    OPSET,
    RuntimeUnavailable,
    bundled_models_dir,
    cache_problem,
    file_sha256,
    import_onnxruntime,
    model_cache_dir,
    prepare_export,
)
from photoclust.core.files import replaced_atomically

log = logging.getLogger(__name__)

#: Version of the exported graph (wrapper, opset); part of the file's name.
EXPORT_VERSION = 1
NAME = "dlib_face_resnet_v1"
#: One thread: a face is too small a job to share; the other threads' waiting would cost more
#: CPU than it saves (as for torch, ``resnet.TorchDescriber.compute``).
THREADS = 1
#: Key of the record ``packaging/build_models.py`` adds to the graph's JSON: dlib's descriptor of
#: ``check_chip()`` (``descriptor``) and the largest difference, Euclidean, between the graph's
#: descriptors and dlib's on the chips it compared (``max_difference``).
DLIB_CHECK = "dlib_check"
#: A fast descriptor is used when it is this near dlib's (largest difference of one number).
TOLERANCE = 1e-3


def check_chip() -> np.ndarray:
    """The chip a fast descriptor is compared with dlib's on before it is used (random pixels)."""
    return np.random.default_rng(0).integers(0, 256, (150, 150, 3), dtype=np.uint8)


def model_digest(descriptor_path: Path) -> str:
    """The start of the model file's SHA-256 (names the ONNX file made from it)."""
    return file_sha256(descriptor_path)[:16]


def onnx_key(digest: str, runtime_version: str) -> str:
    """File stem of the ONNX graph made from the model file whose ``model_digest`` is
    ``digest``, for this runtime version."""
    return f"{NAME}-exp{EXPORT_VERSION}-ort{runtime_version}-{digest}"


def onnx_file(descriptor_path: Path, runtime_version: str) -> Path:
    """The ONNX graph of the descriptor in ``descriptor_path``: built ahead, cached, or exported
    into the cache now (``RuntimeUnavailable`` when that cannot be done, e.g. without torch)."""
    digest = model_digest(descriptor_path)
    key = onnx_key(digest, runtime_version)
    bundled = bundled_models_dir()
    if bundled is not None:
        onnx_path = bundled / f"{key}.onnx"
        if cache_problem(onnx_path, onnx_path.with_suffix(".json")) is None:
            return onnx_path
    folder = model_cache_dir()
    onnx_path, meta_path = folder / f"{key}.onnx", folder / f"{key}.json"
    problem = cache_problem(onnx_path, meta_path)
    if problem is None:
        return onnx_path
    try:
        import torch  # noqa: F401
    except ImportError:
        raise RuntimeUnavailable("the face descriptor is not built for ONNX Runtime and torch, "
                                 "which builds it, is not installed") from None
    prepare_export(onnx_path, problem, "the face descriptor")
    export(descriptor_path, onnx_path)
    meta = {"model": NAME, "dim": 128, "classes": 0, "class_names": [],
            "size": onnx_path.stat().st_size, "sha256": file_sha256(onnx_path), "quantized": False,
            "source": descriptor_path.name, "source_sha256": digest}
    with replaced_atomically(meta_path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(meta), encoding="utf-8")
    return onnx_path


def record_dlib_check(onnx_path: Path, descriptor: np.ndarray, max_difference: float) -> None:
    """Adds ``DLIB_CHECK`` to the JSON beside ``onnx_path`` (``packaging/build_models.py``, which
    compared the graph with dlib's own descriptor): ``descriptor`` is dlib's for
    ``check_chip()``."""
    meta_path = onnx_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta[DLIB_CHECK] = {"descriptor": [float(v) for v in np.asarray(descriptor).reshape(-1)],
                        "max_difference": float(max_difference)}
    with replaced_atomically(meta_path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(meta), encoding="utf-8")


def bundled_checked_graph(runtime_version: str) -> tuple[Path, np.ndarray] | str:
    """The graph built ahead for this runtime version and checked against dlib when it was built,
    for use without the model file: its path and dlib's descriptor of ``check_chip()``; else why
    there is none, as the end of a sentence ("... its ONNX graph built ahead is missing")."""
    folder = bundled_models_dir()
    if folder is None:
        return "is not built ahead"
    prefix = f"{NAME}-exp{EXPORT_VERSION}-ort{runtime_version}-"
    stems = sorted({p.stem for p in folder.glob(f"{prefix}*") if p.suffix in (".onnx", ".json")})
    reason = f"is missing from {folder}"
    for stem in stems:
        onnx_path, meta_path = folder / f"{stem}.onnx", folder / f"{stem}.json"
        problem = cache_problem(onnx_path, meta_path)
        if problem is not None:
            reason = f"{onnx_path} is {problem}"
            continue
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            recorded = np.asarray(meta[DLIB_CHECK]["descriptor"], dtype=np.float32)
            if (recorded.shape != (128,) or not np.isfinite(recorded).all()
                    or stem != prefix + str(meta["source_sha256"])):
                raise ValueError(stem)
        except (OSError, ValueError, KeyError, TypeError):
            reason = f"{onnx_path} was not checked against dlib's descriptor when it was built"
            continue
        return onnx_path, recorded
    return reason


def export(descriptor_path: Path, onnx_path: Path) -> None:
    """The torch network of ``resnet.py`` with the model file's weights, to ``onnx_path``
    (written atomically): uint8 ``chips`` N x 150 x 150 x 3 in, ``descriptors`` N x 128 out."""
    import torch

    from photoclust.core.faces.resnet import TorchDescriber

    network = TorchDescriber.load(descriptor_path).module()  # ModelFormatError: not dlib's
    example = torch.zeros(2, 150, 150, 3, dtype=torch.uint8)
    batch = {0: "batch"}
    try:
        with replaced_atomically(onnx_path, suffix=".onnx") as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's tracer and deprecation notices
            torch.onnx.export(network, (example,), str(tmp), input_names=["chips"],
                              output_names=["descriptors"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"chips": batch, "descriptors": batch})
    except Exception as exc:
        raise RuntimeUnavailable(f"the face descriptor cannot be exported to ONNX ({exc})"
                                 ) from exc


class OnnxDescriber:
    """``compute(chips)``: the 128-number descriptors of aligned 150 x 150 RGB uint8 chips."""

    def __init__(self, session: Any, path: Path):
        self.session = session
        self.path = path

    @classmethod
    def load(cls, descriptor_path: Path) -> OnnxDescriber:
        """Raises ``RuntimeUnavailable`` when ONNX Runtime cannot run it here."""
        ort = import_onnxruntime()
        return cls.open(onnx_file(descriptor_path, ort.__version__))

    @classmethod
    def load_checked(cls) -> OnnxDescriber:
        """Without the model file (the packaged app): the graph built ahead and checked when it
        was built (``bundled_checked_graph``), if it gives the recorded descriptor of dlib for
        ``check_chip()`` here too; else ``RuntimeUnavailable`` saying why (the end of a
        sentence, as ``bundled_checked_graph``)."""
        ort = import_onnxruntime()
        found = bundled_checked_graph(ort.__version__)
        if isinstance(found, str):
            raise RuntimeUnavailable(found)
        path, recorded = found
        try:
            describer = cls.open(path)
        except RuntimeUnavailable:
            raise RuntimeUnavailable(f"{path} cannot be loaded by ONNX Runtime") from None
        mine = describer.compute([check_chip()])[0]
        if not float(np.abs(mine - recorded).max()) < TOLERANCE:
            raise RuntimeUnavailable(f"{path} gives other descriptors than dlib's on this "
                                     "computer")
        return describer

    @classmethod
    def open(cls, path: Path) -> OnnxDescriber:
        """The graph in ``path`` in an ONNX Runtime session (``RuntimeUnavailable`` if it
        cannot be)."""
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise RuntimeUnavailable(f"ONNX Runtime cannot load {path} ({exc})") from exc
        return cls(session, path)

    def compute(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, 128), dtype=np.float32)
        pixels = np.ascontiguousarray(np.stack([np.asarray(c, dtype=np.uint8) for c in chips]))
        (out,) = self.session.run(None, {"chips": pixels})
        return np.asarray(out, dtype=np.float32)
