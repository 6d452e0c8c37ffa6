"""A local CLIP folder: one model that encodes both photos and text into the same space.

Loaded with transformers' ``CLIPModel``; when active, free-text queries can find photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prodsim.encoders.base import Encoder
from prodsim.encoders.device import resolve_device, resolve_precision
from prodsim.encoders.image import file_version
from prodsim.errors import ModelLoadError


class CLIPModelBundle:
    """The loaded CLIP model, tokenizer and image processor, shared by both encoder sides."""

    def __init__(self, path: str | Path, device: str = "auto", precision: str = "auto"):
        import torch
        from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

        self.path = Path(path)
        try:
            self.model = CLIPModel.from_pretrained(self.path).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.processor = CLIPImageProcessor.from_pretrained(self.path)
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"{self.path} could not be loaded as a CLIP model: {err}") from err
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        if self.precision == "int8":
            self.precision = "fp32"  # CLIP runs on torch, which has no int8 path here
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision, torch.float32)
        self.model = self.model.to(self.device, dtype=self.dtype)
        self.dim = int(self.model.config.projection_dim)
        weights = sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin"))
        self.version = file_version(weights[0]) if weights else "unversioned"


def _features(output):
    """transformers returns a tensor or, in newer releases, an output object with pooled features."""
    return output if hasattr(output, "float") else output.pooler_output


class CLIPTextEncoder(Encoder):
    """The text tower of a CLIP bundle."""

    modality = "text"

    def __init__(self, bundle: CLIPModelBundle):
        self.bundle, self.dim, self.device, self.precision = bundle, bundle.dim, bundle.device, bundle.precision

    @property
    def fingerprint(self) -> str:
        """Folder, weights and precision."""
        return f"CLIP:{self.bundle.path.name}|text|{self.bundle.version}|{self.precision}"

    def cost(self, prepared_item) -> int:
        """Character count."""
        return len(prepared_item)

    def forward(self, prepared_batch: list) -> np.ndarray:
        """Tokenises and encodes a batch of texts."""
        import torch

        inputs = self.bundle.tokenizer([t or " " for t in prepared_batch], padding=True, truncation=True,
                                       max_length=self.bundle.model.config.text_config.max_position_embeddings,
                                       return_tensors="pt").to(self.device)
        with torch.inference_mode():
            features = _features(self.bundle.model.get_text_features(**inputs)).float()
        return torch.nn.functional.normalize(features, dim=1).cpu().numpy()


class CLIPImageEncoder(Encoder):
    """The image tower of a CLIP bundle."""

    modality = "image"
    default_batch_size = 32

    def __init__(self, bundle: CLIPModelBundle):
        self.bundle, self.dim, self.device, self.precision = bundle, bundle.dim, bundle.device, bundle.precision

    @property
    def fingerprint(self) -> str:
        """Folder, weights and precision."""
        return f"CLIP:{self.bundle.path.name}|image|{self.bundle.version}|{self.precision}"

    def forward(self, prepared_batch: list) -> np.ndarray:
        """Decodes and encodes a batch of photos (zero rows for undecodable ones)."""
        import torch

        from prodsim.images import load_rgb

        images, ok = [], []
        for i, data in enumerate(prepared_batch):
            try:
                images.append(load_rgb(data))
                ok.append(i)
            except ValueError:
                continue
        out = np.zeros((len(prepared_batch), self.dim), dtype=np.float32)
        if images:
            pixels = self.bundle.processor(images=images, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                features = _features(self.bundle.model.get_image_features(
                    pixel_values=pixels.to(self.device, dtype=self.bundle.dtype))).float()
            out[ok] = torch.nn.functional.normalize(features, dim=1).cpu().numpy()
        return out
