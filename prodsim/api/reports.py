"""The workspace's self-contained HTML report and its headline figures."""

from __future__ import annotations

from pathlib import Path

from prodsim.api.grouping import clustering_agreement, final_categories, grouping_vectors, project
from prodsim.api.products import model_specs, similarity
from prodsim.clustering import Clusters
from prodsim.encoders.base import Encoder
from prodsim.encoders.registry import load_image_encoder, load_text_encoder
from prodsim.exports import output_file
from prodsim.neighbours import ProductSimilarity
from prodsim.workspace import Workspace


def report_figures(workspace: Workspace, similarity_model: ProductSimilarity, clusters: Clusters, final) -> dict[str, str]:
    """Headline figures of a workspace, formatted for people: size, grouping, review, duplicates, evaluation."""
    products = similarity_model.products
    figures = {"products": f"{len(products):,}", "suggested groups": f"{len(clusters.names):,}",
               "products reviewed": f"{(final['source'] != 'suggested').mean():.0%}"}
    if (products["category"] != "").any():
        agreement_figures = clustering_agreement(clusters.labels, products["category"])
        if agreement_figures:
            figures |= {"NMI vs categories": f"{agreement_figures['nmi']:.2f}", "ARI vs categories": f"{agreement_figures['ari']:.2f}"}
    pairs = similarity_model.duplicate_pairs()
    figures["likely duplicate pairs"] = f"{int((pairs['suggested'] == 'duplicate').sum()):,}"
    from prodsim.training import registry

    models = registry.list_models(workspace).dropna(subset=["f1_after"])
    if not models.empty:
        best = models.sort_values("f1_after").iloc[-1]
        figures[f"matching F1 ({best['name']})"] = f"{best['f1_before']:.2f} → {best['f1_after']:.2f}"
    return figures


def report(workspace: Workspace, out: str | Path, text_encoder: Encoder | None = None, image_encoder: Encoder | None = None,
           similarity_model: ProductSimilarity | None = None, vectors=None) -> dict:
    """Writes the workspace's self-contained HTML report (see :mod:`prodsim.report`); returns its path and size.

    Args:
        similarity_model, vectors: what the caller already has (:func:`similarity`, :func:`grouping_vectors`).
    """
    from prodsim.report import build_report, write_report

    out = output_file(out, "report", "report.html")  # said now, not after minutes of work
    if similarity_model is None:
        text_spec, image_spec = model_specs(workspace)
        text_encoder = text_encoder or load_text_encoder(text_spec)
        image_encoder = image_encoder or (load_image_encoder(image_spec) if image_spec else None)
        similarity_model = similarity(workspace, text_encoder, image_encoder)
    vectors = grouping_vectors(workspace) if vectors is None else vectors
    clusters, final = final_categories(workspace, vectors)
    html = build_report(workspace, similarity_model, project(workspace, vectors=vectors), final,
                        report_figures(workspace, similarity_model, clusters, final))
    size = write_report(out, html)
    return {"workspace": str(workspace.path), "out": str(out), "bytes": size, "megabytes": round(size / 1e6, 2),
            "products": len(final)}
