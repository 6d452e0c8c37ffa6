"""Choosing the device, numeric precision and runtime an encoder runs with.

The automatic choice, measured on 2 cores (``bench/embed_text.py``, ``bench/embed_images.py``):

=========================================  ==========================  ===========================
machine                                    text                        photos
=========================================  ==========================  ===========================
CUDA GPU                                   torch fp16                  torch fp16
CPU with bf16 hardware (AMX, AVX512-BF16)  OpenVINO bf16               OpenVINO bf16
any other CPU (AVX2 laptops, AMD EPYC)     ONNX Runtime int8           ONNX Runtime fp32
=========================================  ==========================  ===========================

torch fp32 stays the reference every other path is compared with. A runtime that is not
installed falls back to torch with the same precision where torch has it.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from prodsim.errors import BadInputError

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
RUNTIMES = ("auto", "torch", "onnx", "openvino")
RUNTIME_NAMES = {"torch": "torch", "onnx": "ONNX Runtime", "openvino": "OpenVINO", "numpy": "numpy"}
# Precisions each runtime runs; int8 means dynamic int8 matrix products (text models only).
SUPPORTED = {"torch": {"fp32", "bf16", "fp16"}, "onnx": {"fp32", "int8"}, "openvino": {"fp32", "bf16"}}
ASSUME_NO_BF16_ENV = "PRODSIM_ASSUME_NO_BF16"  # "1": choose as on a CPU without bf16 hardware (tests that path anywhere)
RUNTIME_ENV = "PRODSIM_RUNTIME"


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where it does not exist)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name, e.g. 'Intel(R) Xeon(R) Processor' (for benchmark output)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def cpu_has_fast_bf16() -> bool:
    """True where bf16 matrix maths runs in hardware (AMX or AVX-512 BF16).

    torch.backends.cpu.get_cpu_capability() reports only "AVX512" on AMX machines, so
    the flags are read directly.
    """
    if os.environ.get(ASSUME_NO_BF16_ENV) == "1":
        return False
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def resolve_device(requested: str | None = "auto") -> str:
    """'cuda' when asked for or available under 'auto', else 'cpu'."""
    import torch

    if requested in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BadInputError("A CUDA GPU was asked for, but torch sees none here. Use --device cpu or auto.")
    return requested


def resolve_precision(requested: str | None, device: str) -> str:
    """The precision 'auto' stands for on torch: fp16 on CUDA, bf16 on CPUs with bf16 hardware, else fp32."""
    _check(requested, PRECISIONS, "precision")
    if requested not in (None, "auto"):
        return requested
    if device.startswith("cuda"):
        return "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def installed(runtime: str) -> bool:
    """Whether a runtime's Python package can be imported (torch always can here)."""
    module = {"onnx": "onnxruntime", "openvino": "openvino"}.get(runtime)
    return module is None or importlib.util.find_spec(module) is not None


def choose(modality: str, device: str, precision: str | None = "auto", runtime: str | None = "auto") -> tuple[str, str]:
    """(runtime, precision) an encoder runs with; see the table in this module's docstring.

    Args:
        modality: "text" or "image" (int8 is used for text only).
        device: a resolved device ("cpu", "cuda", "cuda:1").
        precision, runtime: what was asked for; "auto" or None lets prodsim choose.
            ``PRODSIM_RUNTIME`` sets the runtime when the caller leaves it on auto.

    Raises:
        BadInputError: an unknown name, or a runtime asked for that cannot run the precision or device.
    """
    _check(precision, PRECISIONS, "precision")
    runtime = runtime if runtime not in (None, "auto") else os.environ.get(RUNTIME_ENV, "auto")
    _check(runtime, RUNTIMES, "runtime")
    if device.startswith("cuda"):
        if runtime not in ("auto", "torch"):
            raise BadInputError(f"The {RUNTIME_NAMES[runtime]} path runs on the CPU only; on a GPU prodsim uses torch.")
        return "torch", resolve_precision(precision, device)
    if runtime == "auto" and precision in (None, "auto"):
        return _automatic(modality)
    if precision in (None, "auto"):
        precision = _default_precision(runtime, modality)
    if modality != "text" and precision == "int8":
        precision = "fp32"  # dynamic int8 covers matrix products, not the convolutions of photo models
    if runtime == "auto":
        candidates = [r for r in PREFERENCE[precision] if installed(r)]
        if not candidates:
            raise BadInputError(f"{precision} needs ONNX Runtime, which is not installed (pip install onnxruntime).")
        return candidates[0], precision
    if precision not in SUPPORTED[runtime]:
        raise BadInputError(f"{RUNTIME_NAMES[runtime]} runs {' or '.join(sorted(SUPPORTED[runtime]))}, not {precision}.")
    if not installed(runtime):
        raise BadInputError(f"{RUNTIME_NAMES[runtime]} is not installed here (pip install {'onnxruntime' if runtime == 'onnx' else runtime}).")
    return runtime, precision


# Runtimes to try, fastest first, for a precision asked for on the CPU.
PREFERENCE = {"fp32": ("onnx", "torch"), "bf16": ("openvino", "torch"), "int8": ("onnx",), "fp16": ("torch",)}


def _automatic(modality: str) -> tuple[str, str]:
    if cpu_has_fast_bf16():
        return ("openvino", "bf16") if installed("openvino") else ("torch", "bf16")
    if installed("onnx"):
        return "onnx", "int8" if modality == "text" else "fp32"
    return "torch", "fp32"


def _default_precision(runtime: str, modality: str) -> str:
    """The precision a runtime asked for by name runs when the precision is left on auto."""
    if runtime == "onnx":
        return "int8" if modality == "text" else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def _check(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value not in (None, *allowed):
        raise BadInputError(f"Unknown {what} '{value}'. Choose one of {', '.join(allowed)}.")


def describe(device: str, parts: list[tuple[str, str, str]]) -> str:
    """The sidebar's line for the active encoders, from (what, runtime, precision) per encoder.

    'CPU · OpenVINO bf16', 'CPU · ONNX Runtime int8 text, fp32 photos', 'CUDA · torch fp16'.
    """
    head = f"{device.split(':')[0].upper()} · "
    if len({(runtime, precision) for _, runtime, precision in parts}) == 1:
        return head + f"{RUNTIME_NAMES[parts[0][1]]} {parts[0][2]}"
    if len({runtime for _, runtime, _ in parts}) == 1:
        return head + RUNTIME_NAMES[parts[0][1]] + " " + ", ".join(f"{precision} {what}" for what, _, precision in parts)
    return head + ", ".join(f"{RUNTIME_NAMES[runtime]} {precision} {what}" for what, runtime, precision in parts)
