"""Content from catalogs shown and exported safely: formula-leading cells open as text, Markdown shows literally."""

from __future__ import annotations

import io

import pandas as pd
from markdown_it import MarkdownIt

from prodsim.display import literal
from prodsim.exports import csv_bytes, xlsx_bytes

RISKY = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "plain title"]


def test_exports_open_formula_leading_titles_as_text():
    frame = pd.DataFrame({"id": ["a", "b", "c", "d", "e", "f"], "title": RISKY, "price": [1.5, -2.0, 3.0, 4.0, 5.0, 6.0]})
    from_csv = pd.read_csv(io.BytesIO(csv_bytes(frame)), encoding="utf-8-sig", dtype={"title": str}, keep_default_na=False)
    from_xlsx = pd.read_excel(io.BytesIO(xlsx_bytes(frame)), dtype={"title": str})
    for table in (from_csv, from_xlsx):
        assert table["title"].tolist()[:5] == ["'" + text for text in RISKY[:5]]
        assert table["title"].iloc[5] == "plain title"
        assert table["price"].tolist() == frame["price"].tolist()  # numbers stay numbers, a negative price too


def test_markdown_in_a_title_is_shown_literally():
    title = "[Sale](http://evil.example) ![x](http://tracker.example/p.png) **bold** :red[alarm] $x^2$ <b>tag</b>"
    rendered = MarkdownIt("commonmark").render(f"**{literal(title)}**")
    assert "<a " not in rendered and "<img" not in rendered and "<b>tag" not in rendered
    assert "[Sale](http://evil.example)" in rendered and ":red[alarm]" in rendered  # the characters themselves
    assert MarkdownIt("commonmark").render(literal("Kettle 1.7 l")).strip() == "<p>Kettle 1.7 l</p>"
