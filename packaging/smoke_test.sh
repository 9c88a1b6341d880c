#!/bin/sh
# Smoke test of a built bundle (`make package`): the app starts, organizes 20 photos headless on
# ONNX Runtime with the models it ships, and carries no torch. Prints the bundle's size.
#   packaging/smoke_test.sh [dist/photoclust]
# Needs a Python with Pillow to draw the photos (the build environment has one).
set -eu
BUNDLE=${1:-dist/photoclust}
APP="$BUNDLE/photoclust"
PYTHON=${PYTHON:-python3}
[ -x "$APP" ] || { echo "no bundle at $BUNDLE: run make package first" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if find "$BUNDLE" -name 'libtorch*' -o -name 'libcudnn*' -o -name 'libcublas*' | grep -q .; then
  echo "FAIL: the bundle carries torch or CUDA libraries" >&2; exit 1
fi
"$PYTHON" - "$WORK/photos" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

folder = Path(sys.argv[1])
folder.mkdir(parents=True)
for seed in range(20):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)).resize((640, 480))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x, y, x + int(rng.integers(20, 200)), y + int(rng.integers(20, 200))),
                     fill=colour)
    image.save(folder / f"photo{seed:02d}.jpg", quality=90)
PY
export QT_QPA_PLATFORM=offscreen PHOTOCLUST_MODEL_CACHE="$WORK/cache"
START=$(date +%s)
"$APP" --help > /dev/null
"$APP" organize --library "$WORK/library.sqlite" "$WORK/photos" | tee "$WORK/out.txt"
grep -q "20 embedded with efficientnet_lite2 .*ONNX Runtime" "$WORK/out.txt" \
  || { echo "FAIL: the 20 photos were not embedded on ONNX Runtime" >&2; exit 1; }
find "$BUNDLE" -name 'dlib_face_resnet_v1-*.onnx' | grep -q . \
  || { echo "FAIL: the bundle lacks the face descriptor's ONNX graph (build_models.py)" >&2; exit 1; }
if [ -d "$WORK/cache" ] && [ -n "$(ls -A "$WORK/cache")" ]; then
  echo "FAIL: the app exported a model instead of using the one it ships" >&2; exit 1
fi
echo "OK: organized 20 photos in $(( $(date +%s) - START )) s; bundle $(du -sm "$BUNDLE" | cut -f1) MB"
