"""Contrastive fine-tuning of a text encoder on a catalog's own matching pairs.

Each batch holds B matching pairs (left text, right text) and, per pair, one hard negative:
the highest-scoring right record labelled as *not* matching that left record, else the
best-scoring right record that is not a known match (mined from the current scores). The
loss is the in-batch softmax of sentence-transformers' MultipleNegativesRankingLoss, in both
directions. After each epoch the validation pairs are scored (ROC-AUC of the cosine); the
best epoch's weights are kept and training stops when it stops improving. A cancelled or
killed run leaves the best finished epoch (or nothing) in the output folder, never a
half-written model: each checkpoint is written beside it and renamed into place.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from prodsim.encoders.device import cpu_has_fast_bf16, resolve_device
from prodsim.encoders.text import mean_pool
from prodsim.errors import Cancelled


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of a fine-tuning run (saved with the model)."""

    # At most; the best validation epoch is kept. Amazon-Google's validation AUC still rose at epoch 4 in every run
    # (seeds 0-2), and 6 raised its mean test F1 0.781 -> 0.786 and R@1 0.855 -> 0.864 (bench/train_matching.py).
    epochs: int = 6
    batch_size: int = 32
    learning_rate: float = 3e-5
    max_tokens: int = 96
    scale: float = 20.0  # inverse temperature of the in-batch softmax (sentence-transformers' default)
    patience: int = 1
    seed: int = 0


@dataclass
class EpochReport:
    """One finished epoch: mean training loss and the validation ROC-AUC."""

    epoch: int
    loss: float
    valid_auc: float
    seconds: float


def hard_negatives(scores: np.ndarray, rows: np.ndarray, cols: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each positive pair (rows[i], cols[i]), a right column to use as its hard negative.

    Args:
        scores: (n_left, n_right) current similarity of every pair.
        rows, cols, labels: the labelled training pairs.

    Returns:
        One right column per positive pair, in the order of the positives.
    """
    positives = labels == 1
    known_matches: dict[int, set[int]] = {}
    for r, c in zip(rows[positives], cols[positives], strict=True):
        known_matches.setdefault(int(r), set()).add(int(c))
    labelled_negatives: dict[int, list[int]] = {}
    for r, c in zip(rows[~positives], cols[~positives], strict=True):
        labelled_negatives.setdefault(int(r), []).append(int(c))
    chosen = []
    for r in rows[positives]:
        candidates = labelled_negatives.get(int(r))
        if candidates:
            chosen.append(max(candidates, key=lambda c: scores[r, c]))
            continue
        order = np.argsort(-scores[r], kind="stable")
        chosen.append(int(next(c for c in order if int(c) not in known_matches[int(r)])))
    return np.array(chosen, dtype=np.int64)


def finetune_text_encoder(base_model: Path, left_texts: list[str], right_texts: list[str],
                          train: tuple[np.ndarray, np.ndarray, np.ndarray], valid: tuple[np.ndarray, np.ndarray, np.ndarray],
                          scores: np.ndarray, out_dir: Path, config: FinetuneConfig = FinetuneConfig(), device: str = "auto",
                          progress: Callable[[str, int, int], None] | None = None,
                          should_stop: Callable[[], bool] | None = None,
                          groups: tuple[np.ndarray, np.ndarray] | None = None) -> list[EpochReport]:
    """Fine-tunes the Hugging Face model in ``base_model`` and saves the best epoch to ``out_dir``.

    Args:
        left_texts, right_texts: the rendered product texts of the two tables.
        train, valid: (left rows, right columns, 0/1 labels) of the labelled pairs.
        scores: current (n_left, n_right) scores, for mining hard negatives.
        progress: called with (message, done, total) after each batch.
        should_stop: polled between batches; True cancels (the best finished epoch stays).
        groups: a group label per left and per right row (category supervision): other pairs of the
            batch that share the anchor's group are not used as negatives.

    Returns:
        One report per finished epoch.

    Raises:
        Cancelled: stopped before the first epoch finished (nothing is saved).
    """
    import torch
    from sklearn.metrics import roc_auc_score
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = resolve_device(device)
    # bf16 autocast where the hardware has it (AMX CPUs, CUDA); the weights and optimiser stay fp32.
    autocast_dtype = torch.bfloat16 if (device == "cuda" or cpu_has_fast_bf16()) else None
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModel.from_pretrained(base_model).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)

    rows, cols, labels = train
    anchors, positives = rows[labels == 1], cols[labels == 1]
    negatives = hard_negatives(scores, rows, cols, labels)
    batches_per_epoch = -(-len(anchors) // config.batch_size)

    def encode(texts: list[str]):
        batch = tokenizer(texts, truncation=True, max_length=config.max_tokens, padding=True, return_tensors="pt").to(device)
        with torch.autocast(device_type=device, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            hidden = model(**batch).last_hidden_state
        return torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=1)

    def valid_auc() -> float:
        model.eval()
        with torch.inference_mode():
            left = torch.cat([encode([left_texts[i] for i in valid[0][s:s + 128]]) for s in range(0, len(valid[0]), 128)])
            right = torch.cat([encode([right_texts[i] for i in valid[1][s:s + 128]]) for s in range(0, len(valid[1]), 128)])
        model.train()
        return float(roc_auc_score(valid[2], (left * right).sum(dim=1).float().cpu().numpy()))

    reports: list[EpochReport] = []
    best, waited = valid_auc(), 0
    model.train()
    for epoch in range(1, config.epochs + 1):
        started, losses = time.perf_counter(), []
        order = rng.permutation(len(anchors))
        for step, start in enumerate(range(0, len(order), config.batch_size), 1):
            if should_stop is not None and should_stop():
                if not reports:
                    raise Cancelled("Training was stopped before the first pass over the pairs finished; nothing was saved.")
                return reports
            part = order[start:start + config.batch_size]
            left = encode([left_texts[i] for i in anchors[part]])
            right = encode([right_texts[i] for i in positives[part]] + [right_texts[i] for i in negatives[part]])
            logits = config.scale * left @ right.T
            target = torch.arange(len(part), device=device)
            backwards = config.scale * right[:len(part)] @ left.T
            if groups is not None:
                anchor_groups = groups[0][anchors[part]]
                candidate_groups = groups[1][np.concatenate([positives[part], negatives[part]])]
                false_negatives = torch.as_tensor(anchor_groups[:, None] == candidate_groups[None, :], device=device)
                false_negatives[target, target] = False
                logits = logits.masked_fill(false_negatives, float("-inf"))
                backwards = backwards.masked_fill(false_negatives[:, :len(part)].T, float("-inf"))
            loss = (torch.nn.functional.cross_entropy(logits.float(), target)
                    + torch.nn.functional.cross_entropy(backwards.float(), target)) / 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            if progress:
                progress(f"Training, epoch {epoch} of at most {config.epochs}", step, batches_per_epoch)
        auc = valid_auc()
        reports.append(EpochReport(epoch, float(np.mean(losses)), auc, round(time.perf_counter() - started, 1)))
        if progress:
            progress(f"Epoch {epoch} done · loss {np.mean(losses):.3f} · validation AUC {auc:.3f} (best {max(best, auc):.3f})",
                     batches_per_epoch, batches_per_epoch)
        if auc > best:
            best, waited = auc, 0
            _save_checkpoint(model, tokenizer, out_dir, {"epoch": epoch, "valid_auc": auc, "config": asdict(config)})
        else:
            waited += 1
            if waited > config.patience:
                break
    return reports


def _save_checkpoint(model, tokenizer, out_dir: Path, details: dict) -> None:
    """Writes the model beside ``out_dir/encoder`` and swaps it in, so the folder is never half-written."""
    target = out_dir / "encoder"
    staging = out_dir / "encoder.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "prodsim_checkpoint.json").write_text(json.dumps(details, indent=2))
    previous = out_dir / "encoder.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
