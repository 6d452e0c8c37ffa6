"""Exact top-k with torch on a GPU: the whole catalog in fp16 on the device, one matrix product per query batch.

On a GPU exact search stays fast into the millions (5M x 384 in fp16 is 3.8 GB), so no
approximate index is needed there; on a CPU this class works too but FAISS is faster.
"""

from __future__ import annotations

import numpy as np

from prodsim.index.base import VectorIndex

QUERY_BATCH = 4096


class TorchIndex(VectorIndex):
    """Brute-force cosine top-k in torch.

    Args:
        device: "cuda" (fp16 storage) or "cpu" (fp32).
    """

    def __init__(self, device: str = "cuda"):
        self.device = device

    def fit(self, vectors: np.ndarray) -> TorchIndex:
        import torch

        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.vectors = torch.as_tensor(np.ascontiguousarray(vectors, dtype=np.float32)).to(self.device, dtype)
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self.vectors))
        scores, rows = [], []
        with torch.inference_mode():
            for start in range(0, len(queries), QUERY_BATCH):
                block = torch.as_tensor(queries[start:start + QUERY_BATCH]).to(self.device, self.vectors.dtype)
                top = torch.topk(block @ self.vectors.T, k, dim=1)
                scores.append(top.values.float().cpu().numpy())
                rows.append(top.indices.cpu().numpy().astype(np.int64))
        return np.concatenate(scores), np.concatenate(rows)
