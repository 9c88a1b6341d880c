"""Device and runtime choice: a GPU first (ONNX Runtime's provider, else torch), then the CPU
(ONNX Runtime, else torch); explicit choices must exist. Tested on the CPU with pretend machines."""
from __future__ import annotations

import pytest

from photoclust.core.embedding import devices
from photoclust.core.embedding.backbones import EmbeddingError
from photoclust.core.embedding.devices import Machine

CPU = ("CPUExecutionProvider",)
CUDA = ("CUDAExecutionProvider", "CPUExecutionProvider")
COREML = ("CoreMLExecutionProvider", "CPUExecutionProvider")


def machine(onnx=CPU, nvidia=False, apple=False, torch_cuda=False, torch_mps=False,
            asked: list | None = None) -> Machine:
    """A pretend computer; ``asked`` records which torch checks were made."""
    def check(name, answer):
        def probe():
            if asked is not None:
                asked.append(name)
            return answer
        return probe
    return Machine(onnx_providers=onnx, nvidia_gpu=nvidia, apple_silicon=apple,
                   torch_cuda=check("cuda", torch_cuda), torch_mps=check("mps", torch_mps))


@pytest.mark.parametrize("computer, expected", [
    (machine(onnx=CUDA, nvidia=True, torch_cuda=True), ("cuda", "onnx", CUDA)),
    (machine(onnx=CPU, nvidia=True, torch_cuda=True), ("cuda", "torch", ())),
    (machine(onnx=None, nvidia=True, torch_cuda=True), ("cuda", "torch", ())),
    (machine(onnx=CPU, nvidia=True, torch_cuda=False), ("cpu", "onnx", CPU)),
    (machine(onnx=COREML, apple=True, torch_mps=True), ("mps", "onnx", COREML)),
    (machine(onnx=CPU, apple=True, torch_mps=True), ("mps", "torch", ())),
    (machine(onnx=CPU, apple=True, torch_mps=False), ("cpu", "onnx", CPU)),
    (machine(onnx=CPU), ("cpu", "onnx", CPU)),
    (machine(onnx=None), ("cpu", "torch", ())),
])
def test_auto_prefers_a_gpu_then_onnx_runtime_on_the_cpu(computer, expected):
    assert devices.choose_runtime("auto", "auto", computer) == expected


def test_a_cpu_only_machine_never_asks_torch_about_gpus():
    asked: list[str] = []
    assert devices.choose_runtime("auto", "auto", machine(asked=asked))[:2] == ("cpu", "onnx")
    assert asked == []


def test_torch_runtime_on_request_even_with_onnx_runtime_present():
    computer = machine(onnx=CUDA, nvidia=True, torch_cuda=True)
    assert devices.choose_runtime("auto", "torch", computer) == ("cuda", "torch", ())
    assert devices.choose_runtime("cpu", "torch", computer) == ("cpu", "torch", ())


def test_cpu_override_wins_over_a_gpu():
    computer = machine(onnx=CUDA, nvidia=True, torch_cuda=True)
    assert devices.choose_runtime("cpu", "auto", computer) == ("cpu", "onnx", CPU)


def test_explicit_cuda_index_is_kept():
    computer = machine(onnx=CUDA, nvidia=True)
    plan = devices.plan_for("cuda:1", machine=computer)
    assert plan.device == "cuda:1" and plan.device_id == 1 and plan.providers == CUDA


@pytest.mark.parametrize("requested", ["cuda", "mps"])
def test_absent_accelerator_is_a_clear_error(requested):
    with pytest.raises(EmbeddingError, match="not available|No CUDA"):
        devices.choose_runtime(requested, "auto", machine())


def test_onnx_runtime_requested_but_absent_is_a_clear_error():
    with pytest.raises(EmbeddingError, match="ONNX Runtime is not installed"):
        devices.choose_runtime("cpu", "onnx", machine(onnx=None))


def test_unknown_device_or_runtime_names_the_choices():
    with pytest.raises(EmbeddingError, match="auto, cpu, cuda, mps"):
        devices.choose_runtime("tpu", "auto", machine())
    with pytest.raises(EmbeddingError, match="auto, onnx, torch"):
        devices.choose_runtime("cpu", "tensorflow", machine())


def test_torch_gpu_plan_uses_half_precision_pinned_memory_and_large_batches():
    plan = devices.plan_for("auto", machine=machine(onnx=None, nvidia=True, torch_cuda=True))
    assert plan.device_type == "cuda" and plan.half_precision and plan.pin_memory
    assert plan.batch_size == devices.DEFAULT_BATCH_SIZE["cuda"] > devices.DEFAULT_BATCH_SIZE["cpu"]


def test_falling_back_to_torch_keeps_the_device():
    plan = devices.plan_for("auto", machine=machine(onnx=CUDA, nvidia=True))
    assert (plan.runtime, plan.half_precision) == ("onnx", False)
    fallback = plan.with_torch()
    assert (fallback.device, fallback.runtime, fallback.providers) == ("cuda", "torch", ())
    assert fallback.half_precision and fallback.batch_size == plan.batch_size


def test_cpu_plan_is_fp32_with_all_cores_and_given_batch():
    plan = devices.plan_for("auto", batch_size=8, machine=machine())
    assert plan.device == "cpu" and plan.runtime == "onnx" and not plan.half_precision
    assert plan.batch_size == 8 and plan.threads >= 1 and not plan.pin_memory
    assert "ONNX Runtime" in plan.describe()


def test_onnx_runtime_on_the_cpu_takes_small_batches():
    assert devices.plan_for("cpu", machine=machine()).batch_size == devices.ONNX_CPU_BATCH_SIZE
    torch_plan = devices.plan_for("cpu", machine=machine(onnx=None))
    assert torch_plan.batch_size == devices.DEFAULT_BATCH_SIZE["cpu"]


def test_runtime_from_the_environment(monkeypatch):
    monkeypatch.setenv(devices.RUNTIME_ENV, "torch")
    assert devices.plan_for("cpu", machine=machine()).runtime == "torch"


def test_zero_batch_size_is_refused():
    with pytest.raises(EmbeddingError, match="at least 1"):
        devices.plan_for("cpu", batch_size=0, machine=machine())
