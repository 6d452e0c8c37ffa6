"""Helpers for the benchmark scripts: timing with warm-up and repeats, device sync, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("PRODSIM_DATASETS", REPO.parent / "shared" / "datasets"))  # elsewhere on a lent GPU machine
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def sync(device: str) -> None:
    """Waits for queued GPU work so timings are honest."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def items_per_second(run, n_items: int, device: str, repeats: int = 3) -> tuple[float, object]:
    """Best-of-``repeats`` throughput of ``run()`` after one warm-up call; returns (items/s, last result)."""
    fix_threads()
    result = run()
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        result = run()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return n_items / best, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
INTERESTING_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def fix_threads() -> int:
    """Pins torch's thread count (``BENCH_THREADS``, default every core) so runs compare; returns it."""
    import torch

    torch.set_num_threads(THREADS)
    return THREADS


def cpu_info() -> dict:
    """The CPU's model and the vector/matrix flags that decide which encoder path is fast."""
    from prodsim.encoders.device import cpu_flags, cpu_model

    return {"cpu_model": cpu_model(), "cpu_flags": [f for f in INTERESTING_FLAGS if f in cpu_flags()]}


def machine(device: str) -> dict:
    """What the numbers were measured on."""
    import torch

    info = {"device": device, "torch_threads": fix_threads(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), **cpu_info()}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def report(payload: dict) -> None:
    """Prints the JSON result and keeps a copy under bench/results/."""
    text = json.dumps(payload, indent=2)
    print(text)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{payload['bench']}-{payload['machine']['device']}.json").write_text(text)
