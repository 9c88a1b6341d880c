"""int8 versions of the bundled models: ONNX Runtime static quantisation (docs/performance.md).

Weights are quantised per output channel (int8), activations per tensor (uint8) with min/max
ranges calibrated on photo-like pictures rendered here, deterministically, from fixed seeds: the
same model key gives the same vectors on every computer, with no data set shipped or downloaded.
Every operator type is quantised: leaving all but the convolutions in float32 measured far worse
(mean cosine to float32 0.86 against 0.993 on 90 dataset photos), and calibrating on 16 real
photos instead of the rendered pictures gave the same 0.993. QDQ format: ONNX Runtime fuses it
into integer kernels (VNNI / AMX where the CPU has them).

The same vectors on every x86-64 CPU: without VNNI (AVX2 or AVX-512 only, e.g. AMD EPYC up to
Zen 3), ONNX Runtime's uint8 x int8 matrix kernels add pairs of products into 16 bits
(``vpmaddubsw``), which saturates once 2 x 255 x |weight| passes 32,767: with 8-bit weights the
vectors came out degraded on such CPUs (mean cosine to float32 0.948, min 0.75, against 0.992 on
VNNI, 24 dataset photos). So the weights of every convolution that runs as a matrix product and of
the classifier are quantised to 7 bits (``reduce_range``: |weight| <= 64, so the pairs never pass
32,640); depthwise convolutions, whose kernels add in 32 bits, keep 8 bits. Measured on the same
24 photos: mean cosine 0.981 (min 0.962), the same to four decimals on a VNNI CPU and under QEMU
emulating an AVX2-only AMD EPYC-Rome; 7 bits everywhere gave 0.972, uint8 weights 0.986 but ran
six times slower than int8. (docs/performance.md, "int8 on every CPU".)
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

log = logging.getLogger(__name__)

CALIBRATION_PICTURES = 32
CALIBRATION_SIZE = (480, 360)
CALIBRATION_BATCH = 8
#: Largest |int8 weight| a matrix-product weight may have: with uint8 activations, two products
#: sum to at most 2 x 255 x 64 = 32,640, inside int16 (ONNX Runtime's kernels without VNNI).
SEVEN_BIT_LIMIT = 64


def calibration_picture(seed: int, size: tuple[int, int] = CALIBRATION_SIZE) -> Image.Image:
    """A photo-like picture: a smooth colour field, lit shapes with gradients and textures,
    sensor noise and a little blur. Fixed by ``seed`` (numpy's PCG64 and Pillow's drawing)."""
    rng = np.random.default_rng(seed)
    width, height = size
    coarse = rng.integers(0, 256, (3 + seed % 4, 4 + seed % 5, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(-40, width - 40)), int(rng.integers(-40, height - 40))
        w, h = int(rng.integers(30, width // 2)), int(rng.integers(30, height // 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 4))
        box = (x0, y0, x0 + w, y0 + h)
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        elif kind == 2:
            points = [(int(rng.integers(x0, x0 + w)), int(rng.integers(y0, y0 + h)))
                      for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour)
        else:  # stripes: a texture
            step = int(rng.integers(3, 14))
            for x in range(x0, x0 + w, 2 * step):
                draw.rectangle((x, y0, x + step - 1, y0 + h), fill=colour)
    pixels = np.asarray(image, dtype=np.float32)
    light = np.linspace(rng.uniform(0.5, 1.0), rng.uniform(0.8, 1.3), height)[:, None, None]
    shot = pixels * light + rng.normal(0, rng.uniform(2, 14), pixels.shape)
    image = Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))


def calibration_batches(model: Any, count: int = CALIBRATION_PICTURES) -> Iterator[np.ndarray]:
    """uint8 NHWC batches of ``model``'s crops of the calibration pictures."""
    crops = [model.crop(calibration_picture(seed)) for seed in range(count)]
    for start in range(0, count, CALIBRATION_BATCH):
        yield np.stack(crops[start:start + CALIBRATION_BATCH])


def quantize_int8(fp32: Path, out: Path, model: Any, scratch: Path) -> None:
    """Write the static int8 quantisation of the float32 ONNX file ``fp32`` to ``out``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = calibration_batches(model)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"pixels": batch}

    prepared = scratch / "prepared.onnx"
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"TensorQuantOverrides": seven_bit_overrides(prepared)},
    )
    log.info("quantised %s to int8 on %d rendered pictures", fp32.name, CALIBRATION_PICTURES)


def matrix_product_weights(model: Any) -> dict[str, int]:
    """The float weight initializers of ``model`` (an ``onnx.ModelProto``) that ONNX Runtime
    multiplies as matrices (convolutions other than depthwise, Gemm, MatMul), with the axis of
    their output channels."""
    initializers = {init.name: len(init.dims) for init in model.graph.initializer}
    weights: dict[str, int] = {}
    for node in model.graph.node:
        if len(node.input) < 2 or node.input[1] not in initializers:
            continue
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Conv":
            group = attrs["group"].i if "group" in attrs else 1
            if group == 1 or initializers[node.input[1]] != 4:
                weights[node.input[1]] = 0
            else:
                weights.pop(node.input[1], None)  # depthwise (or grouped): 32-bit sums
        elif node.op_type == "Gemm":
            weights[node.input[1]] = 0 if "transB" in attrs and attrs["transB"].i else 1
        elif node.op_type == "MatMul":
            weights[node.input[1]] = initializers[node.input[1]] - 1
    return weights


def seven_bit_overrides(prepared: Path) -> dict[str, list[dict]]:
    """ONNX Runtime's per-tensor quantisation overrides: 7-bit (reduced range) per-channel
    weights for every matrix product of the model file ``prepared``."""
    import onnx

    model = onnx.load(str(prepared), load_external_data=False)
    return {name: [{"axis": axis, "reduce_range": True}]
            for name, axis in matrix_product_weights(model).items()}
