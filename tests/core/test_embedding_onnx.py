"""ONNX Runtime: the same vectors as torch, a cache that heals itself, torch when it cannot run."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from photoclust.core.embedding import onnx_runtime
from photoclust.core.embedding.backbones import EmbeddingError, model_spec
from photoclust.core.embedding.engine import EmbedJob
from photoclust.core.embedding.store import load_embeddings, load_top_classes
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.scan import ScanJob


def write_photos(folder: Path, count: int) -> Path:
    """Varied photo-like JPEGs: smooth colour fields, shapes, texture, a little blur."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        rng = np.random.default_rng(seed)
        field = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
        image = Image.fromarray(field).resize((640, 480), Image.BICUBIC)
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            w, h = int(rng.integers(20, 200)), int(rng.integers(20, 200))
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((x, y, x + w, y + h), fill=colour)
        noise = rng.normal(0, 12, (480, 640, 3))
        pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(1)).save(
            folder / f"photo{seed:02d}.jpg", quality=90)
    return folder


def embedded_library(path: Path, photos: Path, model: str, runtime: str):
    library = open_library(path)
    run_job(ScanJob(library, [photos]))
    result = run_job(EmbedJob(library, model=model, device="cpu", runtime=runtime, batch_size=4))
    return library, result


@pytest.mark.slow
@pytest.mark.parametrize("model", ["efficientnet_lite2", "efficientnet_lite0"])
def test_onnx_runtime_vectors_match_torch_under_the_same_model_key(tmp_path, model):
    photos = write_photos(tmp_path / "photos", 10)
    by_torch, torch_result = embedded_library(tmp_path / "t.sqlite", photos, model, "torch")
    by_onnx, onnx_result = embedded_library(tmp_path / "o.sqlite", photos, model, "onnx")
    assert (torch_result.runtime, onnx_result.runtime) == ("torch", "onnx")
    ids_t, x_t = load_embeddings(by_torch, model)
    ids_o, x_o = load_embeddings(by_onnx, model)
    assert len(ids_t) == len(ids_o) == 10
    cosine = (x_t * x_o).sum(1) / np.linalg.norm(x_t, axis=1) / np.linalg.norm(x_o, axis=1)
    assert cosine.min() >= 0.9999
    top_t = load_top_classes(by_torch, model, ids_t)
    top_o = load_top_classes(by_onnx, model, ids_o)
    assert [top_t[int(i)][0][0] for i in ids_t] == [top_o[int(i)][0][0] for i in ids_o]
    by_torch.close()
    by_onnx.close()


def cache_files(folder: Path, model: str) -> tuple[Path, Path]:
    onnx_file, = folder.glob(f"{model}-*.onnx")
    return onnx_file, onnx_file.with_suffix(".json")


def truncate(onnx_file: Path, meta: Path) -> None:
    data = onnx_file.read_bytes()
    onnx_file.write_bytes(data[:len(data) // 2])


def flip_a_byte(onnx_file: Path, meta: Path) -> None:
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))


def garbage(onnx_file: Path, meta: Path) -> None:
    onnx_file.write_bytes(b"not a model")
    meta.write_text("{not json")


def lose_the_record(onnx_file: Path, meta: Path) -> None:
    meta.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("damage", [truncate, flip_a_byte, garbage, lose_the_record])
def test_a_damaged_cache_is_rebuilt_with_one_log_line(tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setenv(onnx_runtime.CACHE_ENV, str(tmp_path / "cache"))
    spec = model_spec("efficientnet_lite0")
    image = Image.new("RGB", (300, 240), (40, 160, 90))
    expected, _ = onnx_runtime.load_onnx_model(spec).embed_images([image])
    onnx_file, meta = cache_files(tmp_path / "cache", spec.name)
    damage(onnx_file, meta)

    with caplog.at_level(logging.INFO, logger=onnx_runtime.__name__):
        model = onnx_runtime.load_onnx_model(spec)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "rebuilding" in warnings[0].getMessage()
    features, _ = model.embed_images([image])
    np.testing.assert_allclose(features, expected, atol=1e-5)
    assert onnx_runtime._cache_problem(*cache_files(tmp_path / "cache", spec.name)) is None


@pytest.mark.slow
def test_the_cache_is_keyed_by_runtime_version_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv(onnx_runtime.CACHE_ENV, str(tmp_path / "cache"))
    spec = model_spec("efficientnet_lite0")
    onnx_runtime.load_onnx_model(spec)
    first, _ = cache_files(tmp_path / "cache", spec.name)
    stamp = first.stat().st_mtime_ns
    onnx_runtime.load_onnx_model(spec)
    assert first.stat().st_mtime_ns == stamp  # reused, not rebuilt
    import onnxruntime

    assert f"-ort{onnxruntime.__version__}-" in first.name and "-pre" in first.name


@pytest.mark.slow
def test_runtime_absent_means_torch_without_a_crash(library, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    photos = write_photos(tmp_path / "photos", 3)
    run_job(ScanJob(library, [photos]))
    result = run_job(EmbedJob(library, model="efficientnet_lite0", device="cpu"))
    assert (result.runtime, result.embedded) == ("torch", 3)


@pytest.mark.slow
def test_runtime_that_fails_to_load_falls_back_to_torch_with_one_line(library, tmp_path,
                                                                      monkeypatch, caplog):
    import onnxruntime

    def broken(*args, **kwargs):
        raise RuntimeError("simulated: the runtime's library does not load")

    monkeypatch.setattr(onnxruntime, "InferenceSession", broken)
    photos = write_photos(tmp_path / "photos", 3)
    run_job(ScanJob(library, [photos]))
    with caplog.at_level(logging.WARNING):
        result = run_job(EmbedJob(library, model="efficientnet_lite0", device="cpu"))
    assert (result.runtime, result.embedded) == ("torch", 3)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "with torch instead" in lines[0] and "\n" not in lines[0]


def test_quantized_model_without_the_runtime_is_one_sentence(library, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(EmbeddingError, match="ONNX Runtime only"):
        EmbedJob(library, model="efficientnet_lite2_int8", device="cpu").prepare()


def test_calibration_pictures_are_fixed_by_their_seed():
    from photoclust.core.embedding.quantize import CALIBRATION_SIZE, calibration_picture

    first, again, other = calibration_picture(3), calibration_picture(3), calibration_picture(4)
    assert first.size == CALIBRATION_SIZE and first.mode == "RGB"
    assert first.tobytes() == again.tobytes() != other.tobytes()
    assert np.asarray(first).std() > 10  # not a flat picture


@pytest.mark.slow
def test_int8_model_has_its_own_key_and_is_never_mixed_with_fp32(library, tmp_path):
    from photoclust.core.embedding.store import newest_clustering_model
    from photoclust.core.pipeline import OrganizeJob

    photos = write_photos(tmp_path / "photos", 8)
    fp32, int8 = "efficientnet_lite2", "efficientnet_lite2_int8"
    run_job(OrganizeJob(library, [photos], model=fp32, k=2, device="cpu"))
    moved = run_job(OrganizeJob(library, [photos], model=int8, k=2, device="cpu"))

    assert (moved.embed.embedded, moved.embed.already) == (8, 0)  # no fp32 vector reused
    assert moved.embed.runtime == "onnx" and newest_clustering_model(library) == int8
    ids_f, x_f = load_embeddings(library, fp32)
    ids_q, x_q = load_embeddings(library, int8)
    assert list(ids_f) == list(ids_q) and len(ids_q) == 8
    cosine = (x_f * x_q).sum(1) / np.linalg.norm(x_f, axis=1) / np.linalg.norm(x_q, axis=1)
    assert 0.95 <= cosine.mean() < 0.99999  # close to float32, yet its own vectors
