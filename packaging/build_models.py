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
``--no-faces`` leaves it out.
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
        from photoclust.core.faces.detect import model_paths
        from photoclust.core.faces.onnx_describer import onnx_file

        path = onnx_file(model_paths()[1], onnxruntime.__version__)  # FaceModelError: no models
        print(f"face descriptor: {path.name} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
