"""Text from catalogs, logs and uploads shown inside formatted sentences, taken literally.

Streamlit renders captions and markdown as Markdown (links, images, colour directives, icons,
LaTeX). A title such as ``[Sale](http://evil)`` or ``![x](http://tracker)`` must show as those
characters, not as a link or a remote picture, so every user-supplied piece placed in such a
sentence goes through :func:`literal`. Elements that take plain text (st.text, dataframes) need
nothing.
"""

from __future__ import annotations

import numbers
import re

# CommonMark lets a backslash escape any ASCII punctuation; escaping all of it also disarms Streamlit's
# own additions (":red[...]", ":material/...:", "$...$").
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: object) -> str:
    """``text`` escaped so that Markdown shows it character for character, on one line."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


def as_cell(value: object) -> str:
    """A value of a column that mixes kinds (a brand beside a price) as the text its table cell shows: numbers with
    two decimals, so one column has one type (Arrow, behind st.dataframe, refuses a mix)."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


__all__ = ["as_cell", "literal"]
