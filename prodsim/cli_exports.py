"""``python -m prodsim export-categories``: the final categories of a workspace as CSV or Excel, one column per level."""

from __future__ import annotations


def _export_categories(args) -> dict:
    from prodsim import api

    return api.export_categories(api.Workspace(args.workspace), args.out)


def add_export_verb(verbs) -> None:
    """Adds the ``export-categories`` verb to the CLI's sub-parsers."""
    export = verbs.add_parser("export-categories", help="the final categories (decisions first, suggestions for the rest): "
                                                          "id, title, final_category (its path), level_1..level_n, source")
    export.add_argument("--workspace", required=True)
    export.add_argument("--out", required=True, help="a .csv or .xlsx file (formula-safe); replaced when written")
    export.set_defaults(run=_export_categories)
