"""``python -m prodsim photo-weight``: measure how much photos count, on the categories a workspace knows."""

from __future__ import annotations


def _photo_weight(args) -> dict:
    from prodsim import api

    return api.measure_photo_weight(api.Workspace(args.workspace), args.source, args.column)


def add_photo_weight_verb(verbs) -> None:
    """Adds the ``photo-weight`` verb to the CLI's sub-parsers."""
    from prodsim.api.photo_weight import SOURCES

    verb = verbs.add_parser("photo-weight", help="measure the photo weight on known categories (reviewed ones, or a column) "
                                                 "and keep it as the workspace's default; a weight set by hand still wins")
    verb.add_argument("--workspace", required=True)
    verb.add_argument("--source", default="auto", choices=SOURCES,
                      help="auto: the reviewed categories when enough products have one, else the column")
    verb.add_argument("--column", help="a catalog column to measure on (default: the mapped category column)")
    verb.set_defaults(run=_photo_weight)
