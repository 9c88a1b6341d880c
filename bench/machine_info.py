"""One line describing the machine a benchmark ran on, printed by every script in bench/."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_machine() -> str:
    """CPU, cores, load (shared machines skew figures), Python, torch and the accelerator."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = f"load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = "load average unknown"
    try:
        import torch

        torch_version = torch.__version__
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except ImportError:
        torch_version, gpu = "not installed", "none"
    return (f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable), {load}, "
            f"Python {platform.python_version()}, torch {torch_version}, GPU {gpu}")
