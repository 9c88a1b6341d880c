"""Where the model runs and on what: a GPU when there is one, else the CPU; ONNX Runtime when it
can, else torch (docs/performance.md).

``auto`` tries an NVIDIA GPU (ONNX Runtime's CUDA provider, else torch CUDA in float16), then
Apple silicon (ONNX Runtime's CoreML provider, else torch MPS), then the CPU (ONNX Runtime, else
torch). What the machine offers is probed into a plain ``Machine`` so that the choice is tested
on any computer, and so that a CPU-only machine never imports torch just to look for a GPU: torch
is asked only when a driver or the platform says that a GPU may be there.
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, ContextManager

from photoclust.core.embedding.backbones import EmbeddingError
from photoclust.core.embedding.onnx_runtime import CPU_PROVIDER, GPU_PROVIDERS, available_providers

if TYPE_CHECKING:  # torch is imported on first use, so the CLI starts fast
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
RUNTIME_CHOICES = ("auto", "onnx", "torch")
RUNTIME_ENV = "PHOTOCLUST_RUNTIME"
DEFAULT_BATCH_SIZE = {"cuda": 256, "mps": 64, "cpu": 32}
#: ONNX Runtime on the CPU: small batches are faster (cache) and need far less memory; Lite2 fp32
#: measured 12 ms per photo and 380 MB at 8, 17 ms and 930 MB at 32 (docs/performance.md).
ONNX_CPU_BATCH_SIZE = 8


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def torch_mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def nvidia_driver_present() -> bool:
    """A cheap hint that an NVIDIA GPU may be usable (no torch import)."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    if sys.platform == "win32":
        system = os.path.join(os.environ.get("SystemRoot", r"C:\Windows"), "System32")
        return os.path.exists(os.path.join(system, "nvcuda.dll"))
    return shutil.which("nvidia-smi") is not None


@dataclass(frozen=True)
class Machine:
    """What this computer offers for inference. ``onnx_providers`` is None when ONNX Runtime
    cannot be imported; the torch checks are functions, called only when needed."""

    onnx_providers: tuple[str, ...] | None
    nvidia_gpu: bool
    apple_silicon: bool
    torch_cuda: Callable[[], bool] = field(default=torch_cuda_available, compare=False)
    torch_mps: Callable[[], bool] = field(default=torch_mps_available, compare=False)


def probe_machine() -> Machine:
    return Machine(
        onnx_providers=available_providers(),
        nvidia_gpu=nvidia_driver_present(),
        apple_silicon=sys.platform == "darwin" and platform.machine() == "arm64",
    )


@dataclass(frozen=True)
class DevicePlan:
    """How inference runs: ``device`` ("cpu", "cuda", "cuda:1", "mps"), ``runtime`` ("onnx" or
    "torch") and, for ONNX Runtime, its execution ``providers``, the wanted one first."""

    device: str
    runtime: str
    providers: tuple[str, ...]
    batch_size: int
    half_precision: bool
    pin_memory: bool
    channels_last: bool
    threads: int

    @property
    def device_type(self) -> str:
        return self.device.split(":")[0]

    @property
    def device_id(self) -> int:
        return int(self.device.split(":")[1]) if ":" in self.device else 0

    def torch_device(self) -> torch.device:
        import torch

        return torch.device(self.device)

    def with_torch(self) -> DevicePlan:
        """The same device run by torch (fp16 on GPUs): the fallback when ONNX Runtime fails."""
        return replace(self, runtime="torch", providers=(),
                       half_precision=self.device_type in ("cuda", "mps"))

    def autocast(self) -> ContextManager:
        """float16 autocast on GPUs with torch; nothing otherwise."""
        if self.half_precision and self.runtime == "torch":
            import torch

            return torch.autocast(device_type=self.device_type, dtype=torch.float16)
        return nullcontext()

    def apply_threads(self) -> None:
        """Let torch use every core for CPU inference (ONNX Runtime sets its own)."""
        if self.runtime != "torch" or self.device_type != "cpu":
            return
        import torch

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def describe(self) -> str:
        if self.runtime == "onnx":
            extras = ["ONNX Runtime " + self.providers[0].removesuffix("ExecutionProvider")]
        else:
            extras = ["torch", "fp16 autocast" if self.half_precision else "fp32"]
        if self.device_type == "cpu":
            extras.append(f"{self.threads} threads")
        return f"{self.device} ({', '.join(extras)}, batch {self.batch_size})"


def choose_runtime(requested_device: str = "auto", requested_runtime: str = "auto",
                   machine: Machine | None = None) -> tuple[str, str, tuple[str, ...]]:
    """``(device, runtime, onnx providers)`` for the request; see the module docstring.

    An explicit device or runtime must be present, else ``EmbeddingError`` in one sentence.
    """
    device = (requested_device or "auto").lower()
    runtime = (requested_runtime or "auto").lower()
    if device not in DEVICE_CHOICES and not device.startswith("cuda:"):
        raise EmbeddingError(
            f"Unknown device {device!r}; choose one of: {', '.join(DEVICE_CHOICES)}.")
    if runtime not in RUNTIME_CHOICES:
        raise EmbeddingError(
            f"Unknown runtime {runtime!r}; choose one of: {', '.join(RUNTIME_CHOICES)}.")
    machine = machine or probe_machine()
    onnx = set(machine.onnx_providers or ()) if runtime != "torch" else set()
    if runtime == "onnx" and machine.onnx_providers is None:
        raise EmbeddingError("ONNX Runtime is not installed here (pip install onnxruntime); "
                             "use --runtime auto or --runtime torch.")

    def on_gpu(kind: str) -> tuple[str, str, tuple[str, ...]] | None:
        if GPU_PROVIDERS[kind] in onnx:
            return kind, "onnx", (GPU_PROVIDERS[kind], CPU_PROVIDER)
        if runtime != "onnx" and (machine.torch_cuda() if kind == "cuda" else machine.torch_mps()):
            return kind, "torch", ()
        return None

    if device == "auto":
        for kind, hint in (("cuda", machine.nvidia_gpu), ("mps", machine.apple_silicon)):
            choice = on_gpu(kind) if hint else None
            if choice:
                return choice
        device = "cpu"
    elif device != "cpu":
        choice = on_gpu(device.split(":")[0])
        if choice is None:
            if device.startswith("cuda"):
                raise EmbeddingError(
                    "No CUDA GPU is available here; use --device auto or --device cpu.")
            raise EmbeddingError(
                "Apple MPS is not available here; use --device auto or --device cpu.")
        return (device, *choice[1:])
    if CPU_PROVIDER in onnx:
        return "cpu", "onnx", (CPU_PROVIDER,)
    return "cpu", "torch", ()


def plan_for(requested: str = "auto", batch_size: int | None = None, runtime: str | None = None,
             machine: Machine | None = None) -> DevicePlan:
    """The plan for a device and runtime request; the runtime defaults to ``$PHOTOCLUST_RUNTIME``
    or ``auto``."""
    if batch_size is not None and batch_size < 1:
        raise EmbeddingError("The batch size must be at least 1.")
    runtime = runtime or os.environ.get(RUNTIME_ENV) or "auto"
    device, runtime, providers = choose_runtime(requested, runtime, machine)
    kind = device.split(":")[0]
    return DevicePlan(
        device=device, runtime=runtime, providers=providers,
        batch_size=batch_size or (ONNX_CPU_BATCH_SIZE if (kind, runtime) == ("cpu", "onnx")
                                  else DEFAULT_BATCH_SIZE[kind]),
        half_precision=kind in ("cuda", "mps") and runtime == "torch",
        pin_memory=kind == "cuda" and runtime == "torch",
        channels_last=True,
        threads=os.cpu_count() or 1,
    )
