"""Device choice: CUDA, then MPS, then CPU; explicit choices must exist (tested on the CPU)."""
from __future__ import annotations

import pytest
import torch

from photoclust.core.embedding import devices
from photoclust.core.embedding.backbones import EmbeddingError


@pytest.fixture
def machine(monkeypatch):
    """Pretend which accelerators the machine has."""
    def pretend(cuda: bool, mps: bool):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return pretend


@pytest.mark.parametrize("cuda,mps,expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(machine, cuda, mps, expected):
    machine(cuda, mps)
    assert devices.choose_device("auto").type == expected


def test_cpu_override_wins_over_a_gpu(machine):
    machine(True, True)
    assert devices.choose_device("cpu").type == "cpu"


@pytest.mark.parametrize("requested", ["cuda", "mps"])
def test_absent_accelerator_is_a_clear_error(machine, requested):
    machine(False, False)
    with pytest.raises(EmbeddingError, match="not available|No CUDA"):
        devices.choose_device(requested)


def test_unknown_device_names_the_choices(machine):
    machine(False, False)
    with pytest.raises(EmbeddingError, match="auto, cpu, cuda, mps"):
        devices.choose_device("tpu")


def test_gpu_plan_uses_half_precision_pinned_memory_and_large_batches(machine):
    machine(True, False)
    plan = devices.plan_for("auto")
    assert plan.device.type == "cuda" and plan.half_precision and plan.pin_memory
    assert plan.batch_size == devices.DEFAULT_BATCH_SIZE["cuda"] > devices.DEFAULT_BATCH_SIZE["cpu"]


def test_cpu_plan_is_fp32_with_all_cores_and_given_batch(machine):
    machine(False, False)
    plan = devices.plan_for("auto", batch_size=8)
    assert plan.device.type == "cpu" and not plan.half_precision and not plan.pin_memory
    assert plan.batch_size == 8 and plan.channels_last and plan.threads >= 1
    with plan.autocast():
        assert not torch.is_autocast_enabled()


def test_zero_batch_size_is_refused(machine):
    machine(False, False)
    with pytest.raises(EmbeddingError, match="at least 1"):
        devices.plan_for("cpu", batch_size=0)
