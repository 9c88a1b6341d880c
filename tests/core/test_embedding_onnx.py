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
    assert onnx_runtime.cache_problem(*cache_files(tmp_path / "cache", spec.name)) is None


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
    from photoclust.core.organize.pipeline import OrganizeJob

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


# --- int8 on every x86-64 CPU (issue #24, point 7) ------------------------------------------------
# Without VNNI, ONNX Runtime multiplies uint8 activations by int8 weights with ``vpmaddubsw``,
# which adds each pair of products into 16 bits with saturation. The vectors are right on every
# CPU exactly when no pair can pass 32,767: 2 x 255 x |weight| <= 32,767 for every weight of a
# matrix product. That is a property of the quantised file, the same on every CPU.

INT16_MAX = 32_767


def widest_pair_sums(path: Path) -> dict[str, tuple[int, bool]]:
    """For each Conv / Gemm / MatMul of a QDQ model whose weight is int8: the largest sum of two
    uint8 x int8 products its weights allow, and whether the node is depthwise."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    arrays = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    widest = {}
    for node in model.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul") or len(node.input) < 2:
            continue
        dequantize = producer.get(node.input[1])
        if dequantize is None or dequantize.op_type != "DequantizeLinear":
            continue
        weights = arrays.get(dequantize.input[0])
        if weights is None or weights.dtype != np.int8:
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        largest = int(np.abs(weights.astype(np.int32)).max())
        widest[node.name or node.output[0]] = (2 * 255 * largest, group > 1)
    return widest


def tiny_network(path: Path) -> None:
    """uint8 NHWC pixels -> conv 3x3 -> depthwise conv 3x3 -> pooled ``features`` -> Gemm
    ``logits``: the operators of EfficientNet-Lite, with fixed random weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name, *shape):
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Cast", ["pixels"], ["x0"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["x0"], ["x1"], perm=[0, 3, 1, 2]),
        helper.make_node("Div", ["x1", "scale"], ["x2"]),
        helper.make_node("Conv", ["x2", "w_conv", "b_conv"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w_depthwise", "b_depthwise"], ["c2"], group=8,
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"]),
        helper.make_node("Gemm", ["features", "w_fc", "b_fc"], ["logits"], transB=1),
    ]
    initializers = [
        numpy_helper.from_array(np.array(64.0, np.float32), "scale"),
        weight("w_conv", 8, 3, 3, 3), weight("b_conv", 8), weight("w_depthwise", 8, 1, 3, 3),
        weight("b_depthwise", 8), weight("w_fc", 10, 8), weight("b_fc", 10),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("pixels", TensorProto.UINT8,
                                                      ["batch", 32, 32, 3])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 8]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", onnx_runtime.OPSET)])
    onnx.save(model, str(path))


class TinyCrops:
    """What the quantiser needs of a model: ``crop`` (32 x 32 uint8 HWC)."""

    def crop(self, image: Image.Image) -> np.ndarray:
        return np.asarray(image.convert("RGB").resize((32, 32)), dtype=np.uint8)


def test_int8_weights_of_matrix_products_cannot_saturate_on_cpus_without_vnni(tmp_path):
    from photoclust.core.embedding.quantize import quantize_int8

    tiny_network(tmp_path / "fp32.onnx")
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", TinyCrops(), tmp_path)

    widest = widest_pair_sums(tmp_path / "int8.onnx")
    matrix = {name: pair for name, (pair, depthwise) in widest.items() if not depthwise}
    depthwise = [pair for pair, is_depthwise in widest.values() if is_depthwise]
    assert len(matrix) == 2 and len(depthwise) == 1  # the conv and the Gemm; the depthwise conv
    assert all(pair <= INT16_MAX for pair in matrix.values()), matrix
    # depthwise kernels add in 32 bits: they keep all 8 bits (127) and their precision
    assert depthwise[0] == 2 * 255 * 127


def test_int8_recipe_is_part_of_the_cache_key():
    fp32, int8 = model_spec("efficientnet_lite2"), model_spec("efficientnet_lite2_int8")
    assert f"-q{onnx_runtime.QUANTIZE_VERSION}-" in onnx_runtime.cache_key(int8, None, "1.0")
    assert "-q" not in onnx_runtime.cache_key(fp32, None, "1.0")  # fp32 exports stay valid


@pytest.mark.slow
def test_bundled_int8_model_cannot_saturate_on_cpus_without_vnni():
    spec = model_spec("efficientnet_lite2_int8")
    import onnxruntime

    path, meta = onnx_runtime.cached_model(spec, None, onnxruntime.__version__)
    widest = widest_pair_sums(path)
    matrix = [pair for pair, depthwise in widest.values() if not depthwise]
    assert meta["quantized"] and len(matrix) > 30
    assert max(matrix) <= INT16_MAX
