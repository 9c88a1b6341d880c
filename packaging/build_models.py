"""Build the ONNX models the packaged app ships, so that it runs on ONNX Runtime without torch.

Run in the build environment (which has torch, torchvision and the weights packages):

    python packaging/build_models.py [OUT] [--models efficientnet_lite2 efficientnet_lite0 ...]

OUT (default ``build/models``) receives, per model, the ``.onnx`` file and its ``.json`` record
exactly as the model cache holds them (``photoclust.core.embedding.onnx_runtime``): the app finds
them in its ``photoclust_models`` folder (photoclust.spec) and never exports or imports torch.
The ONNX Runtime version is part of each file's name: build with the runtime the app bundles.

It also exports the face descriptor (``photoclust.core.faces.onnx_describer``: dlib's ResNet with
the weights of the installed ``face-recognition-models`` file, fp32, 22.6 MB), so that the app
describes faces on ONNX Runtime (5-7 ms per face) instead of dlib-bin's own code (75-83 ms);
``--no-faces`` leaves it out. The graph is compared with dlib's own descriptor here (on the
check chip and a few drawn chips, to 1e-3) and dlib's descriptor of the check chip is recorded in
its JSON (``onnx_describer.DLIB_CHECK``): the app then uses the graph without dlib's model file
(22.5 MB, which photoclust.spec leaves out) and checks it against that record when loading it.
The graph's weights are stored as float16 (11.4 MB instead of 22.6; ``--face-weights float32``
keeps them as exported): ONNX Runtime turns them back into float32 when it loads the graph, so
it computes in float32 as before, on any CPU, and the descriptors stay within 1.3e-3 (Euclidean)
of dlib's on 403 LFW faces (docs/packaging.md; the same person is nearer than 0.6).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: The default model and its int8 version: what the packaged app runs. Lite0 (18.6 MB more) and
#: ResNet-50 stay options of an install with torch, which exports them on first use: the app
#: says so in one sentence (keeping the download under 400 MB, issue #24).
SHIPPED = ("efficientnet_lite2", "efficientnet_lite2_int8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=REPO / "build" / "models")
    parser.add_argument("--models", nargs="+", default=list(SHIPPED))
    parser.add_argument("--no-faces", action="store_true",
                        help="leave out the face descriptor's ONNX graph")
    parser.add_argument("--face-weights", choices=("float16", "float32"), default="float16",
                        help="how the face graph's weights are stored (computed in float32)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["PHOTOCLUST_MODEL_CACHE"] = str(args.out)
    os.environ.pop("PHOTOCLUST_BUNDLED_MODELS", None)  # build them, do not find them
    import onnxruntime

    from photoclust.core.embedding.backbones import model_spec
    from photoclust.core.embedding.onnx_runtime import cached_model

    for name in args.models:
        path, meta = cached_model(model_spec(name), None, onnxruntime.__version__)
        print(f"{name}: {path.name} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    if not args.no_faces:
        path, difference = build_face_graph(args.face_weights)
        print(f"face descriptor: {path.name} ({path.stat().st_size / 1e6:.1f} MB; "
              f"dlib's descriptors to {difference:.1e})", flush=True)
    return 0


def check_chips() -> list:
    """The chips the face graph is compared with dlib's own descriptor on: the app's check chip,
    then a grey ramp and a drawn face (eyes, mouth)."""
    import numpy as np

    from photoclust.core.faces.onnx_describer import check_chip

    ramp = np.broadcast_to(np.linspace(0, 255, 150, dtype=np.uint8)[None, :, None],
                           (150, 150, 3)).copy()
    face = np.full((150, 150, 3), 180, dtype=np.uint8)
    face[50:60, 40:60] = face[50:60, 90:110] = 30
    face[100:110, 55:95] = (150, 40, 40)
    return [check_chip(), ramp, face]


def store_weights_float16(onnx_path: Path) -> None:
    """Rewrites the graph (atomically) with each float32 weight of 16 numbers or more stored as
    float16 and cast back to float32 in the graph (ONNX Runtime folds the casts when it loads
    it: the computation stays float32), and its JSON record's size and checksum with it."""
    import json

    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from photoclust.core.embedding.onnx_runtime import file_sha256
    from photoclust.core.files import replaced_atomically

    model = onnx.load(str(onnx_path))
    nodes = []
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            weights = numpy_helper.to_array(node.attribute[0].t)
            if weights.dtype == np.float32 and weights.size >= 16:
                half = node.output[0] + "_float16"
                nodes += [helper.make_node("Constant", [], [half], value=numpy_helper.from_array(
                              weights.astype(np.float16))),
                          helper.make_node("Cast", [half], [node.output[0]],
                                           to=TensorProto.FLOAT)]
                continue
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    with replaced_atomically(onnx_path, suffix=".onnx") as tmp:
        onnx.save(model, str(tmp))
    meta_path = onnx_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(size=onnx_path.stat().st_size, sha256=file_sha256(onnx_path),
                weights="float16")
    with replaced_atomically(meta_path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(meta), encoding="utf-8")


def build_face_graph(weights: str = "float16"):
    """The face descriptor's ONNX graph, exported into the model cache (the output folder), its
    weights stored as ``weights`` (``store_weights_float16``), compared with dlib's own
    descriptor and the comparison recorded (``record_dlib_check``). Returns its path and the
    largest difference (Euclidean); ``SystemExit`` when it is not dlib's (1e-3, one number)."""
    import numpy as np

    from photoclust.core.faces.detect import import_dlib, model_paths
    from photoclust.core.faces.onnx_describer import (
        TOLERANCE,
        OnnxDescriber,
        record_dlib_check,
    )

    descriptor_path = model_paths()[1]  # FaceModelError: no models
    graph = OnnxDescriber.load(descriptor_path)
    if weights == "float16":
        meta = graph.path.with_suffix(".json").read_text(encoding="utf-8")
        if '"weights": "float16"' not in meta:
            store_weights_float16(graph.path)
        graph = OnnxDescriber.open(graph.path)
    dlib = import_dlib().face_recognition_model_v1(str(descriptor_path))
    chips = check_chips()
    mine = graph.compute(chips)
    theirs = np.array([dlib.compute_face_descriptor(c) for c in chips], dtype=np.float32)
    largest = float(np.abs(mine - theirs).max())
    if not largest < TOLERANCE:
        raise SystemExit(f"The face descriptor's ONNX graph {graph.path} differs from dlib's "
                         f"by {largest:.2e}: not shipped.")
    difference = float(np.linalg.norm(mine - theirs, axis=1).max())
    record_dlib_check(graph.path, theirs[0], difference)
    return graph.path, difference


if __name__ == "__main__":
    sys.exit(main())
