"""What torch.cuda would say about this machine, without importing torch in a process that does not train.

The web server prices runs, names the device and sizes its worker pool; importing torch there costs seconds (and
memory) for nothing else. Where torch is imported already (a worker on a machine with a GPU driver, a test) torch is
asked directly, as before.
Elsewhere a machine without a GPU driver has no CUDA device, as torch would say; on one with a driver a
short-lived Python asks torch once, and its answers hold for the life of the process (torch keeps its own as long).
Whether the CPU multiplies bfloat16 natively is read from the CPU's flags, the same in every process.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from tlcore.core import settings

# AMD's kernel driver (a ROCm build of torch answers torch.cuda too); NVIDIA's driver library on Linux and Windows.
AMD_DRIVER = "/dev/kfd"
CUDA_DRIVER_LIBRARIES = ("libcuda.so.1", "nvcuda.dll")
CPU_INFO = Path("/proc/cpuinfo")
# x86 instructions oneDNN multiplies bfloat16 matrices with (AVX512-BF16: Zen 4, Cooper Lake; AMX: Sapphire Rapids).
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
ASK = "import json, torch\nfrom tlcore.train.device import answers\nprint(json.dumps(answers(torch)))\n"
QUESTIONS = {"available": lambda torch: torch.cuda.is_available(),
             "count": lambda torch: torch.cuda.device_count(),
             "name": lambda torch: torch.cuda.get_device_name(0),
             "bf16": lambda torch: torch.cuda.is_bf16_supported()}


def cuda_available() -> bool:
    """torch.cuda.is_available()."""
    return _answer("available")


def cuda_device_count() -> int:
    """torch.cuda.device_count()."""
    return _answer("count")


def cuda_device_name() -> str:
    """torch.cuda.get_device_name(0); only where a CUDA device is available."""
    return _answer("name")


def cuda_bf16_supported() -> bool:
    """torch.cuda.is_bf16_supported(); only where a CUDA device is available."""
    return _answer("bf16")


@cache
def cpu_bf16_native() -> bool:
    """True when this CPU has bfloat16 matrix instructions (Linux's /proc/cpuinfo flags; False where there is no
    such file). Without them torch emulates bfloat16, which is slower than float32."""
    try:
        return cpu_flags_have_bf16(CPU_INFO.read_text(errors="replace"))
    except OSError:
        return False


def cpu_flags_have_bf16(cpuinfo: str) -> bool:
    """Whether a /proc/cpuinfo text lists a bfloat16 matrix instruction among the first CPU's flags."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return not CPU_BF16_FLAGS.isdisjoint(value.split())
    return False


def answers(torch: Any) -> dict[str, Any]:
    """Every answer torch gives here (those about device 0 only where there is one)."""
    asked = ("available", "count", "name", "bf16") if torch.cuda.is_available() else ("available", "count")
    return {q: QUESTIONS[q](torch) for q in asked}


def _answer(question: str) -> Any:
    torch = sys.modules.get("torch")
    return QUESTIONS[question](torch) if torch is not None else _asked()[question]


@cache
def _asked() -> dict[str, Any]:
    if not driver_present():
        return {"available": False, "count": 0}
    try:
        out = subprocess.run([sys.executable, "-c", ASK], cwd=PACKAGE_ROOT, capture_output=True, text=True,
                             timeout=300, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):  # then torch here, as before
        import torch

        return answers(torch)


def driver_present() -> bool:
    """Whether this machine has a GPU driver (AMD's, or NVIDIA's library loads): torch then answers about it."""
    if os.path.exists(AMD_DRIVER):
        return True
    for name in CUDA_DRIVER_LIBRARIES:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


_assigned: int | None = None  # this process's, once it says (`set_thread_budget`: a worker)


def set_thread_budget(threads: int) -> None:
    """The threads every later run in this process computes with on the CPU (a worker: the CPUs it may use). Kept
    here rather than in the environment, which is part of a worker's key (`tlcore.runs.worker_key`)."""
    global _assigned
    _assigned = threads


def assigned_threads() -> int | None:
    """What `set_thread_budget` gave this process, or None (a process that was given none keeps torch's own)."""
    return _assigned


def thread_budget() -> int:
    """Threads a run computes with on the CPU, in PyTorch or ONNX Runtime: what this process was given
    (`set_thread_budget`), else `TLAB_TORCH_THREADS`, else what torch has in this process (a Ray actor: the CPUs
    it holds), else all CPUs."""
    if _assigned is not None:
        return _assigned
    torch = sys.modules.get("torch")
    return settings.torch_threads(torch.get_num_threads() if torch is not None else os.cpu_count() or 1)
