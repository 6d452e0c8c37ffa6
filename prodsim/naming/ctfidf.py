"""Names from each group's most distinctive words (class-based TF-IDF, as in BERTopic)."""

from __future__ import annotations

import numpy as np

from prodsim.naming.base import Namer


class ClassTfidfNamer(Namer):
    """The ``top`` words most particular to each group, joined by " · " (e.g. "kettle · cordless · litre").

    With four groups or more, a word found in most groups ("free delivery", "genuine" in sellers'
    copy) names none of them.
    """

    def __init__(self, top: int = 3):
        self.top = top

    def name(self, texts: list[str], labels: np.ndarray) -> dict[int, str]:
        import pandas as pd
        from sklearn.feature_extraction.text import CountVectorizer

        if len(texts) != len(labels):
            raise ValueError("one label per text")
        known = labels >= 0
        joined = pd.Series(np.asarray(texts, dtype=object)[known]).groupby(labels[known]).agg(" ".join)  # one document per group
        clusters, documents = joined.index.tolist(), joined.tolist()
        counter = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{3,}\b", max_features=50_000)
        counts = counter.fit_transform(documents).toarray().astype(float)
        frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        average_words = counts.sum() / max(len(clusters), 1)
        idf = np.log(1 + average_words / np.maximum(counts.sum(axis=0), 1))
        if len(clusters) >= 4:
            idf[(counts > 0).mean(axis=0) > 0.5] = 0.0
        words = counter.get_feature_names_out()
        names = {}
        for row, cluster in enumerate(clusters):
            best = np.argsort(-(frequency[row] * idf), kind="stable")[:self.top]
            names[cluster] = " · ".join(words[best]) or f"group {cluster + 1}"
        return names
