"""``python -m prodsim neighbours`` and ``python -m prodsim search``: the Neighbours and Search pages as JSON.

Both load the workspace's own encoders (its settings, as the pages do) and the same
:class:`~prodsim.neighbours.ProductSimilarity` the pages use, so a script sees what a person sees.
"""

from __future__ import annotations

from pathlib import Path

PRODUCT_COLUMNS = ["id", "title", "brand", "category", "price"]


def _similarity(args):
    from prodsim import api

    workspace = api.Workspace(args.workspace)
    text_spec, image_spec = api.model_specs(workspace)
    text = api.load_text_encoder(text_spec, args.device, args.precision)
    image = api.load_image_encoder(image_spec, args.device, args.precision) if image_spec else None
    return workspace, api.similarity(workspace, text, image), text, image


def _records(table, columns: list[str]) -> list[dict]:
    """Rows as JSON-ready dicts: missing values as null (JSON has no NaN), numbers as plain floats."""
    shown = table[[c for c in columns if c in table.columns]].astype(object)
    return shown.where(shown.notna(), None).to_dict(orient="records")


def _neighbours(args) -> dict:
    from prodsim import api

    workspace, similarity, _, _ = _similarity(args)
    if args.id not in similarity.row_of:
        raise api.BadInputError(f"No product has the id {args.id!r} in {workspace.path.name}; ids are as in the catalog's id column.")
    row = similarity.row_of[args.id]
    found = similarity.neighbours(row, k=args.k)
    neighbours = _records(found, [*PRODUCT_COLUMNS, "score"])
    for record, other in zip(neighbours, found["candidate"]):
        record["why"] = similarity.explain(row, int(other))
    return {"workspace": args.workspace, "product": _records(similarity.products.iloc[[row]], PRODUCT_COLUMNS)[0],
            "neighbours": neighbours}


def _search(args) -> dict:
    from prodsim import api

    if (args.query is None) == (args.photo is None):
        raise api.BadInputError("Give either --query (words, a model number or a GTIN) or --photo (a picture file).")
    workspace, similarity, text, image = _similarity(args)
    if args.query is not None:
        found = api.search_text(similarity, text, args.query, args.k, args.keyword_weight)
        columns = [*PRODUCT_COLUMNS, "score", "meaning", "words", "identifier_match"]
    else:
        if image is None:
            raise api.BadInputError(f"{workspace.path.name} has no product photos, so there is nothing to compare a photo with.")
        photo = Path(args.photo)
        if not photo.is_file():
            raise api.BadInputError(f"No file at {photo}.")
        found = api.search_photo(similarity, image, photo.read_bytes(), photo.name, args.k)
        columns = [*PRODUCT_COLUMNS, "score"]
    return {"workspace": args.workspace, "query": args.query, "photo": args.photo, "results": _records(found, columns)}


def _runtime(parser) -> None:
    from prodsim.encoders.device import PRECISIONS

    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)


def add_browse_verbs(verbs) -> None:
    """Adds ``neighbours`` and ``search`` to the CLI's sub-parsers."""
    from prodsim.cli import _count, _share

    neighbours = verbs.add_parser("neighbours", help="the products most similar to one, each with why it is similar")
    neighbours.add_argument("--workspace", required=True)
    neighbours.add_argument("--id", required=True, help="the product's id, as in the catalog")
    neighbours.add_argument("--k", type=_count, default=10)
    _runtime(neighbours)
    neighbours.set_defaults(run=_neighbours)

    search = verbs.add_parser("search", help="products for typed words, a model number or GTIN (however written), or a photo")
    search.add_argument("--workspace", required=True)
    search.add_argument("--query", help="what to look for")
    search.add_argument("--photo", help="a product photo to compare with (instead of --query)")
    search.add_argument("--k", type=_count, default=20)
    search.add_argument("--keyword-weight", type=_share, default=0.5, dest="keyword_weight",
                        help="0 = meaning only, 1 = exact words and codes only")
    _runtime(search)
    search.set_defaults(run=_search)
