"""Optimised CPU runtimes for the encoders: ONNX Runtime and OpenVINO over one exported ONNX graph.

An encoder's torch network is exported once to ONNX (with its pooling and normalisation
inside the graph) into a cache folder keyed by the hash of the weights' bytes and the
export recipe, so a retrained model in the same folder is exported again and nothing is
downloaded. Text graphs for int8 are quantised there too (dynamic int8, per output channel;
the feed-forward down-projections stay fp32: with them in int8, MiniLM's mean cosine to
fp32 was 0.9925, without 0.996, at about the same speed-up).

:class:`CompiledGraph` runs several batches at once (``streams``): on 2 cores two 1-thread
streams beat one 2-thread run. ONNX Runtime sessions take calls from several Python threads;
OpenVINO is only ever called from one Python thread at a time (a lock), and runs the batches
in parallel itself through its asynchronous infer queue: two Python threads inside OpenVINO's
input handling at once were seen to deadlock.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
MODEL_CACHE_ENV = "PRODSIM_MODEL_CACHE"
EXPORT_VERSION = "2"  # bump when the export or quantisation recipe changes (2: 7-bit int8 weights)


def model_cache() -> Path:
    """Where exported graphs live: ``$PRODSIM_MODEL_CACHE`` or ``~/.cache/prodsim/models``."""
    return Path(os.environ.get(MODEL_CACHE_ENV, Path.home() / ".cache" / "prodsim" / "models"))


@lru_cache(maxsize=32)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_digest(*paths: Path) -> str:
    """SHA-1 of the files' bytes (computed once per file version in a process)."""
    digest = hashlib.sha1()
    for path in paths:
        stat = path.stat()
        digest.update(_digest_of(str(path), stat.st_size, stat.st_mtime_ns).encode())
    return digest.hexdigest()[:16]


def cached_graph(name: str, key: str, build: Callable[[Path], None]) -> Path:
    """The ONNX file ``name-key/model.onnx`` of the cache, built by ``build(path)`` the first time.

    A lock keeps two processes from building it at once; the file appears by a rename, so a
    crash mid-export never leaves a half-written graph behind.
    """
    from filelock import FileLock

    cache = model_cache()
    folder = cache / f"{name}-{key}-v{EXPORT_VERSION}"
    if (folder / "model.onnx").is_file():
        return folder / "model.onnx"
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if not (folder / "model.onnx").is_file():
            staging = Path(tempfile.mkdtemp(dir=cache, prefix=".export-"))
            try:
                build(staging / "model.onnx")
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return folder / "model.onnx"


def export_onnx(module, example: tuple, input_names: list[str], dynamic: dict[str, dict[int, str]], path: Path) -> None:
    """Exports a torch module (eval mode, fp32) to ONNX with the given dynamic axes."""
    import torch

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(module, example, str(path), input_names=input_names, output_names=["vectors"],
                          dynamic_axes={**dynamic, "vectors": {0: "batch"}}, opset_version=17, dynamo=False)


def quantise_text_graph(source: Path, target: Path, intermediate_size: int) -> None:
    """Dynamic int8 of a transformer's matrix products, except the feed-forward down-projections.

    Those are the MatMuls whose weight has ``intermediate_size`` rows (1536 -> 384 in MiniLM). Weights use 7 bits
    (``reduce_range``): a CPU without VNNI (AVX2 only, where this int8 path is the automatic one) multiplies uint8
    activations by int8 weights in pairs summed into 16 bits (VPMADDUBSW), which saturate with 8-bit weights, so
    the same graph gave other vectors there than on a VNNI or AMX machine; with 7 bits no pair can saturate and both
    kinds of CPU compute the same integer products.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    weights = {w.name: tuple(w.dims) for w in model.graph.initializer}
    keep_fp32 = [node.name for node in model.graph.node if node.op_type == "MatMul"
                 and any(weights.get(name, (0,))[0] == intermediate_size for name in node.input)]
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                     nodes_to_exclude=keep_fp32)


def streams() -> int:
    """Batches run at once: one per core (each on one thread)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class CompiledGraph:
    """An exported graph on ONNX Runtime or OpenVINO; ``run`` may be called from several threads at once.

    Args:
        path: the ONNX file.
        runtime: "onnx" or "openvino".
        precision: "fp32", "bf16" (OpenVINO on bf16 hardware) or "int8" (a quantised graph on ONNX Runtime).
    """

    def __init__(self, path: Path, runtime: str, precision: str):
        self.runtime, self.precision, self.streams = runtime, precision, streams()
        if runtime == "onnx":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        else:
            import openvino as ov

            core = ov.Core()
            self._compiled = core.compile_model(str(path), "CPU", {
                "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": self.streams, "INFERENCE_NUM_THREADS": self.streams,
                "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"})
            self._queue = ov.AsyncInferQueue(self._compiled, self.streams)
            self._lock = threading.Lock()

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The graph's output for one batch, float32."""
        return self.run_many([feeds])[0]

    def run_many(self, batches: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        """The graph's outputs for several batches, run ``streams`` at a time, in order."""
        if self.runtime == "onnx":
            if len(batches) == 1:
                return [self._session.run(None, batches[0])[0].astype(np.float32, copy=False)]
            with ThreadPoolExecutor(min(self.streams, len(batches))) as pool:
                return [out[0].astype(np.float32, copy=False) for out in pool.map(lambda feeds: self._session.run(None, feeds), batches)]
        results: list[np.ndarray | None] = [None] * len(batches)

        def keep(request, position: int) -> None:
            results[position] = np.array(request.get_output_tensor(0).data, dtype=np.float32)

        with self._lock:
            self._queue.set_callback(keep)
            for position, feeds in enumerate(batches):
                self._queue.start_async(feeds, position)
            self._queue.wait_all()
        return results
