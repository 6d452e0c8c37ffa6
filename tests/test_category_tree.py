"""The user's own category tree: reading tree files (and refusing bad ones), filing products into its leaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FLIPKART, run_verb, tree_digest

from prodsim import api
from prodsim.errors import BadInputError
from prodsim.taxonomy import filing as filing_module
from prodsim.taxonomy.filing import TreeFiler, TreeView
from prodsim.taxonomy.tree import MAX_LEAVES, read_tree


def test_a_text_tree_keeps_leaves_in_order_and_reports_what_it_skipped():
    text = ("Home > Kitchen > Kettles\n"
            "# a comment\n"
            "Home > Kitchen\n"                   # an inner node listed alone: not a leaf
            "home >  kitchen > Toasters\n"       # another spelling of the same parents
            "Home > Kitchen > kettles\n"         # the first line again, in other capitals
            "Garden > Tools > Garden\n"          # a name inside its own path
            "Garden > Men/Women gloves\n")       # '/' inside a name when levels are split by '>'
    tree = read_tree(text.encode(), "mine.txt")
    assert tree.leaves == ["Home > Kitchen > Kettles", "Home > Kitchen > Toasters", "Garden > Men/Women gloves"]
    assert tree.level_counts() == {"level_1": 2, "level_2": 2, "level_3": 2}
    assert [line.split(":")[0] for line in tree.skipped] == ["line 5", "line 6"]
    assert "repeats line 1" in tree.skipped[0] and "cycle" in tree.skipped[1]


def test_csv_trees_by_level_columns_or_a_path_column_and_one_level_trees():
    by_levels = read_tree(b"level_1,level_2\nBaby,Bath\nBaby,Toys\nWatches,\n", "tree.csv")
    assert by_levels.leaves == ["Baby > Bath", "Baby > Toys", "Watches"]
    by_path = read_tree("path,notes\nA » B,x\nA » C,y\n".encode(), "tree.csv")
    assert by_path.leaves == ["A > B", "A > C"]
    flat = read_tree("母婴\n蔬菜\n".encode("gb18030"), "labels.txt")
    assert flat.leaves == ["母婴", "蔬菜"] and flat.depth == 1


@pytest.mark.parametrize("content, message", [
    (b"A > B\nA / C\nA > D\n", "separates levels with '>' on most lines but with '/' on line 2"),
    (b"A > B\nA >  > C\nD >\n", "lines 2, 3 have an empty category name"),
    (b"A > B > C\n", "one leaf category"),
    (b"\n# only a comment\n", "holds no category paths"),
    (b"\x00\x01\x02PK", "not a text file"),
    ("\n".join(f"L{i // 100} > N{i}" for i in range(MAX_LEAVES + 1)).encode(), f"prodsim files products into at most {MAX_LEAVES:,}"),
])
def test_bad_tree_files_are_refused_with_the_lines_to_mend_and_change_nothing(demo_workspace, content, message):
    before = tree_digest(demo_workspace.path)
    with pytest.raises(BadInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        api.load_tree(demo_workspace, content, "tree.txt")
    assert tree_digest(demo_workspace.path) == before


def _view(rng, leaf_names: np.ndarray, node_names: np.ndarray, truth: np.ndarray, noise: float) -> TreeView:
    products = leaf_names[truth] + noise * rng.normal(size=(len(truth), leaf_names.shape[1]))
    return TreeView(products / np.linalg.norm(products, axis=1, keepdims=True), leaf_names, node_names)


def test_filing_finds_leaves_by_their_names_keeps_reviewed_leaves_and_does_not_depend_on_chunks(monkeypatch):
    rng = np.random.default_rng(7)
    tree = read_tree("\n".join(f"Top {a} > Leaf {a}{b}" for a in range(4) for b in range(5)).encode(), "t.txt")
    nodes = tree.nodes()
    node_names = rng.normal(size=(len(nodes), 32))
    node_names /= np.linalg.norm(node_names, axis=1, keepdims=True)
    leaf_names = node_names[[nodes.index(path) for path in tree.paths]]
    truth = rng.integers(0, len(tree.paths), 600)
    view = _view(rng, leaf_names, node_names, truth, noise=0.12)
    features = view.products
    filed = TreeFiler().file(tree, [view], features)
    assert np.mean(filed.leaf == truth) > 0.9
    assert not filed.reviewed.any() and np.all((filed.confidence > 0) & (filed.confidence <= 1))

    wrong = {0: (truth[0] + 1) % len(tree.paths), 1: (truth[1] + 2) % len(tree.paths)}
    with_examples = TreeFiler().file(tree, [view], features, wrong)
    assert with_examples.leaf[0] == wrong[0] and with_examples.leaf[1] == wrong[1]
    assert with_examples.reviewed.sum() == 2 and with_examples.confidence[0] == 1

    monkeypatch.setattr(filing_module, "SCORE_CELLS", 1)  # chunks of 256 rows
    chunked = TreeFiler().file(tree, [view], features)
    assert np.array_equal(chunked.leaf, filed.leaf)


@pytest.fixture(scope="module")
def flipkart_slice(tmp_path_factory):
    """50 Flipkart products of each top category (text only), with their true path as a column, and the tree
    file of every Flipkart path (no labels of these products)."""
    folder = tmp_path_factory.mktemp("tree")
    table = pd.read_csv(FLIPKART / "products.csv").drop(columns=["image"])
    levels = table[["category_l1", "category_l2", "category_l3"]]
    table["category_path"] = [" > ".join(v for v in row if isinstance(v, str)) for row in levels.itertuples(index=False)]
    (folder / "tree.txt").write_text("\n".join(sorted(set(table["category_path"]))), "utf-8")
    table.groupby("category_l1").head(50).to_csv(folder / "slice.csv", index=False)
    workspace = api.ingest(folder / "slice.csv", workspace_dir=folder / "ws").workspace
    return workspace, folder / "tree.txt"


@pytest.mark.datasets
def test_cli_files_flipkart_into_its_own_tree_and_reports_accuracy_per_level(flipkart_slice, capsys):
    workspace, tree_file = flipkart_slice
    code, result = run_verb(capsys, "file-into", "--workspace", workspace.path, "--tree", tree_file, "--truth-col", "category_path")
    assert code == 0, result
    assert result["products"] == result["filed"] == 350 and result["leaves"] == len(api.category_tree(workspace).paths)
    assert set(result["accuracy"]) == {"level_1", "level_2", "level_3"}
    # seven top categories: chance is 0.14; the names alone, without any label, file most products right
    assert result["accuracy"]["level_1"] > 0.8
    assert result["accuracy"]["level_1"] >= result["accuracy"]["level_2"] >= result["accuracy"]["level_3"]
    assert 0 <= result["weak"] < 350

    filing = api.stored_filing(workspace)
    assert list(filing["id"]) == list(workspace.products()["id"].astype(str))
    assert set(filing["path"]) <= set(api.category_tree(workspace).leaves)


@pytest.mark.datasets
def test_reviewed_products_become_examples_and_a_new_catalog_version_forgets_the_filing(flipkart_slice):
    workspace, tree_file = flipkart_slice
    api.file_into(workspace, tree_file)
    filing = api.stored_filing(workspace)
    truth = api.truth_column(workspace, "category_path").to_numpy()
    weakest = np.argsort(filing["confidence"].to_numpy(), kind="stable")[:35]
    store = api.ReviewStore(workspace)
    for path in sorted(set(truth[weakest])):
        store.move(list(filing["id"].to_numpy()[weakest][truth[weakest] == path]), path)
    refiled = api.file_into_tree(workspace, api.filing_encoders(workspace), api.grouping_vectors(workspace))
    assert refiled.reviewed.sum() == 35 and list(refiled.paths()[weakest]) == list(truth[weakest])
    assert (api.stored_filing(workspace)["source"] == "reviewed").sum() == 35


def test_groups_are_named_by_the_deepest_path_most_of_their_products_were_filed_under():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    paths = ["A > B > C", "A > B > D", "A > B > C", "X > Y", "X > Z", "Q > R", "X > Y", "M > N", "M > O"]
    # group 1: 3 of 4 under X, only half of them under X > Y; group 2: N and O tie
    assert api.tree_group_names(labels, paths) == {0: "A > B > C", 1: "X", 2: "M"}
    assert api.tree_group_names(labels, paths, share=0.9) == {0: "A > B", 2: "M"}
