"""``python -m prodsim duplicates``: the Duplicates page as JSON (and every pair as a CSV with ``--out``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _duplicates(args) -> dict:
    from prodsim import api
    from prodsim.cli_browse import _similarity

    workspace, similarity, text, image = _similarity(args)
    summary, pairs = api.duplicate_listings(workspace, similarity, api.workspace_state(workspace, text, image), args.threshold,
                                            args.same_seller, args.learn, args.k)
    if args.out:
        Path(args.out).write_bytes(api.csv_bytes(pairs))
    return {"workspace": args.workspace, **summary, "out": args.out}


def add_duplicates_verb(verbs) -> None:
    """Adds the ``duplicates`` verb to the CLI's sub-parsers."""
    from prodsim import api
    from prodsim.cli import _count, _share
    from prodsim.cli_browse import _runtime

    def threshold(text: str) -> float:
        value = _share(text)
        if value < api.DUPLICATE_FLOOR:
            raise argparse.ArgumentTypeError(f"{value} is below {api.DUPLICATE_FLOOR}, the lowest score pairs are looked for at")
        return value

    verb = verbs.add_parser("duplicates", help="listings that look like one product or variants, judged by the duplicate "
                                               "model (the default one, or one learnt from the workspace's decisions)")
    verb.add_argument("--workspace", required=True)
    verb.add_argument("--threshold", type=threshold, default=api.DUPLICATE_THRESHOLD,
                      help=f"how similar two listings must be, {api.DUPLICATE_FLOOR} to 1 (default {api.DUPLICATE_THRESHOLD})")
    verb.add_argument("--same-seller", action="store_true", dest="same_seller",
                      help="also pair listings of one seller (by default only different sellers' listings are compared)")
    verb.add_argument("--learn", action="store_true",
                      help="first learn the duplicate model from the decisions taken on the Duplicates page")
    verb.add_argument("--k", type=_count, default=20, help="how many of the most similar pairs to print")
    verb.add_argument("--out", help="write every pair at the threshold to this CSV file (safe to open in Excel)")
    _runtime(verb)
    verb.set_defaults(run=_duplicates)
