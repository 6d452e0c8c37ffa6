"""Text encoder over any local Hugging Face model folder (BERT, MiniLM, bge, e5, ...)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from prodsim.encoders.base import Encoder
from prodsim.encoders.device import choose, resolve_device
from prodsim.errors import ModelLoadError

DEFAULT_MAX_TOKENS = 128


def mean_pool(hidden, mask):
    """Mean of token vectors where ``mask`` is 1.

    Args:
        hidden: (batch, tokens, dim) float tensor.
        mask: (batch, tokens) attention mask.

    Returns:
        (batch, dim) float32 tensor.
    """
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1).float()
    return summed / mask.sum(dim=1).float().clamp(min=1e-9)


class PooledSentence:
    """Wraps a transformers model so that one call gives mean-pooled unit vectors (the graph that is exported)."""

    def __new__(cls, model):
        import torch

        class Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                return torch.nn.functional.normalize(mean_pool(hidden, attention_mask), dim=1)

        return Module().eval()


class HFTextEncoder(Encoder):
    """Mean-pooled, L2-normalised sentence vectors from a transformers model folder.

    Args:
        path: folder with config.json, tokenizer files and weights.
        device: "auto", "cpu" or "cuda".
        precision: "auto" (see :mod:`prodsim.encoders.device`), "fp32" (the reference), "bf16",
            "fp16" (CUDA) or "int8" (ONNX Runtime, dynamic int8).
        max_tokens: longer texts are truncated (product texts rarely need more).
        label: short display name.
        runtime: "auto", "torch", "onnx" or "openvino".
    """

    modality = "text"

    def __init__(self, path: str | Path, device: str = "auto", precision: str = "auto",
                 max_tokens: int = DEFAULT_MAX_TOKENS, label: str | None = None, runtime: str = "auto"):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise ModelLoadError(f"{self.path} is not a Hugging Face model folder (no config.json). Pick the folder that holds config.json and the weights.")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            model = AutoModel.from_pretrained(self.path)
        except (OSError, ValueError, KeyError) as err:
            raise ModelLoadError(f"{self.path} could not be loaded as a text model: {err}") from err
        self.device = resolve_device(device)
        self.runtime, self.precision = choose("text", self.device, precision, runtime)
        model.eval()
        self.dim = int(model.config.hidden_size)
        self.max_tokens = min(max_tokens, int(getattr(self.tokenizer, "model_max_length", max_tokens) or max_tokens))
        self._label = label or self.path.name
        self._version = self._weights_version()
        self.graph = None
        if self.runtime != "torch":
            self.graph = self._compile(model)
            self.streams = self.graph.streams
            self.default_batch_size = 32  # measured: 1.15x batches of 64 on titles (caches stay warm)
            model = None  # the compiled graph holds the weights now
        elif self.precision in ("bf16", "fp16"):
            # Casting the weights beats autocast on CPU (no per-op casts): measured 1.5x on
            # MiniLM with AMX, cosine to fp32 >= 0.9999. Pooling stays in fp32.
            model = model.to(torch.bfloat16 if self.precision == "bf16" else torch.float16)
        self.model = model.to(self.device) if model is not None else None

    def _compile(self, model):
        """The model exported to ONNX once (cached by the weights' hash), on this encoder's runtime."""
        from prodsim.encoders.runtime import CompiledGraph, cached_graph, export_onnx, quantise_text_graph, weights_digest

        weights = sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin"))
        key = weights_digest(*weights, self.path / "config.json")
        example = self.tokenizer(["a product", "another product title"], padding=True, return_tensors="pt")
        dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}

        def export(path: Path) -> None:
            export_onnx(PooledSentence(model), (example["input_ids"], example["attention_mask"]),
                        ["input_ids", "attention_mask"], dynamic, path)

        graph = cached_graph(f"text-{self._label}", key, export)
        if self.precision == "int8":
            graph = cached_graph(f"text-{self._label}-int8", key,
                                 lambda path: quantise_text_graph(graph, path, int(model.config.intermediate_size)))
        return CompiledGraph(graph, self.runtime, self.precision)

    def _weights_version(self) -> str:
        """A short id of the weights, so a retrained model in the same folder re-embeds."""
        weights = sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin"))
        stamp = [f"{w.name}:{w.stat().st_size}:{int(w.stat().st_mtime)}" for w in weights]
        config = (self.path / "config.json").read_text()
        return hashlib.sha1(json.dumps([stamp, config]).encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        """Short display name."""
        return self._label

    @property
    def fingerprint(self) -> str:
        """Model, weights, precision and truncation; vectors from other settings are not reused.

        Runtimes share entries where their numbers agree (fp32 and bf16 on any runtime); int8
        names its recipe (fp32 feed-forward down-projections, 7-bit weights), so vectors from another
        quantisation are never mixed in.
        """
        numeric = "int8-ffn32-w7" if self.precision == "int8" else self.precision
        return f"{self._label}|text|{self._version}|{numeric}|{self.max_tokens}"

    def prepare(self, items: list) -> list:
        """Tokenises all texts once, unpadded, so batches can be sorted by token count."""
        encoded = self.tokenizer([t if t else " " for t in items], truncation=True, max_length=self.max_tokens)
        return encoded["input_ids"]

    def cost(self, prepared_item) -> int:
        """Token count."""
        return len(prepared_item)

    def forward_many(self, prepared_batches: list[list]) -> list[np.ndarray]:
        """Several batches at once on the compiled graph (torch: one after another)."""
        if self.graph is None:
            return super().forward_many(prepared_batches)
        feeds = []
        for batch in prepared_batches:
            padded = self.tokenizer.pad({"input_ids": batch}, return_tensors="np")
            feeds.append({k: padded[k].astype(np.int64) for k in ("input_ids", "attention_mask")})
        return self.graph.run_many(feeds)

    def forward(self, prepared_batch: list) -> np.ndarray:
        """Pads one batch of token ids, runs the model and mean-pools."""
        import torch

        if self.graph is not None:
            return self.forward_many([prepared_batch])[0]
        batch = self.tokenizer.pad({"input_ids": prepared_batch}, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
            pooled = mean_pool(hidden, batch["attention_mask"])
            pooled = torch.nn.functional.normalize(pooled, dim=1)
        return pooled.cpu().numpy().astype(np.float32)
