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
descriptor for a test chip, else it uses torch's, else dlib's own.
"""
from __future__ import annotations

import hashlib
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
)
from photoclust.core.files import replaced_atomically

log = logging.getLogger(__name__)

#: Version of the exported graph (wrapper, opset); part of the file's name.
EXPORT_VERSION = 1
NAME = "dlib_face_resnet_v1"
#: One thread: a face is too small a job to share; the other threads' waiting would cost more
#: CPU than it saves (as for torch, ``resnet.TorchDescriber.compute``).
THREADS = 1


def model_digest(descriptor_path: Path) -> str:
    """The start of the model file's SHA-256 (names the ONNX file made from it)."""
    digest = hashlib.sha256()
    with open(descriptor_path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


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
    if problem == "missing":
        log.info("exporting the face descriptor to ONNX once, into %s", folder)
    else:
        log.warning("The ONNX face descriptor %s is %s; rebuilding it.", onnx_path, problem)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeUnavailable(f"the model cache {folder} cannot be created ({exc})") from exc
    export(descriptor_path, onnx_path)
    meta = {"model": NAME, "dim": 128, "classes": 0, "class_names": [],
            "size": onnx_path.stat().st_size, "sha256": file_sha256(onnx_path), "quantized": False,
            "source": descriptor_path.name, "source_sha256": digest}
    with replaced_atomically(meta_path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(meta), encoding="utf-8")
    return onnx_path


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
        path = onnx_file(descriptor_path, ort.__version__)
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
