#!/bin/sh
# Smoke test of a built bundle (`make package`): the app starts, organizes 20 photos headless on
# ONNX Runtime with the models it ships, and carries no torch. People: the faces stage loads
# dlib and its model files and searches every photo (with FACES=FOLDER, photos of people from
# it join the 20 and faces must be found). Places: six photos carry GPS positions (Copenhagen,
# Lisbon) and must be named from the place data the bundle ships, and found by the
# names' other forms (Lisboa, Danmark). Prints the bundle's size.
#   [FACES=folder-of-face-photos] packaging/smoke_test.sh [dist/photoclust]
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
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# Copenhagen's city hall square and Lisbon's Praça do Comércio, three photos each
PLACES = {0: (55.6757, 12.5691), 1: (55.6757, 12.5691), 2: (55.6757, 12.5691),
          3: (38.7075, -9.1365), 4: (38.7075, -9.1365), 5: (38.7075, -9.1365)}


def dms(value: float) -> tuple:
    value = abs(value)
    degrees, minutes = int(value), int(value % 1 * 60)
    seconds = Fraction(round((value * 3600) % 60 * 100), 100)
    return (Fraction(degrees), Fraction(minutes), seconds)


def exif_for(seed: int) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = f"2024:0{1 + seed // 3}:1{seed % 3} 12:00:00"  # DateTimeOriginal
    if seed in PLACES:
        lat, lon = PLACES[seed]
        exif.get_ifd(0x8825).update({1: "N" if lat >= 0 else "S", 2: dms(lat),
                                     3: "E" if lon >= 0 else "W", 4: dms(lon)})
    return exif

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
    image.save(folder / f"photo{seed:02d}.jpg", quality=90, exif=exif_for(seed))
PY
PEOPLE=0
if [ -n "${FACES:-}" ]; then
  for f in $(ls "$FACES"/*.jpg "$FACES"/*/*.jpg 2>/dev/null | head -12); do
    cp "$f" "$WORK/photos/face$PEOPLE.jpg"; PEOPLE=$((PEOPLE + 1))
  done
fi
export QT_QPA_PLATFORM=offscreen PHOTOCLUST_MODEL_CACHE="$WORK/cache"
START=$(date +%s)
"$APP" --help > /dev/null
"$APP" organize --library "$WORK/library.sqlite" "$WORK/photos" | tee "$WORK/out.txt"
grep -q "$((20 + PEOPLE)) embedded with efficientnet_lite2 .*ONNX Runtime" "$WORK/out.txt" \
  || { echo "FAIL: the photos were not embedded on ONNX Runtime" >&2; exit 1; }
grep -q "^Faces: [0-9]* found in [0-9]* of $((20 + PEOPLE)) photo(s) searched" "$WORK/out.txt" \
  || { echo "FAIL: the faces stage did not search the photos (dlib or its models)" >&2; exit 1; }
if [ "$PEOPLE" -gt 0 ] && grep -q "^Faces: 0 found" "$WORK/out.txt"; then
  echo "FAIL: no face found in $PEOPLE photos of people" >&2; exit 1
fi
"$APP" places --library "$WORK/library.sqlite" | tee "$WORK/places.txt"
grep -q "3  København, Denmark\|3  Copenhagen, Denmark" "$WORK/places.txt" \
  && grep -q "3  Lisbon, Portugal\|3  Lisboa, Portugal" "$WORK/places.txt" \
  || { echo "FAIL: the GPS positions were not named Copenhagen and Lisbon" >&2; exit 1; }
# other forms of the names (the cut city file, pycountry's translations): Lisboa, Danmark
for word in Lisboa Danmark; do
  [ "$("$APP" search --library "$WORK/library.sqlite" "$word" | grep -c "place:")" -eq 3 ] \
    || { echo "FAIL: searching $word did not find its 3 photos" >&2; exit 1; }
done
find "$BUNDLE" -name 'dlib_face_resnet_v1-*.onnx' | grep -q . \
  || { echo "FAIL: the bundle lacks the face descriptor's ONNX graph (build_models.py)" >&2; exit 1; }
# the graph stands for dlib's descriptor model file (22.5 MB), which the bundle leaves out: the
# faces found above were described by the graph alone
if find "$BUNDLE" -name 'dlib_face_recognition_resnet_model_v1.dat' | grep -q .; then
  echo "FAIL: the bundle carries dlib's descriptor model file (photoclust.spec leaves it out)" >&2; exit 1
fi
if [ -d "$WORK/cache" ] && [ -n "$(ls -A "$WORK/cache")" ]; then
  echo "FAIL: the app exported a model instead of using the one it ships" >&2; exit 1
fi
echo "OK: organized $((20 + PEOPLE)) photos (faces, places) in $(( $(date +%s) - START )) s; bundle \
$(du -sb "$BUNDLE" | awk '{printf "%.1f MB = %.1f MiB", $1 / 1e6, $1 / 1048576}')"
