"""Identifier and attribute columns: a shared GTIN or model number decides identity, a bad one is reported."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from prodsim.errors import BadInputError
from prodsim.identifiers import gtin_check_digit_ok, guess_roles, identifier_keys, identifier_matrix


def with_check_digit(body: str) -> str:
    """A GTIN-13 from its first 12 digits."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def shop_pair(n: int = 40, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two shops listing the same n products under one identical title; only the GTIN (written differently by each
    shop) and the model number tell them apart."""
    rng = random.Random(seed)
    gtins = [with_check_digit(f"40{rng.randrange(10**10):010d}") for _ in range(n)]
    models = [f"KX-{rng.randrange(1000, 9999)}{rng.choice('ABCDEFGH')}" for _ in range(n)]
    left = pd.DataFrame({"id": [f"L{i}" for i in range(n)], "title": "Stainless steel electric kettle 1.7 l",
                         "ean": gtins, "model number": models})
    order = rng.sample(range(n), n)
    right = pd.DataFrame({"id": [f"R{i}" for i in order], "title": "Electric kettle, stainless steel, 1.7 litre",
                          "gtin": [f"0{gtins[i][:4]} {gtins[i][4:]}" for i in order],  # a leading zero and a space
                          "mpn": [models[i].lower().replace("-", " ") for i in order]})
    return left, right


def test_gtins_are_checked_and_compared_in_one_form():
    assert gtin_check_digit_ok("4006381333931") and not gtin_check_digit_ok("4006381333932")
    assert identifier_keys("04006381333931")[0] == identifier_keys("4006381333931")[0]  # GTIN-14 with a zero = EAN-13
    assert identifier_keys("4006381333932") == ([], "check digit fails")
    assert identifier_keys("4.00638E+12") == ([], "scientific notation (digits lost in Excel)")
    assert identifier_keys("KDL-40 V4100")[0][0] == identifier_keys("kdl40v4100")[0][0]
    assert "C:KDL40V4100" in identifier_keys("KDL-40V4100B")[0]  # the colour suffix left out by another shop
    assert "C:C9362WN" in identifier_keys("C9362WN#140")[0]  # the maker's country option left out by another shop
    # a region, colour or pack option after "/" or the last "-" (Abt-Buy's "srsa212/blk", "gs724tp-100nas")
    for written, model in (("MC544LL/A", "C:MC544LL"), ("SRSA212/BLK", "C:SRSA212"), ("gs724tp-100nas", "C:GS724TP"),
                           ("DCR-SR68-BLK", "C:DCRSR68")):
        assert model in identifier_keys(written)[0], written
    # but not a spec or generation after the dash, nor a maker's prefix before it
    assert "C:G900V" not in identifier_keys("G900V-16GB")[0] and identifier_keys("X100-2")[0] == ["C:X1002"]
    assert identifier_keys("KDL-40EX500")[0] == ["C:KDL40EX500"]
    assert identifier_keys("(C9362WN)")[0] == identifier_keys("c9362wn,")[0] == identifier_keys("C9362WN")[0]


def test_identifier_and_attribute_columns_are_guessed_from_names_and_values():
    frame = pd.DataFrame({"id": ["1", "2"], "title": ["Kettle", "Mug"], "Model No.": ["A1", "B2"], "Colour": ["red", "blue"],
                          "code": [with_check_digit("400638133393"), with_check_digit("400638133394")], "notes": ["x", "y"],
                          "baseColour": ["Navy Blue", "Black"], "Screen size": ["", "15 in"], "season": ["Fall", "Summer"]})
    roles = guess_roles(frame, {"id": "id", "title": "title"})
    assert roles.identifiers == ["Model No.", "code"] and roles.attributes == ["Colour", "baseColour", "Screen size"]


def test_identical_titles_are_told_apart_by_their_identifiers(tmp_path, text_encoder):
    from prodsim import api

    left, right = shop_pair()
    left.to_csv(tmp_path / "left.csv", index=False)
    right.to_csv(tmp_path / "right.csv", index=False)
    gold = pd.DataFrame({"left": left["id"], "right": [f"R{i}" for i in range(len(left))]})
    gold.to_csv(tmp_path / "gold.csv", index=False)
    result = api.match(tmp_path / "left.csv", tmp_path / "right.csv", gold=tmp_path / "gold.csv")
    assert result["identifier_columns"] == {"left": ["ean", "model number"], "right": ["gtin", "mpn"]}
    assert result["recall_at_1"] == 1.0
    blind = api.match(tmp_path / "left.csv", tmp_path / "right.csv", gold=tmp_path / "gold.csv", identifier_cols=[])
    assert blind["recall_at_1"] < 0.5  # without the identifiers the titles cannot tell them apart


def test_a_gtin_mistyped_in_one_digit_is_flagged_by_its_check_digit_and_not_trusted(root, tmp_path):
    from prodsim.ingest import ingest

    left, _ = shop_pair(5)
    typo = left["ean"][2]
    left.loc[2, "ean"] = typo[:5] + str((int(typo[5]) + 1) % 10) + typo[6:]
    left.to_csv(tmp_path / "typo.csv", index=False)
    result = ingest(tmp_path / "typo.csv", workspace_dir=root / "typo")
    found = result.report.identifiers
    assert found["identifiers_invalid"] == 1 and found["invalid_examples"][0]["row"] == 3
    assert found["invalid_examples"][0]["problem"] == "check digit fails"
    assert "1 identifiers are not used (check digit fails" in " ".join(result.report.summary_lines())
    assert result.workspace.meta["roles"] == {"identifiers": ["ean", "model number"], "attributes": []}
    keys, _, _ = identifier_matrix(result.workspace.products(), ["ean"])
    assert np.diff(keys.indptr).tolist() == [1, 1, 0, 1, 1]


def test_bad_identifier_columns_are_reported_or_refused(root, tmp_path):
    from prodsim.ingest import ingest

    catalog = pd.DataFrame({"id": ["1", "2", "3"], "title": ["Kettle", "Mug", "Cup"], "ean": ["4.00E+12", "4.00E+12", ""],
                            "colour": ["", "", ""], "size": ["L", "L", "L"]})
    catalog.to_csv(tmp_path / "c.csv", index=False)
    result = ingest(tmp_path / "c.csv", workspace_dir=root / "c", attributes=["colour", "size"])
    found = result.report.identifiers
    assert found["identifiers_invalid"] == 2 and "scientific notation" in found["invalid_examples"][0]["problem"]
    assert found["empty_columns"] == ["ean", "colour", "size"]
    assert "Columns ean, colour, size carry no information" in " ".join(result.report.summary_lines())
    with pytest.raises(BadInputError, match="'title' is already the title column, so it cannot also be an identifier"):
        ingest(tmp_path / "c.csv", workspace_dir=root / "d", identifiers=["title"])
    with pytest.raises(BadInputError, match="no column named 'gtin'"):
        ingest(tmp_path / "c.csv", workspace_dir=root / "d", identifiers=["gtin"])


def test_the_cli_takes_identifier_columns(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    left, _ = shop_pair(4)
    left.to_csv(tmp_path / "c.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "prodsim", "ingest", str(tmp_path / "c.csv"), "--workspace", str(tmp_path / "w"),
                           "--identifier-col", "ean", "--attribute-col", "model number"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    out = json.loads(done.stdout)
    assert done.returncode == 0 and out["identifiers"]["identifier_columns"] == ["ean"]
    assert out["identifiers"]["attribute_columns"] == ["model number"]


def test_a_workspace_ranks_the_listing_with_the_same_identifier_first_and_says_why(root, tmp_path, text_encoder):
    from prodsim import api
    from prodsim.ingest import ingest

    left, right = shop_pair(30)
    both = pd.concat([left.rename(columns={"ean": "gtin", "model number": "mpn"}), right], ignore_index=True)
    both["colour"] = ["white"] * 30 + ["white"] * 29 + ["black"]
    both.to_csv(tmp_path / "both.csv", index=False)
    workspace = ingest(tmp_path / "both.csv", workspace_dir=root / "both").workspace
    assert workspace.meta["roles"] == {"identifiers": ["gtin", "mpn"], "attributes": ["colour"]}
    similarity = api.similarity(workspace, text_encoder)
    ids = similarity.products["id"]
    twins = {f"L{i}": f"R{i}" for i in range(30)}
    firsts = {ids[row]: ids[similarity.neighbours(row, k=1)["candidate"][0]] for row in range(30)}
    assert firsts == twins
    row, other = similarity.row_of["L3"], similarity.row_of["R3"]
    why = similarity.explain(row, other)
    assert why["identifiers"]["gtin"]["verdict"] == "same" and why["identifiers"]["mpn"]["verdict"] == "same"
    assert why["shares"]["identifier"] > 0
    stranger = similarity.explain(row, similarity.row_of["R4"])
    assert stranger["identifiers"]["gtin"]["verdict"] == "different" and stranger["score"] < why["score"]
    black = right["id"].iloc[-1]
    variant = similarity.explain(similarity.row_of[twins_of(black)], similarity.row_of[black])
    assert variant["differences"]["colour"] == ("white", "black")
    wanted = similarity.products.loc[similarity.row_of["L5"], "mpn"]
    found = similarity.search_text(wanted, text_encoder.encode([wanted])[0], k=2)["id"]
    assert set(found) == {"L5", "R5"}  # a model number kept only in its column is found by searching for it
    gtin = similarity.products.loc[similarity.row_of["L5"], "gtin"]
    for query in (f"{gtin[0]}-{gtin[1:7]}-{gtin[7:]}", f"ean {gtin} kettle"):  # written as neither shop wrote it
        # with the slider at "meaning" too, where no word or character of the query counts
        found = similarity.search_text(query, text_encoder.encode([query])[0], k=5, keyword_weight=0.0)
        assert set(found["id"][:2]) == {"L5", "R5"} and found["identifier_match"].tolist() == [True, True, False, False, False]
    plain = similarity.search_text("kettle 1.7 l", text_encoder.encode(["kettle 1.7 l"])[0], k=5)
    assert not plain["identifier_match"].any()  # words and short numbers are not looked up as identifiers


def test_the_cli_searches_by_a_gtin_and_lists_neighbours_with_why(root, tmp_path, capsys):
    """`search` and `neighbours` print what the Search and Neighbours pages show, one JSON object each."""
    from prodsim import cli
    from prodsim.ingest import ingest

    left, right = shop_pair(20)
    both = pd.concat([left.rename(columns={"ean": "gtin", "model number": "mpn"}), right], ignore_index=True)
    both.to_csv(tmp_path / "both.csv", index=False)
    workspace = ingest(tmp_path / "both.csv", workspace_dir=root / "both").workspace
    gtin = left["ean"].iloc[7]
    assert cli.main(["search", "--workspace", str(workspace.path), "--query", f"0{gtin[:6]}-{gtin[6:]}", "--k", "4",
                     "--keyword-weight", "0"]) == 0
    found = json.loads(capsys.readouterr().out)["results"]
    assert [r["id"] for r in found[:2]] in (["L7", "R7"], ["R7", "L7"]) and [r["identifier_match"] for r in found] == [True, True, False, False]
    assert cli.main(["neighbours", "--workspace", str(workspace.path), "--id", "L7", "--k", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["product"]["id"] == "L7" and printed["neighbours"][0]["id"] == "R7"
    assert printed["neighbours"][0]["why"]["identifiers"]["gtin"]["verdict"] == "same"
    assert cli.main(["neighbours", "--workspace", str(workspace.path), "--id", "L99"]) == 2
    assert "No product has the id 'L99'" in json.loads(capsys.readouterr().out)["error"]


def twins_of(right_id: str) -> str:
    return "L" + right_id[1:]


@pytest.mark.parametrize(("kind", "same", "different"), [
    ("quantity", [("1.7 l", "1700 ml"), ("1,7 l", "1.7 L"), ('55"', "139.7 cm"), ("1200W", "1.2 kW"), ("64 GB", "64GB")],
     [("9 kg", "7 kg"), ("0.5 TB", "512 GB"), ("1.7 l", "1.7 kg")]),
    ("colour", [("Gray", "grey"), ("Black/White", "white & black")], [("Matte Black", "Black"), ("red", "blue")]),
    ("size", [("X-Large", "XL"), ("EU 42", "42"), ("M", "Medium")], [("S", "M"), ("42", "43")]),
])
def test_attribute_values_are_compared_by_what_they_mean(kind, same, different):
    from prodsim.attributes import comparable

    for a, b in same:
        assert comparable(a, kind) == comparable(b, kind), (a, b)
    for a, b in different:
        assert comparable(a, kind) != comparable(b, kind), (a, b)


def test_a_capacity_written_in_other_units_is_no_variant_and_another_capacity_is(root, tmp_path, text_encoder):
    from prodsim import api
    from prodsim.attributes import column_kind
    from prodsim.ingest import ingest

    catalog = pd.DataFrame({
        "id": ["a1", "a2", "b1", "b2", "c1", "c2"],
        "title": ["Brightfold electric kettle", "Brightfold electric kettle", "Halvorsen washing machine front loader",
                  "Halvorsen washing machine front loader", "Oakline jersey t-shirt", "Oakline jersey t-shirt"],
        "seller": ["north", "south"] * 3,
        "capacity": ["1.7 l", "1700 ml", "9 kg", "7 kg", "", ""], "size": ["", "", "", "", "X-Large", "XL"]})
    assert column_kind("capacity", catalog["capacity"]) == "quantity" and column_kind("size", catalog["size"]) == "size"
    catalog.to_csv(tmp_path / "c.csv", index=False)
    workspace = ingest(tmp_path / "c.csv", workspace_dir=root / "c", attributes=["capacity", "size"]).workspace
    pairs = api.similarity(workspace, text_encoder).duplicate_pairs(threshold=0.6)
    ids = workspace.products()["id"].to_numpy()
    verdicts = {frozenset((ids[a], ids[b])): v for a, b, v in zip(pairs["left"], pairs["right"], pairs["suggested"])}
    assert verdicts[frozenset(("a1", "a2"))] == "duplicate"  # 1.7 l is 1700 ml
    assert verdicts[frozenset(("b1", "b2"))] == "variant"  # 9 kg is not 7 kg
    assert verdicts[frozenset(("c1", "c2"))] == "duplicate"  # X-Large is XL


def test_a_model_number_written_with_a_region_suffix_still_finds_its_twin_through_the_character_view(tmp_path):
    """The keys disagree ("KX1234A" against "KX1234AEU"), so only the identifier's characters, which the lexical
    views read from its own column, can tell the twin from the other kettles with the same title."""
    from prodsim import api

    left, right = shop_pair()
    right = right.drop(columns=["gtin"]).assign(mpn=[m.upper().replace(" ", "") + "/EU" for m in right["mpn"]])
    left = left.drop(columns=["ean"])
    for name, table in (("left", left), ("right", right)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame({"left": left["id"], "right": [f"R{i}" for i in range(len(left))]}).to_csv(tmp_path / "gold.csv", index=False)
    result = api.match(tmp_path / "left.csv", tmp_path / "right.csv", gold=tmp_path / "gold.csv")
    assert result["identifier_columns"] == {"left": ["model number"], "right": ["mpn"]}
    assert result["recall_at_1"] == 1.0
    blind = api.match(tmp_path / "left.csv", tmp_path / "right.csv", gold=tmp_path / "gold.csv", identifier_cols=[])
    assert blind["recall_at_1"] < 0.5


def series_in_the_column(n: int = 30, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two shops as PriceRunner's German appliance shops list them: the left keeps each model number in its
    `modelno` column; the right names it in the title and fills `modelno` with the series ("iQ500"). The right
    also lists each model's sibling (other suffix, "…PE" for "…TE"), whose model number shares the left's stem."""
    rng = random.Random(seed)
    models = [f"SN{rng.randrange(100, 999)}S{rng.randrange(10, 99)}TE" for _ in range(n)]
    left = pd.DataFrame({"id": [f"L{i}" for i in range(n)], "title": "Siemens dishwasher speedmatic", "modelno": models})
    right = pd.DataFrame({"id": [f"R{i}" for i in range(n)] + [f"S{i}" for i in range(n)],
                          "title": [f"Siemens {m.lower()} integrated dishwasher" for m in models] + ["Siemens dishwasher"] * n,
                          "modelno": ["iQ500"] * n + [m[:-2] + "PE" for m in models]})
    return left, right


def test_a_model_number_named_in_the_other_listings_title_counts_as_shared(root, tmp_path, text_encoder):
    from prodsim import api
    from prodsim.ingest import ingest

    left, right = series_in_the_column()
    for name, table in (("left", left), ("right", right)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame({"left": left["id"], "right": [f"R{i}" for i in range(len(left))]}).to_csv(tmp_path / "gold.csv", index=False)
    result = api.match(tmp_path / "left.csv", tmp_path / "right.csv", gold=tmp_path / "gold.csv")
    assert result["identifier_columns"] == {"left": ["modelno"], "right": ["modelno"]}
    assert result["recall_at_1"] == 1.0  # not the sibling, whose column shares the left's stem

    pd.concat([left, right], ignore_index=True).to_csv(tmp_path / "both.csv", index=False)
    similarity = api.similarity(ingest(tmp_path / "both.csv", workspace_dir=root / "both").workspace, text_encoder)
    ids = similarity.products["id"]
    firsts = {ids[row]: ids[similarity.neighbours(row, k=1)["candidate"][0]] for row in range(len(left))}
    assert firsts == {f"L{i}": f"R{i}" for i in range(len(left))}
    why = similarity.explain(similarity.row_of["L2"], similarity.row_of["R2"])
    assert why["identifiers"]["modelno"]["verdict"] == "in title" and why["shares"]["identifier"] > 0
    assert left["modelno"][2].lower() in dict(why["shared_terms"])  # in one's column and the other's title


def test_the_duplicate_side_by_side_shows_identifiers_and_variant_attributes(root, tmp_path, text_encoder):
    from prodsim import api
    from prodsim.ingest import ingest

    left, right = shop_pair(30)
    both = pd.concat([left.rename(columns={"ean": "gtin", "model number": "mpn"}), right], ignore_index=True)
    both["colour"] = ["white"] * 59 + ["black"]
    both.to_csv(tmp_path / "both.csv", index=False)
    similarity = api.similarity(ingest(tmp_path / "both.csv", workspace_dir=root / "both").workspace, text_encoder)
    black = right["id"].iloc[-1]
    compared = similarity.side_by_side(similarity.row_of[twins_of(black)], similarity.row_of[black], ["title", "id"])
    assert compared["field"].tolist() == ["title", "id", "gtin", "mpn", "colour"]
    rows = compared.set_index("field")
    assert rows.loc["gtin", "verdict"] == "same" and rows.loc["mpn", "verdict"] == "same" and not rows.loc["gtin", "differs"]
    assert (rows.loc["colour", "first"], rows.loc["colour", "second"]) == ("white", "black")
    assert rows.loc["colour", "verdict"] == "variant" and rows.loc["colour", "differs"]
    assert rows.loc["title", "differs"] and not rows.loc["id", "differs"]  # the shops word the title differently
    stranger = similarity.side_by_side(similarity.row_of["L3"], similarity.row_of["R4"], []).set_index("field")
    assert stranger.loc["gtin", "verdict"] == "different" and stranger.loc["gtin", "differs"]
    assert stranger.loc["colour", "verdict"] == "" and not stranger.loc["colour", "differs"]


def test_listings_sharing_an_identifier_are_duplicate_candidates_behind_a_crowd_of_look_alikes(root, tmp_path, text_encoder):
    """Each shop lists 30 kettles under one title, so a listing's 10 nearest by meaning are its own shop's; the other
    shop's listing with the same GTIN is still found, and one shop's "1.7 l" against the other's "1.7 litre" does not
    make the pair variants."""
    from prodsim import api
    from prodsim.ingest import ingest

    left, right = shop_pair(30)
    pd.concat([left.rename(columns={"ean": "gtin", "model number": "mpn"}), right], ignore_index=True).to_csv(tmp_path / "c.csv", index=False)
    similarity = api.similarity(ingest(tmp_path / "c.csv", workspace_dir=root / "c").workspace, text_encoder)
    pairs = similarity.duplicate_pairs()
    ids = similarity.products["id"].to_numpy()
    found = {frozenset(pair) for pair in zip(ids[pairs["left"]], ids[pairs["right"]])}
    assert {frozenset((f"L{i}", f"R{i}")) for i in range(30)} <= found
    twins = pairs[[ids[a][1:] == ids[b][1:] for a, b in zip(pairs["left"], pairs["right"])]]
    assert (twins["suggested"] == "duplicate").all()


def test_match_takes_an_identifier_column_that_only_one_table_has(tmp_path, capsys):
    """The left shop keeps model numbers in a column, the right one only in its titles: `--identifier-col` names the
    left's column, the right's titles are searched for its values; a column neither table has is refused."""
    from prodsim import cli

    left, right = series_in_the_column(12)
    right = right.drop(columns=["modelno"])
    for name, table in (("left", left), ("right", right)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame({"left": left["id"], "right": [f"R{i}" for i in range(len(left))]}).to_csv(tmp_path / "gold.csv", index=False)
    files = ["--left", str(tmp_path / "left.csv"), "--right", str(tmp_path / "right.csv"), "--gold", str(tmp_path / "gold.csv")]
    assert cli.main(["match", *files, "--identifier-col", "modelno"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["identifier_columns"] == {"left": ["modelno"], "right": []} and out["recall_at_1"] == 1.0
    assert cli.main(["match", *files, "--identifier-col", "mpn"]) != 0
    assert "Neither table has a column named 'mpn'" in json.loads(capsys.readouterr().out)["error"]


def test_a_model_number_in_brackets_in_a_title_is_shared_with_a_column_that_adds_a_country_option():
    """Shops write "… Cartridge (C9362WN)" in the title; another keeps "C9362WN#140" in its model number column."""
    from prodsim.matching import identifier_agreement

    left = pd.DataFrame({"title": ["HP 92 black ink", "HP 93 colour ink"], "modelno": ["C9362WN#140", "C9361WN#140"]})
    right = pd.DataFrame({"title": ["HP 92 Black Inkjet Print Cartridge (C9362WN)", "HP 93 Tri-color Cartridge (C9361WN),"],
                          "modelno": ["", ""]})
    agreement = identifier_agreement(left, right, ["modelno"], [])
    np.testing.assert_array_equal(agreement, [[1.0, 0.0], [0.0, 1.0]])
