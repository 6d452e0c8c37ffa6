"""Hybrid matching beats dense vectors and keyword matching on the real benchmarks, zero-shot."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from conftest import DATASETS, run_verb
from prodsim.errors import BadInputError
from prodsim.lexical import model_codes
from prodsim.matching import RERANKED, MatchScores, retrieval_metrics
from prodsim.similarity import csls


def run_match(capsys, benchmark: str, *extra: str) -> dict:
    folder = DATASETS / benchmark
    code, printed = run_verb(capsys, "match", "--left", folder / "tableA.csv", "--right", folder / "tableB.csv", "--gold", folder / "gold.csv",
                             "--pairs", folder / "test.csv", "--valid", folder / "valid.csv", *extra)
    assert code == 0, printed
    return printed


@pytest.mark.datasets
@pytest.mark.parametrize(("benchmark", "floor", "queries"), [("abt-buy", 0.90, 1081), ("amazon-google", 0.78, 1113)])
def test_default_similarity_reaches_the_recall_targets(benchmark, floor, queries, capsys):
    result = run_match(capsys, benchmark)
    print(f"{benchmark}: recall@1 {result['recall_at_1']:.3f} (hybrid score alone {result['hybrid_score']['recall_at_1']:.3f}), recall@10 {result['recall_at_10']:.3f}, "
          f"MRR {result['mrr']:.3f}, test F1 {result['f1']:.3f} ({result['pair_model_source']} pair model; zero-shot {result['zero_shot']['f1']:.3f}), hybrid score's F1 "
          f"{result['hybrid_score']['f1']:.3f} (threshold from valid), AUC {result['auc']:.3f}")
    # the shipped pair model, fitted to the valid pairs: the better of the two there is used on the test pairs
    assert result["pair_model_source"] in ("default", "fitted on valid") and result["threshold_from"] == "valid"
    chosen, other = ("fitted", "default") if result["pair_model_source"] == "fitted on valid" else ("default", "fitted")
    assert result["valid_f1"][chosen] >= result["valid_f1"][other] and 0 < result["zero_shot"]["f1"] <= 1
    assert result["queries"] == queries
    assert result["recall_at_1"] >= floor
    assert result["recall_at_10"] >= result["recall_at_1"] and 0 < result["f1"] <= 1 and 0 < result["threshold"]


@pytest.mark.datasets
@pytest.mark.parametrize("benchmark", ["abt-buy", "amazon-google"])
def test_hybrid_beats_dense_vectors_and_keyword_matching_alone(benchmark, text_encoder):
    from prodsim.catalog import build_products, guess_mapping, read_table
    from prodsim.matching import score_tables

    tables = []
    for name in ("tableA.csv", "tableB.csv"):
        raw = read_table(DATASETS / benchmark / name)
        tables.append(build_products(raw, guess_mapping(raw.frame))[0])
    gold = pd.read_csv(DATASETS / benchmark / "gold.csv", dtype=str)
    scores = score_tables(*tables, text_encoder)
    recall = {"hybrid": retrieval_metrics(scores, gold)["recall_at_1"]}
    for signal in ("dense", "char", "word"):  # dense vectors alone; keyword matching: TF-IDF over characters or words
        alone = MatchScores(scores.parts[signal], {}, scores.left_ids, scores.right_ids, scores.left_vectors, scores.right_vectors)
        recall[signal] = retrieval_metrics(alone, gold)["recall_at_1"]
    print(f"{benchmark} recall@1: " + ", ".join(f"{k} {v:.3f}" for k, v in recall.items()))
    assert recall["hybrid"] > max(recall["dense"], recall["char"], recall["word"]) + 0.02


@pytest.mark.datasets
def test_match_explains_ids_that_are_not_in_the_tables(tmp_path, capsys):
    folder = DATASETS / "abt-buy"
    pairs = pd.read_csv(folder / "test.csv").head(5)
    pairs.loc[0, "ltable_id"] = 999_999
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    code, printed = run_verb(capsys, "match", "--left", folder / "tableA.csv", "--right", folder / "tableB.csv",
                             "--pairs", tmp_path / "pairs.csv", "--valid", folder / "valid.csv")
    assert code == 2 and "1 labelled pairs name ids that are not in the tables" in printed["error"]


def test_retrieval_metrics_against_a_brute_force_count():
    rng = np.random.default_rng(3)
    total = rng.normal(size=(30, 40)).astype(np.float32)
    scores = MatchScores(total, {}, np.arange(30).astype(str), np.arange(40).astype(str), np.zeros((30, 4)), np.zeros((40, 4)))
    gold = pd.DataFrame({"a": [str(i) for i in range(30)], "b": [str(int(np.argsort(-total[i])[i % 12])) for i in range(30)]})
    result = retrieval_metrics(scores, gold)
    ranks = np.array([i % 12 + 1 for i in range(30)])
    assert result["recall_at_1"] == pytest.approx((ranks == 1).mean())
    assert result["recall_at_10"] == pytest.approx((ranks <= 10).mean())
    assert result["mrr"] == pytest.approx((1 / ranks).mean())
    # a second stage that reverses each product's best ten: ranks within them turn round, ranks beyond stay
    reversed_heads = retrieval_metrics(scores, gold, lambda rows, heads: heads[:, ::-1])
    ranks = np.where(ranks <= RERANKED, RERANKED + 1 - ranks, ranks)
    assert reversed_heads["recall_at_1"] == pytest.approx((ranks == 1).mean())
    assert reversed_heads["mrr"] == pytest.approx((1 / ranks).mean())


def test_the_pair_model_ranks_first_the_listing_at_the_same_price_among_listings_with_one_title(tmp_path, capsys):
    """Each product is listed twice on the right under its left title: first at ten times the left's price, then at
    the same price. The hybrid score reads only text, so the two tie and the table's order decides; the pair model
    reranks each product's best candidates and its price ratio puts the listing at the same price first."""
    items = ["electric kettle 1.7 l", "pop-up toaster 2 slice", "hand blender 600 w", "espresso machine 15 bar",
             "steam iron 2400 w", "rice cooker 1.8 l", "stand mixer 5 l", "food processor 800 w"]
    brands = ["Brightfold", "Nordvik", "Calder"]
    titles = [f"{brand} {item}" for brand in brands for item in items]
    prices = [round(15 + 7.5 * i, 2) for i in range(len(titles))]
    left = pd.DataFrame({"id": [f"L{i}" for i in range(len(titles))], "title": titles, "price": prices})
    right = pd.DataFrame([{"id": f"R{i}{suffix}", "title": title, "price": price * factor}
                          for i, (title, price) in enumerate(zip(titles, prices)) for suffix, factor in (("-other", 10), ("", 1))])
    for name, table in (("left", left), ("right", right)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame({"left": left["id"], "right": [f"R{i}" for i in range(len(titles))]}).to_csv(tmp_path / "gold.csv", index=False)
    code, result = run_verb(capsys, "match", "--left", tmp_path / "left.csv", "--right", tmp_path / "right.csv",
                            "--gold", tmp_path / "gold.csv")
    assert code == 0, result
    assert result["hybrid_score"]["recall_at_1"] == 0.0
    assert result["recall_at_1"] == 1.0 and result["reranked_top"] == RERANKED


def test_csls_removes_a_hub_that_is_close_to_everything():
    scores = np.array([[0.9, 0.95], [0.2, 0.92], [0.1, 0.91]], dtype=np.float32)  # right item 1 is a hub
    assert scores.argmax(axis=1).tolist() == [1, 1, 1]
    assert csls(scores, k=2).argmax(axis=1)[0] == 0


def test_model_codes_ignore_separators_and_plain_words():
    assert model_codes("Sony KDL-40V4100 Bravia 40in LCD, 2 pack") == ["kdl40v4100", "40in"]
    assert model_codes("Linksys EtherFast 10/100 switch") == []


@pytest.mark.datasets
def test_nothing_to_evaluate_is_a_clear_error():
    from prodsim import api

    folder = DATASETS / "abt-buy"
    with pytest.raises(BadInputError, match="Nothing to evaluate"):
        api.match(folder / "tableA.csv", folder / "tableB.csv")


def test_the_default_pair_models_are_shipped_as_arrays_and_other_feature_layouts_are_refused(tmp_path):
    from prodsim.training.pair_model import FEATURES, WORDING_SCALES, PairModel

    model = PairModel.default()
    assert model.mean.shape == (len(FEATURES),)
    # the benchmarks it learnt from have no identifier column: that input carries no weight, so it cannot add noise
    (weights, biases), = model.members  # one logistic regression
    assert not weights[0][FEATURES.index("identifier")].any()
    # the one for two shops' tables reads the views only through the score (their scale follows a catalog's wording)
    ((tables_weights,), _), = PairModel.default(two_tables=True).members
    assert not tables_weights[[FEATURES.index(name) for name in WORDING_SCALES]].any()
    assert tables_weights[FEATURES.index("score")].all() and weights[0][FEATURES.index("dense")].all()
    fewer = PairModel(model.mean[:-1], model.scale[:-1], [([weights[0][:-1], *weights[1:]], biases)],
                      model.calibration_x, model.calibration_y, model.threshold)
    fewer.save(tmp_path, {})
    assert PairModel.load(tmp_path) is None  # an older model's features mean something else: trained again, never misread


def test_a_cross_fitted_pair_model_keeps_its_members_and_judges_each_pair_by_the_member_that_did_not_see_it(tmp_path):
    from prodsim.matching import classification_metrics
    from prodsim.training.pair_model import FEATURES, FOLDS, PairModel, cross_fit_pair_model

    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, len(FEATURES)))
    labels = (features[:, 0] + 0.5 * rng.normal(size=400) > 0.8).astype(int)  # the score decides, with noise
    model, unseen = cross_fit_pair_model(features, labels)
    assert len(model.members) == FOLDS and unseen.shape == (400,)
    assert classification_metrics(unseen, labels, model.threshold)["f1"] > 0.7
    shuffled = cross_fit_pair_model(features, rng.permutation(labels))[1]  # labels that mean nothing
    assert classification_metrics(shuffled, labels, model.threshold)["f1"] < 0.5
    model.save(tmp_path, {})
    assert np.allclose(PairModel.load(tmp_path).probability(features), model.probability(features))


def benchmark_pairs(benchmark: str, text_encoder) -> dict:
    """Each split's pair features and labels, and the hybrid score of its pairs, as `match` computes them."""
    from prodsim import api
    from prodsim.matching import pair_positions, score_tables
    from prodsim.training.pair_model import pair_features

    folder = DATASETS / benchmark
    (left, right), identifiers = api.read_match_tables(folder / "tableA.csv", folder / "tableB.csv", None)
    scores = score_tables(left, right, text_encoder, identifiers=identifiers)
    splits = {}
    for split in ("train", "valid", "test"):
        rows, cols, labels = pair_positions(scores, pd.read_csv(folder / f"{split}.csv", dtype=str))
        splits[split] = (pair_features(scores, left, right, rows, cols), labels, scores.total[rows, cols])
    return splits


@pytest.mark.datasets
def test_a_pair_model_learnt_on_one_shop_pair_classifies_another_better_than_the_score(text_encoder):
    """Zero-shot on the target: trained and calibrated on Abt-Buy only, tested on Amazon-Google at its own threshold,
    against the hybrid score at the threshold chosen on Amazon-Google's own validation pairs (a generous baseline)."""
    from prodsim.matching import best_threshold, classification_metrics
    from prodsim.training.pair_model import train_pair_model

    source, target = benchmark_pairs("abt-buy", text_encoder), benchmark_pairs("amazon-google", text_encoder)
    model = train_pair_model(*source["train"][:2], *source["valid"][:2], linear=True)  # as the shipped default
    features, labels, score = target["test"]
    learnt = classification_metrics(model.probability(features), labels, model.threshold)["f1"]
    by_score = classification_metrics(score, labels, best_threshold(target["valid"][2], target["valid"][1]))["f1"]
    print(f"Amazon-Google test F1: pair model from Abt-Buy {learnt:.3f}, score with its own threshold {by_score:.3f}")
    # Measured on AMD EPYC (OpenVINO bf16): 0.724 vs 0.667; AnyMatch reports 0.693 in this setting.
    assert learnt > by_score
